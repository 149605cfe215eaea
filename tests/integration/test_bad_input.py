"""Bad input gets a Kafka error code or a closed connection, never a crash; stored data is untouched."""
import os
import struct
import time

import kafka_wire as kw
from conftest import create_topic


def assert_alive(server):
    err, apis = kw.api_versions(server.bootstrap)
    assert err == 0 and 0 in apis


def test_oversized_and_negative_frames_close_only_that_connection(server):
    for size in (-5, 200 * 1024 * 1024):
        s = kw.connect(server.bootstrap)
        s.sendall(struct.pack(">i", size))
        assert kw.is_closed(s)
        s.close()
        assert_alive(server)


def test_unknown_api_key_and_garbage(server):
    s = kw.connect(server.bootstrap)
    kw.request(s, 9999, 0, b"")
    assert kw.is_closed(s)
    s.close()
    s = kw.connect(server.bootstrap)
    kw.request(s, 3, 1, b"\xff\xff\xff\x7f garbage")
    assert kw.is_closed(s)
    s.close()
    s = kw.connect(server.bootstrap)
    s.sendall(struct.pack(">i", 3) + b"abc")  # shorter than a header
    assert kw.is_closed(s)
    s.close()
    assert_alive(server)


def test_api_versions_unsupported_version_answers_v0_with_error(server):
    s = kw.connect(server.bootstrap)
    kw.request(s, 18, 99, b"\x00", flexible_header=True)
    r = kw.response(s)
    s.close()
    corr, err = struct.unpack(">ih", r[:6])
    assert err == 35  # UNSUPPORTED_VERSION
    n = struct.unpack(">i", r[6:10])[0]
    keys = {struct.unpack(">h", r[10 + 6 * i:12 + 6 * i])[0] for i in range(n)}
    assert {0, 1, 3, 18} <= keys


def test_corrupt_and_old_batches_are_refused_and_nothing_is_stored(server):
    create_topic(server, "bad")
    good = kw.record_batch([b"a", b"b"])
    assert kw.produce_v3(server.bootstrap, "bad", 0, good) == (0, 0)
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, kw.record_batch([b"c"], corrupt_crc=True))
    assert err == 2  # CORRUPT_MESSAGE
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, kw.record_batch([b"c"], magic=1))
    assert err in (35, 43)
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, good[:-3])  # truncated batch
    assert err == 2
    assert kw.list_offset_latest(server.bootstrap, "bad", 0) == (0, 2)
    assert kw.produce_v3(server.bootstrap, "bad", 0, good) == (0, 2)


def test_produce_to_missing_topic_and_invalid_names(server):
    err, _ = kw.produce_v3(server.bootstrap, "no-such-topic", 0, kw.record_batch([b"x"]))
    assert err == 3  # UNKNOWN_TOPIC_OR_PARTITION
    for name in ("bad/name", "..", "x" * 250, ""):
        assert kw.create_topic_v0(server.bootstrap, name) == 17  # INVALID_TOPIC_EXCEPTION
    assert_alive(server)


def test_pipelined_produces_naming_a_partition_several_times_append_in_order(make_server):
    """Odd but valid: one Produce lists partition 0 three times. With tiny
    segments, the later appends of a request roll the segment while the
    request's earlier writes are still queued for the append writer; ten such
    requests are pipelined on one connection. Every batch must land once, in
    request order, and read back whole."""
    server = make_server({"log.segment.bytes": "300"})
    create_topic(server, "twice")
    per_request = 3
    body_of = []
    for r in range(10):
        parts = b""
        for k in range(per_request):
            parts += struct.pack(">i", 0)
            batch = kw.record_batch([f"r{r}-b{k}-{i}".encode() for i in range(4)])
            parts += struct.pack(">i", len(batch)) + batch
        body = struct.pack(">h", -1) + struct.pack(">hi", 1, 5000)
        body += struct.pack(">i", 1) + kw.string("twice") + struct.pack(">i", per_request) + parts
        body_of.append(body)
    with kw.connect(server.bootstrap, timeout=30) as s:
        for r, body in enumerate(body_of):
            kw.request(s, 0, 3, body, correlation_id=r + 1)
        bases = []
        for r in range(10):
            resp = kw.response(s)
            assert struct.unpack(">i", resp[:4])[0] == r + 1  # answers in request order
            pos = 4 + 4
            tl = struct.unpack(">h", resp[pos:pos + 2])[0]
            pos += 2 + tl
            assert struct.unpack(">i", resp[pos:pos + 4])[0] == per_request
            pos += 4
            for _ in range(per_request):
                _, err, base = struct.unpack(">ihq", resp[pos:pos + 14])
                pos += 14 + 8  # + log_append_time (v2+)
                assert err == 0
                bases.append(base)
    assert bases == [4 * i for i in range(10 * per_request)]
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "twice", "enable.auto.commit": False})
    c.assign([TopicPartition("twice", 0, 0)])
    got = []
    deadline = time.time() + 30
    while len(got) < 120 and time.time() < deadline:
        for m in c.consume(200, timeout=1.0):
            assert not m.error(), m.error()
            got.append(m.value().decode())
    c.close()
    assert got == [f"r{r}-b{k}-{i}" for r in range(10) for k in range(per_request) for i in range(4)]
    assert len([f for f in os.listdir(os.path.join(server.data, "twice-0")) if f.endswith(".log")]) > 10
    assert_alive(server)


