"""The admin APIs that brokers forward to the active controller, on a cluster
of 3 controllers and 2 brokers (ids 100 and 101): AlterConfigs /
IncrementalAlterConfigs and DescribeConfigs for topics and brokers (the
confluent-kafka AdminClient and `flotilla configs`), ElectLeaders (`flotilla
leader-election`), UnregisterBroker and partition reassignments (raw wire).

The tests marked `needs_replication` need followers that catch up and rejoin
the ISR (follower fetching + AlterPartition): a preferred replica can only
lead again, and a reassignment can only complete, once it is in sync.
"""
import struct
import time

import pytest

from conftest import run_tool
from kafka_wire import Reader, connect, request, response, uvarint

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

FAST = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500", "replica.lag.time.max.ms": "5000"}
TOPIC, BROKER = ConfigResource.Type.TOPIC, ConfigResource.Type.BROKER
DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 2, 3, 4, 5
INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION = 40, 42, 3
NO_REASSIGNMENT_IN_PROGRESS, BROKER_ID_NOT_REGISTERED = 85, 102
needs_replication = pytest.mark.needs_replication


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def admin(node):
    return AdminClient({"bootstrap.servers": node.bootstrap, "socket.timeout.ms": 10000})


def alter(a, resource):
    return list(a.alter_configs([resource]).values())[0].result(30)


def alter_error(a, resource):
    with pytest.raises(KafkaException) as e:
        alter(a, resource)
    return e.value.args[0].code(), e.value.args[0].str()


def describe(a, type_, name):
    return list(a.describe_configs([ConfigResource(type_, name)]).values())[0].result(30)


def partition(a, topic, p):
    return a.list_topics(topic, timeout=10).topics[topic].partitions[p]


def tool(*args, check=False):
    return run_tool(*args, check=check)


# --------------------------------------------------------------------------- raw wire


