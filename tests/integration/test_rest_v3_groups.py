"""REST API v3 consumer groups (kafka-rest's openapi.yaml "Consumer Group (v3)")
against a real node with an HTTP listener, driven by curl:

* a classic group with two live confluent_kafka members and explicitly
  committed offsets: the group, its consumers, their assignments (which
  together cover the topic), lags (current offset = the commit, log end
  offset = what was produced, lag = their difference exactly) and the lag
  summary (max and total);
* a group whose only member committed and left: EMPTY, no consumers, lags
  without a consumer;
* a KIP-848 consumer group (ConsumerGroupHeartbeat members from
  test_consumer_group_protocol): type CONSUMER, its assignor, members and lags;
* a cluster of two brokers where the group's coordinator and one partition's
  leader are the other broker (the calls go there, as this node);
* 404s for an unknown cluster, group, consumer, assignment and lag;
* every body validated against tests/http/rest_v3_schemas.yaml.
"""
import os
import tempfile
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from confluent_kafka.admin import AdminClient

from conftest import Server, create_topic, free_port, run_tool
from rest_schema import curl, curl_json, self_test
from test_consumer_group_protocol import Member, converge, offset_commit

TOPIC = "rest-lag"
PARTITIONS = 3
PRODUCED = {0: 10, 1: 7, 2: 12}          # records per partition
ACTIVE_COMMITS = {0: 4, 1: 7, 2: 1}      # lags 6, 0, 11
EMPTY_COMMITS = {0: 10, 1: 2}            # lags 0, 5 (partition 2: nothing committed)
KIP848_COMMITS = {0: 3, 1: 7, 2: 12}     # lags 7, 0, 0
ACTIVE, EMPTY, KIP848 = "rest-active", "rest-empty", "rest-kip848"
CK = {"session.timeout.ms": 10000, "heartbeat.interval.ms": 500, "enable.auto.commit": False,
      "auto.offset.reset": "earliest"}


