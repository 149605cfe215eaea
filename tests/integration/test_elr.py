"""Eligible leader replicas (KIP-966) and DescribeTopicPartitions (API 75) on
a 1-controller, 3-broker cluster formatted at 4.0 with
eligible.leader.replicas.version=1: brokers killed with SIGKILL move replicas
from the ISR into the ELR (and the last leader into LastKnownElr),
`topics --describe` prints them as Kafka 4.x's kafka-topics does, restarts
after an unclean shutdown leave the ELR, and DescribeTopicPartitions pages
every partition exactly once through its cursors (raw wire, not our client)."""
import struct
import time

from conftest import run_tool
from kafka_wire import Reader, connect, request, response, uvarint

FAST = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500", "replica.lag.time.max.ms": "5000"}
ELR_FORMAT = ("--release-version", "4.0", "--feature", "eligible.leader.replicas.version=1")


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def describe_topic_partitions(bootstrap, topics, limit=2000, cursor=None):
    """DescribeTopicPartitions v0: (topics [(error, name, [partition dict])], next_cursor or None)."""
    body = uvarint(len(topics) + 1) + b"".join(compact_string(t) + b"\x00" for t in topics)
    body += struct.pack(">i", limit)
    if cursor is None:
        body += struct.pack(">b", -1)
    else:
        body += struct.pack(">b", 1) + compact_string(cursor[0]) + struct.pack(">i", cursor[1]) + b"\x00"
    body += b"\x00"
    s = connect(bootstrap)
    try:
        request(s, 75, 0, body, flexible_header=True)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()
    r.tags()
    r.i32()  # throttle

    def int_array():
        n = r.uvarint()
        return None if n == 0 else [r.i32() for _ in range(n - 1)]

    topics_out = []
    for _ in range(r.uvarint() - 1):
        err = r.i16()
        name = r.compact_string()
        r.take(16)  # topic id
        r.take(1)  # is internal
        parts = []
        for _ in range(r.uvarint() - 1):
            p = {"error": r.i16(), "partition": r.i32(), "leader": r.i32(), "leader_epoch": r.i32()}
            p["replicas"] = int_array()
            p["isr"] = int_array()
            p["elr"] = int_array()
            p["last_known_elr"] = int_array()
            p["offline"] = int_array()
            r.tags()
            parts.append(p)
        r.i32()  # authorized operations
        r.tags()
        topics_out.append((err, name, parts))
    next_cursor = None
    if struct.unpack(">b", r.take(1))[0] >= 0:
        next_cursor = (r.compact_string(), r.i32())
        r.tags()
    r.tags()
    return topics_out, next_cursor


def partition_state(bootstrap, topic):
    topics, _ = describe_topic_partitions(bootstrap, [topic])
    assert topics[0][0] == 0, topics
    return topics[0][2][0]


def wait_for(bootstrap, topic, pred, timeout=30):
    deadline = time.time() + timeout
    p = None
    while time.time() < deadline:
        p = partition_state(bootstrap, topic)
        if pred(p):
            return p
        time.sleep(0.2)
    raise AssertionError(f"{topic}: state never reached; last {p}")


def describe_lines(bootstrap, topic):
    out = run_tool("topics", "--bootstrap-server", bootstrap, "--describe", "--topic", topic).stdout
    return [l for l in out.splitlines() if l.startswith("\tTopic:")]


def test_elr_follows_kill9_and_unclean_restarts(cluster):
    c = cluster(controllers=1, brokers=3, extra=FAST, format_args=ELR_FORMAT)
    b100, b101, b102 = c.brokers
    boot = b100.bootstrap
    # A: on all three brokers; B: on 101 and 102 only. Both min.insync.replicas=2.
    for name, assignment in (("elr-a", "100:101:102"), ("elr-b", "101:102")):
        run_tool("topics", "--bootstrap-server", boot, "--create", "--topic", name, "--replica-assignment", assignment,
                 "--config", "min.insync.replicas=2")
    wait_for(boot, "elr-a", lambda p: sorted(p["isr"]) == [100, 101, 102])
    wait_for(boot, "elr-b", lambda p: p["leader"] == 101 and sorted(p["isr"]) == [101, 102])
    assert describe_lines(boot, "elr-a") == [
        "\tTopic: elr-a\tPartition: 0\tLeader: 100\tReplicas: 100,101,102\tIsr: 100,101,102\tElr: \tLastKnownElr: "]

    # 102 dies: A keeps min ISR (no ELR); B drops below it and 102 becomes eligible.
    b102.kill9()
    wait_for(boot, "elr-a", lambda p: sorted(p["isr"]) == [100, 101])
    b = wait_for(boot, "elr-b", lambda p: p["isr"] == [101])
    assert b["elr"] == [102] and b["last_known_elr"] == []
    assert partition_state(boot, "elr-a")["elr"] == []

    # 101 dies too: A below min ISR (101 eligible); B leaderless, both eligible, 101 its last leader.
    b101.kill9()
    a = wait_for(boot, "elr-a", lambda p: p["isr"] == [100])
    assert a["elr"] == [101] and a["leader"] == 100
    b = wait_for(boot, "elr-b", lambda p: p["isr"] == [])
    assert b["leader"] == -1 and b["elr"] == [101, 102] and b["last_known_elr"] == [101]
    assert sorted(b["offline"]) == [101, 102]
    assert describe_lines(boot, "elr-a") == [
        "\tTopic: elr-a\tPartition: 0\tLeader: 100\tReplicas: 100,101,102\tIsr: 100\tElr: 101\tLastKnownElr: "]
    assert describe_lines(boot, "elr-b") == [
        "\tTopic: elr-b\tPartition: 0\tLeader: none\tReplicas: 101,102\tIsr: \tElr: 101,102\tLastKnownElr: 101"]
    unavailable = run_tool("topics", "--bootstrap-server", boot, "--describe", "--unavailable-partitions").stdout
    assert "\tTopic: elr-b\tPartition: 0\tLeader: none" in unavailable and "elr-a" not in unavailable

    # 101 restarts after its unclean shutdown: it leaves every ELR and cannot lead B.
    b101.start(wait=False)
    b = wait_for(boot, "elr-b", lambda p: p["elr"] == [102])
    assert b["leader"] == -1 and b["last_known_elr"] == [101]
    b101.wait_ready(timeout=30)
    wait_for(boot, "elr-a", lambda p: p["elr"] == [] and sorted(p["isr"]) == [100, 101])
    # 102 restarts uncleanly as well: the ELR empties and the last known leader (101) is elected.
    b102.start()
    b = wait_for(boot, "elr-b", lambda p: p["leader"] == 101)
    assert b["elr"] == [] and b["last_known_elr"] == []
    assert 101 in b["isr"]


