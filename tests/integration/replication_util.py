"""Helpers for the data-replication tests (test_replication.py) and the
replication benchmarks (bench/broker_failover_bench.py,
bench/replication_throughput.py).

Raw Metadata / Produce over kafka_wire's framing (no client caches in the
way: each call asks one named broker), a background acks=all producer that
records every acknowledged (partition, offset, value), and a reader that
fetches every partition up to its high watermark.

Every wait here is bounded; nothing here starts or stops a process.
"""
import json
import os
import re
import struct
import subprocess
import threading
import time

from kafka_wire import Reader, connect, record_batch, request, response, string

# Kafka's names; short timeouts keep the failover tests quick.
REPL_EXTRA = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
}

NOT_LEADER_OR_FOLLOWER = 6
NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20


# --------------------------------------------------------------------------- raw Metadata


def metadata(bootstrap, topics=None, timeout=5):
    """Metadata v1 asked of one broker. Returns {"brokers": {id: (host, port)},
    "controller": id, "topics": {name: {"error": e, "partitions":
    {p: {"error": e, "leader": id, "replicas": [..], "isr": [..]}}}}}.
    `topics` None asks for every topic."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)
    s = connect(bootstrap, timeout=timeout)
    try:
        request(s, 3, 1, body)
        r = Reader(response(s))
    finally:
        s.close()

    def s16():
        n = r.i16()
        return None if n < 0 else r.take(n).decode()

    r.i32()  # correlation id
    out = {"brokers": {}, "topics": {}}
    for _ in range(r.i32()):
        node = r.i32()
        host = s16()
        port = r.i32()
        s16()  # rack
        out["brokers"][node] = (host, port)
    out["controller"] = r.i32()
    for _ in range(r.i32()):
        terr = r.i16()
        name = s16()
        r.take(1)  # is_internal
        parts = {}
        for _ in range(r.i32()):
            perr = r.i16()
            p = r.i32()
            leader = r.i32()
            replicas = [r.i32() for _ in range(r.i32())]
            isr = [r.i32() for _ in range(r.i32())]
            parts[p] = {"error": perr, "leader": leader, "replicas": replicas, "isr": isr}
        out["topics"][name] = {"error": terr, "partitions": parts}
    return out


def partitions(bootstrap, topic, timeout=5):
    """{partition: {"error", "leader", "replicas", "isr"}} of one topic as one
    broker sees it; {} when it does not know the topic (yet)."""
    t = metadata(bootstrap, [topic], timeout=timeout)["topics"].get(topic)
    if t is None or t["error"] != 0:
        return {}
    return t["partitions"]


def wait_for(what, fn, timeout, interval=0.1):
    """Polls fn() until it returns a truthy value (returned) or the timeout
    passes (AssertionError naming `what` and the last value / exception)."""
    deadline = time.time() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (OSError, ValueError, struct.error) as e:
            last = e
        if time.time() >= deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {short(last)})")
        time.sleep(interval)


def short(v, n=1500):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


def live_brokers(c):
    return [b for b in c.brokers if b.proc is not None and b.proc.poll() is None]


def bootstrap_of(nodes):
    return ",".join(n.bootstrap for n in nodes)


def wait_isr_full(via, topic, num_partitions, rf, timeout=30, brokers=None):
    """Every partition has a leader, `rf` replicas and an ISR of all of them
    (as broker `via` sees it); returns the partition map."""
    state = {}

    def full():
        ps = partitions(via.bootstrap, topic, timeout=10)
        state["ps"] = ps
        if len(ps) != num_partitions:
            return None
        for p in ps.values():
            if p["error"] != 0 or p["leader"] < 0 or len(p["replicas"]) != rf or sorted(p["isr"]) != sorted(p["replicas"]):
                return None
            if brokers is not None and not set(p["replicas"]) <= set(brokers):
                return None
        return ps

    try:
        return wait_for(f"{topic}: ISR of {rf} on every partition (asked broker {via.node_id})", full, timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; {summary(state.get('ps'), num_partitions)}") from None


def summary(ps, num_partitions=None):
    """A short description of a partition map: counts by ISR size and by
    leader, and a few partitions whose ISR is not all their replicas."""
    if ps is None:
        return "no metadata"
    isr, lead, bad = {}, {}, {}
    for p, v in sorted(ps.items()):
        isr[len(v["isr"])] = isr.get(len(v["isr"]), 0) + 1
        lead[v["leader"]] = lead.get(v["leader"], 0) + 1
        if sorted(v["isr"]) != sorted(v["replicas"]) and len(bad) < 5:
            bad[p] = v
    known = f"{len(ps)}" + (f" of {num_partitions}" if num_partitions is not None else "")
    return f"partitions known: {known}; by ISR size: {isr}; by leader: {lead}; e.g. {bad}"


def leaders_of(ps, broker_id):
    return sorted(p for p, v in ps.items() if v["leader"] == broker_id)


def wait_moved_off(via, topic, victim, num_partitions, timeout, out_of_isr=True):
    """Every partition of `topic` has a live leader other than `victim`
    (and, with out_of_isr, `victim` left every ISR), as broker `via` sees it."""
    def moved():
        ps = partitions(via.bootstrap, topic)
        if len(ps) != num_partitions:
            return None
        for p in ps.values():
            if p["leader"] < 0 or p["leader"] == victim:
                return None
            if out_of_isr and victim in p["isr"]:
                return None
        return ps

    what = f"{topic}: leaders moved off broker {victim}" + (" and it left the ISRs" if out_of_isr else "")
    return wait_for(what, moved, timeout, interval=0.05)


# --------------------------------------------------------------------------- raw Produce


def produce_many(bootstrap, topic, partition_values, acks=-1, timeout_ms=5000, sock_timeout=30):
    """One Produce v3 request carrying one batch per partition
    ({partition: [value, ...]}); returns {partition: (error_code, base_offset)}."""
    body = struct.pack(">h", -1) + struct.pack(">hi", acks, timeout_ms)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", len(partition_values))
    for p, values in partition_values.items():
        rec = record_batch(values)
        body += struct.pack(">i", p) + struct.pack(">i", len(rec)) + rec
    s = connect(bootstrap, timeout=sock_timeout)
    try:
        request(s, 0, 3, body)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    out = {}
    for _ in range(r.i32()):
        r.take(r.i16())  # topic name
        for _ in range(r.i32()):
            p = r.i32()
            err = r.i16()
            base = r.i64()
            r.i64()  # log append time
            out[p] = (err, base)
    return out


# --------------------------------------------------------------------------- producing in the background


class BackgroundProducer:
    """confluent_kafka Producer in its own thread, acks=all, no idempotence,
    retries high: sends values b"<tag>-<n>" round-robin over the partitions at
    about `rate` records/s and records every delivery report.

    acked: [(partition, offset, value, time)]; errors: [(partition, value,
    KafkaError, time)]."""

    def __init__(self, bootstrap, topic, num_partitions, tag="v", rate=1000, conf=None, flush_timeout=45):
        self.topic = topic
        self.num_partitions = num_partitions
        self.tag = tag.encode()
        self.rate = rate
        self.flush_timeout = flush_timeout
        self.conf = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": False,
            "retries": 1000000,
            "retry.backoff.ms": 50,
            "message.timeout.ms": 30000,
            "request.timeout.ms": 10000,
            "linger.ms": 5,
            "socket.connection.setup.timeout.ms": 3000,
            "reconnect.backoff.max.ms": 500,
            "topic.metadata.refresh.interval.ms": 1000,
        }
        self.conf.update(conf or {})
        self.acked = []
        self.errors = []
        self.sent = 0
        self.unflushed = None
        self.exc = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"producer-{tag}", daemon=True)

    def _cb(self, err, msg):
        now = time.time()
        if err is not None:
            self.errors.append((msg.partition(), msg.value(), err, now))
        else:
            self.acked.append((msg.partition(), msg.offset(), msg.value(), now))

    def _run(self):
        from confluent_kafka import Producer
        try:
            p = Producer(self.conf)
            i = 0
            step = 10
            t0 = time.time()
            while not self._stop.is_set():
                for _ in range(step):
                    v = b"%s-%08d" % (self.tag, i)
                    try:
                        p.produce(self.topic, value=v, partition=i % self.num_partitions, on_delivery=self._cb)
                    except BufferError:
                        p.poll(0.1)
                        break
                    i += 1
                    self.sent = i
                p.poll(0)
                # Pace to `rate` records/s.
                ahead = i / self.rate - (time.time() - t0)
                if ahead > 0:
                    self._stop.wait(min(ahead, 0.1))
            self.unflushed = p.flush(self.flush_timeout)
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.exc = e

    def start(self):
        self._thread.start()
        return self

    def acked_count(self):
        return len(self.acked)

    def wait_acked(self, n, timeout):
        wait_for(f"{n} acknowledged records (sent {self.sent}, errors {self.errors[:3]})",
                 lambda: len(self.acked) >= n, timeout, interval=0.05)

    def stop(self, timeout=None):
        """Stops sending, waits for every outstanding delivery report
        (bounded by flush_timeout + 15 s)."""
        self._stop.set()
        self._thread.join(timeout if timeout is not None else self.flush_timeout + 15)
        assert not self._thread.is_alive(), "producer thread did not finish"
        if self.exc is not None:
            raise self.exc
        return self


# --------------------------------------------------------------------------- reading everything back


def read_all(bootstrap, topic, num_partitions, timeout=60, conf=None):
    """Reads every partition from offset 0 up to its high watermark with a
    fresh confluent_kafka consumer (assign(), no group membership, no
    commits; `conf` adds client settings, e.g. security). Returns
    ({(partition, offset): value}, {partition: hw})."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "replication-check", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "enable.partition.eof": False,
                  "socket.connection.setup.timeout.ms": 3000, "topic.metadata.refresh.interval.ms": 1000, **(conf or {})})
    got = {}
    try:
        deadline = time.time() + timeout
        hws = {}
        for p in range(num_partitions):
            while True:
                try:
                    lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)
                    hws[p] = hi
                    break
                except Exception:  # noqa: BLE001 - KafkaException while leaders move; bounded
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
        c.assign([TopicPartition(topic, p, 0) for p in range(num_partitions)])
        pos = {p: 0 for p in range(num_partitions)}
        while any(pos[p] < hws[p] for p in pos) and time.time() < deadline:
            for m in c.consume(10000, timeout=0.5):
                if m.error():
                    continue  # transient (e.g. a leader change); the loop is bounded
                got[(m.partition(), m.offset())] = m.value()
                pos[m.partition()] = max(pos[m.partition()], m.offset() + 1)
        missing = {p: (pos[p], hws[p]) for p in pos if pos[p] < hws[p]}
        assert not missing, f"could not read up to the high watermark in {timeout}s: {{partition: (read to, hw)}} {missing}"
        return got, hws
    finally:
        try:
            c.unassign()
        except Exception:  # noqa: BLE001
            pass
        # Closing a consumer that has a group.id may wait for a coordinator the
        # server does not have yet: close it in a bounded thread.
        t = threading.Thread(target=c.close, daemon=True)
        t.start()
        t.join(10)


