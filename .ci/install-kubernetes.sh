#!/usr/bin/env bash
# The chart's and the manifests' checkers, in a virtualenv, for the kubernetes deploy tests
# (tests/kubernetes/deploy.rs): helm-python-sdk (Helm v4 as a library, loaded through ctypes:
# the real Helm renders and lints deploy/helm/sluice, no helm binary) and kubernetes-validate
# (Kubernetes' OpenAPI schemas, shipped in the package, checked offline). Idempotent. The tests
# find the venv at $SLUICE_KUBERNETES_VENV (default ~/.cache/sluice/kubernetes-venv).
set -euo pipefail
VENV="${SLUICE_KUBERNETES_VENV:-$HOME/.cache/sluice/kubernetes-venv}"
HELM_SDK_VERSION=0.2.2
VALIDATE_VERSION=1.37.0
have() {
    "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('helm-python-sdk'), m.version('kubernetes-validate'))" 2>/dev/null
}
if [ "$(have)" = "$HELM_SDK_VERSION $VALIDATE_VERSION" ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "helm-python-sdk==$HELM_SDK_VERSION" \
    "kubernetes-validate==$VALIDATE_VERSION"
echo "helm-python-sdk and kubernetes-validate: $(have) in $VENV"
