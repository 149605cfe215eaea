"""KIP-630 metadata snapshots: generation on the byte threshold, loading at start-up."""
import glob
import os
import time

from conftest import run_tool
from kafka_wire import create_topic_v0


def checkpoints(server):
    d = os.path.join(server.data, "__cluster_metadata-0")
    return sorted(p for p in glob.glob(os.path.join(d, "*.checkpoint"))
                  if not os.path.basename(p).startswith("00000000000000000000-"))


def list_topics(server):
    return set(run_tool("topics", "--bootstrap-server", server.bootstrap, "--list").stdout.split())


def test_snapshot_written_loaded_and_dumped(make_server):
    server = make_server(extra={"metadata.log.max.record.bytes.between.snapshots": "2000"})
    created = []
    deadline = time.time() + 60
    while not checkpoints(server):
        assert time.time() < deadline, "no snapshot written:\n" + server.log_text()
        name = f"snap-topic-{len(created)}"
        assert create_topic_v0(server.bootstrap, name) == 0
        created.append(name)
        assert len(created) < 200
        time.sleep(0.05)
    snap = checkpoints(server)[-1]
    assert not glob.glob(os.path.join(server.data, "__cluster_metadata-0", "*.part"))
    # A few more after the snapshot: they come back from the log, not the snapshot.
    for i in range(3):
        name = f"after-{i}"
        assert create_topic_v0(server.bootstrap, name) == 0
        created.append(name)
    assert set(created) <= list_topics(server)

    # dump-log decodes the snapshot: every topic it covers is a TOPIC_RECORD in it.
    out = run_tool("dump-log", "--cluster-metadata-decoder", "--files", snap).stdout
    in_snapshot = [t for t in created if not t.startswith("after-")]
    # The topic whose creation crossed the threshold may be in the next snapshot only.
    for t in in_snapshot[:-1]:
        assert f'"name":"{t}"' in out, t
    assert "TOPIC_RECORD" in out
    assert "SnapshotHeader" in out or "SNAPSHOT_HEADER" in out.upper()

    server.stop()
    server.start()
    assert set(created) <= list_topics(server)
    log = server.log_text()
    assert "Loaded snapshot" in log
    # Still writable after the restart, and again after a second one.
    assert create_topic_v0(server.bootstrap, "after-restart") == 0
    server.stop()
    server.start()
    assert set(created) | {"after-restart"} <= list_topics(server)
    # And after a kill -9 (the snapshot was fsynced; the log tail is recovered).
    server.kill9()
    server.start()
    assert set(created) | {"after-restart"} <= list_topics(server)


def test_corrupt_snapshot_is_skipped(make_server):
    server = make_server(extra={"metadata.log.max.record.bytes.between.snapshots": "1000"})
    created = []
    deadline = time.time() + 60
    while not checkpoints(server):
        assert time.time() < deadline, "no snapshot written:\n" + server.log_text()
        name = f"t{len(created)}"
        assert create_topic_v0(server.bootstrap, name) == 0
        created.append(name)
        time.sleep(0.05)
    server.stop()
    snap = checkpoints(server)[-1]
    with open(snap, "r+b") as f:
        f.seek(os.path.getsize(snap) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))
    # A leftover of an interrupted write is never loaded.
    with open(snap.replace(".checkpoint", "") + "9.checkpoint.part", "wb") as f:
        f.write(b"\0" * 100)
    server.start()
    assert set(created) <= list_topics(server)
    log = server.log_text()
    assert "Skipping corrupt snapshot" in log
    assert not glob.glob(os.path.join(server.data, "__cluster_metadata-0", "*.part"))


def test_every_node_of_a_quorum_snapshots_and_reloads(cluster):
    """Three controllers and a broker (an observer): each writes its own snapshots
    and a restarted broker and controller come back with every topic."""
    c = cluster(controllers=3, brokers=1, extra={"metadata.log.max.record.bytes.between.snapshots": "2000"})
    broker = c.brokers[0]
    created = []
    deadline = time.time() + 90
    while not all(checkpoints(n) for n in c.nodes):
        assert time.time() < deadline, "not every node wrote a snapshot"
        name = f"q{len(created)}"
        assert create_topic_v0(broker.bootstrap, name) == 0
        created.append(name)
        time.sleep(0.05)
    assert set(created) <= list_topics(broker)
    for n in (broker, c.controller(2)):
        n.stop()
        n.start()
        assert "Loaded snapshot" in n.log_text()
    c.controller(2).wait_ready()
    broker.wait_ready(timeout=30)
    assert create_topic_v0(broker.bootstrap, "after-restart") == 0
    assert set(created) | {"after-restart"} <= list_topics(broker)
