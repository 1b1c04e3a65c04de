#!/usr/bin/env python3
"""Direct I/O against buffered (issue 32, item 2): `directIo=auto` and the default, alternating,
ROUNDS times, in the put, take (drain a backlog), mixed and reopen phases; prints medians and
the ratio direct / buffered per phase. Every figure comes from `sluice bench --json`.

    ROUNDS=3 DUR=3s DIR=/var/tmp/dio python3 benches/directio.py

EXTRA="--set groupCommitLeaders=2" adds settings to both sides; DIRECT="directIo=auto" picks
the direct side's setting. STEADY=40s adds a long mixed 1 + 1 run that lives in recycled spares
(64 MiB segments, 8 spares, a checkpoint a second) and prints each side's disk bytes per event
as well: direct I/O zeroes ahead only in fresh segments, so this is its steady-state write
amplification against buffered.
"""
import json, os, shutil, statistics, subprocess

BIN = os.environ.get("BIN", "target/release/sluice")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DUR = os.environ.get("DUR", "3s")
DIR = os.environ.get("DIR", "/var/tmp/dio")
EXTRA = os.environ.get("EXTRA", "").split()
DIRECT = os.environ.get("DIRECT", "directIo=auto")
SIDES = {"buffered": ["--set", "directIo=false"], "direct": ["--set", DIRECT]}

# name -> (bench args, which phase of the report, the figure read)
WORKLOADS = {
    "put b100 x4": (["--phase", "put", "--duration", DUR, "--putters", "4", "--batch", "100"], "put", "events_per_sec"),
    "put b1000 x4": (["--phase", "put", "--duration", DUR, "--putters", "4", "--batch", "1000"], "put", "events_per_sec"),
    "both b100 x1": (["--phase", "both", "--duration", DUR, "--putters", "1", "--takers", "1", "--batch", "100"], "take", "events_per_sec"),
    "mixed 1+1": (["--phase", "mixed", "--duration", DUR, "--putters", "1", "--takers", "1", "--batch", "100"], "mixed", "events_per_sec"),
    "mixed 4+2": (["--phase", "mixed", "--duration", DUR, "--putters", "4", "--takers", "2", "--batch", "100"], "mixed", "events_per_sec"),
    "reopen": (["--phase", "put", "--events", "1000000", "--putters", "4", "--batch", "1000", "--reopen"], "reopen", "reopen_secs"),
}
if os.environ.get("STEADY"):
    WORKLOADS["steady 1+1"] = (["--phase", "mixed", "--duration", os.environ["STEADY"], "--putters", "1", "--takers", "1",
                                "--batch", "100", "--set", "maxFileSize=67108864", "--set", "recycleSegments=8",
                                "--checkpoint-every-ms", "1000"], "mixed", "events_per_sec")


def bench(args):
    shutil.rmtree(DIR, ignore_errors=True)
    out = subprocess.run([BIN, "bench", "--json", "--quiet", "--checkpoint-dir", f"{DIR}/c",
                          "--data-dirs", f"{DIR}/d"] + args + EXTRA,
                         check=True, capture_output=True, text=True).stdout
    shutil.rmtree(DIR, ignore_errors=True)
    return json.loads(out)


def figure(report, phase, key):
    if phase == "reopen":
        r = report.get("reopen") or {}
        return r.get("with_checkpoint_secs") or r.get("secs") or 0.0, 0.0
    for p in report["phases"]:
        if p["phase"] == phase:
            return p[key], p["disk_mb_per_sec"] * 1e6 / p[key] if p[key] else 0.0
    raise KeyError(f"no {phase} phase in {list(p['phase'] for p in report['phases'])}")


def main():
    only = os.environ.get("ONLY")
    rows, disk = {}, {}
    for r in range(ROUNDS):
        for name, (args, phase, key) in WORKLOADS.items():
            if only and only not in name:
                continue
            for side, extra in SIDES.items():
                load = os.getloadavg()[0]
                rep = bench(args + extra)
                value, per_event = figure(rep, phase, key)
                rows.setdefault((name, side), []).append((value, load))
                disk.setdefault((name, side), []).append(per_event)
    print(f"medians of {ROUNDS} alternating rounds, {DUR} each ({BIN})")
    for name in WORKLOADS:
        if (name, "buffered") not in rows:
            continue
        b = statistics.median(v for v, _ in rows[(name, "buffered")])
        d = statistics.median(v for v, _ in rows[(name, "direct")])
        unit = "s" if name == "reopen" else "ev/s"
        ratio = (b / d if d else 0) if name == "reopen" else (d / b if b else 0)
        loads = [l for side in SIDES for _, l in rows[(name, side)]]
        print(f"{name:13} buffered {b:>10.3f} {unit}  direct {d:>10.3f} {unit}  direct/buffered {ratio:4.2f}"
              f"  load {min(loads):.1f}-{max(loads):.1f}"
              f"  rounds b {[round(v, 3) for v, _ in rows[(name, 'buffered')]]} d {[round(v, 3) for v, _ in rows[(name, 'direct')]]}"
              + ("" if name == "reopen" else f"  disk B/event b {statistics.median(disk[(name, 'buffered')]):.0f}"
                 f" d {statistics.median(disk[(name, 'direct')]):.0f}"))


if __name__ == "__main__":
    main()
