#!/usr/bin/env python3
"""Runs the docs/performance.md matrix with `sluice bench --json` and prints Markdown tables.

Driven by benches/run-tables.sh (which builds the binary and sets SLUICE_BIN, BENCH_DIR, RUNS,
SECS, LOOP). Every cell is the median of RUNS runs on fresh directories.
"""
import json, os, shutil, statistics, subprocess, sys, uuid

BIN = os.environ["SLUICE_BIN"]
ROOT = os.environ["BENCH_DIR"]
RUNS = int(os.environ.get("RUNS", "3"))
SECS = os.environ.get("SECS", "3")
LOOP = os.environ.get("LOOP", "0") == "1"

FLUME = {"put_b100": 51_000, "put_b1": 2_500, "mixed": 31_000}


def run(args, dirs=None, n_dirs=1):
    base = os.path.join(ROOT, "run-" + uuid.uuid4().hex[:8])
    if dirs is None:
        data = [os.path.join(base, f"data{i}") for i in range(n_dirs)]
    else:
        data = [os.path.join(d, "sluice-" + uuid.uuid4().hex[:8]) for d in dirs]
    ckpt = os.path.join(base, "ckpt")
    cmd = [BIN, "bench", "--quiet", "--json", "--checkpoint-dir", ckpt,
           "--data-dirs", ",".join(data)] + args
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return json.loads(out)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        for d in data:
            shutil.rmtree(d, ignore_errors=True)


