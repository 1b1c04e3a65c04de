#!/usr/bin/env python3
"""The long outage at the edge (issue 81), Sluice next to Fluent Bit.

    python3 benches/outage.py --sluice target/release/sluice [--tools sluice,fluent-bit] [--quick]
        [--rate 10000] [--rotate-mb 50] [--keep 3] [--warm 30] [--outage 300] [--after 120]
        [--capacity 600000] [--channel-bytes 512m] [--retention 1.5g] [--drain-timeout 300] [--out o.json]

A writer process appends lines of 200-500 B (random length; each carries `seq=` a unique number
and `wt=` its write time) at --rate lines/s to LOGS/app.log and rotates it by size (app.log ->
app.log.1 -> ... -> app.log.KEEP, the oldest deleted). The edge tails it into its durable buffer
and forwards with acknowledgements to a collector that writes a file:
  Sluice      TAILDIR (app\\.log.*, spoolBytes = --retention) -> file channel (capacity,
              capacityBytes = --channel-bytes) -> avro -> collector: avro -> file channel -> file_roll
  Fluent Bit  tail (app.log, a DB) -> storage.type filesystem -> forward (require_ack_response,
              storage.total_limit_size = --channel-bytes + --retention) -> collector: forward -> file
Timeline: --warm s steady; the collector stopped (SIGTERM) for --outage s; the edge killed -9 in
the middle of the outage and started again 1 s later; the collector back; the writer goes on for
--after s, then stops; the run ends once every line written was delivered or --drain-timeout s
after the writer stopped. The benchmark tails the collector's output (every 100 ms: the
resolution of the latencies) and counts each line's copies; it samples the edge's buffer
directories (and deleted files it holds open) and its metrics every second.
Per tool: written, delivered once, duplicated, lost (written - delivered), lost counted by the
tool (Sluice: SOURCE.r1.LinesLostUnreadCount; Fluent Bit: the forward output's dropped_records,
summed over both edge processes), peak disk (÷ its bound), the drain rate after the outage (all
lines delivered from the collector's return until the last line written before it arrived) ÷
--rate, the warm phase's latency p99 and the longest delay of a line written after the outage.
Processes are started here and ended by their PID only; every wait is bounded; loopback only.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from outage_parts import FluentBit, Receiver, Sluice, peers, size_arg, writer_main  # noqa: E402

# ---------------------------------------------------------------- one run


class Sampler:
    """Every second: the edge's buffer bytes (channel or storage, spool, deleted files held open)
    and its loss counter (kept per edge process)."""

    def __init__(self, tool):
        self.tool = tool
        self.samples = []
        self.lost = [None]
        self.stopped = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def new_edge(self):
        self.lost.append(None)

    def sample(self):
        ch, spool, held = self.tool.disk()
        self.samples.append([round(time.time(), 1), ch, spool, held])
        try:
            self.lost[-1] = self.tool.lost_counted()
        except Exception:  # noqa: the edge is starting, dead or busy; the next second reads it
            pass

    def _loop(self):
        while not self.stopped:
            self.sample()
            time.sleep(1.0)

    def stop(self):
        self.stopped = True
        self.th.join(30)
        self.sample()


def sleep_until(t):
    while time.time() < t:
        time.sleep(min(0.2, max(0.0, t - time.time())))


def start_writer(a, tool, t0, secs):
    argv = [sys.executable, os.path.abspath(__file__), "--writer", "--logs", tool.logs, "--t0", repr(t0),
            "--secs", str(secs), "--rate", str(a.rate), "--rotate-mb", str(a.rotate_mb), "--keep", str(a.keep),
            "--seed", str(a.seed)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)


def wait_started(tool, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            tool.lost_counted()
            return True
        except Exception:  # noqa: not up yet
            time.sleep(0.1)
    return False


def run_one(tool, a):
    """The timeline of the module's doc for one tool; returns its figures."""
    marks = {}
    secs = a.warm + a.outage + a.after
    n_max = int(a.rate * (secs + 5) * 1.05) + 1000
    col = tool.start_collector()
    if not peers.wait_port(tool.port, 30):
        raise RuntimeError("%s: the collector did not open port %d (see %s)" % (tool.name, tool.port, tool.cwork))
    # The application runs before the edge starts: its log exists (Fluent Bit's tail would see
    # a file made later only at its next scan, refresh_interval, 60 s).
    open(os.path.join(tool.logs, "app.log"), "ab").close()
    tool.start_edge()
    if not wait_started(tool):
        raise RuntimeError("%s: the edge's metrics did not answer (see %s)" % (tool.name, tool.ework))
    t0 = time.time() + 0.5
    # The warm phase's latency: lines written from 5 s after the start to 5 s before the
    # collector stops (those written just before it wait for the outage's end).
    margin = min(5.0, a.warm / 3)
    marks["warm_from"], marks["warm_to"] = t0 + margin, t0 + a.warm - margin
    rx = Receiver(tool.out_glob(), n_max, marks)
    sm = Sampler(tool)
    w = start_writer(a, tool, t0, secs)
    edge2 = None
    try:
        sleep_until(t0 + a.warm)
        marks["stop"] = time.time()
        col.stop()
        log("%s: collector stopped" % tool.name)
        sleep_until(marks["stop"] + a.outage / 2)
        marks["kill"] = time.time()
        tool.edge.kill9()
        time.sleep(1.0)
        sm.new_edge()
        t = time.time()
        edge2 = tool.start_edge()
        wait_started(tool)
        marks["edge_back_s"] = round(time.time() - t, 2)
        log("%s: edge killed -9 and restarted (answering after %.2f s)" % (tool.name, marks["edge_back_s"]))
        sleep_until(marks["stop"] + a.outage)
        marks["back"] = time.time()
        col = tool.start_collector()
        peers.wait_port(tool.port, 30)
        log("%s: collector back" % tool.name)
        out, _ = w.communicate(timeout=secs + 60)
        written = int(out.decode().strip().splitlines()[-1])
        marks["writer_done"] = time.time()
        log("%s: writer done, %d lines" % (tool.name, written))
        deadline = time.time() + a.drain_timeout
        seen, quiet_since = rx.unique, time.time()
        while rx.unique < written and time.time() < deadline:
            time.sleep(0.5)
            if rx.unique != seen:
                seen, quiet_since = rx.unique, time.time()
            elif time.time() - quiet_since > a.idle_end:
                break  # lines are missing and nothing arrives any more
        marks["end"] = time.time()
    finally:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
            w.wait(10)
        sm.stop()
        rx.stop()
        for p in (edge2 or tool.edge, col):
            if p is not None:
                p.stop()
    return figures(tool, a, rx, sm, marks, written)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def figures(tool, a, rx, sm, marks, written):
    b = tool.bounds()
    peak_ch = max(s[1] for s in sm.samples)
    peak_total = max(s[1] + s[2] + s[3] for s in sm.samples)
    t_back = marks["back"]
    t_end = rx.last_old_arrival if rx.last_old_arrival and rx.last_old_arrival > t_back else None
    drained = sum(v for k, v in rx.per_second.items() if t_back <= k + 0.5 <= (t_end or 0))
    drain_rate = drained / (t_end - t_back) if t_end else None
    lost_counted = tool.lost_total([x for x in sm.lost if x is not None])
    # Steady again: lines written once the backlog was gone (a second after the last old line).
    steady = [lat for wt, lat in zip(rx.fresh_wt, rx.fresh_lat) if t_end and wt > t_end + 1]
    r = {
        "tool": tool.name, "written": written, "delivered": rx.unique, "duplicated": rx.dups,
        "lost": written - rx.unique, "lost_counted": lost_counted,
        "peak_channel_mb": peak_ch / 1e6, "peak_total_mb": peak_total / 1e6,
        "channel_bound_mb": b["channel"] / 1e6 if b["channel"] else None,
        "total_bound_mb": b["total"] / 1e6 if b["total"] else None,
        "peak_channel_x": peak_ch / b["channel"] if b["channel"] else None,
        "peak_total_x": peak_total / b["total"] if b["total"] else None,
        "drain_s": round(t_end - t_back, 1) if t_end else None,
        "drain_lines_per_s": drain_rate, "drain_x_rate": drain_rate / a.rate if drain_rate else None,
        "warm_p99_s": pct(rx.warm_lat, 0.99), "warm_max_s": max(rx.warm_lat) if rx.warm_lat else None,
        "fresh_max_s": rx.fresh_max if rx.fresh_lat else None, "fresh_p99_s": pct(rx.fresh_lat, 0.99),
        "after_drain_p99_s": pct(steady, 0.99), "after_drain_max_s": max(steady) if steady else None,
        "edge_back_s": marks.get("edge_back_s"), "beyond": rx.beyond,
        "drained_all": rx.unique >= written, "after_writer_s": round(marks["end"] - marks["writer_done"], 1),
        "disk_samples": sm.samples, "arrivals_per_s": sorted(rx.per_second.items()),
        "marks": marks, "channel_capacity_bytes_metric": getattr(tool, "seen_capacity_bytes", None),
    }
    return r


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


