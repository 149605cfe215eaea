"""The new consumer group protocol (KIP-848) over the raw wire: no Debian
client speaks it, so the tests build ConsumerGroupHeartbeat v1,
ConsumerGroupDescribe v0, OffsetCommit v9 and OffsetFetch v9 by hand
(kafka_wire.py) against a real server."""
import struct
import time
import uuid

from conftest import create_topic, run_tool
from kafka_wire import Reader, connect, request, response, string, uvarint

GROUP_PROPS = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}

NONE, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR = 0, 14, 15, 16
UNKNOWN_MEMBER_ID, GROUP_ID_NOT_FOUND, FENCED_MEMBER_EPOCH, STALE_MEMBER_EPOCH = 25, 69, 110, 113
RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR)


def cstr(v):
    if v is None:
        return b"\x00"
    b = v.encode()
    return uvarint(len(b) + 1) + b


def carray(items, enc):
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(enc(i) for i in items)


def call(bootstrap, api_key, version, body, flexible=True):
    with connect(bootstrap, timeout=10) as s:
        request(s, api_key, version, body, flexible_header=flexible)
        r = Reader(response(s))
    r.i32()  # correlation id
    if flexible:
        r.tags()
    return r


def r_uuid(r):
    return r.take(16)


def r_i32_array(r):
    return [r.i32() for _ in range(r.uvarint() - 1)]


def find_coordinator(bootstrap, group, timeout=30):
    deadline = time.time() + timeout
    while True:
        r = call(bootstrap, 10, 0, string(group), flexible=False)
        err = r.i16()
        if err == NONE:
            return
        assert err in RETRIABLE, err
        assert time.time() < deadline, "no coordinator"
        time.sleep(0.2)


def heartbeat(bootstrap, group, member_id, epoch, topics=None, owned=None, rebalance_timeout=-1, assignor=None, regex=None):
    """ConsumerGroupHeartbeat v1: a dict with error, member_id, epoch, interval and
    assignment ({topic_id: set(partitions)} or None)."""
    body = cstr(group) + cstr(member_id) + struct.pack(">i", epoch) + cstr(None) + cstr(None)
    body += struct.pack(">i", rebalance_timeout)
    body += carray(topics, cstr) + cstr(regex) + cstr(assignor)
    owned_list = None if owned is None else sorted(owned.items())
    body += carray(owned_list, lambda tp: tp[0] + carray(sorted(tp[1]), lambda p: struct.pack(">i", p)) + b"\x00")
    body += b"\x00"
    r = call(bootstrap, 68, 1, body)
    out = {"throttle": r.i32(), "error": r.i16(), "message": r.compact_string(), "member_id": r.compact_string(),
           "epoch": r.i32(), "interval": r.i32(), "assignment": None}
    if struct.unpack(">b", r.take(1))[0] >= 0:
        a = {}
        for _ in range(r.uvarint() - 1):
            tid = r_uuid(r)
            a[tid] = set(r_i32_array(r))
            r.tags()
        r.tags()
        out["assignment"] = a
    r.tags()
    return out


def describe(bootstrap, groups):
    body = carray(groups, cstr) + b"\x00" + b"\x00"
    r = call(bootstrap, 69, 0, body)
    r.i32()
    out = []
    for _ in range(r.uvarint() - 1):
        g = {"error": r.i16(), "message": r.compact_string(), "group_id": r.compact_string(), "state": r.compact_string(),
             "epoch": r.i32(), "assignment_epoch": r.i32(), "assignor": r.compact_string(), "members": []}
        for _ in range(r.uvarint() - 1):
            m = {"member_id": r.compact_string(), "instance_id": r.compact_string(), "rack_id": r.compact_string(),
                 "epoch": r.i32(), "client_id": r.compact_string(), "client_host": r.compact_string(),
                 "topics": [r.compact_string() for _ in range(r.uvarint() - 1)], "regex": r.compact_string()}
            for key in ("assignment", "target"):
                a = {}
                for _ in range(r.uvarint() - 1):
                    r_uuid(r)
                    name = r.compact_string()
                    a[name] = set(r_i32_array(r))
                    r.tags()
                r.tags()
                m[key] = a
            r.tags()
            g["members"].append(m)
        g["authorized_operations"] = r.i32()
        r.tags()
        out.append(g)
    return out


