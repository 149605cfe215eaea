"""Disk faults (issue 19 §3): write errors (EIO) injected on one log dir by an
LD_PRELOAD shim (eio_shim.c, built here) cost that dir's replicas their
availability on the node, never data: the node answers KAFKA_STORAGE_ERROR,
keeps serving its other dir, the controller moves the failed dir's
leadership to the other replica, and after the fault is gone and the node
restarts, every acknowledged record is there and the replica rejoins the
ISR. (A full file system, the other way a dir fails, is test_jbod.py's
test_failed_dir_takes_only_its_replicas_offline; torn tails are
test_durability.py's.)"""
import os
import shutil
import subprocess

import pytest

from conftest import run_tool

KAFKA_STORAGE_ERROR = 56
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def eio_shim(workdir):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler for the fault shim")
    so = os.path.join(workdir, "eio_shim.so")
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", so, os.path.join(HERE, "eio_shim.c"), "-ldl"], check=True)
    return so


def faulty_env(shim, faulty_dir, trigger):
    return {**os.environ, "LD_PRELOAD": shim, "FLOTILLA_EIO_DIR": os.path.abspath(faulty_dir),
            "FLOTILLA_EIO_TRIGGER": trigger}


def test_write_errors_on_a_log_dir_cost_availability_never_data(cluster, workdir, eio_shim):
    from replication_util import check_acked_present, partitions, produce_many, read_all, wait_for

    bad = os.path.join(workdir, "bad", "d")
    trigger = os.path.join(workdir, "fail-writes")

    def configure(n):
        if n.node_id == 100:  # the data dir first (it holds the metadata log), the failing one second
            n.props["log.dirs"] = f"{n.data},{bad}"
            n.env = faulty_env(eio_shim, bad, trigger)

    c = cluster(controllers=1, brokers=2, configure=configure)
    b100, b101 = c.brokers
    topic = "eio"
    run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", topic,
             "--replica-assignment", ",".join(["100:101"] * 4))
    for p in range(4):  # fewest partitions first: 0 and 2 in the data dir, 1 and 3 in the failing one
        where = bad if p % 2 else b100.data
        wait_for(f"{topic}-{p} in {where}", lambda: os.path.isdir(os.path.join(where, f"{topic}-{p}")), 15)
    wait_for("full ISRs led by 100", lambda: (lambda ps: len(ps) == 4 and all(
        x["isr"] == [100, 101] and x["leader"] == 100 for x in ps.values()))(partitions(b100.bootstrap, topic)), 30)
    acked = []
    for p, (err, base) in produce_many(b100.bootstrap, topic, {p: [f"before-{p}".encode()] for p in range(4)}).items():
        assert err == 0
        acked.append((p, base, f"before-{p}".encode()))

    open(trigger, "w").close()  # from now on every write and sync under `bad` fails with EIO
    r = produce_many(b100.bootstrap, topic, {p: [b"during"] for p in range(4)}, acks=1)
    assert r[1][0] == KAFKA_STORAGE_ERROR or r[3][0] == KAFKA_STORAGE_ERROR, r
    assert r[0][0] == 0 and r[2][0] == 0, r
    for p in (0, 2):
        acked.append((p, r[p][1], b"during"))

    def moved():
        ps = partitions(b101.bootstrap, topic)
        return all(ps[p]["leader"] == 101 and ps[p]["isr"] == [101] for p in (1, 3)) and \
            all(ps[p]["leader"] == 100 and ps[p]["isr"] == [100, 101] for p in (0, 2))
    wait_for("the failing dir's leadership moved to 101", moved, 30)
    assert b100.proc.poll() is None, "the node keeps serving its other dir"
    assert "Stopping serving replicas in dir" in b100.log_text()
    assert "Input/output error" in b100.log_text(), "the shim's EIO is what failed the dir"

    for p, via in ((0, b100), (2, b100), (1, b101), (3, b101)):
        v = f"after-{p}".encode()
        res = wait_for(f"produce to {p}", lambda: (lambda x: x if x[p][0] == 0 else None)(
            produce_many(via.bootstrap, topic, {p: [v]})), 20)
        acked.append((p, res[p][1], v))

    # The disk is mended: after a restart the dir serves again and 100 catches up.
    os.unlink(trigger)
    b100.stop()
    b100.start()
    wait_for("100 back in every ISR", lambda: all(sorted(x["isr"]) == [100, 101]
                                                 for x in partitions(b101.bootstrap, topic).values()), 60)
    got, _ = read_all(f"{b100.bootstrap},{b101.bootstrap}", topic, 4)
    assert check_acked_present(acked, got) == len(acked)


def test_write_errors_on_the_metadata_log_dir_stop_the_node(cluster, workdir, eio_shim):
    """As Kafka (which halts when the metadata log's dir fails): a node whose
    metadata log cannot be written stops, rather than serve metadata it can no
    longer keep; the rest of the cluster goes on."""
    from replication_util import partitions, produce_many, wait_for

    meta = os.path.join(workdir, "meta-bad")
    trigger = os.path.join(workdir, "fail-metadata-writes")

    def configure(n):
        if n.node_id == 101:
            n.props["metadata.log.dir"] = meta
            n.env = faulty_env(eio_shim, meta, trigger)

    c = cluster(controllers=1, brokers=2, configure=configure)
    b100, b101 = c.brokers
    open(trigger, "w").close()
    # New metadata reaches 101, whose metadata log cannot take it.
    run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", "after-fault",
             "--replica-assignment", "100")
    wait_for("broker 101 stopped", lambda: b101.proc.poll() is not None, 30)
    assert b101.proc.returncode == 1, b101.log_text()[-2000:]
    assert "Shutdown broker because the metadata log dir" in b101.log_text()
    assert "Input/output error" in b101.log_text()
    # The rest of the cluster serves on.
    r = wait_for("produce on 100", lambda: (lambda x: x if x[0][0] == 0 else None)(
        produce_many(b100.bootstrap, "after-fault", {0: [b"x"]})), 20)
    assert r[0][0] == 0
    assert partitions(b100.bootstrap, "after-fault")[0]["leader"] == 100