def check_acked_present(acked, got):
    """Every acknowledged (partition, offset, value) is in the log at that
    offset. Returns the number checked; raises with the first losses."""
    lost = [(p, o, v) for p, o, v, *_ in acked if got.get((p, o)) != v]
    if lost:
        moved = []
        values = set(got.values())
        for p, o, v in lost[:20]:
            moved.append((p, o, v, "found elsewhere" if v in values else "absent", got.get((p, o))))
        raise AssertionError(f"{len(lost)} of {len(acked)} acknowledged records lost or moved; first: {moved}")
    return len(acked)


# --------------------------------------------------------------------------- the metadata quorum and its log


def active_controller(c, bin_path, timeout=15, command_config=None):
    """The LeaderId of `flotilla metadata-quorum describe --status`, asked of
    each live controller in turn (with --command-config when the controller
    listener is secured)."""
    sec = ["--command-config", command_config] if command_config else []

    def ask():
        for n in c.controllers:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                p = subprocess.run([bin_path, "metadata-quorum", "--bootstrap-controller", n.controller, *sec, "describe",
                                    "--status"], capture_output=True, text=True, timeout=5)
            except subprocess.TimeoutExpired:
                continue
            m = re.search(r"^LeaderId:\s*(-?\d+)", p.stdout, re.M)
            if p.returncode == 0 and m and int(m.group(1)) > 0:
                leader = int(m.group(1))
                node = next((x for x in c.controllers if x.node_id == leader), None)
                if node is not None and node.proc is not None and node.proc.poll() is None:
                    return leader
        return None

    return wait_for("an active controller (metadata-quorum describe --status)", ask, timeout, interval=0.1)


