"""Does the broker serve a fetch whose offset falls inside a stored record batch? One batch
of 150 records is produced; a consumer (kafka-python: neither Sluice nor librdkafka) seeks to
offset 100 and polls; then 10 more records are produced and it polls again."""
import os, socket, subprocess, sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port(); bs = f"127.0.0.1:{port}"
broker = subprocess.Popen([os.path.expanduser("~/.cargo/bin/tansu"), "broker", "--listener-url", f"tcp://{bs}",
    "--advertised-listener-url", f"tcp://{bs}", "--storage-engine", "memory://tansu/"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
try:
    for _ in range(100):
        try:
            KafkaAdminClient(bootstrap_servers=bs).create_topics([NewTopic("t", 1, 1)]); break
        except Exception:
            time.sleep(0.2)
    p = KafkaProducer(bootstrap_servers=bs, acks='all', linger_ms=200, batch_size=1 << 20)
    for i in range(150):
        p.send("t", f"r{i}".encode(), partition=0)
    p.flush()
    tp = TopicPartition("t", 0)
    def read(seek, secs):
        c = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False)
        c.assign([tp]); c.seek(tp, seek)
        got = []; end = time.time() + secs
        while time.time() < end:
            for ms in c.poll(timeout_ms=200).values():
                got += [m.offset for m in ms]
        c.close()
        return got
    g = read(0, 3); print(f"from offset 0: {len(g)} records, offsets {g[:1]}..{g[-1:]}")
    g = read(100, 3); print(f"from offset 100 (inside the batch): {len(g)} records")
    for i in range(150, 160):
        p.send("t", f"r{i}".encode(), partition=0)
    p.flush()
    g = read(100, 3); u = sorted(set(g)); print(f"from offset 100 after 10 more were produced: {len(g)} records received, {len(u)} distinct offsets: {u[:3]}...{u[-3:]}")
finally:
    broker.kill(); broker.wait()
