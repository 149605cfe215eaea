"""Consumer groups (the classic protocol) and the idempotent producer, with
real clients against real `flotilla` processes.

What is checked is Kafka's documented client-visible behaviour:

* members of one group split a topic's partitions (disjoint assignments that
  cover every partition) and every record is processed exactly once -
  confluent-kafka (librdkafka), kafka-python, kcat -G and KafkaJS;
* committed offsets: a new member of the group resumes exactly after them,
  also after the group coordinator is killed (-9) and the group moves to
  another broker (__consumer_offsets replicated, RF 3);
* static membership (group.instance.id): a static member that closes without
  LeaveGroup and comes back within session.timeout.ms gets its partitions back
  and the other member sees no rebalance;
* the idempotent producer: no record duplicated or reordered; a retried batch
  (same producer id, epoch, sequence) is not appended twice, a sequence gap is
  OUT_OF_ORDER_SEQUENCE_NUMBER.

Every wait is bounded; consumer close()s run in bounded threads; only
processes started here are stopped, by PID.
"""
import collections
import contextlib
import json
import os
import shutil
import signal
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_wire import Reader, api_versions, connect, crc32c, list_offset_latest, request, response, string, varint
from replication_util import REPL_EXTRA, bootstrap_of, partitions, short, wait_for, wait_isr_full

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")

# The group coordinator's broker configs (Kafka's names): __consumer_offsets
# with the cluster's broker count as RF, no initial rebalance delay.
GROUP_EXTRA = {"offsets.topic.replication.factor": "1", "group.initial.rebalance.delay.ms": "0"}

OUT_OF_ORDER_SEQUENCE_NUMBER = 45
DUPLICATE_SEQUENCE_NUMBER = 46

# Consumer settings shared by the librdkafka members: quick heartbeats (a
# rebalance is noticed within ~0.5 s), short connection timeouts.
CK_BASE = {
    "enable.partition.eof": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 500,
    "socket.connection.setup.timeout.ms": 3000,
    "topic.metadata.refresh.interval.ms": 1000,
    "reconnect.backoff.max.ms": 500,
}


# --------------------------------------------------------------------------- helpers


def group_server(make_server):
    return make_server(dict(GROUP_EXTRA))


def create_topic(bootstrap, topic, num_partitions, rf=1):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, num_partitions=num_partitions, replication_factor=rf)],
                    operation_timeout=30, request_timeout=40)[topic].result(45)


def produce(bootstrap, topic, n, num_partitions, tag="r", conf=None):
    """n records b"<tag>-<i>" to partition i % num_partitions, acks=all;
    returns {value: partition}."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, **(conf or {})})
    errors = []

    def cb(err, msg):
        if err is not None:
            errors.append(err)

    expected = {}
    for i in range(n):
        v = b"%s-%06d" % (tag.encode(), i)
        expected[v] = i % num_partitions
        p.produce(topic, value=v, partition=i % num_partitions, on_delivery=cb)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(60) == 0, "records not delivered within 60 s"
    assert not errors, errors[:3]
    return expected


def bounded(fn, timeout, what):
    """Runs fn() in a daemon thread; AssertionError if it does not return
    within timeout (a close() waiting on a coordinator that never answers)."""
    box = {}

    def run():
        try:
            box["v"] = fn()
        except Exception as e:  # noqa: BLE001 - re-raised below
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"{what}: did not return within {timeout}s")
    if "e" in box:
        raise box["e"]
    return box.get("v")


@contextlib.contextmanager
def stopped_after(members):
    """Stops every member of the (live) list on the way out. A failure to
    stop is raised only when the body succeeded: it never hides the body's."""
    try:
        yield members
    except BaseException:
        for m in list(members):
            try:
                m.stop()
            except Exception:  # noqa: BLE001 - the body's failure is the one reported
                pass
        raise
    errors = []
    for m in list(members):
        try:
            m.stop()
        except Exception as e:  # noqa: BLE001 - raised below
            errors.append(e)
    if errors:
        raise errors[0]


class Closing:
    """Adapts a close function to stopped_after()."""

    def __init__(self, fn, what, timeout=30):
        self.fn, self.what, self.timeout, self.done = fn, what, timeout, False

    def stop(self):
        if not self.done:
            self.done = True
            bounded(self.fn, self.timeout, self.what)


def check_split(assignments, num_partitions):
    """Each member's latest assignment (a set) is non-empty, they are pairwise
    disjoint and together cover every partition."""
    sets = list(assignments)
    if any(not s for s in sets):
        return False
    union = set()
    for s in sets:
        if union & s:
            return False
        union |= s
    return union == set(range(num_partitions))


