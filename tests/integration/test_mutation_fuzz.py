"""Issue 21: a mutation fuzzer (tests/tools/kafka_mutator.py) sends valid and mutated
requests of every API the node lists to one live node for FLOTILLA_FUZZ_SECONDS
(default 60): half, a kill -9 and restart, then half pipelined four at a time. The node
must stay up (its process runs, a real client produces and consumes), every listed API
must have been answered at least once, every answer to a request with an intact header
must decode by its response schema, a SIGTERM stop and restart must serve again, and
the metadata image of its log (latest snapshot + tail) must equal a replay of the whole
log from offset 0 (`flotilla metadata-diff` shows nothing). The node's fd count and RSS
are sampled during the run and printed (FLOTILLA_FUZZ_REPORT writes them as JSON).

Reproduce a failure: the test prints the mutator's command and seed (FLOTILLA_FUZZ_SEED
runs that seed again); the mutator prints the last requests as REPLAY lines, which
`kafka_mutator.py --replay FILE` sends again.
"""
import json
import os
import shutil
import subprocess
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import ROOT, create_topic, run_tool

MUTATOR = os.path.join(ROOT, "tests", "tools", "kafka_mutator.py")
TOPICS = ["fuzz-a", "fuzz-b", "fuzz.c_d"]
GROUP = "fuzz-group"


class Sampler:
    """Samples a process's open fds and RSS (from /proc) every 0.5 s."""

    def __init__(self):
        self.max_fds = 0
        self.max_rss_kb = 0
        self.pid = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.wait(0.5):
            pid = self.pid
            if pid is None:
                continue
            try:
                self.max_fds = max(self.max_fds, len(os.listdir(f"/proc/{pid}/fd")))
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.max_rss_kb = max(self.max_rss_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass

    def stop(self):
        self._stop.set()
        self._t.join(5)


def fuzz(server, seed, seconds, out_json, pipeline=1):
    cmd = ["/usr/bin/python3", MUTATOR, "--pipeline", str(pipeline),
           "--bootstrap", server.bootstrap, "--seed", str(seed), "--duration", str(seconds),
           "--topics", ",".join(TOPICS), "--groups", GROUP, "--json", out_json]
    print("mutator:", " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    print(p.stdout)
    assert p.returncode == 0, f"the node died under the mutator (seed {seed}):\n{p.stderr[-20000:]}\n" \
                              f"{server.log_text()[-5000:]}"
    assert server.proc.poll() is None, f"node exited with {server.proc.returncode}:\n{server.log_text()[-5000:]}"
    with open(out_json) as f:
        return json.load(f)


def make_group(server):
    """A consumer group with committed offsets, so group APIs meet real state."""
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPICS[0], 0, 0)])
    deadline = time.time() + 30
    while True:
        try:
            c.commit(offsets=[TopicPartition(TOPICS[0], 0, 1)], asynchronous=False)
            break
        except KafkaException:
            if time.time() > deadline:
                raise
            c.poll(0.2)  # the coordinator is being found
    c.close()


# The entities whose dynamic configs reach any new topic or client: the
# fuzzer may legitimately set them (min.insync.replicas=1000 as the cluster
# default makes every acks=all produce fail, as in Kafka).
CLUSTER_WIDE = (["--entity-type", "brokers", "--entity-default"], ["--entity-type", "brokers", "--entity-name", "1"],
                ["--entity-type", "users", "--entity-default"], ["--entity-type", "clients", "--entity-default"],
                ["--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-default"])


def reset_cluster_wide_configs(server):
    """Deletes the dynamic broker defaults and default client quotas the fuzzer set, as an operator would."""
    for entity in CLUSTER_WIDE:
        out = run_tool("configs", "--bootstrap-server", server.bootstrap, *entity, "--describe", check=False).stdout
        keys = set()
        for line in out.splitlines():
            if line.startswith("  ") and "=" in line:  # broker configs: "  key=value sensitive=... synonyms=..."
                keys.add(line.strip().split("=", 1)[0])
            elif " are " in line:  # quotas: "Quota configs for ... are k=v, k2=v2"
                for kv in line.split(" are ", 1)[1].split(", "):
                    if "=" in kv:
                        keys.add(kv.split("=", 1)[0])
        if keys:
            run_tool("configs", "--bootstrap-server", server.bootstrap, *entity, "--alter", "--delete-config",
                     ",".join(sorted(keys)), check=False)


