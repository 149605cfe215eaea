"""kill -9 during production; a torn log tail at start-up."""
import glob
import os
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import create_topic


def read_all(server, topic, n_hint, timeout=30):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "dur", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + timeout
    idle_since = time.time()
    while time.time() < deadline:
        msgs = c.consume(10000, timeout=0.5)
        if msgs:
            idle_since = time.time()
        for m in msgs:
            assert m.error() is None, m.error()
            got.append((m.offset(), m.value()))
        if len(got) >= n_hint and time.time() - idle_since > 1.0:
            break
        if not msgs and time.time() - idle_since > 3.0:
            break
    c.close()
    return got


def test_kill9_during_production_loses_no_acknowledged_record(server):
    topic = "durable"
    create_topic(server, topic)
    acked = {}
    stop = threading.Event()

    def produce():
        p = Producer({"bootstrap.servers": server.bootstrap, "acks": "all", "linger.ms": 1,
                      "message.timeout.ms": 5000, "retries": 0})

        def cb(err, m):
            if err is None:
                acked[m.offset()] = m.value()
        i = 0
        while not stop.is_set() and i < 1_000_000:
            try:
                p.produce(topic, value=b"seq-%d" % i, partition=0, on_delivery=cb)
                i += 1
            except BufferError:
                p.poll(0.01)
            if i % 1000 == 0:
                p.poll(0)
        p.flush(10)

    t = threading.Thread(target=produce)
    t.start()
    deadline = time.time() + 20
    while len(acked) < 20000 and time.time() < deadline:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    t.join(30)
    assert len(acked) >= 20000
    server.start()
    got = dict(read_all(server, topic, len(acked)))
    missing = [o for o in acked if got.get(o) != acked[o]]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. offsets {missing[:5]}"
    offsets = sorted(got)
    assert offsets == list(range(len(offsets))), "offsets are contiguous"


def test_torn_tail_is_truncated_at_last_valid_batch(server):
    topic = "torn"
    create_topic(server, topic)
    p = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    for i in range(50):
        p.produce(topic, value=b"r%d" % i, partition=0)
        p.flush(10)
    assert server.stop() == 0
    seg = sorted(glob.glob(os.path.join(server.data, "torn-0", "*.log")))[-1]
    size = os.path.getsize(seg)
    with open(seg, "r+b") as f:
        f.truncate(size - 7)  # tear the last batch
    server.start()
    got = read_all(server, topic, 49)
    assert [v for _, v in got] == [b"r%d" % i for i in range(49)]
    log = server.log_text().lower()
    assert "truncat" in log
    # Appends continue at the right offset.
    p = Producer({"bootstrap.servers": server.bootstrap})
    res = []
    p.produce(topic, value=b"after", partition=0, on_delivery=lambda e, m: res.append((e, m.offset())))
    p.flush(10)
    assert res == [(None, 49)]
