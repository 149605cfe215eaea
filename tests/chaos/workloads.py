"""The chaos test's workloads, each a thread of librdkafka clients
(confluent-kafka) in the root namespace, talking to the brokers' own
addresses. Each records a history for its checker (checkers.py).
Every wait is bounded.
"""
import random
import struct
import threading
import time
from collections import Counter

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

QUIET = {"log_level": 0}  # librdkafka's connection-failure chatter under faults is expected

# chaos.py --client-debug: the producers' librdkafka debug logs (eos, topic,
# broker: not msg, whose volume slows the workloads) go to client-<name>.log in
# this directory (the run's).
CLIENT_LOG_DIR = None


def producer_log_conf(name):
    """QUIET, or with --client-debug, librdkafka's debug log of this client to a file."""
    if not CLIENT_LOG_DIR:
        return dict(QUIET)
    import logging
    import os
    logger = logging.getLogger(f"chaos.{os.path.basename(CLIENT_LOG_DIR)}.{name}")
    if not logger.handlers:
        h = logging.FileHandler(os.path.join(CLIENT_LOG_DIR, f"client-{name}.log"))
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(h)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
    return {"debug": "eos,topic,broker", "log_level": 7, "logger": logger}


def now():
    return time.monotonic()


def create_topics(bootstrap, topics, timeout=60):
    """topics: [(name, partitions, configs)], RF=3; retried until the deadline."""
    a = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    deadline = time.time() + timeout
    pending = list(topics)
    while pending:
        fs = a.create_topics([NewTopic(n, p, 3, config=c) for n, p, c in pending], operation_timeout=15,
                             request_timeout=20)
        left = []
        for (n, p, c) in pending:
            try:
                fs[n].result(25)
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    left.append((n, p, c))
                    if time.time() > deadline:
                        raise
        pending = left
        if pending:
            time.sleep(0.5)


def read_partitions(bootstrap, topic, partitions, isolation="read_uncommitted", timeout=60, keys=False):
    """{partition: [(offset, value)]} ([(offset, key, value)] with `keys`) up
    to the high watermark (last stable offset for read_committed) of each
    partition, read from the beginning."""
    deadline = time.time() + timeout
    ends = end_offsets(bootstrap, topic, partitions, deadline)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-reader-{random.random()}",
                  "enable.auto.commit": False, "isolation.level": isolation, "auto.offset.reset": "earliest",
                  **QUIET})
    try:
        out = {p: [] for p in partitions}
        c.assign([TopicPartition(topic, p, 0) for p in partitions])
        done = {p for p in partitions if ends[p] == 0}
        while len(done) < len(partitions) and time.time() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if m.error():
                    continue
                p = m.partition()
                out[p].append((m.offset(), m.key(), m.value()) if keys else (m.offset(), m.value()))
                if m.offset() >= ends[p] - 1:
                    done.add(p)
            # Control records (transaction markers) take offsets: the last data record may be below the end.
            for p in partitions:
                if p not in done:
                    pos = c.position([TopicPartition(topic, p)])[0].offset
                    if pos >= ends[p]:
                        done.add(p)
        if len(done) < len(partitions):
            raise RuntimeError(f"reading {topic}: partitions {sorted(set(partitions) - done)} not read to their end "
                               f"{ends} in {timeout}s")
        return out, ends
    finally:
        c.close()


def keep_fatal(e, fatal):
    """A fatal KafkaException goes to `fatal` (the instance ends); any other is raised again."""
    if not e.args[0].fatal():
        raise e
    fatal.append(e.args[0])


def end_offsets(bootstrap, topic, partitions, deadline):
    """{partition: high watermark}, asked until the deadline, by a new client
    after each failure: librdkafka takes a partition it saw without a leader
    (leader -1, as during an election) for a permanent _UNKNOWN_PARTITION and
    never asks the cluster again for that client's life (chaos seed 2010)."""
    while True:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-reader-{random.random()}", **QUIET})
        try:
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)[1] for p in partitions}
        except KafkaException:
            if time.time() > deadline:
                raise
        finally:
            c.close()
        time.sleep(0.5)


