# The nats tests' client that is not Sluice: nats-py, run by the harness (mod.rs) as
#   helper.py URL COMMAND ARGS...
# ready                          JetStream answers and its meta group has a leader
# create NAME SUBJECTS DUP_S [R] an R3 (or R) file stream with atomic batch publish allowed
# leader NAME                    the server name of the stream's leader
# dump NAME FILTER               every message under FILTER as JSON lines
# fill SUBJECT N                 N messages "line-<i>" published with PubAcks
# pub SUBJECT DATA               one message DATA published with a PubAck (a forger's)
import asyncio, json, sys
import nats


async def api(nc, subject, body=b""):
    msg = await nc.request(subject, body, timeout=10)
    out = json.loads(msg.data)
    if "error" in out:
        raise SystemExit(f"{subject}: {out['error']}")
    return out


async def ready(nc):
    info = await api(nc, "$JS.API.INFO")
    print(json.dumps(info.get("api", {})))


async def create(nc, name, subjects, dup_s, replicas="3"):
    cfg = {
        "name": name,
        "subjects": json.loads(subjects),
        "storage": "file",
        "num_replicas": int(replicas),
        "duplicate_window": int(float(dup_s) * 1e9),
        "allow_atomic": True,
        "allow_direct": True,
    }
    out = await api(nc, f"$JS.API.STREAM.CREATE.{name}", json.dumps(cfg).encode())
    print(json.dumps(out.get("cluster", {})))


async def leader(nc, name):
    out = await api(nc, f"$JS.API.STREAM.INFO.{name}")
    print(out.get("cluster", {}).get("leader", ""))


async def dump(nc, name, filt):
    js = nc.jetstream()
    info = await js.stream_info(name)
    last = info.state.last_seq
    if info.state.messages == 0:
        return
    sub = await js.pull_subscribe(filt, durable=None, stream=name)
    seen = 0
    while True:
        try:
            msgs = await sub.fetch(500, timeout=5)
        except nats.errors.TimeoutError:
            break
        for m in msgs:
            md = m.metadata
            print(json.dumps({
                "seq": md.sequence.stream,
                "subject": m.subject,
                "headers": dict(m.headers or {}),
                "data": m.data.decode("utf-8", "replace"),
            }))
            seen = md.sequence.stream
            await m.ack()
        if seen >= last:
            break
    await sub.unsubscribe()


async def fill(nc, subject, n):
    js = nc.jetstream()
    n = int(n)
    step = 200
    for lo in range(0, n, step):
        futs = [js.publish(subject, f"line-{i}".encode(), headers={"n": str(i)})
                for i in range(lo, min(n, lo + step))]
        await asyncio.gather(*futs)
    print(n)


async def pub(nc, subject, data):
    js = nc.jetstream()
    ack = await js.publish(subject, data.encode())
    print(ack.seq)


async def main():
    url, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    nc = await nats.connect(servers=url.split(","), connect_timeout=5,
                            max_reconnect_attempts=3, allow_reconnect=True)
    try:
        await {"ready": ready, "create": create, "leader": leader, "dump": dump,
               "fill": fill, "pub": pub}[cmd](nc, *args)
    finally:
        await nc.close()


asyncio.run(main())
