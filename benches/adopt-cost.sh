#!/usr/bin/env bash
# Adopting a Flume channel against the channel's own put rate, same run, caches dropped
# before each (needs root for drop_caches; without it the reads come from the page cache):
#   benches/adopt-cost.sh [EVENTS] [ROUNDS]   (default 1000000 events of 1 KiB, 3 rounds)
# Writes a Flume channel with `--example flume_gen`, then per round `sluice bench --phase put`
# and `sluice channel adopt` of it into a new channel; prints both rates and their ratio.
set -euo pipefail
events=${1:-1000000}; rounds=${2:-3}; bin=$(realpath "${BIN:-target/release/sluice}")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cargo run -q --release -p sluice-flume --example flume_gen -- "$work/flume" "$events" 1024
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
for r in $(seq "$rounds"); do
  rm -rf "$work/bench" "$work/flume/new"; drop
  put=$("$bin" bench --phase put --event-size 1024 --batch 1000 --putters 1 --events "$events" \
    --checkpoint-dir "$work/bench/ck" --data-dirs "$work/bench/data" --set capacity=$((events * 2)) \
    --quiet 2>&1 | awk -v n="$events" '$1=="put" && $2==n {print $4}')
  drop; start=$(date +%s.%N)
  (cd "$work/flume" && "$bin" channel adopt --flume-checkpoint-dir checkpoint --flume-data-dirs data \
    --checkpoint-dir new/checkpoint --data-dirs new/data --set capacity=$((events * 2)) >/dev/null)
  end=$(date +%s.%N)
  python3 -c "a=$events/($end-$start); print(f'round $r: bench put $put ev/s, adopt {a:.0f} ev/s, ratio {a/$put:.2f}')"
done
