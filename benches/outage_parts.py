#!/usr/bin/env python3
"""The parts of benches/outage.py (issue 81's long outage): the writer (run as its own process),
the receiver that tails the collector's output, and the two tools' edge and collector
configurations with how their buffer's disk and loss counter are read."""
import glob
import os
import random
import re
import signal
import sys
import threading
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "shared", "peers")))
import run as peers  # noqa: E402  (../shared/peers/run.py: Proc, render, ports, configs)

LINE_RE = re.compile(rb"seq=(\d{12}) wt=(\d+\.\d{6})")
POLL_S = 0.1
UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def size_arg(s):
    """Bytes from `1.5g`, `512m`, `200m` or a plain number (powers of 1024)."""
    s = s.strip().lower()
    if s and s[-1] in UNITS:
        return int(float(s[:-1]) * UNITS[s[-1]])
    return int(s)


# ---------------------------------------------------------------- the writer (its own process)


def writer_main(a):
    """Appends numbered, timed lines at a.rate from epoch a.t0 for a.secs s; rotates by size.
    Prints the number of lines written when done (or on SIGTERM)."""
    rnd = random.Random(a.seed)
    pad = b"abcdefghijklmnopqrstuvwxyz0123456789" * 16
    path = os.path.join(a.logs, "app.log")
    rotate = int(a.rotate_mb * (1 << 20))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    f = open(path, "ab")
    size, i = 0, 0
    while not stop:
        now = time.time()
        if now >= a.t0 + a.secs:
            break
        due = int((now - a.t0) * a.rate) + 1
        if due > i:
            wt = b"%.6f" % now
            buf = []
            for j in range(i, due):
                head = b"2026-11-28T16:00:00Z INFO app-1 seq=%012d wt=%s msg=" % (j, wt)
                n = rnd.randint(200, 500) - len(head) - 1
                buf.append(head + pad[:n] + b"\n")
            data = b"".join(buf)
            f.write(data)
            f.flush()
            size += len(data)
            i = due
            if size >= rotate:
                f.close()
                rotate_files(a.logs, a.keep)
                f = open(path, "ab")
                size = 0
        time.sleep(0.01)
    f.close()
    print(i, flush=True)


def rotate_files(logs, keep):
    """app.log.KEEP deleted, app.log.k -> app.log.k+1, app.log -> app.log.1 (logrotate's create)."""
    base = os.path.join(logs, "app.log")
    if os.path.exists("%s.%d" % (base, keep)):
        os.unlink("%s.%d" % (base, keep))
    for k in range(keep - 1, 0, -1):
        if os.path.exists("%s.%d" % (base, k)):
            os.rename("%s.%d" % (base, k), "%s.%d" % (base, k + 1))
    os.rename(base, base + ".1")


# ---------------------------------------------------------------- the receiver


class Receiver:
    """Tails the collector's output files; stamps each line number when first seen."""

    def __init__(self, pattern, n_max, marks):
        self.pattern, self.marks = pattern, marks
        self.copies = bytearray(n_max)
        self.offsets = {}
        self.unique = self.dups = self.beyond = 0
        self.warm_lat = array("d")
        self.fresh_max = 0.0
        self.fresh_lat = array("d")
        self.fresh_wt = array("d")
        self.last_old_arrival = None
        self.per_second = {}
        self.stopped = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def poll(self):
        now = time.time()
        for path in glob.glob(self.pattern):
            off = self.offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(off)
                    data = f.read(64 << 20)
            except OSError:
                continue
            last = data.rfind(b"\n")
            if last < 0:
                continue
            self.offsets[path] = off + last + 1
            self._count(LINE_RE.findall(data, 0, last + 1), now)

    def _count(self, found, now):
        copies, m = self.copies, self.marks
        new = 0
        for s, w in found:
            i = int(s)
            if i >= len(copies):
                self.beyond += 1
                continue
            c = copies[i]
            if c:
                self.dups += 1
                if c < 255:
                    copies[i] = c + 1
                continue
            copies[i] = 1
            new += 1
            wt = float(w)
            lat = now - wt
            if m["warm_from"] <= wt < m["warm_to"]:
                self.warm_lat.append(lat)
            if wt < m.get("back", 1e18):
                self.last_old_arrival = now
            else:
                self.fresh_lat.append(lat)
                self.fresh_wt.append(wt)
                self.fresh_max = max(self.fresh_max, lat)
        self.unique += new
        k = int(now)
        self.per_second[k] = self.per_second.get(k, 0) + new

    def _loop(self):
        while not self.stopped:
            self.poll()
            time.sleep(POLL_S)

    def stop(self):
        self.stopped = True
        self.th.join(30)
        self.poll()