def check_exactly_once(expected, per_member):
    """per_member: [[(partition, offset, value)]]. Every expected value seen
    exactly once over all members, at its partition; nothing else seen."""
    counts = collections.Counter(v for recs in per_member for _, _, v in recs)
    dup = sorted(v for v, c in counts.items() if c > 1)
    missing = sorted(set(expected) - set(counts))
    extra = sorted(set(counts) - set(expected))
    wrong_partition = [(p, v) for recs in per_member for p, _, v in recs if v in expected and expected[v] != p]
    assert not dup and not missing and not extra and not wrong_partition, (
        f"not exactly once: {len(dup)} duplicated {dup[:5]}, {len(missing)} missing {missing[:5]}, "
        f"{len(extra)} unexpected {extra[:5]}, wrong partition {wrong_partition[:5]}; "
        f"per member {[len(r) for r in per_member]}")


class CKMember:
    """A confluent_kafka (librdkafka) group member polling in its own thread:
    records what it processes and every assignment / revocation (callbacks
    run inside poll(), on this thread)."""

    def __init__(self, bootstrap, group, topic, name, conf=None, manual_commit=False):
        self.name = name
        self.topic = topic
        self.conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name, **CK_BASE, **(conf or {})}
        if manual_commit:
            self.conf["enable.auto.commit"] = False
        self.records = []  # (partition, offset, value)
        self.assigned = set()  # the current assignment
        self.assigns = []  # every assignment, in order
        self.revokes = []  # every revocation, in order
        self.errors = []
        self.exc = None
        self.limit = None  # stop polling after this many records
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._closed_consumer = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _on_assign(self, c, parts):
        s = {p.partition for p in parts}
        self.assigns.append(s)
        self.assigned = set(s)

    def _on_revoke(self, c, parts):
        self.revokes.append({p.partition for p in parts})
        self.assigned = set()

    def _run(self):
        try:
            self.consumer = Consumer({**self.conf, "error_cb": lambda e: self.errors.append(e)})
            self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
            while not self._stop.is_set():
                if self.limit is not None and len(self.records) >= self.limit:
                    time.sleep(0.05)
                    continue
                m = self.consumer.poll(0.1)
                if m is None:
                    continue
                if m.error():
                    self.errors.append(m.error())
                    continue
                self.records.append((m.partition(), m.offset(), m.value()))
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.exc = e
        finally:
            self._closed.set()

    def start(self):
        self._thread.start()
        return self

    def stop(self, close=True, timeout=30):
        """Stops polling, then (close=True) closes the consumer; all bounded.
        Once closed, a no-op."""
        if self._closed_consumer:
            return self
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.name}: poll thread did not stop"
        if self.exc is not None:
            raise self.exc
        if close and getattr(self, "consumer", None) is not None:
            self._closed_consumer = True
            bounded(self.consumer.close, timeout, f"{self.name}: close()")
        return self


def wait_split(members, num_partitions, timeout=60, key=lambda m: m.assigned):
    def state():
        return [sorted(key(m)) for m in members]

    try:
        wait_for("group assignment split over the members", lambda: check_split([set(key(m)) for m in members],
                                                                                 num_partitions), timeout, 0.05)
    except AssertionError as e:
        raise AssertionError(f"{e}; assignments now {state()}; errors "
                             f"{[short(getattr(m, 'errors', [])[-3:], 300) for m in members]}") from None


def wait_split_settled(members, num_partitions, settle_s, timeout=60):
    """Waits for a split that stays unchanged for settle_s; returns it."""
    deadline = time.time() + timeout
    while True:
        wait_split(members, num_partitions, timeout=max(1, deadline - time.time()))
        split = [set(m.assigned) for m in members]
        time.sleep(settle_s)
        if [set(m.assigned) for m in members] == split:
            return split
        assert time.time() < deadline, f"the group's assignment kept changing: last {split}"


def wait_count(what, fn, n, timeout):
    try:
        wait_for(what, lambda: fn() >= n, timeout, 0.05)
    except AssertionError:
        raise AssertionError(f"{what}: {fn()} of {n} within {timeout}s") from None


# --------------------------------------------------------------------------- raw protocol helpers


def find_coordinator(bootstrap, group, timeout=5):
    """FindCoordinator v1 (key type 0: group) asked of one broker:
    (error, node_id, host, port)."""
    s = connect(bootstrap, timeout=timeout)
    try:
        request(s, 10, 1, string(group) + b"\x00")
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.i32()  # throttle
    err = r.i16()
    n = r.i16()
    if n > 0:
        r.take(n)  # error message
    node = r.i32()
    host = r.take(r.i16()).decode()
    port = r.i32()
    return err, node, host, port


def init_producer_id(bootstrap, timeout=10):
    """InitProducerId v1, no transactional id: (error, producer_id, epoch)."""
    s = connect(bootstrap, timeout=timeout)
    try:
        request(s, 22, 1, struct.pack(">h", -1) + struct.pack(">i", 60000))
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.i32()  # throttle
    return r.i16(), r.i64(), r.i16()


def idempotent_batch(values, producer_id, epoch, base_seq, base_ts=1000):
    """A v2 record batch carrying producer id / epoch / base sequence."""
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, base_ts, base_ts, producer_id, epoch, base_seq,
                            len(values)) + recs
    batch = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(batch)) + batch


