"""A node whose data dirs hold more partitions (and segment files) than its
open-files limit: it restarts and serves every partition, because segments
hold no descriptor while idle (storage/fd_cache.h: a bounded LRU, half of
RLIMIT_NOFILE by default)."""

import os
import resource
import subprocess
import time

import pytest

from conftest import BIN

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPICS = 6
PER_TOPIC = 200  # 1,200 partitions, each with >= 2 segments: > 7,000 segment files
NOFILE = 512


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except FileNotFoundError:
        return 0


def start_limited(server, nofile):
    """Server.start with RLIMIT_NOFILE soft = hard = nofile for the child."""
    server.logf = open(server.log_path, "a")
    server.proc = subprocess.Popen(
        [BIN, "server", server.config], stdout=server.logf, stderr=subprocess.STDOUT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
    server.wait_ready(timeout=40)


def test_more_partitions_than_fds(make_server):
    server = make_server(extra={"log.cleaner.enable": "false"})
    topics = [f"fd{t}" for t in range(TOPICS)]
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    futures = admin.create_topics([NewTopic(t, PER_TOPIC, 1, config={"segment.bytes": "100"}) for t in topics],
                                  operation_timeout=30)
    for f in futures.values():
        f.result(timeout=60)
    parts = [(t, p) for t in topics for p in range(PER_TOPIC)]
    # Two rounds, each a batch per partition: with segment.bytes=100 the second rolls a new segment.
    producer = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 5, "acks": "all"})
    deadline = time.time() + 30
    for rnd in range(2):
        for t, p in parts:
            producer.produce(t, key=b"k", value=f"{t}-{p}-r{rnd}".encode(), partition=p)
            producer.poll(0)
        assert producer.flush(30) == 0
    assert time.time() < deadline
    server.stop()
    data = server.props["log.dirs"]
    segments = sum(1 for _, _, files in os.walk(data) for f in files if f.endswith(".log"))
    assert segments >= 2 * len(parts), segments

    start_limited(server, NOFILE)
    pid = server.proc.pid
    assert "Open files limit (RLIMIT_NOFILE): soft 512" in server.log_text()
    assert "during startup" not in server.log_text()
    peak = open_fds(pid)
    assert peak < NOFILE

    # Oldest (offset 0) and newest (offset 1) record of every partition, read
    # in slices of 200 partitions, sampling the process's open descriptors.
    seen = {}
    for i in range(0, len(parts), 200):
        chunk = parts[i:i + 200]
        consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": f"fd-check-{i}", "enable.auto.commit": False,
                             "fetch.wait.max.ms": 50})
        consumer.assign([TopicPartition(t, p, 0) for t, p in chunk])
        want = {(t, p, o) for t, p in chunk for o in (0, 1)}
        deadline = time.time() + 20
        while want and time.time() < deadline:
            for m in consumer.consume(num_messages=500, timeout=0.5):
                assert m.error() is None, m.error()
                want.discard((m.topic(), m.partition(), m.offset()))
                seen[(m.topic(), m.partition(), m.offset())] = m.value()
            peak = max(peak, open_fds(pid))
        consumer.close()
        assert not want, f"not read: {sorted(want)[:5]} ..."
    assert peak < NOFILE, peak
    for t, p in parts:
        assert seen[(t, p, 0)] == f"{t}-{p}-r0".encode()
        assert seen[(t, p, 1)] == f"{t}-{p}-r1".encode()
    # Still serving writes, and nothing went offline.
    producer = Producer({"bootstrap.servers": server.bootstrap})
    producer.produce(topics[0], value=b"after", partition=0)
    assert producer.flush(10) == 0
    assert "Stopping serving" not in server.log_text()
    assert open_fds(pid) < NOFILE
