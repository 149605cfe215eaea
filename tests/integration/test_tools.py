"""`flotilla dump-log` on the files of a running node, and DescribeLogDirs.

dump-log reads the segment files a live server is writing (the data
partition's segment and the preallocated metadata log); DescribeLogDirs is
sent on the wire (the installed confluent-kafka has no describe_log_dirs) at
a non-flexible and a flexible version.
"""
import os
import re
import struct

from confluent_kafka import Producer

from conftest import create_topic, run_tool
from kafka_wire import Reader, connect, request, response, uvarint

BATCH_LINE = re.compile(
    r"^baseOffset: (\d+) lastOffset: (\d+) count: (\d+) baseSequence: -?\d+ lastSequence: -?\d+ producerId: -?\d+ "
    r"producerEpoch: -?\d+ partitionLeaderEpoch: \d+ isTransactional: (true|false) isControl: (true|false) "
    r"deleteHorizonMs: OptionalLong.empty position: (\d+) (CreateTime|LogAppendTime): \d+ size: (\d+) magic: 2 "
    r"compresscodec: (none|gzip|snappy|lz4|zstd) crc: \d+ isvalid: true$")


def produce(bootstrap, topic, records, compression="none"):
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": compression, "linger.ms": 20})
    errors = []
    for key, value, headers in records:
        p.produce(topic, key=key, value=value, headers=headers, partition=0,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(20) == 0
    assert errors == []


def segment(server, topic, partition=0):
    return os.path.join(server.data, f"{topic}-{partition}", "00000000000000000000.log")


def test_dump_log_print_data_log(server):
    create_topic(server, "dumped")
    produce(server.bootstrap, "dumped", [
        (b"k0", b"first value", None),
        (None, b"second value", [("trace", b"abc"), ("empty", None)]),
        (b"k2", None, None),
    ])
    # Compressible values, so that the client really sends a gzip batch.
    produce(server.bootstrap, "dumped", [(f"z{i}".encode(), ("zipped-%d-" % i + "x" * 200).encode(), None) for i in range(5)],
            compression="gzip")
    path = segment(server, "dumped")
    r = run_tool("dump-log", "--print-data-log", "--files", path)
    lines = r.stdout.splitlines()
    assert lines[0] == f"Dumping {path}"
    assert lines[1] == "Log starting offset: 0"
    batches = [BATCH_LINE.match(l) for l in lines if l.startswith("baseOffset:")]
    assert all(batches), r.stdout
    assert [int(b.group(6)) for b in batches][0] == 0
    # Positions are the running sum of batch sizes; the last batch ends the file.
    pos = 0
    for b in batches:
        assert int(b.group(6)) == pos
        pos += int(b.group(8))
    assert pos == os.path.getsize(path)
    assert "gzip" in [b.group(9) for b in batches]
    records = [l for l in lines if l.startswith("| offset:")]
    assert len(records) == 8
    assert records[0].endswith("keySize: 2 valueSize: 11 sequence: -1 headerKeys: [] key: k0 payload: first value"), records[0]
    assert records[1].endswith("keySize: -1 valueSize: 12 sequence: -1 headerKeys: [trace,empty] payload: second value"), records[1]
    assert records[2].endswith("keySize: 2 valueSize: -1 sequence: -1 headerKeys: [] key: k2"), records[2]
    for i in range(5):
        assert records[3 + i].startswith(f"| offset: {3 + i} CreateTime: ")
        assert records[3 + i].endswith(f"key: z{i} payload: zipped-{i}-" + "x" * 200)
    assert r.stderr == ""

    # Without --print-data-log / --deep-iteration: batches only.
    shallow = run_tool("dump-log", "--files", path)
    assert [l for l in shallow.stdout.splitlines() if l.startswith("|")] == []
    assert len([l for l in shallow.stdout.splitlines() if l.startswith("baseOffset:")]) == len(batches)
    # --deep-iteration alone: the record metadata without the payloads.
    deep = run_tool("dump-log", "--deep-iteration", "--files", path)
    deep_records = [l for l in deep.stdout.splitlines() if l.startswith("|")]
    assert len(deep_records) == 8 and all("payload" not in l for l in deep_records)


def test_dump_log_cluster_metadata_decoder(server):
    create_topic(server, "meta-topic", partitions=2)
    path = os.path.join(server.data, "__cluster_metadata-0", "00000000000000000000.log")
    # The live metadata segment (preallocated with zeros past its end).
    r = run_tool("dump-log", "--cluster-metadata-decoder", "--files", path)
    out = r.stdout
    assert r.stderr == ""
    assert "invalid bytes" not in out
    lines = out.splitlines()
    assert lines[:2] == [f"Dumping {path}", "Log starting offset: 0"]
    assert "controlType: LEADER_CHANGE(2)" in lines[3]
    topic = re.search(r'payload: \{"type":"TOPIC_RECORD","version":0,"data":\{"name":"meta-topic","topicId":"([A-Za-z0-9_-]{22})"\}\}$',
                      out, re.M)
    assert topic, out
    topic_id = topic.group(1)
    for p in range(2):
        assert re.search(r'payload: \{"type":"PARTITION_RECORD","version":\d,"data":\{"partitionId":%d,"topicId":"%s",'
                         r'"replicas":\[1\],"isr":\[1\],"removingReplicas":\[\],"addingReplicas":\[\],"leader":1,'
                         r'"leaderEpoch":0,"partitionEpoch":0' % (p, re.escape(topic_id)), out), out
    assert re.search(r'payload: \{"type":"REGISTER_BROKER_RECORD","version":\d,"data":\{"brokerId":1,', out)
    assert '"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":' in out
    # Every record line decoded.
    assert "Error at" not in out
    for l in lines[2:]:
        assert l.startswith("baseOffset: ") or l.startswith("| offset: "), l

    boot = os.path.join(server.data, "bootstrap.checkpoint")
    b = run_tool("dump-log", "--cluster-metadata-decoder", "--files", boot)
    assert b.stdout.splitlines()[1] == "KRaft bootstrap snapshot"
    assert 'SnapshotHeader {"version":0,"lastContainedLogTimestamp":' in b.stdout
    assert "SnapshotFooter {\"version\":0}" in b.stdout


# ---------------------------------------------------------------- DescribeLogDirs

def describe_log_dirs(bootstrap, version, topics=None):
    """DescribeLogDirs at `version` (0-4); topics None asks for every
    partition, else [(topic, [partitions])]. Returns (error, [result dicts])."""
    flexible = version >= 2

    def arr(n):
        return uvarint(n + 1) if flexible else struct.pack(">i", n)

    def s(v):
        b = v.encode()
        return uvarint(len(b) + 1) + b if flexible else struct.pack(">h", len(b)) + b

    if topics is None:
        body = uvarint(0) if flexible else struct.pack(">i", -1)
    else:
        body = arr(len(topics))
        for name, parts in topics:
            body += s(name) + arr(len(parts)) + b"".join(struct.pack(">i", p) for p in parts)
            if flexible:
                body += b"\x00"
    if flexible:
        body += b"\x00"
    sock = connect(bootstrap)
    try:
        request(sock, 35, version, body, flexible_header=flexible)
        r = Reader(response(sock))
    finally:
        sock.close()
    r.i32()  # correlation id
    if flexible:
        r.tags()

    def n():
        return r.uvarint() - 1 if flexible else r.i32()

    def rs():
        if flexible:
            return r.compact_string()
        return r.take(r.i16()).decode()

    r.i32()  # throttle
    error = r.i16() if version >= 3 else 0
    results = []
    for _ in range(n()):
        res = {"error": r.i16(), "log_dir": rs(), "topics": {}}
        for _ in range(n()):
            name = rs()
            parts = {}
            for _ in range(n()):
                index, size, lag, future = r.i32(), r.i64(), r.i64(), r.take(1)[0]
                parts[index] = (size, lag, future)
                if flexible:
                    r.tags()
            res["topics"][name] = parts
            if flexible:
                r.tags()
        if version >= 4:
            res["total_bytes"], res["usable_bytes"] = r.i64(), r.i64()
        if flexible:
            r.tags()
        results.append(res)
    return error, results


def partition_size(server, topic, partition):
    d = os.path.join(server.data, f"{topic}-{partition}")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))


