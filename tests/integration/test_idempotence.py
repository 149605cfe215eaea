"""The idempotent producer (enable.idempotence): InitProducerId from blocks
the controller allocates (AllocateProducerIds), per-partition producer state
on the leader (duplicates answered with the original offsets, sequence gaps
and fenced epochs refused, as Kafka 3.9), and `.snapshot` files that carry
the state over restarts (clean or kill -9)."""
import glob
import os
import struct
import time

import pytest

from conftest import create_topic
from kafka_wire import connect, crc32c, list_offset_latest, produce_v3, request, response, string, varint

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47


def init_producer_id(bootstrap, transactional_id=None, version=0):
    """InitProducerId v0/v1: returns (error, producer id, epoch)."""
    body = string(transactional_id) + struct.pack(">i", 60000)
    with connect(bootstrap) as s:
        request(s, 22, version, body)
        r = response(s)
    _, _, err, pid, epoch = struct.unpack(">iihqh", r[:20])
    return err, pid, epoch


def idem_batch(values, pid, epoch, seq, base_ts=1000):
    """A record batch v2 of an idempotent producer (baseSequence `seq`)."""
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, base_ts, base_ts, pid, epoch, seq, len(values)) + recs
    batch = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(batch)) + batch


def wait_for_leader(server, topic, partition=0, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        err, _ = list_offset_latest(server.bootstrap, topic, partition)
        if err == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"{topic}-{partition} has no leader")


def values(n, prefix):
    return [f"{prefix}-{i}".encode() for i in range(n)]


def test_init_producer_id_hands_out_distinct_ids(server):
    seen = set()
    for v in (0, 1, 2, 3, 4):
        if v < 2:
            err, pid, epoch = init_producer_id(server.bootstrap, version=v)
        else:  # flexible versions: compact nullable string, tagged fields; v3+: producer id/epoch
            body = b"\x00" + struct.pack(">i", 60000) + (struct.pack(">qh", -1, -1) if v >= 3 else b"") + b"\x00"
            with connect(server.bootstrap) as s:
                request(s, 22, v, body, flexible_header=True)
                r = response(s)
            # correlation id, header tags, throttle, error, producer id, epoch
            _, _, _, err, pid, epoch = struct.unpack(">ibihqh", r[:21])
        assert err == 0 and epoch == 0 and pid >= 0, (v, err, pid, epoch)
        assert pid not in seen
        seen.add(pid)
    # A transactional id goes to its coordinator: before FindCoordinator made
    # __transaction_state, no broker is it (a retriable error, no crash).
    err, pid, _ = init_producer_id(server.bootstrap, transactional_id="txn-1")
    assert err == 16 and pid == -1  # NOT_COORDINATOR
    assert server.proc.poll() is None
    assert "Allocating producer ids [0, 1000)" in server.log_text()


def test_raw_duplicate_gap_and_fenced_epoch(server):
    create_topic(server, "idem-raw")
    wait_for_leader(server, "idem-raw")
    err, pid, epoch = init_producer_id(server.bootstrap)
    assert err == 0
    b0 = idem_batch(values(3, "a"), pid, epoch, 0)
    assert produce_v3(server.bootstrap, "idem-raw", 0, b0) == (0, 0)
    b1 = idem_batch(values(2, "b"), pid, epoch, 3)
    assert produce_v3(server.bootstrap, "idem-raw", 0, b1) == (0, 3)
    # The same batch again (a retry): not appended, answered with its original offset.
    assert produce_v3(server.bootstrap, "idem-raw", 0, b0) == (0, 0)
    assert produce_v3(server.bootstrap, "idem-raw", 0, b1) == (0, 3)
    assert list_offset_latest(server.bootstrap, "idem-raw", 0) == (0, 5)
    # A gap: sequence 7 after 4.
    err, _ = produce_v3(server.bootstrap, "idem-raw", 0, idem_batch(values(1, "gap"), pid, epoch, 7))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER
    # A new epoch must start at 0; then the old epoch is fenced.
    err, _ = produce_v3(server.bootstrap, "idem-raw", 0, idem_batch(values(1, "e1"), pid, epoch + 1, 5))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce_v3(server.bootstrap, "idem-raw", 0, idem_batch(values(1, "e1"), pid, epoch + 1, 0)) == (0, 5)
    err, _ = produce_v3(server.bootstrap, "idem-raw", 0, idem_batch(values(1, "old"), pid, epoch, 5))
    assert err == INVALID_PRODUCER_EPOCH
    assert list_offset_latest(server.bootstrap, "idem-raw", 0) == (0, 6)
    # Non-idempotent batches are untouched by all this.
    from kafka_wire import record_batch
    assert produce_v3(server.bootstrap, "idem-raw", 0, record_batch([b"plain"])) == (0, 6)


