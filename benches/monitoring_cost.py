#!/usr/bin/env python3
"""Monitoring cost (issue 16 bar: < 1 % of throughput): seq -> file channel -> null, N events,
run alternately with

  base   a binary without this branch's instrumentation (BASE_BIN), no metrics server
  plain  this branch's binary (BIN), no metrics server (histograms are still recorded)
  http   this branch's binary with -Dflume.monitoring.type=http and a scraper that reads the
         Prometheus exposition and the JSON once a second each

A run ends when the agent's CPU time stops growing (all N events drained; the agent idles).
Reported per run: wall time to drain, events/s, CPU µs per event (utime+stime of the agent
from /proc, the steadier figure on a shared machine).

  BIN=target/release/sluice BASE_BIN=/tmp/sluice-base python3 benches/monitoring_cost.py
  N (events, default 2,000,000), RUNS (rounds of the modes, default 3), BASE (dir, /var/tmp)
"""
import os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

BIN = os.environ.get("BIN", "target/release/sluice")
BASE_BIN = os.environ.get("BASE_BIN")
N = int(os.environ.get("N", "2000000"))
RUNS = int(os.environ.get("RUNS", "3"))
BASE = os.environ.get("BASE", "/var/tmp")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def run(mode):
    d = tempfile.mkdtemp(prefix="sluice-moncost.", dir=BASE)
    conf = os.path.join(d, "a.properties")
    with open(conf, "w") as f:
        f.write(f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = {N}
a1.sources.r1.batchSize = 100
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {d}/ck
a1.channels.c1.dataDirs = {d}/data
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k1.batchSize = 100
""")
    binary = BASE_BIN if mode == "base" else BIN
    args = [binary, "agent", "-n", "a1", "-f", conf, "--no-reload-conf"]
    port = None
    if mode == "http":
        port = free_port()
        args += ["-Dflume.monitoring.type=http", f"-Dflume.monitoring.port={port}"]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    scrapes = [0]

    def scraper():
        while not stop.wait(1.0):
            for accept in ("application/openmetrics-text;version=1.0.0", "application/json"):
                try:
                    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept})
                    urllib.request.urlopen(req, timeout=5).read()
                    scrapes[0] += 1
                except OSError:
                    pass

    if port:
        threading.Thread(target=scraper, daemon=True).start()
    last, last_change = 0, time.monotonic()
    deadline = t0 + 600
    while time.monotonic() < deadline:
        time.sleep(0.1)
        c = cpu_ticks(p.pid)
        now = time.monotonic()
        if c > last + 1:  # more than one tick of noise
            last, last_change = c, now
        elif now - last_change > 1.5 and now - t0 > 2:
            break
    stop.set()
    wall = last_change - t0
    p.terminate()
    p.wait(timeout=30)
    shutil.rmtree(d, ignore_errors=True)
    return wall, last / TICK, scrapes[0]


def main():
    modes = ["plain", "http"] + (["base"] if BASE_BIN else [])
    results = {m: [] for m in modes}
    print(f"N={N} RUNS={RUNS} load={os.getloadavg()}")
    for r in range(RUNS):
        order = modes[r % len(modes):] + modes[: r % len(modes)]
        for m in order:
            wall, cpu, scrapes = run(m)
            results[m].append((wall, cpu))
            print(f"run {r + 1} {m:5}: wall {wall:6.2f} s  {N / wall:9.0f} ev/s  cpu {cpu * 1e6 / N:6.3f} µs/event  scrapes {scrapes}", flush=True)
    print()
    for m in modes:
        walls = sorted(w for w, _ in results[m])
        cpus = sorted(c for _, c in results[m])
        print(f"{m:5}: ev/s median {N / walls[len(walls) // 2]:9.0f} (min {N / walls[-1]:.0f}, max {N / walls[0]:.0f});"
              f" cpu µs/event median {cpus[len(cpus) // 2] * 1e6 / N:.3f} (min {cpus[0] * 1e6 / N:.3f}, max {cpus[-1] * 1e6 / N:.3f})")
    print(f"load={os.getloadavg()}")


if __name__ == "__main__":
    main()
