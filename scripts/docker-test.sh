#!/usr/bin/env bash
# Builds docker/serving.Dockerfile for real and runs the image the way Kubernetes would: read-only
# root filesystem, uid 10001, no capabilities, a tmpfs at /tmp, a signed artifact and its public
# key mounted read-only. Then probes /healthz, /readyz, the image's own HEALTHCHECK and a
# prediction, and removes everything it created.
#
# No image registry is reachable here, so the base image is made locally (debootstrap minbase
# bookworm + python3, `docker import`) and every wheel is built on the host (`pip wheel`) so the
# build runs with --network none. The production base, python:3.12-slim, is the Dockerfile default.
#
# Usage: scripts/docker-test.sh            (needs root to install docker.io/debootstrap if missing)
# Env:   DOCKER_TEST_KEEP=1  keep the temp dir for debugging; VENV (default .venv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$root/.venv}
cache="$root/.cache/docker-test"
base_tar="$cache/bookworm-python3-minbase.tar.gz"
base_tag="local/bookworm-python3:minbase"
image_tag="spark-model-server:docker-test-$$"
container="sms-docker-test-$$"
work=$(mktemp -d /tmp/sms-docker-test.XXXXXX)
started_daemon=""
docker_ready=""
docker_cmd=(docker)
t0=$SECONDS

log() { printf '[docker-test %3ss] %s\n' "$((SECONDS - t0))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  if [[ -n "${docker_ready:-}" ]]; then
    if [[ $rc -ne 0 ]] && "${docker_cmd[@]}" container inspect "$container" >/dev/null 2>&1; then
      "${docker_cmd[@]}" logs "$container" 2>&1 | tail -n 40 >&2
    fi
    "${docker_cmd[@]}" rm -f "$container" >/dev/null 2>&1
    "${docker_cmd[@]}" rmi -f "$image_tag" >/dev/null 2>&1
    if [[ -n "$started_daemon" ]]; then "${docker_cmd[@]}" rmi -f "$base_tag" >/dev/null 2>&1; fi
  fi
  if [[ -n "$started_daemon" ]]; then
    kill "$started_daemon" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$started_daemon" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$started_daemon" 2>/dev/null
    # overlay mounts of a killed daemon would keep the data-root busy
    grep -o "$work/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null
  fi
  if [[ -z "${DOCKER_TEST_KEEP:-}" ]]; then rm -rf "$work"; else log "kept $work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_tools() {
  if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then return 0; fi
  [[ $(id -u) -eq 0 ]] || die "docker.io/debootstrap missing and not root: apt-get install docker.io debootstrap"
  log "installing docker.io and debootstrap (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq
  timeout 600 apt-get install -y -qq --no-install-recommends docker.io debootstrap iptables >/dev/null
}

ensure_daemon() {
  if docker info >/dev/null 2>&1; then log "using the running docker daemon"; docker_ready=1; return; fi
  [[ $(id -u) -eq 0 ]] || die "no docker daemon reachable and not root, cannot start one"
  local sock="$work/docker.sock"
  log "starting dockerd (data-root $work/docker)"
  # No bridge and no iptables: the container shares the host's network namespace and binds only
  # loopback, so no traffic goes anywhere but 127.0.0.1.
  dockerd --data-root "$work/docker" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    --host "unix://$sock" --bridge=none --iptables=false --ip6tables=false \
    >"$work/dockerd.log" 2>&1 &
  started_daemon=$!
  docker_cmd=(docker --host "unix://$sock")
  for _ in $(seq 1 60); do
    if "${docker_cmd[@]}" info >/dev/null 2>&1; then docker_ready=1; return; fi
    kill -0 "$started_daemon" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$work/dockerd.log" >&2
  die "dockerd did not come up (see the log above)"
}