def round_trip(server, topic, n=10):
    """A real client produces n records to `topic` and reads them back: the node serves."""
    p = Producer({"bootstrap.servers": server.bootstrap, "acks": "all", "message.timeout.ms": 60000})
    errors = []
    for i in range(n):
        p.produce(topic, value=b"check-%d" % i, partition=0,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert p.flush(90) == 0 and not errors, f"{errors[:3]}\n--- server log (tail) ---\n{server.log_text()[-6000:]}"
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "fuzz-check", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 30
    while len(got) < n and time.time() < deadline:
        for m in c.consume(100, timeout=1.0):
            assert not m.error(), m.error()
            got.append(m.value())
    c.close()
    return got


def metadata_replay_dir(metadata_dir, dest):
    """A copy of the metadata log without its snapshots (the oldest one kept only when
    the log no longer starts at 0): loading it replays the log record by record."""
    os.makedirs(dest)
    names = sorted(os.listdir(metadata_dir))
    logs = [n for n in names if n.endswith(".log")]
    snaps = [n for n in names if n.endswith(".checkpoint")]
    for n in logs:
        shutil.copy(os.path.join(metadata_dir, n), dest)
    if logs and int(logs[0].split(".")[0]) > 0:
        shutil.copy(os.path.join(metadata_dir, snaps[0]), dest)
    boot = os.path.join(os.path.dirname(metadata_dir), "bootstrap.checkpoint")
    if os.path.exists(boot):
        shutil.copy(boot, os.path.dirname(dest))
    return snaps


def assert_no_difference(diff):
    def leaves(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k not in ("from", "to"):
                    yield from leaves(x)
        else:
            yield v

    changed = [v for v in leaves(diff) if v not in ([], {}, None)]
    assert not changed, json.dumps(diff, indent=1)[:5000]


def test_mutation_fuzzer_leaves_the_node_up_and_its_metadata_consistent(make_server, workdir):
    seconds = float(os.environ.get("FLOTILLA_FUZZ_SECONDS", "60"))
    seed = int(os.environ.get("FLOTILLA_FUZZ_SEED", str(int(time.time()) % 100000)))
    # Snapshots every few KB of metadata records: the image is loaded from one + the tail.
    # A partition budget (max.broker.partitions): fuzzed CreateTopics of
    # thousands of partitions are refused with POLICY_VIOLATION rather than
    # keeping the broker creating logs past the client check's timeout.
    server = make_server({"metadata.log.max.record.bytes.between.snapshots": "8192", "max.broker.partitions": "3000",
                          "offsets.topic.replication.factor": "1", "transaction.state.log.replication.factor": "1",
                          "transaction.state.log.min.isr": "1", "group.initial.rebalance.delay.ms": "0"})
    for t in TOPICS:
        create_topic(server, t, 2)
    make_group(server)
    sampler = Sampler()
    sampler.pid = server.proc.pid
    try:
        first = fuzz(server, seed, seconds / 2, os.path.join(workdir, "fuzz1.json"))
        # A crash in the middle: recovery from whatever the fuzzed node had written.
        server.kill9()
        server.start()
        sampler.pid = server.proc.pid
        # Then requests pipelined four at a time (answered in order, some handlers slow).
        second = fuzz(server, seed + 1, seconds / 2, os.path.join(workdir, "fuzz2.json"), pipeline=4)
    finally:
        sampler.stop()

    # Every API the node lists got at least one answer.
    answered = {}
    for run in (first, second):
        for k, row in run["per_api"].items():
            answered[int(k)] = answered.get(int(k), 0) + row["answered"]
    listed = set(first["listed"]) & set(int(k) for k in first["names"])
    missing = sorted(k for k in listed if answered.get(k, 0) == 0)
    assert not missing, f"APIs never answered: {missing}"
    # Every answer to a request with an intact header decodes by its response schema.
    malformed = first["malformed"] + second["malformed"]
    assert not malformed, "\n".join(malformed)[:20000]
    print(f"fuzz seed={seed} requests={first['requests'] + second['requests']} max_fds={sampler.max_fds} "
          f"max_rss_mb={sampler.max_rss_kb // 1024}")
    if os.environ.get("FLOTILLA_FUZZ_REPORT"):
        with open(os.environ["FLOTILLA_FUZZ_REPORT"], "w") as f:
            json.dump({"seed": seed, "first": first, "second": second, "max_fds": sampler.max_fds,
                       "max_rss_kb": sampler.max_rss_kb}, f, indent=1)

    # Alive: the process runs and a real client is served.
    assert server.proc.poll() is None
    check = "fuzz-check-topic"
    reset_cluster_wide_configs(server)
    create_topic(server, check, 1)
    assert len(round_trip(server, check)) == 10

    # A clean stop and a restart serve again, with the data kept.
    assert server.stop() == 0, server.log_text()[-5000:]
    server.start()
    assert len(round_trip(server, check)) == 20
    assert server.stop() == 0

    # The image of the log (latest snapshot + tail) is the image of a full replay.
    mdir = os.path.join(server.data, "__cluster_metadata-0")
    replay = os.path.join(workdir, "replay", "__cluster_metadata-0")
    snaps = metadata_replay_dir(mdir, replay)
    assert snaps, "no metadata snapshot was written during the run"
    r = run_tool("metadata-diff", mdir, replay, "--json")
    assert_no_difference(json.loads(r.stdout))
    text = run_tool("metadata-diff", mdir, replay).stdout.splitlines()
    assert text[0].startswith("Comparing metadata") and text[1:] == ["No changes."], text