def produce_raw(bootstrap, topic, partition, records, acks=-1):
    """Produce v3 of one raw batch: (error, base_offset)."""
    body = struct.pack(">h", -1) + struct.pack(">hi", acks, 10000)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(records)) + records
    s = connect(bootstrap, timeout=20)
    try:
        request(s, 0, 3, body)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.i32()  # topic count
    r.take(r.i16())
    r.i32()  # partition count
    r.i32()  # partition
    return r.i16(), r.i64()


def read_partitions(bootstrap, topic, num_partitions, timeout=30):
    """Every record of every partition up to its high watermark, read with
    assign() (no group): {partition: [(offset, value)]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cg-reader", "enable.auto.commit": False, **CK_BASE})
    with stopped_after([Closing(c.close, "reader close()", 15)]):
        hws = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
               for p in range(num_partitions)}
        c.assign([TopicPartition(topic, p, 0) for p in range(num_partitions)])
        got = {p: [] for p in range(num_partitions)}
        deadline = time.time() + timeout
        while any(len(got[p]) < hws[p] for p in got) and time.time() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if not m.error():
                    got[m.partition()].append((m.offset(), m.value()))
    return got, hws


# --------------------------------------------------------------------------- 1. confluent-kafka: two members


def test_two_members_share_partitions_each_record_once(make_server):
    s = group_server(make_server)
    topic, group, P, N = "cg-share", "g-share", 6, 3000
    create_topic(s.bootstrap, topic, P)
    members = [CKMember(s.bootstrap, group, topic, f"m{i}").start() for i in range(2)]
    with stopped_after(members):
        # Both in the group with their final split before any record exists:
        # no record can be processed under an assignment that is then revoked.
        wait_split(members, P)
        split = [set(m.assigned) for m in members]
        expected = produce(s.bootstrap, topic, N, P)
        wait_count("records processed by the group", lambda: sum(len(m.records) for m in members), N, 60)
        time.sleep(1.0)  # anything processed twice would show up now
    assert all(split), f"an empty assignment: {split}"
    assert check_split(split, P), f"assignments not a split of {P} partitions: {split}"
    for m, mine in zip(members, split):
        outside = {p for p, _, _ in m.records} - mine
        assert not outside, f"{m.name} processed partitions {outside} outside its assignment {mine}"
        assert m.records, f"{m.name} processed nothing"
    check_exactly_once(expected, [m.records for m in members])


# --------------------------------------------------------------------------- 2. kafka-python, kcat -G, KafkaJS


class KPMember:
    """A kafka-python KafkaConsumer group member in its own thread."""

    def __init__(self, bootstrap, group, topic, name):
        self.name, self.topic = name, topic
        self.kw = dict(bootstrap_servers=bootstrap, group_id=group, client_id=name, auto_offset_reset="earliest",
                       enable_auto_commit=True, session_timeout_ms=10000, heartbeat_interval_ms=500,
                       request_timeout_ms=30000, consumer_timeout_ms=float("inf"))
        self.records, self.assigned, self.assigns, self.revokes, self.errors = [], set(), [], [], []
        self.exc = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self):
        from kafka import ConsumerRebalanceListener, KafkaConsumer
        member = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                member.revokes.append({tp.partition for tp in revoked})
                member.assigned = set()

            def on_partitions_assigned(self, assigned):
                s = {tp.partition for tp in assigned}
                member.assigns.append(s)
                member.assigned = set(s)

        c = None
        try:
            c = KafkaConsumer(**self.kw)
            c.subscribe(topics=[self.topic], listener=Listener())
            while not self._stop.is_set():
                for tp, msgs in c.poll(timeout_ms=200).items():
                    for m in msgs:
                        self.records.append((m.partition, m.offset, m.value))
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.exc = e
            self.errors.append(repr(e))
        finally:
            if c is not None:
                try:
                    c.close(autocommit=False)
                except Exception:  # noqa: BLE001
                    pass

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout=40):
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.name}: thread did not stop"


def test_kafka_python_two_members_share_partitions_each_record_once(make_server):
    s = group_server(make_server)
    topic, group, P, N = "cg-kp", "g-kp", 6, 2000
    create_topic(s.bootstrap, topic, P)
    members = [KPMember(s.bootstrap, group, topic, f"kp{i}").start() for i in range(2)]
    with stopped_after(members):
        wait_split(members, P, timeout=60)
        # kafka-python keeps a long-poll Fetch of an earlier generation (all six
        # partitions, fetch.max.wait.ms 500) in flight across a rebalance and may
        # hand out what it brings back: the split must hold for longer than that
        # before there are records to bring.
        split = wait_split_settled(members, P, settle_s=1.2, timeout=60)
        expected = produce(s.bootstrap, topic, N, P)
        wait_count("records processed by the kafka-python group", lambda: sum(len(m.records) for m in members), N, 60)
        time.sleep(1.0)
    assert all(m.exc is None for m in members), [repr(m.exc) for m in members]
    assert check_split(split, P), f"assignments not a split of {P} partitions: {split}"
    for m, mine in zip(members, split):
        assert m.records, f"{m.name} processed nothing"
        outside = {p for p, _, _ in m.records} - mine
        assert not outside, f"{m.name} processed partitions {outside} outside its assignment {mine}"
    check_exactly_once(expected, [m.records for m in members])


class ProcMember:
    """An external group member process (kcat -G, node group_member.js):
    stdout and stderr are read by threads; `parse(line, member)` updates the
    member's records / assigned from one line."""

    def __init__(self, argv, name, parse_out, parse_err=None):
        self.name = name
        self.records, self.assigned, self.assigns, self.err_lines = [], set(), [], []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, args=(self.proc.stdout, parse_out), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, parse_err, True), daemon=True).start()

    def _read(self, f, parse, is_err=False):
        for line in f:
            line = line.rstrip("\n")
            if is_err:
                self.err_lines.append(line)
            if parse is not None:
                parse(line, self)

    def set_assigned(self, parts):
        s = set(parts)
        self.assigns.append(s)
        self.assigned = s

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def run_process_group(s, topic, group, P, N, argv_for, parse_out, parse_err=None, split_timeout=60):
    create_topic(s.bootstrap, topic, P)
    members = []
    with stopped_after(members):
        for i in range(2):
            members.append(ProcMember(argv_for(i), f"{group}-{i}", parse_out, parse_err))
        try:
            wait_split(members, P, timeout=split_timeout)
        except AssertionError as e:
            exited = [(m.name, m.proc.poll(), m.err_lines[-5:]) for m in members]
            raise AssertionError(f"{e}; processes (name, exit code, stderr tail): {exited}") from None
        split = [set(m.assigned) for m in members]
        expected = produce(s.bootstrap, topic, N, P)
        try:
            wait_count(f"records processed by the {group} group", lambda: sum(len(m.records) for m in members), N, 60)
        except AssertionError as e:
            raise AssertionError(f"{e}; assignments {[sorted(m.assigned) for m in members]}; stderr tails "
                                 f"{[m.err_lines[-5:] for m in members]}") from None
        time.sleep(1.0)
        final = [set(m.assigned) for m in members]  # before stopping: a stop revokes
    assert check_split(split, P), f"assignments not a split of {P} partitions: {split}"
    # No rebalance while records were being processed: the split held.
    assert final == split, f"assignment changed while consuming: {split} -> {final}"

    for m, mine in zip(members, split):
        assert m.records, f"{m.name} processed nothing"
        outside = {p for p, _, _ in m.records} - mine
        assert not outside, f"{m.name} processed partitions {outside} outside its assignment {mine}"
    check_exactly_once(expected, [m.records for m in members])