def bounded(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s: {what}")


def commit(consumer, offsets):
    """A synchronous commit, retried while the client still looks for its coordinator."""
    tps = [TopicPartition(TOPIC, p, o) for p, o in offsets.items()]
    deadline = time.time() + 30
    while True:
        try:
            res = consumer.commit(offsets=tps, asynchronous=False)
            assert all(tp.error is None for tp in res), res
            return
        except KafkaException as e:
            if time.time() > deadline:
                raise
            print("commit retried:", e)
            consumer.poll(0.2)  # lets the client find its coordinator


@pytest.fixture(scope="module")
def env():
    with tempfile.TemporaryDirectory(prefix="flotilla-rest-groups-") as d:
        http_port = free_port()
        os.makedirs(os.path.join(d, "node"))
        s = Server(os.path.join(d, "node"), {"http.listeners": f"http://127.0.0.1:{http_port}",
                                            "offsets.topic.replication.factor": "1",
                                            "group.initial.rebalance.delay.ms": "0"})
        s.format()
        s.start()
        consumers = []
        try:
            create_topic(s, TOPIC, PARTITIONS)
            p = Producer({"bootstrap.servers": s.bootstrap})
            for part, n in PRODUCED.items():
                for i in range(n):
                    p.produce(TOPIC, value=f"v{part}-{i}".encode(), partition=part)
            assert p.flush(30) == 0

            # EMPTY: one member commits, then leaves.
            c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": EMPTY, "client.id": "empty-client", **CK})
            c.assign([TopicPartition(TOPIC, 0)])
            commit(c, EMPTY_COMMITS)
            c.close()

            # ACTIVE: two members share the topic, then one commits for the group.
            for name in ("client-a", "client-b"):
                m = Consumer({"bootstrap.servers": s.bootstrap, "group.id": ACTIVE, "client.id": name, **CK})
                m.subscribe([TOPIC])
                consumers.append(m)

            def balanced():
                for m in consumers:
                    m.poll(0.2)
                got = [m.assignment() for m in consumers]
                return all(got) and sum(len(a) for a in got) == PARTITIONS
            bounded(balanced, 60, "two members share the topic")
            commit(consumers[0], ACTIVE_COMMITS)
            # KIP-848: one member holding every partition, with commits.
            m848 = Member(s.bootstrap, KIP848, [TOPIC])
            m848.join()
            converge([m848])
            errs = offset_commit(s.bootstrap, KIP848, m848.id, m848.epoch, TOPIC, KIP848_COMMITS)
            assert set(errs.values()) == {0}, errs
            base = f"http://127.0.0.1:{http_port}/v3/clusters/{s.cluster_id}"
            yield {"server": s, "base": base, "cluster": s.cluster_id, "members": consumers,
                   "kip848_member": m848.id,
                   # client id -> what the client says it was assigned
                   "assigned": {name: sorted((tp.topic, tp.partition) for tp in m.assignment())
                                for name, m in zip(("client-a", "client-b"), consumers)}}
        finally:
            for m in consumers:
                m.close()
            s.stop()


def members(env):
    """consumer id -> client id, as the group lists them (librdkafka's member ids start with the client id)."""
    body = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/consumers", schema_name="ConsumerDataList")
    out = {c["consumer_id"]: c["client_id"] for c in body["data"]}
    assert sorted(out.values()) == ["client-a", "client-b"]
    for cid, client in out.items():
        assert cid.startswith(client + "-")
    return out


def owners(env):
    """(topic, partition) -> consumer id, from what each client says it was assigned."""
    by_client = {client: cid for cid, client in members(env).items()}
    return {tp: by_client[client] for client, tps in env["assigned"].items() for tp in tps}


def test_schema_harness_self_test():
    self_test()


def test_list_groups(env):
    body = curl_json("GET", f"{env['base']}/consumer-groups", schema_name="ConsumerGroupDataList")
    assert body["kind"] == "KafkaConsumerGroupList"
    assert body["metadata"]["self"] == f"{env['base']}/consumer-groups"
    by_id = {g["consumer_group_id"]: g for g in body["data"]}
    assert {ACTIVE, EMPTY} <= set(by_id)
    assert by_id[ACTIVE]["state"] == "STABLE"
    assert by_id[EMPTY]["state"] == "EMPTY"


def test_get_group(env):
    g = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}", schema_name="ConsumerGroupData")
    assert g["kind"] == "KafkaConsumerGroup"
    assert g["cluster_id"] == env["cluster"]
    assert g["consumer_group_id"] == ACTIVE
    assert g["state"] == "STABLE" and g["type"] == "CLASSIC"
    assert g["is_simple"] is False and g["is_mixed_consumer_group"] is False
    assert g["partition_assignor"] in ("range", "roundrobin", "cooperative-sticky")
    assert g["metadata"]["self"] == f"{env['base']}/consumer-groups/{ACTIVE}"
    assert g["metadata"]["resource_name"] == f"crn:///kafka={env['cluster']}/consumer-group={ACTIVE}"
    assert g["coordinator"]["related"] == f"{env['base']}/brokers/1"
    assert g["consumers"]["related"] == f"{env['base']}/consumer-groups/{ACTIVE}/consumers"
    assert g["lag_summary"]["related"] == f"{env['base']}/consumer-groups/{ACTIVE}/lag-summary"


def test_consumers_and_assignments(env):
    body = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/consumers", schema_name="ConsumerDataList")
    ids = [c["consumer_id"] for c in body["data"]]
    assert len(ids) == 2 and ids == sorted(ids)  # kafka-rest's order: by consumer id
    covered = []
    for c in body["data"]:
        assert c["client_id"] in env["assigned"] and c["consumer_id"].startswith(c["client_id"] + "-")
        assert c["instance_id"] is None
        one = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/consumers/{c['consumer_id']}",
                        schema_name="ConsumerData")
        assert one == c
        a = curl_json("GET", c["assignments"]["related"], schema_name="ConsumerAssignmentDataList")
        got = [(x["topic_name"], x["partition_id"]) for x in a["data"]]
        assert got == env["assigned"][c["client_id"]]
        for x in a["data"]:
            assert x["lag"]["related"] == \
                f"{env['base']}/consumer-groups/{ACTIVE}/lags/{x['topic_name']}/partitions/{x['partition_id']}"
            assert x["partition"]["related"] == f"{env['base']}/topics/{x['topic_name']}/partitions/{x['partition_id']}"
            single = curl_json("GET", x["metadata"]["self"], schema_name="ConsumerAssignmentData")
            assert single == x
        covered += got
    assert sorted(covered) == [(TOPIC, p) for p in range(PARTITIONS)]


