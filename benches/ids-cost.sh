#!/usr/bin/env bash
# What event ids (`eventIds`) cost a receiver, two ways:
#   instructions (valgrind's callgrind; deterministic, load does not move it):
#     benches/ids-cost.sh instr [BIN]
#   time (alternating ids on/off, ABBA, `sync` and a pause before each run so one run's
#   writeback does not land on the next; N pairs, default 6):
#     N=6 benches/ids-cost.sh time [BIN]
# Both drive `sluice bench --rpc avro --channel file --batch 1000 --event-size 1024
# --putters 4`; UPSTREAM=1 adds `--upstream-ids` (the events carry ids, as from an upstream
# Sluice: the collector's side of a hop).
set -euo pipefail
mode=${1:-instr}; bin=${2:-target/release/sluice}
extra=(); [ "${UPSTREAM:-0}" = 1 ] && extra=(--upstream-ids)
common=(bench --rpc avro --channel file --batch 1000 --event-size 1024 --putters 4 "${extra[@]}")
case $mode in
instr)
  events=${EVENTS:-100000}; out=$(mktemp -d)
  for ids in true false; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg-$ids" "$bin" "${common[@]}" \
      --events "$events" --set eventIds=$ids >"$out/log-$ids" 2>&1
    n=$(sed -n 's/.*Collected : //p' "$out/log-$ids")
    echo "eventIds=$ids instructions/event $((n / events)) (whole process: client + receiver)"
  done
  rm -rf "$out" ;;
time)
  for r in $(seq 1 "${N:-6}"); do
    if [ $((r % 2)) = 1 ]; then order="true false"; else order="false true"; fi
    for ids in $order; do
      sync; sleep 3
      "$bin" "${common[@]}" --duration "${DUR:-5s}" --set eventIds=$ids 2>&1 |
        awk -v i=$ids -v r=$r '/^rpc/{e=$4} /receiver CPU/{c=$3} END{print r, i, e, c}'
    done
  done | awk '{print "pair " $1 " eventIds=" $2 " events/s " $3 " receiver CPU µs/event " $4; rate[$1,$2]=$3; cpu[$1,$2]=$4; n[$1]=1}
    END { for (r in n) { k++; st+=rate[r,"true"]; sf+=rate[r,"false"]; ct+=cpu[r,"true"]; cf+=cpu[r,"false"] }
          printf "%d pairs: events/s on/off %.3f, receiver CPU per event on/off %.3f\n", k, st/sf, ct/cf }' ;;
*) echo "usage: $0 instr|time [BIN]" >&2; exit 2 ;;
esac