def compact_string(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def compact_ints(v):
    if v is None:
        return b"\x00"
    return uvarint(len(v) + 1) + b"".join(struct.pack(">i", x) for x in v)


def call(bootstrap, api_key, version, body):
    s = connect(bootstrap, timeout=30)
    try:
        request(s, api_key, version, body, flexible_header=True)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.tags()
    return r


def unregister_broker(bootstrap, broker_id):
    r = call(bootstrap, 64, 0, struct.pack(">i", broker_id) + b"\x00")
    r.i32()  # throttle
    return r.i16(), r.compact_string()


def alter_reassignments(bootstrap, targets):
    """targets: {(topic, partition): [replicas] or None (cancel)} -> (error, {(topic, partition): (error, message)})"""
    by_topic = {}
    for (t, p), replicas in targets.items():
        by_topic.setdefault(t, []).append((p, replicas))
    body = struct.pack(">i", 30000) + uvarint(len(by_topic) + 1)
    for t, parts in by_topic.items():
        body += compact_string(t) + uvarint(len(parts) + 1)
        for p, replicas in parts:
            body += struct.pack(">i", p) + compact_ints(replicas) + b"\x00"
        body += b"\x00"
    body += b"\x00"
    r = call(bootstrap, 45, 0, body)
    r.i32()
    err, _ = r.i16(), r.compact_string()
    out = {}
    for _ in range(r.uvarint() - 1):
        t = r.compact_string()
        for _ in range(r.uvarint() - 1):
            p, e, m = r.i32(), r.i16(), r.compact_string()
            r.tags()
            out[(t, p)] = (e, m)
        r.tags()
    return err, out


def list_reassignments(bootstrap):
    """Every ongoing reassignment: {(topic, partition): (replicas, adding, removing)}."""
    r = call(bootstrap, 46, 0, struct.pack(">i", 30000) + b"\x00" + b"\x00")
    r.i32()
    err, _ = r.i16(), r.compact_string()
    assert err == 0, err
    ints = lambda: [r.i32() for _ in range(r.uvarint() - 1)]  # noqa: E731
    out = {}
    for _ in range(r.uvarint() - 1):
        t = r.compact_string()
        for _ in range(r.uvarint() - 1):
            p = r.i32()
            out[(t, p)] = (ints(), ints(), ints())
            r.tags()
        r.tags()
    return out


# --------------------------------------------------------------------------- configs


def test_alter_and_describe_configs_with_confluent_kafka(cluster):
    c = cluster(controllers=3, brokers=2, extra=FAST)
    b100, b101 = c.brokers
    a = admin(b100)
    a.create_topics([NewTopic("cfg", num_partitions=1, replication_factor=1),
                     NewTopic("plain", num_partitions=1, replication_factor=1)])["cfg"].result(30)

    # A topic override: DYNAMIC_TOPIC_CONFIG.
    alter(a, ConfigResource(TOPIC, "cfg", set_config={"retention.ms": "1000", "cleanup.policy": "compact"}))
    cfg = describe(a, TOPIC, "cfg")
    assert cfg["retention.ms"].value == "1000" and cfg["retention.ms"].source == DYNAMIC_TOPIC_CONFIG
    assert cfg["cleanup.policy"].value == "compact"
    assert cfg["segment.bytes"].value == "1073741824" and cfg["segment.bytes"].source == DEFAULT_CONFIG
    # The legacy API sets the whole configuration: what is left out goes.
    alter(a, ConfigResource(TOPIC, "cfg", set_config={"retention.ms": "2000"}))
    cfg = describe(a, TOPIC, "cfg")
    assert cfg["retention.ms"].value == "2000" and cfg["cleanup.policy"].value == "delete"
    # Kafka's validation errors.
    assert alter_error(a, ConfigResource(TOPIC, "cfg", set_config={"retention.ms": "soon"})) == (
        INVALID_CONFIG, "Invalid value soon for configuration retention.ms: Not a number of type LONG")
    assert alter_error(a, ConfigResource(TOPIC, "cfg", set_config={"no.such.config": "1"})) == (
        INVALID_CONFIG, "Unknown topic config name: no.such.config")
    assert alter_error(a, ConfigResource(TOPIC, "missing", set_config={"retention.ms": "1"}))[0] == UNKNOWN_TOPIC_OR_PARTITION
    # validate_only changes nothing.
    list(a.alter_configs([ConfigResource(TOPIC, "cfg", set_config={"retention.ms": "3000"})],
                         validate_only=True).values())[0].result(30)
    assert describe(a, TOPIC, "cfg")["retention.ms"].value == "2000"

    # The cluster-wide broker default (librdkafka cannot name the "" resource:
    # set with our tool) reaches every broker and the topics without an override.
    tool("configs", "--bootstrap-server", b100.bootstrap, "--entity-type", "brokers", "--entity-default", "--alter",
         "--add-config", "log.retention.ms=5000", check=True)
    for node in (b100, b101):
        na = admin(node)
        e = wait_for(lambda: (lambda x: x if x.value == "5000" else None)(
            describe(na, BROKER, str(node.node_id))["log.retention.ms"]), what=f"broker {node.node_id} default")
        assert e.source == DYNAMIC_DEFAULT_BROKER_CONFIG
    plain = describe(a, TOPIC, "plain")["retention.ms"]
    assert (plain.value, plain.source) == ("5000", DYNAMIC_DEFAULT_BROKER_CONFIG)

    # A per-broker value wins over the default, on that broker only.
    a101 = admin(b101)
    alter(a101, ConfigResource(BROKER, "101", set_config={"log.retention.ms": "6000", "log.cleaner.threads": "2"}))
    e = describe(a101, BROKER, "101")["log.retention.ms"]
    assert (e.value, e.source) == ("6000", DYNAMIC_BROKER_CONFIG)
    assert describe(a101, BROKER, "101")["log.cleaner.threads"].value == "2"
    e = describe(a, BROKER, "100")["log.retention.ms"]
    assert (e.value, e.source) == ("5000", DYNAMIC_DEFAULT_BROKER_CONFIG)
    # Static configs keep their source; read-only ones cannot change dynamically.
    assert describe(a, BROKER, "100")["num.partitions"].source == STATIC_BROKER_CONFIG
    code, message = alter_error(a, ConfigResource(BROKER, "100", set_config={"log.dirs": "/elsewhere"}))
    assert (code, message) == (INVALID_REQUEST, "Cannot update these configs dynamically: Set(log.dirs)")
    p = tool("configs", "--bootstrap-server", b100.bootstrap, "--entity-type", "brokers", "--entity-default", "--alter",
             "--add-config", "listeners=PLAINTEXT://:1")
    assert p.returncode == 1 and "Cannot update these configs at default cluster level, broker id must be specified" in p.stderr


def test_configs_tool(cluster):
    c = cluster(controllers=3, brokers=2, extra=FAST)
    b = c.brokers[0].bootstrap
    tool("topics", "--bootstrap-server", b, "--create", "--topic", "ct", "--partitions", "1", "--replication-factor", "1",
         check=True)
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", "ct", "--alter",
             "--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]")
    assert (p.returncode, p.stdout) == (0, "Completed updating config for topic ct.\n"), p.stderr
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", "ct", "--describe")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "Dynamic configs for topic ct are:",
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, "
        "DEFAULT_CONFIG:log.cleanup.policy=delete}",
        "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, "
        "DEFAULT_CONFIG:log.retention.hours=168}",
    ]
    p = tool("configs", "--bootstrap-server", b, "--topic", "ct", "--alter", "--delete-config", "cleanup.policy")
    assert p.returncode == 0, p.stderr
    p = tool("configs", "--bootstrap-server", b, "--topic", "ct", "--alter", "--delete-config", "cleanup.policy")
    assert (p.returncode, p.stderr) == (1, "Invalid config(s): cleanup.policy\n")
    p = tool("configs", "--bootstrap-server", b, "--topic", "ct", "--alter", "--add-config", "retention.ms=soon")
    assert p.returncode == 1
    assert ("org.apache.kafka.common.errors.InvalidConfigurationException: Invalid value soon for configuration retention.ms: "
            "Not a number of type LONG") in p.stderr

    # Brokers: the default and one broker's own.
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-default", "--alter",
             "--add-config", "log.cleaner.threads=2")
    assert (p.returncode, p.stdout) == (0, "Completed updating default config for brokers in the cluster.\n"), p.stderr
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name", "101", "--alter",
             "--add-config", "log.cleaner.threads=3")
    assert (p.returncode, p.stdout) == (0, "Completed updating config for broker 101.\n"), p.stderr
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name", "101", "--describe")
    assert p.stdout.splitlines() == [
        "Dynamic configs for broker 101 are:",
        "  log.cleaner.threads=3 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.threads=3, "
        "DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2, DEFAULT_CONFIG:log.cleaner.threads=1}",
    ], p.stderr
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-default", "--describe")
    assert p.stdout.splitlines() == [
        "Default configs for brokers in the cluster are:",
        "  log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.threads=2, "
        "DEFAULT_CONFIG:log.cleaner.threads=1}",
    ]
    p = tool("configs", "--bootstrap-server", b, "--broker", "100", "--alter", "--add-config", "log.dirs=/x")
    assert p.returncode == 1 and "InvalidRequestException: Cannot update these configs dynamically: Set(log.dirs)" in p.stderr
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name", "x", "--describe")
    assert (p.returncode, p.stderr) == (1, "The entity name for brokers must be a valid integer broker id, but it is: x\n")
    p = tool("configs", "--bootstrap-server", b, "--entity-type", "topics", "--describe", "--alter")
    assert (p.returncode, p.stderr) == (1, "Command must include exactly one action: --describe, --alter\n")


