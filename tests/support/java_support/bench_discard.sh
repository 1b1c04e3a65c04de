#!/usr/bin/env bash
# Java discard sink vs native null sink over a file channel at batch 100, and the peak RSS of
# the agent and of the JVM (docs/performance.md, "Java plugins"). Not run by the suite:
#   cargo build --release && tests/support/java_support/bench_discard.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=${SLUICE_BIN:-$REPO/target/release/sluice}
W=$(mktemp -d)
cd "$W"
N=${N:-200000}
export SLUICE_JAVA_CACHE=$W/cache
SHIM=$($B plugins build)
mkdir -p classes plugins.d/t/lib
javac -nowarn -cp "$SHIM" -d classes $REPO/tests/java_support/plugins/sluicetest/DiscardSink.java
jar --create --file plugins.d/t/lib/t.jar -C classes .
one() { # $1 = sink type, $2 = run dir
  local d=$2; mkdir -p $d
  python3 -c "import sys; [sys.stdout.write('x'*90+'%09d\n'%i) for i in range($N)]" \
    | $B channel put --checkpoint-dir $d/ckpt --data-dirs $d/data --set capacity=1000000 --batch 1000 >/dev/null
  cat > $d/a1.properties <<P
a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $d/ckpt
a1.channels.c1.dataDirs = $d/data
a1.channels.c1.capacity = 1000000
a1.sinks.k1.type = $1
a1.sinks.k1.batchSize = 100
a1.sinks.k1.channel = c1
P
  local port=$((35000 + RANDOM % 1000))
  $B agent -n a1 -f $d/a1.properties --no-reload-conf -Dflume.monitoring.type=http -Dflume.monitoring.port=$port >$d/log 2>&1 &
  local pid=$!
  local t0="" n=0
  while true; do
    n=$(curl -s localhost:$port/metrics | python3 -c "import sys,json; print(json.load(sys.stdin)['CHANNEL.c1']['EventTakeSuccessCount'])" 2>/dev/null || echo 0)
    if [ -z "$t0" ] && [ "$n" -gt 0 ]; then t0=$(date +%s.%N); n0=$n; fi
    if [ "$n" -ge "$N" ]; then break; fi
    sleep 0.05
  done
  local t1=$(date +%s.%N)
  local rss=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
  local jrss=0
  for c in $(pgrep -P $pid || true); do jrss=$((jrss + $(grep VmHWM /proc/$c/status | awk '{print $2}'))); done
  kill $pid; wait $pid || true
  python3 -c "print('%-24s %8.0f events/s  agent VmHWM %6d KiB  JVM VmHWM %6d KiB' % ('$1', ($N-$n0)/($t1-$t0), $rss, $jrss))"
}
for round in 1 2; do
  one null run-null-$round
  one sluicetest.DiscardSink run-java-$round
done