def decode_offset_commit(key, value):
    """A __consumer_offsets record as (group, topic, partition, offset) when it
    is an offset commit (key version 0 or 1, not a tombstone), else None."""
    if key is None or value is None or len(key) < 2 or struct.unpack(">h", key[:2])[0] not in (0, 1):
        return None
    i = 2
    fields = []
    for _ in range(2):
        n = struct.unpack(">h", key[i:i + 2])[0]
        fields.append(key[i + 2:i + 2 + n].decode())
        i += 2 + n
    partition = struct.unpack(">i", key[i:i + 4])[0]
    return fields[0], fields[1], partition, struct.unpack(">q", value[2:10])[0]


def read_group_commits(bootstrap, group, topic, timeout=60):
    """{partition: [committed offset, ...]}: the group's commits for `topic`
    in __consumer_offsets, in log order, up to each partition's high watermark."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chaos-reader-{random.random()}", **QUIET})
    try:
        parts = sorted(c.list_topics("__consumer_offsets", timeout=10).topics["__consumer_offsets"].partitions)
    finally:
        c.close()
    log, _ = read_partitions(bootstrap, "__consumer_offsets", parts, timeout=timeout, keys=True)
    out = {}
    for records in log.values():
        for _, key, value in records:
            commit = decode_offset_commit(key, value)
            if commit and commit[:2] == (group, topic):
                out.setdefault(commit[2], []).append(commit[3])
    return out


class ClientHang(Exception):
    """A client call that outlived its own timeout by CALL_GRACE_S."""


CALL_GRACE_S = 15


def bounded_call(fn, timeout, *args):
    """fn(*args) on a daemon thread, waited for at most `timeout` seconds
    (ClientHang after that; the call is abandoned). librdkafka 2.0.2's
    send_offsets_to_transaction ignores its timeout when FindCoordinator
    keeps failing (#5456): chaos seed 2303 waited 140 s in it."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
            out["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise ClientHang(f"{getattr(fn, '__name__', fn)} still running after {timeout:g} s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


class Workload(threading.Thread):
    def __init__(self, bootstrap, timeline, seed):
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.timeline = timeline
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            self.body()
        except Exception as e:  # noqa: BLE001 - reported by the runner
            self.error = e
            self.timeline(f"{self.name}: workload error {e!r}")


class IdempotentProducer(Workload):
    """acks=all, enable.idempotence on an RF=3 topic: values b"<instance>:<seq>",
    partition seq % partitions. A fatal producer error starts a new instance."""

    def __init__(self, bootstrap, timeline, seed, topic, partitions=3, rate=150):
        super().__init__(bootstrap, timeline, seed)
        self.name = f"producer[{topic}]"
        self.topic, self.partitions, self.rate = topic, partitions, rate
        self.acked = {}
        self.failed = {}
        self.sent = 0
        self.instances = 0
        self.fatal_errors = []  # each ended an instance; checkers.unexplained_fatal_errors judges them

    def body(self):
        inst = 0
        while not self.stopping.is_set():
            fatal = []
            p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all", "enable.idempotence": True,
                          "linger.ms": 5, "message.timeout.ms": 45000, "request.timeout.ms": 10000,
                          "error_cb": lambda e: fatal.append(e) if e.fatal() else None,
                          **producer_log_conf(self.topic)})
            self.instances += 1

            def cb(err, m):
                if err is None:
                    self.acked[m.value()] = (m.partition(), m.offset())
                else:
                    self.failed[m.value()] = str(err)
            seq = 0
            next_send = now()
            while not self.stopping.is_set() and not fatal:
                try:
                    p.produce(self.topic, value=b"%d:%d" % (inst, seq), partition=seq % self.partitions,
                              on_delivery=cb)
                    seq += 1
                    self.sent += 1
                except BufferError:
                    pass
                except KafkaException as e:
                    # A fatal error refuses every produce() from then on, and
                    # may be raised here before error_cb has run.
                    keep_fatal(e, fatal)
                    break
                # Paced by the clock: poll() returns at each event served (a
                # delivery report, a --client-debug log line), not after its timeout.
                next_send = max(next_send + 1.0 / self.rate, now() - 1.0)
                try:
                    while not self.stopping.is_set() and (left := next_send - now()) > 0:
                        p.poll(left)  # never negative: poll(-x) waits without end
                except KafkaException as e:  # poll() raises a fatal error too (seed 2510)
                    keep_fatal(e, fatal)
            try:
                left = p.flush(60)
            except KafkaException as e:
                keep_fatal(e, fatal)
                left = len(p)
            if fatal:
                self.fatal_errors.append(str(fatal[0]))
                self.timeline(f"{self.name}: instance {inst} fatal error {fatal[0]}; new instance")
            if left:
                self.timeline(f"{self.name}: instance {inst}: {left} records undelivered after flush(60)")
            inst += 1

    def summary(self):
        return f"sent {self.sent}, acked {len(self.acked)}, failed {len(self.failed)}, instances {self.instances}"


