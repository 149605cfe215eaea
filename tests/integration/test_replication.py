"""Data replication between brokers, with real processes: 3 controllers
(ids 1..3) and 3 brokers (ids 100..102), RF=3 topics, min.insync.replicas=2.

What is checked is Kafka's documented behaviour: replicas and ISR in
Metadata, acks=all records never lost when a leader dies (kill -9) or shuts
down (SIGTERM, controlled shutdown), fencing and leader election recorded in
the metadata log, a restarted broker catching up into every ISR (truncating
what it had that the new leader did not), NOT_ENOUGH_REPLICAS when the ISR is
below min.insync.replicas.

FLOTILLA_KILL_RUNS (default 2) sets how many kill -9 rounds the loop test
runs (the acceptance run uses 20); each round prints the number of
acknowledged records it checked. FLOTILLA_IDLE_PARTITIONS (default 3000)
sizes the idle-stability test.
"""
import os
import signal
import time

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import BIN
from replication_util import (NOT_ENOUGH_REPLICAS, REPL_EXTRA, BackgroundProducer, active_controller, bootstrap_of,
                              check_acked_present, dump_log_available, dump_metadata_records, fencing_records,
                              leader_changes, leaders_of, partitions, produce_many, read_all, short, wait_for,
                              wait_isr_full, wait_moved_off)

KILL_RUNS = int(os.environ.get("FLOTILLA_KILL_RUNS", "2"))
# 3,000 RF=3 partitions: each broker leads 1,000 and follows 2,000.
IDLE_PARTITIONS = int(os.environ.get("FLOTILLA_IDLE_PARTITIONS", "3000"))
SESSION_TIMEOUT_S = int(REPL_EXTRA["broker.session.timeout.ms"]) / 1000
# Fencing after the session timeout, plus the election and the metadata
# reaching the surviving brokers: generous, but bounded.
FAILOVER_BOUND_S = SESSION_TIMEOUT_S + 12
REJOIN_BOUND_S = 40


def start_cluster(cluster, **extra):
    return cluster(controllers=3, brokers=3, extra={**REPL_EXTRA, **extra})


def broker(c, node_id):
    return next(b for b in c.brokers if b.node_id == node_id)


def create_topic_rf3(c, topic, num_partitions=6, rf=3, configs=None):
    a = AdminClient({"bootstrap.servers": bootstrap_of(c.brokers)})
    fs = a.create_topics([NewTopic(topic, num_partitions=num_partitions, replication_factor=rf, config=configs or {})],
                         operation_timeout=30, request_timeout=40)
    fs[topic].result(45)


def log_bytes(node, topic, p):
    """The partition's data as this broker holds it: every .log segment in
    offset order, concatenated (trailing zero padding dropped)."""
    d = os.path.join(node.data, f"{topic}-{p}")
    if not os.path.isdir(d):
        return None
    out = b""
    for f in sorted(x for x in os.listdir(d) if x.endswith(".log")):
        with open(os.path.join(d, f), "rb") as fh:
            out += fh.read()
    return out.rstrip(b"\0")


def wait_replicas_identical(c, topic, num_partitions, timeout=20):
    """Once production stops, every replica of every partition holds the same
    bytes as its leader (followers copy the leader's batches verbatim; a
    restarted ex-leader has truncated what the new leader never had)."""
    def same():
        diff = []
        for p in range(num_partitions):
            logs = {b.node_id: log_bytes(b, topic, p) for b in c.brokers}
            sizes = {k: (None if v is None else len(v)) for k, v in logs.items()}
            if None in sizes.values() or len(set(logs.values())) != 1:
                diff.append((p, sizes))
        return "ok" if not diff else None

    def report():
        out = []
        for p in range(num_partitions):
            out.append((p, {b.node_id: (None if (x := log_bytes(b, topic, p)) is None else len(x)) for b in c.brokers}))
        return out

    try:
        wait_for("replicas byte-identical", same, timeout, interval=0.2)
    except AssertionError:
        raise AssertionError(f"{topic}: replicas not byte-identical within {timeout}s: "
                             f"{{partition: {{broker: log bytes}}}} {report()}")


def acked_after(prod, t, parts):
    """Partitions of `parts` that got no acknowledged record after time t."""
    return sorted(set(parts) - {p for p, _, _, at in prod.acked if at > t})


