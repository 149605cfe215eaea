"""Torn writes on a replica (issue: torn writes at every byte). The unit tests
(tests/storage/torn_write_test.cc, tests/raft/torn_write_test.cc) tear every
byte of a last batch; here whole clusters check the promise that matters:
recovery truncates to the last complete batch and, with acks=all, RF=3 and
min.insync.replicas=2, loses nothing acknowledged.

A partition replica: broker 102 is killed -9 and the last batch of its
segment torn (cut at its first byte, zeroed from its middle with the file
size kept, cut at its last byte), then restarted; it must truncate, fetch the
lost batch again and rejoin the ISR, its log then byte for byte the leader's.
After the last round the two other brokers are killed -9: the torn replica
leads alone and serves every acknowledged record, in send order, once.

A controller: the last batch of a follower controller's `__cluster_metadata-0`
segment is torn the same three ways; it restarts, catches up with the leader
and its metadata image converges with the leader's (metadata-diff)."""
import glob
import os
import struct
import time

from confluent_kafka import Producer

from conftest import run_tool
from kafka_wire import describe_quorum
from replication_util import REPL_EXTRA, bootstrap_of, check_acked_present, partitions, read_all, wait_for, wait_isr_full

# (how, where in the last batch): a cut (the size committed, the data not) or
# the size kept and zeros from there on (a page never written).
CUTS = [("cut", "first"), ("zero", "middle"), ("cut", "last")]


def batches(path):
    """The batches of a segment file: (position, size, base offset), up to a zero tail."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos + 12 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        if length < 49 or pos + 12 + length > len(data):
            break  # a zero (preallocated) tail, or the end
        out.append((pos, 12 + length, base))
        pos += 12 + length
    return data, out


def tear_last_batch(seg, how, where):
    """Tears the last batch of `seg`; returns (its base offset, the byte torn at)."""
    data, bs = batches(seg)
    assert bs, f"no batch in {seg}"
    pos, size, base = bs[-1]
    at = pos + {"first": 0, "middle": size // 2, "last": size - 1}[where]
    with open(seg, "r+b") as f:
        if how == "cut":
            f.truncate(at)
        else:
            f.seek(at)
            f.write(b"\0" * (len(data) - at))
        f.flush()
        os.fsync(f.fileno())
    return base, at


def log_bytes(node, topic_dir):
    """Every batch of a partition's log on `node`, all segments, as stored."""
    out = b""
    for seg in sorted(glob.glob(os.path.join(node.data, topic_dir, "*.log"))):
        data, bs = batches(seg)
        out += b"".join(data[p:p + s] for p, s, _ in bs)
    return out


