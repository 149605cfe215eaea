"""Acceptance of /metrics with a real Prometheus (issue 18, section 2).

A 3-controller + 3-broker cluster, every node with its own HTTP listener; a
Prometheus (Debian's /usr/bin/prometheus) started here on a free port scrapes
all six nodes every second. The test asks Prometheus's own HTTP API
(/api/v1/query), never the nodes, and sees:
- every node up, exactly one active controller (the sum over the quorum is 1),
  and the Raft metrics agreeing on the leader with it;
- the produce rate of topic `t` above 0 while a confluent_kafka producer runs
  (BrokerTopicMetrics, asserted last);
- the fenced broker count going from 0 to 1 within broker.session.timeout.ms
  + a few seconds after a broker is killed with SIGKILL.
Prometheus is started and stopped by PID; every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, run_tool

confluent_kafka = pytest.importorskip("confluent_kafka")

PROMETHEUS = "/usr/bin/prometheus"
SESSION_TIMEOUT_MS = 6000

pytestmark = pytest.mark.skipif(not os.path.exists(PROMETHEUS), reason="Debian's prometheus is not installed")


class Prometheus:
    """A Prometheus process scraping `targets` (host:port) every second."""

    def __init__(self, workdir, targets):
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.config = os.path.join(self.dir, "prometheus.yml")
        self.log_path = os.path.join(self.dir, "prometheus.log")
        with open(self.config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: flotilla\n    static_configs:\n      - targets: [" +
                    ", ".join(f"'{t}'" for t in targets) + "]\n")
        self.proc = None

    def start(self, timeout=30):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout}s:\n{self.log_text()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc:
            self.log.close()

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def query(self, expr):
        """The instant vector of `expr` now: [(labels, float value)]."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return [(s["metric"], float(s["value"][1])) for s in body["data"]["result"]]

    def scalar(self, expr):
        """The single value of `expr`, or None when it has no sample."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr}: {result}"
        return result[0][1] if result else None

    def wait_for(self, expr, pred, timeout, what):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.scalar(expr)
            if last is not None and pred(last):
                return last
            time.sleep(0.25)
        raise AssertionError(f"{what}: `{expr}` was {last} after {timeout}s")


def _http_listener(node):
    node.http_port = free_port()
    node.props["http.listeners"] = f"http://127.0.0.1:{node.http_port}"


@pytest.fixture
def prometheus_factory(workdir):
    started = []

    def make(targets):
        p = Prometheus(workdir, targets)
        started.append(p)
        return p.start()

    yield make
    for p in started:
        p.stop()


def _produce(bootstrap, topic, stop, counts):
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})

    def delivered(err, _msg):
        if err is None:
            counts["acked"] += 1
        else:
            counts["errors"] += 1

    while not stop.is_set():
        for i in range(50):
            producer.produce(topic, value=b"x" * 100, key=str(i).encode(), on_delivery=delivered)
        producer.poll(0.05)
    producer.flush(10)


def test_prometheus_scrapes_the_cluster(cluster, prometheus_factory):
    c = cluster(controllers=3, brokers=3, configure=_http_listener,
                extra={"broker.session.timeout.ms": str(SESSION_TIMEOUT_MS), "broker.heartbeat.interval.ms": "500",
                       "offsets.topic.replication.factor": "3"})
    targets = {f"127.0.0.1:{n.http_port}": n for n in c.nodes}
    prom = prometheus_factory(list(targets))

    # Every node is scraped, and the quorum has exactly one active controller.
    prom.wait_for("sum(up)", lambda v: v == 6, 30, "all six nodes scraped")
    prom.wait_for("count(kafka_controller_kafkacontroller_activecontrollercount)", lambda v: v == 3, 15,
                  "activecontrollercount on each controller")
    prom.wait_for("sum(kafka_controller_kafkacontroller_activecontrollercount)", lambda v: v == 1, 15, "one active controller")
    active = prom.query("kafka_controller_kafkacontroller_activecontrollercount == 1")
    assert len(active) == 1, active
    active_node = targets[active[0][0]["instance"]]
    assert "controller" in active_node.roles

    # Raft agrees: one leader, the active controller, known to all six nodes.
    prom.wait_for('count(kafka_server_raftmetrics_current_state{current_state="leader"})', lambda v: v == 1, 10, "one Raft leader")
    leader = prom.query('kafka_server_raftmetrics_current_state{current_state="leader"}')
    assert targets[leader[0][0]["instance"]] is active_node
    prom.wait_for(f"count(kafka_server_raftmetrics_current_leader == {active_node.node_id})", lambda v: v == 6, 10,
                  "every node knows the leader")
    assert prom.scalar("count(kafka_server_raftmetrics_current_epoch)") == 6
    assert prom.scalar('count(count_values("epoch", kafka_server_raftmetrics_current_epoch))') == 1, "one epoch everywhere"
    # The leader appends (idle NoOps at least), the others fetch, commits are timed.
    prom.wait_for(f'kafka_server_raftmetrics_append_records_rate{{instance="127.0.0.1:{active_node.http_port}"}}',
                  lambda v: v > 0, 15, "the leader's append rate")
    prom.wait_for(f'min(kafka_server_raftmetrics_fetch_records_rate{{instance!="127.0.0.1:{active_node.http_port}"}})',
                  lambda v: v > 0, 15, "every follower and observer fetches records")
    prom.wait_for(f'kafka_server_raftmetrics_commit_latency_avg{{instance="127.0.0.1:{active_node.http_port}"}}',
                  lambda v: v == v and v >= 0, 15, "the leader's commit latency (a number, not NaN)")
    assert prom.scalar("min(kafka_server_raftmetrics_high_watermark)") > 0
    assert prom.scalar("max(kafka_server_metadataloader_currentmetadataversion)") > 0
    assert prom.scalar("count(kafka_server_snapshotemitter_latestsnapshotgeneratedagems)") == 6
    assert prom.scalar("count(kafka_server_brokermetadatametrics_last_applied_record_offset)") == 3
    assert prom.scalar("max(kafka_controller_kafkacontroller_activebrokercount)") == 3
    assert prom.scalar("min(kafka_controller_kafkacontroller_activebrokercount)") == 3

    # Prometheus's own linter accepts what a controller and a broker expose.
    promtool = shutil.which("promtool")
    if promtool:
        for n in (active_node, c.brokers[0]):
            with urllib.request.urlopen(f"http://127.0.0.1:{n.http_port}/metrics", timeout=5) as r:
                text = r.read().decode()
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, f"node {n.node_id}: " + p.stdout + p.stderr

    # Produce while Prometheus watches; the rate is asserted at the end.
    bootstrap = ",".join(b.bootstrap for b in c.brokers)
    run_tool("topics", "--bootstrap-server", bootstrap, "--create", "--topic", "t", "--partitions", "3",
             "--replication-factor", "3")
    prom.wait_for("max(kafka_controller_kafkacontroller_globaltopiccount)", lambda v: v >= 1, 10, "the topic is counted")
    assert prom.wait_for("min(kafka_controller_kafkacontroller_globalpartitioncount)", lambda v: v >= 3, 10,
                         "its partitions are counted") >= 3
    stop, counts = threading.Event(), {"acked": 0, "errors": 0}
    producer = threading.Thread(target=_produce, args=(bootstrap, "t", stop, counts), daemon=True)
    producer.start()
    produce_rate = None
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            produce_rate = prom.scalar('sum(rate(kafka_server_brokertopicmetrics_messagesin_total{topic="t"}[5s]))')
            if produce_rate and produce_rate > 0 and counts["acked"] > 0:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        producer.join(timeout=20)
    assert counts["acked"] > 0, counts
    print(f"produce rate seen by Prometheus: {produce_rate} records/s ({counts['acked']} acknowledged)")

    # A broker killed with SIGKILL is fenced once its session expires.
    assert prom.scalar("max(kafka_controller_kafkacontroller_fencedbrokercount)") == 0
    victim = c.brokers[-1]
    victim.kill9()
    killed = time.time()
    prom.wait_for("max(kafka_controller_kafkacontroller_fencedbrokercount)", lambda v: v == 1, SESSION_TIMEOUT_MS / 1000 + 5,
                  "the killed broker fenced")
    fenced_after = time.time() - killed
    assert fenced_after <= SESSION_TIMEOUT_MS / 1000 + 5
    print(f"fencedbrokercount 0 -> 1 in Prometheus {fenced_after:.1f} s after kill -9 (session timeout {SESSION_TIMEOUT_MS} ms)")
    # Every controller's image sees it (Kafka's controllers report from their own image).
    prom.wait_for("min(kafka_controller_kafkacontroller_fencedbrokercount)", lambda v: v == 1, 5, "every controller sees it")
    assert prom.scalar("max(kafka_controller_kafkacontroller_activebrokercount)") == 2
    assert prom.scalar("sum(kafka_controller_kafkacontroller_activecontrollercount)") == 1

    # Last: the produce rate seen while the producer ran (BrokerTopicMetrics, the broker metrics' part).
    assert produce_rate is not None and produce_rate > 0, \
        f'sum(rate(kafka_server_brokertopicmetrics_messagesin_total{{topic="t"}}[5s])) was {produce_rate}'
