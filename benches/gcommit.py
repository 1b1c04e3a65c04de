#!/usr/bin/env python3
"""Group commit (issue 17, item 3): an old binary against this one with 1, 2 and 3 overlapping
leaders (`groupCommitLeaders`), alternating, ROUNDS times, with the probe once per round;
prints medians of events/s, fsyncs/s, commits/fsync and the group-commit breakdown.

    OLD=/tmp/sluice-old ROUNDS=3 DUR=3s DIR=/var/tmp/gc python3 benches/gcommit.py

ONLY_B1=1 runs batch 1 x 16 putters only, LEADERS=1,2 picks the leader counts there.

Needs release builds. Every figure comes from `sluice bench --json`.
"""
import json, os, shutil, statistics, subprocess

NEW = os.environ.get("BIN", "target/release/sluice")
OLD = os.environ.get("OLD")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DUR = os.environ.get("DUR", "3s")
DIR = os.environ.get("DIR", "/var/tmp/gc")
ONLY_B1 = os.environ.get("ONLY_B1") == "1"
LEADERS = [int(n) for n in os.environ.get("LEADERS", "1,2,3").split(",")]

def bench(binary, args):
    shutil.rmtree(DIR, ignore_errors=True)
    dirs = ["--data-dirs", f"{DIR}/d"] if "--probe" in args else ["--checkpoint-dir", f"{DIR}/c", "--data-dirs", f"{DIR}/d"]
    out = subprocess.run([binary, "bench", "--json", "--quiet"] + dirs + args,
                         check=True, capture_output=True, text=True).stdout
    shutil.rmtree(DIR, ignore_errors=True)
    return json.loads(out)

B1 = ["--phase", "put", "--duration", DUR, "--putters", "16", "--batch", "1"]
B100X4 = ["--phase", "put", "--duration", DUR, "--putters", "4", "--batch", "100"]
B100X1 = ["--phase", "put", "--duration", DUR, "--putters", "1", "--batch", "100"]
MODES = {"buffered": ["--set", "directIo=false"], "direct": ["--set", "directIo=auto"]}

def variants(workload):
    v = []
    if OLD:
        v.append(("old", OLD, []))
    leaders = LEADERS
    v += [(f"new L{n}", NEW, ["--set", f"groupCommitLeaders={n}"]) for n in leaders]
    return v

def main():
    rows, probes = {}, []
    for r in range(ROUNDS):
        probe = bench(NEW, ["--probe"])
        probes.append((os.getloadavg()[0], probe))
        workloads = [("b1 x16", B1)] if ONLY_B1 else [("b1 x16", B1), ("b100 x4", B100X4), ("b100 x1", B100X1)]
        for wname, w in workloads:
            for mode, extra in MODES.items():
                for vname, binary, vextra in variants(w):
                    load = os.getloadavg()[0]
                    p = bench(binary, w + extra + vextra)["phases"][0]
                    p["load"] = load
                    rows.setdefault((wname, mode, vname), []).append(p)
    for load, p in probes:
        print(f"probe (load {load:.2f}):", json.dumps(p))
    print(f"\nmedians of {ROUNDS} rounds, {DUR} each")
    for (w, mode, v), ps in rows.items():
        med = lambda f: statistics.median(f(p) for p in ps)
        line = (f"{w:8} {mode:8} {v:6} ev/s {med(lambda p: p['events_per_sec']):>9.0f}"
                f"  fsyncs/s {med(lambda p: p['fsyncs_per_sec']):>6.0f}"
                f"  commits/fsync {med(lambda p: p['commits_per_sec'] / max(p['fsyncs_per_sec'], 1e-9)):5.1f}"
                f"  p99 µs {med(lambda p: p['commit_latency_us']['p99']):>7.0f}"
                f"  load {min(p['load'] for p in ps):.1f}-{max(p['load'] for p in ps):.1f}"
                f"  per round {[round(p['events_per_sec']) for p in ps]}")
        gs = [p["group_commit"] for p in ps if p.get("group_commit")]
        if gs:
            g = lambda k: statistics.median(x[k] for x in gs)
            line += (f"  | overlap {g('overlapped_share') * 100:3.0f} %  io wait {g('io_wait_us'):6.1f}"
                     f"  write {g('write_us'):6.1f}  fdatasync {g('fsync_us'):6.1f}  fstat {g('fstat_us'):4.1f}"
                     f"  wake {g('wake_us'):6.1f} µs")
        print(line)

if __name__ == "__main__":
    main()
