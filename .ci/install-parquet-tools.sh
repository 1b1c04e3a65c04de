#!/usr/bin/env bash
# pyarrow and DuckDB (PyPI) in a virtualenv, for the parquet serializer's tests: two readers
# written independently of Sluice's writer read its files back. Idempotent. The tests find
# the venv at $SLUICE_PARQUET_VENV (default ~/.cache/sluice/parquet-venv).
set -euo pipefail
VENV="${SLUICE_PARQUET_VENV:-$HOME/.cache/sluice/parquet-venv}"
exec bash "$(dirname "$0")/venv-pins.sh" "$VENV" pyarrow==22.0.0 duckdb==1.4.2
