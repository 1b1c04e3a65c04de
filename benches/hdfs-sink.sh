#!/usr/bin/env bash
# The hdfs sink's bar (issue 15): exec (`yes` of a 1 KiB line) -> file channel -> hdfs sink
# (DataStream, batch 1,000, fsync on) against `sluice bench`'s put rate for the same events
# (1 KiB body, no headers, batch 1,000) in the same run, on the same disk.
#   cargo build --release && benches/hdfs-sink.sh            # DataStream
#   CODEC=gzip benches/hdfs-sink.sh                           # CompressedStream gzip
#   SINK=null benches/hdfs-sink.sh                            # the same flow into a null sink
#   SINK=file_roll benches/hdfs-sink.sh                       # into file_roll (the flat writer)
#   SINK=s3 S3_ENDPOINT=http://127.0.0.1:8333 S3_BUCKET=b AWS_ACCESS_KEY_ID=.. \
#     AWS_SECRET_ACCESS_KEY=.. benches/hdfs-sink.sh           # `type = s3` (staged in BASE)
# S3_KEYS: more lines for the s3 sink's keys (`a1.sinks.k1.signPayload = true`).
# DUR (seconds measured, default 10), WARM (seconds before measuring, default 3), BASE
# (directory, default /var/tmp). Prints one line: sink ev/s, bench put ev/s (the mean of a
# run before and one after the agent) and the ratio,
# then CPU time per 1,000 events (user+system, from /proc) of the agent, of its
# child `yes` and of `sluice bench`: on a shared machine these move less than the rates.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/sluice}
DUR=${DUR:-10}
WARM=${WARM:-3}
BASE=${BASE:-/var/tmp}
CODEC=${CODEC:-}
dir=$(mktemp -d "$BASE/sluice-hdfs-bench.XXXXXX")
agent=
trap 'if [ -n "$agent" ]; then kill "$agent"; wait "$agent"; fi 2>/dev/null; rm -rf "$dir"' EXIT

# `sluice bench` put rate and its own CPU time per event (all threads, user+system). It runs
# once before and once after the agent; the bar's denominator is the mean of the two, so a
# load change on a shared machine during the run weighs on both sides alike.
bench_put() {
  "$BIN" bench --phase put --batch 1000 --event-size 1024 --headers 0 \
    --duration "${DUR}s" --set capacity=1000000000 \
    --json --checkpoint-dir "$dir/bench-ck" --data-dirs "$dir/bench-data" |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print(round(r["events_per_sec"]), "%.2f" % r["cpu_us_per_event"])'
  rm -rf "$dir/bench-ck" "$dir/bench-data"
}
read -r put1 bench_ms < <(bench_put)

line=$(head -c 1024 /dev/zero | tr '\0' x)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ -n "$CODEC" ]; then
  ftype="a1.sinks.k1.hdfs.fileType = CompressedStream
a1.sinks.k1.hdfs.codeC = $CODEC"
else
  ftype="a1.sinks.k1.hdfs.fileType = DataStream"
fi
if [ "${SINK:-hdfs}" = null ]; then
  # The pipeline's ceiling without the hdfs sink: the same flow into a null sink.
  ftype="a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 1000"
fi
if [ "${SINK:-hdfs}" = file_roll ]; then
  # The rolling engine's flat writer (fsync per batch, one file: no roll while measured).
  ftype="a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = $dir/out
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000"
fi
sink_keys="a1.sinks.k1.type = hdfs
a1.sinks.k1.hdfs.path = $dir/out/%Y%m%d/%H"
if [ "${SINK:-hdfs}" = s3 ]; then
  # The same sink on an S3 store (issue 49): its keys are the hdfs sink's, `hdfs.` dropped
  # by the s3 type's renaming, so the hdfs.* lines below are rewritten with it.
  sink_keys="a1.sinks.k1.type = s3
a1.sinks.k1.bucket = ${S3_BUCKET:?}
a1.sinks.k1.keyPrefix = bench-$$/%Y%m%d/%H
a1.sinks.k1.endpoint = ${S3_ENDPOINT:?}
a1.sinks.k1.pathStyleAccess = true
a1.sinks.k1.stagingDir = $dir/staging
${S3_KEYS:-}"
fi
cat > "$dir/agent.properties" <<CONF
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = exec
a1.sources.r1.command = yes $line
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $dir/ck
a1.channels.c1.dataDirs = $dir/data
a1.channels.c1.capacity = 2000000
a1.channels.c1.transactionCapacity = 1000
$sink_keys
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.useLocalTimeStamp = true
a1.sinks.k1.hdfs.batchSize = 1000
a1.sinks.k1.hdfs.rollSize = 134217728
a1.sinks.k1.hdfs.rollCount = 0
a1.sinks.k1.hdfs.rollInterval = 0
$ftype
CONF
if [ "${SINK:-hdfs}" = s3 ]; then
  sed -i 's/^a1\.sinks\.k1\.hdfs\./a1.sinks.k1./' "$dir/agent.properties"
fi
"$BIN" agent -n a1 -f "$dir/agent.properties" --no-reload-conf \
  -Dflume.monitoring.type=http -Dflume.monitoring.port="$port" 2>"$dir/agent.log" &
agent=$!
drained() {
  curl -s "http://127.0.0.1:$port/metrics" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["SINK.k1"]["EventDrainSuccessCount"])'
}
# CPU ticks (user+system) of a process so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
sleep "$WARM"
child=$(pgrep -P "$agent" | head -1 || true)
a=$(drained); ca=$(ticks "$agent"); ya=$(ticks "${child:-0}"); t0=$(date +%s.%N)
sleep "$DUR"
b=$(drained); cb=$(ticks "$agent"); yb=$(ticks "${child:-0}"); t1=$(date +%s.%N)
kill "$agent"; wait "$agent" 2>/dev/null || true; agent=
rm -rf "$dir/ck" "$dir/data" "$dir/out"
read -r put2 _ < <(bench_put)
put=$(( (put1 + put2) / 2 ))
sink=$(python3 -c "print(round(($b-$a)/($t1-$t0)))")
ratio=$(python3 -c "print(f'{$sink/$put:.2f}')")
hz=$(getconf CLK_TCK)
cpu=$(python3 -c "
n = max($b - $a, 1) / 1000
print(f'agent {($cb-$ca)/$hz/n*1000:.2f} ms, yes {($yb-$ya)/$hz/n*1000:.2f} ms, ' +
      f'agent cores {($cb-$ca)/$hz/($t1-$t0):.2f}')")
echo "${SINK:-hdfs} sink ${CODEC:-DataStream}: ${sink} ev/s drained; sluice bench put (batch 1000, 1 KiB): ${put} ev/s (before ${put1}, after ${put2}); ratio ${ratio} (bar 0.60)"
echo "  CPU per 1,000 events: ${cpu}; sluice bench ${bench_ms} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
