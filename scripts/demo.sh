#!/usr/bin/env bash
# `make demo`: train on the bundled MNIST sample with local Spark, export + sign, serve with
# Gunicorn, and predict a digit image through the seed article's curl call.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${VENV:-.venv}
store=${STORE:-model-store}
keys=${KEYS:-.keys}
port=${DEMO_PORT:-8000}
py="$venv/bin/python"

step() { printf '\n==> %s\n' "$*"; }

step "keys ($keys): openssf key pair for signing, API key for the server"
if [[ ! -f "$keys/signing-key.pem" ]]; then
  "$py" -m artifacts keygen --scheme openssf --out "$keys"
fi
if [[ ! -f "$keys/api-keys" ]]; then
  umask 077
  "$py" -c 'import secrets; print("demo-" + secrets.token_urlsafe(24))' > "$keys/api-key"
  cp "$keys/api-key" "$keys/api-keys"
fi
api_key=$(cat "$keys/api-key")

step "train on Spark (local[*]), export to scikit-learn, check parity, sign"
./spark-submit.sh train --output "$store" --name mnist --signing-key "$keys/signing-key.pem"

step "verify the newest artifact with the public key only"
latest=$("$py" -c 'import sys, artifacts; print(artifacts.resolve(sys.argv[1], "mnist").path)' "$store")
"$py" -m artifacts verify "$latest" --key "$keys/verify-key.pem"
"$py" -m artifacts inspect "$latest" --key "$keys/verify-key.pem"

step "serve with Gunicorn on 127.0.0.1:$port"
export SERVING_MODEL_STORE="$store" SERVING_VERIFY_KEY_FILE="$keys/verify-key.pem" SERVING_SIGNATURE_SCHEME=openssf
export SERVING_API_KEYS_FILE="$keys/api-keys" SERVING_BIND="127.0.0.1:$port"
"$venv/bin/model-server" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz"; echo

step "predict: curl -F 'file=@7.png' 127.0.0.1:$port/predict"
sample=$(mktemp -d)/7.png
"$py" scripts/sample_digit.py 7 "$sample"
curl -fsS -H "Authorization: Bearer $api_key" -F "file=@$sample" "http://127.0.0.1:$port/predict"
echo
step "done: the server was stopped; run \`make serve\` to keep one running"
