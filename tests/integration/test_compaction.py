"""Log compaction (cleanup.policy=compact) end to end: the broker's cleaner
thread reduces a topic to the latest value per key, keeps offsets, and later
removes tombstones."""
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

CLEANER_EXTRA = {
    "log.cleaner.backoff.ms": "100",
    "log.retention.check.interval.ms": "200",  # housekeeping: segment.ms rolls, cleanable limit
}


def read_all(bootstrap, topic):
    """Every record from the beginning up to the high watermark: [(offset, key, value)]."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"cmp-{time.time()}", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    try:
        _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        out = []
        deadline = time.time() + 20
        while time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    if not out or out[-1][0] >= high - 1:
                        break
                    continue
                raise AssertionError(m.error())
            out.append((m.offset(), m.key(), m.value()))
            if m.offset() >= high - 1:
                break
        return out
    finally:
        c.close()


def produce(bootstrap, topic, items):
    """items: [(key, value)] → {key: offset of its last write}."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4"})
    last = {}

    def cb(err, m):
        assert err is None, err
        last[m.key()] = max(last.get(m.key(), -1), m.offset())

    for k, v in items:
        p.produce(topic, key=k, value=v, on_delivery=cb)
        p.poll(0)
    assert p.flush(30) == 0
    return last


def test_compacted_topic_keeps_latest_value_per_key(make_server):
    s = make_server(extra=CLEANER_EXTRA)
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    topic = "compacted"
    a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config={
        "cleanup.policy": "compact", "segment.bytes": "10000", "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "500"})])[topic].result(30)

    keys = [f"key-{i}".encode() for i in range(10)]
    items = [(keys[i % 10], f"value-{i}-".encode() + b"x" * 40) for i in range(3000)]
    items.append((keys[9], None))  # a tombstone for key-9
    last = produce(s.bootstrap, topic, items)
    latest = {}
    for k, v in items:
        latest[k] = v

    # The cleaner reduces the log to one record per key (the active segment
    # rolls after segment.ms, then is cleaned too).
    deadline = time.time() + 40
    got = None
    while time.time() < deadline:
        got = read_all(s.bootstrap, topic)
        if len(got) == len(keys):
            break
        time.sleep(0.5)
    assert got is not None and len(got) == len(keys), f"{len(got or [])} records left"
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    for o, k, v in got:
        assert v == latest[k], k
        assert o == last[k], k  # the original offset of the key's last write
    assert dict((k, v) for _, k, v in got)[keys[9]] is None  # the tombstone is kept at first

    # More writes make the log dirty again; once delete.retention.ms has
    # passed since the tombstone's segment was cleaned, it goes too.
    deadline = time.time() + 40
    n = 0
    while time.time() < deadline:
        produce(s.bootstrap, topic, [(b"filler", f"f{n}".encode())])
        n += 1
        time.sleep(1.0)
        got = read_all(s.bootstrap, topic)
        if keys[9] not in [k for _, k, _ in got]:
            break
    assert keys[9] not in [k for _, k, _ in got]
    for _, k, v in got:
        if k != b"filler":
            assert v == latest[k]
    # The end offset never moves back.
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "wm"})
    _, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    assert high == 3001 + n
    assert "Cleaned compacted-0" in s.log_text()

    # A record without a key is refused (Kafka: INVALID_RECORD).
    p = Producer({"bootstrap.servers": s.bootstrap, "retries": 0})
    errors = []
    p.produce(topic, value=b"no key", on_delivery=lambda err, m: errors.append(err))
    p.flush(30)
    assert len(errors) == 1 and errors[0] is not None and errors[0].code() == 87, errors


def test_compaction_with_transactions(make_server):
    """A compacted topic written by a transactional producer: the cleaner
    drops the aborted transactions' records (they never come back as a key's
    value), keeps the latest committed value per key, and read_committed
    consumers see exactly those after cleaning."""
    extra = {**CLEANER_EXTRA, "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
             "transaction.state.log.min.isr": "1"}
    s = make_server(extra=extra)
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    topic = "compacted-txn"
    a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1, config={
        "cleanup.policy": "compact", "segment.bytes": "10000", "segment.ms": "1000",
        "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "500"})])[topic].result(30)
    p = Producer({"bootstrap.servers": s.bootstrap, "transactional.id": "compacted-txn-1", "linger.ms": 5})
    p.init_transactions(30)
    keys = [f"key-{i}".encode() for i in range(5)]
    latest = {}
    for t in range(40):
        p.begin_transaction()
        vals = {k: f"{'commit' if t % 3 else 'abort'}-{t}-".encode() + b"x" * 60 for k in keys}
        for k, v in vals.items():
            p.produce(topic, key=k, value=v, partition=0)
        if t % 3:
            p.commit_transaction(30)
            latest.update(vals)
        else:
            p.flush(10)
            p.abort_transaction(30)
    # The last transaction is an aborted one (t = 39 is committed; add one more that aborts).
    p.begin_transaction()
    for k in keys:
        p.produce(topic, key=k, value=b"abort-last", partition=0)
    p.flush(10)
    p.abort_transaction(30)

    deadline = time.time() + 40
    got = None
    while time.time() < deadline:
        got = read_all(s.bootstrap, topic)
        if not any(v.startswith(b"abort") for _, _, v in got) and {k: v for _, k, v in got} == latest:
            break
        time.sleep(0.5)
    # read_all is read_uncommitted: after cleaning, no aborted record is left at all.
    assert not any(v.startswith(b"abort") for _, _, v in got), [v[:12] for _, _, v in got]
    values = {k: v for _, k, v in got}
    assert values == latest, {k: v[:12] for k, v in values.items()}
    # A read_committed consumer sees the same latest values.
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "cmp-rc", "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    seen = {}
    deadline = time.time() + 15
    while time.time() < deadline and len(seen) < len(keys):
        for m in c.consume(100, 0.5):
            if not m.error():
                seen[m.key()] = m.value()
    c.close()
    assert seen == latest
