#!/usr/bin/env python3
"""The issue-17 bars in one run: probe, then each workload with the default (buffered) write
path and with directIo=auto, alternating, ROUNDS times; prints medians and ratios.

    ROUNDS=3 DUR=3s DIR=/var/tmp/s17 python3 benches/issue17.py

Needs a release build (target/release/sluice). Every figure comes from `sluice bench --json`.
"""
import json, os, shutil, statistics, subprocess, sys

BIN = os.environ.get("BIN", "target/release/sluice")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DUR = os.environ.get("DUR", "3s")
DIR = os.environ.get("DIR", "/var/tmp/s17")

def bench(args):
    shutil.rmtree(DIR, ignore_errors=True)
    dirs = ["--data-dirs", f"{DIR}/d"] if "--probe" in args else ["--checkpoint-dir", f"{DIR}/c", "--data-dirs", f"{DIR}/d"]
    cmd = [BIN, "bench", "--json", "--quiet"] + dirs + args
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    shutil.rmtree(DIR, ignore_errors=True)
    return json.loads(out)

WORKLOADS = {
    "put b100 x4": ["--phase", "put", "--duration", DUR, "--putters", "4", "--batch", "100"],
    "put b100 x1": ["--phase", "put", "--duration", DUR, "--putters", "1", "--batch", "100"],
    "put b1 x16": ["--phase", "put", "--duration", DUR, "--putters", "16", "--batch", "1"],
    "mixed b100 1+1": ["--phase", "mixed", "--duration", DUR, "--putters", "1", "--takers", "1", "--batch", "100"],
    "ckpt b100 x4": ["--phase", "put", "--duration", DUR, "--putters", "4", "--batch", "100", "--checkpoint-every-ms", "500"],
}
MODES = {"buffered": ["--set", "directIo=false"], "direct": ["--set", "directIo=auto"]}
if os.environ.get("LEADERS1"):
    MODES["buffered L1"] = ["--set", "groupCommitLeaders=1"]
    MODES["direct L1"] = ["--set", "directIo=auto", "--set", "groupCommitLeaders=1"]

def main():
    shutil.rmtree(DIR, ignore_errors=True)
    probe = bench(["--probe"])
    print("probe:", json.dumps(probe))
    print(f"one committer's ceiling at batch 100: {probe.get('batch_fdatasync_per_sec', 0) * 100:.0f} ev/s")
    print("load average at start:", os.getloadavg())
    rows = {}
    for r in range(ROUNDS):
        for name, args in WORKLOADS.items():
            for mode, extra in MODES.items():
                j = bench(args + extra)
                p = j["phases"][0]
                rows.setdefault((name, mode), []).append(p)
    direct_mb = probe.get("direct_mb_per_sec") or probe.get("o_direct_mb_per_sec")
    print(f"\nmedian of {ROUNDS}; probe O_DIRECT MB/s = {direct_mb}")
    for (name, mode), ps in rows.items():
        med = lambda k: statistics.median(p[k] for p in ps if p.get(k) is not None) if any(p.get(k) is not None for p in ps) else None
        line = (f"{name:16} {mode:8} ev/s {med('events_per_sec'):>9.0f}  pay MB/s {med('payload_mb_per_sec'):7.1f}"
                f"  commits/fsync {med('commits_per_sec') / max(med('fsyncs_per_sec'), 1e-9):5.1f}"
                f"  CPU µs/ev {med('cpu_us_per_event'):5.2f}  disk reads {med('disk_read_bytes'):.0f} B")
        rc = med("segments_recycled")
        if rc:
            line += f"  recycled {rc:.0f}"
        hr = med("tail_cache_hit_rate")
        if hr is not None:
            line += f"  cache hits {hr * 100:.1f} %"
        if direct_mb:
            line += f"  = {med('payload_mb_per_sec') / direct_mb:.2f} of the O_DIRECT probe"
        ck = [p["checkpoints"] for p in ps if p.get("checkpoints")]
        if ck:
            d = statistics.median(c["longest_commit_during_checkpoint_us"] for c in ck)
            o = statistics.median(c["longest_commit_otherwise_us"] for c in ck)
            line += f"  longest commit during/otherwise ckpt {d/1000:.1f}/{o/1000:.1f} ms"
        print(line)
    print("load average at end:", os.getloadavg())

if __name__ == "__main__":
    sys.exit(main())
