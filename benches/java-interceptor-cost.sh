#!/usr/bin/env bash
# What a user's Java interceptor costs (docs/java-plugins.md, docs/performance.md): an avro
# source fed by C concurrent `sluice avro-client`s (batches of 100 events of 200 B) into a
# file channel drained by a null sink, with no interceptor, with a pass-through Java
# interceptor, and with the JSON-to-headers one (Jackson), in turns (rounds in rotating
# order). Reports events/s and the CPU per event of the agent and its JVMs together.
#   N=200000 C=4 R=3 benches/java-interceptor-cost.sh [BIN]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$repo/target/release/sluice}")
work=$(mktemp -d); trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
N=${N:-200000}; C=${C:-4}; R=${R:-3}
export SLUICE_JAVA_CACHE=$work/cache
shim=$("$bin" plugins build)
jackson=/usr/share/java/jackson-databind.jar:/usr/share/java/jackson-core.jar:/usr/share/java/jackson-annotations.jar
mkdir -p classes plugins.d/icpt/lib plugins.d/icpt/libext
javac -nowarn -cp "$shim:$jackson" -d classes "$repo/examples/java-interceptor/JsonHeaders.java" \
  $(find "$repo/tests/support/java_support/plugins/interceptors" -name '*.java')
jar --create --file plugins.d/icpt/lib/icpt.jar -C classes .
cp /usr/share/java/jackson-{databind,core,annotations}.jar plugins.d/icpt/libext/
python3 - "$N" "$C" <<'PY'
import sys
n, c = int(sys.argv[1]), int(sys.argv[2])
files = [open(f"in{i}.txt", "w") for i in range(c)]
for i in range(n):
    head = '{"service":"%s","level":"info","n":%d,"msg":"' % (("api", "web", "db")[i % 3], i)
    files[i % c].write(head + "x" * (200 - len(head) - 3) + '"}\n')
PY
cpu_ticks() { # utime+stime of a pid
  awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
one() { # $1 = mode, $2 = round
  local d=$work/run-$1-$2; mkdir -p "$d"
  local port=$((36000 + RANDOM % 2000))
  local icpt=""
  case $1 in
    pass) icpt="a1.sources.r1.interceptors = j
a1.sources.r1.interceptors.j.type = sluicetest.icpt.PassThrough\$Builder" ;;
    json) icpt="a1.sources.r1.interceptors = j
a1.sources.r1.interceptors.j.type = example.JsonHeaders\$Builder
a1.sources.r1.interceptors.j.fields = service level" ;;
  esac
  cat >"$d/a1.properties" <<P
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = $port
a1.sources.r1.channels = c1
$icpt
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = $d/ckpt
a1.channels.c1.dataDirs = $d/data
a1.channels.c1.capacity = 2000000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
P
  sync; sleep 1
  "$bin" agent -n a1 -f "$d/a1.properties" --plugins-path "$work/plugins.d" --no-reload-conf >"$d/log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  # A warm-up batch: the JVM starts and loads the class before the clock starts.
  head -n 100 in0.txt | "$bin" avro-client -H 127.0.0.1 -p "$port" >/dev/null
  local c0=$(cpu_ticks "$pid") j0=0
  for c in $(pgrep -P "$pid" || true); do j0=$((j0 + $(cpu_ticks "$c"))); done
  local t0=$(date +%s.%N)
  for i in $(seq 0 $((C - 1))); do "$bin" avro-client -H 127.0.0.1 -p "$port" -F "in$i.txt" >/dev/null & done
  wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
  local t1=$(date +%s.%N)
  local c1=$(cpu_ticks "$pid") j1=0
  for c in $(pgrep -P "$pid" || true); do j1=$((j1 + $(cpu_ticks "$c"))); done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "
n=$N; dt=$t1-$t0; hz=100
cpu=(($c1-$c0)+($j1-$j0))/hz
print('%-5s %d %9.0f events/s  %6.2f us/event (agent+JVM CPU; JVM %.2f)' % ('$1', $2, n/dt, cpu/n*1e6, ($j1-$j0)/hz/n*1e6))"
}
modes=(none pass json)
for r in $(seq 1 "$R"); do
  for k in 0 1 2; do one "${modes[$(((k + r) % 3))]}" "$r"; done
done | tee results.txt
python3 - <<'PY'
import statistics as st
rows = [l.split() for l in open("results.txt")]
med = {m: (st.median(float(r[2]) for r in rows if r[0] == m),
           st.median(float(r[4]) for r in rows if r[0] == m)) for m in ("none", "pass", "json")}
for m, (ev, us) in med.items():
    print("median %-5s %9.0f events/s (%.2f of none)  %.2f us/event" % (m, ev, ev / med["none"][0], us))
PY
