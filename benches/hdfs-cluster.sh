#!/usr/bin/env bash
# Issue 26's bar: exec (`yes` of a 1 KiB line) -> file channel -> hdfs sink (DataStream, batch
# 1,000, hsync per batch) on a real HDFS against the same pipeline with a local hdfs.path, in
# the same run: local, HDFS, local again (the local figure is the mean of the two).
#   cargo build --release && benches/hdfs-cluster.sh
# Starts its own one-DataNode Hadoop 2.7.3 cluster on loopback from the jars that
# .ci/install-hdfs.sh extracts (SLUICE_HADOOP_HOME, default ~/.cache/sluice/hadoop-2.7.3), or
# uses HDFS_URL=hdfs://host:port when set. DUR (seconds measured, default 10), WARM (default
# 3), BASE (directory, default /var/tmp), FSYNC (hdfs.fsyncPerBatch, default true). Prints events/s drained and the agent's CPU per
# 1,000 events (user+system from /proc; the JVMs' CPU is not in it, and is printed apart).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/sluice}
DUR=${DUR:-10}
WARM=${WARM:-3}
BASE=${BASE:-/var/tmp}
H=${SLUICE_HADOOP_HOME:-$HOME/.cache/sluice/hadoop-2.7.3}
FSYNC=${FSYNC:-true}
dir=$(mktemp -d "$BASE/sluice-hdfs-cluster-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

jvm_ticks=0
if [ -z "${HDFS_URL:-}" ]; then
  nn=$(freeport)
  mkdir -p "$dir/conf"
  prop() { echo "<property><name>$1</name><value>$2</value></property>"; }
  { echo "<configuration>"; prop fs.defaultFS "hdfs://127.0.0.1:$nn"; prop hadoop.tmp.dir "$dir/tmp"; echo "</configuration>"; } > "$dir/conf/core-site.xml"
  { echo "<configuration>"
    prop dfs.replication 1; prop dfs.permissions.enabled false
    prop dfs.namenode.datanode.registration.ip-hostname-check false
    prop dfs.namenode.safemode.extension 0; prop dfs.webhdfs.enabled false
    prop dfs.namenode.name.dir "$dir/name"; prop dfs.datanode.data.dir "$dir/dn"
    for k in dfs.namenode.http-address dfs.namenode.secondary.http-address dfs.datanode.address \
             dfs.datanode.http.address dfs.datanode.ipc.address; do prop "$k" 127.0.0.1:0; done
    echo "</configuration>"; } > "$dir/conf/hdfs-site.xml"
  printf 'log4j.rootLogger=WARN,console\nlog4j.appender.console=org.apache.log4j.ConsoleAppender\nlog4j.appender.console.layout=org.apache.log4j.PatternLayout\n' > "$dir/conf/log4j.properties"
  cp=("-Xmx512m" "-cp" "$dir/conf:$H:$H/jars/*")
  java "${cp[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive >"$dir/format.log" 2>&1
  java "${cp[@]}" org.apache.hadoop.hdfs.server.namenode.NameNode >"$dir/nn.log" 2>&1 & pids+=($!); nnpid=$!
  java "${cp[@]}" org.apache.hadoop.hdfs.server.datanode.DataNode >"$dir/dn.log" 2>&1 & pids+=($!); dnpid=$!
  for _ in $(seq 1 60); do
    if java "${cp[@]}" org.apache.hadoop.hdfs.tools.DFSAdmin -report 2>/dev/null | grep -q "Live datanodes (1)"; then break; fi
    sleep 1
  done
  HDFS_URL="hdfs://127.0.0.1:$nn"
fi

line=$(head -c 1024 /dev/zero | tr '\0' x)
# run NAME PATH: one agent run; prints "events/s agent-ms-per-1000 jvm-ms-per-1000".
run() {
  local name=$1 path=$2 port
  port=$(freeport)
  rm -rf "$dir/ck" "$dir/data"
  cat > "$dir/$name.properties" <<CONF
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
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = $path/%Y%m%d/%H
a1.sinks.k1.hdfs.useLocalTimeStamp = true
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.batchSize = 1000
a1.sinks.k1.hdfs.rollSize = 134217728
a1.sinks.k1.hdfs.rollCount = 0
a1.sinks.k1.hdfs.rollInterval = 0
a1.sinks.k1.hdfs.fsyncPerBatch = $FSYNC
CONF
  "$BIN" agent -n a1 -f "$dir/$name.properties" --no-reload-conf \
    -Dflume.monitoring.type=http -Dflume.monitoring.port="$port" 2>"$dir/$name.log" &
  local agent=$!
  drained() {
    curl -s "http://127.0.0.1:$port/metrics" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["SINK.k1"]["EventDrainSuccessCount"])'
  }
  sleep "$WARM"
  local a ca ja t0 b cb jb t1
  a=$(drained); ca=$(ticks "$agent"); t0=$(date +%s.%N)
  ja=0; for p in "${pids[@]}"; do ja=$((ja + $(ticks "$p"))); done
  sleep "$DUR"
  b=$(drained); cb=$(ticks "$agent"); t1=$(date +%s.%N)
  jb=0; for p in "${pids[@]}"; do jb=$((jb + $(ticks "$p"))); done
  kill "$agent"; wait "$agent" 2>/dev/null || true
  python3 -c "
n = max($b - $a, 1)
print(round(n / ($t1 - $t0)), '%.2f' % (($cb - $ca) / $hz / n * 1e6), '%.2f' % (($jb - $ja) / $hz / n * 1e6))"
}
read -r l1 lc1 _ < <(run local1 "$dir/out1")
read -r h hc hj < <(run hdfs "$HDFS_URL/bench-$$")
read -r l2 lc2 _ < <(run local2 "$dir/out2")
local_rate=$(( (l1 + l2) / 2 ))
ratio=$(python3 -c "print(f'{$h/$local_rate:.2f}')")
echo "hdfs sink DataStream, batch 1000, fsyncPerBatch=$FSYNC: HDFS ${h} ev/s, local ${local_rate} ev/s (before ${l1}, after ${l2}); ratio ${ratio} (bar 0.50)"
echo "  agent CPU per 1,000 events: HDFS ${hc} ms, local ${lc1}/${lc2} ms; NameNode+DataNode JVMs ${hj} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
