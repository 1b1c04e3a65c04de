#!/usr/bin/env bash
# pyarrow and DuckDB (PyPI) in a virtualenv, for the parquet serializer's tests: two readers
# written independently of Sluice's writer read its files back. Idempotent. The tests find
# the venv at $SLUICE_PARQUET_VENV (default ~/.cache/sluice/parquet-venv).
set -euo pipefail
VENV="${SLUICE_PARQUET_VENV:-$HOME/.cache/sluice/parquet-venv}"
PYARROW=22.0.0
DUCKDB=1.4.2
have() {
    "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('pyarrow'), m.version('duckdb'))" 2>/dev/null
}
if [ "$(have)" = "$PYARROW $DUCKDB" ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "pyarrow==$PYARROW" "duckdb==$DUCKDB"
echo "pyarrow and duckdb $(have) in $VENV"
