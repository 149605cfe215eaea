"""Transactions (KIP-98) with real clients against real `flotilla` processes:
* a transactional producer's committed records are seen by read_committed
  consumers, its aborted ones are not (they are in the log: read_uncommitted
  consumers see them); an open transaction holds read_committed consumers at
  its first offset (the last stable offset);
* sendOffsetsToTransaction: the group's offsets move only when the
  transaction commits;
* a second producer with the same transactional.id fences the first;
  transaction.timeout.ms aborts a transaction left open;
* DescribeTransactions, ListTransactions and DescribeProducers answer with
  the coordinator's and the partition leader's state;
* exactly-once read-process-write: a consume-transform-produce loop survives
  a kill -9 of a broker (the transaction coordinator's) with every input
  record in the output exactly once.
Every wait is bounded; only processes started here are stopped, by PID.
"""
import json
import os
import shutil
import struct
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import run_tool
from kafka_wire import Reader, connect, request, response, uvarint
from replication_util import REPL_EXTRA, bootstrap_of, partitions, wait_for, wait_isr_full

TXN_EXTRA = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
}


# --------------------------------------------------------------------------- helpers

def create_topic(bootstrap, topic, num_partitions, rf=1):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(topic, num_partitions=num_partitions, replication_factor=rf)],
                    operation_timeout=30, request_timeout=40)[topic].result(45)


def txn_producer(bootstrap, txn_id, **conf):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5,
                  "socket.connection.setup.timeout.ms": 3000, "reconnect.backoff.max.ms": 500, **conf})
    p.init_transactions(30)
    return p


