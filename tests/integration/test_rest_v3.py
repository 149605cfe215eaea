"""REST API v3 (Confluent kafka-rest's spec), driven with curl as a user would,
against one real node with `http.listeners`: clusters, brokers, topics,
partitions, replicas, reassignments, topic/broker/cluster configs and ACLs.

Every answer's status is checked, every body is validated against the spec's
schemas (tests/http/rest_v3_schemas.yaml, strict: no field the spec does not
name), and values are cross-checked with confluent_kafka's AdminClient both
ways (a topic created over REST is seen by the client and vice versa).

The node runs StandardAuthorizer with allow.everyone.if.no.acl.found=true:
the anonymous HTTP and Kafka users may do anything on a resource without ACLs,
so an ACL naming another user on one topic hides that topic from them.
"""
import json
import os
import subprocess
import tempfile
import time

import pytest

from conftest import Server, free_port, run_tool
from rest_schema import validate

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402


class Rest:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, raw=None, headers=()):
        """(status, parsed JSON body or None) of `method path` through curl."""
        url = path if path.startswith("http") else self.base + path
        cmd = ["curl", "-sS", "-m", "40", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]
        for h in headers:
            cmd += ["-H", h]
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        out = subprocess.run(cmd, input=data, capture_output=True, timeout=60, check=True).stdout.decode()
        text, _, status = out.rpartition("\n")
        return int(status), (json.loads(text) if text.strip() else None)

    def get(self, path, schema=None, status=200):
        st, body = self.call("GET", path)
        assert st == status, (path, st, body)
        if schema:
            validate(body, schema)
        return body

    def error(self, method, path, status, code, body=None, raw=None, message=None):
        st, b = self.call(method, path, body=body, raw=raw)
        assert st == status, (method, path, st, b)
        validate(b, "Error")
        assert b["error_code"] == code, b
        if message is not None:
            assert message in b["message"], b
        return b


def wait_until(fn, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def node():
    with tempfile.TemporaryDirectory(prefix="flotilla-rest-") as d:
        hport = free_port()
        s = Server(d, extra={
            "http.listeners": f"http://127.0.0.1:{hport}",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true",
        })
        s.format()
        s.start()
        s.rest = Rest(f"http://127.0.0.1:{hport}")
        s.admin = AdminClient({"bootstrap.servers": s.bootstrap})
        try:
            wait_until(lambda: s.rest.call("GET", "/v3/clusters")[0] == 200, what="the HTTP listener")
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="module")
def c(node):
    """The cluster's base path."""
    return f"/v3/clusters/{node.cluster_id}"


def admin_topics(node):
    return node.admin.list_topics(timeout=10).topics


def test_clusters(node, c):
    lst = node.rest.get("/v3/clusters", "ClusterDataList")
    assert lst["kind"] == "KafkaClusterList"
    assert lst["metadata"]["self"] == node.rest.base + "/v3/clusters"
    assert [x["cluster_id"] for x in lst["data"]] == [node.cluster_id]
    cl = node.rest.get(c, "ClusterData")
    assert cl == lst["data"][0]
    assert cl["kind"] == "KafkaCluster"
    assert cl["metadata"] == {"self": node.rest.base + c, "resource_name": f"crn:///kafka={node.cluster_id}"}
    for rel, tail in [("acls", "/acls"), ("brokers", "/brokers"), ("broker_configs", "/broker-configs"),
                      ("consumer_groups", "/consumer-groups"), ("topics", "/topics"),
                      ("partition_reassignments", "/topics/-/partitions/-/reassignment"), ("controller", "/brokers/1")]:
        assert cl[rel] == {"related": node.rest.base + c + tail}, rel
    # Every related link of the cluster answers 200.
    for rel in ("acls", "brokers", "broker_configs", "topics", "partition_reassignments", "controller"):
        assert node.rest.call("GET", cl[rel]["related"])[0] == 200, rel


