#!/usr/bin/env python3
"""Idle memory of the README's example: starts `BIN agent -n a1 -f examples/netcat-file-roll.properties`
(on a free port, in a temporary directory), waits SECS, and prints VmHWM and what holds it, from
/proc/PID/smaps: the binary's code, its read-only data, its relocated data (`.data.rel.ro`, written
by the dynamic loader at start, so private), the shared libraries, and anonymous memory (heap,
mimalloc's arena, thread stacks). Ends the agent by its PID.

usage: benches/idle_rss.py [--runs N] [--secs S] LABEL=BIN ...
  e.g. benches/idle_rss.py --runs 3 release=target/release/sluice dist=target/dist/sluice"""
import argparse, collections, os, re, shutil, signal, socket, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "examples", "netcat-file-roll.properties")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def classify(name, perm, binary):
    if name == binary:
        return {"r-xp": "binary code", "r--p": "binary rodata", "rw-p": "binary data"}.get(perm, "binary other")
    if name.startswith("/"):
        return "shared libraries"
    if name == "[stack]":
        return "main stack"
    return "anonymous (heap, arena, thread stacks)"


def breakdown(pid, binary):
    """KiB resident per class; the binary's private (relocated) pages are their own class."""
    parts = collections.Counter()
    cls = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cls = classify(m.group(2).strip(), m.group(1), binary)
            elif line.startswith("Rss:"):
                parts[cls] += int(line.split()[1])
            elif line.startswith("Anonymous:") and cls.startswith("binary"):
                kib = int(line.split()[1])
                parts[cls] -= kib
                parts["binary relocated (private)"] += kib
    return parts


def one(binary, secs):
    work = tempfile.mkdtemp(prefix="sluice-idle-")
    try:
        conf = os.path.join(work, "a1.properties")
        with open(EXAMPLE) as src, open(conf, "w") as dst:
            dst.write(src.read().replace("port = 44444", "port = %d" % free_port()))
        with open(os.path.join(work, "agent.log"), "w") as log:
            proc = subprocess.Popen([binary, "agent", "-n", "a1", "-f", conf], cwd=work, stdout=log, stderr=log)
        try:
            time.sleep(secs)
            status = dict(l.split(":", 1) for l in open("/proc/%d/status" % proc.pid))
            hwm = int(status["VmHWM"].split()[0])
            threads = int(status["Threads"])
            parts = breakdown(proc.pid, binary)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
        return hwm, threads, parts
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=3.0)
    ap.add_argument("builds", nargs="+")
    args = ap.parse_args()
    for spec in args.builds:
        label, binary = spec.split("=", 1)
        binary = os.path.abspath(binary)
        runs = [one(binary, args.secs) for _ in range(args.runs)]
        hwm = [r[0] / 1024 for r in runs]
        print("%s: VmHWM %s MiB (median %.2f), threads %s" % (
            label, " ".join("%.2f" % h for h in hwm), statistics.median(hwm), "/".join(str(r[1]) for r in runs)))
        keys = sorted({k for r in runs for k in r[2]}, key=lambda k: -runs[0][2][k])
        for k in keys:
            print("  %-40s %6.2f MiB" % (k, statistics.median(r[2][k] for r in runs) / 1024))


if __name__ == "__main__":
    main()
