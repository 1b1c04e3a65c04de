#!/usr/bin/env bash
# Regenerates the tables of docs/performance.md: builds the release binary, then runs
# `sluice bench --json` over the matrix (3 runs each, medians) and prints Markdown on stdout.
#
#   benches/run-tables.sh > /tmp/tables.md            # data dirs under $BENCH_DIR (/var/tmp)
#   LOOP=1 benches/run-tables.sh                       # also 2 dirs on two loop-mounted ext4 (root)
#   RUNS=1 SECS=1 benches/run-tables.sh                # a quick pass
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin sluice
export SLUICE_BIN="$PWD/target/release/sluice"
export BENCH_DIR="${BENCH_DIR:-/var/tmp/sluice-bench-tables}"
export RUNS="${RUNS:-3}" SECS="${SECS:-3}" LOOP="${LOOP:-0}"
mkdir -p "$BENCH_DIR"
if [ "$LOOP" = 1 ]; then
  for i in 1 2; do
    img="$BENCH_DIR/disk$i.img"; mnt="$BENCH_DIR/mnt$i"
    mkdir -p "$mnt"
    if ! mountpoint -q "$mnt"; then
      truncate -s 4G "$img"
      mkfs.ext4 -q -F "$img"
      mount -o loop "$img" "$mnt"
    fi
  done
  trap 'for i in 1 2; do umount "$BENCH_DIR/mnt$i" 2>/dev/null || true; rm -f "$BENCH_DIR/disk$i.img"; done' EXIT
fi
python3 benches/run_tables.py
