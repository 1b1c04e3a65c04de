#!/usr/bin/env bash
# Old binary against new, alternating: runs `sluice bench ARGS` ROUNDS times with each, every
# run in a fresh checkpoint and data directory, and prints per run the phase lines' events/s
# and CPU µs per event, the share of takes the event cache served and the receiver's CPU.
#   cargo build --release && OLD=/tmp/sluice-old benches/ab.sh --rpc avro --channel file --sinks 4
#   ROUNDS=5 OLD=/tmp/sluice-old benches/ab.sh --phase mixed --putters 1 --takers 1 --duration 4s
# ROUNDS (default 3), DIR (default a temporary directory under /var/tmp: a real disk), NEW
# (default target/release/sluice).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:?set OLD to the binary to compare with}
NEW=${NEW:-target/release/sluice}
ROUNDS=${ROUNDS:-3}
dir=${DIR:-$(mktemp -d /var/tmp/sluice-ab.XXXXXX)}
trap 'rm -rf "$dir"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
  for which in old new; do
    bin=$OLD
    [ "$which" = new ] && bin=$NEW
    rm -rf "$dir/c" "$dir/d"
    out=$("$bin" bench --checkpoint-dir "$dir/c" --data-dirs "$dir/d" "$@" 2>&1)
    phases=$(echo "$out" | awk '/^(rpc|put|take|mixed|both) /{printf "%s %s ev/s %s µs  ", $1, $4, $NF}')
    extra=$(echo "$out" | { grep -E 'receiver CPU|tail cache' || true; } | sed 's/^ *//' | tr '\n' ' ')
    echo "$which $phases$extra"
  done
done
uptime
