#!/usr/bin/env python3
"""W1 through Sluice alone, with what the harness's own W1 does not show: the channel's size
sampled every 50 ms (how far the sink is behind), the event cache's misses, the generator's
CPU, and the agent's /prometheus page (commit latency and batch size histograms) saved to
WORK/prom.txt. Uses ../shared/peers/run.py's generator, configuration and helpers.

usage: PEERS_DIR=DIR benches/w1_quick.py BIN [LINES] [SIZE] [extra config line ...]
  e.g. benches/w1_quick.py target/release/sluice 2000000 200 'a1.channels.c1.tailCacheSize = 0'
env:   WORK (default /tmp/w1-quick); PERF=1 records `perf record --call-graph dwarf` into
       WORK/perf.data while the lines are sent."""
import json, os, subprocess, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
import run as R  # noqa: E402


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    extra = sys.argv[4:]
    top = os.environ.get("WORK", "/tmp/w1-quick")

    class Args:
        sluice = binary
    tool = R.Sluice(Args())
    work = R.fresh(os.path.join(top, "w1"))
    port = R.free_port()
    conf = R.render(tool.w1_conf, os.path.join(work, "a1.properties"), PORT=port, WORK=work)
    if extra:
        with open(conf, "a") as f:
            f.write("\n".join(extra) + "\n")
    tool.mport = R.free_port()
    agent = tool._agent("a1", conf, work, tool.mport)
    metrics = "http://127.0.0.1:%d" % tool.mport
    gen = perf = None
    try:
        if not R.wait_port(port, 30):
            raise SystemExit("the agent did not open its port")
        base = None
        for _ in range(100):
            try:
                base = tool.w1_count()
                break
            except Exception:  # noqa: the metrics endpoint is not up yet
                time.sleep(0.2)
        gen = subprocess.Popen([sys.executable, R.__file__, "_gen", str(port), str(n), str(size)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if gen.stdout.readline().strip() != "READY":
            raise SystemExit("generator failed")
        if os.environ.get("PERF"):
            perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf", "-F", "999", "-o",
                                     os.path.join(top, "perf.data"), "-p", str(agent.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        agent.mark()
        t0 = time.time()
        gen.stdin.write("go\n")
        gen.stdin.flush()
        sizes, count = [], 0
        while time.time() < t0 + 240:
            m = R.http_json(metrics + "/metrics")
            count = int(m["SINK.k1"]["EventDrainSuccessCount"]) - base
            sizes.append(int(m["CHANNEL.c1"]["ChannelSize"]))
            if count >= n:
                break
            time.sleep(0.05)
        secs = time.time() - t0
        cpu = agent.cpu_since_mark()
        rss = R.hwm_kib(agent.pid)
        if perf:
            perf.send_signal(2)
            perf.wait()
        ch = R.http_json(metrics + "/metrics")["CHANNEL.c1"]
        with open(os.path.join(top, "prom.txt"), "w") as f:
            f.write(urllib.request.urlopen(metrics + "/prometheus").read().decode())
        stat = open("/proc/%d/stat" % gen.pid).read().rsplit(")", 1)[1].split()
        gen_cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    finally:
        if gen is not None and gen.poll() is None:
            gen.kill()
        agent.stop()
    sizes.sort()
    print(json.dumps({
        "events_per_s": round(count / secs), "cpu_us_per_event": round(cpu * 1e6 / max(count, 1), 3),
        "generator_us_per_event": round(gen_cpu * 1e6 / max(count, 1), 3),
        "rss_mib": round(rss / 1024, 1), "channel_size_p50": sizes[len(sizes) // 2],
        "channel_size_max": sizes[-1], "cache_misses": int(ch.get("TailCacheMissCount", 0)),
        "complete": count >= n, "load1": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
