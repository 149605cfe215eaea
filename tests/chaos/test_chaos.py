"""The chaos test in `make test`: the checkers on synthetic histories (each
must catch the violation planted in it), the schedule's determinism, and a
few short seeded chaos runs (FLOTILLA_CHAOS_SEEDS, default "1,2";
FLOTILLA_CHAOS_DURATION seconds of faults each, default 20). `make chaos`
runs the long randomized ones (chaos.py)."""
import os
import shutil
import subprocess

import pytest

import chaos
import checkers


def wait_until(pred, seconds=5.0):
    """Polls pred every 10 ms for at most `seconds`; returns its last value."""
    import time
    deadline = time.monotonic() + seconds
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.01)
    return pred()

# ---------------------------------------------------------------------------- idempotent producer


def idem_log():
    # instance 0 wrote seq 0..5 round-robin over 2 partitions.
    return {0: [(0, b"0:0"), (1, b"0:2"), (2, b"0:4")], 1: [(0, b"0:1"), (1, b"0:3"), (2, b"0:5")]}


def idem_acked():
    return {b"0:%d" % s: (s % 2, s // 2) for s in range(6)}


def test_idempotent_checker_accepts_a_correct_history():
    assert checkers.check_idempotent_producer(idem_acked(), idem_log()) == []


def test_idempotent_checker_catches_a_lost_record():
    log = idem_log()
    del log[1][2]
    v = checkers.check_idempotent_producer(idem_acked(), log)
    assert any("lost 1 acknowledged" in x and "0:5" in x for x in v), v


def test_idempotent_checker_catches_a_duplicate():
    log = idem_log()
    log[0].append((3, b"0:4"))
    v = checkers.check_idempotent_producer(idem_acked(), log)
    assert any("duplicated" in x and "0:4 x2" in x for x in v), v


def test_idempotent_checker_catches_reordering():
    log = {0: [(0, b"0:0"), (1, b"0:4"), (2, b"0:2")], 1: idem_log()[1]}
    acked = {b"0:0": (0, 0), b"0:2": (0, 2), b"0:4": (0, 1), b"0:1": (1, 0), b"0:3": (1, 1), b"0:5": (1, 2)}
    v = checkers.check_idempotent_producer(acked, log)
    assert any("out of send order" in x for x in v), v


def test_idempotent_checker_catches_an_ack_at_the_wrong_offset():
    acked = idem_acked()
    acked[b"0:2"] = (0, 7)
    v = checkers.check_idempotent_producer(acked, idem_log())
    assert any("not at their acked offset" in x for x in v), v


# Chaos seed 2004, word for word: librdkafka 2.0.2's bug #4438 (see checkers.librdkafka_desync_bug).
SEED_2004_FATAL = (
    'KafkaError{FATAL,code=OUT_OF_ORDER_SEQUENCE_NUMBER,val=45,str="ProduceRequest for chaos-idem [2] with 174 '
    'message(s) failed due to sequence desynchronization with broker 101 (PID{Id:0,Epoch:0}, base seq 1786, idemp '
    'state change 25329ms ago, last partition error NOT_ENOUGH_REPLICAS (actions Retry,MsgNotPersisted, base seq '
    '1785..1785, base msgid 1786, 107ms ago)"}')


SEED_2510_FATAL = (
    'KafkaError{FATAL,code=OUT_OF_ORDER_SEQUENCE_NUMBER,val=45,str="ProduceRequest for chaos-idem [2] with 1 message(s) '
    'failed with rewound sequence number on broker 101 (PID{Id:0,Epoch:0}, base seq 1823 < next seq 1826): last error '
    'NOT_ENOUGH_REPLICAS (actions Retry,MsgNotPersisted, base seq 1822..1822, base msgid 1823, 0ms ago)"}')


def test_only_librdkafkas_own_desync_bug_explains_a_fatal_producer_error():
    assert checkers.unexplained_fatal_errors([SEED_2004_FATAL, SEED_2510_FATAL], "2.0.2") == []
    # Fixed in 2.3.0: there it would be the broker's doing.
    assert checkers.unexplained_fatal_errors([SEED_2004_FATAL], "2.3.0") == [SEED_2004_FATAL]
    other = ('KafkaError{FATAL,code=UNKNOWN_PRODUCER_ID,val=59,str="ProduceRequest for chaos-idem [0] with 3 message(s) '
             'failed due to unknown producer id (broker 101 PID{Id:0,Epoch:0}, base seq 7, 1 retries): unable to retry '
             'without risking duplication/reordering"}')
    assert checkers.unexplained_fatal_errors([other, SEED_2004_FATAL], "2.0.2") == [other]


class FakeProducer:
    """produce() raises a fatal KafkaException on the first instance's third
    record (as confluent-kafka does once the client is fatally failed, possibly
    before error_cb ran); later instances work."""
    instances = 0

    def __init__(self, conf):
        FakeProducer.instances += 1
        self.n = FakeProducer.instances
        self.count = 0
        self.pending = []

    def produce(self, topic, value, partition, on_delivery):
        from confluent_kafka import KafkaError, KafkaException
        if self.n == 1 and self.count == 2:
            raise KafkaException(KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "desync", fatal=True))
        self.count += 1
        self.pending.append((value, partition, on_delivery))

    def poll(self, timeout):
        assert timeout >= 0, "poll(negative) waits without end"
        for value, partition, cb in self.pending:
            cb(None, FakeMessage(value, partition, self.count))
        self.pending = []

    def flush(self, timeout):
        self.poll(0)
        return 0

    def __len__(self):
        return len(self.pending)


class FakeMessage:
    def __init__(self, value, partition, offset):
        self._v, self._p, self._o = value, partition, offset

    def value(self):
        return self._v

    def partition(self):
        return self._p

    def offset(self):
        return self._o


def test_the_producer_is_paced_by_the_clock_not_by_polls_returning_early(monkeypatch):
    # FakeProducer.poll returns at once, as librdkafka's does when it serves an
    # event: the workload must still not send faster than its rate.
    import time
    import workloads
    FakeProducer.instances = 1  # no fatal error
    monkeypatch.setattr(workloads, "Producer", FakeProducer)
    w = workloads.IdempotentProducer("unused:1", lambda line: None, 1, "t", partitions=2, rate=200)
    t0 = time.monotonic()
    w.start()
    time.sleep(0.5)
    w.stopping.set()
    w.join(10)
    assert w.error is None, w.error
    assert 0 < w.sent <= 200 * (time.monotonic() - t0) + 2, w.sent


class FakeProducerFatalInPoll(FakeProducer):
    """poll() of the first instance raises the fatal error (seed 2510)."""

    def produce(self, topic, value, partition, on_delivery):
        self.count += 1
        self.pending.append((value, partition, on_delivery))

    def poll(self, timeout):
        from confluent_kafka import KafkaError, KafkaException
        if self.n == 1 and self.count >= 2:
            raise KafkaException(KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "rewound", fatal=True))
        super().poll(timeout)


