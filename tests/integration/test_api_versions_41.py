"""Kafka 4.0/4.1 protocol baseline (issue 17 §1): a node advertises, for every
API key of Kafka 4.1 it serves, Kafka 4.1's newest version (its oldest too,
or an older one: Flotilla keeps the versions KIP-896 removed), and answers
the new versions with the new fields, on the raw wire (kafka_wire)."""
import importlib.util
import os
import struct
import time
import uuid

import pytest
from conftest import create_topic
from kafka_wire import (TAGS, api_versions, compact_array, compact_bytes, compact_string, flex_call, record_batch)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kafka_41_table():
    spec = importlib.util.spec_from_file_location("api_versions_compare", os.path.join(ROOT, "scripts", "api_versions_compare.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Kafka 4.1 keys a broker listener does not serve, and why (the report's table).
NOT_SERVED = {
    71: "GetTelemetrySubscriptions: only with client telemetry configured",
    72: "PushTelemetry: only with client telemetry configured",
    76: "share groups", 77: "share groups", 78: "share groups", 79: "share groups",
    80: "AddRaftVoter: controller listener", 81: "RemoveRaftVoter: controller listener",
    83: "share groups", 84: "share groups", 85: "share groups", 86: "share groups", 87: "share groups",
    90: "share groups", 91: "share groups", 92: "share groups",
}

UNKNOWN_TOPIC_ID, INVALID_REQUEST, GROUP_ID_NOT_FOUND, INVALID_TXN_STATE = 100, 42, 69, 48
TRANSACTION_ABORTABLE = 120
UNSUPPORTED_VERSION, INVALID_REGULAR_EXPRESSION = 35, 128
RETRIABLE = {14, 15, 16}  # COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR


# One node: the internal topics with one replica.
PROPS = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0",
         "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
         "transaction.state.log.num.partitions": "3", "offsets.topic.num.partitions": "3"}


@pytest.fixture
def server(make_server):
    return make_server(PROPS)


def until(fn, ok, timeout=20):
    """Calls fn until ok(result) (coordinators load asynchronously)."""
    deadline = time.time() + timeout
    while True:
        r = fn()
        if ok(r) or time.time() > deadline:
            return r
        time.sleep(0.2)


def test_every_served_kafka_41_api_reaches_its_newest_version(server):
    mod = kafka_41_table()
    err, ours = api_versions(server.bootstrap, version=3)
    assert err == 0
    missing = sorted(set(mod.KAFKA_4_1) - set(ours))
    assert set(missing) <= set(NOT_SERVED), f"not served and not documented: {missing}"
    for key, (kmin, kmax) in mod.KAFKA_4_1.items():
        if key not in ours:
            continue
        mn, mx = ours[key]
        assert mx == kmax, f"api {key}: Flotilla max {mx}, Kafka 4.1 max {kmax}"
        assert mn <= kmin, f"api {key}: Flotilla min {mn} above Kafka 4.1's {kmin}"
    # The legacy versions KIP-896 removed stay (magic 0/1 clients, issue 17).
    assert ours[0][0] == 0 and ours[2][0] == 0 and ours[8][0] == 0


def metadata_v13(bootstrap, topics=None):
    """Metadata v13: (top-level error, {name: topic id})."""
    body = compact_array(topics, lambda n: b"\x00" * 16 + compact_string(n) + TAGS) + b"\x00" + b"\x00" + TAGS
    r = flex_call(bootstrap, 3, 13, body)
    r.i32()  # throttle
    r.array(lambda r: (r.i32(), r.compact_string(), r.i32(), r.compact_string(), r.tags()))
    r.compact_string()
    r.i32()
    ids = {}

    def topic(r):
        r.i16()
        name = r.compact_string()
        ids[name] = r.uuid()
        r.boolean()
        r.array(lambda r: (r.i16(), r.i32(), r.i32(), r.i32(), r.array(lambda r: r.i32()), r.array(lambda r: r.i32()),
                           r.array(lambda r: r.i32()), r.tags()))
        r.i32()
        r.tags()

    r.array(topic)
    error = r.i16()
    r.tags()
    assert r.p == len(r.d), "trailing bytes after Metadata v13"
    return error, ids


def produce_v13(bootstrap, topic_id, records):
    """Produce v13 (by topic id) of one partition: (topic id answered, error, base offset)."""
    part = struct.pack(">i", 0) + compact_bytes(records) + TAGS
    body = b"\x00" + struct.pack(">hi", 1, 5000) + compact_array([topic_id + compact_array([part]) + TAGS]) + TAGS
    r = flex_call(bootstrap, 0, 13, body)
    out = []

    def partition(r):
        index, err, base = r.i32(), r.i16(), r.i64()
        r.i64(), r.i64()
        r.array(lambda r: (r.i32(), r.compact_string(), r.tags()))
        r.compact_string()
        r.tags()
        return err, base

    def topic(r):
        tid = r.uuid()
        out.append((tid, r.array(partition)))
        r.tags()

    r.array(topic)
    r.i32()
    r.tags()
    (tid, [(err, base)]), = out
    return tid, err, base


def fetch_v18(bootstrap, topic_id, offset=0):
    """Fetch v18 (by topic id) of partition 0: (error, high watermark, records)."""
    part = struct.pack(">iiqiqi", 0, -1, offset, -1, -1, 1 << 20) + TAGS
    body = struct.pack(">iiibii", 500, 1, 1 << 20, 0, 0, -1)
    body += compact_array([topic_id + compact_array([part]) + TAGS]) + compact_array([]) + compact_string("") + TAGS
    r = flex_call(bootstrap, 1, 18, body)
    r.i32()
    assert r.i16() == 0
    r.i32()
    out = []

    def partition(r):
        index, err, hw = r.i32(), r.i16(), r.i64()
        r.i64(), r.i64()
        r.array(lambda r: (r.i64(), r.i64(), r.tags()))
        r.i32()
        records = r.compact_bytes()
        r.tags()
        out.append((err, hw, records))

    r.array(lambda r: (r.uuid(), r.array(partition), r.tags()))
    r.tags()
    return out[0]


def test_produce_v13_fetch_v18_metadata_v13_by_topic_id(server):
    create_topic(server, "v41")
    error, ids = metadata_v13(server.bootstrap, ["v41"])
    assert error == 0 and ids["v41"] != b"\x00" * 16
    tid, err, base = produce_v13(server.bootstrap, ids["v41"], record_batch([b"a", b"b"]))
    assert (tid, err, base) == (ids["v41"], 0, 0)
    err, hw, records = fetch_v18(server.bootstrap, ids["v41"])
    assert err == 0 and hw == 2 and b"a" in records and b"b" in records
    # An id no topic has: UNKNOWN_TOPIC_ID (KIP-516), and nothing is written.
    unknown = uuid.uuid4().bytes
    tid, err, _ = produce_v13(server.bootstrap, unknown, record_batch([b"c"]))
    assert (tid, err) == (unknown, UNKNOWN_TOPIC_ID)
    assert fetch_v18(server.bootstrap, ids["v41"])[1] == 2
    # All topics (null) at v13: the top-level error is there and NONE.
    error, ids = metadata_v13(server.bootstrap, None)
    assert error == 0 and "v41" in ids


def describe_cluster_v2(bootstrap, include_fenced):
    r = flex_call(bootstrap, 60, 2, b"\x00" + b"\x01" + (b"\x01" if include_fenced else b"\x00") + TAGS)
    r.i32()
    err = r.i16()
    r.compact_string()
    assert r.i8() == 1  # brokers
    r.compact_string()
    r.i32()
    brokers = r.array(lambda r: (r.i32(), r.compact_string(), r.i32(), r.compact_string(), r.boolean(), r.tags()))
    r.i32()
    r.tags()
    assert r.p == len(r.d)
    return err, [(b[0], b[4]) for b in brokers]


def test_describe_cluster_v2_is_fenced(server):
    assert describe_cluster_v2(server.bootstrap, False) == (0, [(1, False)])
    assert describe_cluster_v2(server.bootstrap, True) == (0, [(1, False)])


def find_coordinator_v6(bootstrap, key_type, keys):
    r = flex_call(bootstrap, 10, 6, struct.pack(">b", key_type) + compact_array(keys, compact_string) + TAGS)
    r.i32()
    out = r.array(lambda r: (r.compact_string(), r.i32(), r.compact_string(), r.i32(), r.i16(), r.compact_string(), r.tags()))
    r.tags()
    return [(c[0], c[4]) for c in out]


def describe_groups_v6(bootstrap, group):
    r = flex_call(bootstrap, 15, 6, compact_array([group], compact_string) + b"\x00" + TAGS)
    r.i32()

    def g(r):
        err, msg, gid, state = r.i16(), r.compact_string(), r.compact_string(), r.compact_string()
        r.compact_string(), r.compact_string()
        r.array(lambda r: (r.compact_string(), r.compact_string(), r.compact_string(), r.compact_string(), r.compact_bytes(),
                           r.compact_bytes(), r.tags()))
        r.i32()
        r.tags()
        return err, msg, gid, state

    (out,) = r.array(g)
    r.tags()
    return out


def test_find_coordinator_v6_and_describe_groups_v6(server):
    # Key type 2 (share groups, KIP-932) is not served: INVALID_REQUEST.
    assert find_coordinator_v6(server.bootstrap, 2, ["g:t:0"]) == [("g:t:0", INVALID_REQUEST)]
    found = until(lambda: find_coordinator_v6(server.bootstrap, 0, ["nobody"]), lambda r: r[0][1] == 0)
    assert found == [("nobody", 0)]
    err, msg, gid, state = until(lambda: describe_groups_v6(server.bootstrap, "nobody"), lambda r: r[0] not in RETRIABLE)
    # v6 (KIP-1043): an unknown group is GROUP_ID_NOT_FOUND with a message.
    assert (err, gid) == (GROUP_ID_NOT_FOUND, "nobody") and msg == "Group nobody not found."


def init_producer_id_v4(bootstrap, txn_id):
    body = compact_string(txn_id) + struct.pack(">iqh", 60000, -1, -1) + TAGS
    r = flex_call(bootstrap, 22, 4, body)
    r.i32()
    return r.i16(), r.i64(), r.i16()


def list_transactions_v2(bootstrap, pattern):
    body = compact_array([]) + compact_array([]) + struct.pack(">q", -1) + compact_string(pattern) + TAGS
    r = flex_call(bootstrap, 66, 2, body)
    r.i32()
    err = r.i16()
    r.array(lambda r: r.compact_string())
    states = r.array(lambda r: (r.compact_string(), r.i64(), r.compact_string(), r.tags()))
    r.tags()
    return err, sorted(s[0] for s in states)


def end_txn_v5(bootstrap, txn_id, pid, epoch, commit):
    r = flex_call(bootstrap, 26, 5, compact_string(txn_id) + struct.pack(">qhb", pid, epoch, 1 if commit else 0) + TAGS)
    r.i32()
    out = (r.i16(), r.i64(), r.i16())
    r.tags()
    assert r.p == len(r.d)
    return out


def test_list_transactions_v2_pattern_and_end_txn_v5(server):
    ids = {}
    for t in ("tx-a1", "tx-a2", "tx-b1"):
        # FindCoordinator creates __transaction_state; then the coordinator loads.
        assert until(lambda: find_coordinator_v6(server.bootstrap, 1, [t]), lambda r: r[0][1] == 0) == [(t, 0)]
        err, pid, epoch = until(lambda: init_producer_id_v4(server.bootstrap, t), lambda r: r[0] not in RETRIABLE | {51})
        assert err == 0
        ids[t] = (pid, epoch)
    assert list_transactions_v2(server.bootstrap, None) == (0, ["tx-a1", "tx-a2", "tx-b1"])
    assert list_transactions_v2(server.bootstrap, "") == (0, ["tx-a1", "tx-a2", "tx-b1"])
    # Java's Pattern.matches: the whole id.
    assert list_transactions_v2(server.bootstrap, "tx-a.") == (0, ["tx-a1", "tx-a2"])
    assert list_transactions_v2(server.bootstrap, "a1") == (0, [])
    assert list_transactions_v2(server.bootstrap, "(") == (INVALID_REGULAR_EXPRESSION, [])
    # EndTxn v5 decodes with its producer id and epoch (-1 on an error); with
    # transaction.version not finalized at 2 the KIP-98 rules apply: nothing to end.
    pid, epoch = ids["tx-a1"]
    assert end_txn_v5(server.bootstrap, "tx-a1", pid, epoch, True) == (INVALID_TXN_STATE, -1, -1)


def list_config_resources_v1(bootstrap, types):
    r = flex_call(bootstrap, 74, 1, compact_array(types, lambda t: struct.pack(">b", t)) + TAGS)
    r.i32()
    err = r.i16()
    res = r.array(lambda r: (r.compact_string(), r.i8(), r.tags()))
    r.tags()
    return err, sorted((n, t) for n, t, _ in res)


def test_list_config_resources_v1(server):
    create_topic(server, "cfg41")
    err, res = list_config_resources_v1(server.bootstrap, [2, 4])
    assert err == 0 and ("cfg41", 2) in res and ("1", 4) in res
    err, res = list_config_resources_v1(server.bootstrap, [])
    assert err == 0 and {("cfg41", 2), ("1", 4), ("1", 8)} <= set(res)
    assert list_config_resources_v1(server.bootstrap, [1]) == (UNSUPPORTED_VERSION, [])


def consumer_group_describe_v1(bootstrap, group):
    r = flex_call(bootstrap, 69, 1, compact_array([group], compact_string) + b"\x00" + TAGS)
    r.i32()

    def assignment(r):
        r.array(lambda r: (r.uuid(), r.compact_string(), r.array(lambda r: r.i32()), r.tags()))
        r.tags()

    def member(r):
        mid = r.compact_string()
        r.compact_string(), r.compact_string(), r.i32(), r.compact_string(), r.compact_string()
        r.array(lambda r: r.compact_string())
        r.compact_string()
        assignment(r)
        assignment(r)
        mtype = r.i8()
        r.tags()
        return mid, mtype

    def group_(r):
        err, _, gid = r.i16(), r.compact_string(), r.compact_string()
        r.compact_string(), r.i32(), r.i32(), r.compact_string()
        members = r.array(member)
        r.i32()
        r.tags()
        return err, gid, members

    (out,) = r.array(group_)
    r.tags()
    assert r.p == len(r.d)
    return out


def consumer_group_heartbeat_join(bootstrap, group, topic):
    body = compact_string(group) + compact_string("m-41") + struct.pack(">i", 0) + compact_string(None) + compact_string(None)
    body += struct.pack(">i", 45000) + compact_array([topic], compact_string) + compact_string(None) + compact_string("uniform")
    body += compact_array([]) + TAGS
    r = flex_call(bootstrap, 68, 1, body)
    r.i32()
    return r.i16()


def test_consumer_group_describe_v1_member_type(server):
    create_topic(server, "cg41")
    until(lambda: find_coordinator_v6(server.bootstrap, 0, ["cg41"]), lambda r: r[0][1] == 0)
    err = until(lambda: consumer_group_heartbeat_join(server.bootstrap, "cg41", "cg41"), lambda e: e not in RETRIABLE)
    assert err == 0
    err, gid, members = consumer_group_describe_v1(server.bootstrap, "cg41")
    # MemberType (KIP-1099): 1, a member of the consumer protocol.
    assert (err, gid) == (0, "cg41") and members == [("m-41", 1)]


def alter_reassignments_v1(bootstrap, topic, replicas, allow):
    part = struct.pack(">i", 0) + compact_array(replicas, lambda b: struct.pack(">i", b)) + TAGS
    body = struct.pack(">i", 30000) + (b"\x01" if allow else b"\x00") + compact_array([compact_string(topic) + compact_array([part]) + TAGS]) + TAGS
    r = flex_call(bootstrap, 45, 1, body)
    r.i32()
    allowed = r.boolean()
    err = r.i16()
    r.compact_string()
    parts = r.array(lambda r: (r.compact_string(), r.array(lambda r: (r.i32(), r.i16(), r.compact_string(), r.tags())), r.tags()))
    r.tags()
    return allowed, err, [(p[0], p[1], p[2]) for t in parts for p in t[1]]


def test_alter_partition_reassignments_v1_echoes_the_flag(server):
    create_topic(server, "ra41")
    # The same replication factor is allowed with AllowReplicationFactorChange false.
    allowed, err, parts = alter_reassignments_v1(server.bootstrap, "ra41", [1], False)
    assert (allowed, err) == (False, 0) and parts == [(0, 0, None)]
    allowed, err, parts = alter_reassignments_v1(server.bootstrap, "ra41", [1], True)
    assert (allowed, err) == (True, 0) and parts == [(0, 0, None)]


def add_partitions_v5(bootstrap, txn_id, pid, epoch, topic, partitions, verify_only):
    """AddPartitionsToTxn v5 (the batched form partition leaders send): (top-level error, {partition: error})."""
    topics = compact_array([compact_string(topic) + compact_array(partitions, lambda p: struct.pack(">i", p)) + TAGS])
    txn = compact_string(txn_id) + struct.pack(">qh", pid, epoch) + (b"\x01" if verify_only else b"\x00") + topics + TAGS
    r = flex_call(bootstrap, 24, 5, compact_array([txn]) + TAGS)
    r.i32()
    err = r.i16()
    results = r.array(lambda r: (r.compact_string(), r.array(lambda r: (r.compact_string(), r.array(
        lambda r: (r.i32(), r.i16(), r.tags())), r.tags())), r.tags()))
    r.tags()
    assert r.p == len(r.d)
    return err, {p: e for _, ts, _ in results for _, ps, _ in ts for p, e, _ in ps}


def test_add_partitions_to_txn_v5_verifies_and_adds(server):
    create_topic(server, "apt41", partitions=2)
    until(lambda: find_coordinator_v6(server.bootstrap, 1, ["tx-v5"]), lambda r: r[0][1] == 0)
    err, pid, epoch = until(lambda: init_producer_id_v4(server.bootstrap, "tx-v5"), lambda r: r[0] not in RETRIABLE | {51})
    assert err == 0
    # Verification (KIP-890 part 1): not in the transaction yet (TRANSACTION_ABORTABLE, as Kafka 3.8+), nothing added.
    assert add_partitions_v5(server.bootstrap, "tx-v5", pid, epoch, "apt41", [0], True) == (0, {0: TRANSACTION_ABORTABLE})
    # Not VerifyOnly: added (what a TV2 partition leader asks for a Produce v12).
    assert add_partitions_v5(server.bootstrap, "tx-v5", pid, epoch, "apt41", [0], False) == (0, {0: 0})
    assert add_partitions_v5(server.bootstrap, "tx-v5", pid, epoch, "apt41", [0, 1], True) == (0, {0: 0, 1: TRANSACTION_ABORTABLE})
    # A stale epoch is fenced; an unknown partition fails alone, the others are not attempted.
    assert add_partitions_v5(server.bootstrap, "tx-v5", pid, epoch + 1, "apt41", [0], True) == (0, {0: 90})
    assert add_partitions_v5(server.bootstrap, "tx-v5", pid, epoch, "nope41", [0], False) == (0, {0: 3})
    # The transaction holds what was added: EndTxn v5 (KIP-98 rules here) commits it, same id and epoch.
    assert end_txn_v5(server.bootstrap, "tx-v5", pid, epoch, True) == (0, pid, epoch)


def test_list_transactions_v2_pattern_survives_a_long_id_and_hostile_patterns(server):
    """Patterns are RE2 (common/client_pattern.h): a 20,000-character
    transactional id is matched in full in linear time (std::regex recursed
    per character and overflowed the stack), and a pattern that would overflow
    a recursive compiler (100,000 nested groups) is INVALID_REGULAR_EXPRESSION;
    the node answers and stays up."""
    long_id = "L" * 20000
    for t in ("tx-short", long_id):
        assert until(lambda: find_coordinator_v6(server.bootstrap, 1, [t]), lambda r: r[0][1] == 0)[0][1] == 0
        err, _, _ = until(lambda: init_producer_id_v4(server.bootstrap, t), lambda r: r[0] not in RETRIABLE | {51})
        assert err == 0
    assert list_transactions_v2(server.bootstrap, ".*") == (0, sorted(["tx-short", long_id]))
    assert list_transactions_v2(server.bootstrap, "(L|M)*") == (0, [long_id])
    assert list_transactions_v2(server.bootstrap, "(" * 100000 + "L" + ")" * 100000)[0] == 128  # INVALID_REGULAR_EXPRESSION
    # Without a pattern both are listed, and the node is still there.
    err, ids = list_transactions_v2(server.bootstrap, None)
    assert err == 0 and ids == sorted(["tx-short", long_id])
    assert server.proc.poll() is None
