#!/usr/bin/env bash
# The chart's and the manifests' checkers, in a virtualenv, for the kubernetes deploy tests
# (tests/kubernetes/deploy.rs): helm-python-sdk (Helm v4 as a library, loaded through ctypes:
# the real Helm renders and lints deploy/helm/sluice, no helm binary) and kubernetes-validate
# (Kubernetes' OpenAPI schemas, shipped in the package, checked offline). Idempotent. The tests
# find the venv at $SLUICE_KUBERNETES_VENV (default ~/.cache/sluice/kubernetes-venv).
set -euo pipefail
VENV="${SLUICE_KUBERNETES_VENV:-$HOME/.cache/sluice/kubernetes-venv}"
exec bash "$(dirname "$0")/venv-pins.sh" "$VENV" helm-python-sdk==0.2.2 kubernetes-validate==1.37.0