# Found by tests/tools/kafka_mutator.py (issue 21).

def test_alter_replica_log_dirs_to_an_empty_path_is_log_dir_not_found(server):
    """AlterReplicaLogDirs v1 naming the dir "" (which has no absolute form) answered
    LOG_DIR_NOT_FOUND; it threw, and the handler's catch then read the moved-from
    request (the node died of SIGSEGV)."""
    create_topic(server, "moving", 1)
    body = struct.pack(">i", 1) + kw.string("")  # one dir: ""
    body += struct.pack(">i", 1) + kw.string("moving") + struct.pack(">ii", 1, 0)  # moving: [0]
    with kw.connect(server.bootstrap) as s:
        kw.request(s, 34, 1, body)
        r = kw.Reader(kw.response(s))
    r.i32()  # correlation id
    assert r.i32() == 0  # throttle
    assert r.i32() == 1 and r.take(r.i16()) == b"moving"
    assert r.i32() == 1
    assert r.i32() == 0 and r.i16() == 57  # partition 0: LOG_DIR_NOT_FOUND
    assert server.proc.poll() is None
    assert_alive(server)


def test_metadata_before_v12_asked_by_topic_id_is_invalid_request(server):
    """Metadata v10-11 cannot name a topic asked by id (the response's Name is not
    nullable before v12): as Kafka, every topic is answered INVALID_REQUEST, a null
    name as "". The node answered with a null name, which no client can decode."""
    create_topic(server, "by-id", 1)
    body = kw.uvarint(2) + bytes(range(1, 17)) + kw.uvarint(0) + b"\x00"  # one topic: an id, a null name
    body += b"\x00" + b"\x00" + b"\x00"  # allow auto create, topic authorized ops, tags
    with kw.connect(server.bootstrap) as s:
        kw.request(s, 3, 11, body, flexible_header=True)
        r = kw.Reader(kw.response(s))
    r.i32()
    r.tags()
    r.i32()  # throttle
    for _ in range(r.uvarint() - 1):  # brokers: node id, host, port, rack, tags
        r.i32()
        r.compact_string()
        r.i32()
        r.compact_string()
        r.tags()
    r.compact_string()  # cluster id
    r.i32()  # controller id
    assert r.uvarint() - 1 == 1
    assert r.i16() == 42  # INVALID_REQUEST
    assert r.compact_string() == ""
    assert r.take(16) == bytes(range(1, 17))
    assert_alive(server)


def test_creating_the_metadata_topic_is_refused_and_the_node_lives(server):
    """CreateTopics of __cluster_metadata was accepted: its partition's directory is the
    metadata log's (__cluster_metadata-0), and the node exited ("partition.metadata ...
    names topic id AAAAAAAAAAAAAAAAAAAAAQ"). Kafka refuses it with INVALID_REQUEST."""
    assert kw.create_topic_v0(server.bootstrap, "__cluster_metadata") == 42
    time.sleep(0.5)
    assert server.proc.poll() is None
    assert_alive(server)
    server.restart()
    assert_alive(server)
