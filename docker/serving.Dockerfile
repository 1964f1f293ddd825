# syntax=docker/dockerfile:1
# The serving image: Flask app under Gunicorn, started by the `model-server` console script.
#
# Production build (wheels from PyPI, base python:3.12-slim):
#   docker build -f docker/serving.Dockerfile -t spark-model-server:0.1.0 .
# Offline build (what `make docker-test` does): put every wheel the project needs in
# docker/wheelhouse/ and pass --build-arg WHEELHOUSE_ONLY=1, so pip never touches the network:
#   docker build -f docker/serving.Dockerfile --build-arg WHEELHOUSE_ONLY=1 \
#     --build-arg BASE_IMAGE=local/bookworm-python3:latest -t spark-model-server:test .
# Bake a model store into the image instead of mounting it at run time:
#   --build-arg MODEL_STORE_DIR=model-store
#
# The runtime stage has no compiler, no pip and no shell scripts of ours; it writes nothing outside
# /tmp (mount a tmpfs there), so it runs with a read-only root filesystem as uid 10001.

ARG BASE_IMAGE=python:3.12-slim

# ---- stage 1: build the project and all its dependencies into a virtualenv -----------------------
FROM ${BASE_IMAGE} AS build
ARG WHEELHOUSE_ONLY=0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Wheels for an offline build; holds only a README when building from PyPI.
COPY docker/wheelhouse/ /wheelhouse/
# README* : setup.cfg's long_description; the glob keeps the build working without it.
COPY setup.cfg pyproject.toml README* ./
COPY artifacts/ artifacts/
COPY serving/ serving/
COPY spark_jobs/ spark_jobs/
SHELL ["/bin/sh", "-eu", "-c"]
# WHEELHOUSE_ONLY=1 -> --no-index: a missing wheel fails the build instead of reaching for PyPI.
# $offline is split on purpose (two options or none).
# hadolint ignore=SC2086
RUN offline=""; \
    if [ "${WHEELHOUSE_ONLY}" = "1" ]; then offline="--no-index --find-links=/wheelhouse"; fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install ${offline} --no-compile '.[serving,tracing]'; \
    /opt/venv/bin/python -m compileall -q /opt/venv; \
    /opt/venv/bin/pip uninstall --yes pip

# ---- stage 2: the runtime image -------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ARG MODEL_STORE_DIR=docker/model-store
LABEL org.opencontainers.image.title="spark-model-server" \
      org.opencontainers.image.description="Serves signed scikit-learn artifacts exported from Spark MLlib" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root ${MODEL_STORE_DIR}/ /models/
# HOME=/tmp: anything that writes under ~ (Gunicorn's control socket) lands on the tmpfs.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVING_BIND=0.0.0.0:8080 \
    SERVING_MODEL_STORE=/models \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WEB_CONCURRENCY=2
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
# python:slim has no curl; urllib is enough. Reads the port from SERVING_BIND so overrides still work.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; port = os.environ.get('SERVING_BIND', '0.0.0.0:8080').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
# Exec form: model-server exec's gunicorn, which becomes PID 1 and receives SIGTERM directly.
ENTRYPOINT ["model-server"]