def test_duplicate_detected_after_kill9_and_clean_restart(make_server):
    # Small segments: rolls write snapshots before the crash.
    server = make_server({"log.segment.bytes": "1024"})
    create_topic(server, "idem-crash")
    wait_for_leader(server, "idem-crash")
    err, pid, epoch = init_producer_id(server.bootstrap)
    assert err == 0
    seq, last = 0, None
    for i in range(30):
        last = idem_batch(values(4, f"r{i}-" + "x" * 40), pid, epoch, seq)
        err, base = produce_v3(server.bootstrap, "idem-crash", 0, last)
        assert (err, base) == (0, seq)
        seq += 4
    part_dir = os.path.join(server.data, "idem-crash-0")
    assert glob.glob(os.path.join(part_dir, "*.snapshot")), os.listdir(part_dir)

    server.kill9()
    server.start()
    wait_for_leader(server, "idem-crash")
    # The producer retries its last batch: found in the recovered state.
    assert produce_v3(server.bootstrap, "idem-crash", 0, last) == (0, seq - 4)
    assert list_offset_latest(server.bootstrap, "idem-crash", 0) == (0, seq)
    err, _ = produce_v3(server.bootstrap, "idem-crash", 0, idem_batch(values(1, "gap"), pid, epoch, seq + 1))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER
    nxt = idem_batch(values(2, "next"), pid, epoch, seq)
    assert produce_v3(server.bootstrap, "idem-crash", 0, nxt) == (0, seq)
    seq += 2

    # A clean shutdown writes the snapshot at the log end.
    assert server.stop() == 0
    end_snapshot = os.path.join(part_dir, "%020d.snapshot" % seq)
    assert os.path.exists(end_snapshot), sorted(os.listdir(part_dir))
    with open(end_snapshot, "rb") as f:
        data = f.read()
    version, crc, count = struct.unpack(">hIi", data[:10])
    assert version == 1 and crc == crc32c(data[6:]) and count == 1
    entry_pid, entry_epoch, last_seq, last_offset = struct.unpack(">qhiq", data[10:32])
    assert (entry_pid, entry_epoch, last_seq, last_offset) == (pid, epoch, seq - 1, seq - 1)

    server.start()
    wait_for_leader(server, "idem-crash")
    assert produce_v3(server.bootstrap, "idem-crash", 0, nxt) == (0, seq - 2)
    assert list_offset_latest(server.bootstrap, "idem-crash", 0) == (0, seq)


