#!/usr/bin/env python3
"""A Kubernetes node in a directory, read by Sluice's `kubernetes` source, by Sluice's TAILDIR
on the same bytes (no metadata) and by Fluent Bit (`tail` with `multiline.parser cri` and the
`kubernetes` filter), each with a test API server over HTTPS (issue 90's benchmarks).

    python3 benches/k8s_node.py --sluice target/release/sluice --fluent-bit FB [--rounds 3]
    python3 benches/k8s_node.py --sluice target/release/sluice --pods 2000 --tools sluice-k8s

The tree is written once per size, as containerd writes it: `<ns>_<pod>_<uid>/<container>/0.log`
with CRI lines `<RFC3339Nano> <stdout|stderr> <P|F> <message>`, one line in 40 split in two
parts (`P` then `F`), one in 10 on stderr. The API server serves the node's pods as the real
one does (a paginated `PodList`, a chunked watch that starts with a bookmark, and a pod by
name for Fluent Bit's filter), checking a bearer token. Each tool starts with the files
already there and is timed until its sink has counted every line (the logical line: a P+F
pair is one), from the peers' harness's own helpers (../shared/peers/run.py: CPU from
/proc/<pid>/stat, peak RSS from VmHWM). Every tool keeps its events in a durable buffer:
Sluice a file channel (fdatasync per transaction), Fluent Bit filesystem storage with
`storage.sync full`. Rounds alternate the tools; medians and same-round ratios are printed.

Fluent Bit's `kubernetes` filter is not in ../shared/peers' minimal build; build 5.1.1 with the
same flags plus `-DFLB_FILTER_KUBERNETES=On` (benches/build-fluent-bit-k8s.sh) and pass it.
"""
import argparse
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
import run as peers  # noqa: E402  (the peers' harness: Proc, free_port, hwm_kib, http_json)

NODE = "node-1"
TOKEN = "bench-token-0123456789"


# ---------------------------------------------------------------- the node's tree


def pod_names(i):
    ns = "ns%d" % (i % 7)
    pod = "web-%05d-5d9f7c-x%04d" % (i, i)
    uid = "%08x-0000-4000-8000-%012x" % (i, i)
    return ns, pod, uid


def write_tree(root, pods, containers, lines, size):
    """Writes the tree; returns its logical lines (a P+F pair is one) and its file lines."""
    total = parts = 0
    for i in range(pods):
        ns, pod, uid = pod_names(i)
        for c in range(containers):
            d = os.path.join(root, "%s_%s_%s" % (ns, pod, uid), "app%d" % c)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "0.log"), "wb") as f:
                buf = []
                for n in range(lines):
                    ts = "2026-11-29T12:%02d:%02d.%09dZ" % (n // 60000 % 60, n // 1000 % 60, n * 1000 % 1000000000)
                    stream = "stderr" if n % 10 == 9 else "stdout"
                    head = "pod=%d c=%d seq=%09d " % (i, c, n)
                    msg = head + "x" * max(0, size - len(head))
                    if n % 40 == 39:
                        cut = len(msg) // 2
                        buf.append("%s %s P %s\n%s %s F %s\n" % (ts, stream, msg[:cut], ts, stream, msg[cut:]))
                        parts += 1
                    else:
                        buf.append("%s %s F %s\n" % (ts, stream, msg))
                    total += 1
                    if len(buf) >= 4096:
                        f.write("".join(buf).encode())
                        buf = []
                f.write("".join(buf).encode())
    return total, total + parts


def pod_object(i, rv):
    ns, pod, uid = pod_names(i)
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {
            "name": pod, "namespace": ns, "uid": uid, "resourceVersion": str(rv),
            "labels": {"app": "web", "tier": "front", "pod-index": str(i)},
            "annotations": {"team": "logs"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-%05d-5d9f7c" % i,
                                 "uid": "rs-%d" % i, "controller": True}],
        },
        "spec": {"nodeName": NODE, "containers": [{"name": "app0", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "app0", "containerID": "containerd://%064x" % i, "restartCount": 0}]},
    }


# ---------------------------------------------------------------- the API server


