#!/usr/bin/env bash
# Python's `thrift` package (Apache Thrift's Python library) in a virtualenv, for the thrift
# tests: their client is written from Flume's IDL on its TCompactProtocol/TBinaryProtocol and
# TFramedTransport, independently of Sluice's codec. Idempotent. The tests find the venv at
# $SLUICE_THRIFT_VENV (default ~/.cache/sluice/thrift-venv).
set -euo pipefail
VENV="${SLUICE_THRIFT_VENV:-$HOME/.cache/sluice/thrift-venv}"
VERSION=0.22.0
have() { "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('thrift'))" 2>/dev/null; }
if [ "$(have)" = "$VERSION" ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "thrift==$VERSION"
echo "thrift $(have) in $VENV"
