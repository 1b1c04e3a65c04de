"""Segment recycling, recycleSegments=0 vs 2 (docs/performance-findings.md, "Segment recycling").

Each run: a fresh directory, a 2 s `--phase both` run that leaves two spares, then the measured
5 s put phase; 16x1 and 4x100 (putters x batch), alternating the order, 3 rounds, medians.
Usage: cargo build --release --bin sluice && python3 benches/recycle_bench.py [work dir on the
disk to measure] (default: target/recycle-bench).
"""
import json, subprocess, sys, shutil, os, statistics
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("SLUICE_BIN", os.path.join(HERE, "..", "target", "release", "sluice"))
ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "recycle-bench")
configs = [(16, 1), (4, 100)]
res = {}
def bench(d, phase, dur, putters, batch, rs, extra=()):
    cmd = [BIN, "bench", "--phase", phase, "--duration", dur, "--putters", str(putters), "--batch", str(batch),
           "--set", "directIo=auto", "--set", "maxFileSize=16777216", "--set", f"recycleSegments={rs}",
           "--checkpoint-every-ms", "500", "--json", "--quiet",
           "--checkpoint-dir", d + "/c", "--data-dirs", d + "/d", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr); raise SystemExit(1)
    return json.loads(out.stdout)
def run(putters, batch, rs):
    d = os.path.join(ROOT, "d")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    # Leave two spares (16 MiB, fully written) behind: put 2 s, take it all back, checkpoints.
    bench(d, "both", "2s", 4, 100, 2)
    spares = len([n for n in os.listdir(d + "/d") if n.startswith("spare-")])
    load = open("/proc/loadavg").read().split()[0]
    j = bench(d, "put", "5s", putters, batch, rs)
    ph = j["phases"][0]
    r = dict(ev=ph["events_per_sec"], fs=ph["fsyncs_per_sec"],
             cpf=ph["commits_per_sec"] / max(ph["fsyncs_per_sec"], 1e-9), rec=ph["segments_recycled"],
             mbs=ph["payload_mb_per_sec"], load=float(load), spares_before=spares)
    print(putters, batch, rs, {k: round(v, 1) for k, v in r.items()}, flush=True)
    return r
for rnd in range(3):
    for (p, b) in configs:
        order = [0, 2] if rnd % 2 == 0 else [2, 0]
        for rs in order:
            res.setdefault((p, b, rs), []).append(run(p, b, rs))
print("MEDIANS")
for (p, b, rs), rows in sorted(res.items()):
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"putters={p} batch={b} recycleSegments={rs}: " + ", ".join(f"{k}={v:.1f}" for k, v in med.items()), "loads", [r["load"] for r in rows])