# ---------------------------------------------------------------- the table and main

ROWS = [
    ("lines written", "written", "{:,}"),
    ("delivered once", "delivered", "{:,}"),
    ("duplicated", "duplicated", "{:,}"),
    ("lost (written - delivered)", "lost", "{:,}"),
    ("lost counted by the tool", "lost_counted", "{:,}"),
    ("peak disk, buffer dirs (MB)", "peak_channel_mb", "{:,.0f}"),
    ("  ÷ its byte bound", "peak_channel_x", "{:.2f}"),
    ("peak disk + spool + held deleted (MB)", "peak_total_mb", "{:,.0f}"),
    ("  ÷ the whole budget", "peak_total_x", "{:.2f}"),
    ("drain after the outage (lines/s)", "drain_lines_per_s", "{:,.0f}"),
    ("  ÷ the input rate", "drain_x_rate", "{:.2f}"),
    ("backlog drained in (s)", "drain_s", "{:.1f}"),
    ("warm latency p99 (s)", "warm_p99_s", "{:.2f}"),
    ("warm latency max (s)", "warm_max_s", "{:.2f}"),
    ("longest delay of a fresh line (s)", "fresh_max_s", "{:.1f}"),
    ("latency p99 once drained (s)", "after_drain_p99_s", "{:.2f}"),
    ("edge answering after the restart (s)", "edge_back_s", "{:.2f}"),
]


