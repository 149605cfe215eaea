"""Partition capacity (issue 21): a broker registers its partition budget
(max.broker.partitions, or derived from its RLIMIT_NOFILE and memory), and
CreateTopics / CreatePartitions that would take it past the budget are
refused with POLICY_VIOLATION and a message naming the limit, validateOnly
alike, while the node keeps serving; after a restart every accepted topic is
served.

test_create_until_refused_derived uses the derived budget (RLIMIT_NOFILE 512
x flotilla.partitions.per.fd 5 = 2,560 replicas, five partitions per
descriptor: idle segments hold none, storage/fd_cache.h).
"""
import subprocess
import time

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # noqa: E402

POLICY_VIOLATION = 44
NOFILE = 512


def admin(node):
    return AdminClient({"bootstrap.servers": node.bootstrap, "socket.timeout.ms": 10000})


def create(a, name, partitions, validate_only=False):
    """None if created, else the KafkaError."""
    fut = a.create_topics([NewTopic(name, partitions, 1)], operation_timeout=30, validate_only=validate_only)[name]
    try:
        fut.result(60)
        return None
    except KafkaException as e:
        return e.args[0]


def grow(a, name, count, validate_only=False):
    fut = a.create_partitions([NewPartitions(name, count)], operation_timeout=30, validate_only=validate_only)[name]
    try:
        fut.result(60)
        return None
    except KafkaException as e:
        return e.args[0]


def served(a, names, partitions, timeout=60):
    """Waits until Metadata lists every topic of `names` with `partitions` partitions, each with a leader."""
    deadline = time.time() + timeout
    missing = names
    while time.time() < deadline:
        md = a.list_topics(timeout=10)
        missing = [n for n in names if n not in md.topics or md.topics[n].error is not None
                   or len(md.topics[n].partitions) != partitions
                   or any(p.leader < 0 for p in md.topics[n].partitions.values())]
        if not missing:
            return
        time.sleep(0.2)
    raise AssertionError(f"topics not served after {timeout}s: {missing[:5]} ({len(missing)} in all)")


def produce_and_consume(node, topic):
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all"})
    value = f"record of {topic}".encode()
    p.produce(topic, value, partition=3)
    assert p.flush(20) == 0
    # kcat without a group: no __consumer_offsets (which a full broker could not host).
    out = subprocess.run(["kcat", "-b", node.bootstrap, "-C", "-t", topic, "-p", "3", "-o", "beginning", "-c", "1", "-e", "-q"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == value


def fill_until_refused(node, max_topics, per_topic):
    a = admin(node)
    accepted = []
    for i in range(max_topics):
        name = f"cap-{i}"
        err = create(a, name, per_topic)
        if err is not None:
            return a, accepted, name, err
        accepted.append(name)
    raise AssertionError(f"{max_topics} topics of {per_topic} partitions were all accepted")


def check_create_until_refused(make_server, extra, budget, per_topic):
    node = make_server(extra=extra, nofile=NOFILE)
    a, accepted, refused, err = fill_until_refused(node, budget // per_topic + 3, per_topic)
    assert len(accepted) == budget // per_topic
    assert err.code() == KafkaError.POLICY_VIOLATION == POLICY_VIOLATION, err
    msg = err.str()
    assert "max.broker.partitions" in msg, msg
    assert f"above its limit of {budget:,}" in msg, msg
    # validateOnly says the same, and nothing was created.
    again = create(a, refused, per_topic, validate_only=True)
    assert again is not None and again.code() == POLICY_VIOLATION and again.str() == msg
    # The node stays up and serves what it accepted.
    assert node.proc.poll() is None
    md = a.list_topics(timeout=10)
    assert refused not in md.topics
    served(a, accepted, per_topic)
    produce_and_consume(node, accepted[0])

    # Restarted with the same limit, every accepted topic is served.
    node.stop()
    node.start()
    a = admin(node)
    served(a, accepted, per_topic)
    for t in (accepted[0], accepted[len(accepted) // 2], accepted[-1]):
        produce_and_consume(node, t)
    # Still refused after the restart (the budget came back with the registration).
    late = create(a, refused, per_topic)
    assert late is not None and late.code() == POLICY_VIOLATION
    assert f"Partition budget {budget} replicas" in node.log_text()


def test_create_until_refused(make_server):
    """An explicit max.broker.partitions of 120 under RLIMIT_NOFILE 512: three topics of 40, the fourth refused."""
    check_create_until_refused(make_server, {"max.broker.partitions": "120"}, 120, 40)


def test_create_until_refused_derived(make_server):
    """The derived budget: RLIMIT_NOFILE 512 x flotilla.partitions.per.fd 5 = 2,560 replicas."""
    check_create_until_refused(make_server, {}, NOFILE * 5, 50)


def test_create_partitions_beyond_budget_refused(make_server):
    node = make_server(extra={"max.broker.partitions": "20"})
    a = admin(node)
    assert create(a, "grow", 10) is None
    err = grow(a, "grow", 25, validate_only=True)
    assert err is not None and err.code() == POLICY_VIOLATION, err
    msg = err.str()
    assert "Adding 15 partition replicas would put broker 1 at 25 replicas, above its limit of 20" in msg, msg
    assert "max.broker.partitions" in msg
    err2 = grow(a, "grow", 25)
    assert err2 is not None and err2.code() == POLICY_VIOLATION and err2.str() == msg
    served(a, ["grow"], 10)
    assert grow(a, "grow", 20) is None
    served(a, ["grow"], 20)
    err3 = grow(a, "grow", 21)
    assert err3 is not None and err3.code() == POLICY_VIOLATION
    # A new topic does not fit either.
    err4 = create(a, "more", 1)
    assert err4 is not None and err4.code() == POLICY_VIOLATION
    assert "at 21 replicas, above its limit of 20" in err4.str()


def test_max_partitions_bounds_the_cluster(make_server):
    node = make_server(extra={"max.partitions": "30"})
    a = admin(node)
    assert create(a, "a", 20) is None
    err = create(a, "b", 20)
    assert err is not None and err.code() == POLICY_VIOLATION, err
    assert "above its limit of 30 (max.partitions)" in err.str(), err.str()
    assert create(a, "b", 10) is None
