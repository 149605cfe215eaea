"""Burrow (LinkedIn's consumer-lag monitor, Debian package `burrow`) watching
a Flotilla node: it reads __consumer_offsets with its kafka consumer module
and the end offsets with its kafka cluster module, and its HTTP API reports a
group's lag (end offset - committed offset) while the group falls behind, and
0 once it has caught up.

Burrow 1.2 insists on a ZooKeeper ensemble in its config, used only to create
its root path and for the notifier's lock. With root-path "/" it creates
nothing, and no notifier is configured, so the ensemble given is a 127.0.0.1
port nothing listens on (its client keeps retrying in the background).
"""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("Burrow") is None, reason="Burrow not installed (Debian package burrow)")

EXTRA = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
}
TOPIC, GROUP = "lag-topic", "burrow-lag-group"

# Burrow's Sarama is told to speak Kafka 2.0's protocol (client-profile
# kafka-version), a version range Flotilla serves.
CONFIG = """
[general]
pidfile="{dir}/burrow.pid"
stdout-logfile="{dir}/burrow.out"

[logging]
filename="{dir}/burrow.log"
level="info"

[zookeeper]
servers=["127.0.0.1:{zk_port}"]
root-path="/"
timeout=6

[client-profile.flotilla]
client-id="burrow-test"
kafka-version="2.0.0"

[cluster.flotilla]
class-name="kafka"
servers=["{bootstrap}"]
client-profile="flotilla"
topic-refresh=2
offset-refresh=1

[consumer.flotilla]
class-name="kafka"
cluster="flotilla"
servers=["{bootstrap}"]
client-profile="flotilla"
offsets-topic="__consumer_offsets"
start-latest=false

[storage.default]
class-name="inmemory"
workers=2
intervals=10
expire-group=604800
min-distance=1

[evaluator.default]
class-name="caching"
expire-cache=1

[httpserver.default]
address="127.0.0.1:{http_port}"
"""


@pytest.fixture
def burrow(make_server, workdir):
    """(server, start): start() writes Burrow's config and starts it, and
    returns (api_url, logs, proc). Burrow stops at startup when
    __consumer_offsets does not exist yet ("failed to get partition count"),
    as it does against Kafka; a group's first FindCoordinator creates it."""
    server = make_server(EXTRA)
    d = os.path.join(workdir, "burrow")
    os.makedirs(d)
    started = []

    def logs():
        out = []
        for name in ("stderr.log", "burrow.out", "burrow.log"):
            try:
                with open(os.path.join(d, name)) as f:
                    out.append(f"--- {name}\n" + f.read()[-4000:])
            except OSError:
                pass
        return "\n".join(out)

    def start():
        http_port = free_port()
        with open(os.path.join(d, "burrow.toml"), "w") as f:
            f.write(CONFIG.format(dir=d, zk_port=free_port(), bootstrap=server.bootstrap, http_port=http_port))
        log = open(os.path.join(d, "stderr.log"), "w")
        proc = subprocess.Popen(["Burrow", "--config-dir", d], cwd=d, stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        return f"http://127.0.0.1:{http_port}", logs, proc
    try:
        yield server, start
    finally:
        for proc, log in started:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def wait_for(what, fn, logs, proc, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        assert proc.poll() is None, f"Burrow exited with {proc.returncode}:\n{logs()}"
        try:
            last = fn()
            if last is not None and last is not False:
                return last
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {timeout}s (last: {last}):\n{logs()}")


def consume_and_commit(bootstrap, upto):
    """A confluent-kafka group member reads the topic up to offset `upto`
    (exclusive) on every partition and commits there, then leaves."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe([TOPIC])
    positions = {}
    deadline = time.time() + 45
    while any(positions.get(p, 0) < upto[p] for p in upto):
        assert time.time() < deadline, f"consumer reached {positions} of {upto} in 45s"
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        if m.offset() < upto[m.partition()]:
            positions[m.partition()] = m.offset() + 1
    c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in upto.items()], asynchronous=False)
    committed = {tp.partition: tp.offset for tp in c.committed([TopicPartition(TOPIC, p) for p in upto], timeout=10)}
    c.close()
    assert committed == upto


def test_burrow_reports_lag_while_behind_and_zero_when_caught_up(burrow):
    server, start = burrow
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": server.bootstrap})
    a.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])[TOPIC].result(15)
    p = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 5})
    for i in range(200):
        p.produce(TOPIC, value=b"x%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    end = {0: 100, 1: 100}
    # The group reads 30 and 45 and commits there: lag 70 + 55.
    consume_and_commit(server.bootstrap, {0: 30, 1: 45})
    api, logs, proc = start()

    # Burrow sees the cluster and the topic's end offsets.
    wait_for("cluster in /v3/kafka", lambda: "flotilla" in get(f"{api}/v3/kafka")["clusters"], logs, proc)
    offsets = wait_for("topic end offsets", lambda: (lambda o: o if o == [100, 100] else None)(
        get(f"{api}/v3/kafka/flotilla/topic/{TOPIC}")["offsets"]), logs, proc)
    assert offsets == [100, 100]


    def lag_is(total, per):
        st = get(f"{api}/v3/kafka/flotilla/consumer/{GROUP}/lag")
        if st.get("error"):
            return None
        s = st["status"]
        parts = {q["partition"]: q for q in s["partitions"] if q["topic"] == TOPIC}
        got = {p: (parts[p]["end"]["offset"], parts[p]["current_lag"]) for p in parts}
        if s["totallag"] == total and got == per:
            return s
        return None
    s = wait_for("lag 125", lambda: lag_is(125, {0: (30, 70), 1: (45, 55)}), logs, proc)
    assert s["group"] == GROUP and s["cluster"] == "flotilla" and s["partition_count"] == 2
    # The group is listed too.
    assert GROUP in get(f"{api}/v3/kafka/flotilla/consumer")["consumers"]

    # It catches up: lag 0 on both partitions.
    consume_and_commit(server.bootstrap, end)
    s = wait_for("lag 0", lambda: lag_is(0, {0: (100, 0), 1: (100, 0)}), logs, proc)
    assert s["totallag"] == 0