def test_lags_exact(env):
    body = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/lags", schema_name="ConsumerLagDataList")
    owner = owners(env)
    clients = members(env)
    rows = {(r["topic_name"], r["partition_id"]): r for r in body["data"]}
    assert set(rows) == {(TOPIC, p) for p in range(PARTITIONS)}
    for p in range(PARTITIONS):
        r = rows[(TOPIC, p)]
        assert r["current_offset"] == ACTIVE_COMMITS[p]
        assert r["log_end_offset"] == PRODUCED[p]
        assert r["lag"] == PRODUCED[p] - ACTIVE_COMMITS[p]
        assert r["consumer_id"] == owner[(TOPIC, p)]
        assert r["client_id"] == clients[owner[(TOPIC, p)]]
        single = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/lags/{TOPIC}/partitions/{p}",
                           schema_name="ConsumerLagData")
        assert single == r
    assert [r["lag"] for r in body["data"]] == sorted((r["lag"] for r in body["data"]), reverse=True)


def test_lag_summary(env):
    s = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/lag-summary",
                  schema_name="ConsumerGroupLagSummaryData")
    lags = {p: PRODUCED[p] - ACTIVE_COMMITS[p] for p in range(PARTITIONS)}
    worst = max(lags, key=lambda p: lags[p])
    assert s["max_lag"] == lags[worst] and s["total_lag"] == sum(lags.values())
    assert s["max_lag_topic_name"] == TOPIC and s["max_lag_partition_id"] == worst
    owner = owners(env)
    assert s["max_lag_consumer_id"] == owner[(TOPIC, worst)]
    assert s["max_lag_partition"]["related"] == f"{env['base']}/topics/{TOPIC}/partitions/{worst}"
    assert s["max_lag_consumer"]["related"] == \
        f"{env['base']}/consumer-groups/{ACTIVE}/consumers/{owner[(TOPIC, worst)]}"


def test_empty_group(env):
    g = curl_json("GET", f"{env['base']}/consumer-groups/{EMPTY}", schema_name="ConsumerGroupData")
    assert g["state"] == "EMPTY"
    c = curl_json("GET", f"{env['base']}/consumer-groups/{EMPTY}/consumers", schema_name="ConsumerDataList")
    assert c["data"] == []
    lags = curl_json("GET", f"{env['base']}/consumer-groups/{EMPTY}/lags", schema_name="ConsumerLagDataList")
    rows = {r["partition_id"]: r for r in lags["data"]}
    assert set(rows) == set(EMPTY_COMMITS)  # only committed partitions
    for p, off in EMPTY_COMMITS.items():
        assert rows[p]["current_offset"] == off and rows[p]["lag"] == PRODUCED[p] - off
        assert rows[p]["consumer_id"] == "" and rows[p]["client_id"] == ""
    s = curl_json("GET", f"{env['base']}/consumer-groups/{EMPTY}/lag-summary",
                  schema_name="ConsumerGroupLagSummaryData")
    assert s["max_lag"] == 5 and s["total_lag"] == 5 and s["max_lag_partition_id"] == 1


@pytest.mark.parametrize("path", [
    "/consumer-groups/no-such-group",
    "/consumer-groups/no-such-group/consumers",
    "/consumer-groups/no-such-group/lags",
    "/consumer-groups/no-such-group/lag-summary",
    f"/consumer-groups/{ACTIVE}/consumers/no-such-consumer",
    f"/consumer-groups/{ACTIVE}/consumers/no-such-consumer/assignments",
    f"/consumer-groups/{ACTIVE}/lags/{TOPIC}/partitions/99",
    f"/consumer-groups/{ACTIVE}/lags/no-such-topic/partitions/0",
])
def test_not_found(env, path):
    body = curl_json("GET", env["base"] + path, schema_name="Error", status=404)
    assert body["error_code"] == 404