# --------------------------------------------------------------------------- elections, unregistration


def test_leader_election_errors_and_unregister_broker(cluster):
    c = cluster(controllers=3, brokers=2, extra=FAST)
    b100, b101 = c.brokers
    b = b100.bootstrap
    tool("topics", "--bootstrap-server", b, "--create", "--topic", "el", "--replica-assignment", "100,101", check=True)
    a = admin(b100)
    wait_for(lambda: partition(a, "el", 1).leader == 101, what="el-1 led by 101")

    def elect(*args):
        return tool("leader-election", "--bootstrap-server", b, *args)

    p = elect("--election-type", "PREFERRED", "--topic", "el", "--partition", "0")
    assert (p.returncode, p.stdout) == (0, "Valid replica already elected for partitions el-0\n"), p.stderr
    p = elect("--election-type", "preferred", "--all-topic-partitions")
    assert (p.returncode, p.stdout) == (0, ""), p.stderr  # nothing needed an election

    # Broker 101 stops: el-1 has no leader (its only replica is gone).
    b101.stop()
    wait_for(lambda: partition(a, "el", 1).leader == -1, what="el-1 without a leader")
    p = elect("--election-type", "PREFERRED", "--topic", "el", "--partition", "1")
    assert p.returncode == 1
    assert p.stdout == ("Error completing leader election (PREFERRED) for partition: el-1: "
                        "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: The preferred leader was not available.\n")
    assert p.stderr == "1 replica(s) could not be elected\n"
    p = elect("--election-type", "UNCLEAN", "--topic", "el", "--partition", "1")
    assert p.returncode == 1
    assert "EligibleLeadersNotAvailableException: Eligible topic partition leaders are not available." in p.stdout
    p = elect("--election-type", "UNCLEAN", "--topic", "el", "--partition", "0")
    assert (p.returncode, p.stdout) == (0, "Valid replica already elected for partitions el-0\n")
    p = elect("--election-type", "PREFERRED", "--topic", "el", "--partition", "9")
    assert p.returncode == 1
    assert "UnknownTopicOrPartitionException: No such partition as el-9" in p.stdout
    p = elect("--election-type", "PREFERRED", "--all-topic-partitions")
    assert p.returncode == 1 and "for partition: el-1:" in p.stdout and "el-0" not in p.stdout
    p = elect("--election-type", "PREFERRED", "--topic", "el")
    assert (p.returncode, p.stderr) == (1, "Missing required option(s): partition\n")

    # The stopped broker's registration goes; a second time it is unknown.
    assert unregister_broker(b, 101) == (0, None)
    err, message = unregister_broker(b, 101)
    assert err == BROKER_ID_NOT_REGISTERED and message == "Broker ID 101 is not currently registered"
    assert unregister_broker(b, 555)[0] == BROKER_ID_NOT_REGISTERED


