#!/usr/bin/env python3
"""CPU the agent spends per scrape of its metrics server (issue 16's < 1 % bar, measured by
its parts): an agent (seq -> file channel -> null, one event) with
-Dflume.monitoring.type=http, 5,000 kept-alive GETs of /metrics as Flume JSON and as
Prometheus text, the agent's utime+stime from /proc before and after; then 10 s idle.

  python3 benches/scrape_cost.py        (BIN, default target/release/sluice)
"""
import os, tempfile

CONFIG = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 1
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {d}/ck
a1.channels.c1.dataDirs = {d}/data
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""
import shutil, subprocess, time, http.client, sys
BIN = os.environ.get("BIN", "target/release/sluice")
D = tempfile.mkdtemp(prefix="sluice-scrape-")
open(f"{D}/a.properties", "w").write(CONFIG.format(d=D))
TICK=os.sysconf("SC_CLK_TCK")
def cpu(pid):
    f=open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split(); return (int(f[11])+int(f[12]))/TICK
p=subprocess.Popen([BIN,"agent","-n","a1","-f",f"{D}/a.properties","-Dflume.monitoring.type=http","-Dflume.monitoring.port=41999"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
time.sleep(2)
try:
    for label,hdrs,path in (("json",{},"/metrics"),("prom",{"Accept":"text/plain;version=0.0.4"},"/metrics")):
        N=5000
        c0=cpu(p.pid); t0=time.time()
        conn=http.client.HTTPConnection("127.0.0.1",41999,timeout=5)
        for i in range(N):
            try:
                conn.request("GET",path,headers=hdrs); r=conn.getresponse(); body=r.read()
            except Exception:
                conn=http.client.HTTPConnection("127.0.0.1",41999,timeout=5); conn.request("GET",path,headers=hdrs); r=conn.getresponse(); body=r.read()
        c1=cpu(p.pid); t1=time.time()
        print(f"{label}: {N} scrapes, {len(body)} bytes each, agent CPU {(c1-c0)*1e6/N:.1f} us/scrape, wall {(t1-t0)*1e3/N:.2f} ms/scrape")
    c0=cpu(p.pid); time.sleep(10); c1=cpu(p.pid)
    print(f"idle (alarm evaluator, history sampler, runners): {(c1-c0)*1e6/10:.0f} us CPU per second")
finally:
    p.terminate(); p.wait()
    shutil.rmtree(D, ignore_errors=True)