def kcat_parse_out(line, m):
    # -f '%p %o %s\n'
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0].isdigit():
        m.records.append((int(parts[0]), int(parts[1]), parts[2].encode()))


def kcat_parse_err(line, m):
    # "% Group g rebalanced (memberid ...): assigned: topic [0], topic [3]"
    # "% Group g rebalanced (memberid ...): revoked: ..."
    if "rebalanced" in line and "assigned:" in line:
        tail = line.split("assigned:", 1)[1]
        m.set_assigned(int(x.split("]")[0]) for x in tail.split("[")[1:])
    elif "rebalanced" in line and "revoked:" in line:
        m.assigned = set()


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
def test_kcat_balanced_consumers_share_partitions_each_record_once(make_server):
    s = group_server(make_server)
    topic, group = "cg-kcat", "g-kcat"

    def argv(i):
        # -G: the balanced (KafkaConsumer) mode; -u: unbuffered output.
        return ["kcat", "-b", s.bootstrap, "-G", group, "-u", "-f", "%p %o %s\n", "-X", "auto.offset.reset=earliest",
                "-X", "session.timeout.ms=10000", "-X", "heartbeat.interval.ms=500", "-X", f"client.id=kcat{i}",
                topic]

    run_process_group(s, topic, group, 6, 2000, argv, kcat_parse_out, kcat_parse_err)


def js_parse_out(line, m):
    try:
        o = json.loads(line)
    except ValueError:
        return
    if "assigned" in o:
        m.set_assigned(o["assigned"])
    elif "p" in o:
        m.records.append((o["p"], o["o"], o["v"].encode()))
    elif "crash" in o:
        m.err_lines.append(line)


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "kafkajs")),
                    reason="node or kafkajs not installed (make deps installs kafkajs with npm)")
def test_kafkajs_two_members_share_partitions_each_record_once(make_server):
    s = group_server(make_server)
    topic, group = "cg-kjs", "g-kjs"

    def argv(i):
        return ["node", os.path.join(JS, "group_member.js"), s.bootstrap, topic, group]

    run_process_group(s, topic, group, 6, 2000, argv, js_parse_out, split_timeout=90)


# --------------------------------------------------------------------------- 3. committed offsets