@needs_replication
def test_preferred_leader_election_after_the_preferred_replica_returns(cluster):
    c = cluster(controllers=3, brokers=2, extra={**FAST, "auto.leader.rebalance.enable": "false"})
    b100, b101 = c.brokers
    tool("topics", "--bootstrap-server", b101.bootstrap, "--create", "--topic", "pe", "--replica-assignment", "100:101",
         check=True)
    a = admin(b101)
    wait_for(lambda: partition(a, "pe", 0).leader == 100 and sorted(partition(a, "pe", 0).isrs) == [100, 101])
    b100.stop()
    wait_for(lambda: partition(a, "pe", 0).leader == 101, what="leadership moved to 101")
    b100.start()
    # Back in sync (needs replication), but not leader: nothing rebalances.
    wait_for(lambda: 100 in partition(a, "pe", 0).isrs, timeout=30, what="broker 100 back in the ISR")
    assert partition(a, "pe", 0).leader == 101
    p = tool("leader-election", "--bootstrap-server", b101.bootstrap, "--election-type", "PREFERRED", "--topic", "pe",
             "--partition", "0")
    assert (p.returncode, p.stdout) == (0, "Successfully completed leader election (PREFERRED) for partitions pe-0\n"), p.stderr
    wait_for(lambda: partition(a, "pe", 0).leader == 100, what="leader 100 again")