def kill9_leader_round(c, topic, num_partitions, tag):
    """One round: an acks=all producer runs; the leader of partition 0 is
    killed with SIGKILL; the survivors elect new leaders; production goes on;
    every acknowledged record is read back at its offset; the killed broker
    restarts and rejoins every ISR with the same bytes as the leaders.
    Returns a dict of what it measured."""
    survivors_view = c.brokers[0]
    ps = wait_isr_full(survivors_view, topic, num_partitions, 3)
    prod = BackgroundProducer(bootstrap_of(c.brokers), topic, num_partitions, tag=tag, rate=1000).start()
    stats = {}
    try:
        prod.wait_acked(300, 30)
        ps = partitions(survivors_view.bootstrap, topic)
        victim_id = ps[0]["leader"]
        victim = broker(c, victim_id)
        led = leaders_of(ps, victim_id)
        survivor = next(b for b in c.brokers if b.node_id != victim_id)
        victim.kill9()
        t0 = time.time()
        moved = wait_moved_off(survivor, topic, victim_id, num_partitions, FAILOVER_BOUND_S)
        stats["failover_s"] = time.time() - t0
        t_moved = time.time()
        assert all(set(moved[p]["replicas"]) == set(ps[p]["replicas"]) for p in moved), \
            f"replica sets changed on failover: {short(moved)}"
        # New leaders are ISR members: the ISR is what is left.
        for p, v in moved.items():
            assert v["leader"] in v["isr"] and victim_id not in v["isr"], (p, v)
        # Production goes on through the new leaders (acks=all with 2 of 3 in the ISR).
        time.sleep(3)
        stuck = wait_for_progress(prod, t_moved, led, timeout=20)
        assert not stuck, f"no acks=all record acknowledged on partitions {stuck} after their new leader was elected"
    finally:
        prod.stop()
    stats["victim"] = victim_id
    stats["led"] = led
    assert prod.unflushed == 0, f"{prod.unflushed} records never acknowledged nor failed"
    assert not prod.errors, f"{len(prod.errors)} delivery errors, first: {short(prod.errors[:5])}"
    got, hws = read_all(bootstrap_of([b for b in c.brokers if b.node_id != victim_id]), topic, num_partitions)
    stats["checked"] = check_acked_present(prod.acked, got)
    stats["sent"] = prod.sent
    # The killed broker comes back, truncates what it had beyond the new
    # leaders' logs (OffsetForLeaderEpoch), catches up and rejoins every ISR.
    t1 = time.time()
    victim.start()
    wait_isr_full(survivor, topic, num_partitions, 3, timeout=REJOIN_BOUND_S)
    stats["rejoin_s"] = time.time() - t1  # from the start command: start-up, catch-up, ISR expansion
    wait_replicas_identical(c, topic, num_partitions)
    return stats