def test_unknown_assignment_and_bad_partition(env):
    cid, client = sorted(members(env).items())[0]
    other = [p for p in range(PARTITIONS) if (TOPIC, p) not in env["assigned"][client]][0]
    url = f"{env['base']}/consumer-groups/{ACTIVE}/consumers/{cid}/assignments/{TOPIC}/partitions/{other}"
    assert curl_json("GET", url, schema_name="Error", status=404)["error_code"] == 404
    bad = curl_json("GET", f"{env['base']}/consumer-groups/{ACTIVE}/lags/{TOPIC}/partitions/x",
                    schema_name="Error", status=404)  # JAX-RS: an unparsable path integer
    assert bad["error_code"] == 404


def test_unknown_cluster(env):
    base = env["base"].rsplit("/", 1)[0] + "/no-such-cluster"
    for path in ("/consumer-groups", f"/consumer-groups/{ACTIVE}", f"/consumer-groups/{ACTIVE}/lags"):
        body = curl_json("GET", base + path, schema_name="Error", status=404)
        assert body == {"error_code": 404, "message": "Cluster no-such-cluster cannot be found."}


def test_wrong_method(env):
    code, _ = curl("DELETE", f"{env['base']}/consumer-groups/{ACTIVE}/lag-summary")
    assert code == 405


def test_kip848_consumer_group(env):
    g = curl_json("GET", f"{env['base']}/consumer-groups/{KIP848}", schema_name="ConsumerGroupData")
    assert (g["type"], g["state"], g["partition_assignor"]) == ("CONSUMER", "STABLE", "uniform")
    assert g["is_simple"] is False and g["is_mixed_consumer_group"] is False
    listed = curl_json("GET", f"{env['base']}/consumer-groups", schema_name="ConsumerGroupDataList")
    assert g in listed["data"]
    c = curl_json("GET", f"{env['base']}/consumer-groups/{KIP848}/consumers", schema_name="ConsumerDataList")
    assert [x["consumer_id"] for x in c["data"]] == [env["kip848_member"]]
    a = curl_json("GET", c["data"][0]["assignments"]["related"], schema_name="ConsumerAssignmentDataList")
    assert [(x["topic_name"], x["partition_id"]) for x in a["data"]] == [(TOPIC, p) for p in range(PARTITIONS)]
    lags = curl_json("GET", f"{env['base']}/consumer-groups/{KIP848}/lags", schema_name="ConsumerLagDataList")
    got = {r["partition_id"]: (r["current_offset"], r["log_end_offset"], r["lag"], r["consumer_id"]) for r in lags["data"]}
    assert got == {p: (KIP848_COMMITS[p], PRODUCED[p], PRODUCED[p] - KIP848_COMMITS[p], env["kip848_member"])
                   for p in range(PARTITIONS)}


