#!/usr/bin/env bash
# The OpenTelemetry Python SDK and its OTLP exporters (gRPC and HTTP/protobuf) with grpcio in
# a virtualenv, for the otlp source's tests: the SDK's LoggerProvider sends logs to Sluice as
# applications do, independently of Sluice's code. Idempotent. The tests find the venv at
# $SLUICE_OTEL_VENV (default ~/.cache/sluice/otel-venv).
set -euo pipefail
VENV="${SLUICE_OTEL_VENV:-$HOME/.cache/sluice/otel-venv}"
VERSION=1.45.2
have() { "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('opentelemetry-sdk'))" 2>/dev/null; }
if [ "$(have)" = "$VERSION" ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "opentelemetry-sdk==$VERSION" \
    "opentelemetry-exporter-otlp-proto-grpc==$VERSION" \
    "opentelemetry-exporter-otlp-proto-http==$VERSION" grpcio
echo "opentelemetry-sdk $(have) in $VENV"