def test_a_fatal_error_raised_by_poll_starts_a_new_producer_instance(monkeypatch):
    import workloads
    FakeProducer.instances = 0
    monkeypatch.setattr(workloads, "Producer", FakeProducerFatalInPoll)
    w = workloads.IdempotentProducer("unused:1", lambda line: None, 1, "t", partitions=2, rate=1000)
    w.start()
    wait_until(lambda: FakeProducer.instances >= 2)
    wait_until(lambda: False, 0.05)
    w.stopping.set()
    w.join(10)
    assert w.error is None, w.error
    assert w.instances >= 2 and "rewound" in w.fatal_errors[0]


def test_a_fatal_error_raised_by_produce_starts_a_new_producer_instance(monkeypatch):
    import workloads
    FakeProducer.instances = 0
    monkeypatch.setattr(workloads, "Producer", FakeProducer)
    events = []
    w = workloads.IdempotentProducer("unused:1", events.append, 1, "t", partitions=2, rate=1000)
    w.start()
    wait_until(lambda: FakeProducer.instances >= 2)
    wait_until(lambda: False, 0.05)
    w.stopping.set()
    w.join(10)
    assert w.error is None, w.error
    assert w.instances >= 2
    assert w.fatal_errors and "desync" in w.fatal_errors[0]
    assert b"0:0" in w.acked and b"0:1" in w.acked and b"1:0" in w.acked
    assert any("instance 0 fatal error" in e for e in events), events


