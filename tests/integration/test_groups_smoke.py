"""Smoke test of the classic group coordinator with real clients: two
confluent-kafka consumers share a topic's partitions, commit, and a restarted
consumer resumes from the committed offset; kafka-python's KafkaConsumer with
a group_id. (The broader group tests live elsewhere.)"""
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import create_topic

GROUP_PROPS = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}


def produce(bootstrap, topic, n, start=0):
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(start, start + n):
        p.produce(topic, key=str(i).encode(), value=f"v{i}".encode(), partition=i % 4)
    assert p.flush(30) == 0


def consumer(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    conf.update(extra)
    return Consumer(conf)


def test_two_consumers_share_partitions_and_resume(make_server):
    s = make_server(GROUP_PROPS)
    create_topic(s, "gs", partitions=4)
    c1 = consumer(s.bootstrap, "smoke")
    c2 = consumer(s.bootstrap, "smoke")
    c1.subscribe(["gs"])
    c2.subscribe(["gs"])
    # Let the group settle with both members (two partitions each), then produce.
    deadline = time.time() + 30
    while not (len(c1.assignment()) == 2 and len(c2.assignment()) == 2) and time.time() < deadline:
        c1.poll(0.1)
        c2.poll(0.1)
    produce(s.bootstrap, "gs", 40)
    seen = {}
    deadline = time.time() + 60
    while len(seen) < 40 and time.time() < deadline:
        for c in (c1, c2):
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            key = (m.partition(), m.offset())
            assert key not in seen, f"record {key} consumed twice"
            seen[key] = c
    assert len(seen) == 40
    a1, a2 = c1.assignment(), c2.assignment()
    assert len(a1) == 2 and len(a2) == 2, (a1, a2)
    assert {tp.partition for tp in a1} | {tp.partition for tp in a2} == {0, 1, 2, 3}
    c1.commit(asynchronous=False)
    c2.commit(asynchronous=False)
    committed = c1.committed([TopicPartition("gs", p) for p in range(4)], timeout=10)
    assert sorted(tp.offset for tp in committed) == [10, 10, 10, 10]
    c1.close()
    c2.close()

    # A restarted consumer resumes from the committed offsets.
    produce(s.bootstrap, "gs", 8, start=40)
    c3 = consumer(s.bootstrap, "smoke")
    c3.subscribe(["gs"])
    got = []
    deadline = time.time() + 30
    while len(got) < 8 and time.time() < deadline:
        m = c3.poll(0.5)
        if m is not None and not m.error():
            got.append((m.partition(), m.offset()))
    assert sorted(got) == sorted((i % 4, 10 + (i - 40) // 4) for i in range(40, 48))
    c3.close()


def test_committed_offsets_survive_restart(make_server):
    s = make_server(GROUP_PROPS)
    create_topic(s, "gr", partitions=4)
    c = consumer(s.bootstrap, "restart")
    c.commit(offsets=[TopicPartition("gr", 0, 5), TopicPartition("gr", 3, 7)], asynchronous=False)
    c.close()
    s.restart()
    c = consumer(s.bootstrap, "restart")
    deadline = time.time() + 30
    while True:
        try:
            committed = c.committed([TopicPartition("gr", p) for p in range(4)], timeout=5)
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    assert [tp.offset for tp in committed] == [5, -1001, -1001, 7]
    c.close()


def test_kafka_python_consumer_group(make_server):
    kafka = pytest.importorskip("kafka")
    s = make_server(GROUP_PROPS)
    create_topic(s, "kp", partitions=4)
    produce(s.bootstrap, "kp", 12)
    kc = kafka.KafkaConsumer("kp", bootstrap_servers=s.bootstrap, group_id="kp-group", auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=15000)
    values = []
    for m in kc:
        values.append(m.value)
        if len(values) == 12:
            break
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(12))
    kc.commit()
    parts = [kafka.TopicPartition("kp", p) for p in range(4)]
    assert [kc.committed(tp) for tp in parts] == [3, 3, 3, 3]
    kc.close()