class Api:
    def __init__(self, work, pods):
        self.pods = [pod_object(i, 100 + i) for i in range(pods)]
        self.by_name = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in self.pods}
        self.rv = str(100 + pods)
        self.requests = 0
        self.stopping = threading.Event()
        make_certs(work)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(work, "server.pem"), os.path.join(work, "server.key"))
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                api.requests += 1
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    return self.send_json(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                parts = u.path.strip("/").split("/")
                if u.path == "/api/v1/pods" and q.get("watch") in ("1", "true"):
                    return self.watch(q)
                if u.path == "/api/v1/pods":
                    limit = int(q.get("limit", "0") or 0) or len(api.pods)
                    start = int(q.get("continue", "0") or 0)
                    page = api.pods[start:start + limit]
                    meta = {"resourceVersion": api.rv}
                    if start + limit < len(api.pods):
                        meta["continue"] = str(start + limit)
                    return self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": page})
                if len(parts) == 6 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
                    p = api.by_name.get((parts[3], parts[5]))
                    if p is None:
                        return self.send_json(404, {"kind": "Status", "code": 404, "message": "not found"})
                    return self.send_json(200, p)
                if len(parts) == 4 and parts[:3] == ["api", "v1", "namespaces"]:
                    return self.send_json(200, {"kind": "Namespace", "apiVersion": "v1",
                                                "metadata": {"name": parts[3], "labels": {}}})
                self.send_json(404, {"kind": "Status", "code": 404, "message": "no route " + u.path})

            def send_json(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def watch(self, q):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                ev = {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                     "metadata": {"resourceVersion": api.rv}}}
                line = (json.dumps(ev) + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
                until = time.time() + min(float(q.get("timeoutSeconds", "300")), 300)
                while not api.stopping.is_set() and time.time() < until:
                    api.stopping.wait(0.5)
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping.set()
        self.server.shutdown()


def make_certs(work):
    def ssl_run(*args):
        subprocess.run(["openssl"] + list(args), cwd=work, check=True, capture_output=True)
    if os.path.exists(os.path.join(work, "server.pem")):
        return
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ssl_run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=bench CA", "-days", "3")
    ssl_run("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(work, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl_run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "3", "-extfile", "san.ext")
    with open(os.path.join(work, "token"), "w") as f:
        f.write(TOKEN)


# ---------------------------------------------------------------- the tools' configurations

SLUICE_COMMON = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {work}/checkpoint
a1.channels.c1.dataDirs = {work}/data
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""

SLUICE_K8S = """a1.sources.r1.type = kubernetes
a1.sources.r1.podLogsDir = {pods}
a1.sources.r1.positionFile = {work}/positions.json
a1.sources.r1.apiServer = https://127.0.0.1:{api}
a1.sources.r1.tokenFile = {certs}/token
a1.sources.r1.caFile = {certs}/ca.pem
a1.sources.r1.nodeName = """ + NODE + "\n"

FLUENT_BIT = """[SERVICE]
    flush            1
    log_level        warn
    parsers_file     {work}/parsers.conf
    http_server      on
    http_listen      127.0.0.1
    http_port        {mport}
    storage.path     {work}/storage
    storage.sync     full
    storage.checksum off

[INPUT]
    name              tail
    path              {pods}/*/*/*.log
    tag               kube.*
    multiline.parser  cri
    read_from_head    true
    refresh_interval  1
    storage.type      filesystem

[FILTER]
    name                kubernetes
    match               kube.*
    kube_url            https://127.0.0.1:{api}
    kube_ca_file        {certs}/ca.pem
    kube_token_file     {certs}/token
    kube_tag_prefix     {prefix}
    regex_parser        pods-dir
    merge_log           off
    labels              on
    annotations         off
    buffer_size         0
    use_kubelet         off

[OUTPUT]
    name  null
    match *
"""

FB_PARSERS = r"""[PARSER]
    name    pods-dir
    format  regex
    regex   ^(?<namespace_name>[^_]+)_(?<pod_name>[^_]+)_(?<pod_id>[^.]+)\.(?<container_name>[^.]+)\.(?<docker_id>[0-9]+)\.log$
"""


class Run:
    def __init__(self, args, name, work, pods_dir, certs, api):
        self.args, self.name, self.work, self.pods, self.certs, self.api = args, name, work, pods_dir, certs, api

    def start(self):
        self.mport = peers.free_port()
        kw = dict(work=self.work, pods=self.pods, certs=self.certs, api=self.api.port, mport=self.mport)
        if self.name == "fluent-bit":
            conf = os.path.join(self.work, "fb.conf")
            with open(os.path.join(self.work, "parsers.conf"), "w") as f:
                f.write(FB_PARSERS)
            prefix = "kube." + self.pods.strip("/").replace("/", ".") + "."
            with open(conf, "w") as f:
                f.write(FLUENT_BIT.format(prefix=prefix, **kw))
            argv = [self.args.fluent_bit, "-c", conf]
        else:
            text = SLUICE_COMMON.format(**kw)
            if self.name == "sluice-k8s":
                k8s = SLUICE_K8S.format(**kw)
                if self.args.no_api:
                    k8s = k8s.replace("https://127.0.0.1:%d" % self.api.port, "none")
                text += k8s
            else:
                text += taildir_conf(self.pods, self.work)
            conf = os.path.join(self.work, "a1.properties")
            with open(conf, "w") as f:
                f.write(text)
            argv = [self.args.sluice, "agent", "-n", "a1", "-f", conf, "--no-reload-conf",
                    "-Dflume.monitoring.type=http", "-Dflume.monitoring.port=%d" % self.mport,
                    "-Dflume.root.logger=WARN,console"]
        if self.args.perf:
            argv = ["perf", "record", "-F", "999", "-g", "-o", os.path.join(self.work, "perf.data"), "--"] + argv
        self.proc = peers.Proc(self.name, argv, os.path.join(self.work, "agent.log"))
        self.proc.mark()
        return self.proc

    def count(self):
        if self.name == "fluent-bit":
            m = peers.http_json("http://127.0.0.1:%d/api/v1/metrics" % self.mport)
            return int(m["output"]["null.0"]["proc_records"])
        m = peers.http_json("http://127.0.0.1:%d/metrics" % self.mport)
        return int(m["SINK.k1"]["EventDrainSuccessCount"])


def taildir_conf(pods_dir, work):
    groups, lines = [], []
    for i, (dirpath, _dirs, files) in enumerate(sorted((d, s, f) for d, s, f in os.walk(pods_dir) if "0.log" in f)):
        groups.append("f%d" % i)
        lines.append("a1.sources.r1.filegroups.f%d = %s/0[.]log\n" % (i, dirpath))
    return ("a1.sources.r1.type = TAILDIR\na1.sources.r1.positionFile = %s/taildir.json\n" % work
            + "a1.sources.r1.filegroups = %s\n" % " ".join(groups) + "".join(lines))


def one(args, tool, pods_dir, certs, api, lines):
    """Runs `tool` over the tree until its sink counted every line: the logical ones, or the
    file's lines for TAILDIR, which joins no parts. Rates are in logical lines either way,
    so the ratios compare the time each takes over the same bytes."""
    logical, physical = lines
    n = physical if tool == "sluice-taildir" else logical
    work = os.path.join(args.work, "run-" + tool)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    r = Run(args, tool, work, pods_dir, certs, api)
    t0 = time.time()
    p = r.start()
    count, deadline = 0, t0 + args.timeout
    try:
        while time.time() < deadline and p.alive():
            try:
                count = r.count()
            except Exception:  # the metrics endpoint is not up yet
                count = 0
            if count >= n:
                break
            time.sleep(0.05)
        secs = time.time() - t0
        cpu = p.cpu_since_mark() or 0.0
        rss = peers.hwm_kib(p.pid) or 0
    finally:
        p.stop()
    done = logical if count >= n else count
    return {"tool": tool, "n": n, "counted": count, "complete": count >= n, "secs": secs,
            "events_per_s": done / secs, "cpu_us_per_event": cpu * 1e6 / max(done, 1),
            "cpu_cores": cpu / secs, "rss_mib": rss / 1024.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--fluent-bit", default="")
    ap.add_argument("--tools", default="sluice-k8s,sluice-taildir,fluent-bit")
    ap.add_argument("--pods", type=int, default=200)
    ap.add_argument("--containers", type=int, default=1)
    ap.add_argument("--sizes", default="200,1024")
    ap.add_argument("--events", type=int, default=1000000, help="lines per size over the whole node")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--work", default="/tmp/sluice-k8s-bench")
    ap.add_argument("--out", default="")
    ap.add_argument("--no-api", action="store_true", help="the kubernetes source with apiServer = none (the path's metadata only)")
    ap.add_argument("--perf", action="store_true", help="run each tool under perf record (the figures then include perf's)")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t and (t != "fluent-bit" or args.fluent_bit)]
    os.makedirs(args.work, exist_ok=True)
    certs = os.path.join(args.work, "certs")
    os.makedirs(certs, exist_ok=True)
    api = Api(certs, args.pods)
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            pods_dir = os.path.join(args.work, "pods-%d-%d" % (args.pods, size))
            per = max(1, args.events // (args.pods * args.containers))
            shutil.rmtree(pods_dir, ignore_errors=True)
            n = write_tree(pods_dir, args.pods, args.containers, per, size)
            for rnd in range(args.rounds):
                order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
                for tool in order:
                    res = one(args, tool, pods_dir, certs, api, n)
                    res.update(size=size, round=rnd, load=os.getloadavg()[0])
                    results.append(res)
                    print(json.dumps(res), flush=True)
            shutil.rmtree(pods_dir, ignore_errors=True)
    finally:
        api.close()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    summarize(results, tools)


def summarize(results, tools):
    print("\n| size | tool | events/s | CPU µs/event | cores | peak RSS MiB | complete |")
    print("|---|---|---|---|---|---|---|")
    for size in sorted({r["size"] for r in results}):
        for t in tools:
            rs = [r for r in results if r["size"] == size and r["tool"] == t]
            if rs:
                med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
                print("| %d | %s | %.0f | %.2f | %.2f | %.0f | %d/%d |" % (
                    size, t, med("events_per_s"), med("cpu_us_per_event"), med("cpu_cores"), med("rss_mib"),
                    sum(r["complete"] for r in rs), len(rs)))
        base = [r for r in results if r["size"] == size and r["tool"] == "sluice-k8s"]
        for t in tools:
            if t == "sluice-k8s":
                continue
            ratios = []
            for b in base:
                o = [r for r in results if r["size"] == size and r["tool"] == t and r["round"] == b["round"]]
                if o and o[0]["events_per_s"] > 0:
                    ratios.append((b["events_per_s"] / o[0]["events_per_s"],
                                   b["cpu_us_per_event"] / max(o[0]["cpu_us_per_event"], 1e-9)))
            if ratios:
                print("size %d: sluice-k8s ÷ %s, medians of same-round ratios: events/s %.2f, CPU per event %.2f" % (
                    size, t, statistics.median(x for x, _ in ratios), statistics.median(y for _, y in ratios)))


if __name__ == "__main__":
    main()
