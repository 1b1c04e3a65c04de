#!/usr/bin/env python3
"""A/B of builds (profiles) on the peers' W1 (200 B, 1 KiB) and W2: each round runs
`../shared/peers/run.py --tools sluice --workloads w1,w2 --rounds 1` once per build, the builds
rotated round by round, each run's JSON kept in OUT (a rerun skips the runs already there). Then
prints each build's medians (events/s, CPU µs per event, peak RSS) and, per later build, the
medians of its per-round ratios to the first build. Run it with `nice -n -10` on a shared machine.

usage: benches/profile_ab.py ROUNDS OUT LABEL=BIN ...
  e.g. nice -n -10 python3 benches/profile_ab.py 5 /tmp/ab release=target/release/sluice dist=target/dist/sluice"""
import glob, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The peers' harness beside the checkout (../shared/peers), or where PEERS_RUN says.
RUN = os.environ.get("PEERS_RUN", os.path.join(HERE, "..", "..", "shared", "peers", "run.py"))
KEYS = ["W1/200", "W1/1024", "W2"]


def run_rounds(rounds, out, specs):
    os.makedirs(out, exist_ok=True)
    for r in range(rounds):
        for label, binary in specs[r % len(specs):] + specs[:r % len(specs)]:
            dst = os.path.join(out, "r%d-%s.json" % (r, label))
            if os.path.exists(dst):
                continue
            load = open("/proc/loadavg").read().split()[:3]
            print("round %d %s (load %s)" % (r, label, " ".join(load)), flush=True)
            subprocess.run([sys.executable, RUN, "--sluice", os.path.abspath(binary), "--tools", "sluice",
                            "--workloads", "w1,w2", "--w1-sizes", "200,1024", "--rounds", "1",
                            "--work", os.path.join(out, "work"), "--out", dst],
                           check=False, stdout=subprocess.DEVNULL)


def figures(path):
    """KEY -> (events/s, CPU µs per event, peak RSS MiB) of one run."""
    with open(path) as f:
        d = json.load(f)
    got = {}
    for r in d.get("w1", []):
        if "events_per_s" in r:
            got["W1/%d" % r["size"]] = (r["events_per_s"], r["cpu_us_per_event"], r["rss_kib"] / 1024)
    for r in d.get("w2", []):
        if "events_per_s" in r:
            rss = max(r["edge_rss_kib"] or 0, r["collector_rss_kib"] or 0) / 1024
            got["W2"] = (r["events_per_s"], r["cpu_us_per_event"], rss)
    return got


def summarise(out, labels):
    runs = {}
    for label in labels:
        runs[label] = {}
        for p in glob.glob(os.path.join(out, "r*-%s.json" % label)):
            runs[label][int(os.path.basename(p)[1:].split("-")[0])] = figures(p)
    for label in labels:
        for k in KEYS:
            v = [runs[label][r][k] for r in sorted(runs[label]) if k in runs[label][r]]
            if v:
                print("%-8s %-8s events/s %9.0f (%s)  CPU µs/event %.2f (%s)  peak RSS %.1f MiB" % (
                    label, k, statistics.median(x[0] for x in v), " ".join("%.0f" % x[0] for x in v),
                    statistics.median(x[1] for x in v), " ".join("%.2f" % x[1] for x in v), max(x[2] for x in v)))
    base = labels[0]
    for label in labels[1:]:
        for k in KEYS:
            both = [r for r in runs[label] if k in runs[label][r] and k in runs[base].get(r, {})]
            e = [runs[label][r][k][0] / runs[base][r][k][0] for r in both]
            c = [runs[label][r][k][1] / runs[base][r][k][1] for r in both]
            if e:
                print("%s ÷ %s %-8s events/s %.2f (%s)  CPU per event %.2f (%s)" % (
                    label, base, k, statistics.median(e), " ".join("%.2f" % x for x in e),
                    statistics.median(c), " ".join("%.2f" % x for x in c)))


def main():
    rounds, out = int(sys.argv[1]), sys.argv[2]
    specs = [s.split("=", 1) for s in sys.argv[3:]]
    run_rounds(rounds, out, specs)
    summarise(out, [label for label, _ in specs])


if __name__ == "__main__":
    main()
