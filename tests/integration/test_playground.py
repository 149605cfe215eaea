"""Confluent's KRaft playground, end to end, on a small cluster.

Three controller-only nodes (ids 1-3) and four broker-only nodes (ids
100-103: with one of them killed there are still three for RF 3), all with
tiny metadata thresholds so that snapshots, segment rolls and metadata log
cleaning happen within seconds:

 1. topics created with the confluent-kafka admin client, records produced;
 2. every node writes `<end offset>-<epoch>.checkpoint` snapshots;
 3. a broker is killed (kill -9): its partitions get new leaders, it leaves
    the ISRs, and `flotilla metadata-diff` between a snapshot from before
    and one from after shows exactly that (and its fencing);
 4. `flotilla dump-log --cluster-metadata-decoder` shows the fencing and
    the elections (from the log segments, or, if cleaning already removed
    them, from the newest snapshot);
 5. a non-active controller is killed, then topics and configs keep
    changing until the metadata log is cleaned: the first snapshots and
    the first segments are deleted, the log start advances;
 6. the killed controller restarts below the leader's log start and
    catches up by FetchSnapshot; the cluster still works.
"""
import json
import os
import re
import shutil
import time

import pytest

from conftest import BIN, run_tool
from replication_util import (REPL_EXTRA, active_controller, fencing_records, partitions, read_all, wait_for,
                              wait_isr_full, wait_moved_off)

TOPICS = ["playground-a", "playground-b"]
NUM_PARTITIONS = 6
RF = 3

EXTRA = dict(REPL_EXTRA)
EXTRA.update({
    "metadata.log.max.record.bytes.between.snapshots": "4096",
    "metadata.log.max.snapshot.interval.ms": "2000",
    "metadata.log.segment.min.bytes": "1024",  # test-only key: allows the small segment.bytes below
    "metadata.log.segment.bytes": "4096",
    "metadata.log.segment.ms": "2000",
    "metadata.max.retention.ms": "3000",
    "metadata.max.retention.bytes": "20000",
    # No preferred-leader elections while the test compares snapshots.
    "auto.leader.rebalance.enable": "false",
})

CHECKPOINT = re.compile(r"^(\d{20})-(\d{10})\.checkpoint$")
SEGMENT = re.compile(r"^(\d{20})\.log$")


# --------------------------------------------------------------------------- files of a node's metadata log


def mdir(node):
    return os.path.join(node.data, "__cluster_metadata-0")


def snapshots(node):
    """[(end offset, epoch, path)] of the node's metadata snapshots, oldest
    first, without the bootstrap one (end offset 0)."""
    try:
        names = os.listdir(mdir(node))
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        m = CHECKPOINT.match(n)
        if m and int(m.group(1)) > 0:
            out.append((int(m.group(1)), int(m.group(2)), os.path.join(mdir(node), n)))
    return sorted(out)


def keep_newest_snapshot(node, into, attempts=10):
    """Copies the node's newest snapshot into `into/<node id>/` (same file
    name); returns the copy's path. Retried when the file goes away between
    the listing and the copy."""
    d = os.path.join(into, str(node.node_id))
    os.makedirs(d, exist_ok=True)
    for _ in range(attempts):
        snaps = snapshots(node)
        assert snaps, f"node {node.node_id} has no snapshot"
        dst = os.path.join(d, os.path.basename(snaps[-1][2]))
        try:
            shutil.copyfile(snaps[-1][2], dst)
            return dst
        except FileNotFoundError:
            time.sleep(0.05)
    raise AssertionError(f"node {node.node_id}: could not copy its newest snapshot")


def segments(node):
    """[(base offset, path)] of the node's metadata log segments, oldest first."""
    try:
        names = os.listdir(mdir(node))
    except FileNotFoundError:
        return []
    return sorted((int(m.group(1)), os.path.join(mdir(node), n)) for n in names for m in [SEGMENT.match(n)] if m)


def live(node):
    return node.proc is not None and node.proc.poll() is None


def dump(*files, timeout=60):
    return run_tool("dump-log", "--cluster-metadata-decoder", "--files", ",".join(files), timeout=timeout).stdout


def decoded(out):
    """The decoded metadata records ({"type", "version", "data"}) of a dump-log output."""
    recs = []
    for line in out.splitlines():
        i = line.find('{"type"')
        if i < 0:
            continue
        try:
            recs.append(json.JSONDecoder().raw_decode(line[i:])[0])
        except ValueError:
            pass
    return recs