class MetadataChurn(Workload):
    """Creates topics chaos-meta-<n> (1 partition, RF 1-3) and deletes earlier ones."""

    def __init__(self, bootstrap, timeline, seed, interval=0.6):
        super().__init__(bootstrap, timeline, seed)
        self.name = "metadata"
        self.interval = interval
        self.created_ok, self.deleted_ok, self.delete_tried = set(), set(), set()
        self.ops = Counter()

    def body(self):
        a = AdminClient({"bootstrap.servers": self.bootstrap, **QUIET})
        n = 0
        while not self.stopping.wait(self.interval):
            live = sorted(self.created_ok - self.delete_tried)
            if live and self.rng.random() < 0.35:
                t = self.rng.choice(live)
                self.delete_tried.add(t)
                f = a.delete_topics([t], operation_timeout=10, request_timeout=15)[t]
                kind = "delete"
            else:
                t = f"chaos-meta-{n}"
                n += 1
                f = a.create_topics([NewTopic(t, 1, self.rng.choice([1, 2, 3]))], operation_timeout=10,
                                    request_timeout=15)[t]
                kind = "create"
            try:
                f.result(20)
                (self.deleted_ok if kind == "delete" else self.created_ok).add(t)
                self.ops[kind + " ok"] += 1
            except KafkaException as e:
                self.ops[f"{kind} {e.args[0].name()}"] += 1
            except Exception as e:  # noqa: BLE001 - a timeout of the future: outcome unknown
                self.ops[f"{kind} {type(e).__name__}"] += 1

    def summary(self):
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.ops.items()))