def table(results, a):
    head = "| | " + " | ".join(r["tool"] for r in results) + " |"
    lines = ["%d lines/s of 200-500 B, rotation at %s MB keeping %d, warm %d s, outage %d s (kill -9 at %d s), "
             "after %d s; channel %d events, %d MB; retention %d MB" % (
                 a.rate, a.rotate_mb, a.keep, a.warm, a.outage, a.outage // 2, a.after, a.capacity,
                 a.channel_bytes >> 20, a.retention >> 20), "", head, "|---" * (len(results) + 1) + "|"]
    for label, key, f in ROWS:
        cells = []
        for r in results:
            v = r.get(key)
            cells.append("-" if v is None else f.format(v))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines)


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", default="target/release/sluice")
    ap.add_argument("--fluent-bit", default=os.path.join(peers.PEERS, "fluent-bit"))
    ap.add_argument("--tools", default="sluice,fluent-bit")
    ap.add_argument("--quick", action="store_true", help="smoke: rate 2000, rotate 5 MB, warm 10, outage 40, "
                    "after 10, capacity 40000 events (20 s), drain-timeout 120")
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--rotate-mb", type=float, default=50)
    ap.add_argument("--keep", type=int, default=3)
    ap.add_argument("--warm", type=int, default=30)
    ap.add_argument("--outage", type=int, default=300)
    ap.add_argument("--after", type=int, default=120, help="s the writer goes on after the collector is back")
    ap.add_argument("--capacity", type=int, default=600000, help="the edge channel's events")
    ap.add_argument("--channel-bytes", type=size_arg, default=size_arg("512m"),
                    help="Sluice capacityBytes (0: off); Fluent Bit's budget includes it")
    ap.add_argument("--retention", type=size_arg, default=size_arg("1.5g"), help="Sluice spoolBytes")
    ap.add_argument("--drain-timeout", type=int, default=300)
    ap.add_argument("--idle-end", type=int, default=60, help="after the writer: end once no new line came for this many s")
    ap.add_argument("--fb-scheduler-cap", type=int, default=30, help="Fluent Bit's longest retry wait, s")
    ap.add_argument("--work", default="/work/k-outage")
    ap.add_argument("--seed", type=int, default=81)
    ap.add_argument("--out", default="")
    ap.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--logs", help=argparse.SUPPRESS)
    ap.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--secs", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:  # flags given explicitly win
        quick = {"rate": 2000, "rotate_mb": 5, "warm": 10, "outage": 40, "after": 10, "capacity": 40000,
                 "drain_timeout": 120}
        for k, v in quick.items():
            if getattr(a, k) == ap.get_default(k):
                setattr(a, k, v)
    return a


def main():
    a = parse()
    if a.writer:
        return writer_main(a)
    os.makedirs(a.work, exist_ok=True)
    # A private copy: other builds may replace target/release/sluice while this runs.
    private = os.path.join(a.work, "sluice-bin")
    shutil.copy2(a.sluice, private)
    a.sluice = private
    a.sluice_version = subprocess.run([private, "--version"], capture_output=True, text=True).stdout.split("\n")[1]
    results = []
    for name in a.tools.split(","):
        base = peers.fresh(os.path.join(a.work, name))
        tool = {"sluice": Sluice, "fluent-bit": FluentBit}[name](a, base)
        log("%s: starting in %s" % (name, base))
        r = run_one(tool, a)
        results.append(r)
        log("%s: %s" % (name, {k: v for k, v in r.items() if k != "disk_samples"}))
        if a.out:
            with open(a.out, "w") as f:
                json.dump({"args": {k: v for k, v in vars(a).items()}, "results": results}, f, indent=1)
    print(table(results, a))


if __name__ == "__main__":
    main()