def test_describe_topic_partitions_paging(cluster):
    c = cluster(controllers=1, brokers=3, extra=FAST, format_args=ELR_FORMAT)
    boot = c.brokers[0].bootstrap
    sizes = {"page-a": 5, "page-b": 1, "page-c": 7}
    for name, n in sizes.items():
        run_tool("topics", "--bootstrap-server", boot, "--create", "--topic", name, "--partitions", str(n),
                 "--replication-factor", "2")
    expected = sorted((t, p) for t, n in sizes.items() for p in range(n))
    for named in ([], sorted(sizes)):
        for limit in (1, 3, 4, 13, 2000):
            seen, cursor, pages = [], None, 0
            while True:
                topics, cursor = describe_topic_partitions(boot, named, limit=limit, cursor=cursor)
                pages += 1
                assert sum(len(t[2]) for t in topics) <= limit
                for err, name, parts in topics:
                    assert err == 0, (name, err)
                    for p in parts:
                        assert p["error"] == 0 and len(p["replicas"]) == 2 and p["elr"] == [] and p["last_known_elr"] == []
                        seen.append((name, p["partition"]))
                if cursor is None:
                    break
                assert pages < 50
            assert sorted(seen) == expected and len(seen) == len(set(seen)), (named, limit, seen)
            assert pages == -(-len(expected) // limit) or limit in (4, 13)  # a page may end on a topic's end
    # Errors: an unknown topic, an invalid name, a cursor outside the named topics.
    topics, cursor = describe_topic_partitions(boot, ["no-such-topic", "bad/name", "page-b"])
    by_name = {name: (err, parts) for err, name, parts in topics}
    assert by_name["no-such-topic"][0] == 3 and by_name["bad/name"][0] == 17 and by_name["page-b"][0] == 0
    topics, cursor = describe_topic_partitions(boot, ["page-a"], cursor=("page-c", 0))
    assert [(err, name) for err, name, _ in topics] == [(42, "page-a")]
    # topics --describe pages too (--partition-size-limit-per-response) and prints every partition once.
    out = run_tool("topics", "--bootstrap-server", boot, "--describe", "--topic", "page-.*",
                   "--partition-size-limit-per-response", "2").stdout
    lines = [l for l in out.splitlines() if l.startswith("\tTopic:")]
    assert len(lines) == 13 and all("\tElr: \tLastKnownElr: " in l for l in lines), out


def test_storage_format_feature_checks(workdir):
    import os
    from conftest import Server
    os.makedirs(os.path.join(workdir, "fmt"))
    s = Server(os.path.join(workdir, "fmt"))
    bad = run_tool("storage", "format", "--config", s.config, "--cluster-id", run_tool("storage", "random-uuid").stdout.strip(),
                   "--feature", "eligible.leader.replicas.version=1", check=False)
    assert bad.returncode == 1
    assert "eligible.leader.replicas.version could not be set to 1 because it depends on metadata.version level 23" in bad.stderr
    unknown = run_tool("storage", "format", "--config", s.config, "--cluster-id", run_tool("storage", "random-uuid").stdout.strip(),
                       "--feature", "nope.version=1", check=False)
    assert unknown.returncode == 1 and "Unsupported feature: nope.version." in unknown.stderr
    ok = s.format(args=ELR_FORMAT)
    assert "with metadata.version 4.0-IV3" in ok.stdout
    out = run_tool("dump-log", "--cluster-metadata-decoder", "--files", os.path.join(s.data, "bootstrap.checkpoint")).stdout
    assert '"name":"eligible.leader.replicas.version","featureLevel":1' in out, out
