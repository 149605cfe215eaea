"""Feature upgrades (KIP-584/778) on one combined node formatted at
--release-version 3.7: `flotilla features describe` prints kafka-features.sh's
lines, `features upgrade --release-version 4.0` (through the broker listener,
forwarded to the controller) raises metadata.version while a confluent-kafka
producer keeps producing, describe then shows the new level, --dry-run writes
nothing, and a metadata.version downgrade that would lose metadata is refused
with Kafka's message (also on the controller listener)."""
import os
import struct
import threading
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import create_topic, run_tool
from kafka_wire import crc32c


def describe(bootstrap_flag, address):
    out = run_tool("features", bootstrap_flag, address, "describe").stdout
    return {line.split("\t")[0][len("Feature: "):]: dict(f.split(": ", 1) for f in line.split("\t")[1:])
            for line in out.splitlines() if line.startswith("Feature: ")}


def test_upgrade_release_version_while_producing(make_server):
    s = make_server(start=False)
    s.format(args=("--release-version", "3.7"))
    s.start()
    ctrl = f"127.0.0.1:{s.cport}"

    before = describe("--bootstrap-server", s.bootstrap)
    mv = before["metadata.version"]
    assert mv["FinalizedVersionLevel"] == "3.7-IV4", before
    assert mv["SupportedMinVersion"] == "3.0-IV1"
    assert mv["SupportedMaxVersion"] == "4.0-IV3"
    assert before["eligible.leader.replicas.version"]["FinalizedVersionLevel"] == "0"
    assert before["group.version"]["FinalizedVersionLevel"] == "0", before
    assert before["transaction.version"]["FinalizedVersionLevel"] == "0", before
    assert before["transaction.version"]["SupportedMaxVersion"] == "1", before
    epoch0 = int(mv["Epoch"])

    # --dry-run validates and writes nothing.
    dry = run_tool("features", "--bootstrap-server", s.bootstrap, "upgrade", "--metadata", "3.9", "--dry-run")
    assert "metadata.version can be upgraded to 3.9-IV0." in dry.stdout, dry.stdout
    assert describe("--bootstrap-server", s.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == "3.7-IV4"

    create_topic(s, "features-t")
    stop = threading.Event()
    delivered, errors = [], []

    def produce():
        p = Producer({"bootstrap.servers": s.bootstrap, "linger.ms": 5})
        i = 0
        while not stop.is_set():
            p.produce("features-t", value=b"v%d" % i,
                      on_delivery=lambda err, msg: (errors if err else delivered).append(err or msg.offset()))
            p.poll(0)
            i += 1
            time.sleep(0.002)
        p.flush(15)

    t = threading.Thread(target=produce)
    t.start()
    try:
        time.sleep(0.5)
        up = run_tool("features", "--bootstrap-server", s.bootstrap, "upgrade", "--release-version", "4.0")
        assert "metadata.version was upgraded to 4.0-IV3." in up.stdout, up.stdout
        time.sleep(0.5)
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors[:5]
    assert len(delivered) > 10

    after = describe("--bootstrap-server", s.bootstrap)
    assert after["metadata.version"]["FinalizedVersionLevel"] == "4.0-IV3", after
    # --release-version 4.0 brings the other features to 4.0's defaults (Kafka's Features.defaultValue),
    # capped at the supported maximum (transaction.version 1 until the leaders' implicit AddPartitionsToTxn exists).
    assert after["group.version"]["FinalizedVersionLevel"] == "1", after
    assert after["transaction.version"]["FinalizedVersionLevel"] == "1", after  # Kafka: 2 (see metadata/features.h)
    assert after["eligible.leader.replicas.version"]["FinalizedVersionLevel"] == "0", after
    assert int(after["metadata.version"]["Epoch"]) > epoch0
    assert describe("--bootstrap-controller", ctrl)["metadata.version"]["FinalizedVersionLevel"] == "4.0-IV3"

    # 4.0-IV0/IV1 changed metadata: a downgrade to 3.7 is refused, safe or unsafe, on either listener.
    down = run_tool("features", "--bootstrap-server", s.bootstrap, "downgrade", "--metadata", "3.7", check=False)
    assert down.returncode == 1
    assert ("Could not downgrade metadata.version to 3.7-IV4." in down.stdout
            and "Invalid metadata.version 19. Refusing to perform the requested downgrade because it might delete metadata "
                "information." in down.stdout), down.stdout
    assert "1 out of 1 operation(s) failed." in down.stderr
    unsafe = run_tool("features", "--bootstrap-controller", ctrl, "downgrade", "--unsafe", "--feature", "metadata.version=19",
                      check=False)
    assert unsafe.returncode == 1
    assert "Unsafe metadata downgrade is not supported in this version." in unsafe.stdout, unsafe.stdout
    # An upgrade that is a downgrade is refused too.
    wrong = run_tool("features", "--bootstrap-server", s.bootstrap, "upgrade", "--metadata", "3.9", check=False)
    assert "Can't downgrade the version of this feature without setting the upgrade type" in wrong.stdout, wrong.stdout
    assert describe("--bootstrap-server", s.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == "4.0-IV3"

    # eligible.leader.replicas.version=1 now that metadata.version is 4.0, and disabled again.
    elr = run_tool("features", "--bootstrap-server", s.bootstrap, "upgrade", "--feature", "eligible.leader.replicas.version=1")
    assert "eligible.leader.replicas.version was upgraded to 1." in elr.stdout, elr.stdout
    assert describe("--bootstrap-server", s.bootstrap)["eligible.leader.replicas.version"]["FinalizedVersionLevel"] == "1"
    off = run_tool("features", "--bootstrap-server", s.bootstrap, "disable", "--feature", "eligible.leader.replicas.version")
    assert "eligible.leader.replicas.version was disabled." in off.stdout, off.stdout
    assert describe("--bootstrap-server", s.bootstrap)["eligible.leader.replicas.version"]["FinalizedVersionLevel"] == "0"


def test_format_release_defaults(make_server):
    """storage format --release-version 4.0 finalizes 4.0's feature defaults (capped at the supported maxima); --feature overrides one."""
    s = make_server(start=False)
    s.format(args=("--release-version", "4.0", "--feature", "group.version=0"))
    s.start()
    f = describe("--bootstrap-server", s.bootstrap)
    assert f["metadata.version"]["FinalizedVersionLevel"] == "4.0-IV3", f
    assert f["transaction.version"]["FinalizedVersionLevel"] == "1", f
    assert f["group.version"]["FinalizedVersionLevel"] == "0", f


def _patch_feature_level(path, name, old, new):
    """Rewrites a FeatureLevelRecord's level in a snapshot-format file (the
    bootstrap checkpoint), fixing its batch's CRC-32C: the file a newer build's
    `storage format` would have written."""
    data = bytearray(open(path, "rb").read())
    needle = bytes([len(name) + 1]) + name.encode() + struct.pack(">h", old)
    at = data.find(needle)
    assert at >= 0, f"no {name}={old} record in {path}"
    data[at + 1 + len(name):at + 3 + len(name)] = struct.pack(">h", new)
    pos = 0
    while pos + 12 <= len(data):
        length = struct.unpack_from(">i", data, pos + 8)[0]
        end = pos + 12 + length
        if pos <= at < end:
            struct.pack_into(">I", data, pos + 17, crc32c(bytes(data[pos + 21:end])))
        pos = end
    open(path, "wb").write(bytes(data))


def test_node_refuses_unsupported_finalized_level(make_server):
    """A node whose metadata holds a metadata.version this build does not
    support (26, Kafka 4.1-IV0) exits at start-up with a clear message and
    serves nothing."""
    s = make_server(start=False)
    s.format(args=("--release-version", "4.0"))
    checkpoint = os.path.join(s.data, "bootstrap.checkpoint")
    _patch_feature_level(checkpoint, "metadata.version", 25, 26)
    s.start(wait=False)
    rc = s.proc.wait(timeout=30)
    assert rc == 1, s.log_text()[-3000:]
    log = s.log_text()
    assert "metadata.version level 26 is not supported by this node (supported levels: 1-25)" in log, log[-3000:]


def test_cluster_upgrade_from_3_7_while_serving(cluster):
    """Issue 17's acceptance: a 3-controller, 3-broker cluster formatted at
    3.7-IV4 upgraded step by step to the newest level of every feature while a
    producer (acks=all) and a consumer group keep working: no delivery error,
    every acknowledged record consumed, every node reporting the new levels."""
    c = cluster(controllers=3, brokers=3, format_args=("--release-version", "3.7-IV4"))
    bs = ",".join(b.bootstrap for b in c.brokers)
    ctrls = ",".join(f"127.0.0.1:{n.cport}" for n in c.controllers)
    admin = AdminClient({"bootstrap.servers": bs})
    for f in admin.create_topics([NewTopic("upgrade-t", 6, 3)]).values():
        f.result(30)
    before = describe("--bootstrap-server", bs)
    assert before["metadata.version"]["FinalizedVersionLevel"] == "3.7-IV4", before

    stop = threading.Event()
    delivered, errors, consumed = [], [], set()

    def produce():
        p = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
        i = 0
        while not stop.is_set():
            p.produce("upgrade-t", key=b"k%d" % (i % 17), value=b"v%d" % i,
                      on_delivery=lambda err, msg: (errors if err else delivered).append(
                          err or (msg.partition(), msg.offset())))
            p.poll(0)
            i += 1
            time.sleep(0.003)
        p.flush(30)

    def consume():
        cons = Consumer({"bootstrap.servers": bs, "group.id": "upgrade-g", "auto.offset.reset": "earliest"})
        cons.subscribe(["upgrade-t"])
        while not stop.is_set():
            m = cons.poll(0.2)
            if m is None:
                continue
            if m.error():
                errors.append(m.error())
                continue
            consumed.add((m.partition(), m.offset()))
        cons.close()

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        steps = [("upgrade", "--metadata", "3.8"), ("upgrade", "--metadata", "3.9"),
                 ("upgrade", "--release-version", "4.0"),
                 ("upgrade", "--feature", "eligible.leader.replicas.version=1")]
        for step in steps:
            out = run_tool("features", "--bootstrap-server", bs, *step).stdout
            assert "was upgraded to" in out, (step, out)
            time.sleep(0.7)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:5]
    assert len(delivered) > 100, len(delivered)

    want = {"metadata.version": "4.0-IV3", "group.version": "1", "transaction.version": "1",
            "eligible.leader.replicas.version": "1"}
    for b in c.brokers:
        f = describe("--bootstrap-server", b.bootstrap)
        assert {k: f[k]["FinalizedVersionLevel"] for k in want} == want, (b.node_id, f)
    f = describe("--bootstrap-controller", ctrls)
    assert {k: f[k]["FinalizedVersionLevel"] for k in want} == want, f

    # Every acknowledged record is there to be read (a fresh consumer from the start).
    cons = Consumer({"bootstrap.servers": bs, "group.id": "upgrade-check", "auto.offset.reset": "earliest"})
    cons.subscribe(["upgrade-t"])
    seen, deadline = set(consumed), time.time() + 30
    missing = set(delivered) - seen
    while missing and time.time() < deadline:
        m = cons.poll(0.5)
        if m is not None and not m.error():
            seen.add((m.partition(), m.offset()))
            missing = set(delivered) - seen
    cons.close()
    assert not missing, f"{len(missing)} acknowledged records not read back, e.g. {sorted(missing)[:5]}"

    # Kafka 4.x style describe (DescribeTopicPartitions) with the ELR columns on the upgraded cluster.
    out = run_tool("topics", "--bootstrap-server", bs, "--describe", "--topic", "upgrade-t").stdout
    assert out.count("\tElr: ") == 6 and out.count("\tLastKnownElr: ") == 6, out