def test_unknown_cluster_path_and_method(node, c):
    node.rest.error("GET", "/v3/clusters/no-such-cluster", 404, 404, message="Cluster no-such-cluster cannot be found.")
    node.rest.error("GET", "/v3/clusters/nope/topics", 404, 404)
    node.rest.error("POST", "/v3/clusters/nope/topics", 404, 404, body={"topic_name": "x"})
    node.rest.error("GET", "/v3/clusters/nope/brokers/1/configs", 404, 404)
    node.rest.error("DELETE", "/v3/clusters/nope/acls?resource_type=TOPIC", 404, 404)
    node.rest.error("GET", c + "/no-such-collection", 404, 404)
    node.rest.error("PUT", c + "/topics", 405, 405, body={})
    node.rest.error("DELETE", c, 405, 405)


def test_brokers(node, c):
    lst = node.rest.get(c + "/brokers", "BrokerDataList")
    assert lst["kind"] == "KafkaBrokerList"
    assert len(lst["data"]) == 1
    b = lst["data"][0]
    assert b["broker_id"] == 1 and b["host"] == "127.0.0.1" and b["port"] == node.port
    assert b["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/broker=1"
    assert node.rest.get(c + "/brokers/1", "BrokerData") == b
    node.rest.error("GET", c + "/brokers/7", 404, 404, message="Broker 7 cannot be found.")
    node.rest.error("GET", c + "/brokers/abc", 404, 404)


def test_topic_created_over_rest_is_seen_by_admin_client(node, c):
    body = {"topic_name": "rest-a", "partitions_count": 3, "replication_factor": 1,
            "configs": [{"name": "cleanup.policy", "value": "compact"}, {"name": "retention.ms", "value": "12345"}]}
    st, t = node.rest.call("POST", c + "/topics", body)
    assert st == 201, t
    validate(t, "TopicData")
    assert (t["topic_name"], t["partitions_count"], t["replication_factor"], t["is_internal"]) == ("rest-a", 3, 1, False)
    assert t["metadata"]["self"] == node.rest.base + c + "/topics/rest-a"
    assert t["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/topic=rest-a"
    meta = wait_until(lambda: admin_topics(node).get("rest-a"), what="rest-a in Metadata")
    assert len(meta.partitions) == 3
    res = ConfigResource("TOPIC", "rest-a")
    cfg = node.admin.describe_configs([res])[res].result(timeout=10)
    assert cfg["cleanup.policy"].value == "compact" and cfg["retention.ms"].value == "12345"
    got = wait_until(lambda: node.rest.call("GET", c + "/topics/rest-a")[1] if
                     node.rest.call("GET", c + "/topics/rest-a")[0] == 200 else None, what="rest-a over REST")
    validate(got, "TopicData")
    assert got == t
    # authorized_operations on request: everything (no ACL names rest-a).
    ops = node.rest.get(c + "/topics/rest-a?include_authorized_operations=true", "TopicData")["authorized_operations"]
    assert sorted(ops) == sorted(["READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS",
                                  "ALTER_CONFIGS"])
    assert "authorized_operations" not in node.rest.get(c + "/topics/rest-a?include_authorized_operations=false")
    node.rest.error("GET", c + "/topics/rest-a?include_authorized_operations=maybe", 400, 400)


def test_topic_created_by_admin_client_is_seen_over_rest(node, c):
    node.admin.create_topics([NewTopic("admin-b", num_partitions=2, replication_factor=1)])["admin-b"].result(10)
    t = wait_until(lambda: node.rest.call("GET", c + "/topics/admin-b")[1]
                   if node.rest.call("GET", c + "/topics/admin-b")[0] == 200 else None, what="admin-b over REST")
    validate(t, "TopicData")
    assert t["partitions_count"] == 2 and t["replication_factor"] == 1
    lst = node.rest.get(c + "/topics", "TopicDataList")
    assert lst["kind"] == "KafkaTopicList"
    names = [x["topic_name"] for x in lst["data"]]
    assert "admin-b" in names and names == sorted(names)


def test_topic_create_errors_and_validate_only(node, c):
    st, t = node.rest.call("POST", c + "/topics", {"topic_name": "rest-v", "partitions_count": 2, "validate_only": True})
    assert st == 200, t
    validate(t, "TopicData")
    assert t["partitions_count"] == 2
    time.sleep(0.3)
    assert "rest-v" not in admin_topics(node)
    node.rest.error("GET", c + "/topics/rest-v", 404, 40403, message="This server does not host this topic-partition.")
    node.rest.call("POST", c + "/topics", {"topic_name": "rest-dup", "partitions_count": 1})
    node.rest.error("POST", c + "/topics", 400, 40002, body={"topic_name": "rest-dup", "partitions_count": 1},
                    message="Topic 'rest-dup' already exists.")
    node.rest.error("POST", c + "/topics", 400, 40002, body={"topic_name": "rest-rf", "replication_factor": 3})
    node.rest.error("POST", c + "/topics", 400, 40002, body={"topic_name": "bad/../name!", "partitions_count": 1})
    node.rest.error("POST", c + "/topics", 400, 40002,
                    body={"topic_name": "rest-badcfg", "configs": [{"name": "no.such.config", "value": "1"}]},
                    message="Unknown topic config name: no.such.config")
    node.rest.error("POST", c + "/topics", 400, 400, raw='{"topic_name": ')
    node.rest.error("POST", c + "/topics", 400, 400, raw='[1, 2]')
    node.rest.error("POST", c + "/topics", 400, 422, raw='')
    node.rest.error("POST", c + "/topics", 400, 400, body={"partitions_count": 1})
    node.rest.error("POST", c + "/topics", 400, 400, body={"topic_name": 7})
    node.rest.error("POST", c + "/topics", 400, 400, body={"topic_name": "x", "partitions_count": "many"})
    node.rest.error("POST", c + "/topics", 400, 400, body={"topic_name": "x", "configs": "a=b"})


def test_topic_create_with_replicas_assignments(node, c):
    st, t = node.rest.call("POST", c + "/topics", {"topic_name": "rest-assigned",
                                                   "replicas_assignments": {"0": [1], "1": [1], "2": [1]}})
    assert st == 201, t
    validate(t, "TopicData")
    meta = wait_until(lambda: admin_topics(node).get("rest-assigned"), what="rest-assigned in Metadata")
    assert sorted(meta.partitions) == [0, 1, 2]
    assert all(p.replicas == [1] for p in meta.partitions.values())
    node.rest.error("POST", c + "/topics", 400, 40002, body={"topic_name": "rest-assigned2",
                                                             "replicas_assignments": {"0": [7]}})
    node.rest.error("POST", c + "/topics", 400, 400, body={"topic_name": "rest-assigned3",
                                                           "replicas_assignments": {"x": [1]}})


def ensure_topic(node, c, name, partitions=1):
    st, _ = node.rest.call("POST", c + "/topics", {"topic_name": name, "partitions_count": partitions})
    assert st in (201, 400)
    wait_until(lambda: node.rest.call("GET", f"{c}/topics/{name}")[0] == 200, what=name)


def test_partitions_and_replicas(node, c):
    ensure_topic(node, c, "rest-p", 2)
    lst = node.rest.get(c + "/topics/rest-p/partitions", "PartitionDataList")
    assert lst["kind"] == "KafkaPartitionList"
    assert [p["partition_id"] for p in lst["data"]] == [0, 1]
    p = node.rest.get(c + "/topics/rest-p/partitions/1", "PartitionData")
    assert p == lst["data"][1]
    assert p["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/topic=rest-p/partition=1"
    assert p["leader"]["related"] == node.rest.base + c + "/topics/rest-p/partitions/1/replicas/1"
    reps = node.rest.get(p["replicas"]["related"], "ReplicaDataList")
    assert reps["kind"] == "KafkaReplicaList"
    assert [(r["broker_id"], r["is_leader"], r["is_in_sync"]) for r in reps["data"]] == [(1, True, True)]
    r = node.rest.get(c + "/topics/rest-p/partitions/1/replicas/1", "ReplicaData")
    assert r["broker"]["related"] == node.rest.base + c + "/brokers/1"
    assert r["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/topic=rest-p/partition=1/replica=1"
    on_broker = node.rest.get(c + "/brokers/1/partition-replicas", "ReplicaDataList")
    assert {(x["topic_name"], x["partition_id"]) for x in on_broker["data"]} >= {("rest-p", 0), ("rest-p", 1)}
    node.rest.error("GET", c + "/topics/rest-p/partitions/9", 404, 40403)
    node.rest.error("GET", c + "/topics/no-such-topic/partitions", 404, 40403)
    node.rest.error("GET", c + "/topics/rest-p/partitions/0/replicas/5", 404, 404)
    node.rest.error("GET", c + "/topics/rest-p/partitions/x", 404, 404)
    # No reassignment in progress: empty lists, 404 for one partition.
    for path in ("/topics/-/partitions/-/reassignment", "/topics/rest-p/partitions/-/reassignment"):
        body = node.rest.get(c + path, "ReassignmentDataList")
        assert body["kind"] == "KafkaReassignmentList" and body["data"] == []
    node.rest.error("GET", c + "/topics/rest-p/partitions/0/reassignment", 404, 404)


def test_patch_partitions_count(node, c):
    ensure_topic(node, c, "rest-grow", 1)
    st, t = node.rest.call("PATCH", c + "/topics/rest-grow", {"partitions_count": 4})
    assert st == 200, t
    validate(t, "TopicData")
    assert t["partitions_count"] == 4
    wait_until(lambda: len(admin_topics(node)["rest-grow"].partitions) == 4, what="4 partitions")
    node.rest.error("PATCH", c + "/topics/rest-grow", 400, 40002, body={"partitions_count": 4},
                    message="Topic already has 4 partitions.")
    node.rest.error("PATCH", c + "/topics/rest-grow", 400, 40002, body={"partitions_count": 2})
    node.rest.error("PATCH", c + "/topics/rest-grow", 400, 400, body={})
    node.rest.error("PATCH", c + "/topics/no-such-topic", 404, 40403, body={"partitions_count": 3})


def test_delete_topic(node, c):
    ensure_topic(node, c, "rest-del")
    wait_until(lambda: "rest-del" in admin_topics(node), what="rest-del in Metadata")
    st, body = node.rest.call("DELETE", c + "/topics/rest-del")
    assert (st, body) == (204, None)
    wait_until(lambda: "rest-del" not in admin_topics(node), what="rest-del gone")
    wait_until(lambda: node.rest.call("GET", c + "/topics/rest-del")[0] == 404, what="rest-del gone over REST")
    node.rest.error("DELETE", c + "/topics/rest-del", 404, 40403)
    # And one the AdminClient deletes disappears from REST.
    ensure_topic(node, c, "rest-del2")
    node.admin.delete_topics(["rest-del2"])["rest-del2"].result(10)
    wait_until(lambda: node.rest.call("GET", c + "/topics/rest-del2")[0] == 404, what="rest-del2 gone over REST")


def test_topic_configs(node, c):
    ensure_topic(node, c, "rest-cfg")
    base = c + "/topics/rest-cfg/configs"
    lst = node.rest.get(base, "TopicConfigDataList")
    assert lst["kind"] == "KafkaTopicConfigList"
    by = {x["name"]: x for x in lst["data"]}
    assert by["cleanup.policy"]["is_default"] is True and by["cleanup.policy"]["source"] == "DEFAULT_CONFIG"
    one = node.rest.get(base + "/retention.ms", "TopicConfigData")
    assert one == by["retention.ms"]
    assert one["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/topic=rest-cfg/config=retention.ms"
    # PUT sets it: the AdminClient sees the new value.
    st, body = node.rest.call("PUT", base + "/retention.ms", {"value": "54321"})
    assert (st, body) == (204, None)
    res = ConfigResource("TOPIC", "rest-cfg")
    wait_until(lambda: node.admin.describe_configs([res])[res].result(10)["retention.ms"].value == "54321",
               what="retention.ms set")
    one = node.rest.get(base + "/retention.ms", "TopicConfigData")
    assert (one["value"], one["source"], one["is_default"]) == ("54321", "DYNAMIC_TOPIC_CONFIG", False)
    assert one["synonyms"][0] == {"name": "retention.ms", "value": "54321", "source": "DYNAMIC_TOPIC_CONFIG"}
    # DELETE resets it to the default.
    assert node.rest.call("DELETE", base + "/retention.ms") == (204, None)
    one = node.rest.get(base + "/retention.ms", "TopicConfigData")
    assert one["source"] == "DEFAULT_CONFIG" and one["is_default"] is True
    # A batch: two SETs and a DELETE.
    st, _ = node.rest.call("POST", base + ":alter", {"data": [
        {"name": "cleanup.policy", "value": "compact"}, {"name": "segment.ms", "value": "600000", "operation": "SET"},
        {"name": "retention.ms", "operation": "DELETE"}]})
    assert st == 204
    cfg = node.admin.describe_configs([res])[res].result(10)
    assert cfg["cleanup.policy"].value == "compact" and cfg["segment.ms"].value == "600000"
    # validate_only changes nothing.
    assert node.rest.call("POST", base + ":alter", {"data": [{"name": "segment.ms", "value": "700000"}],
                                                     "validate_only": True})[0] == 204
    assert node.rest.get(base + "/segment.ms", "TopicConfigData")["value"] == "600000"
    # Every topic's configs.
    every = node.rest.get(c + "/topics/-/configs", "TopicConfigDataList")
    assert {"rest-cfg"} <= {x["topic_name"] for x in every["data"]}
    # Errors.
    node.rest.error("GET", base + "/no.such.config", 404, 404, message="Config no.such.config cannot be found")
    node.rest.error("GET", c + "/topics/no-such-topic/configs", 404, 40403)
    node.rest.error("PUT", base + "/cleanup.policy", 400, 40002, body={"value": "bogus"})
    node.rest.error("PUT", base + "/cleanup.policy", 400, 400, raw="{oops")
    node.rest.error("POST", base + ":alter", 400, 400, body={"data": [{"name": "segment.ms", "operation": "APPEND?"}]})
    node.rest.error("POST", base + ":alter", 400, 400, body={"nodata": []})


def test_broker_configs(node, c):
    base = c + "/brokers/1/configs"
    lst = node.rest.get(base, "BrokerConfigDataList")
    assert lst["kind"] == "KafkaBrokerConfigList"
    by = {x["name"]: x for x in lst["data"]}
    assert "log.retention.hours" in by and all(x["broker_id"] == 1 for x in lst["data"])
    st, _ = node.rest.call("PUT", base + "/log.cleaner.threads", {"value": "2"})
    assert st == 204
    one = node.rest.get(base + "/log.cleaner.threads", "BrokerConfigData")
    assert (one["value"], one["source"]) == ("2", "DYNAMIC_BROKER_CONFIG")
    assert one["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/broker=1/config=log.cleaner.threads"
    res = ConfigResource("BROKER", "1")
    assert node.admin.describe_configs([res])[res].result(10)["log.cleaner.threads"].value == "2"
    assert node.rest.call("DELETE", base + "/log.cleaner.threads")[0] == 204
    assert node.rest.get(base + "/log.cleaner.threads", "BrokerConfigData")["source"] != "DYNAMIC_BROKER_CONFIG"
    assert node.rest.call("POST", base + ":alter", {"data": [{"name": "log.cleaner.threads", "value": "3"}]})[0] == 204
    assert node.rest.get(base + "/log.cleaner.threads")["value"] == "3"
    every = node.rest.get(c + "/brokers/-/configs", "BrokerConfigDataList")
    assert len(every["data"]) == len(lst["data"])
    node.rest.error("GET", c + "/brokers/9/configs", 404, 404)
    node.rest.error("GET", base + "/no.such.config", 404, 404)


def test_cluster_broker_configs(node, c):
    base = c + "/broker-configs"
    assert node.rest.call("PUT", base + "/log.cleaner.backoff.ms", {"value": "16000"})[0] == 204
    lst = node.rest.get(base, "ClusterConfigDataList")
    assert lst["kind"] == "KafkaClusterConfigList"
    by = {x["name"]: x for x in lst["data"]}
    one = by["log.cleaner.backoff.ms"]
    assert (one["value"], one["source"], one["config_type"]) == ("16000", "DYNAMIC_DEFAULT_BROKER_CONFIG", "BROKER")
    assert one["metadata"]["resource_name"] == f"crn:///kafka={node.cluster_id}/broker-config=log.cleaner.backoff.ms"
    assert node.rest.get(base + "/log.cleaner.backoff.ms", "ClusterConfigData") == one
    shown = run_tool("configs", "--bootstrap-server", node.bootstrap, "--describe", "--entity-type", "brokers",
                     "--entity-default").stdout
    assert "log.cleaner.backoff.ms=16000 " in shown, shown
    assert node.rest.call("DELETE", base + "/log.cleaner.backoff.ms")[0] == 204
    node.rest.error("GET", base + "/log.cleaner.backoff.ms", 404, 404)
    assert node.rest.call("POST", base + ":alter", {"data": [
        {"name": "log.cleaner.backoff.ms", "value": "17000"}, {"name": "log.cleaner.io.buffer.load.factor",
                                                               "operation": "DELETE"}]})[0] == 204
    assert node.rest.get(base + "/log.cleaner.backoff.ms", "ClusterConfigData")["value"] == "17000"
    assert node.rest.call("POST", base + ":alter", {"data": [{"name": "log.cleaner.backoff.ms",
                                                               "operation": "DELETE"}]})[0] == 204
    assert "log.cleaner.backoff.ms" not in {x["name"] for x in node.rest.get(base)["data"]}


def acls_tool(node, *args):
    return run_tool("acls", "--bootstrap-server", node.bootstrap, *args)


ACL = {"resource_type": "TOPIC", "resource_name": "acl-", "pattern_type": "PREFIXED", "principal": "User:alice",
       "host": "*", "operation": "READ", "permission": "ALLOW"}


def test_acls(node, c):
    st, body = node.rest.call("POST", c + "/acls", ACL)
    assert (st, body) == (201, None)
    batch = [dict(ACL, operation="WRITE"), dict(ACL, resource_type="GROUP", resource_name="g1", pattern_type="LITERAL")]
    assert node.rest.call("POST", c + "/acls:batch", {"data": batch})[0] == 201
    lst = node.rest.get(c + "/acls?principal=User%3Aalice", "AclDataList")
    assert lst["kind"] == "KafkaAclList"
    assert lst["metadata"]["self"] == node.rest.base + c + "/acls?principal=User%3Aalice"
    got = {(a["resource_type"], a["resource_name"], a["pattern_type"], a["operation"]) for a in lst["data"]}
    assert got == {("TOPIC", "acl-", "PREFIXED", "READ"), ("TOPIC", "acl-", "PREFIXED", "WRITE"),
                   ("GROUP", "g1", "LITERAL", "READ")}
    a = next(x for x in lst["data"] if x["operation"] == "READ" and x["resource_type"] == "TOPIC")
    assert a["metadata"]["self"] == (node.rest.base + c + "/acls?resource_type=TOPIC&resource_name=acl-"
                                     "&pattern_type=PREFIXED&principal=User%3Aalice&host=*&operation=READ"
                                     "&permission=ALLOW")
    # The same ACL, through its self link, and through kafka-acls (DescribeAcls).
    assert node.rest.get(a["metadata"]["self"], "AclDataList")["data"] == [a]
    listed = acls_tool(node, "--list", "--principal", "User:alice").stdout
    assert "resource `ResourcePattern(resourceType=TOPIC, name=acl-, patternType=PREFIXED)`" in listed
    assert listed.count("(principal=User:alice, host=*, operation=") == 3, listed
    only_topics = node.rest.get(c + "/acls?resource_type=TOPIC&principal=User:alice", "AclDataList")
    assert len(only_topics["data"]) == 2
    # One kafka-acls creates is found over REST.
    acls_tool(node, "--add", "--deny-principal", "User:bob", "--operation", "Describe", "--topic", "other")
    wait_until(lambda: len(node.rest.get(c + "/acls?principal=User:bob")["data"]) == 1, what="bob's ACL")
    # Delete: the deleted ACLs are answered.
    st, deleted = node.rest.call("DELETE", c + "/acls?resource_type=TOPIC&pattern_type=PREFIXED&resource_name=acl-"
                                 "&operation=ANY&permission=ANY&principal=User:alice")
    assert st == 200, deleted
    validate(deleted, "DeleteAclsResponse")
    assert sorted(x["operation"] for x in deleted["data"]) == ["READ", "WRITE"]
    assert len(node.rest.get(c + "/acls?principal=User:alice")["data"]) == 1
    node.rest.call("DELETE", c + "/acls?resource_type=ANY&pattern_type=ANY&operation=ANY&permission=ANY&principal=User:alice")
    node.rest.call("DELETE", c + "/acls?resource_type=ANY&pattern_type=ANY&operation=ANY&permission=ANY&principal=User:bob")
    # Errors.
    node.rest.error("DELETE", c + "/acls?pattern_type=ANY&operation=ANY&permission=ANY", 400, 400,
                    message="resource_type cannot be unspecified or UNKNOWN")
    node.rest.error("GET", c + "/acls?resource_type=TABLE", 400, 400)
    node.rest.error("POST", c + "/acls", 400, 400, body=dict(ACL, operation="FLY"))
    node.rest.error("POST", c + "/acls", 400, 400, body={"resource_type": "TOPIC"})
    node.rest.error("POST", c + "/acls", 400, 40002, body=dict(ACL, resource_type="CLUSTER", resource_name="x",
                                                               pattern_type="LITERAL"))
    node.rest.error("POST", c + "/acls:batch", 400, 400, body={"data": "none"})


def test_topic_hidden_from_user_without_describe(node, c):
    ensure_topic(node, c, "hidden-t")
    ensure_topic(node, c, "open-t")
    # Once an ACL names hidden-t, the anonymous user (matching none) may not DESCRIBE it.
    assert node.rest.call("POST", c + "/acls", {"resource_type": "TOPIC", "resource_name": "hidden-t",
                                                "pattern_type": "LITERAL", "principal": "User:carol", "host": "*",
                                                "operation": "ALL", "permission": "ALLOW"})[0] == 201
    try:
        wait_until(lambda: "hidden-t" not in [t["topic_name"] for t in node.rest.get(c + "/topics")["data"]],
                   what="hidden-t hidden")
        names = [t["topic_name"] for t in node.rest.get(c + "/topics", "TopicDataList")["data"]]
        assert "open-t" in names
        node.rest.error("GET", c + "/topics/hidden-t", 403, 40301)
        node.rest.error("GET", c + "/topics/hidden-t/partitions", 403, 40301)
        node.rest.error("GET", c + "/topics/hidden-t?include_authorized_operations=true", 403, 40301)
        node.rest.error("GET", c + "/topics/hidden-t/configs", 403, 40301)
        assert "hidden-t" not in {x["topic_name"] for x in node.rest.get(c + "/brokers/1/partition-replicas")["data"]}
    finally:
        node.rest.call("DELETE", c + "/acls?resource_type=TOPIC&pattern_type=LITERAL&resource_name=hidden-t"
                       "&operation=ANY&permission=ANY")
    wait_until(lambda: node.rest.call("GET", c + "/topics/hidden-t")[0] == 200, what="hidden-t visible again")


def test_odd_input_never_crashes(node, c):
    for method, path, raw in [("POST", "/topics", "\x00\xff" * 100), ("POST", "/topics", "{" * 5000),
                              ("POST", "/acls", "null"), ("PATCH", "/topics/x", "[]"),
                              ("GET", "/topics/%2e%2e", None), ("GET", "/brokers/99999999999999", None),
                              ("GET", "/topics/a%00b", None)]:
        st, body = node.rest.call(method, c + path, raw=raw)
        assert 400 <= st < 500, (method, path, st, body)
        validate(body, "Error")
    assert node.rest.call("GET", "/v3/clusters")[0] == 200


def test_split_cluster_two_brokers(workdir):
    """Controller-only node 1, brokers 100 and 101, each with its own HTTP
    listener: another broker's configs come from that broker; replicas span
    both brokers; the controller link names a broker."""
    from conftest import Cluster
    ports = {}

    def configure(n):
        ports[n.node_id] = free_port()
        n.props["http.listeners"] = f"http://127.0.0.1:{ports[n.node_id]}"

    cl = Cluster(workdir, controllers=1, brokers=2, configure=configure).start()
    try:
        rest = Rest(f"http://127.0.0.1:{ports[100]}")
        c = f"/v3/clusters/{cl.cluster_id}"
        wait_until(lambda: len(rest.get(c + "/brokers")["data"]) == 2, what="two brokers")
        brokers = rest.get(c + "/brokers", "BrokerDataList")["data"]
        assert [b["broker_id"] for b in brokers] == [100, 101]
        cluster = rest.get(c, "ClusterData")
        assert cluster["controller"]["related"] == rest.base + c + "/brokers/100"
        other = rest.get(c + "/brokers/101/configs", "BrokerConfigDataList")["data"]
        assert other and all(x["broker_id"] == 101 for x in other)
        st, b = rest.call("PUT", c + "/brokers/101/configs/log.cleaner.threads", {"value": "2"})
        assert st == 204, b
        mine = rest.get(c + "/brokers/101/configs/log.cleaner.threads", "BrokerConfigData")
        assert (mine["broker_id"], mine["value"], mine["source"]) == (101, "2", "DYNAMIC_BROKER_CONFIG")
        theirs = rest.get(c + "/brokers/100/configs/log.cleaner.threads", "BrokerConfigData")
        assert (theirs["broker_id"], theirs["source"]) == (100, "DEFAULT_CONFIG")
        st, t = rest.call("POST", c + "/topics", {"topic_name": "two", "partitions_count": 2, "replication_factor": 2})
        assert st == 201, t
        assert t["replication_factor"] == 2
        # The other broker's listener sees it too.
        rest101 = Rest(f"http://127.0.0.1:{ports[101]}")
        wait_until(lambda: rest101.call("GET", c + "/topics/two")[0] == 200, what="topic on broker 101")
        def in_sync():
            data = rest101.get(c + "/topics/two/partitions/0/replicas", "ReplicaDataList")["data"]
            ok = sorted(r["broker_id"] for r in data) == [100, 101] and all(r["is_in_sync"] for r in data)
            return data if ok else None

        reps = wait_until(in_sync, what="both replicas in sync")
        assert sum(r["is_leader"] for r in reps) == 1
    finally:
        cl.stop()
