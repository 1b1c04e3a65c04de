#!/usr/bin/env python3
"""The functions an agent runs, for the linker's symbol-ordering file
(`build/hot-symbols.txt`, read by build.rs): the code a running agent touches is then a few
contiguous MiB of `.text` instead of pages spread over all of it, each mapping a 64 KiB
fault-around window (docs/performance.md, "Memory").

Runs each workload's agents under `valgrind --tool=callgrind` (which records every function that
ran, however rarely: start, configuration, stop), and lists first what every run ran (an idle
agent's code), then what fewer runs ran, the most instructions first within each. W1's and
W2's agents start as the peers' harness starts them (monitoring server on and read, log at WARN):
  - the README's example (netcat -> file channel -> file_roll), 2,000 lines, stopped by SIGTERM;
  - the peers' W1 (syslog TCP -> file channel -> null), 20,000 lines;
  - the peers' W2 (TAILDIR -> file channel -> avro, avro -> file channel -> file_roll), 20,000 lines,
    twice: as configured, and with no event cache (`-Dsluice.tailCacheTotal=0`), so every take
    reads its events back from the log, as a sink that lags the cache does under full load
    (serialized under valgrind, the agents keep up, and the cache hides that path);
  - `config check` of every example configuration.

usage: benches/hot_symbols.py BIN [BIN ...]     (writes build/hot-symbols.txt; OUT=path elsewhere)
Give it each build whose names differ: a `cargo build --release` binary, a `cargo test --release`
one (its sluice-core has test features, so other symbol hashes) and a `dist` one; their lists
are interleaved. A name a build lacks is skipped by the linker. A minute per build.
`cargo test --release` writes its variant over target/release/sluice: copy the `cargo build
--release` binary aside before building the tests (the test variant is the
target/release/deps/sluice-<hash> that answers --version).
"""
import collections
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
PEERS = os.path.join(ROOT, "..", "shared", "peers", "configs")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=120.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


class Agent:
    """One agent under callgrind, its profile written to OUT/cg.LABEL.PID at exit. With
    `monitored`, as the peers' harness starts it: the HTTP monitoring server on (its JSON, its
    Prometheus text and its health read every half second) and the log at WARN."""

    def __init__(self, binary, out, label, conf, name, cwd, monitored=True, extra=()):
        cmd = ["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no",
               "--compress-pos=no", "--callgrind-out-file=%s/cg.%s.%%p" % (out, label),
               binary, "agent", "-n", name, "-f", conf] + list(extra)
        self.port = free_port() if monitored else None
        if monitored:
            cmd += ["-Dflume.monitoring.type=http", "-Dflume.monitoring.port=%d" % self.port,
                    "-Dflume.root.logger=WARN,console"]
        self.log = open(os.path.join(out, "%s.log" % label), "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)
        self.done = threading.Event()
        self.poller = threading.Thread(target=self.poll, daemon=True)
        if monitored:
            self.poller.start()

    def poll(self):
        while not self.done.wait(0.5):
            for path in ("/metrics", "/prometheus", "/health"):
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5).read()
                except OSError:
                    pass

    def stop(self):
        self.done.set()
        if self.poller.is_alive():
            self.poller.join()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def render(src, dest, **kw):
    t = open(src).read()
    for k, v in kw.items():
        t = t.replace("{%s}" % k, str(v))
    open(dest, "w").write(t)
    return dest


def readme_example(binary, out, work):
    port = free_port()
    conf = os.path.join(work, "a1.properties")
    t = open(os.path.join(ROOT, "examples", "netcat-file-roll.properties")).read()
    open(conf, "w").write(t.replace("port = 44444", "port = %d" % port))
    a = Agent(binary, out, "readme", conf, "a1", work, monitored=False)
    try:
        if not wait_port(port):
            raise SystemExit("the README's example did not listen")
        with socket.create_connection(("127.0.0.1", port), 30) as s:
            f = s.makefile("rb")
            for i in range(2000):
                s.sendall(b"line %d of the README's example\n" % i)
                f.readline()
    finally:
        a.stop()


def w1(binary, out, work, n=20000):
    port = free_port()
    conf = render(os.path.join(PEERS, "sluice-w1.properties"), os.path.join(work, "w1.properties"),
                  PORT=port, WORK=os.path.join(work, "w1"))
    a = Agent(binary, out, "w1", conf, "a1", work)
    try:
        if not wait_port(port):
            raise SystemExit("W1's agent did not listen")
        lines = b"".join(b"<14>Nov 25 07:00:00 loadgen app[4242]: seq=%09d action=GET status=200\n" % i
                         for i in range(n))
        with socket.create_connection(("127.0.0.1", port), 30) as s:
            s.sendall(lines)
        time.sleep(5)
    finally:
        a.stop()