def test_confluent_kafka_idempotent_producer(server):
    ck = pytest.importorskip("confluent_kafka")
    topic = "idem-ck"
    create_topic(server, topic, partitions=3)
    for p in range(3):
        wait_for_leader(server, topic, p)
    n = 3000
    producer = ck.Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "linger.ms": 5,
                            "batch.num.messages": 100})
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(err)

    for i in range(n):
        producer.produce(topic, key=str(i % 7).encode(), value=str(i).encode(), on_delivery=delivered)
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert errors == []

    consumer = ck.Consumer({"bootstrap.servers": server.bootstrap, "group.id": "idem-ck-check",
                            "auto.offset.reset": "earliest", "enable.auto.commit": False})
    parts = [ck.TopicPartition(topic, p, 0) for p in range(3)]
    consumer.assign(parts)
    got = []
    deadline = time.time() + 30
    while len(got) < n and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.key(), int(m.value())))
    time.sleep(0.5)
    while True:  # nothing beyond n
        m = consumer.poll(0.2)
        if m is None:
            break
        if not m.error():
            got.append((m.key(), int(m.value())))
    consumer.close()
    assert len(got) == n
    assert sorted(v for _, v in got) == list(range(n))  # every record exactly once
    by_key = {}
    for k, v in got:
        by_key.setdefault(k, []).append(v)
    for k, vs in by_key.items():
        assert vs == sorted(vs), k  # in order per key (= per partition)
    assert "Got producer ids" in server.log_text()


def test_kafka_python_idempotent_producer(server):
    kafka = pytest.importorskip("kafka")
    try:
        producer = kafka.KafkaProducer(bootstrap_servers=server.bootstrap, enable_idempotence=True)
    except (TypeError, AssertionError, kafka.errors.KafkaConfigurationError) as e:
        pytest.skip(f"kafka-python {kafka.__version__} has no idempotent producer ({e})")
    topic = "idem-kp"
    create_topic(server, topic)
    wait_for_leader(server, topic)
    n = 500
    futures = [producer.send(topic, value=str(i).encode()) for i in range(n)]
    producer.flush(30)
    offsets = [f.get(timeout=10).offset for f in futures]
    producer.close()
    assert offsets == list(range(n))
    consumer = kafka.KafkaConsumer(topic, bootstrap_servers=server.bootstrap, auto_offset_reset="earliest",
                                   consumer_timeout_ms=3000)
    got = [int(m.value) for m in consumer]
    consumer.close()
    assert got == list(range(n))


def test_new_leader_detects_duplicate_after_failover(cluster):
    """Followers keep the producer state of what they replicate: a batch the
    old leader acknowledged and the producer retries on the new leader is not
    appended twice. InitProducerId on a broker-only node also exercises
    AllocateProducerIds forwarded to the controller."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from replication_util import REPL_EXTRA, bootstrap_of, partitions, wait_for, wait_isr_full

    c = cluster(controllers=1, brokers=2, extra={**REPL_EXTRA, "default.replication.factor": "2", "min.insync.replicas": "1"})
    topic = "idem-failover"
    a = AdminClient({"bootstrap.servers": bootstrap_of(c.brokers)})
    a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=2)], operation_timeout=30)[topic].result(45)
    wait_isr_full(c.brokers[0], topic, 1, 2)
    via = c.brokers[0].bootstrap
    leader_id = partitions(via, topic)[0]["leader"]
    leader = next(b for b in c.brokers if b.node_id == leader_id)
    other = next(b for b in c.brokers if b.node_id != leader_id)
    err, pid, epoch = init_producer_id(leader.bootstrap)
    assert err == 0 and pid >= 0
    b0 = idem_batch(values(3, "a"), pid, epoch, 0)
    b1 = idem_batch(values(2, "b"), pid, epoch, 3)
    assert produce_v3(leader.bootstrap, topic, 0, b0, acks=-1) == (0, 0)
    assert produce_v3(leader.bootstrap, topic, 0, b1, acks=-1) == (0, 3)  # acks=all: the follower has both

    leader.kill9()
    wait_for("the other broker leads", lambda: partitions(other.bootstrap, topic).get(0, {}).get("leader") == other.node_id, 30)
    assert produce_v3(other.bootstrap, topic, 0, b1) == (0, 3)
    assert produce_v3(other.bootstrap, topic, 0, b0) == (0, 0)
    assert list_offset_latest(other.bootstrap, topic, 0) == (0, 5)
    err, _ = produce_v3(other.bootstrap, topic, 0, idem_batch(values(1, "gap"), pid, epoch, 9))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce_v3(other.bootstrap, topic, 0, idem_batch(values(1, "c"), pid, epoch, 5)) == (0, 5)