class FakeConsumer:
    """The first client keeps answering _UNKNOWN_PARTITION (librdkafka's cached
    leader -1); a new one knows the leader."""
    made = 0

    def __init__(self, conf):
        FakeConsumer.made += 1
        self.n = FakeConsumer.made

    def get_watermark_offsets(self, tp, timeout, cached):
        from confluent_kafka import KafkaError, KafkaException
        if self.n == 1:
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_PARTITION))
        return 0, 40 + tp.partition

    def close(self):
        pass


def test_end_offsets_asks_a_new_client_after_a_failure(monkeypatch):
    import time
    import workloads
    FakeConsumer.made = 0
    monkeypatch.setattr(workloads, "Consumer", FakeConsumer)
    monkeypatch.setattr(workloads.time, "sleep", lambda s: None)
    assert workloads.end_offsets("unused:1", "t", range(3), time.time() + 5) == {0: 40, 1: 41, 2: 42}
    assert FakeConsumer.made == 2


class FakeTxnProducer:
    """The first instance's commits always time out (abortable), as a
    librdkafka 2.0.2 client whose partition sits on a non-leader; later
    instances commit."""
    instances = 0

    def __init__(self, conf):
        FakeTxnProducer.instances += 1
        self.n = FakeTxnProducer.instances

    def init_transactions(self, timeout):
        pass

    def begin_transaction(self):
        pass

    def produce(self, topic, value, partition):
        pass

    def abort_transaction(self, timeout):
        pass

    def send_offsets_to_transaction(self, positions, metadata, timeout):
        pass

    def commit_transaction(self, timeout):
        from confluent_kafka import KafkaError, KafkaException
        if self.n == 1:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out", txn_requires_abort=True))

    def flush(self, timeout):
        return 0


class FakeInputConsumer:
    def __init__(self, conf):
        self.next = 0

    def subscribe(self, topics):
        pass

    def consume(self, n, timeout):
        msgs = [FakeInput(self.next + i) for i in range(n)]
        self.next += n
        return msgs

    def assignment(self):
        return []  # a rewind then waits for the next assignment

    def position(self, assignment):
        return []

    def consumer_group_metadata(self):
        return None

    def close(self):
        pass


class FakeInput:
    def __init__(self, offset):
        self._o = offset

    def error(self):
        return None

    def partition(self):
        return 0

    def offset(self):
        return self._o

    def value(self):
        return b"%d" % self._o


def test_a_transaction_that_timed_out_gets_a_new_producer(monkeypatch):
    import workloads
    FakeTxnProducer.instances = 0
    monkeypatch.setattr(workloads, "Producer", FakeTxnProducer)
    monkeypatch.setattr(workloads, "Consumer", FakeInputConsumer)
    w = workloads.TxnProcessor("unused:1", lambda line: None, 1, "in", "out")
    w.start()
    wait_until(lambda: w.outcomes["committed"], 3)
    w.stopping.set()
    w.join(10)
    assert w.error is None, w.error
    assert w.outcomes["error _TIMED_OUT"] >= 1
    assert FakeTxnProducer.instances >= 2 and w.outcomes["committed"] >= 1, (FakeTxnProducer.instances, w.outcomes)


class HangingTxnProducer(FakeTxnProducer):
    """The first instance's send_offsets_to_transaction never returns, as
    librdkafka 2.0.2's after FindCoordinator kept failing (#5456, chaos seed 2303)."""
    forever = None

    def send_offsets_to_transaction(self, positions, metadata, timeout):
        if self.n == 1:
            HangingTxnProducer.forever.wait()


class CountingInputConsumer(FakeInputConsumer):
    made = 0

    def __init__(self, conf):
        super().__init__(conf)
        CountingInputConsumer.made += 1