def wait_for_progress(prod, t, parts, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        stuck = acked_after(prod, t, parts)
        if not stuck:
            return []
        time.sleep(0.1)
    return acked_after(prod, t, parts)


# --------------------------------------------------------------------------- 1


def test_rf3_topic_has_full_isr_and_acks_all_records_round_trip(cluster):
    c = start_cluster(cluster)
    topic, n = "rf3", 6
    create_topic_rf3(c, topic, n)
    # Every broker's metadata: 3 distinct replicas (one per broker), ISR = replicas, a leader in the ISR.
    views = {b.node_id: wait_isr_full(b, topic, n, 3, timeout=30, brokers=[100, 101, 102]) for b in c.brokers}
    for bid, ps in views.items():
        for p, v in ps.items():
            assert len(set(v["replicas"])) == 3, (bid, p, v)
            assert v["leader"] in v["replicas"], (bid, p, v)
    leaders = [v["leader"] for v in views[100].values()]
    assert set(leaders) == {100, 101, 102}, f"leadership not spread over the brokers: {leaders}"

    p = Producer({"bootstrap.servers": bootstrap_of(c.brokers), "acks": "all", "linger.ms": 5,
                  "message.timeout.ms": 30000})
    acked, errors = [], []

    def cb(err, msg):
        (errors if err else acked).append((msg.partition(), msg.offset(), msg.value(), err))

    for i in range(1000):
        p.produce(topic, value=b"rec-%04d" % i, partition=i % n, on_delivery=cb)
    assert p.flush(40) == 0, "acks=all records not acknowledged within 40s"
    assert not errors, short(errors[:5])
    assert len(acked) == 1000
    got, hws = read_all(bootstrap_of(c.brokers), topic, n)
    assert sum(hws.values()) == 1000, hws
    assert sorted(got.values()) == sorted(b"rec-%04d" % i for i in range(1000))
    check_acked_present([(a[0], a[1], a[2]) for a in acked], got)
    # The followers hold the same data as the leaders.
    wait_replicas_identical(c, topic, n)


# --------------------------------------------------------------------------- 2


def test_kill9_of_a_leader_loses_no_acked_record_and_it_rejoins(cluster):
    c = start_cluster(cluster)
    topic, n = "kill9", 6
    create_topic_rf3(c, topic, n)
    stats = kill9_leader_round(c, topic, n, tag="k")
    print(f"kill -9 of broker {stats['victim']} (led {stats['led']}): new leaders in {stats['failover_s']:.2f}s, "
          f"{stats['checked']} acked records checked, rejoined every ISR in {stats['rejoin_s']:.2f}s")
    # The metadata log: the broker fenced, the partitions it led given new leaders.
    if not dump_log_available(BIN):
        pytest.skip("`flotilla dump-log --cluster-metadata-decoder` is not there yet: "
                    "the fencing / PartitionChangeRecord check of the metadata log was skipped "
                    "(everything before it passed)")
    ctl = c.controller(active_controller(c, BIN))
    victim = stats["victim"]

    def decoded():
        out, recs = dump_metadata_records(BIN, ctl)
        topic_ids = {r["data"].get("topicId") for r in recs if r.get("type") == "TOPIC_RECORD"
                     and r.get("data", {}).get("name") == topic}
        moved = {r["data"].get("partitionId") for r in leader_changes(recs, not_leader=victim)
                 if r["data"].get("topicId") in topic_ids}
        fenced = fencing_records(recs, victim)
        if fenced and set(stats["led"]) <= moved:
            return True
        decoded.last = (out[-3000:], fenced, moved)
        return False

    decoded.last = None
    try:
        wait_for("metadata log", decoded, 10, interval=0.5)
    except AssertionError:
        out, fenced, moved = decoded.last
        raise AssertionError(f"metadata log of controller {ctl.node_id}: fencing records of {victim}: {fenced}; "
                             f"partitions given a new leader: {sorted(moved)} (it led {stats['led']}); "
                             f"tail of dump-log:\n{out}")


# --------------------------------------------------------------------------- 3


@pytest.mark.parametrize("run", range(1, KILL_RUNS + 1), ids=lambda r: f"run{r:02d}")
def test_kill9_loop(cluster, run, capsys):
    c = start_cluster(cluster)
    topic, n = f"loop{run}", 6
    create_topic_rf3(c, topic, n)
    stats = kill9_leader_round(c, topic, n, tag=f"r{run}")
    with capsys.disabled():
        print(f"\n[kill9 run {run}/{KILL_RUNS}] broker {stats['victim']} killed (led {stats['led']}); "
              f"{stats['checked']} acknowledged records checked of {stats['sent']} sent; "
              f"failover {stats['failover_s']:.2f}s; rejoin {stats['rejoin_s']:.2f}s", flush=True)


# --------------------------------------------------------------------------- 4


def test_controlled_shutdown_of_a_leader_moves_leaders_without_client_errors(cluster):
    c = start_cluster(cluster)
    topic, n = "graceful", 6
    create_topic_rf3(c, topic, n)
    ps = wait_isr_full(c.brokers[0], topic, n, 3)
    prod = BackgroundProducer(bootstrap_of(c.brokers), topic, n, tag="g", rate=1000).start()
    try:
        prod.wait_acked(300, 30)
        ps = partitions(c.brokers[0].bootstrap, topic)
        victim_id = ps[0]["leader"]
        victim = broker(c, victim_id)
        led = leaders_of(ps, victim_id)
        survivor = next(b for b in c.brokers if b.node_id != victim_id)
        victim.proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        # Watch the survivors' metadata while the broker shuts down.
        t_moved = t_exit = None
        deadline = t0 + 30
        while time.time() < deadline and (t_moved is None or t_exit is None):
            if t_exit is None and victim.proc.poll() is not None:
                t_exit = time.time()
            if t_moved is None:
                try:
                    cur = partitions(survivor.bootstrap, topic, timeout=2)
                    if len(cur) == n and all(v["leader"] >= 0 and v["leader"] != victim_id for v in cur.values()):
                        t_moved = time.time()
                except OSError:
                    pass
            time.sleep(0.02)
        assert t_exit is not None, "the broker did not exit within 30s of SIGTERM"
        assert victim.proc.returncode == 0, f"broker exited with {victim.proc.returncode}"
        assert t_moved is not None, "leaders never moved off the stopped broker"
        print(f"controlled shutdown of broker {victim_id} (led {led}): exit after {t_exit - t0:.2f}s, "
              f"leaders moved after {t_moved - t0:.2f}s")
        # Controlled shutdown hands leadership over before the process goes;
        # without it the leaders would only move once the session timed out.
        assert t_moved - t_exit < SESSION_TIMEOUT_S / 2, \
            (f"leaders moved {t_moved - t_exit:.2f}s after the broker exited: that is the session timeout "
             f"({SESSION_TIMEOUT_S}s), not a controlled shutdown")
        moved = wait_moved_off(survivor, topic, victim_id, n, timeout=10)
        for p, v in moved.items():
            assert v["leader"] in v["isr"], (p, v)
        time.sleep(2)
        stuck = wait_for_progress(prod, max(t_moved, t_exit), led, timeout=20)
        assert not stuck, f"no record acknowledged on partitions {stuck} after the hand-over"
    finally:
        prod.stop()
    assert prod.unflushed == 0
    assert not prod.errors, f"the client saw {len(prod.errors)} delivery errors: {short(prod.errors[:5])}"
    got, _ = read_all(bootstrap_of([b for b in c.brokers if b.node_id != victim_id]), topic, n)
    check_acked_present(prod.acked, got)
    victim.start()
    wait_isr_full(survivor, topic, n, 3, timeout=REJOIN_BOUND_S)


# --------------------------------------------------------------------------- 5


def test_controller_failover_during_a_broker_kill9(cluster):
    c = start_cluster(cluster)
    topic, n = "ctlfail", 6
    create_topic_rf3(c, topic, n)
    wait_isr_full(c.brokers[0], topic, n, 3)
    prod = BackgroundProducer(bootstrap_of(c.brokers), topic, n, tag="c", rate=1000).start()
    try:
        prod.wait_acked(300, 30)
        old_ctl = active_controller(c, BIN)
        ps = partitions(c.brokers[0].bootstrap, topic)
        victim_id = ps[0]["leader"]
        victim = broker(c, victim_id)
        led = leaders_of(ps, victim_id)
        survivor = next(b for b in c.brokers if b.node_id != victim_id)
        c.controller(old_ctl).kill9()
        victim.kill9()
        t0 = time.time()
        # A new active controller gives every broker a fresh session, then fences the dead one.
        wait_moved_off(survivor, topic, victim_id, n, FAILOVER_BOUND_S + 10)
        t_moved = time.time()
        new_ctl = active_controller(c, BIN)
        assert new_ctl != old_ctl
        print(f"controller {old_ctl} and broker {victim_id} killed: new controller {new_ctl}, "
              f"leaders moved after {t_moved - t0:.2f}s")
        time.sleep(3)
        stuck = wait_for_progress(prod, t_moved, led, timeout=20)
        assert not stuck, f"no record acknowledged on partitions {stuck} after their new leader was elected"
    finally:
        prod.stop()
    assert prod.unflushed == 0
    assert not prod.errors, f"{len(prod.errors)} delivery errors, first: {short(prod.errors[:5])}"
    got, _ = read_all(bootstrap_of([b for b in c.brokers if b.node_id != victim_id]), topic, n)
    checked = check_acked_present(prod.acked, got)
    print(f"{checked} acknowledged records checked")
    c.controller(old_ctl).start()
    victim.start()
    wait_isr_full(survivor, topic, n, 3, timeout=REJOIN_BOUND_S)


# --------------------------------------------------------------------------- 6


def test_acks_all_below_min_insync_replicas_fails_with_not_enough_replicas(cluster):
    c = start_cluster(cluster)
    topic, n = "minisr", 3
    create_topic_rf3(c, topic, n)
    wait_isr_full(c.brokers[0], topic, n, 3)
    # Two of the three replicas go away.
    alive = c.brokers[0]
    for b in c.brokers[1:]:
        b.kill9()

    def shrunk():
        ps = partitions(alive.bootstrap, topic)
        return ps if len(ps) == n and all(v["leader"] == alive.node_id and v["isr"] == [alive.node_id]
                                          for v in ps.values()) else None

    wait_for(f"broker {alive.node_id} sole leader and ISR of every partition", shrunk, FAILOVER_BOUND_S)
    # Raw Produce acks=-1 to the leader: rejected with NOT_ENOUGH_REPLICAS (19), nothing appended.
    res = produce_many(alive.bootstrap, topic, {p: [b"x"] for p in range(n)}, acks=-1)
    assert {p: e for p, (e, _) in res.items()} == {p: NOT_ENOUGH_REPLICAS for p in range(n)}, res
    # acks=1 is not bound by min.insync.replicas.
    res1 = produce_many(alive.bootstrap, topic, {p: [b"one"] for p in range(n)}, acks=1)
    assert all(e == 0 for e, _ in res1.values()), res1
    # A real client: the delivery report carries NOT_ENOUGH_REPLICAS (retriable in Kafka; retries=0 so that
    # the producer reports it instead of retrying it until message.timeout.ms).
    reports = []
    p = Producer({"bootstrap.servers": alive.bootstrap, "acks": "all", "enable.idempotence": False, "retries": 0,
                  "message.timeout.ms": 10000, "request.timeout.ms": 5000})
    for i in range(n):
        p.produce(topic, value=b"y%d" % i, partition=i, on_delivery=lambda err, msg: reports.append(err))
    assert p.flush(20) == 0
    assert len(reports) == n
    assert all(e is not None and e.code() == KafkaError.NOT_ENOUGH_REPLICAS for e in reports), \
        [(e.code(), e.name()) if e else None for e in reports]
    # One replica back: the ISR reaches min.insync.replicas again and acks=all works.
    c.brokers[1].start()

    def accepted():
        r = produce_many(alive.bootstrap, topic, {q: [b"back"] for q in range(n)}, acks=-1)
        return all(e == 0 for e, _ in r.values())

    wait_for("acks=all accepted once a second replica rejoined the ISR", accepted, REJOIN_BOUND_S, interval=0.5)


# --------------------------------------------------------------------------- 7


def test_an_idle_cluster_keeps_its_leaders_and_full_isrs_with_many_partitions(cluster):
    """With nothing produced, followers are trivially caught up: no ISR
    shrinks (replica.lag.time.max.ms counts from when a follower was last
    caught up, at the earliest when the leader took over), no broker is fenced
    (heartbeats are not starved by the partitions' AlterPartition traffic),
    so leaders and ISRs stay as created."""
    c = start_cluster(cluster)
    topic, n = "idle", IDLE_PARTITIONS
    time.sleep(float(REPL_EXTRA["replica.lag.time.max.ms"]) / 1000 + 1)  # brokers up for longer than the lag bound
    create_topic_rf3(c, topic, n)
    first = wait_isr_full(c.brokers[0], topic, n, 3, timeout=60)
    leaders = {p: v["leader"] for p, v in first.items()}
    # Watch for longer than replica.lag.time.max.ms + the session timeout.
    watch = float(REPL_EXTRA["replica.lag.time.max.ms"]) / 1000 + SESSION_TIMEOUT_S + 2
    deadline = time.time() + watch
    samples = 0
    while time.time() < deadline:
        for b in c.brokers:
            ps = partitions(b.bootstrap, topic, timeout=10)
            shrunk = {p: v["isr"] for p, v in ps.items() if sorted(v["isr"]) != sorted(v["replicas"])}
            moved = {p: (leaders[p], v["leader"]) for p, v in ps.items() if v["leader"] != leaders[p]}
            assert not shrunk, f"broker {b.node_id} sees {len(shrunk)} ISRs shrunk on an idle cluster, " \
                               f"e.g. {dict(list(shrunk.items())[:5])}"
            assert not moved, f"broker {b.node_id} sees {len(moved)} leaders changed on an idle cluster " \
                              f"(old, new): e.g. {dict(list(moved.items())[:5])}"
        samples += 1
        time.sleep(0.5)
    assert samples > 3