def w2(binary, out, work, n=20000, label="w2", extra=()):
    port = free_port()
    indir, outdir = os.path.join(work, "in"), os.path.join(work, "out")
    os.makedirs(indir)
    os.makedirs(outdir)
    with open(os.path.join(indir, "in.log"), "wb") as f:
        for i in range(n):
            f.write(b"2026-11-25T07:00:00.%03dZ INFO web-1 seq=%09d action=GET status=200\n" % (i % 1000, i))
    c = render(os.path.join(PEERS, "sluice-w2-collector.properties"), os.path.join(work, "c.properties"),
               WORK=os.path.join(work, "c"), FWDPORT=port, OUTDIR=outdir)
    e = render(os.path.join(PEERS, "sluice-w2-edge.properties"), os.path.join(work, "e.properties"),
               WORK=os.path.join(work, "e"), FWDPORT=port, INDIR=indir)
    col = Agent(binary, out, label + "c", c, "c", work, extra=extra)
    edge = None
    try:
        if not wait_port(port):
            raise SystemExit("W2's collector did not listen")
        edge = Agent(binary, out, label + "e", e, "e", work, extra=extra)
        want = os.path.getsize(os.path.join(indir, "in.log"))
        end = time.time() + 300
        while time.time() < end:
            if sum(os.path.getsize(p) for p in glob.glob(outdir + "/*")) >= want:
                break
            time.sleep(0.5)
    finally:
        if edge:
            edge.stop()
        col.stop()


def config_checks(binary, out):
    for conf in sorted(glob.glob(os.path.join(ROOT, "examples", "*.properties"))):
        subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no",
                        "--compress-pos=no", "--callgrind-out-file=%s/cg.check.%%p" % out,
                        binary, "config", "check", conf], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def self_costs(path, binary, costs):
    """Adds each function's own instructions in `binary` (callgrind's uncompressed format: a
    cost line after `calls=` is the call's inclusive cost, not the caller's own)."""
    obj = fn = None
    after_calls = False
    real = os.path.realpath(binary)
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                obj = os.path.realpath(line[3:].strip()) == real
            elif line.startswith("fn="):
                fn = line[3:].strip()
                if obj:
                    costs[fn] += 0
            elif line.startswith("calls="):
                after_calls = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                elif obj and fn:
                    parts = line.split()
                    if len(parts) >= 2 and parts[1].isdigit():
                        costs[fn] += int(parts[1])


def hot_functions(binary):
    """The functions `binary` ran in the workloads: those more runs ran first, then the hottest."""
    out = tempfile.mkdtemp(prefix="sluice-hot-")
    try:
        def w2_uncached(binary, out, work):
            w2(binary, out, work, label="w2u", extra=["-Dsluice.tailCacheTotal=0"])

        for label, run in (("readme", readme_example), ("w1", w1), ("w2", w2),
                           ("w2u", w2_uncached)):
            work = tempfile.mkdtemp(prefix="sluice-hot-%s-" % label)
            try:
                t0 = time.time()
                run(binary, out, work)
                print("%s %s: %.0f s" % (binary, label, time.time() - t0), file=sys.stderr)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        config_checks(binary, out)
        costs = collections.Counter()
        runs = collections.defaultdict(set)
        for p in glob.glob(out + "/cg.*"):
            one = collections.Counter()
            self_costs(p, binary, one)
            costs.update(one)
            label = os.path.basename(p).split(".")[1]
            for name in one:
                runs[name].add(label)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    # Only names the binary's symbol table holds (callgrind also names PLT stubs and such).
    nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                        check=True).stdout
    known = {l.split(" ", 2)[2] for l in nm.splitlines() if l.count(" ") >= 2}
    # What every run ran first (start, configuration, the channel: an idle agent's code), then
    # what fewer runs ran; the hottest first within each.
    names = [n for n in sorted(costs, key=lambda k: (-len(runs[k]), -costs[k], k)) if n in known]
    print("%s: %d functions" % (binary, len(names)), file=sys.stderr)
    return names


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    lists = [hot_functions(os.path.abspath(b)) for b in sys.argv[1:]]
    dest = os.environ.get("OUT", os.path.join(ROOT, "build", "hot-symbols.txt"))
    seen, merged = set(), []
    for i in range(max(len(l) for l in lists)):
        for l in lists:
            if i < len(l) and l[i] not in seen:
                seen.add(l[i])
                merged.append(l[i])
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    with open(dest, "w") as f:
        f.write("".join(n + "\n" for n in merged))
    print("%d functions -> %s" % (len(merged), dest), file=sys.stderr)


if __name__ == "__main__":
    main()