ensure_base_image() {
  if "${docker_cmd[@]}" image inspect "$base_tag" >/dev/null 2>&1; then return; fi
  if [[ ! -s "$base_tar" ]]; then
    log "debootstrap --variant=minbase bookworm + python3 (cached afterwards in $cache)"
    mkdir -p "$cache"
    local rootfs="$work/rootfs"
    timeout 600 debootstrap --variant=minbase --include=python3,python3-venv \
      bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/*
    tar -C "$rootfs" -czf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
    rm -rf "$rootfs"
  fi
  log "docker import $base_tar -> $base_tag"
  "${docker_cmd[@]}" import "$base_tar" "$base_tag" >/dev/null
}

make_context() {
  log "assembling the build context and the host wheelhouse (pip wheel)"
  local ctx="$work/context"
  mkdir -p "$ctx"
  local paths=(setup.cfg pyproject.toml .dockerignore artifacts serving spark_jobs docker)
  [[ -f "$root/README.md" ]] && paths+=(README.md)
  (cd "$root" && tar --exclude=__pycache__ --exclude='*.pyc' -cf - "${paths[@]}") \
    | tar -C "$ctx" -xf -
  # async-timeout: redis needs it on the image's Python (Debian 3.11.2 < 3.11.3), not on the host
  # pin every wheel to what .venv runs, so the artifact signed on the host has no version skew
  "$venv/bin/pip" freeze --exclude-editable >"$work/constraints.txt"
  timeout 600 "$venv/bin/pip" wheel --quiet --disable-pip-version-check \
    --constraint "$work/constraints.txt" \
    --wheel-dir "$ctx/docker/wheelhouse" "${root}[serving,tracing]" 'setuptools>=68' wheel \
    'async-timeout>=4.0.3' \
    >"$work/pip-wheel.log" 2>&1 || { tail -n 30 "$work/pip-wheel.log" >&2; die "pip wheel failed"; }
  # the project's own wheel is rebuilt inside the image from the copied sources
  rm -f "$ctx"/docker/wheelhouse/spark_model_server-*.whl
}

build_image() {
  log "docker build (--network none, wheelhouse only, base $base_tag)"
  DOCKER_BUILDKIT=0 timeout 600 "${docker_cmd[@]}" build --quiet --network none \
    --build-arg "BASE_IMAGE=$base_tag" --build-arg WHEELHOUSE_ONLY=1 \
    -f "$work/context/docker/serving.Dockerfile" -t "$image_tag" "$work/context" >/dev/null \
    2>"$work/build.log" || { tail -n 40 "$work/build.log" >&2; die "docker build failed"; }
}

make_artifact() {
  log "signing a small test artifact (openssf, ECDSA P-256)"
  mkdir -p "$work/store" "$work/keys"
  PYTHONPATH="$root" "$venv/bin/python" "$root/scripts/make_test_artifact.py" \
    "$work/store" "$work/keygen" "$work/digit.png"
  # only the public half goes into the container, plus one API key for the clients
  cp "$work/keygen/verify-key.pem" "$work/keys/verify-key.pem"
  "$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$work/keys/api-keys"
  chmod -R a+rX "$work/store" "$work/keys"
  chmod a+rx "$work"
}

run_container() {
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log "docker run --read-only --user 10001:10001 on 127.0.0.1:$port"
  "${docker_cmd[@]}" run --detach --name "$container" --network host \
    --read-only --tmpfs /tmp:rw,size=64m,mode=1777 --user 10001:10001 \
    --cap-drop ALL --security-opt no-new-privileges \
    --health-interval 2s --health-start-period 60s --health-timeout 5s \
    -v "$work/store:/models:ro" -v "$work/keys:/etc/model-server/keys:ro" \
    -e "SERVING_BIND=127.0.0.1:$port" -e SERVING_VERIFY_KEY_FILE=/etc/model-server/keys/verify-key.pem \
    -e SERVING_SIGNATURE_SCHEME=openssf -e SERVING_API_KEYS_FILE=/etc/model-server/keys/api-keys \
    -e WEB_CONCURRENCY=1 \
    "$image_tag" >/dev/null
}

probe() {
  log "probing /healthz, /readyz, HEALTHCHECK and POST /predict"
  "$venv/bin/python" - "$port" "$work/digit.png" "$work/keys/api-keys" <<'PY'
import json, sys, time
import requests
port, png = sys.argv[1], sys.argv[2]
key = open(sys.argv[3]).read().strip()
base = f"http://127.0.0.1:{port}"
deadline = time.monotonic() + 120
while True:
    try:
        if requests.get(f"{base}/readyz", timeout=3).status_code == 200:
            break
    except (requests.ConnectionError, requests.Timeout):
        pass
    if time.monotonic() > deadline:
        sys.exit("FAIL: /readyz not 200 within 120 s")
    time.sleep(1)
for path in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"):
    r = requests.get(base + path, timeout=5)
    assert r.status_code == 200, (path, r.status_code, r.text)
def predict(headers):
    with open(png, "rb") as fh:
        files = {"file": ("digit.png", fh, "image/png")}
        return requests.post(f"{base}/predict", files=files, headers=headers, timeout=30)
r = predict({})
assert r.status_code == 401, ("auth is on, a request without a key must be refused", r.text)
r = predict({"Authorization": f"Bearer {key}"})
assert r.status_code == 200, (r.status_code, r.text)
body = r.json()
assert body.get("digit") == 7, body
print(json.dumps({"predict": body}), file=sys.stderr)
PY
  local status=""
  for _ in $(seq 1 60); do
    status=$("${docker_cmd[@]}" inspect --format '{{.State.Health.Status}}' "$container")
    [[ $status == healthy ]] && break
    sleep 1
  done
  [[ $status == healthy ]] || die "image HEALTHCHECK reports '$status'"
  [[ $("${docker_cmd[@]}" exec "$container" id -u) == 10001 ]] || die "container not running as 10001"
  if "${docker_cmd[@]}" exec "$container" touch /opt/venv/probe 2>/dev/null; then
    die "root filesystem is writable"
  fi
}

main() {
  ensure_tools
  ensure_daemon
  ensure_base_image
  make_context
  # the artifact is fitted on the host while the image builds
  make_artifact >"$work/artifact.log" 2>&1 &
  local artifact_pid=$!
  build_image
  wait "$artifact_pid" || { cat "$work/artifact.log" >&2; die "making the test artifact failed"; }
  run_container
  probe
  log "PASS: image built offline, ran read-only as uid 10001, healthy, predicted"
}

main "$@"