def dump_segments(node, attempts=5):
    """dump-log of every segment of the node's metadata log; retried when the
    cleaner deletes a file between the listing and the dump."""
    last = None
    for _ in range(attempts):
        segs = segments(node)
        try:
            return segs, dump(*[p for _, p in segs])
        except AssertionError as e:
            last = e
            time.sleep(0.2)
    raise last


def dump_first_segment(node, attempts=5):
    """dump-log of the node's oldest metadata log segment; retried when cleaning
    (which goes on while the test reads) deletes it between the listing and the dump."""
    last = None
    for _ in range(attempts):
        segs = segments(node)
        try:
            return segs, dump(segs[0][1])
        except AssertionError as e:
            last = e
            time.sleep(0.2)
    raise last


def log_end_offset_on_disk(node):
    """One past the last offset of the node's metadata log segments."""
    segs, out = dump_segments(node)
    last = [int(x) for x in re.findall(r"^baseOffset: \d+ lastOffset: (\d+) ", out, re.M)]
    return (max(last) + 1) if last else segs[0][0]


# --------------------------------------------------------------------------- images (metadata-shell)


def shell_values(target, commands):
    """Runs `metadata-shell` with `commands` on stdin; the outputs of `cat`
    decoded one after the other (JSON objects, or plain strings)."""
    flag = "--snapshot" if target.endswith(".checkpoint") else "--directory"
    out = run_tool("metadata-shell", flag, target, input="\n".join(commands) + "\nexit\n").stdout
    dec = json.JSONDecoder()
    vals, i = [], 0
    while i < len(out):
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            break
        if out[i] in "{[":
            v, i = dec.raw_decode(out, i)
        else:  # a plain value (an id, a name): its line
            j = out.find("\n", i)
            j = len(out) if j < 0 else j
            v, i = out[i:j].strip(), j
        vals.append(v)
    return vals


def image_partitions(snapshot, topics=TOPICS, n=NUM_PARTITIONS):
    cmds = [f"cat /image/topics/byName/{t}/{p}" for t in topics for p in range(n)]
    vals = shell_values(snapshot, cmds)
    assert len(vals) == len(cmds) and all(isinstance(v, dict) for v in vals), f"metadata-shell on {snapshot}: {vals}"
    keys = [(t, p) for t in topics for p in range(n)]
    return dict(zip(keys, vals))


def image_broker(snapshot, broker_id):
    v = shell_values(snapshot, [f"cat /image/cluster/brokers/{broker_id}"])
    assert len(v) == 1 and isinstance(v[0], dict), v
    return v[0]


def topic_ids(snapshot):
    """{topic id: name} from the TOPIC_RECORDs of a decoded snapshot."""
    return {r["data"]["topicId"]: r["data"]["name"] for r in decoded(dump(snapshot)) if r["type"] == "TOPIC_RECORD"}


def metadata_diff(old, new, as_json=True):
    args = ["metadata-diff", old, new] + (["--json"] if as_json else [])
    out = run_tool(*args).stdout
    return json.loads(out) if as_json else out


# --------------------------------------------------------------------------- the quorum


def replication(c, timeout=10):
    """`metadata-quorum describe --replication` through a live controller:
    {node id: (log end offset, lag, status)}."""
    def ask():
        for n in c.controllers:
            if not live(n):
                continue
            p = run_tool("metadata-quorum", "--bootstrap-controller", n.controller, "describe", "--replication",
                         check=False, timeout=10)
            lines = p.stdout.splitlines()
            if p.returncode != 0 or not lines or lines[0].split()[:4] != ["NodeId", "DirectoryId", "LogEndOffset", "Lag"]:
                continue
            rows = {}
            for l in lines[1:]:
                f = l.split()
                rows[int(f[0])] = (int(f[2]), int(f[3]), f[-1])
            return rows
        return None
    return wait_for("metadata-quorum describe --replication", ask, timeout)


def produce(bootstrap, topic, n_partitions, per_partition, tag):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "message.timeout.ms": 20000})
    errors, acked = [], []
    for part in range(n_partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"{tag}-{part}-{i}".encode(), partition=part,
                      on_delivery=lambda err, msg: errors.append(err) if err else acked.append(msg.value()))
    assert p.flush(30) == 0, "records left unflushed"
    assert errors == [], errors[:3]
    return acked


_admins = {}


def create_topics(bootstrap, names, partitions_, rf, configs=None):
    """CreateTopics through the confluent-kafka admin client (one per bootstrap list)."""
    from confluent_kafka.admin import AdminClient, NewTopic
    a = _admins.get(bootstrap)
    if a is None:
        a = _admins[bootstrap] = AdminClient({"bootstrap.servers": bootstrap, "socket.connection.setup.timeout.ms": 3000})
    fs = a.create_topics([NewTopic(n, partitions_, rf, config=configs or {}) for n in names], operation_timeout=20,
                         request_timeout=30)
    for n, f in fs.items():
        f.result(timeout=30)  # raises on an error


