#!/usr/bin/env bash
# A virtualenv at VENV holding exactly the pinned PyPI packages (and any unpinned extras after
# `--`), made or refreshed only when a pinned version differs: the one body of the install
# scripts whose test readers live in a venv (kubernetes, parquet, otel). Idempotent.
#
#   bash .ci/venv-pins.sh VENV name==version [name==version ...] [-- extra ...]
set -euo pipefail
venv=$1
shift
pins=()
extras=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do pins+=("$1"); shift; done
[ $# -gt 0 ] && shift
extras=("$@")
names=()
want=""
for p in "${pins[@]}"; do
    names+=("${p%%==*}")
    want="$want${want:+ }${p##*==}"
done
have() {
    "$venv/bin/python" - "${names[@]}" 2>/dev/null <<'PY'
import importlib.metadata as m, sys
print(" ".join(m.version(n) for n in sys.argv[1:]))
PY
}
if [ "$(have)" = "$want" ]; then
    exit 0
fi
if ! python3 -c "import ensurepip" 2>/dev/null; then
    flock /tmp/apt.lock sudo apt-get install -y python3-venv
fi
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "${pins[@]}" "${extras[@]}"
echo "${names[*]}: $(have) in $venv"