def dump_log_available(bin_path):
    """True when `flotilla dump-log --help` exists and offers
    --cluster-metadata-decoder (an unknown sub-command prints the top-level
    help, so the return code alone does not tell)."""
    try:
        p = subprocess.run([bin_path, "dump-log", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and "--cluster-metadata-decoder" in p.stdout + p.stderr


def metadata_log_files(controller):
    d = os.path.join(controller.data, "__cluster_metadata-0")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))


def dump_metadata_records(bin_path, controller, timeout=60):
    """Runs `flotilla dump-log --cluster-metadata-decoder --files <segments>`
    on a controller's metadata log; returns (raw output, [decoded payload dicts])."""
    files = metadata_log_files(controller)
    p = subprocess.run([bin_path, "dump-log", "--cluster-metadata-decoder", "--files", ",".join(files)],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"dump-log failed ({p.returncode}): {p.stderr[-2000:]}"
    records = []
    for line in p.stdout.splitlines():
        i = line.find('{"type"')
        if i < 0:
            i = line.find("payload: {")
            if i >= 0:
                i = line.find("{", i)
        if i < 0:
            continue
        try:
            obj = json.loads(line[i:])
        except ValueError:
            # A payload followed by more fields: take the balanced object.
            obj = _balanced_json(line[i:])
        if isinstance(obj, dict):
            records.append(obj)
    return p.stdout, records


def _balanced_json(s):
    depth = 0
    in_str = esc = False
    for j, ch in enumerate(s):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                try:
                    return json.loads(s[:j + 1])
                except ValueError:
                    return None
    return None


def fencing_records(records, broker_id):
    """FENCE_BROKER_RECORD of the broker, or BROKER_REGISTRATION_CHANGE_RECORD
    with fenced set (Kafka's BrokerRegistrationFencingChange FENCE = 1)."""
    out = []
    for r in records:
        d = r.get("data", {})
        if d.get("id", d.get("brokerId")) != broker_id:
            continue
        if r.get("type") == "FENCE_BROKER_RECORD":
            out.append(r)
        elif r.get("type") == "BROKER_REGISTRATION_CHANGE_RECORD" and d.get("fenced") in (1, True):
            out.append(r)
    return out


def leader_changes(records, not_leader=None):
    """PARTITION_CHANGE_RECORDs that name a leader (other than `not_leader`)."""
    out = []
    for r in records:
        if r.get("type") != "PARTITION_CHANGE_RECORD":
            continue
        leader = r.get("data", {}).get("leader")
        if leader is not None and leader >= 0 and leader != not_leader:
            out.append(r)
    return out
