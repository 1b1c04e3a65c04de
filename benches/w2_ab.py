#!/usr/bin/env python3
"""A/B of W2 by hand: runs benches/w2_hand.py for each build in turn, ROUNDS times, and prints
each build's runs and medians (CPU µs per event, both agents; events/s). Alternating builds
within a round keeps the machine's drift out of the comparison.

usage: benches/w2_ab.py ROUNDS INPUT LABEL=BIN[:VAR=VALUE,...] ...
  e.g. benches/w2_ab.py 6 ../peers/work/w2-input-1000000-200.log main=/tmp/main new=target/release/sluice"""
import os, re, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
rounds, src, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
runs = {}
for r in range(rounds):
    for spec in specs:
        label, rest = spec.split("=", 1)
        binary, _, extra = rest.partition(":")
        env = dict(os.environ)
        for kv in filter(None, extra.split(",")):
            k, v = kv.split("=", 1)
            env[k] = v
        out = subprocess.run([sys.executable, os.path.join(HERE, "w2_hand.py"), binary, src],
                             env=env, capture_output=True, text=True).stdout.strip().splitlines()
        line = out[-1] if out else ""
        print(label, line, flush=True)
        m = re.search(r"ev/s=(\d+).*cpu us/ev=([\d.]+)", line)
        if m:
            runs.setdefault(label, []).append((float(m.group(2)), int(m.group(1))))
for label, v in runs.items():
    cpu = sorted(c for c, _ in v)
    print("%s: CPU us/event median %.2f (%s), events/s median %d" % (
        label, statistics.median(cpu), " ".join("%.2f" % c for c in cpu),
        statistics.median(e for _, e in v)))