def read_values(bootstrap, topic, isolation, expect_at_least=0, timeout=20, settle=1.0, group=None):
    """Every value of the topic from the beginning, as a consumer with
    `isolation.level` sees it: reads until `expect_at_least` values came and
    then nothing new for `settle` seconds (or the timeout)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group or f"reader-{time.monotonic_ns()}",
                  "isolation.level": isolation, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "enable.partition.eof": False})
    c.subscribe([topic])
    out = []
    deadline = time.time() + timeout
    last_new = time.time()
    try:
        while time.time() < deadline:
            for m in c.consume(500, 0.2):
                if m.error():
                    continue
                out.append(m.value().decode())
                last_new = time.time()
            if len(out) >= expect_at_least and time.time() - last_new >= settle:
                break
    finally:
        c.close()
    return out


def flexible(api_key, body, bootstrap, version=0):
    """One flexible-version request; the response body after its header."""
    with connect(bootstrap) as s:
        request(s, api_key, version, body, flexible_header=True)
        r = Reader(response(s))
    r.i32()  # correlation id
    r.tags()
    return r


def cstr(v):
    b = v.encode()
    return uvarint(len(b) + 1) + b


def describe_transactions(bootstrap, txn_ids):
    r = flexible(65, uvarint(len(txn_ids) + 1) + b"".join(cstr(t) for t in txn_ids) + b"\x00", bootstrap)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        err, tid, state = r.i16(), r.compact_string(), r.compact_string()
        timeout, start, pid, epoch = r.i32(), r.i64(), r.i64(), r.i16()
        topics = {}
        for _ in range(r.uvarint() - 1):
            name = r.compact_string()
            topics[name] = [r.i32() for _ in range(r.uvarint() - 1)]
            r.tags()
        r.tags()
        out[tid] = dict(error=err, state=state, timeout=timeout, start=start, pid=pid, epoch=epoch, topics=topics)
    return out


def list_transactions(bootstrap, states=()):
    body = uvarint(len(states) + 1) + b"".join(cstr(s) for s in states) + uvarint(1) + b"\x00"
    r = flexible(66, body, bootstrap)
    r.i32()
    err = r.i16()
    unknown = [r.compact_string() for _ in range(r.uvarint() - 1)]
    txns = {}
    for _ in range(r.uvarint() - 1):
        tid, pid, state = r.compact_string(), r.i64(), r.compact_string()
        r.tags()
        txns[tid] = (pid, state)
    return err, unknown, txns


def describe_producers(bootstrap, topic, partition):
    body = uvarint(2) + cstr(topic) + uvarint(2) + struct.pack(">i", partition) + b"\x00" + b"\x00"
    r = flexible(61, body, bootstrap)
    r.i32()
    out = []
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            _, err = r.i32(), r.i16()
            r.compact_string()
            for _ in range(r.uvarint() - 1):
                out.append(dict(pid=r.i64(), epoch=r.i32(), last_seq=r.i32(), last_ts=r.i64(), coordinator_epoch=r.i32(),
                                txn_start=r.i64()))
                r.tags()
            r.tags()
            assert err == 0, f"DescribeProducers error {err}"
        r.tags()
    return out


def find_txn_coordinator(bootstrap, txn_id):
    """FindCoordinator v1, key type 1: (error, node id)."""
    from kafka_wire import string
    with connect(bootstrap) as s:
        request(s, 10, 1, string(txn_id) + b"\x01")
        r = Reader(response(s))
    r.i32()
    r.i32()
    err = r.i16()
    r.take(max(0, struct.unpack(">h", r.take(2))[0]))  # error message (nullable string)
    return err, r.i32()


# --------------------------------------------------------------------------- single node

@pytest.fixture
def txn_server(make_server):
    return make_server(dict(TXN_EXTRA))


def test_commit_visible_abort_skipped(txn_server):
    boot = txn_server.bootstrap
    create_topic(boot, "tx-basic", 2)
    p = txn_producer(boot, "tx-basic-1")
    p.begin_transaction()
    for i in range(10):
        p.produce("tx-basic", f"c1-{i}".encode(), partition=i % 2)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(7):
        p.produce("tx-basic", f"ab-{i}".encode(), partition=i % 2)
    p.flush(10)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(5):
        p.produce("tx-basic", f"c2-{i}".encode(), partition=i % 2)
    p.commit_transaction(30)

    committed = read_values(boot, "tx-basic", "read_committed", expect_at_least=15)
    assert sorted(committed) == sorted([f"c1-{i}" for i in range(10)] + [f"c2-{i}" for i in range(5)])
    everything = read_values(boot, "tx-basic", "read_uncommitted", expect_at_least=22)
    assert sorted(everything) == sorted([f"c1-{i}" for i in range(10)] + [f"ab-{i}" for i in range(7)] +
                                        [f"c2-{i}" for i in range(5)])
    # The coordinator's view of the finished transaction.
    d = describe_transactions(boot, ["tx-basic-1", "no-such-txn"])
    assert d["tx-basic-1"]["error"] == 0 and d["tx-basic-1"]["state"] == "CompleteCommit", d
    assert d["no-such-txn"]["error"] == 105, d  # TRANSACTIONAL_ID_NOT_FOUND
    # The leader's producer state: the producer, with no transaction open.
    prods = describe_producers(boot, "tx-basic", 0)
    assert any(x["pid"] == d["tx-basic-1"]["pid"] and x["txn_start"] == -1 for x in prods), prods


def test_open_transaction_holds_read_committed(txn_server):
    boot = txn_server.bootstrap
    create_topic(boot, "tx-lso", 1)
    plain = Producer({"bootstrap.servers": boot})
    for i in range(3):
        plain.produce("tx-lso", f"before-{i}".encode(), partition=0)
    plain.flush(10)
    p = txn_producer(boot, "tx-lso-1")
    p.begin_transaction()
    for i in range(4):
        p.produce("tx-lso", f"open-{i}".encode(), partition=0)
    p.flush(10)
    # Non-transactional records after the open transaction: held back too (they are past the LSO).
    for i in range(2):
        plain.produce("tx-lso", f"after-{i}".encode(), partition=0)
    plain.flush(10)

    seen = read_values(boot, "tx-lso", "read_committed", expect_at_least=3, timeout=8, settle=2.0)
    assert sorted(seen) == [f"before-{i}" for i in range(3)]
    assert len(read_values(boot, "tx-lso", "read_uncommitted", expect_at_least=9)) == 9
    _, _, txns = list_transactions(boot, ["Ongoing"])
    assert txns.get("tx-lso-1", (None, None))[1] == "Ongoing", txns
    prods = describe_producers(boot, "tx-lso", 0)
    assert any(x["txn_start"] == 3 for x in prods), prods  # the open transaction's first offset
    # The operator's view (kafka-transactions.sh): the open transaction on its coordinator and its partition's leader.
    listed = run_tool("transactions", "--bootstrap-server", boot, "list").stdout.splitlines()
    assert listed[0].split() == ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], listed
    assert any(l.split()[0] == "tx-lso-1" and l.split()[3] == "Ongoing" for l in listed[1:]), listed
    described = run_tool("transactions", "--bootstrap-server", boot, "describe", "--transactional-id", "tx-lso-1").stdout.splitlines()
    assert described[0].split()[:5] == ["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState"], described
    row = described[1].split()
    assert row[1] == "tx-lso-1" and row[4] == "Ongoing" and row[-1] == "tx-lso-0", described
    producers = run_tool("transactions", "--bootstrap-server", boot, "describe-producers", "--topic", "tx-lso",
                         "--partition", "0").stdout.splitlines()
    assert producers[0].split()[-1] == "CurrentTransactionStartOffset", producers
    assert any(l.split()[-1] == "3" for l in producers[1:]), producers
    p.commit_transaction(30)
    seen = read_values(boot, "tx-lso", "read_committed", expect_at_least=9)
    assert sorted(seen) == sorted([f"before-{i}" for i in range(3)] + [f"open-{i}" for i in range(4)] +
                                  [f"after-{i}" for i in range(2)])


def test_offsets_commit_with_the_transaction(txn_server):
    boot = txn_server.bootstrap
    create_topic(boot, "tx-in", 1)
    create_topic(boot, "tx-out", 1)
    plain = Producer({"bootstrap.servers": boot})
    for i in range(20):
        plain.produce("tx-in", f"in-{i}".encode(), partition=0)
    plain.flush(10)
    group = "tx-offsets"
    c = Consumer({"bootstrap.servers": boot, "group.id": group, "isolation.level": "read_committed",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe(["tx-in"])
    got = []
    deadline = time.time() + 20
    while len(got) < 20 and time.time() < deadline:
        got += [m for m in c.consume(20, 0.5) if not m.error()]
    assert len(got) == 20
    p = txn_producer(boot, "tx-offsets-1")

    def process(msgs, commit):
        p.begin_transaction()
        for m in msgs:
            p.produce("tx-out", b"out-" + m.value(), partition=0)
        offs = [TopicPartition("tx-in", 0, msgs[-1].offset() + 1)]
        p.send_offsets_to_transaction(offs, c.consumer_group_metadata(), 30)
        if commit:
            p.commit_transaction(30)
        else:
            p.flush(10)
            p.abort_transaction(30)

    process(got[:10], commit=True)
    assert c.committed([TopicPartition("tx-in", 0)], 10)[0].offset == 10
    process(got[10:], commit=False)  # aborted: the group's offset stays
    assert c.committed([TopicPartition("tx-in", 0)], 10)[0].offset == 10
    c.close()
    out = read_values(boot, "tx-out", "read_committed", expect_at_least=10)
    assert sorted(out) == sorted(f"out-in-{i}" for i in range(10))


def test_new_producer_fences_old_and_timeout_aborts(txn_server):
    boot = txn_server.bootstrap
    create_topic(boot, "tx-fence", 1)
    old = txn_producer(boot, "tx-fence-1")
    old.begin_transaction()
    old.produce("tx-fence", b"zombie", partition=0)
    old.flush(10)
    new = txn_producer(boot, "tx-fence-1")  # aborts the old one's transaction, bumps the epoch
    with pytest.raises(KafkaException) as e:  # the zombie's transaction is still open on its side
        old.produce("tx-fence", b"zombie-2", partition=0)
        old.commit_transaction(10)
    assert e.value.args[0].fatal() or e.value.args[0].code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                                                  KafkaError.INVALID_PRODUCER_EPOCH), e.value
    new.begin_transaction()
    new.produce("tx-fence", b"fresh", partition=0)
    new.commit_transaction(30)
    assert read_values(boot, "tx-fence", "read_committed", expect_at_least=1) == ["fresh"]

    # A transaction left open past transaction.timeout.ms is aborted by the coordinator.
    slow = txn_producer(boot, "tx-timeout-1", **{"transaction.timeout.ms": 2000})
    slow.begin_transaction()
    slow.produce("tx-fence", b"abandoned", partition=0)
    slow.flush(10)
    wait_for("the coordinator aborts the timed-out transaction",
             lambda: describe_transactions(boot, ["tx-timeout-1"])["tx-timeout-1"]["state"] == "CompleteAbort", 15)
    # The LSO moved past it: a later committed record is readable, the abandoned one is not.
    new.begin_transaction()
    new.produce("tx-fence", b"later", partition=0)
    new.commit_transaction(30)
    assert sorted(read_values(boot, "tx-fence", "read_committed", expect_at_least=2)) == ["fresh", "later"]


JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "kafkajs")),
                    reason="node or kafkajs not installed (make deps installs kafkajs with npm)")
def test_kafkajs_transactions(txn_server):
    out = subprocess.run(["node", os.path.join(JS, "transactions.js"), txn_server.bootstrap, "kjs-txn"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"ok": True, "values": ["c0", "c1", "c2"]}
    # The aborted records are in the log all the same.
    assert sorted(read_values(txn_server.bootstrap, "kjs-txn", "read_uncommitted", expect_at_least=6)) == \
        ["a0", "a1", "a2", "c0", "c1", "c2"]


# --------------------------------------------------------------------------- exactly once, with kill -9

EOS_EXTRA = {**REPL_EXTRA, "offsets.topic.replication.factor": "3", "transaction.state.log.replication.factor": "3",
             "transaction.state.log.min.isr": "2", "group.initial.rebalance.delay.ms": "0",
             "offsets.topic.num.partitions": "5", "transaction.state.log.num.partitions": "5"}


class EosProcessor:
    """A consume-transform-produce loop (read_committed consumer, one
    transaction per batch with the consumed offsets in it), as a Kafka
    Streams-like application writes it: on an abortable error the
    transaction is aborted and the consumer rewinds to the committed
    offsets; on a fatal one (fenced) the producer is recreated."""

    def __init__(self, bootstrap, src, dst, group, txn_id):
        self.boot, self.src, self.dst, self.group, self.txn_id = bootstrap, src, dst, group, txn_id
        self.processed = 0  # input records in committed transactions
        self.aborts = 0
        self.errors = []
        self.seen_errors = []  # the first few client errors, for failure messages
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _producer(self):
        return txn_producer(self.boot, self.txn_id, **{"transaction.timeout.ms": 30000, "message.timeout.ms": 25000})

    def _rewind(self, c):
        parts = c.assignment()
        if not parts:
            return
        for tp in c.committed(parts, 30):
            c.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))

    def _run(self):
        c = Consumer({"bootstrap.servers": self.boot, "group.id": self.group, "isolation.level": "read_committed",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 10000,
                      "heartbeat.interval.ms": 500, "socket.connection.setup.timeout.ms": 3000,
                      "reconnect.backoff.max.ms": 500, "topic.metadata.refresh.interval.ms": 1000})
        c.subscribe([self.src])
        p = None
        try:
            while not self.stop_flag.is_set():
                try:
                    if p is None:
                        p = self._producer()
                        self._rewind(c)
                    msgs = [m for m in c.consume(50, 0.5) if not m.error()]
                    if not msgs:
                        continue
                    p.begin_transaction()
                    for m in msgs:
                        p.produce(self.dst, b"out-" + m.value(), partition=m.partition())
                    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
                    p.commit_transaction(30)
                    self.processed += len(msgs)
                    time.sleep(0.02)  # "processing": keeps the stream running while the broker is killed
                except KafkaException as e:
                    err = e.args[0]
                    if len(self.seen_errors) < 5:
                        self.seen_errors.append(str(err))
                    time.sleep(0.05)
                    if err.txn_requires_abort():
                        self.aborts += 1
                        try:
                            p.abort_transaction(30)
                        except KafkaException:
                            p = None
                        self._rewind(c)
                    elif err.retriable():
                        # commit_transaction timed out but may be retried; simplest safe path: abort and rewind.
                        try:
                            p.abort_transaction(30)
                        except KafkaException:
                            p = None
                        self._rewind(c)
                    else:
                        p = None  # fatal (fenced): a new producer fences the old epoch
                        self.aborts += 1
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.errors.append(repr(e))
        finally:
            closer = threading.Thread(target=c.close, daemon=True)
            closer.start()
            closer.join(10)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        self.thread.join(60)


def group_committed(bootstrap, group, topic, num_partitions):
    """The sum of the group's committed offsets on the topic (asked without joining the group)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(num_partitions)], 10)
        return sum(max(tp.offset, 0) for tp in got)
    except KafkaException:
        return 0
    finally:
        c.close()


