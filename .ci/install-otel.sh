#!/usr/bin/env bash
# The OpenTelemetry Python SDK and its OTLP exporters (gRPC and HTTP/protobuf) with grpcio in
# a virtualenv, for the otlp source's tests: the SDK's LoggerProvider sends logs to Sluice as
# applications do, independently of Sluice's code. Idempotent. The tests find the venv at
# $SLUICE_OTEL_VENV (default ~/.cache/sluice/otel-venv).
set -euo pipefail
VENV="${SLUICE_OTEL_VENV:-$HOME/.cache/sluice/otel-venv}"
VERSION=1.45.2
exec bash "$(dirname "$0")/venv-pins.sh" "$VENV" "opentelemetry-sdk==$VERSION" \
    "opentelemetry-exporter-otlp-proto-grpc==$VERSION" \
    "opentelemetry-exporter-otlp-proto-http==$VERSION" -- grpcio