def med(args, key=lambda r: r["events_per_sec"], **kw):
    results = [run(args, **kw) for _ in range(RUNS)]
    results.sort(key=key)
    return results[len(results) // 2]


def probe(dir_):
    os.makedirs(dir_, exist_ok=True)
    rs = []
    for _ in range(RUNS):
        out = subprocess.run([BIN, "bench", "--probe", "--json", "--data-dirs", dir_],
                             check=True, capture_output=True, text=True).stdout
        rs.append(json.loads(out))
    return {k: statistics.median(r[k] for r in rs)
            for k in ("buffered_mb_per_sec", "synced_write_mb_per_sec", "fdatasync_per_sec")} | {
        "direct_mb_per_sec": statistics.median((r["direct_mb_per_sec"] or 0) for r in rs)}


def row(label, r, p):
    l = r["commit_latency_us"]
    return (f"| {label} | {r['events_per_sec']:,.0f} | {r['payload_mb_per_sec']:.1f} | "
            f"{r['disk_mb_per_sec']:.1f} | {100 * r['payload_mb_per_sec'] / p['synced_write_mb_per_sec']:.0f}% | "
            f"{r['commits_per_sec']:,.0f} | {r['fsyncs_per_sec']:,.0f} | "
            f"{l['p50']:,.0f} / {l['p99']:,.0f} / {l['p999']:,.0f} / {l['max']:,.0f} | "
            f"{r['bytes_written_per_event']:,.0f} | {r['cpu_us_per_event']:.2f} |")


HEAD = ("| case | events/s | payload MB/s | disk MB/s | % of probe MB/s | commits/s | fsyncs/s | "
        "commit p50 / p99 / p99.9 / max µs | B written/event | CPU µs/event |\n"
        "|---|---|---|---|---|---|---|---|---|---|")


def main():
    load = open("/proc/loadavg").read().split()[:3]
    print(f"Load average at start: {' '.join(load)}; {RUNS} runs per cell, median shown; "
          f"put side runs {SECS} s.\n")
    p = probe(ROOT)
    print("### Probe (this directory's limits)\n")
    print("| buffered 1 MiB+fdatasync MB/s | O_DIRECT 1 MiB+fdatasync MB/s | synced write MB/s (better) | 4 KiB append+fdatasync /s |")
    print("|---|---|---|---|")
    print(f"| {p['buffered_mb_per_sec']:.0f} | {p['direct_mb_per_sec']:.0f} | "
          f"{p['synced_write_mb_per_sec']:.0f} | {p['fdatasync_per_sec']:,.0f} |\n")

    print("### Put: batch × event size (4 putters, 1 dir, fsync per commit)\n")
    print(HEAD)
    for batch in (1, 100, 1000):
        for size in ("256", "1024", "16384"):
            r = med(["--phase", "put", "--duration", SECS, "--batch", str(batch),
                     "--putters", "4", "--event-size", size])
            print(row(f"batch {batch}, {size} B", r, p))
    print()

    print("### Put: putters (1 KiB events, 1 dir)\n")
    print(HEAD)
    for batch in (1, 100):
        for putters in (1, 4, 16):
            r = med(["--phase", "put", "--duration", SECS, "--batch", str(batch),
                     "--putters", str(putters)])
            extra = ""
            if batch == 1 and putters == 16:
                extra = f" ({r['events_per_sec'] / FLUME['put_b1']:.1f}× Flume's 2,500/s)"
            if batch == 100 and putters == 1:
                extra = f" ({r['events_per_sec'] / FLUME['put_b100']:.1f}× Flume's 51,000/s)"
            print(row(f"batch {batch}, {putters} putters{extra}", r, p))
    print()

    print("### Data directories (1 KiB events)\n")
    print(HEAD)
    cases = [("1 dir", {"n_dirs": 1}), ("2 dirs, same fs", {"n_dirs": 2})]
    if LOOP:
        cases.append(("2 dirs, two loop ext4", {"dirs": [os.path.join(ROOT, "mnt1"), os.path.join(ROOT, "mnt2")]}))
    for batch, putters in ((100, 4), (1, 16)):
        for label, kw in cases:
            r = med(["--phase", "put", "--duration", SECS, "--batch", str(batch),
                     "--putters", str(putters)], **kw)
            print(row(f"batch {batch}, {putters} putters, {label}", r, p))
    print()

    print("### Take, and put and take at once (1 KiB events, batch 100, 1 dir)\n")
    print(HEAD)
    r = med(["--phase", "both", "--duration", SECS, "--batch", "100", "--putters", "4", "--takers", "1"],
            key=lambda r: r["phases"][1]["events_per_sec"])
    t = dict(r["phases"][1])
    print(row("take phase after 4 putters (1 taker)", t, p))
    for putters, takers in ((1, 1), (4, 4)):
        r = med(["--phase", "mixed", "--duration", SECS, "--batch", "100",
                 "--putters", str(putters), "--takers", str(takers)])
        print(row(f"mixed, {putters} putter(s) + {takers} taker(s) "
                  f"({r['events_per_sec'] / FLUME['mixed']:.1f}× Flume's 31,000/s)", r, p))
    r = med(["--channel", "memory", "--phase", "mixed", "--duration", SECS, "--batch", "100",
             "--putters", "2", "--takers", "2"])
    print(row("memory channel, mixed 2 + 2, batch 100 (harness ceiling, no disk)", r, p))
    print()

    print("### Reopen and checkpoint pause\n")
    r = med(["--phase", "put", "--events", "1000000", "--batch", "1000", "--putters", "2", "--reopen", "--drop-caches"],
            key=lambda r: r["reopen"]["with_checkpoint_secs"])
    o = r["reopen"]
    print("| backlog | log MB | page cache | reopen with checkpoint s | full replay s | replay MB/s |")
    print("|---|---|---|---|---|---|")
    cache = "dropped" if o["caches_dropped"] else "warm"
    print(f"| {o['backlog_events']:,} × 1 KiB | {o['log_bytes'] / 1e6:,.0f} | {cache} | {o['with_checkpoint_secs']:.3f} | "
          f"{o['full_replay_secs']:.3f} | {o['replay_mb_per_sec']:,.0f} |\n")
    r = med(["--phase", "put", "--duration", SECS, "--batch", "100", "--putters", "4",
             "--checkpoint-every-ms", "500"],
            key=lambda r: r["phases"][0]["checkpoints"]["longest_commit_during_checkpoint_us"])
    c = r["phases"][0]["checkpoints"]
    print("| checkpoints | longest checkpoint µs | longest commit during a checkpoint µs | longest other commit µs |")
    print("|---|---|---|---|")
    print(f"| {c['count']} | {c['longest_checkpoint_us']:,.0f} | {c['longest_commit_during_checkpoint_us']:,.0f} | "
          f"{c['longest_commit_otherwise_us']:,.0f} |")


if __name__ == "__main__":
    sys.exit(main())