def test_a_torn_replica_keeps_every_acknowledged_record(cluster):
    c = cluster(controllers=1, brokers=3, extra=REPL_EXTRA)
    b100, b101, victim = c.brokers
    topic = "torn"
    run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", topic,
             "--replica-assignment", "100:101:102")
    wait_isr_full(b100, topic, 1, 3)
    p = Producer({"bootstrap.servers": bootstrap_of([b100, b101, victim]), "acks": "all", "enable.idempotence": True,
                  "linger.ms": 0, "message.timeout.ms": 60000, "topic.metadata.refresh.interval.ms": 1000})
    sent, acked, errors = [], [], []

    def on_delivery(err, m):
        if err is None:
            acked.append((m.partition(), m.offset(), m.value()))
        else:
            errors.append(err)

    def produce(n, tag, big_last=False):
        for i in range(n):
            v = b"%s-%06d" % (tag.encode(), len(sent))
            if big_last and i == n - 1:
                assert p.flush(60) == 0
                v += b"." * 300  # a batch of its own, large enough to tear in several places
            sent.append(v)
            p.produce(topic, value=v, partition=0, on_delivery=on_delivery)
            p.poll(0)
        assert p.flush(90) == 0, "records still in flight"
        assert not errors, errors

    for rnd, (how, where) in enumerate(CUTS):
        produce(40, f"r{rnd}", big_last=True)
        last_value = sent[-1]
        victim.kill9()
        seg = sorted(glob.glob(os.path.join(victim.data, f"{topic}-0", "*.log")))[-1]
        data, bs = batches(seg)
        pos, size, _ = bs[-1]
        assert last_value in data[pos:pos + size], "the replica held the last acknowledged batch (acks=all, full ISR)"
        base, at = tear_last_batch(seg, how, where)
        # Production goes on without it (the ISR shrinks to the two others).
        produce(20, f"r{rnd}-down")
        warned = victim.log_text().count("Recovery truncated")
        victim.start()
        wait_isr_full(b100, topic, 1, 3, timeout=90)
        if where != "first":  # (a tear at the first byte leaves a log that simply ends there)
            assert victim.log_text().count("Recovery truncated") == warned + 1, "recovery did not see the torn batch"
        # The replica fetched the torn batch again: every replica's log is the same, byte for byte.
        wait_for(f"round {rnd} ({how} at {where}, byte {at} of batch {base}): the torn replica's log equals the others'",
                 lambda: log_bytes(victim, f"{topic}-0") == log_bytes(b100, f"{topic}-0") == log_bytes(b101, f"{topic}-0"), 20)
    produce(10, "final")
    assert len(acked) == len(sent)

    # The others die: the replica that was torn three times must lead, and hold everything.
    b100.kill9()
    b101.kill9()
    wait_for("102 leads alone", lambda: partitions(victim.bootstrap, topic)[0]["leader"] == 102, 60)
    # Alone it is under min.insync.replicas (2): its high watermark stands still
    # (Kafka >= 3.7) until another replica, restarted, has caught up from it.
    b100.start()
    wait_for("100 back in the ISR", lambda: 100 in partitions(victim.bootstrap, topic)[0]["isr"], 90)
    got, hws = read_all(victim.bootstrap, topic, 1)
    assert check_acked_present(acked, got) == len(sent)
    values = [got[(0, o)] for o in sorted(o for _, o in got)]
    assert len(set(values)) == len(values), "a record is duplicated"
    assert values == sent, "records lost, added or out of send order"


def wait_caught_up(c, node_id, min_hw=0, timeout=30):
    """The leader reports node_id's log end at its high watermark (>= min_hw); returns its answer."""
    def ok():
        for n in c.controllers:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                q = describe_quorum(n.controller, timeout=1)
            except (OSError, ValueError):
                continue
            if q and q["error"] == 0 and q.get("partition_error") == 0 and q["high_watermark"] >= max(min_hw, 1):
                leo = {v[0]: v[1] for v in q["voters"]}
                if leo.get(node_id, -1) >= q["high_watermark"]:
                    return q
        return None
    return wait_for(f"controller {node_id} caught up with the leader", ok, timeout, interval=0.05)


def test_a_torn_metadata_log_tail_on_a_controller_recovers_and_converges(cluster):
    c = cluster(controllers=3, brokers=1)
    broker = c.brokers[0]
    q = wait_caught_up(c, 1)
    victim = next(n for n in c.controllers if n.node_id != q["leader_id"])
    mdir = os.path.join(victim.data, "__cluster_metadata-0")
    for rnd, (how, where) in enumerate(CUTS):
        run_tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", f"before-{rnd}",
                 "--partitions", "2", "--replication-factor", "1")
        q = wait_caught_up(c, victim.node_id)
        victim.kill9()
        seg = sorted(glob.glob(os.path.join(mdir, "*.log")))[-1]
        base, at = tear_last_batch(seg, how, where)
        run_tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", f"after-{rnd}",
                 "--partitions", "1", "--replication-factor", "1")
        warned = victim.log_text().count("Recovery truncated")
        victim.start()
        q2 = wait_caught_up(c, victim.node_id, min_hw=q["high_watermark"] + 1)
        leader = c.controller(q2["leader_id"])
        if where != "first":
            assert victim.log_text().count("Recovery truncated") == warned + 1, "recovery did not see the torn batch"

        def same_image():
            r = run_tool("metadata-diff", os.path.join(leader.data, "__cluster_metadata-0"), mdir, check=False, timeout=60)
            return "No changes." in r.stdout
        wait_for(f"round {rnd} ({how} at {where}, byte {at} of batch {base}): the torn controller's image is the leader's",
                 same_image, 30, interval=0.5)
    listed = set(run_tool("topics", "--bootstrap-server", broker.bootstrap, "--list").stdout.split())
    assert {f"{w}-{r}" for r in range(len(CUTS)) for w in ("before", "after")} <= listed
