"""Real Kafka clients against a real server: confluent-kafka (librdkafka) and kafka-python."""
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from conftest import create_topic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def admin(server):
    return AdminClient({"bootstrap.servers": server.bootstrap})


def produce_all(server, topic, n, codec="none", acks="all", partition=None, keyed=True):
    p = Producer({"bootstrap.servers": server.bootstrap, "compression.type": codec, "acks": acks,
                  "linger.ms": 5, "batch.num.messages": 10000})
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)

    for i in range(n):
        kwargs = {}
        if partition is not None:
            kwargs["partition"] = partition
        p.produce(topic, key=(b"key-%d" % i) if keyed else None, value=b"value-%d-" % i + bytes([i % 256]) * (i % 100),
                  headers=[("h", b"%d" % i), ("empty", b"")], on_delivery=cb, **kwargs)
        if i % 10000 == 0:
            p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:3]


def consume_all(server, topic, partitions, n, timeout=60):
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "it-" + topic, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "enable.partition.eof": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        msgs = c.consume(10000, timeout=1.0)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers()))
    c.close()
    return got


@pytest.mark.parametrize("codec", CODECS)
def test_100k_records_each_codec_round_trip_and_survive_restart(server, codec):
    topic = "codec-" + codec
    a = admin(server)
    a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    n = 100_000
    produce_all(server, topic, n, codec=codec, partition=0)
    got = consume_all(server, topic, 1, n)
    assert len(got) == n
    for i, (part, off, key, value, headers) in enumerate(got):
        assert off == i
        assert key == b"key-%d" % i
        assert value == b"value-%d-" % i + bytes([i % 256]) * (i % 100)
        assert headers == [("h", b"%d" % i), ("empty", b"")]
    server.restart()
    again = consume_all(server, topic, 1, n)
    assert again == got


def test_keyed_records_land_in_chosen_partitions_with_contiguous_offsets(server):
    topic = "keyed8"
    a = admin(server)
    a.create_topics([NewTopic(topic, num_partitions=8, replication_factor=1)])[topic].result(30)
    p = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 5})
    delivered = []
    for i in range(4000):
        p.produce(topic, key=b"k%d" % (i % 97), value=b"%d" % i,
                  on_delivery=lambda err, m: delivered.append((err, m.partition(), m.offset(), m.key(), m.value())))
    assert p.flush(60) == 0
    assert all(d[0] is None for d in delivered)
    by_part = {}
    for _, part, off, key, value in delivered:
        by_part.setdefault(part, []).append((off, key, value))
    assert len(by_part) > 1
    got = consume_all(server, topic, 8, 4000)
    assert len(got) == 4000
    consumed = {}
    for part, off, key, value, _ in got:
        consumed.setdefault(part, []).append((off, key, value))
    for part, recs in consumed.items():
        assert [r[0] for r in recs] == list(range(len(recs))), "offsets are contiguous from 0"
        assert sorted(recs) == sorted(by_part[part]), "every record is in the partition the client chose"
    # The same key always lands in the same partition.
    key_parts = {}
    for _, part, _, key, _ in delivered:
        key_parts.setdefault(key, set()).add(part)
    assert all(len(s) == 1 for s in key_parts.values())


def test_list_offsets_watermarks_and_times(server):
    topic = "offsets"
    create_topic(server, topic)
    p = Producer({"bootstrap.servers": server.bootstrap})
    base = int(time.time() * 1000)
    for i in range(10):
        p.produce(topic, value=b"x", partition=0, timestamp=base + i * 1000)
    p.flush(30)
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "offs"})
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (lo, hi) == (0, 10)
    res = c.offsets_for_times([TopicPartition(topic, 0, base + 5000)], timeout=10)
    assert res[0].offset == 5
    res = c.offsets_for_times([TopicPartition(topic, 0, base + 100000)], timeout=10)
    assert res[0].offset in (-1, 10)  # none at or after: end
    c.close()


def test_admin_metadata_delete_and_create_partitions(server):
    a = admin(server)
    a.create_topics([NewTopic("adm", num_partitions=2, replication_factor=1)])["adm"].result(30)
    md = a.list_topics(timeout=10)
    assert "adm" in md.topics
    assert len(md.topics["adm"].partitions) == 2
    assert 1 in md.brokers
    a.create_partitions([NewPartitions("adm", 5)])["adm"].result(30)
    md = a.list_topics(timeout=10)
    assert len(md.topics["adm"].partitions) == 5
    a.delete_topics(["adm"])["adm"].result(30)
    deadline = time.time() + 10
    while time.time() < deadline and "adm" in a.list_topics(timeout=10).topics:
        time.sleep(0.1)
    assert "adm" not in a.list_topics(timeout=10).topics
    # Creating an existing topic fails with TOPIC_ALREADY_EXISTS.
    a.create_topics([NewTopic("dup", num_partitions=1, replication_factor=1)])["dup"].result(30)
    with pytest.raises(KafkaException) as e:
        a.create_topics([NewTopic("dup", num_partitions=1, replication_factor=1)])["dup"].result(30)
    assert "TOPIC_ALREADY_EXISTS" in str(e.value) or "already exists" in str(e.value)


def test_describe_configs_topic_and_broker_defaults(server):
    a = admin(server)
    a.create_topics([NewTopic("cfg", num_partitions=1, replication_factor=1, config={"retention.ms": "1000"})])["cfg"].result(30)
    res = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "cfg")])
    cfg = list(res.values())[0].result(30)
    assert cfg["retention.ms"].value == "1000"
    assert cfg["segment.bytes"].value == "1073741824"
    assert cfg["cleanup.policy"].value == "delete"
    res = a.describe_configs([ConfigResource(ConfigResource.Type.BROKER, "1")])
    bcfg = list(res.values())[0].result(30)
    assert bcfg["log.retention.ms"].value in ("604800000", None) or "log.retention.hours" in bcfg
    assert bcfg["num.partitions"].value == "1"


def test_kafka_python_client(server):
    kafka = pytest.importorskip("kafka")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition as KTP
    from kafka.admin import KafkaAdminClient, NewTopic as KNewTopic

    adm = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=10000)
    adm.create_topics([KNewTopic("kp", num_partitions=2, replication_factor=1)])
    adm.close()
    codecs = [None, "gzip"]
    try:
        import lz4  # noqa: F401
        codecs.append("lz4")
    except ImportError:
        pass
    n = 0
    for codec in codecs:
        prod = KafkaProducer(bootstrap_servers=server.bootstrap, compression_type=codec, acks="all")
        futs = [prod.send("kp", key=b"k%d" % i, value=b"kafka-python-%d" % i, partition=i % 2,
                          headers=[("h", b"%d" % i)]) for i in range(2000)]
        prod.flush(30)
        for f in futs:
            f.get(timeout=10)
        prod.close()
        n += 2000
    cons = KafkaConsumer(bootstrap_servers=server.bootstrap, group_id=None, auto_offset_reset="earliest",
                         consumer_timeout_ms=5000)
    cons.assign([KTP("kp", 0), KTP("kp", 1)])
    cons.seek_to_beginning()
    got = [m for m in cons]
    cons.close()
    assert len(got) == n
    for part in (0, 1):
        offs = [m.offset for m in got if m.partition == part]
        assert offs == list(range(len(offs)))
    vals = sorted(m.value for m in got)
    assert vals == sorted([b"kafka-python-%d" % i for i in range(2000)] * len(codecs))