# --------------------------------------------------------------------------- the test


@pytest.fixture
def admins():
    yield _admins
    _admins.clear()


def test_kraft_playground(cluster, admins, workdir):
    t_start = time.time()
    kept_dir = os.path.join(workdir, "kept-snapshots")

    def keep(node):
        """A copy of the node's newest snapshot (the cleaner may delete the
        original while the test still reads it)."""
        return keep_newest_snapshot(node, kept_dir)

    c = cluster(controllers=3, brokers=4, extra=EXTRA)
    brokers = c.brokers
    b0 = brokers[0]
    for n in c.nodes:
        assert "metadata.log.segment.min.bytes" in n.props

    # ---------------------------------------------------------------- 1. topics and records
    create_topics(b0.bootstrap, TOPICS, NUM_PARTITIONS, RF)
    before = {}
    for t in TOPICS:
        before[t] = wait_isr_full(b0, t, NUM_PARTITIONS, RF, timeout=30)
    all_bootstrap = ",".join(b.bootstrap for b in brokers)
    for t in TOPICS:
        assert len(produce(all_bootstrap, t, NUM_PARTITIONS, 5, "one")) == NUM_PARTITIONS * 5

    # ---------------------------------------------------------------- 2. snapshots on every node
    wait_for("a metadata snapshot on every node", lambda: all(snapshots(n) for n in c.nodes), 30, interval=0.2)
    first_snapshot = {n.node_id: snapshots(n)[0][2] for n in c.nodes}
    first_segment = {n.node_id: segments(n)[0] for n in c.nodes}
    for n in c.nodes:
        for end, epoch, path in snapshots(n):
            assert CHECKPOINT.match(os.path.basename(path)) and epoch >= 1 and end > 0, path
        assert first_segment[n.node_id][1].endswith(".log")
        kept = keep(n)
        out = dump(kept)
        assert "SnapshotHeader" in out and "SnapshotFooter" in out, out[-2000:]
    # The newest snapshot of a node, once it covers the topics, names them.
    wait_for("a snapshot naming the topics", lambda: all(f'"name":"{t}"' in dump(keep(b0)) for t in TOPICS),
             15, interval=0.3)

    # ---------------------------------------------------------------- 3. kill -9 a broker
    active = active_controller(c, BIN)
    # The broker leading the most partitions; a surviving broker watches.
    led = {b.node_id: sum(1 for t in TOPICS for v in before[t].values() if v["leader"] == b.node_id) for b in brokers}
    victim = max(brokers, key=lambda b: (led[b.node_id], -b.node_id))
    watcher = next(b for b in brokers if b is not victim)
    vid = victim.node_id
    assert led[vid] > 0
    # Expected, from Metadata before the kill: the partitions it led, and those whose ISR it was in.
    before = {t: partitions(watcher.bootstrap, t) for t in TOPICS}
    exp_led = {(t, p) for t in TOPICS for p, v in before[t].items() if v["leader"] == vid}
    exp_isr = {(t, p) for t in TOPICS for p, v in before[t].items() if vid in v["isr"]}
    assert exp_led and exp_led <= exp_isr

    # A snapshot of the watcher from before the kill, with that same state.
    def settled_snapshot():
        snaps = snapshots(watcher)
        if not snaps:
            return None
        path = keep(watcher)
        img = image_partitions(path)
        for (t, p), v in img.items():
            b = before[t][p]
            if v["leader"] != b["leader"] or sorted(v["isr"]) != sorted(b["isr"]) or sorted(v["replicas"]) != sorted(b["replicas"]):
                return None
        if image_broker(path, vid).get("fenced") is not False:
            return None
        return snaps[-1][0], path
    old_end, old_snap = wait_for("a snapshot with the state from before the kill", settled_snapshot, 20, interval=0.3)

    victim.kill9()
    t_kill = time.time()
    for t in TOPICS:
        wait_moved_off(watcher, t, vid, NUM_PARTITIONS, timeout=20)
    moved_s = time.time() - t_kill
    # Step 4's input, taken now (before the cleaner can remove these segments).
    segs_after_fence, segs_dump_after_fence = dump_segments(c.controller(active))

    def diff_after():
        if snapshots(watcher)[-1][0] <= old_end:
            return None
        path = keep(watcher)
        d = metadata_diff(old_snap, path)
        changed = {(x["topic"], x["partition"]): x for x in d["partitions"]["changed"]}
        if d["brokers"]["fenced"] != [vid] or not exp_isr <= set(changed):
            return None
        return path, d
    new_snap, diff = wait_for("a snapshot after the fencing (metadata-diff shows it)", diff_after, 25, interval=0.3)

    changed = {(x["topic"], x["partition"]): x for x in diff["partitions"]["changed"]}
    assert set(changed) == exp_isr, f"changed partitions {sorted(changed)} != those whose ISR had {vid}: {sorted(exp_isr)}"
    new_leaders = {k for k, x in changed.items() if "leader" in x}
    assert new_leaders == exp_led, f"leader changes {sorted(new_leaders)} != partitions {vid} led {sorted(exp_led)}"
    for k, x in changed.items():
        assert vid in x["isr"]["old"] and vid not in x["isr"]["new"], (k, x)
        if k in exp_led:
            assert x["leader"]["old"] == vid and x["leader"]["new"] not in (vid, -1), (k, x)
            assert x["leader"]["new"] in x["isr"]["new"], (k, x)
    assert diff["topics"] == {"added": [], "removed": []}
    assert diff["partitions"]["added"] == [] and diff["partitions"]["removed"] == []
    assert diff["brokers"]["fenced"] == [vid]
    for k in ("registered", "unregistered", "reregistered", "unfenced"):
        assert diff["brokers"][k] == [], (k, diff["brokers"])
    assert diff["configs"] == {"set": [], "removed": []}
    text = metadata_diff(old_snap, new_snap, as_json=False)
    lines = text.splitlines()
    assert lines[0].startswith("Comparing metadata at offset"), text
    assert f"~ broker {vid} fenced" in lines, text
    part_lines = {l.split(":")[0][len("~ partition "):] for l in lines if l.startswith("~ partition ")}
    assert part_lines == {f"{t}-{p}" for t, p in exp_isr}, text
    for t, p in exp_led:
        line = next(l for l in lines if l.startswith(f"~ partition {t}-{p}:"))
        assert f"leader {vid} -> " in line and "isr " in line, line

    # ---------------------------------------------------------------- 4. the fencing in the decoded log
    ids = topic_ids(new_snap)
    recs = decoded(segs_dump_after_fence)
    fence = fencing_records(recs, vid)
    if fence:
        source = "segments"
        # PARTITION_CHANGE_RECORDs electing new leaders for every partition it led,
        # and taking it out of every ISR it was in.
        elected, shrunk = set(), set()
        for r in recs:
            if r.get("type") != "PARTITION_CHANGE_RECORD":
                continue
            dd = r["data"]
            k = (ids.get(dd.get("topicId")), dd.get("partitionId"))
            if dd.get("leader") is not None and dd["leader"] >= 0 and dd["leader"] != vid and k in exp_led:
                elected.add(k)
            if dd.get("isr") is not None and k in exp_isr and vid not in dd["isr"]:
                shrunk.add(k)
        assert elected == exp_led, f"PARTITION_CHANGE_RECORDs electing leaders for {sorted(elected)}, expected {sorted(exp_led)}"
        assert shrunk == exp_isr, f"PARTITION_CHANGE_RECORDs shrinking ISRs {sorted(shrunk)}, expected {sorted(exp_isr)}"
        fence_types = sorted({r["type"] for r in fence})
    else:
        # Cleaning removed them already (the log start moved past them): the newest snapshot
        # must carry the result instead.
        source = "snapshot"
        assert segs_after_fence[0][0] > 0, "no fencing record of %d in the segments, and the log was not cleaned:\n%s" % (
            vid, segs_dump_after_fence[-3000:])
        snap_recs = decoded(dump(keep(c.controller(active))))
        reg = [r for r in snap_recs if r["type"] == "REGISTER_BROKER_RECORD" and r["data"].get("brokerId") == vid]
        assert reg and reg[-1]["data"].get("fenced") is True, reg
        parts = {(ids.get(r["data"]["topicId"]), r["data"]["partitionId"]): r["data"]
                 for r in snap_recs if r["type"] == "PARTITION_RECORD"}
        for k in exp_isr:
            assert vid not in parts[k]["isr"], (k, parts[k])
        for k in exp_led:
            assert parts[k]["leader"] not in (vid, -1), (k, parts[k])
        fence_types = ["REGISTER_BROKER_RECORD(fenced)"]
    print(f"step 4: fencing of broker {vid} decoded from the {source} ({fence_types}); moved off in {moved_s:.1f}s")

    # ---------------------------------------------------------------- 6a. stop a non-active controller
    active = active_controller(c, BIN)
    leader_node = c.controller(active)
    cv = next(n for n in c.controllers if n.node_id != active)
    cv.kill9()
    cv_leo = log_end_offset_on_disk(cv)
    cv_snaps_before = {p for _, _, p in snapshots(cv)}

    # ---------------------------------------------------------------- 5. cleaning
    running = [n for n in c.nodes if live(n)]
    bs = ",".join(b.bootstrap for b in brokers if live(b))

    def cleaned():
        for n in running:
            if os.path.exists(first_snapshot[n.node_id]) or os.path.exists(first_segment[n.node_id][1]):
                return False
        segs = segments(leader_node)
        return bool(segs) and segs[0][0] > cv_leo

    made = []
    t5 = time.time()
    deadline = t5 + 30
    i = 0
    while time.time() < deadline and not cleaned():
        name = f"churn-{i}"
        create_topics(bs, [name], 1, RF)
        made.append(name)
        run_tool("configs", "--bootstrap-server", watcher.bootstrap, "--alter", "--topic", TOPICS[i % 2],
                 "--add-config", f"retention.ms={86400000 + i}")
        i += 1
        time.sleep(0.2)
    print(f"step 5: {len(made)} topics created, {i} config changes in {time.time() - t5:.1f}s")

    failures = []
    for n in running:
        if os.path.exists(first_snapshot[n.node_id]):
            failures.append(f"node {n.node_id}: first snapshot {os.path.basename(first_snapshot[n.node_id])} not deleted "
                            f"(snapshots: {[os.path.basename(p) for _, _, p in snapshots(n)][:3]}... {len(snapshots(n))} in all)")
        if os.path.exists(first_segment[n.node_id][1]):
            failures.append(f"node {n.node_id}: first segment {os.path.basename(first_segment[n.node_id][1])} not deleted "
                            f"({len(segments(n))} segments)")
    assert not failures, "metadata log not cleaned:\n" + "\n".join(failures)
    for n in (leader_node, watcher):
        segs, out = dump_first_segment(n)
        start = int(re.search(r"^Log starting offset: (\d+)$", out, re.M).group(1))
        bases = [int(x) for x in re.findall(r"^baseOffset: (\d+) ", out, re.M)]
        assert start > 0 and start == segs[0][0], out[:500]
        assert bases and bases[0] >= start, out[:500]

    # ---------------------------------------------------------------- 6b. FetchSnapshot catch-up
    leader_start = segments(leader_node)[0][0]
    assert leader_start > cv_leo, (f"the leader's log start {leader_start} is not above the stopped controller's "
                                   f"log end {cv_leo}: it could catch up from the log")
    log_from = os.path.getsize(cv.log_path)
    cv.start()

    def caught_up():
        rows = replication(c)
        if cv.node_id not in rows or active not in rows:
            return None
        leo, lag, status = rows[cv.node_id]
        return rows if lag == 0 and leo == rows[active][0] and status == "Follower" else None
    wait_for(f"controller {cv.node_id} caught up (LogEndOffset of the leader, Lag 0)", caught_up, 30, interval=0.3)
    fetched = [(e, p) for e, _, p in snapshots(cv) if p not in cv_snaps_before and e >= leader_start]
    assert fetched, (f"no snapshot ending at or past the leader's log start {leader_start} on controller {cv.node_id}: "
                     f"{[os.path.basename(p) for _, _, p in snapshots(cv)]}")
    new_log = cv.log_text()[log_from:]
    assert re.search(r"fetch\s*snapshot|snapshot.{0,80}fetch|fetch.{0,80}snapshot", new_log, re.I), \
        "the restarted controller's log does not mention the snapshot fetch:\n" + new_log[-3000:]

    # The cluster works: a new topic, records in and out, and the restarted controller has it.
    create_topics(bs, ["after-catchup"], 3, RF)
    wait_isr_full(watcher, "after-catchup", 3, RF, timeout=20)
    acked = produce(bs, "after-catchup", 3, 5, "after")
    got, hws = read_all(bs, "after-catchup", 3, timeout=30)
    assert sorted(got.values()) == sorted(acked) and sum(hws.values()) == 15
    wait_for(f"controller {cv.node_id} caught up after the new topic", caught_up, 20, interval=0.3)
    assert "after-catchup" in run_tool("metadata-shell", "--directory", mdir(cv), "ls", "/image/topics/byName").stdout.split()
    # (Controller-only node: no broker port of its own; it answers the quorum tool, through to the leader.)
    status = run_tool("metadata-quorum", "--bootstrap-controller", cv.controller, "describe", "--status").stdout
    assert re.search(r"^LeaderId:\s*%d$" % active, status, re.M), status
    elapsed = time.time() - t_start
    print(f"playground: {elapsed:.1f}s")