def test_a_client_call_that_outlives_its_timeout_gets_new_clients(monkeypatch):
    import threading
    import workloads
    HangingTxnProducer.instances = 0
    FakeTxnProducer.instances = 0
    HangingTxnProducer.forever = threading.Event()
    CountingInputConsumer.made = 0
    monkeypatch.setattr(workloads, "Producer", HangingTxnProducer)
    monkeypatch.setattr(workloads, "Consumer", CountingInputConsumer)
    monkeypatch.setattr(workloads, "CALL_GRACE_S", 0.2)
    events = []
    w = workloads.TxnProcessor("unused:1", events.append, 1, "in", "out")
    w.call_timeout = 0.1
    w.rng.seed(7)  # any seed: a purposeful abort only delays the first commit
    w.start()
    wait_until(lambda: w.outcomes["committed"])
    w.stopping.set()
    w.join(10)
    HangingTxnProducer.forever.set()
    assert not w.is_alive() and w.error is None, w.error
    assert w.outcomes["client hang (librdkafka #5456)"] == 1, w.outcomes
    assert FakeTxnProducer.instances >= 2 and CountingInputConsumer.made >= 2
    assert w.outcomes["committed"] >= 1, w.outcomes
    assert any("new producer and consumer" in e for e in events), events


# ---------------------------------------------------------------------------- transactions


def txn_history():
    txns = [{"id": 1, "status": "committed", "values": [b"1|a", b"1|b"]},
            {"id": 2, "status": "aborted", "values": [b"2|c"]},
            {"id": 3, "status": "committed", "values": [b"3|c"]},
            {"id": 4, "status": "unknown", "values": [b"4|d", b"4|e"]}]
    return txns, [b"1|a", b"1|b", b"3|c"], [b"a", b"b", b"c"]


def test_txn_checker_accepts_a_correct_history():
    txns, read, inputs = txn_history()
    assert checkers.check_transactions(txns, read, inputs, processed_all=True) == []
    assert checkers.check_transactions(txns, read + [b"4|d", b"4|e"], inputs + [b"d", b"e"], True) == []


def test_txn_checker_catches_aborted_records_visible():
    txns, read, inputs = txn_history()
    v = checkers.check_transactions(txns, read + [b"2|c"], inputs, True)
    assert any("aborted txn 2" in x for x in v), v
    assert any("more than once" in x for x in v), v


def test_txn_checker_catches_a_committed_record_missing_or_twice():
    txns, read, inputs = txn_history()
    assert any("committed txn 1" in x for x in checkers.check_transactions(txns, [b"1|a", b"3|c"], inputs))
    assert any("committed txn 3" in x for x in checkers.check_transactions(txns, read + [b"3|c"], inputs))


def test_txn_checker_catches_half_an_unknown_txn_and_phantoms():
    txns, read, inputs = txn_history()
    v = checkers.check_transactions(txns, read + [b"4|d", b"9|z"], inputs)
    assert any("txn 4 of unknown outcome" in x for x in v), v
    assert any("written by no transaction" in x for x in v), v


def test_txn_checker_catches_an_unprocessed_input():
    txns, read, inputs = txn_history()
    v = checkers.check_transactions(txns, read, inputs + [b"f"], processed_all=True)
    assert any("never processed" in x for x in v), v


# ---------------------------------------------------------------------------- consumer groups


def test_offsets_checker_catches_an_acknowledged_commit_missing_from_the_log():
    acked = [(1.0, 0, 10), (2.0, 0, 30), (2.5, 1, 7)]
    assert checkers.check_committed_offsets(acked, {0: [10, 20, 30], 1: [7]}) == []
    v = checkers.check_committed_offsets(acked, {0: [10, 20], 1: [7]})
    assert any("1 acknowledged commits not in __consumer_offsets" in x and "p0@30" in x for x in v), v
    assert checkers.check_committed_offsets(acked, {0: [10, 30]})


def test_a_stale_coordinators_read_is_counted_not_a_violation():
    # Chaos seed 2113: commit 938 acknowledged by the new coordinator; the old
    # one, cut off from the controllers, answered 863 from its cache for 3 s.
    acked = [(16.61, 0, 938)]
    obs = [(16.0, 0, 863), (16.72, 0, 863), (17.13, 0, 863), (21.0, 0, 938)]
    assert checkers.check_committed_offsets(acked, {0: [863, 938]}) == []
    assert checkers.stale_offset_reads(obs, acked) == 2