def consume_half_and_commit(bootstrap, group, topic, n_half, name, conf=None):
    """One member processes exactly n_half records (poll() one at a time),
    commits the next offset of each partition it read (synchronously) and
    closes. Returns (records, {partition: committed offset})."""
    m = CKMember(bootstrap, group, topic, name, conf=conf, manual_commit=True)
    m.limit = n_half
    m.start()
    try:
        wait_count(f"{name}: records processed", lambda: len(m.records), n_half, 60)
    except AssertionError as e:
        try:
            m.stop(close=True, timeout=15)
        except AssertionError:
            pass
        raise e
    m.stop(close=False)
    recs = m.records[:n_half]
    assert len(m.records) == n_half, f"processed {len(m.records)}, wanted {n_half}"
    nxt = {}
    for p, o, _ in recs:
        nxt[p] = max(nxt.get(p, 0), o + 1)
    tps = [TopicPartition(topic, p, o) for p, o in sorted(nxt.items())]
    res = bounded(lambda: m.consumer.commit(offsets=tps, asynchronous=False), 30, f"{name}: commit")
    bad = [(tp.partition, tp.error) for tp in res or [] if tp.error is not None]
    assert not bad, f"commit failed: {bad}"
    bounded(m.consumer.close, 30, f"{name}: close()")
    return recs, nxt