# ---------------------------------------------------------------- the tools

SLUICE_EDGE = """# issue 81 edge: TAILDIR (spool) -> file channel (event and byte bound) -> avro
e.sources = r1
e.channels = c1
e.sinks = k1
e.sources.r1.type = TAILDIR
e.sources.r1.filegroups = f1
e.sources.r1.filegroups.f1 = {LOGS}/app\\\\.log.*
e.sources.r1.positionFile = {WORK}/pos/taildir_position.json
e.sources.r1.spoolBytes = {RETENTION}
e.sources.r1.channels = c1
e.channels.c1.type = file
e.channels.c1.checkpointDir = {WORK}/checkpoint
e.channels.c1.dataDirs = {WORK}/data
e.channels.c1.capacity = {CAPACITY}
{BYTES_KEY}
e.sinks.k1.type = avro
e.sinks.k1.hostname = 127.0.0.1
e.sinks.k1.port = {FWDPORT}
e.sinks.k1.channel = c1
"""

FB_EDGE = """# issue 81 edge: tail (a DB) -> filesystem storage -> forward with acks, total_limit_size
[SERVICE]
    flush            1
    log_level        info
    http_server      on
    http_listen      127.0.0.1
    http_port        {MPORT}
    storage.path     {WORK}/storage
    storage.sync     full
    storage.checksum off
    scheduler.cap    {SCHED_CAP}

[INPUT]
    name           tail
    path           {LOGS}/app.log
    db             {WORK}/tail.db
    read_from_head true
    storage.type   filesystem

[OUTPUT]
    name                     forward
    match                    *
    host                     127.0.0.1
    port                     {FWDPORT}
    require_ack_response     true
    retry_limit              no_limits
    storage.total_limit_size {BUDGET}
"""


def fill(text, **kw):
    for k, v in kw.items():
        text = text.replace("{%s}" % k, str(v))
    return text


def dir_bytes(paths, only_single_link=False):
    """Allocated bytes of the files under `paths` (only those with one link: a spool's own)."""
    total = 0
    for top in paths:
        for root, _, files in os.walk(top):
            for name in files:
                try:
                    st = os.lstat(os.path.join(root, name))
                except OSError:
                    continue
                if not only_single_link or st.st_nlink == 1:
                    total += st.st_blocks * 512
    return total


def held_deleted_bytes(pid):
    """Bytes of deleted files the process holds open (their space cannot be freed)."""
    total = 0
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return 0
    for fd in fds:
        p = "/proc/%d/fd/%s" % (pid, fd)
        try:
            if os.readlink(p).endswith(" (deleted)"):
                st = os.stat(p)
                if st.st_nlink == 0:  # one linked elsewhere (a spool) is counted there
                    total += st.st_blocks * 512
        except OSError:
            continue
    return total


class Tool:
    def __init__(self, args, base):
        self.args, self.base = args, base
        self.ework = os.path.join(base, "edge")
        self.cwork = os.path.join(base, "collector")
        self.out = os.path.join(base, "out")
        self.logs = os.path.join(base, "logs")
        for d in (self.ework, self.cwork, self.out, self.logs):
            os.makedirs(d, exist_ok=True)
        self.port = peers.free_port()
        self.edge = None
        self.mport = None

    def out_glob(self):
        return os.path.join(self.out, "*")