@needs_replication
def test_automatic_preferred_leader_rebalance(cluster):
    c = cluster(controllers=3, brokers=2, extra={**FAST, "leader.imbalance.check.interval.seconds": "1"})
    b100, b101 = c.brokers
    tool("topics", "--bootstrap-server", b101.bootstrap, "--create", "--topic", "ar", "--replica-assignment", "100:101",
         check=True)
    a = admin(b101)
    wait_for(lambda: partition(a, "ar", 0).leader == 100)
    b100.stop()
    wait_for(lambda: partition(a, "ar", 0).leader == 101, what="leadership moved to 101")
    b100.start()
    # Once broker 100 is in sync again the controller moves leadership back by itself.
    wait_for(lambda: partition(a, "ar", 0).leader == 100, timeout=40, what="automatic preferred leader election")


# --------------------------------------------------------------------------- reassignments


def test_reassignment_errors_and_cancel(cluster):
    c = cluster(controllers=3, brokers=2, extra=FAST)
    b = c.brokers[0].bootstrap
    tool("topics", "--bootstrap-server", b, "--create", "--topic", "ra", "--replica-assignment", "100", check=True)
    assert list_reassignments(b) == {}
    err, res = alter_reassignments(b, {("ra", 0): None, ("ra", 5): [100], ("nope", 0): [100]})
    assert err == 0
    assert res[("ra", 0)] == (NO_REASSIGNMENT_IN_PROGRESS, "No partition reassignment is in progress.")
    assert res[("ra", 5)] == (UNKNOWN_TOPIC_OR_PARTITION, "Unable to find partition ra:5.")
    assert res[("nope", 0)] == (UNKNOWN_TOPIC_OR_PARTITION, "Unable to find a topic named nope.")
    err, res = alter_reassignments(b, {("ra", 0): [100, 999]})
    assert res[("ra", 0)] == (39, "The manual partition assignment includes broker 999, but no such broker is registered.")

    # Moving to broker 101 starts: both are replicas, 101 is being added, 100 removed.
    err, res = alter_reassignments(b, {("ra", 0): [101]})
    assert (err, res[("ra", 0)]) == (0, (0, None))
    ongoing = list_reassignments(b)
    if ongoing:  # (with replication it may already have completed)
        assert ongoing[("ra", 0)] == ([101, 100], [101], [100])
        err, res = alter_reassignments(b, {("ra", 0): None})
        if res[("ra", 0)][0] == 0:
            assert list_reassignments(b) == {}
            a = admin(c.brokers[0])
            wait_for(lambda: partition(a, "ra", 0).replicas == [100], what="reverted to [100]")


@needs_replication
def test_reassignment_moves_a_partition_and_its_data(cluster):
    c = cluster(controllers=3, brokers=2, extra=FAST)
    b100, b101 = c.brokers
    b = b100.bootstrap
    tool("topics", "--bootstrap-server", b, "--create", "--topic", "mv", "--replica-assignment", "100", check=True)
    lines = "".join(f"m{i}\n" for i in range(50))
    run_tool("console-producer", "--bootstrap-server", b, "--topic", "mv", input=lines)
    err, res = alter_reassignments(b, {("mv", 0): [101]})
    assert (err, res[("mv", 0)]) == (0, (0, None))
    a = admin(b100)
    wait_for(lambda: partition(a, "mv", 0).replicas == [101] and partition(a, "mv", 0).leader == 101, timeout=40,
             what="the reassignment to complete")
    assert list_reassignments(b) == {}
    out = run_tool("console-consumer", "--bootstrap-server", b101.bootstrap, "--topic", "mv", "--from-beginning",
                   "--max-messages", "50", "--timeout-ms", "20000")
    assert out.stdout.splitlines() == [f"m{i}" for i in range(50)]
