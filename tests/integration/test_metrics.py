"""GET /metrics of a broker: Kafka's metric names as the JMX exporter's common
Kafka rules export them, counted by a real client's produce and fetch.

One node (broker+controller) with http.listeners on a free port; records are
produced and consumed with confluent-kafka; the exposition is parsed and
checked by value, and by Prometheus's own `promtool check metrics`.
"""
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import create_topic, free_port

confluent_kafka = pytest.importorskip("confluent_kafka")

N = 1000
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port, timeout=10):
    t0 = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        body = r.read().decode()
        ctype = r.headers.get("Content-Type", "")
    return body, ctype, time.monotonic() - t0


def parse(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in out, f"duplicate series {line!r}"
        out[key] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def total(samples, name, **labels):
    """Sum over every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def wait_metrics(port, timeout=20):
    deadline = time.time() + timeout
    while True:
        try:
            return scrape(port)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def metrics_node(make_server):
    def make(extra=None):
        port = free_port()
        props = {"http.listeners": f"http://127.0.0.1:{port}"}
        props.update(extra or {})
        s = make_server(props)
        wait_metrics(port)
        return s, port
    return make


def produce(bootstrap, topic, n):
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    errors = []
    for i in range(n):
        p.produce(topic, key=str(i).encode(), value=b"v" * 100,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        if i % 200 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    assert not errors, errors


def consume_all(bootstrap, topic, n, timeout=30):
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "metrics-test",
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    got = 0
    deadline = time.time() + timeout
    while got < n and time.time() < deadline:
        for m in c.consume(500, 1.0):
            assert not m.error(), m.error()
            got += 1
    c.close()
    assert got == n


def test_produce_and_fetch_are_counted_with_kafka_names(metrics_node):
    node, port = metrics_node()
    create_topic(node, "metrics-a", partitions=1)
    create_topic(node, "metrics-b", partitions=3)
    produce(node.bootstrap, "metrics-a", N)

    text, ctype, _ = scrape(port)
    assert ctype.startswith("text/plain; version=0.0.4")
    s = parse(text)
    # BrokerTopicMetrics: per topic exactly what was produced, and the all-topics series.
    assert value(s, "kafka_server_brokertopicmetrics_messagesin_total", topic="metrics-a") == N
    assert value(s, "kafka_server_brokertopicmetrics_messagesin_total") >= N
    assert value(s, "kafka_server_brokertopicmetrics_bytesin_total", topic="metrics-a") > N * 100
    assert value(s, "kafka_server_brokertopicmetrics_totalproducerequests_total", topic="metrics-a") >= 1
    assert value(s, "kafka_server_brokertopicmetrics_failedproducerequests_total", topic="metrics-a") == 0
    assert value(s, "kafka_server_brokertopicmetrics_messagesin_total", topic="metrics-b") == 0
    # RequestMetrics
    assert total(s, "kafka_network_requestmetrics_requests_total", request="Produce") >= 1
    assert total(s, "kafka_network_requestmetrics_requests_total", request="Metadata") >= 1
    assert value(s, "kafka_network_requestmetrics_totaltimems_count", request="Produce") >= 1
    assert value(s, "kafka_network_requestmetrics_totaltimems", request="Produce", quantile="0.99") > 0
    assert value(s, "kafka_network_requestmetrics_errors_total", request="Produce", error="NONE") >= 1
    # ReplicaManager: 1 + 3 partitions, all led here, all in sync.
    assert value(s, "kafka_server_replicamanager_partitioncount") == 4
    assert value(s, "kafka_server_replicamanager_leadercount") == 4
    assert value(s, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert value(s, "kafka_server_replicamanager_offlinereplicacount") == 0
    assert value(s, "kafka_server_replicamanager_atminisrpartitioncount") == 4  # ISR 1, min.insync.replicas 1
    # Log, per partition.
    assert value(s, "kafka_log_log_logendoffset", topic="metrics-a", partition="0") == N
    assert value(s, "kafka_log_log_logstartoffset", topic="metrics-a", partition="0") == 0
    assert value(s, "kafka_log_log_size", topic="metrics-a", partition="0") > N * 100
    assert value(s, "kafka_log_log_numlogsegments", topic="metrics-a", partition="0") >= 1
    assert value(s, "kafka_log_log_logendoffset", topic="metrics-b", partition="2") == 0
    # The process.
    assert value(s, "process_resident_memory_bytes") > 1 << 20
    assert value(s, "process_open_fds") > 3
    assert value(s, "process_max_fds") >= value(s, "process_open_fds")
    assert abs(value(s, "process_start_time_seconds") - time.time()) < 600
    assert value(s, "process_cpu_seconds_total") > 0

    consume_all(node.bootstrap, "metrics-a", N)
    s2 = parse(scrape(port)[0])
    assert value(s2, "kafka_server_brokertopicmetrics_bytesout_total", topic="metrics-a") > N * 100
    assert value(s2, "kafka_server_brokertopicmetrics_totalfetchrequests_total", topic="metrics-a") >= 1
    assert total(s2, "kafka_network_requestmetrics_requests_total", request="Fetch") >= 1
    assert total(s2, "kafka_network_requestmetrics_requests_total", request="FetchConsumer") >= 1
    assert value(s2, "kafka_network_requestmetrics_totaltimems_count", request="FetchConsumer") >= 1
    assert total(s2, "kafka_network_requestmetrics_requests_total", request="FetchFollower") == 0
    assert value(s2, "kafka_network_requestmetrics_errors_total", request="Fetch", error="NONE") >= 1
    assert value(s2, "kafka_coordinator_group_groupmetadatamanager_numgroups") is not None

    # Prometheus's own parser and linter accept the exposition.
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr

    times = sorted(scrape(port)[2] for _ in range(10))
    print(f"\n/metrics: {len(text)} bytes, {len(s)} samples; response time median {times[5] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")


def test_partition_series_switch(metrics_node):
    node, port = metrics_node({"flotilla.metrics.partition.series": "false"})
    create_topic(node, "metrics-c", partitions=2)
    produce(node.bootstrap, "metrics-c", 10)
    text, _, _ = scrape(port)
    assert "kafka_log_log_" not in text
    s = parse(text)
    assert value(s, "kafka_server_replicamanager_partitioncount") == 2
    assert value(s, "kafka_server_brokertopicmetrics_messagesin_total", topic="metrics-c") == 10


def test_replication_metrics_and_isr_shrink_and_expand(cluster):
    """Two brokers, one partition with 2 replicas: replication bytes both ways,
    FetchFollower requests on the leader; a follower paused (SIGSTOP) past
    replica.lag.time.max.ms is shrunk out of the ISR by the leader, and
    expands back in once resumed."""
    ports = {}

    def configure(n):
        if "broker" in n.roles:
            ports[n.node_id] = free_port()
            n.props["http.listeners"] = f"http://127.0.0.1:{ports[n.node_id]}"

    c = cluster(controllers=1, brokers=2, configure=configure,
                extra={"replica.lag.time.max.ms": "1500", "broker.session.timeout.ms": "30000"})
    b1, b2 = c.brokers
    from conftest import run_tool
    run_tool("topics", "--bootstrap-server", b1.bootstrap, "--create", "--topic", "rep",
             "--partitions", "1", "--replication-factor", "2")
    produce(b1.bootstrap, "rep", 100)

    def scrape_node(n):
        return parse(scrape(ports[n.node_id])[0])

    deadline = time.time() + 20
    while True:
        s = {n.node_id: scrape_node(n) for n in (b1, b2)}
        leader = next((n for n in (b1, b2) if value(s[n.node_id], "kafka_server_replicamanager_leadercount") == 1), None)
        follower = b2 if leader is b1 else b1
        if leader and value(s[follower.node_id], "kafka_log_log_logendoffset", topic="rep", partition="0") == 100:
            break
        assert time.time() < deadline, "the follower did not catch up"
        time.sleep(0.2)
    sl, sf = s[leader.node_id], s[follower.node_id]
    assert value(sl, "kafka_server_brokertopicmetrics_messagesin_total", topic="rep") == 100
    assert value(sf, "kafka_server_brokertopicmetrics_messagesin_total", topic="rep") == 0  # replicated, not produced
    assert value(sl, "kafka_server_brokertopicmetrics_replicationbytesout_total") > 100 * 100
    assert value(sf, "kafka_server_brokertopicmetrics_replicationbytesin_total") > 100 * 100
    assert total(sl, "kafka_network_requestmetrics_requests_total", request="FetchFollower") >= 1
    assert value(sf, "kafka_server_replicamanager_partitioncount") == 1
    assert value(sf, "kafka_server_replicamanager_leadercount") == 0
    assert value(sl, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    shrinks0 = value(sl, "kafka_server_replicamanager_isrshrinks_total")
    expands0 = value(sl, "kafka_server_replicamanager_isrexpands_total")

    import signal
    def wait_leader(what, done):
        # The new ISR may reach the leader in its metadata image before the
        # AlterPartition response (which counts the change): wait for both.
        deadline = time.time() + 20
        while True:
            sl = scrape_node(leader)
            if done(sl):
                return sl
            assert time.time() < deadline, what
            time.sleep(0.2)

    follower.proc.send_signal(signal.SIGSTOP)
    try:
        sl = wait_leader("the leader did not shrink the ISR", lambda sl: value(
            sl, "kafka_server_replicamanager_underreplicatedpartitions") == 1 and value(
            sl, "kafka_server_replicamanager_isrshrinks_total") > shrinks0)
    finally:
        follower.proc.send_signal(signal.SIGCONT)
    assert value(sl, "kafka_server_replicamanager_isrshrinks_total") == shrinks0 + 1
    assert value(sl, "kafka_server_replicamanager_atminisrpartitioncount") == 1  # ISR 1 = min.insync.replicas 1
    sl = wait_leader("the follower did not rejoin the ISR", lambda sl: value(
        sl, "kafka_server_replicamanager_underreplicatedpartitions") == 0 and value(
        sl, "kafka_server_replicamanager_isrexpands_total") > expands0)
    assert value(sl, "kafka_server_replicamanager_isrexpands_total") == expands0 + 1
    assert value(sl, "kafka_server_replicamanager_isrshrinks_total") == shrinks0 + 1