def test_describe_log_dirs(server):
    create_topic(server, "dirs-a", partitions=2)
    create_topic(server, "dirs-b")
    produce(server.bootstrap, "dirs-a", [(b"k", b"v" * 100, None)] * 3)
    data_dir = os.path.abspath(server.data)
    for version in (1, 4):
        error, results = describe_log_dirs(server.bootstrap, version)
        assert error == 0
        assert len(results) == 1
        res = results[0]
        assert res["error"] == 0
        assert res["log_dir"] == data_dir
        # The metadata log is not a partition log: not listed (as in Kafka).
        assert sorted(res["topics"]) == ["dirs-a", "dirs-b"]
        assert sorted(res["topics"]["dirs-a"]) == [0, 1]
        size, lag, future = res["topics"]["dirs-a"][0]
        assert size == partition_size(server, "dirs-a", 0) and size > 300
        assert (lag, future) == (0, 0)
        assert res["topics"]["dirs-b"][0] == (0, 0, 0)
        if version >= 4:
            st = os.statvfs(server.data)
            assert res["total_bytes"] == st.f_blocks * st.f_frsize
            assert 0 < res["usable_bytes"] <= res["total_bytes"]
            # Usable space moves as other tests write; within 1 GiB of ours.
            assert abs(res["usable_bytes"] - st.f_bavail * st.f_frsize) < (1 << 30)

    # Only the partitions asked for; unknown ones are left out.
    error, results = describe_log_dirs(server.bootstrap, 3, [("dirs-a", [1, 7]), ("nope", [0])])
    assert error == 0
    assert results[0]["topics"] == {"dirs-a": {1: (partition_size(server, "dirs-a", 1), 0, 0)}}
    error, results = describe_log_dirs(server.bootstrap, 0, [])
    assert results[0]["topics"] == {} and results[0]["log_dir"] == data_dir