def list_groups(bootstrap, types=None, states=None):
    """ListGroups v5: [(group_id, protocol_type, state, type)]."""
    body = carray(states or [], cstr) + carray(types or [], cstr) + b"\x00"
    r = call(bootstrap, 16, 5, body)
    r.i32()
    assert r.i16() == NONE
    out = []
    for _ in range(r.uvarint() - 1):
        out.append((r.compact_string(), r.compact_string(), r.compact_string(), r.compact_string()))
        r.tags()
    return out


def offset_commit(bootstrap, group, member_id, epoch, topic, offsets):
    """OffsetCommit v9: {partition: error}."""
    parts = sorted(offsets.items())
    body = cstr(group) + struct.pack(">i", epoch) + cstr(member_id) + cstr(None)
    body += carray([topic], lambda t: cstr(t) + carray(parts, lambda po: struct.pack(">iqi", po[0], po[1], -1) + cstr(None) + b"\x00")
                   + b"\x00")
    body += b"\x00"
    r = call(bootstrap, 8, 9, body)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            p, err = r.i32(), r.i16()
            r.tags()
            out[p] = err
        r.tags()
    return out


def offset_fetch(bootstrap, group, member_id, epoch, topic, partitions):
    """OffsetFetch v9: (group error, {partition: offset})."""
    body = carray([group], lambda g: cstr(g) + cstr(member_id) + struct.pack(">i", epoch)
                  + carray([topic], lambda t: cstr(t) + carray(partitions, lambda p: struct.pack(">i", p)) + b"\x00") + b"\x00")
    body += b"\x00" + b"\x00"  # require_stable, tags
    r = call(bootstrap, 9, 9, body)
    r.i32()
    offsets, gerr = {}, None
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            r.compact_string()
            for _ in range(r.uvarint() - 1):
                p, off, _le = r.i32(), r.i64(), r.i32()
                r.compact_string()
                r.i16()
                r.tags()
                offsets[p] = off
            r.tags()
        gerr = r.i16()
        r.tags()
    return gerr, offsets


class Member:
    """A consumer following the protocol: it owns what it was last assigned."""

    def __init__(self, bootstrap, group, topics, assignor=None):
        self.bootstrap, self.group, self.topics, self.assignor = bootstrap, group, topics, assignor
        self.id = str(uuid.uuid4())
        self.epoch = 0
        self.owned = {}

    def join(self, timeout=30):
        deadline = time.time() + timeout
        while True:
            r = heartbeat(self.bootstrap, self.group, self.id, 0, topics=self.topics, owned={}, rebalance_timeout=30000,
                          assignor=self.assignor)
            if r["error"] not in RETRIABLE or time.time() > deadline:
                break
            time.sleep(0.2)
        assert r["error"] == NONE, r
        self._apply(r)
        return r

    def beat(self):
        r = heartbeat(self.bootstrap, self.group, self.id, self.epoch, owned=self.owned)
        assert r["error"] == NONE, r
        self._apply(r)
        return r

    def leave(self):
        r = heartbeat(self.bootstrap, self.group, self.id, -1)
        assert r["error"] == NONE and r["epoch"] == -1, r
        self.owned = {}

    def _apply(self, r):
        assert r["member_id"] == self.id
        self.epoch = r["epoch"]
        if r["assignment"] is not None:
            self.owned = {t: ps for t, ps in r["assignment"].items() if ps}

    def partitions(self):
        return {p for ps in self.owned.values() for p in ps}


