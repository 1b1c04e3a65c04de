#!/usr/bin/env bash
# Fan-out cost: avro source -> replicating selector -> N memory channels -> N null sinks, in an
# agent process, driven by `sluice bench --rpc avro --target` (4 connections, batch 1,000,
# 1 KiB events, 2 headers). Prints per round: events/s and the agent's CPU per event
# (user + system ticks from /proc/PID/stat over the run).
#   cargo build --release && benches/replicating.sh
#   OLD=/tmp/sluice-old benches/replicating.sh     # alternate an older binary with this one
# CHANNELS (default 2), ROUNDS (default 3), DUR (default 4s), PORT (default 47311).
set -euo pipefail
cd "$(dirname "$0")/.."
NEW=${BIN:-target/release/sluice}
CHANNELS=${CHANNELS:-2}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-4s}
PORT=${PORT:-47311}
dir=$(mktemp -d /tmp/sluice-replicating.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chans=$(seq -f "c%g" 1 "$CHANNELS" | tr '\n' ' ')
sinks=$(seq -f "k%g" 1 "$CHANNELS" | tr '\n' ' ')
{
  echo "a.sources = r"; echo "a.channels = $chans"; echo "a.sinks = $sinks"
  echo "a.sources.r.type = avro"; echo "a.sources.r.bind = 127.0.0.1"
  echo "a.sources.r.port = $PORT"; echo "a.sources.r.channels = $chans"
  echo "a.sources.r.selector.type = replicating"
  for i in $(seq 1 "$CHANNELS"); do
    echo "a.channels.c$i.type = memory"; echo "a.channels.c$i.capacity = 100000"
    echo "a.channels.c$i.transactionCapacity = 1000"
    echo "a.sinks.k$i.type = null"; echo "a.sinks.k$i.channel = c$i"
    echo "a.sinks.k$i.batchSize = 1000"
  done
} > "$dir/agent.properties"
tick=$(getconf CLK_TCK)
for _ in $(seq 1 "$ROUNDS"); do
  for bin in ${OLD:-} "$NEW"; do
    "$bin" agent -n a -f "$dir/agent.properties" > "$dir/agent.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do
      (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
      sleep 0.1
    done
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$("$NEW" bench --rpc avro --target "127.0.0.1:$PORT" --putters 4 --batch 1000 \
      --event-size 1024 --duration "$DUR" 2>&1)
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    read -r events rate < <(echo "$out" | awk '$1 == "rpc" {print $2, $4}')
    cpu=$(awk -v a="$t0" -v b="$t1" -v n="$events" -v t="$tick" \
      'BEGIN {printf "%.2f", (b - a) / t * 1e6 / n}')
    echo "$bin: $rate events/s, agent $cpu µs/event"
  done
done
uptime
