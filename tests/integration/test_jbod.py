"""JBOD (KIP-858): a node with several log.dirs formatted by `flotilla storage
format` (a distinct directory.id in each), new partitions spread over the dirs
(fewest partitions first), the dirs in the broker registration and each
replica's dir in the partition metadata (AssignReplicasToDirs), DescribeLogDirs
per dir, partitions found again in their dir after a restart, a failed dir
(a full tmpfs) taking only its replicas offline."""
import json
import os
import subprocess
import time

import pytest

import struct

from conftest import Server, create_topic, run_tool
from kafka_wire import Reader, connect, request, response, string
from test_tools import describe_log_dirs


def meta_properties(d):
    props = {}
    with open(os.path.join(d, "meta.properties")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                props[k] = v
    return props


def shell(server, *command):
    d = os.path.join(server.dirs[0], "__cluster_metadata-0")
    return run_tool("metadata-shell", "--directory", d, *command)


def wait_for(pred, timeout=15, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (AssertionError, OSError, ValueError, subprocess.SubprocessError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout}s (last: {last})")


def jbod_server(workdir, n_dirs=3, extra=None, dirs=None):
    d = os.path.join(workdir, "node")
    os.makedirs(d, exist_ok=True)
    dirs = dirs or [os.path.join(d, f"data{i}") for i in range(n_dirs)]
    s = Server(d, dict({"log.dirs": ",".join(dirs)}, **(extra or {})))
    s.dirs = dirs
    s.data = dirs[0]
    return s


@pytest.fixture
def jbod(workdir):
    servers = []

    def make(**kw):
        s = jbod_server(workdir, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        try:
            s.stop()
        except AssertionError:
            s.kill9()
        if os.environ.get("FLOTILLA_KEEP_LOGS"):
            with open(os.environ["FLOTILLA_KEEP_LOGS"], "a") as f:
                f.write(s.log_text())


def partition_dirs(server, topic, partitions):
    """{partition: the log dir index holding it}."""
    out = {}
    for p in range(partitions):
        where = [i for i, d in enumerate(server.dirs) if os.path.isdir(os.path.join(d, f"{topic}-{p}"))]
        assert len(where) == 1, f"{topic}-{p} in {where}"
        out[p] = where[0]
    return out


def test_format_placement_assignment_describe_restart(jbod):
    s = jbod(n_dirs=3)
    s.format()
    ids = [meta_properties(d)["directory.id"] for d in s.dirs]
    assert len(set(ids)) == 3, ids
    assert len({meta_properties(d)["cluster.id"] for d in s.dirs}) == 1
    s.start()

    # The registration carries the three dir ids.
    reg = wait_for(lambda: json.loads(shell(s, "cat", "/image/cluster/brokers/1").stdout), what="registration")
    assert sorted(reg["logDirs"]) == sorted(ids), reg

    create_topic(s, "spread", partitions=6)
    placed = wait_for(lambda: partition_dirs(s, "spread", 6), what="logs created")
    counts = [list(placed.values()).count(i) for i in range(3)]
    assert counts == [2, 2, 2], placed

    # Each replica's dir reaches the metadata (UNASSIGNED first: 3 dirs).
    def assigned():
        for p, i in placed.items():
            part = json.loads(shell(s, "cat", f"/image/topics/byName/spread/{p}").stdout)
            if part["directories"] != [ids[i]]:
                return False
        return True
    wait_for(assigned, what="directories assigned")

    # DescribeLogDirs: one result per dir, each with its partitions.
    for version in (1, 4):
        error, results = describe_log_dirs(s.bootstrap, version)
        assert error == 0
        by_dir = {r["log_dir"]: r for r in results}
        assert sorted(by_dir) == sorted(os.path.abspath(d) for d in s.dirs)
        for i, d in enumerate(s.dirs):
            r = by_dir[os.path.abspath(d)]
            assert r["error"] == 0
            want = sorted(p for p, j in placed.items() if j == i)
            assert sorted(r["topics"].get("spread", {})) == want
            if version >= 4:
                assert r["total_bytes"] > 0 and 0 <= r["usable_bytes"] <= r["total_bytes"]

    # `flotilla log-dirs --describe` (kafka-log-dirs.sh): the same per dir, as JSON.
    out = run_tool("log-dirs", "--describe", "--bootstrap-server", s.bootstrap, "--topic-list", "spread").stdout.splitlines()
    assert out[0] == "Querying brokers for log directories information"
    assert out[1] == "Received log directory information from brokers 1"
    js = json.loads(out[2])
    assert js["version"] == 1 and [b["broker"] for b in js["brokers"]] == [1]
    dirs = {d["logDir"]: d for d in js["brokers"][0]["logDirs"]}
    for i, d in enumerate(s.dirs):
        entry = dirs[os.path.abspath(d)]
        assert entry["error"] is None
        assert sorted(x["partition"] for x in entry["partitions"]) == sorted(f"spread-{p}" for p, j in placed.items() if j == i)
        assert all(x["isFuture"] is False and x["offsetLag"] == 0 for x in entry["partitions"])
    bad = run_tool("log-dirs", "--describe", "--bootstrap-server", s.bootstrap, "--broker-list", "1,7", check=False)
    assert bad.returncode == 1
    assert "ERROR: The given brokers do not exist from --broker-list: 7. Current existent brokers: 1" in bad.stderr

    # A restart finds every partition in its dir; nothing moves.
    s.restart()
    assert partition_dirs(s, "spread", 6) == placed
    wait_for(assigned, what="directories after restart")


def test_duplicate_directory_id_refused(jbod):
    s = jbod(n_dirs=2)
    s.format()
    a, b = s.dirs
    with open(os.path.join(a, "meta.properties")) as f:
        text = f.read()
    dir_id = meta_properties(a)["directory.id"]
    with open(os.path.join(b, "meta.properties")) as f:
        other = meta_properties(b)["directory.id"]
    with open(os.path.join(b, "meta.properties"), "w") as f:
        f.write(text.replace(dir_id, dir_id))  # b now claims a's id
    assert other != dir_id
    p = subprocess.run([os.environ.get("FLOTILLA_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "flotilla")),
                        "server", s.config], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"Duplicate directory ID {dir_id} found" in p.stdout + p.stderr


# ---------------------------------------------------------------- a failed dir

KAFKA_STORAGE_ERROR = 56


def fill(path):
    """Writes zeros into `path` until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError:
            pass


def test_failed_dir_takes_only_its_replicas_offline(cluster, workdir):
    from replication_util import check_acked_present, partitions, produce_many, read_all, wait_for as wait_until

    small = os.path.join(workdir, "small")
    os.makedirs(small)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    c = None
    try:
        def configure(n):
            if n.node_id == 100:  # the data dir first (it holds the metadata log), the small one second
                n.props["log.dirs"] = f"{n.data},{small}/d"

        c = cluster(controllers=1, brokers=2, configure=configure)
        b100, b101 = c.brokers
        run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", "jbod-fail",
                 "--replica-assignment", ",".join(["100:101"] * 4))
        # Broker 100 places 0 and 2 in its data dir, 1 and 3 on the tmpfs.
        for p in range(4):
            where = f"{small}/d" if p % 2 else b100.data
            wait_until(f"jbod-fail-{p} in {where}", lambda: os.path.isdir(os.path.join(where, f"jbod-fail-{p}")), 15)
        wait_until("full ISRs", lambda: all(x["isr"] == [100, 101] and x["leader"] == 100
                                             for x in partitions(b100.bootstrap, "jbod-fail").values())
                   and len(partitions(b100.bootstrap, "jbod-fail")) == 4, 30)
        acked = []
        first = produce_many(b100.bootstrap, "jbod-fail", {p: [f"before-{p}".encode()] for p in range(4)})
        for p, (err, base) in first.items():
            assert err == 0, first
            acked.append((p, base, f"before-{p}".encode()))

        fill(os.path.join(small, "fill"))
        big = [b"x" * 8192 for _ in range(4)]
        r = produce_many(b100.bootstrap, "jbod-fail", {p: big for p in range(4)}, acks=1)
        assert r[1][0] == KAFKA_STORAGE_ERROR or r[3][0] == KAFKA_STORAGE_ERROR, r
        assert r[0][0] == 0 and r[2][0] == 0, r

        # The controller moves the failed dir's partitions to 101; 0 and 2 stay.
        def moved():
            ps = partitions(b101.bootstrap, "jbod-fail")
            return all(ps[p]["leader"] == 101 and ps[p]["isr"] == [101] for p in (1, 3)) and \
                all(ps[p]["leader"] == 100 and ps[p]["isr"] == [100, 101] for p in (0, 2))
        wait_until("leadership of the failed dir's partitions moved", moved, 30)
        assert b100.proc.poll() is None, "broker 100 must not crash"

        # DescribeLogDirs on 100: the tmpfs dir is offline, the data dir serves 0 and 2.
        error, results = describe_log_dirs(b100.bootstrap, 4)
        by_dir = {x["log_dir"]: x for x in results}
        assert by_dir[os.path.abspath(f"{small}/d")]["error"] == KAFKA_STORAGE_ERROR
        assert by_dir[os.path.abspath(b100.data)]["error"] == 0
        assert sorted(by_dir[os.path.abspath(b100.data)]["topics"]["jbod-fail"]) == [0, 2]

        out = run_tool("log-dirs", "--describe", "--bootstrap-server", b100.bootstrap, "--broker-list", "100").stdout.splitlines()
        dirs = {d["logDir"]: d for d in json.loads(out[2])["brokers"][0]["logDirs"]}
        assert dirs[os.path.abspath(f"{small}/d")]["error"] == "org.apache.kafka.common.errors.KafkaStorageException"
        assert dirs[os.path.abspath(b100.data)]["error"] is None

        # Every partition keeps taking records: 0 and 2 on 100, 1 and 3 on 101.
        for p, via in ((0, b100), (2, b100), (1, b101), (3, b101)):
            v = f"after-{p}".encode()
            res = wait_until(f"produce to {p}", lambda: (lambda x: x if x[p][0] == 0 else None)(
                produce_many(via.bootstrap, "jbod-fail", {p: [v]})), 20)
            acked.append((p, res[p][1], v))
        got, _ = read_all(f"{b100.bootstrap},{b101.bootstrap}", "jbod-fail", 4)
        assert check_acked_present(acked, got) == len(acked)
        assert b100.proc.poll() is None
        assert "Stopping serving replicas in dir" in b100.log_text()
    finally:
        if c is not None:
            c.stop()
        subprocess.run(["umount", "-l", small], capture_output=True)


def test_partition_whose_files_fail_moves_its_leadership(cluster):
    """Issue 21 §3: a replica whose own files cannot be opened (here its next
    segment's .log is a directory: EISDIR on the roll) stops alone, and the
    broker assigns it to the LOST dir (AssignReplicasToDirs), so the controller
    moves its leadership and ISR to the other replica, as for a failed dir.
    After a restart with its files openable, the real dir is assigned back and
    the replica rejoins the ISR."""
    from replication_util import partitions, produce_many, wait_for as wait_until

    c = cluster(controllers=1, brokers=2)
    b100, b101 = c.brokers
    run_tool("topics", "--bootstrap-server", b100.bootstrap, "--create", "--topic", "own-fail",
             "--replica-assignment", "100:101,100:101", "--config", "segment.bytes=200")
    wait_until("full ISRs led by 100", lambda: (lambda ps: len(ps) == 2 and all(
        x["isr"] == [100, 101] and x["leader"] == 100 for x in ps.values()))(partitions(b100.bootstrap, "own-fail")), 30)
    part0 = os.path.join(b100.data, "own-fail-0")
    # Wherever partition 0 rolls next, its new segment file cannot be created.
    blockers = []
    for off in range(0, 200):
        d = os.path.join(part0, f"{off:020d}.log")
        if not os.path.exists(d):
            os.mkdir(d)
            blockers.append(d)
    errors = []
    for i in range(40):
        r = produce_many(b100.bootstrap, "own-fail", {0: [f"r{i}".encode() * 8]})
        errors.append(r[0][0])
        if r[0][0] != 0:
            break
    assert errors[-1] == KAFKA_STORAGE_ERROR, errors

    def moved():
        ps = partitions(b101.bootstrap, "own-fail")
        return ps[0]["leader"] == 101 and ps[0]["isr"] == [101] and ps[1]["leader"] == 100 and ps[1]["isr"] == [100, 101]
    wait_until("leadership of the failed partition moved to 101", moved, 30)
    assert b100.proc.poll() is None, "broker 100 must keep serving"
    text = b100.log_text()
    assert "Stopping serving partition own-fail-0: its files cannot be opened" in text
    assert "Assigning own-fail-0 to dir" in text and "lost: its files cannot be opened" in text
    r = wait_until("produce to partition 0 on 101", lambda: (lambda x: x if x[0][0] == 0 else None)(
        produce_many(b101.bootstrap, "own-fail", {0: [b"after"]})), 20)
    assert r[0][0] == 0

    # Its files open again: after a restart 100 assigns the real dir and catches up.
    b100.stop()
    for d in blockers:
        os.rmdir(d)
    b100.start()
    wait_until("100 back in the ISR of partition 0", lambda: sorted(partitions(b101.bootstrap, "own-fail")[0]["isr"]) == [100, 101], 60)


# ---------------------------------------------------------------- AlterReplicaLogDirs

def alter_replica_log_dirs(bootstrap, moves):
    """AlterReplicaLogDirs v1: moves {dir: [(topic, [partitions])]}.
    Returns {(topic, partition): error}."""
    body = struct.pack(">i", len(moves))
    for d, topics in moves.items():
        body += string(d) + struct.pack(">i", len(topics))
        for name, parts in topics:
            body += string(name) + struct.pack(">i", len(parts)) + b"".join(struct.pack(">i", p) for p in parts)
    sock = connect(bootstrap)
    try:
        request(sock, 34, 1, body)
        r = Reader(response(sock))
    finally:
        sock.close()
    r.i32()  # correlation id
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        name = r.take(r.i16()).decode()
        for _ in range(r.i32()):
            p = r.i32()
            out[(name, p)] = r.i16()
    return out


def test_alter_replica_log_dirs_moves_a_partition_while_producing(jbod):
    from replication_util import BackgroundProducer, check_acked_present, read_all

    s = jbod(n_dirs=2)
    s.format()
    s.start()
    create_topic(s, "mv", partitions=2)
    placed = wait_for(lambda: partition_dirs(s, "mv", 2), what="logs created")
    assert sorted(placed.values()) == [0, 1]
    src = placed[0]
    dst = 1 - src
    ids = [meta_properties(d)["directory.id"] for d in s.dirs]

    # Errors first: an unknown dir, a relative path, an unknown partition.
    errs = alter_replica_log_dirs(s.bootstrap, {"/nonexistent/dir": [("mv", [0])], "relative": [("mv", [1])],
                                                os.path.abspath(s.dirs[dst]): [("nope", [0])]})
    assert errs == {("mv", 0): 57, ("mv", 1): 57, ("nope", 0): 9}, errs  # LOG_DIR_NOT_FOUND, REPLICA_NOT_AVAILABLE

    producer = BackgroundProducer(s.bootstrap, "mv", 2, rate=2000)
    producer.start()
    try:
        producer.wait_acked(3000, 30)
        # Already there: nothing to do.
        assert alter_replica_log_dirs(s.bootstrap, {os.path.abspath(s.dirs[src]): [("mv", [0])]}) == {("mv", 0): 0}
        assert alter_replica_log_dirs(s.bootstrap, {os.path.abspath(s.dirs[dst]): [("mv", [0])]}) == {("mv", 0): 0}
        wait_for(lambda: partition_dirs(s, "mv", 2)[0] == dst, 30, what="partition 0 moved")
        n = producer.acked_count()
        producer.wait_acked(n + 500, 30)  # still taking records after the swap
    finally:
        producer.stop()
    assert not producer.errors, producer.errors[:5]
    assert not any(".future" in f or "-future" in f for d in s.dirs for f in os.listdir(d))

    # The metadata names the new dir; DescribeLogDirs lists it there.
    wait_for(lambda: json.loads(shell(s, "cat", "/image/topics/byName/mv/0").stdout)["directories"] == [ids[dst]],
             what="assignment of the moved replica")
    _, results = describe_log_dirs(s.bootstrap, 4)
    by_dir = {x["log_dir"]: x for x in results}
    assert 0 in by_dir[os.path.abspath(s.dirs[dst])]["topics"]["mv"]
    assert 0 not in by_dir[os.path.abspath(s.dirs[src])]["topics"].get("mv", {})

    got, _ = read_all(s.bootstrap, "mv", 2)
    assert check_acked_present(producer.acked, got) == len(producer.acked)

    # After a restart it is found in its new dir, with every record.
    s.restart()
    assert partition_dirs(s, "mv", 2)[0] == dst
    got, _ = read_all(s.bootstrap, "mv", 2)
    assert check_acked_present(producer.acked, got) == len(producer.acked)