def victim_id(c, role):
    """The broker that is the transaction coordinator of "eos-txn", the group
    coordinator of "eos-group", or the leader of eos-out-0."""
    via = c.brokers[0].bootstrap
    if role == "txn-coordinator":
        return wait_for("the transaction coordinator",
                        lambda: (lambda r: r[1] if r[0] == 0 else None)(find_txn_coordinator(via, "eos-txn")), 20)
    if role == "group-coordinator":
        from test_consumer_groups import find_coordinator
        return wait_for("the group coordinator", lambda: (lambda r: r[1] if r[0] == 0 else None)(find_coordinator(via, "eos-group")), 20)
    return wait_for("the leader of eos-out-0", lambda: partitions(via, "eos-out").get(0, {}).get("leader", -1) >= 0 and
                    partitions(via, "eos-out")[0]["leader"], 20)


@pytest.mark.parametrize("victim_role", ["txn-coordinator", "group-coordinator", "output-leader"])
def test_exactly_once_survives_kill9(cluster, victim_role):
    c = cluster(controllers=3, brokers=3, extra=EOS_EXTRA)
    boot = bootstrap_of(c.brokers)
    P, N = 3, 6000
    create_topic(boot, "eos-in", P, rf=3)
    create_topic(boot, "eos-out", P, rf=3)
    wait_isr_full(c.brokers[0], "eos-in", P, 3)
    wait_isr_full(c.brokers[0], "eos-out", P, 3)
    plain = Producer({"bootstrap.servers": boot, "acks": "all", "enable.idempotence": True})
    for i in range(N):
        plain.produce("eos-in", f"in-{i}".encode(), partition=i % P)
    assert plain.flush(30) == 0

    proc = EosProcessor(boot, "eos-in", "eos-out", "eos-group", "eos-txn").start()
    try:
        wait_for("a third of the input processed", lambda: proc.processed >= N // 3 or proc.errors, 60)
        assert not proc.errors, proc.errors
        # Kill one broker mid-stream (-9), then bring it back.
        coord = victim_id(c, victim_role)
        victim = next(b for b in c.brokers if b.node_id == coord)
        at_kill = proc.processed
        victim.kill9()
        time.sleep(3)
        victim.restart()
        victim.wait_ready(timeout=30)
        wait_for("the group's committed offsets at the end of the input",
                 lambda: group_committed(boot, "eos-group", "eos-in", P) >= N or proc.errors, 120, 0.5)
        assert not proc.errors, proc.errors
    finally:
        proc.stop()
    assert at_kill < N, "the kill came after the stream was done"
    print(f"EOS: killed broker {coord} ({victim_role}) at {at_kill}/{N} processed; {proc.aborts} aborted transactions; "
          f"client errors seen: {proc.seen_errors}")
    out = read_values(boot, "eos-out", "read_committed", expect_at_least=N, timeout=60, settle=2.0)
    dups = len(out) - len(set(out))
    missing = {f"out-in-{i}" for i in range(N)} - set(out)
    assert dups == 0 and not missing, f"{dups} duplicates, {len(missing)} missing, {proc.aborts} aborted transactions"
