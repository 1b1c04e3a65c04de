#!/usr/bin/env bash
# Two "devices": two loop-mounted ext4 file systems, each throttled to IOPS writes/s with
# blkio (cgroup v1), so that each behaves like a slow independent disk. Runs sluice bench
# with one data dir, then with two, in the throttled cgroup. Needs root.
# Usage: IOPS=50 PUTTERS=128 DUR=8s benches/stripe-demo.sh   (after cargo build --release)
set -euo pipefail
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/sluice}
IOPS=${IOPS:-150}
W=${WORKDIR:-/var/tmp/sluice-stripe}; mkdir -p $W
cleanup() { set +e; for i in 0 1; do umount $W/m$i 2>/dev/null; done; for d in $(cat $W/loops 2>/dev/null); do losetup -d $d; done; rm -f $W/loops; }
trap cleanup EXIT
cleanup
: > $W/loops
for i in 0 1; do
  truncate -s 2G $W/img$i; mkfs.ext4 -q -F $W/img$i
  d=$(losetup -f --show $W/img$i); echo $d >> $W/loops
  mkdir -p $W/m$i; mount $d $W/m$i
done
T=/sys/fs/cgroup/blkio/sluice-stripe; mkdir -p $T
for d in $(cat $W/loops); do
  mm=$(lsblk -no MAJ:MIN $d | tr -d ' ')
  echo "$mm $IOPS" > $T/blkio.throttle.write_iops_device
done
echo $$ > $T/cgroup.procs
run() { rm -rf $W/m0/* $W/m1/* $W/ckpt; "$BIN" bench --checkpoint-dir $W/ckpt --data-dirs "$1" --phase put --batch ${BATCH:-100} --putters ${PUTTERS:-8} --duration ${DUR:-8s} --json --quiet; }
if [ -n "${FULL:-}" ]; then run $W/m0/d; echo; run $W/m0/d,$W/m1/d; exit 0; fi
for r in 1 2 3; do
  one=$(run $W/m0/d | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_sec"])')
  two=$(run $W/m0/d,$W/m1/d | python3 -c 'import json,sys; print(json.load(sys.stdin)["events_per_sec"])')
  echo "run $r: 1 dir $one ev/s, 2 dirs $two ev/s, ratio $(python3 -c "print(round($two/$one,2))")"
done
