# The two commands a user needs: `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
STORE ?= model-store
KEYS ?= .keys

.PHONY: help install install-runtime demo test test-fast serve bench soak lint format clean docker-test browser-deps redis-deps docs

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install the project with all extras and test tools (idempotent)

# The runtime alone (Spark jobs and the server): all `make demo` and `make serve` need, so a
# first demo does not wait for the test tools. The full install builds on it.
RUNTIME_STAMP := $(VENV)/.installed-runtime
install-runtime: $(RUNTIME_STAMP) ## Install only what `make demo` and `make serve` need (Spark jobs, the server)

$(RUNTIME_STAMP): setup.cfg pyproject.toml
	@command -v java >/dev/null || { echo "error: java not found; PySpark 4 needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[spark,serving]'
	@touch $@

$(STAMP): $(RUNTIME_STAMP) scripts/install-tools.sh
	$(PY) -m pip install --quiet -e '.[spark,serving,tracing,onnx,dev]'
	bash scripts/install-tools.sh $(VENV)
	@touch $@

lint: install ## ruff lint + format check, shellcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/shellcheck spark-submit.sh scripts/*.sh .ci/run
	$(BIN)/hadolint docker/serving.Dockerfile docker/spark.Dockerfile

format: install ## Apply ruff formatting and autofixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

PYTEST_WORKERS ?= 2
test: install lint browser-deps redis-deps ## Run the whole test suite (slow cases included; timing-sensitive ones alone at the end)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m 'not serial'
	$(BIN)/pytest -m serial
	$(MAKE) docker-test

docker-test: install ## Build the serving image offline and run it read-only as uid 10001 (needs root)
	VENV=$(VENV) bash scripts/docker-test.sh

demo: install-runtime ## Train on the MNIST sample with local Spark, sign, serve, and predict one digit
	bash scripts/demo.sh

serve: install-runtime ## Serve the newest artifacts in SERVING_MODEL_STORE (default ./model-store) on 127.0.0.1:8000
	SERVING_MODEL_STORE=$${SERVING_MODEL_STORE:-$(STORE)} SERVING_SIGNATURE_SCHEME=$${SERVING_SIGNATURE_SCHEME:-openssf} SERVING_VERIFY_KEY_FILE=$${SERVING_VERIFY_KEY_FILE:-$(KEYS)/verify-key.pem} \
	SERVING_API_KEYS_FILE=$${SERVING_API_KEYS_FILE:-$(KEYS)/api-keys} exec $(BIN)/model-server

docs: install ## Regenerate the settings, chart values and exporter coverage tables in the docs
	$(PY) scripts/gen_docs.py

browser-deps: ## Debian chromium for the page test (Playwright drives it; never `playwright install`)
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian chromium for the browser test (tests/serving/test_page.py)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }

redis-deps: ## Debian redis-server for the shared rate-limit tests (tests/serving/test_ratelimit_redis.py)
	@command -v redis-server >/dev/null || { \
	  echo "installing Debian redis-server for the shared rate-limit tests"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; }

test-fast: install redis-deps ## Tests without the slow ones and without Spark (no Java needed; a few minutes)
	$(BIN)/pytest -m 'not slow and not spark'

BENCH_DURATION ?= 10
BENCH_TRAIN_FACTORS ?= 1,4,16
BENCH_BATCH_ROWS ?= 1000000
bench: install ## Training, serving, MLServer, MLflow and batch scoring benchmarks in one run, one table (makes .venv-mlserver, .venv-mlflow)
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi; } || \
	  echo "wrk unavailable: bench/serving_bench.py falls back to its Python load generator"
	$(PY) -m bench.run --duration $(BENCH_DURATION) --train-factors $(BENCH_TRAIN_FACTORS) \
	  --batch-rows $(BENCH_BATCH_ROWS)

soak: install ## Reliability suites (tests/e2e) at full size: 200k-request soak, more fuzzing
	E2E_SOAK_REQUESTS=200000 E2E_SOAK_MAX_SECONDS=3600 E2E_FUZZ_EXAMPLES=200 \
	  E2E_FUZZ_MAX_SECONDS=900 E2E_IMAGE_EXAMPLES=3000 $(BIN)/pytest tests/e2e

clean: ## Remove build and test leftovers (keeps .venv)
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