def test_decode_offset_commit_reads_kafkas_key_and_value_layout():
    import struct
    import workloads

    def s(x):
        return struct.pack(">h", len(x)) + x.encode()
    key = struct.pack(">h", 1) + s("chaos-g") + s("chaos-idem") + struct.pack(">i", 2)
    value = struct.pack(">hqi", 3, 938, 5) + s("") + struct.pack(">q", 0)
    assert workloads.decode_offset_commit(key, value) == ("chaos-g", "chaos-idem", 2, 938)
    assert workloads.decode_offset_commit(key, None) is None  # a tombstone
    assert workloads.decode_offset_commit(struct.pack(">h", 2) + s("chaos-g"), b"x") is None  # group metadata


def test_an_ack_without_an_offset_vouches_only_for_presence():
    acked = idem_acked()
    acked[b"0:5"] = (1, None)  # librdkafka's implicit ack (chaos seeds 2116, 2211)
    assert checkers.check_idempotent_producer(acked, idem_log()) == []
    log = idem_log()
    del log[1][2]
    v = checkers.check_idempotent_producer(acked, log)
    assert any("lost 1 acknowledged" in x and "0:5" in x for x in v), v


def test_at_least_once_checker_catches_a_skipped_record():
    consumed = {(0, o) for o in range(10)} - {(0, 4)}
    v = checkers.check_consumed_at_least_once(consumed, {0: 10}, {0: 10})
    assert any("never consumed" in x and "[4]" in x for x in v), v
    assert checkers.check_consumed_at_least_once(consumed | {(0, 4)}, {0: 10}, {0: 10}) == []
    assert checkers.check_consumed_at_least_once(consumed | {(0, 4)}, {0: 10}, {0: 12})


# ---------------------------------------------------------------------------- metadata


def test_metadata_checker_catches_divergence_and_lost_operations():
    same = {"c2": "Comparing metadata at offset 27, epoch 1 with offset 27, epoch 1\nNo changes.\n"}
    assert checkers.check_metadata(same, ["a", "b"], {"a"}, {"c"}) == []
    differ = {"c2": "Comparing metadata ...\nTopics added:\n  x\n"}
    assert any("c2 differs" in x for x in checkers.check_metadata(differ, ["a"], set(), set()))
    assert any("creations missing" in x for x in checkers.check_metadata(same, ["b"], {"a"}, set()))
    assert any("deletions still" in x for x in checkers.check_metadata(same, ["a", "c"], {"a"}, {"c"}))


# ---------------------------------------------------------------------------- the schedule


def test_schedule_is_a_function_of_the_seed():
    assert chaos.make_schedule(7, 40) == chaos.make_schedule(7, 40)
    assert chaos.make_schedule(7, 40) != chaos.make_schedule(8, 40)
    kinds = {e[2] for s in range(20) for e in chaos.make_schedule(s, 40)}
    assert kinds == {"kill", "pause", "isolate", "partition", "one-way", "latency", "loss"}
    for s in range(20):
        for t, lane, kind, params, length in chaos.make_schedule(s, 40):
            assert 0 < t < 40 and 0 < length and t + length <= 40 + 1e-9


# ---------------------------------------------------------------------------- short chaos runs

SEEDS = [int(s) for s in os.environ.get("FLOTILLA_CHAOS_SEEDS", "1,2").split(",") if s.strip()]
DURATION = float(os.environ.get("FLOTILLA_CHAOS_DURATION", "20"))


def can_run():
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    for tool in ("ip", "nft", "iptables"):
        if not shutil.which(tool):
            return f"{tool} not installed (make test-deps)"
    if not os.access(chaos.BIN, os.X_OK):
        return f"no server binary at {chaos.BIN}"
    return None


@pytest.mark.skipif(can_run() is not None, reason=str(can_run()))
@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_run(seed):
    ok, violations, timeline, elapsed = chaos.run_one(seed, DURATION)
    prefix = f"flc{os.getpid()}"
    left = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout + \
        subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert prefix not in left, f"namespaces or links {prefix}* left behind"
    assert ok, f"chaos seed {seed} ({DURATION:g} s of faults) failed:\n" + "\n".join(violations) + \
        f"\nfault timeline:\n{timeline}"