def resume_and_check(bootstrap, group, topic, P, expected, first_recs, committed, name, timeout=60, conf=None):
    """A new member of the group: committed() returns what was committed,
    and it processes exactly the records after the committed offsets."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **CK_BASE, **(conf or {})})
    with stopped_after([Closing(c.close, "committed() consumer close()")]):
        tps = [TopicPartition(topic, p) for p in range(P)]
        got = wait_for("committed offsets readable by a new member",
                       lambda: _committed(c, tps), timeout, 0.5)
        want = {p: committed.get(p, -1001) for p in range(P)}  # -1001: OFFSET_INVALID, nothing committed
        assert got == want, f"committed() of a new member: {got}, committed {want}"
    m = CKMember(bootstrap, group, topic, name, conf=conf).start()
    n_rest = len(expected) - len(first_recs)
    with stopped_after([m]):
        wait_count(f"{name}: records processed after the restart", lambda: len(m.records), n_rest, timeout)
        time.sleep(1.0)
    first_seen = collections.defaultdict(list)
    for p, o, _ in m.records:
        first_seen[p].append(o)
    wrong_start = {p: (offs[0], committed.get(p, 0)) for p, offs in first_seen.items() if offs[0] != committed.get(p, 0)}
    assert not wrong_start, f"{{partition: (first offset read, committed offset)}} {wrong_start}"
    check_exactly_once(expected, [first_recs, m.records])


def _committed(c, tps):
    try:
        res = c.committed(tps, timeout=5)
    except Exception:  # noqa: BLE001 - coordinator moving / loading: retried within the bound
        return None
    if any(tp.error is not None for tp in res):
        return None
    return {tp.partition: tp.offset for tp in res}


def test_offsets_resume_after_consumer_restart(make_server):
    s = group_server(make_server)
    topic, group, P, N = "cg-resume", "g-resume", 3, 1500
    create_topic(s.bootstrap, topic, P)
    expected = produce(s.bootstrap, topic, N, P)
    first, committed = consume_half_and_commit(s.bootstrap, group, topic, N // 2, "first")
    assert sum(committed.values()) == N // 2
    resume_and_check(s.bootstrap, group, topic, P, expected, first, committed, "second")


def test_offsets_survive_coordinator_failover(cluster):
    extra = {**REPL_EXTRA, "offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0"}
    c = cluster(controllers=3, brokers=3, extra=extra)
    boot = bootstrap_of(c.brokers)
    topic, group, P, N = "cg-failover", "g-failover", 3, 1200
    create_topic(boot, topic, P, rf=3)
    wait_isr_full(c.brokers[0], topic, P, 3)
    expected = produce(boot, topic, N, P)
    fast = {"session.timeout.ms": 6000, "topic.metadata.refresh.interval.ms": 500}
    first, committed = consume_half_and_commit(boot, group, topic, N // 2, "first", conf=fast)

    # __consumer_offsets exists with RF 3 on every partition, all in sync.
    ps = wait_for("__consumer_offsets in the metadata", lambda: partitions(c.brokers[0].bootstrap, "__consumer_offsets"),
                  30)
    ps = wait_isr_full(c.brokers[0], "__consumer_offsets", len(ps), 3, timeout=30)

    err, coord, _, port = find_coordinator(c.brokers[0].bootstrap, group)
    assert err == 0, f"FindCoordinator error {err}"
    victim = next((b for b in c.brokers if b.node_id == coord), None)
    assert victim is not None and victim.port == port, f"coordinator {coord}:{port} is not one of the brokers"
    # The group's state is records in __consumer_offsets: the only partition
    # written to is the group's, led by its coordinator.
    by_id = {b.node_id: b for b in c.brokers}
    ends = {p: list_offset_latest(by_id[ps[p]["leader"]].bootstrap, "__consumer_offsets", p) for p in ps}
    written = {p: e for p, e in ends.items() if e != (0, 0)}
    assert len(written) == 1, f"__consumer_offsets partitions with records (error, end offset): {written}"
    assert ps[next(iter(written))]["leader"] == coord, (
        f"__consumer_offsets partition {written} is led by {ps[next(iter(written))]['leader']}, coordinator is {coord}")
    survivors = [b for b in c.brokers if b is not victim]
    victim.kill9()

    def moved():
        for b in survivors:
            e, node, _, _ = find_coordinator(b.bootstrap, group)
            if e != 0 or node == coord or node not in {x.node_id for x in survivors}:
                return None
        return node

    new = wait_for(f"group coordinator moved off killed broker {coord}", moved, 60, 0.2)
    assert new != coord
    resume_and_check(bootstrap_of(survivors), group, topic, P, expected, first, committed, "after-failover",
                     timeout=60, conf=fast)


def test_active_group_survives_coordinator_failover(cluster):
    """Two members consuming while their coordinator is killed (-9): they
    find the new coordinator and go on (at least once: records not yet
    committed may come again), the group keeps a split of every partition,
    and their commits reach the new coordinator."""
    extra = {**REPL_EXTRA, "offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0"}
    c = cluster(controllers=3, brokers=3, extra=extra)
    boot = bootstrap_of(c.brokers)
    topic, group, P, N = "cg-live", "g-live", 6, 600
    create_topic(boot, topic, P, rf=3)
    wait_isr_full(c.brokers[0], topic, P, 3)
    fast = {"session.timeout.ms": 6000, "topic.metadata.refresh.interval.ms": 500, "auto.commit.interval.ms": 200}
    members = [CKMember(boot, group, topic, f"live{i}", conf=fast).start() for i in range(2)]

    def seen():
        return {v for m in members for _, _, v in list(m.records)}

    with stopped_after(members):
        wait_split(members, P)
        before = produce(boot, topic, N, P, tag="before")
        wait_count("records processed before the failover", lambda: len(seen() & set(before)), N, 60)
        time.sleep(1.0)  # an auto commit or more
        err, coord, _, _ = find_coordinator(c.brokers[0].bootstrap, group)
        assert err == 0, f"FindCoordinator error {err}"
        victim = next(b for b in c.brokers if b.node_id == coord)
        survivors = [b for b in c.brokers if b is not victim]
        victim.kill9()

        def moved():
            e, node, _, _ = find_coordinator(survivors[0].bootstrap, group)
            return node if e == 0 and node != coord and node in {x.node_id for x in survivors} else None

        wait_for(f"group coordinator moved off killed broker {coord}", moved, 60, 0.2)
        after = produce(bootstrap_of(survivors), topic, N, P, tag="after")
        wait_count("records processed after the failover", lambda: len(seen() & set(after)), N, 60)
        wait_split(members, P, timeout=30)
        time.sleep(1.0)
    extra_seen = seen() - set(before) - set(after)
    assert not extra_seen, f"records never produced: {sorted(extra_seen)[:5]}"
    # Closing committed what they processed, at the new coordinator: the
    # group's committed offsets are every partition's end.
    got = committed_offsets(bootstrap_of(survivors), group, topic, P)
    assert got == {p: 2 * N // P for p in range(P)}, f"committed offsets after the failover: {got}"


# --------------------------------------------------------------------------- 5. static membership


def test_static_member_rejoins_without_rebalance(make_server):
    s = group_server(make_server)
    topic, group, P = "cg-static", "g-static", 6
    create_topic(s.bootstrap, topic, P)
    static_rejoin(s, topic, group, P)


def static_rejoin(s, topic, group, P):
    static = {"session.timeout.ms": 30000, "heartbeat.interval.ms": 500}
    a = CKMember(s.bootstrap, group, topic, "static-a", conf={**static, "group.instance.id": "inst-a"}).start()
    b = CKMember(s.bootstrap, group, topic, "static-b", conf={**static, "group.instance.id": "inst-b"}).start()
    b2 = None
    live = [a, b]
    with stopped_after(live):
        wait_split([a, b], P)
        # Let the group settle (a's rejoin after b joined is done).
        time.sleep(2.0)
        wait_split([a, b], P)
        a_assigns, a_revokes, a_set, b_set = len(a.assigns), len(a.revokes), set(a.assigned), set(b.assigned)
        # A static member's close() sends no LeaveGroup: the coordinator keeps
        # its partitions for it until session.timeout.ms.
        b.stop()
        b2 = CKMember(s.bootstrap, group, topic, "static-b2", conf={**static, "group.instance.id": "inst-b"}).start()
        live.append(b2)
        wait_for("restarted static member assigned", lambda: b2.assigns, 30, 0.05)
        time.sleep(4.0)  # several heartbeats of a: a rebalance would reach it now
        expected = produce(s.bootstrap, topic, 600, P, tag="st")
        wait_count("records processed after the rejoin", lambda: len(a.records) + len(b2.records), 600, 30)
        time.sleep(1.0)
        # Before the members stop: a stop revokes.
        a_revoked, a_assigned, a_now = a.revokes[a_revokes:], a.assigns[a_assigns:], set(a.assigned)
        b2_assigns = list(b2.assigns)
    assert b2_assigns[0] == b_set, f"restarted static member got {b2_assigns[0]}, had {b_set}"
    assert len(b2_assigns) == 1, f"restarted static member assigned more than once: {b2_assigns}"
    assert not a_revoked and not a_assigned and a_now == a_set, (
        f"the other member saw a rebalance: revocations {a_revoked}, assignments {a_assigned}")
    check_exactly_once(expected, [a.records, b2.records])


def test_static_member_gone_after_session_timeout(make_server):
    """A static member closed (no LeaveGroup) and not restarted keeps its
    partitions until session.timeout.ms passes; then the coordinator removes
    it and the other member gets every partition."""
    s = group_server(make_server)
    topic, group, P = "cg-static-to", "g-static-to", 6
    create_topic(s.bootstrap, topic, P)
    static = {"session.timeout.ms": 8000, "heartbeat.interval.ms": 500}
    a = CKMember(s.bootstrap, group, topic, "sto-a", conf={**static, "group.instance.id": "sto-a"}).start()
    b = CKMember(s.bootstrap, group, topic, "sto-b", conf={**static, "group.instance.id": "sto-b"}).start()
    with stopped_after([a, b]):
        wait_split([a, b], P)
        time.sleep(2.0)
        wait_split([a, b], P)
        a_set, n_revokes = set(a.assigned), len(a.revokes)
        b.stop()
        t_closed = time.time()
        # Well within the session timeout: nothing changes for a.
        time.sleep(4.0)
        quiet = (len(a.revokes) - n_revokes, set(a.assigned))
        wait_for("the other member assigned every partition after the session timeout",
                 lambda: a.assigned == set(range(P)), 30, 0.05)
        took = time.time() - t_closed
    assert quiet == (0, a_set), f"rebalance within the session timeout: (revocations, assignment) {quiet}, had {a_set}"
    assert took >= 6.0, f"the closed static member was removed after {took:.1f}s, session.timeout.ms is 8000"


# --------------------------------------------------------------------------- ListGroups / DescribeGroups / DeleteGroups


NON_EMPTY_GROUP = 68
OFFSET_INVALID = -1001


def delete_groups(bootstrap, groups, timeout=10):
    """DeleteGroups v1: {group: error}."""
    s = connect(bootstrap, timeout=timeout)
    try:
        request(s, 42, 1, struct.pack(">i", len(groups)) + b"".join(string(g) for g in groups))
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.i32()  # throttle
    out = {}
    for _ in range(r.i32()):
        g = r.take(r.i16()).decode()
        out[g] = r.i16()
    return out


def decode_assignment(blob):
    """ConsumerProtocol assignment bytes: {topic: sorted partitions}."""
    r = Reader(blob)
    r.i16()  # version
    out = {}
    for _ in range(r.i32()):
        t = r.take(r.i16()).decode()
        out[t] = sorted(r.i32() for _ in range(r.i32()))
    return out


def described(admin, group):
    """The group as ListGroups + DescribeGroups (AdminClient.list_groups) show
    it, or None."""
    try:
        gs = admin.list_groups(group, timeout=10)
    except Exception:  # noqa: BLE001 - KafkaException while the coordinator loads; bounded by the caller
        return None
    return next((g for g in gs if g.id == group), None)


def committed_offsets(bootstrap, group, topic, P):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **CK_BASE})
    with stopped_after([Closing(c.close, "committed() consumer close()")]):
        return wait_for("committed offsets", lambda: _committed(c, [TopicPartition(topic, p) for p in range(P)]), 30,
                        0.5)


def test_list_describe_and_delete_group(make_server):
    s = group_server(make_server)
    topic, group, P, N = "cg-admin", "g-admin", 6, 600
    create_topic(s.bootstrap, topic, P)
    admin = AdminClient({"bootstrap.servers": s.bootstrap})
    members = [CKMember(s.bootstrap, group, topic, f"adm{i}").start() for i in range(2)]
    with stopped_after(members):
        wait_split(members, P)
        produce(s.bootstrap, topic, N, P, tag="adm")
        wait_count("records processed", lambda: sum(len(m.records) for m in members), N, 60)
        want = sorted((m.name, {topic: sorted(m.assigned)}) for m in members)

        def stable():
            g = described(admin, group)
            if g is None or g.state != "Stable" or len(g.members) != 2:
                return None
            return g

        g = wait_for(f"{group} Stable with 2 members in ListGroups/DescribeGroups", stable, 30, 0.2)
        assert g.protocol_type == "consumer" and g.protocol in ("range", "roundrobin"), (g.protocol_type, g.protocol)
        got = sorted((mm.client_id, decode_assignment(mm.assignment)) for mm in g.members)
        assert got == want, f"DescribeGroups member assignments {got}, the clients have {want}"
        # A group with members cannot be deleted.
        assert delete_groups(s.bootstrap, [group]) == {group: NON_EMPTY_GROUP}
    # Both members left (LeaveGroup on close) and committed what they read.
    g = wait_for(f"{group} Empty after its members left",
                 lambda: (x := described(admin, group)) is not None and x.state == "Empty" and x, 30, 0.2)
    assert not g.members
    ends = collections.Counter(p for _, p in produce_map(N, P))
    assert committed_offsets(s.bootstrap, group, topic, P) == {p: ends[p] for p in range(P)}
    assert delete_groups(s.bootstrap, [group]) == {group: 0}

    def gone():
        g = described(admin, group)
        return g is None or g.error is not None or g.state == "Dead"

    wait_for(f"{group} gone from ListGroups / Dead in DescribeGroups", gone, 30, 0.2)
    assert committed_offsets(s.bootstrap, group, topic, P) == {p: OFFSET_INVALID for p in range(P)}, (
        "committed offsets still there after DeleteGroups")


def produce_map(n, num_partitions):
    return [(i, i % num_partitions) for i in range(n)]


# --------------------------------------------------------------------------- 6. idempotent producer


def test_idempotent_producer_no_duplicates(make_server):
    s = group_server(make_server)
    topic, P, N = "cg-idem", 3, 6000
    create_topic(s.bootstrap, topic, P)
    errors = []
    p = Producer({"bootstrap.servers": s.bootstrap, "enable.idempotence": True, "linger.ms": 2,
                  "max.in.flight.requests.per.connection": 5, "batch.num.messages": 100,
                  "error_cb": lambda e: errors.append(e)})
    sent = {q: [] for q in range(P)}
    acked = {q: [] for q in range(P)}

    def cb(err, msg):
        if err is not None:
            errors.append(err)
        else:
            acked[msg.partition()].append((msg.offset(), msg.value()))

    for i in range(N):
        v = b"idem-%06d" % i
        sent[i % P].append(v)
        p.produce(topic, value=v, partition=i % P, on_delivery=cb)
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(60) == 0, "idempotent producer: records not delivered within 60 s"
    assert not errors, f"idempotent producer errors: {errors[:3]}"
    got, hws = read_partitions(s.bootstrap, topic, P)
    for q in range(P):
        assert hws[q] == len(sent[q]), f"partition {q}: high watermark {hws[q]}, sent {len(sent[q])}"
        assert [v for _, v in got[q]] == sent[q], f"partition {q}: records not exactly the sent ones in order"
        assert sorted(acked[q]) == got[q], f"partition {q}: delivery reports do not match the log"


def test_idempotent_retried_batch_not_appended_twice(make_server):
    s = group_server(make_server)
    topic = "cg-idem-raw"
    create_topic(s.bootstrap, topic, 1)
    err, apis = api_versions(s.bootstrap)
    assert 22 in apis, f"InitProducerId not in ApiVersions: {sorted(apis)}"
    err, pid, epoch = init_producer_id(s.bootstrap)
    assert err == 0 and pid >= 0 and epoch >= 0, f"InitProducerId: error {err}, producer id {pid}, epoch {epoch}"

    first = idempotent_batch([b"a0", b"a1", b"a2"], pid, epoch, 0)
    e1, base1 = produce_raw(s.bootstrap, topic, 0, first)
    assert e1 == 0, f"first batch: error {e1}"
    # The same batch again (a producer retrying after a lost response): not
    # appended again; the original's offset comes back (or DUPLICATE_SEQUENCE_NUMBER).
    e2, base2 = produce_raw(s.bootstrap, topic, 0, first)
    assert e2 in (0, DUPLICATE_SEQUENCE_NUMBER), f"retried batch: error {e2}"
    if e2 == 0:
        assert base2 == base1, f"retried batch: base offset {base2}, the original's {base1}"
    assert list_offset_latest(s.bootstrap, topic, 0) == (0, base1 + 3), "retried batch appended twice"
    # The next sequence is appended after it.
    e3, base3 = produce_raw(s.bootstrap, topic, 0, idempotent_batch([b"b3", b"b4"], pid, epoch, 3))
    assert (e3, base3) == (0, base1 + 3), f"next batch: error {e3}, base offset {base3}"
    # A gap in the sequence is refused.
    e4, _ = produce_raw(s.bootstrap, topic, 0, idempotent_batch([b"gap"], pid, epoch, 9))
    assert e4 == OUT_OF_ORDER_SEQUENCE_NUMBER, f"sequence gap: error {e4}, wanted OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert list_offset_latest(s.bootstrap, topic, 0) == (0, base1 + 5)
    got, _ = read_partitions(s.bootstrap, topic, 1)
    assert [v for _, v in got[0]] == [b"a0", b"a1", b"a2", b"b3", b"b4"]