class GroupConsumers(Workload):
    """Two members of group `group` on `topic` (manual synchronous commits
    after processing) and a monitor that fetches the committed offsets."""

    def __init__(self, bootstrap, timeline, seed, topic, partitions=3, group="chaos-g", members=2):
        super().__init__(bootstrap, timeline, seed)
        self.name = f"group[{group}]"
        self.topic, self.partitions, self.group, self.members = topic, partitions, group, members
        self.consumed = set()
        self.acked_commits = []
        self.observations = []
        self.t0 = now()
        self.lock = threading.Lock()
        self.commit_errors = Counter()

    def conf(self):
        return {"bootstrap.servers": self.bootstrap, "group.id": self.group, "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                "max.poll.interval.ms": 60000, **QUIET}

    def member(self, k):
        c = Consumer({**self.conf(), "client.id": f"chaos-member-{k}"})
        c.subscribe([self.topic])
        try:
            last_commit = now()
            pending = False
            while not self.stopping.is_set():
                for m in c.consume(500, timeout=0.3):
                    if m.error():
                        continue
                    with self.lock:
                        self.consumed.add((m.partition(), m.offset()))
                    pending = True
                if pending and now() - last_commit > 0.5:
                    self.commit(c)
                    pending, last_commit = False, now()
            self.commit(c)
        finally:
            c.close()

    def commit(self, c):
        try:
            res = c.commit(asynchronous=False)
            t = now() - self.t0
            with self.lock:
                for tp in res or []:
                    if tp.error is None and tp.offset >= 0:
                        self.acked_commits.append((t, tp.partition, tp.offset))
        except KafkaException as e:
            self.commit_errors[e.args[0].name()] += 1

    def monitor(self):
        c = Consumer({**self.conf(), "client.id": "chaos-monitor"})
        try:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            while not self.stopping.wait(0.4):
                t = now() - self.t0
                try:
                    res = c.committed(tps, timeout=5)
                except KafkaException:
                    continue
                for tp in res:
                    if tp.error is None:
                        self.observations.append((t, tp.partition, tp.offset))
        finally:
            c.close()

    def body(self):
        threads = [threading.Thread(target=self.member, args=(k,), daemon=True) for k in range(self.members)]
        threads.append(threading.Thread(target=self.monitor, daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def final_committed(self, timeout=30):
        c = Consumer({**self.conf(), "client.id": "chaos-final"})
        try:
            res = c.committed([TopicPartition(self.topic, p) for p in range(self.partitions)], timeout=timeout)
            return {tp.partition: tp.offset for tp in res}
        finally:
            c.close()

    def summary(self):
        return (f"consumed {len(self.consumed)}, commits acked {len(self.acked_commits)}, "
                f"observations {len(self.observations)}, commit errors {dict(self.commit_errors)}")


class TxnProcessor(Workload):
    """Read-process-write: consumes `src` (read_committed, group `group`),
    writes b"<txn>|<input>" to `dst` and the consumed offsets in one
    transaction; about 15% of the transactions are aborted on purpose. After
    an abort or an unknown outcome the consumer goes back to the committed
    offsets."""

    def __init__(self, bootstrap, timeline, seed, src, dst, partitions=3, group="chaos-txn-g",
                 txn_id="chaos-txn-1"):
        super().__init__(bootstrap, timeline, seed)
        self.name = "txn"
        self.src, self.dst, self.partitions, self.group, self.txn_id = src, dst, partitions, group, txn_id
        self.txns = []
        self.outcomes = Counter()
        self.expected = {}  # partition -> the next input offset this processor should see
        self.gaps = 0
        self.call_timeout = 30  # seconds, every client call's own timeout
        self.abandoned = []  # clients left inside a hung call: never closed (that could hang too), kept referenced

    def producer(self):
        while True:
            p = Producer({"bootstrap.servers": self.bootstrap, "transactional.id": self.txn_id,
                          "transaction.timeout.ms": 30000, "message.timeout.ms": 30000, "linger.ms": 5,
                          **producer_log_conf(self.txn_id)})
            try:
                p.init_transactions(self.call_timeout)
                return p
            except KafkaException as e:
                self.outcomes[f"init {e.args[0].name()}"] += 1
                if self.stopping.is_set():
                    raise
                time.sleep(1)

    def consumer(self):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                      "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, **QUIET})
        c.subscribe([self.src])
        return c

    def rewind(self, c, why):
        """Back to the group's committed offsets, which must succeed: a failed
        rewind would skip the batch. Retried for 30 s, then a new consumer
        (which starts from the committed offsets)."""
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                assignment = c.assignment()
                if not assignment:
                    return c  # a new assignment starts from the committed offsets
                committed = c.committed(assignment, timeout=10)
                if any(tp.error is not None for tp in committed):
                    raise KafkaException(next(tp.error for tp in committed if tp.error is not None))
                for tp in committed:
                    c.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))
                    self.expected[tp.partition] = max(tp.offset, 0)
                return c
            except KafkaException as e:
                self.outcomes[f"rewind error {e.args[0].name() if e.args else e}"] += 1
                time.sleep(0.5)
        self.timeline(f"{self.name}: rewind after {why} failed for 30 s: new consumer")
        c.close()
        return self.consumer()

    def body(self):
        c = self.consumer()
        p = self.producer()
        n = 0
        try:
            while not self.stopping.is_set():
                msgs = [m for m in c.consume(10, timeout=0.5) if not m.error()]
                if not msgs:
                    continue
                n += 1
                for m in msgs:  # the input has no transactions: its offsets are contiguous
                    want = self.expected.get(m.partition())
                    if want is not None and m.offset() != want and self.gaps < 20:
                        self.gaps += 1
                        self.timeline(f"{self.name}: txn {n}: input p{m.partition()} at {m.offset()}, expected {want}")
                    self.expected[m.partition()] = m.offset() + 1
                txn = {"id": n, "status": "unknown", "values": []}
                self.txns.append(txn)
                try:
                    p.begin_transaction()
                    for m in msgs:
                        v = b"%d|%s" % (n, m.value())
                        txn["values"].append(v)
                        p.produce(self.dst, value=v, partition=m.partition())
                    if self.rng.random() < 0.15:
                        p.abort_transaction(self.call_timeout)
                        txn["status"] = "aborted"
                        self.outcomes["aborted on purpose"] += 1
                        c = self.rewind(c, "abort")
                        continue
                    limit = self.call_timeout + CALL_GRACE_S
                    bounded_call(p.send_offsets_to_transaction, limit, c.position(c.assignment()),
                                 c.consumer_group_metadata(), self.call_timeout)
                    bounded_call(p.commit_transaction, limit, self.call_timeout)
                    txn["status"] = "committed"
                    self.outcomes["committed"] += 1
                except ClientHang as e:
                    # Outcome unknown; a new producer's init_transactions fences
                    # the old one and aborts its transaction, and a new consumer
                    # rejoins (the old one cannot: its thread is the hung call's).
                    self.outcomes["client hang (librdkafka #5456)"] += 1
                    self.timeline(f"{self.name}: txn {n}: {e}: new producer and consumer")
                    self.abandoned.append((p, c))
                    p = self.producer()
                    c = self.consumer()
                    self.expected.clear()
                except KafkaException as e:
                    err = e.args[0]
                    self.outcomes[f"error {err.name()}"] += 1
                    self.timeline(f"{self.name}: txn {n} ({txn['status']}, {len(msgs)} inputs from "
                                  f"{msgs[0].partition()}@{msgs[0].offset()}): {err.name()} "
                                  f"(abortable {err.txn_requires_abort()}, fatal {err.fatal()}, "
                                  f"retriable {err.retriable()})")
                    if err.txn_requires_abort():
                        try:
                            p.abort_transaction(self.call_timeout)
                            txn["status"] = "aborted"
                        except KafkaException:
                            pass
                    if err.fatal() or txn["status"] == "unknown" or err.code() == KafkaError._TIMED_OUT:
                        # Outcome unknown: a new producer (init_transactions fences and
                        # completes or aborts the old one's transaction). After a
                        # timeout too: librdkafka 2.0.2 can leave a partition on a
                        # broker that is not its leader for the client's life, when a
                        # stale Metadata answer (a broker cut off from the controllers)
                        # crossed a fresh one (rdkafka_topic.c, "not migrating away from
                        # preferred replica"; #4976): chaos seed 2011 lost 90 s to it.
                        try:
                            p.flush(5)
                        except Exception:  # noqa: BLE001
                            pass
                        p = self.producer()
                    c = self.rewind(c, err.name())
                    self.timeline(f"{self.name}: txn {n} ended {txn['status']}, consumer rewound")
                time.sleep(0.05)
        finally:
            c.close()

    def summary(self):
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))