def converge(members, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in members:
            m.beat()
        epochs = {m.epoch for m in members}
        owned = [m.partitions() for m in members]
        if len(epochs) == 1 and sum(len(o) for o in owned) == len(set().union(*owned)) and \
                all(d["state"] == "Stable" for d in describe(members[0].bootstrap, [members[0].group])):
            return
        time.sleep(0.05)
    raise AssertionError([(m.id, m.epoch, m.owned) for m in members])


def test_two_members_converge_commit_and_leave(make_server):
    s = make_server(GROUP_PROPS)
    create_topic(s, "cg4", partitions=4)
    find_coordinator(s.bootstrap, "kip848")

    a = Member(s.bootstrap, "kip848", ["cg4"])
    r = a.join()
    assert r["interval"] == 5000
    assert r["epoch"] == 1
    assert a.partitions() == {0, 1, 2, 3}

    b = Member(s.bootstrap, "kip848", ["cg4"])
    r = b.join()
    assert r["epoch"] == 2
    assert b.partitions() == set(), "b must not get a partition a still owns"
    converge([a, b])
    pa, pb = a.partitions(), b.partitions()
    assert pa & pb == set()
    assert pa | pb == {0, 1, 2, 3}
    assert len(pa) == 2 and len(pb) == 2
    assert a.epoch == b.epoch == 2

    [g] = describe(s.bootstrap, ["kip848"])
    assert g["error"] == NONE
    assert g["state"] == "Stable"
    assert g["epoch"] == 2 and g["assignment_epoch"] == 2
    assert g["assignor"] == "uniform"
    members = {m["member_id"]: m for m in g["members"]}
    assert set(members) == {a.id, b.id}
    assert members[a.id]["assignment"] == {"cg4": pa}
    assert members[b.id]["assignment"] == {"cg4": pb}
    assert members[a.id]["target"] == {"cg4": pa}
    assert members[a.id]["topics"] == ["cg4"]
    assert members[a.id]["client_id"] == "test"
    assert members[a.id]["epoch"] == 2

    # Offsets committed with the member epoch; a stale epoch is refused.
    p = min(pa)
    assert offset_commit(s.bootstrap, "kip848", a.id, a.epoch, "cg4", {p: 42}) == {p: NONE}
    assert offset_commit(s.bootstrap, "kip848", a.id, a.epoch - 1, "cg4", {p: 7}) == {p: STALE_MEMBER_EPOCH}
    assert offset_commit(s.bootstrap, "kip848", "nobody", a.epoch, "cg4", {p: 7}) == {p: UNKNOWN_MEMBER_ID}
    err, offsets = offset_fetch(s.bootstrap, "kip848", a.id, a.epoch, "cg4", [0, 1, 2, 3])
    assert err == NONE
    assert offsets[p] == 42
    assert all(offsets[q] == -1 for q in range(4) if q != p)
    err, _ = offset_fetch(s.bootstrap, "kip848", a.id, a.epoch + 5, "cg4", [p])
    assert err == STALE_MEMBER_EPOCH

    # The operator's tool describes the consumer group (ConsumerGroupDescribe
    # behind kafka-consumer-groups.sh's columns): one row per assigned partition.
    out = run_tool("consumer-groups", "--bootstrap-server", s.bootstrap, "--describe", "--group", "kip848").stdout
    rows = [l.split() for l in out.splitlines() if l.startswith("kip848")]
    assert sorted((int(r[2]), r[6]) for r in rows) == sorted([(q, a.id) for q in pa] + [(q, b.id) for q in pb]), out
    assert [r[3] for r in rows if int(r[2]) == p] == ["42"], out

    # A fenced epoch.
    assert heartbeat(s.bootstrap, "kip848", a.id, a.epoch + 1)["error"] == FENCED_MEMBER_EPOCH

    # b leaves: its partitions move to a.
    b.leave()
    assert heartbeat(s.bootstrap, "kip848", b.id, 2)["error"] == UNKNOWN_MEMBER_ID
    r = a.beat()
    assert r["epoch"] == 3
    assert a.partitions() == {0, 1, 2, 3}
    [g] = describe(s.bootstrap, ["kip848"])
    assert g["state"] == "Stable" and [m["member_id"] for m in g["members"]] == [a.id]

    a.leave()
    [g] = describe(s.bootstrap, ["kip848"])
    assert g["state"] == "Empty" and g["members"] == []
    # The group's offsets are kept.
    err, offsets = offset_fetch(s.bootstrap, "kip848", None, -1, "cg4", [p])
    assert err == NONE and offsets[p] == 42


def test_describe_unknown_group_and_range_assignor(make_server):
    s = make_server(GROUP_PROPS)
    create_topic(s, "cgr", partitions=4)
    find_coordinator(s.bootstrap, "ranged")
    [g] = describe(s.bootstrap, ["no-such-group"])
    assert g["error"] == GROUP_ID_NOT_FOUND

    a = Member(s.bootstrap, "ranged", ["cgr"], assignor="range")
    b = Member(s.bootstrap, "ranged", ["cgr"], assignor="range")
    a.join()
    b.join()
    converge([a, b])
    [g] = describe(s.bootstrap, ["ranged"])
    assert g["assignor"] == "range"
    # Sticky range: a keeps the lower half of what it had, b gets the rest.
    assert a.partitions() == {0, 1}
    assert b.partitions() == {2, 3}
    members = {m["member_id"]: m for m in g["members"]}
    assert members[b.id]["target"] == {"cgr": {2, 3}}


def test_subscription_regex_is_re2_and_a_hostile_one_is_refused(make_server):
    """A topic regex of 100,000 nested groups overflowed std::regex's recursive
    compiler (the node died); RE2 refuses it with INVALID_REGULAR_EXPRESSION.
    A plain regex still subscribes, matched in full as Kafka's RE2/J does."""
    s = make_server(GROUP_PROPS)
    create_topic(s, "rx-orders", partitions=2)
    create_topic(s, "rx-other", partitions=1)
    find_coordinator(s.bootstrap, "rx")
    hostile = "(" * 100000 + "rx" + ")" * 100000
    member = str(uuid.uuid4())
    r = heartbeat(s.bootstrap, "rx", member, 0, owned={}, rebalance_timeout=30000, regex=hostile)
    assert r["error"] == 128, (r, r["message"][:300] if r["message"] else None)  # INVALID_REGULAR_EXPRESSION
    assert s.proc.poll() is None
    r = heartbeat(s.bootstrap, "rx", member, 0, owned={}, rebalance_timeout=30000, regex="rx-ord.*")
    assert r["error"] == NONE, r
    deadline = time.time() + 30
    while True:
        [g] = describe(s.bootstrap, ["rx"])
        [m] = g["members"]
        if m["target"]:
            break
        assert time.time() < deadline, g
        time.sleep(0.2)
        heartbeat(s.bootstrap, "rx", member, r["epoch"], owned={})
    assert m["target"] == {"rx-orders": {0, 1}}


def test_session_timeout_and_list_groups(make_server):
    props = dict(GROUP_PROPS)
    props["group.consumer.session.timeout.ms"] = "1500"
    props["group.consumer.heartbeat.interval.ms"] = "300"
    s = make_server(props)
    create_topic(s, "cgs", partitions=4)
    find_coordinator(s.bootstrap, "sessions")
    a = Member(s.bootstrap, "sessions", ["cgs"])
    b = Member(s.bootstrap, "sessions", ["cgs"])
    assert a.join()["interval"] == 300
    b.join()
    converge([a, b])
    assert len(a.partitions()) == 2

    listed = list_groups(s.bootstrap)
    assert ("sessions", "consumer", "Stable", "consumer") in listed
    assert all(g[0] != "sessions" for g in list_groups(s.bootstrap, types=["classic"]))
    assert [g[0] for g in list_groups(s.bootstrap, types=["consumer"])] == ["sessions"]
    assert list_groups(s.bootstrap, types=["consumer"], states=["empty"]) == []

    # b stops heartbeating: once its session is over, a gets every partition.
    deadline = time.time() + 10
    while a.partitions() != {0, 1, 2, 3} and time.time() < deadline:
        time.sleep(0.3)
        a.beat()
    assert a.partitions() == {0, 1, 2, 3}
    assert a.epoch == 3
    assert heartbeat(s.bootstrap, "sessions", b.id, b.epoch)["error"] == UNKNOWN_MEMBER_ID
    [g] = describe(s.bootstrap, ["sessions"])
    assert [m["member_id"] for m in g["members"]] == [a.id]


def test_classic_group_id_is_not_a_consumer_group(make_server):
    from confluent_kafka import Consumer
    s = make_server(GROUP_PROPS)
    create_topic(s, "cgc", partitions=2)
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "classic", "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500})
    c.subscribe(["cgc"])
    deadline = time.time() + 30
    while not c.assignment() and time.time() < deadline:
        c.poll(0.1)
    assert c.assignment()
    r = heartbeat(s.bootstrap, "classic", str(uuid.uuid4()), 0, topics=["cgc"], owned={}, rebalance_timeout=30000)
    assert r["error"] == GROUP_ID_NOT_FOUND, r
    [g] = describe(s.bootstrap, ["classic"])
    assert g["error"] == GROUP_ID_NOT_FOUND
    c.close()
    # Once the classic group is empty, the id may become a consumer group.
    m = Member(s.bootstrap, "classic", ["cgc"])
    m.join()
    assert m.partitions() == {0, 1}


def test_group_survives_coordinator_restart(make_server):
    """The group's records in __consumer_offsets bring it back after a kill -9:
    the members heartbeat on with their ids and epochs, nothing rebalances."""
    s = make_server(GROUP_PROPS)
    create_topic(s, "cgr4", partitions=4)
    find_coordinator(s.bootstrap, "kip848-restart")
    a = Member(s.bootstrap, "kip848-restart", ["cgr4"])
    b = Member(s.bootstrap, "kip848-restart", ["cgr4"])
    a.join()
    b.join()
    converge([a, b])
    before = {m.id: (m.epoch, {t: set(ps) for t, ps in m.owned.items()}) for m in (a, b)}
    assert a.partitions() | b.partitions() == {0, 1, 2, 3}
    [g] = describe(s.bootstrap, ["kip848-restart"])
    group_epoch = g["epoch"]

    s.kill9()
    s.restart()
    find_coordinator(s.bootstrap, "kip848-restart")
    for m in (a, b):
        deadline = time.time() + 30
        while True:
            r = heartbeat(s.bootstrap, m.group, m.id, m.epoch, owned=m.owned)
            if r["error"] not in RETRIABLE or time.time() > deadline:
                break
            time.sleep(0.2)
        assert r["error"] == NONE, r  # not FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID
        assert r["member_id"] == m.id
        assert r["epoch"] == before[m.id][0]
        m._apply(r)
        assert m.owned == before[m.id][1]
    [g] = describe(s.bootstrap, ["kip848-restart"])
    assert g["error"] == NONE
    assert g["epoch"] == group_epoch
    assert g["state"] == "Stable"
    members = {m["member_id"]: m for m in g["members"]}
    assert set(members) == {a.id, b.id}
    for m in (a, b):
        assert members[m.id]["epoch"] == before[m.id][0]
        assert members[m.id]["assignment"] == {"cgr4": m.partitions()}


def coordinator_of(bootstrap, group, timeout=30):
    """FindCoordinator v0 asked of one broker: (node id, "host:port"), retried while unavailable."""
    deadline = time.time() + timeout
    while True:
        try:
            r = call(bootstrap, 10, 0, string(group), flexible=False)
            err = r.i16()
            if err == NONE:
                node = r.i32()
                host = r.take(struct.unpack(">h", r.take(2))[0]).decode()
                return node, f"{host}:{r.i32()}"
            assert err in RETRIABLE, err
        except OSError:
            pass
        assert time.time() < deadline, "no coordinator"
        time.sleep(0.2)


def test_group_survives_coordinator_failover(cluster):
    """Three brokers, __consumer_offsets with RF 3: the coordinator is killed
    (-9); the partition's new leader loads the group's records and the members
    heartbeat on there with their ids and epochs, without a rebalance."""
    from replication_util import REPL_EXTRA, bootstrap_of, wait_isr_full
    c = cluster(controllers=3, brokers=3, extra={**REPL_EXTRA, "offsets.topic.replication.factor": "3",
                                                 "offsets.topic.num.partitions": "5", "group.initial.rebalance.delay.ms": "0"})
    boot = bootstrap_of(c.brokers)
    create_topic(c.brokers[0], "cgf4", partitions=4)
    group = "kip848-failover"
    node, coord = coordinator_of(c.brokers[0].bootstrap, group)
    a = Member(coord, group, ["cgf4"])
    b = Member(coord, group, ["cgf4"])
    a.join()
    b.join()
    converge([a, b])
    before = {m.id: (m.epoch, m.partitions()) for m in (a, b)}
    assert before[a.id][1] | before[b.id][1] == {0, 1, 2, 3}
    wait_isr_full(c.brokers[0], "__consumer_offsets", 5, 3, timeout=30)

    victim = next(x for x in c.brokers if x.node_id == node)
    survivors = [x for x in c.brokers if x is not victim]
    victim.kill9()
    deadline = time.time() + 60
    while True:
        new_node, new_coord = coordinator_of(survivors[0].bootstrap, group)
        if new_node != node:
            break
        assert time.time() < deadline, "the coordinator did not move"
        time.sleep(0.3)
    for m in (a, b):
        deadline = time.time() + 30
        while True:
            r = heartbeat(new_coord, group, m.id, m.epoch, owned=m.owned)
            if r["error"] not in RETRIABLE or time.time() > deadline:
                break
            time.sleep(0.2)
        assert r["error"] == NONE, r  # the new coordinator knows the member and its epoch
        assert r["epoch"] == before[m.id][0]
        m._apply(r)
        assert m.partitions() == before[m.id][1]
    [g] = describe(new_coord, [group])
    assert g["error"] == NONE and g["state"] == "Stable", g
    assert {x["member_id"] for x in g["members"]} == {a.id, b.id}
