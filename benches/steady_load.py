#!/usr/bin/env python3
"""Steady load: W2 of ../shared/peers/run.py (tail a file -> durable buffer -> acknowledged hop ->
durable buffer -> a file) fed at one fixed rate for every tool, so latency, CPU per event and
memory are compared at equal work rather than at saturation.

    python3 benches/steady_load.py --sluice target/release/sluice [--rate N] [--secs 30] [--rounds 3]
        [--input-dir /dev/shm/steady] [--sluice-extra 'channels.c1.checkpointInterval = 10000']

The rate defaults to half of Fluent Bit's W2 maximum, measured first in the same run (one
saturated W2 round of Fluent Bit through run.py's own w2_run). Each round then appends lines
to the edge's input file every 5 ms at that rate for --secs seconds, each line numbered; a
poller reads the output files every 2 ms and stamps each number when it first shows up.
Latency is that stamp minus the time its write() returned: p50, p99, p999 and the maximum,
with the poller's 2 ms period as its resolution; `slow_windows` says when the slow lines were
written (the 20 slowest 100 ms windows whose slowest line took over 50 ms). CPU per event is both agents' CPU (utime +
stime from /proc) over the lines delivered; RSS is each agent's VmHWM. Rounds alternate the
tools, each after a sync() of what the round before left unsynced; figures are per round and
medians. Loopback only; every wait is bounded.
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "peers"))
sys.path.insert(0, PEERS)
import run as peers  # noqa: E402  (../shared/peers/run.py: tools, configs, process helpers)

TICK_S = 0.005
POLL_S = 0.002


class Arrivals:
    """Polls the output files and stamps the first time each line number shows up."""

    def __init__(self, pattern, n):
        self.pattern = pattern
        self.seen = [0.0] * n
        self.count = 0
        self.offsets = {}
        self.stopped = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def _poll(self):
        now = time.time()
        for path in peers.glob.glob(self.pattern):
            off = self.offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(off)
                    data = f.read()
            except OSError:
                continue
            last = data.rfind(b"\n")
            if last < 0:
                continue
            for m in peers.SEQ_RE.finditer(data, 0, last + 1):
                i = int(m.group(1))
                if i < len(self.seen) and self.seen[i] == 0.0:
                    self.seen[i] = now
                    self.count += 1
            self.offsets[path] = off + last + 1

    def _loop(self):
        while not self.stopped:
            self._poll()
            time.sleep(POLL_S)

    def stop(self):
        self.stopped = True
        self.th.join(5)
        self._poll()


def pct(xs, q):
    if not xs:
        return None
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def steady_run(tool, args, rate, rnd):
    base = peers.fresh(os.path.join(args.work, "steady-" + tool.name))
    indir = peers.fresh(os.path.join(args.input_dir or base, "in"))
    outdir = peers.fresh(os.path.join(base, "out"))
    cwork = peers.fresh(os.path.join(base, "collector"))
    ework = peers.fresh(os.path.join(base, "edge"))
    n = int(rate * args.secs)
    res = {"tool": tool.name, "round": rnd, "rate": rate, "n": n}
    # What the previous round's tool left unsynced (Fluent Bit syncs nothing) would otherwise
    # be written back once 30 s old (vm.dirty_expire_centisecs), in this round's measurement,
    # and every fdatasync of the tool measured would queue behind it.
    os.sync()
    time.sleep(args.settle)
    port = peers.free_port()
    col = tool.w2_collector(cwork, port, outdir)
    edge = None
    written = [0.0] * n
    try:
        if not peers.wait_port(port, 30):
            raise RuntimeError("%s collector did not open its port" % tool.name)
        path = os.path.join(indir, "in.log")
        f = open(path, "ab")
        edge = tool.w2_edge(ework, port, indir)
        time.sleep(args.warmup)
        col.mark()
        edge.mark()
        arrivals = Arrivals(tool.out_glob(outdir), n)
        t0 = time.time()
        i = 0
        while i < n:
            due = min(n, int((time.time() - t0) * rate) + 1)
            if due > i:
                f.write(b"".join(peers.file_line(j, args.size) for j in range(i, due)))
                f.flush()
                now = time.time()
                for j in range(i, due):
                    written[j] = now
                i = due
            time.sleep(TICK_S)
        f.close()
        deadline = time.time() + args.drain
        while arrivals.count < n and time.time() < deadline:
            time.sleep(0.05)
        arrivals.stop()
        res["edge_cpu_s"] = edge.cpu_since_mark()
        res["collector_cpu_s"] = col.cpu_since_mark()
        res["edge_rss_kib"] = peers.hwm_kib(edge.pid)
        res["collector_rss_kib"] = peers.hwm_kib(col.pid)
        lat = sorted((arrivals.seen[j] - written[j]) * 1000 for j in range(n) if arrivals.seen[j])
        res["delivered"] = len(lat)
        res["cpu_us_per_event"] = ((res["edge_cpu_s"] or 0) + (res["collector_cpu_s"] or 0)) * 1e6 / max(len(lat), 1)
        for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99), ("p999_ms", 0.999)):
            res[name] = pct(lat, q)
        res["max_ms"] = lat[-1] if lat else None
        res["slow_windows"] = slow_windows(written, arrivals.seen, t0)
    finally:
        if edge is not None:
            edge.stop()
        col.stop()
    return res


def slow_windows(written, seen, t0, window_s=0.1, slow_ms=50.0):
    """Where the slow lines were: the 20 slowest 100 ms windows of write time whose slowest line
    took more than 50 ms, as [seconds after the first line, that line's latency in ms]."""
    worst = {}
    for w, s in zip(written, seen):
        if s:
            k = int((w - t0) / window_s)
            worst[k] = max(worst.get(k, 0.0), (s - w) * 1000)
    slow = sorted(((v, k) for k, v in worst.items() if v > slow_ms), reverse=True)[:20]
    return [[round(k * window_s, 1), round(v, 1)] for v, k in sorted(slow, key=lambda x: x[1])]


def fluent_bit_max(args):
    fb = peers.FluentBit(args)
    r = peers.w2_run(fb, args, args.w2_n, args.size)
    return r["events_per_s"]


def summarize(results, names):
    lines = ["steady load at %s lines/s for %s s (%d B lines); medians over rounds (range)" % (
        peers.fmt(results["rate"]), results["secs"], results["size"]),
        "%-12s %24s %24s %24s %14s %9s %9s %11s" % ("tool", "p50 ms", "p99 ms", "p999 ms", "CPU us/event",
                                                    "edge MiB", "coll MiB", "delivered")]
    for t in names:
        rs = [r for r in results["rounds"] if r["tool"] == t and "p50_ms" in r]
        if not rs:
            continue

        def col(key, d=1):
            xs = [r[key] for r in rs if r.get(key) is not None]
            if not xs:
                return "-"
            return "%s (%s-%s)" % (peers.fmt(statistics.median(xs), d), peers.fmt(min(xs), d), peers.fmt(max(xs), d))
        lines.append("%-12s %24s %24s %24s %14s %9s %9s %11s" % (
            t, col("p50_ms"), col("p99_ms"), col("p999_ms"), peers.fmt(statistics.median(r["cpu_us_per_event"] for r in rs), 2),
            peers.fmt(max((r["edge_rss_kib"] or 0) / 1024 for r in rs)),
            peers.fmt(max((r["collector_rss_kib"] or 0) / 1024 for r in rs)),
            "/".join("%d" % r["delivered"] for r in rs)))
    return "\n".join(lines)


def with_extra_keys(extra):
    """Appends `extra` ("key = value; ...", without the agent's name) to both Sluice agents'
    configs as the harness renders them (edge `e`, collector `c`)."""
    keys = [kv.strip() for kv in extra.split(";") if kv.strip()]
    render = peers.render

    def render_extra(template, dest, **kw):
        out = render(template, dest, **kw)
        agent = {"e.properties": "e", "c.properties": "c"}.get(os.path.basename(dest))
        if agent and template.startswith("sluice-"):
            with open(out, "a") as f:
                f.write("".join("\n%s.%s" % (agent, kv) for kv in keys) + "\n")
        return out
    peers.render = render_extra


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--fluent-bit", default=os.path.join(peers.PEERS, "fluent-bit"))
    ap.add_argument("--rsyslogd", default="/usr/sbin/rsyslogd")
    ap.add_argument("--syslog-ng-root", default=os.path.join(peers.PEERS, "syslog-ng-root"))
    ap.add_argument("--tools", default="sluice,fluent-bit")
    ap.add_argument("--rate", type=float, default=0, help="lines/s (default: half of Fluent Bit's W2 maximum)")
    ap.add_argument("--secs", type=float, default=30)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds between starting the edge and the first line")
    ap.add_argument("--drain", type=float, default=60, help="seconds to wait for the last lines")
    ap.add_argument("--w2-n", type=int, default=1000000, help="lines of the saturated Fluent Bit run")
    ap.add_argument("--work", default=os.path.join(peers.PEERS, "work"))
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--w2-timeout", type=float, default=300)
    ap.add_argument("--out", default="steady.json")
    ap.add_argument("--input-dir", default="", help="where the tailed input file is written (default: "
                    "beside the agents' files; /dev/shm keeps the kernel's writeback of it off their disk)")
    ap.add_argument("--sluice-extra", default="", help="keys for both Sluice agents, e.g. "
                    "'channels.c1.checkpointInterval = 10000; sinks.k1.batch-size = 500'")
    args = ap.parse_args()
    if args.sluice_extra:
        with_extra_keys(args.sluice_extra)
    os.makedirs(args.work, exist_ok=True)
    names = args.tools.split(",")
    tools = [peers.TOOLS[t](args) for t in names]
    rate = args.rate
    results = {"secs": args.secs, "size": args.size, "rounds": []}
    if rate <= 0:
        fb_max = fluent_bit_max(args)
        results["fluent_bit_max"] = fb_max
        rate = fb_max / 2
        print("Fluent Bit W2 maximum %s lines/s: steady rate %s" % (peers.fmt(fb_max), peers.fmt(rate)), flush=True)
    results["rate"] = rate
    for rnd in range(args.rounds):
        for t in tools[rnd % len(tools):] + tools[:rnd % len(tools)]:
            try:
                r = steady_run(t, args, rate, rnd)
            except Exception as e:  # noqa: a failed round is reported, not fatal
                r = {"tool": t.name, "round": rnd, "error": str(e)}
            results["rounds"].append(r)
            print("[steady r%d %s] %s" % (rnd, t.name, " ".join(
                "%s=%s" % (k, peers.fmt(v, 2) if isinstance(v, float) else v) for k, v in r.items()
                if k not in ("tool", "round", "rate"))), flush=True)
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
    print(summarize(results, names))


if __name__ == "__main__":
    main()