class Sluice(Tool):
    name = "sluice"

    def bounds(self):
        a = self.args
        return {"channel": a.channel_bytes or None, "total": (a.channel_bytes + a.retention) if a.channel_bytes else None}

    def _agent(self, name, conf, work):
        self.mport = peers.free_port()
        return peers.Proc("sluice-" + name, [self.args.sluice, "agent", "-n", name, "-f", conf, "--no-reload-conf",
                                             "-Dflume.monitoring.type=http", "-Dflume.monitoring.port=%d" % self.mport,
                                             "-Dflume.root.logger=INFO,console"], os.path.join(work, "agent.log"))

    def start_collector(self):
        conf = peers.render("sluice-w2-collector.properties", os.path.join(self.cwork, "c.properties"),
                            FWDPORT=self.port, WORK=self.cwork, OUTDIR=self.out)
        cm = self.mport
        p = self._agent("c", conf, self.cwork)
        self.mport = cm
        return p

    def start_edge(self):
        a = self.args
        key = "e.channels.c1.capacityBytes = %d" % a.channel_bytes if a.channel_bytes else ""
        conf = os.path.join(self.ework, "e.properties")
        with open(conf, "w") as f:
            f.write(fill(SLUICE_EDGE, LOGS=self.logs, WORK=self.ework, RETENTION=a.retention, CAPACITY=a.capacity,
                         BYTES_KEY=key, FWDPORT=self.port))
        self.edge = self._agent("e", conf, self.ework)
        return self.edge

    def disk(self):
        ch = dir_bytes([os.path.join(self.ework, "checkpoint"), os.path.join(self.ework, "data")])
        spool = dir_bytes([os.path.join(self.ework, "pos")], only_single_link=True)
        held = held_deleted_bytes(self.edge.pid) if self.edge and self.edge.alive() else 0
        return ch, spool, held

    def lost_counted(self):
        m = peers.http_json("http://127.0.0.1:%d/metrics" % self.mport)
        self.seen_capacity_bytes = m.get("CHANNEL.c1", {}).get("ChannelCapacityBytes")
        return int(m["SOURCE.r1"]["LinesLostUnreadCount"])

    @staticmethod
    def lost_total(per_edge):
        return per_edge[-1] if per_edge else None  # persisted: the last process has the total


class FluentBit(Tool):
    name = "fluent-bit"

    def bounds(self):
        a = self.args
        return {"channel": a.channel_bytes + a.retention, "total": a.channel_bytes + a.retention}

    def _run(self, tag, conf, work):
        return peers.Proc("fluent-bit-" + tag, [self.args.fluent_bit, "-c", conf], os.path.join(work, "fluent-bit.log"))

    def start_collector(self):
        conf = peers.render("fluent-bit-w2-collector.conf", os.path.join(self.cwork, "fb.conf"), FWDPORT=self.port,
                            WORK=self.cwork, OUTDIR=self.out, MPORT=peers.free_port())
        return self._run("collector", conf, self.cwork)

    def start_edge(self):
        a = self.args
        self.mport = peers.free_port()
        conf = os.path.join(self.ework, "fb.conf")
        with open(conf, "w") as f:
            f.write(fill(FB_EDGE, LOGS=self.logs, WORK=self.ework, MPORT=self.mport, FWDPORT=self.port,
                         BUDGET="%dM" % ((a.channel_bytes + a.retention) >> 20), SCHED_CAP=a.fb_scheduler_cap))
        self.edge = self._run("edge", conf, self.ework)
        return self.edge

    def disk(self):
        ch = dir_bytes([os.path.join(self.ework, "storage")])
        held = held_deleted_bytes(self.edge.pid) if self.edge and self.edge.alive() else 0
        return ch, 0, held

    def lost_counted(self):
        m = peers.http_json("http://127.0.0.1:%d/api/v1/metrics" % self.mport)
        return sum(int(v.get("dropped_records", 0)) for v in m.get("output", {}).values())

    @staticmethod
    def lost_total(per_edge):
        return sum(per_edge) if per_edge else None  # counters start at 0 in each process