def java_group_partition(group, partitions):
    """Kafka's Utils.abs(groupId.hashCode()) % partitions (ASCII ids)."""
    h = 0
    for ch in group:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    h = h - (1 << 32) if h & 0x80000000 else h
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def test_coordinator_and_leader_on_another_broker(cluster):
    http_port = free_port()

    def configure(node):
        if node.node_id == 100:
            node.props["http.listeners"] = f"http://127.0.0.1:{http_port}"
    c = cluster(controllers=1, brokers=2, configure=configure,
                extra={"offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "2",
                       "group.initial.rebalance.delay.ms": "0"})
    bootstrap = ",".join(b.bootstrap for b in c.brokers)
    topic = "remote-lag"
    create_topic(c.brokers[0], topic, 2)
    p = Producer({"bootstrap.servers": bootstrap})
    for part, n in {0: 5, 1: 8}.items():
        for i in range(n):
            p.produce(topic, value=b"x", partition=part)
    assert p.flush(30) == 0

    def committer(group):
        return Consumer({"bootstrap.servers": bootstrap, "group.id": group, **CK})

    def commit_on(group, offsets):
        m = committer(group)
        try:
            tps = [TopicPartition(topic, q, o) for q, o in offsets.items()]
            deadline = time.time() + 30
            while True:
                try:
                    m.commit(offsets=tps, asynchronous=False)
                    return
                except KafkaException:
                    assert time.time() < deadline
                    m.poll(0.2)
        finally:
            m.close()

    commit_on("warm-up", {0: 0})  # creates __consumer_offsets
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    offsets_leaders = {q: pm.leader for q, pm in md.topics["__consumer_offsets"].partitions.items()}
    topic_leaders = {q: pm.leader for q, pm in md.topics[topic].partitions.items()}
    assert sorted(topic_leaders.values()) == [100, 101]  # one partition led by the other broker
    assert 101 in offsets_leaders.values()
    group = next(g for g in (f"remote-{i}" for i in range(100))
                 if offsets_leaders[java_group_partition(g, 2)] == 101)
    commit_on(group, {0: 2, 1: 3})

    base = f"http://127.0.0.1:{http_port}/v3/clusters/{c.cluster_id}"
    g = curl_json("GET", f"{base}/consumer-groups/{group}", schema_name="ConsumerGroupData")
    assert g["coordinator"]["related"] == f"{base}/brokers/101"
    assert g["state"] == "EMPTY" and g["is_simple"] is True
    listed = curl_json("GET", f"{base}/consumer-groups", schema_name="ConsumerGroupDataList")
    assert group in {x["consumer_group_id"] for x in listed["data"]}
    lags = curl_json("GET", f"{base}/consumer-groups/{group}/lags", schema_name="ConsumerLagDataList")
    got = {r["partition_id"]: (r["current_offset"], r["log_end_offset"], r["lag"]) for r in lags["data"]}
    assert got == {0: (2, 5, 3), 1: (3, 8, 5)}
    s = curl_json("GET", f"{base}/consumer-groups/{group}/lag-summary", schema_name="ConsumerGroupLagSummaryData")
    assert (s["max_lag"], s["total_lag"], s["max_lag_partition_id"]) == (5, 8, 1)


def test_group_the_user_may_not_describe_is_not_found(make_server):
    """kafka-rest leaves out a group the user may not DESCRIBE: 404, not listed."""
    http_port = free_port()
    s = make_server({"http.listeners": f"http://127.0.0.1:{http_port}",
                     "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                     "allow.everyone.if.no.acl.found": "true", "offsets.topic.replication.factor": "1"})
    create_topic(s, "guarded-t", 1)
    for group in ("hidden", "shown"):
        c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": group, **CK})
        deadline = time.time() + 30
        while True:
            try:
                c.commit(offsets=[TopicPartition("guarded-t", 0, 0)], asynchronous=False)
                break
            except KafkaException:
                assert time.time() < deadline
                c.poll(0.2)
        c.close()
    base = f"http://127.0.0.1:{http_port}/v3/clusters/{s.cluster_id}"
    assert curl_json("GET", f"{base}/consumer-groups/hidden", schema_name="ConsumerGroupData")["state"] == "EMPTY"
    # Then the user loses DESCRIBE on "hidden" (FindCoordinator needs it, so not before its commit).
    for args in (("--allow-principal", "User:ANONYMOUS", "--operation", "All"),
                 ("--deny-principal", "User:ANONYMOUS", "--operation", "Describe")):
        run_tool("acls", "--bootstrap-server", s.bootstrap, "--add", *args, "--group", "hidden")
    deadline = time.time() + 20  # until the ACLs reach the image
    while curl("GET", f"{base}/consumer-groups/hidden")[0] != 404:
        assert time.time() < deadline
        time.sleep(0.2)
    assert curl_json("GET", f"{base}/consumer-groups/shown", schema_name="ConsumerGroupData")["state"] == "EMPTY"
    for path in ("", "/lags", "/lag-summary", "/consumers"):
        curl_json("GET", f"{base}/consumer-groups/hidden{path}", schema_name="Error", status=404)
    listed = {g["consumer_group_id"] for g in
              curl_json("GET", f"{base}/consumer-groups", schema_name="ConsumerGroupDataList")["data"]}
    assert "shown" in listed and "hidden" not in listed
