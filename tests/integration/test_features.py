"""Feature upgrades (KIP-584/778) on one combined node formatted at
--release-version 3.7: `flotilla features describe` prints kafka-features.sh's
lines, `features upgrade --release-version 4.0` (through the broker listener,
forwarded to the controller) raises metadata.version while a confluent-kafka
producer keeps producing, describe then shows the new level, --dry-run writes
nothing, and a metadata.version downgrade that would lose metadata is refused
with Kafka's message (also on the controller listener)."""
import threading
import time

from confluent_kafka import Producer

from conftest import create_topic, run_tool


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
