"""Two kafka-python consumers in one group against a broker; one is killed with SIGKILL and
restarted 1 s later while records are produced. Reports every consumer's final assignment and
the records no consumer received. Independent of Sluice and of librdkafka.

Environment: LEADER_FIRST=SECONDS starts b that long before a (b is then the group's leader
and a, the one killed, is not); KILL_AFTER=SECONDS (default 1.5) is when a is killed;
TANSU_LOG is tansu's RUST_LOG (warn,tansu_broker::coordinator=info shows the member expiry);
STATIC=1 gives each consumer a group_instance_id."""
import os, signal, socket, subprocess, sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

def consumer(bootstrap, topic, group, out):
    extra = {}
    if os.environ.get("STATIC"):
        extra["group_instance_id"] = os.path.basename(out)[0]
    c = KafkaConsumer(topic, group_id=group, bootstrap_servers=bootstrap, **extra,
                      enable_auto_commit=False, auto_offset_reset='earliest',
                      session_timeout_ms=6000, heartbeat_interval_ms=500)
    f = open(out, 'a', buffering=1)
    last = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while not stop:
        recs = c.poll(timeout_ms=200)
        for tp, ms in recs.items():
            for m in ms:
                f.write(f"REC {tp.partition} {m.offset} {m.value.decode()}\n")
        if recs:
            c.commit()
        if time.time() - last > 0.5:
            last = time.time()
            f.write("ASSIGN " + " ".join(str(tp.partition) for tp in sorted(c.assignment(), key=lambda t: t.partition)) + "\n")
    c.close()
    f.write("CLOSED\n")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def main(seed):
    port = free_port()
    bs = f"127.0.0.1:{port}"
    d = f"/tmp/tansu-group-check/run{seed}"
    os.makedirs(d, exist_ok=True)
    broker = subprocess.Popen([os.path.expanduser("~/.cargo/bin/tansu"), "broker", "--listener-url", f"tcp://{bs}",
        "--advertised-listener-url", f"tcp://{bs}", "--storage-engine", "memory://tansu/"],
        stdout=open(f"{d}/broker.log", "w"), stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")})
    try:
        for _ in range(100):
            try:
                KafkaAdminClient(bootstrap_servers=bs).create_topics([NewTopic("logs", 4, 1)]); break
            except Exception as e:
                time.sleep(0.2)
        time.sleep(1)
        me = sys.executable
        start = lambda n: subprocess.Popen([me, __file__, "consumer", bs, "logs", "g", f"{d}/{n}.out"])
        b = start("b")
        if os.environ.get("LEADER_FIRST"):
            time.sleep(float(os.environ["LEADER_FIRST"]))
        a = start("a")
        p = KafkaProducer(bootstrap_servers=bs, acks='all', linger_ms=5)
        sent = []
        t0 = time.time(); killed = restarted = False
        i = 0
        while i < 4000 or not restarted:
            if i < 4000:
                for _ in range(50):
                    v = f"k-{i:07d}"; p.send("logs", v.encode()); sent.append(v); i += 1
                p.flush()
            time.sleep(0.06)
            if not killed and time.time() - t0 > float(os.environ.get("KILL_AFTER", "1.5")):
                a.send_signal(signal.SIGKILL); a.wait(); killed = time.time()
            if killed and not restarted and time.time() - killed > 1.0:
                a = start("a2"); restarted = True
        time.sleep(40)
        def tally(names):
            got = set(); final = {}
            for n in names:
                try:
                    for line in open(f"{d}/{n}.out"):
                        if line.startswith("REC "): got.add(line.split()[3])
                        elif line.startswith("ASSIGN"): final[n] = line.strip()
                except FileNotFoundError: pass
            return [v for v in sent if v not in got], final
        missing, final = tally(("a", "a2", "b"))
        print(f"seed {seed}: sent {len(sent)}, never received {len(missing)}; final assignments: {final}")
        if missing:
            # The operator's remedy: stop every member gracefully (LeaveGroup), start them again.
            for x in (a, b): x.send_signal(signal.SIGTERM); x.wait()
            a, b = start("a3"), start("b3")
            time.sleep(30)
            missing, final = tally(("a", "a2", "b", "a3", "b3"))
            print(f"seed {seed}: after a graceful restart of both: never received {len(missing)}; final assignments: {final}")
        for x in (a, b): x.send_signal(signal.SIGKILL); x.wait()
        return
    finally:
        broker.kill(); broker.wait()

if __name__ == "__main__":
    if sys.argv[1] == "consumer":
        consumer(*sys.argv[2:6])
    else:
        main(int(sys.argv[1]))
