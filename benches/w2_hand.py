#!/usr/bin/env python3
"""W2 by hand: the peers' two Sluice agents (../shared/peers/configs/sluice-w2-*.properties:
TAILDIR -> file channel -> avro, then avro -> file channel -> file_roll) on the first N lines
of a W2 input file, started as the peers' harness starts them; prints the wall time, events/s
and each agent's user and system CPU and peak RSS (VmHWM). Beside the harness it splits user from kernel time and
takes extra keys per agent.

usage: benches/w2_hand.py BIN INPUT [N]     (INPUT: the harness's w2-input-1000000-200.log)
env: EXTRA_E / EXTRA_C = "key = value; ..." appended to the edge's / collector's config
     (without the agent prefix), MON=1 saves both agents' /prometheus text at the end,
     STRACE=1 counts their fdatasync/fsync calls (strace -c) into WORK/strace-*,
     ARGS="-Dkey=value ..." appended to both agents' command lines,
     WORK (default /tmp/sluice-w2-hand)."""
import os, sys, time, subprocess, shutil, socket, glob
BIN = sys.argv[1]; SRC = sys.argv[2]; N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
HERE = os.path.dirname(os.path.abspath(__file__))
STRACE = os.environ.get("STRACE")
base = os.environ.get("WORK", "/tmp/sluice-w2-hand"); shutil.rmtree(base, ignore_errors=True)
for d in ("in", "out", "e", "c"): os.makedirs(os.path.join(base, d))
with open(SRC, "rb") as f, open(base + "/in/in.log", "wb") as g:
    for i, line in enumerate(f):
        if i >= N: break
        g.write(line)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
def conf(name):
    t = open(os.path.join(HERE, "..", "..", "shared", "peers", "configs", "sluice-w2-%s.properties" % name)).read()
    w = base + ("/e" if name == "edge" else "/c")
    t = t.replace("{WORK}", w).replace("{FWDPORT}", str(port)).replace("{INDIR}", base + "/in").replace("{OUTDIR}", base + "/out")
    agent = "e" if name == "edge" else "c"
    for kv in (os.environ.get("EXTRA", "") + ";" + os.environ.get("EXTRA_" + agent.upper(), "")).split(";"):
        if kv.strip(): t += "\n" + agent + "." + kv.strip()
    t += "\n"
    p = w + "/a.properties"; open(p, "w").write(t); return p
def start(name, agent):
    cmd = [BIN, "agent", "-f", conf(name), "-n", agent] + os.environ.get("ARGS", "").split()
    if os.environ.get("MON"):
        cmd += ["-Dflume.monitoring.type=http", "-Dflume.monitoring.port=%d" % (34545 if agent == "e" else 34546)]
    if STRACE: cmd = ["strace", "-f", "-c", "--seccomp-bpf", "-e", "trace=fdatasync,fsync", "-o", base + "/strace-" + name] + cmd
    return subprocess.Popen(cmd, stdout=open(base + "/%s.log" % name, "w"), stderr=subprocess.STDOUT)
def ticks(pid):
    """User and system clock ticks of a process (all its threads)."""
    p = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(p[11]), int(p[12])
col = start("collector", "c")
for _ in range(300):
    try: socket.create_connection(("127.0.0.1", port), 0.2).close(); break
    except OSError: time.sleep(0.1)
time.sleep(0.3)
c0 = ticks(col.pid)
t0 = time.time(); edge = start("edge", "e")
open(base + "/pids", "w").write("%d %d" % (edge.pid, col.pid))
insize = os.path.getsize(base + "/in/in.log")
def count():
    sz = sum(os.path.getsize(p) for p in glob.glob(base + "/out/*"))
    return N if sz >= insize else int(N * sz / insize)
n = 0
while time.time() < t0 + 120:
    n = count()
    if n >= N: break
    time.sleep(0.1)
t1 = time.time(); e1 = ticks(edge.pid); c1 = ticks(col.pid)
def hwm_mib(pid):
    """Peak resident set (VmHWM) of a process, in MiB."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return 0.0
rss = (hwm_mib(edge.pid), hwm_mib(col.pid))
hz = os.sysconf("SC_CLK_TCK")
eu, es = e1[0] / hz, e1[1] / hz; cu, cs = (c1[0] - c0[0]) / hz, (c1[1] - c0[1]) / hz
if os.environ.get("MON"):
    import urllib.request
    for port, nm in ((34545, "edge"), (34546, "col")):
        try:
            t = urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d/prometheus" % port)).read().decode()
            open(base + "/metrics-" + nm, "w").write(t)
        except Exception as e:
            print("metrics", nm, e)
for p in (edge, col): p.terminate()
for p in (edge, col): p.wait()
secs = t1 - t0
print("n=%d secs=%.2f ev/s=%d edge u/s=%.2f/%.2f col u/s=%.2f/%.2f cpu us/ev=%.2f (user %.2f sys %.2f) peak MiB edge/col=%.0f/%.0f" % (
    n, secs, n / secs, eu, es, cu, cs, (eu + es + cu + cs) * 1e6 / n, (eu + cu) * 1e6 / n, (es + cs) * 1e6 / n, rss[0], rss[1]))
