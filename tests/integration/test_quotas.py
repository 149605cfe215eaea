"""Client quotas as KRaft metadata (KIP-546) and their enforcement (KIP-13,
KIP-219, KIP-599) on a real node.

- `flotilla configs --entity-type users|clients` alters and describes quotas
  with kafka-configs.sh's texts; bad keys and values get Kafka's errors and
  write nothing; quotas survive a restart (snapshot and log).
- A producer (SCRAM-SHA-512 user alice over SASL_SSL) limited to 1 MiB/s by a user quota stays
  within +-10% of it over 10 s while an unlimited producer (user admin) on
  the same broker runs far faster; librdkafka's statistics show the throttle.
- KIP-219: a throttled response arrives at once with throttle_time_ms and the
  connection is muted for that long (a pipelined request waits).
- KIP-599: CreateTopics v6 past controller_mutation_rate gets
  THROTTLING_QUOTA_EXCEEDED.

Why the rate test warms up first: Kafka measures a new client's rate over at
least quota.window.num - 1 windows (10 s), so a fresh client may send ~10 s
worth at once, and a greedy client then repeats that burst each time the
burst's sample expires (every ~11 s). Kafka does exactly this; the test
therefore first fills the sensor's window at the quota (11 s, client-paced)
and then lets the producer go as fast as it can for the 10 s it measures —
from then on the broker alone holds it at the quota.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from conftest import free_port, run_tool
from kafka_wire import connect, record_batch, recv_exact, request, response, string, uvarint
from test_sasl import start_sasl_server

MiB = 1048576


def configs(server, *args, check=True):
    return run_tool("configs", "--bootstrap-server", server.bootstrap, *args, check=check)


def create_topic(s, topic, partitions=1):
    run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", topic, "--partitions", str(partitions),
             "--replication-factor", "1")


# ---------------------------------------------------------------- configs

def test_configs_alter_describe_as_kafka_configs(server):
    p = configs(server, "--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config",
                "producer_byte_rate=1048576,consumer_byte_rate=2097152")
    assert p.stdout == "Completed updating config for user alice.\n"
    assert configs(server, "--entity-type", "users", "--entity-default", "--alter", "--add-config",
                   "request_percentage=50").stdout == "Completed updating default config for users in the cluster.\n"
    p = configs(server, "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-name", "app",
                "--alter", "--add-config", "controller_mutation_rate=10")
    assert p.stdout == "Completed updating config for user alice.\n"
    assert configs(server, "--client-defaults", "--alter", "--add-config", "consumer_byte_rate=1000").stdout == \
        "Completed updating default config for clients in the cluster.\n"

    # Named user: the quota line, then (no SCRAM credential) Kafka's per-user error line.
    out = configs(server, "--entity-type", "users", "--entity-name", "alice", "--describe").stdout
    assert out.splitlines()[0] == "Quota configs for user-principal 'alice' are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0"
    # Every user-only entity (named and default), in Kafka's HashMap order.
    out = configs(server, "--entity-type", "users", "--describe").stdout.splitlines()
    assert sorted(l for l in out if l.startswith("Quota")) == [
        "Quota configs for the default user-principal are request_percentage=50.0",
        "Quota configs for user-principal 'alice' are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0"]
    assert configs(server, "--entity-type", "users", "--entity-default", "--describe").stdout == \
        "Quota configs for the default user-principal are request_percentage=50.0\n"
    assert configs(server, "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-name", "app",
                   "--describe").stdout == \
        "Quota configs for user-principal 'alice', client-id 'app' are controller_mutation_rate=10.0\n"
    assert configs(server, "--user", "alice", "--client", "app", "--describe").stdout == \
        "Quota configs for user-principal 'alice', client-id 'app' are controller_mutation_rate=10.0\n"
    assert configs(server, "--entity-type", "clients", "--describe").stdout == \
        "Quota configs for the default client-id are consumer_byte_rate=1000.0\n"

    # Deleting a key; deleting one that is not set.
    configs(server, "--entity-type", "users", "--entity-name", "alice", "--alter", "--delete-config", "consumer_byte_rate")
    assert configs(server, "--entity-type", "users", "--entity-name", "alice", "--describe").stdout.splitlines()[0] == \
        "Quota configs for user-principal 'alice' are producer_byte_rate=1048576.0"
    p = configs(server, "--entity-type", "users", "--entity-name", "alice", "--alter", "--delete-config", "consumer_byte_rate",
                check=False)
    assert p.returncode == 1 and p.stderr == "Invalid config(s): consumer_byte_rate\n"


def test_bad_quota_input_writes_nothing(server):
    shell = ["metadata-shell", "--directory", os.path.join(server.data, "__cluster_metadata-0")]
    p = configs(server, "--entity-type", "clients", "--entity-name", "c1", "--alter", "--add-config", "bogus_rate=5", check=False)
    assert p.returncode == 1
    assert p.stderr == ("Only quota configs can be added for 'clients' using --bootstrap-server. "
                        "Unexpected config names: Set(bogus_rate)\n")
    p = configs(server, "--entity-type", "users", "--entity-name", "u1", "--alter", "--add-config", "producer_byte_rate=1.5",
                check=False)
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1] == ("java.util.concurrent.ExecutionException: org.apache.kafka.common.errors."
                                         "InvalidRequestException: producer_byte_rate cannot be a fractional value.")
    p = configs(server, "--entity-type", "users", "--entity-name", "u1", "--alter", "--add-config", "producer_byte_rate=0",
                check=False)
    assert p.stderr.splitlines()[-1].endswith("InvalidRequestException: Quota producer_byte_rate must be greater than 0")
    p = configs(server, "--entity-type", "users", "--entity-name", "u1", "--alter", "--add-config", "producer_byte_rate=abc",
                check=False)
    assert p.stderr == "Cannot parse quota configuration value for producer_byte_rate: abc\n"
    p = configs(server, "--entity-type", "users", "--entity-name", "u1", "--alter", "--add-config",
                "producer_byte_rate=5,SCRAM-SHA-256=[password=x]", check=False)
    assert p.stderr == "Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.\n"
    # An unknown key in the raw request: INVALID_REQUEST with Kafka's text (AlterClientQuotas v1, flexible).
    resp = alter_client_quotas_raw(server.bootstrap, [(("client-id", "c2"), "nope_rate", 3.0)])
    assert resp == [(42, "Invalid configuration key nope_rate")]
    time.sleep(0.5)
    assert run_tool(*shell, "ls", "/image/clientQuotas").stdout == ""
    assert configs(server, "--entity-type", "clients", "--describe").stdout == ""


def test_quotas_survive_a_restart(server):
    configs(server, "--entity-type", "clients", "--entity-name", "keep", "--alter", "--add-config", "producer_byte_rate=4096")
    server.stop()
    server.start()
    assert configs(server, "--entity-type", "clients", "--entity-name", "keep", "--describe").stdout == \
        "Quota configs for client-id 'keep' are producer_byte_rate=4096.0\n"
    shell = ["metadata-shell", "--directory", os.path.join(server.data, "__cluster_metadata-0")]
    assert run_tool(*shell, "cat", "/image/clientQuotas/clientId(keep)/producer_byte_rate").stdout.strip() == "4096.0"


# ---------------------------------------------------------------- raw wire helpers

def alter_client_quotas_raw(bootstrap, ops):
    """AlterClientQuotas v1 with one entry per (entity, key, value); returns [(error_code, message)]."""
    body = uvarint(len(ops) + 1)
    for (etype, ename), key, value in ops:
        body += uvarint(2) + uvarint(len(etype) + 1) + etype.encode() + uvarint(len(ename) + 1) + ename.encode() + b"\x00"
        body += uvarint(2) + uvarint(len(key) + 1) + key.encode() + struct.pack(">d", value) + b"\x00" + b"\x00"
        body += b"\x00"
    body += b"\x00" + b"\x00"  # validate_only false, tagged fields
    with connect(bootstrap) as s:
        request(s, 49, 1, body, flexible_header=True)
        r = response(s)
    pos = 4 + 1 + 4  # correlation id, header tags, throttle
    n = r[pos] - 1
    pos += 1
    out = []
    for _ in range(n):
        err = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2
        ml = r[pos] - 1
        pos += 1
        msg = None
        if ml >= 0:
            msg = r[pos:pos + ml].decode()
            pos += ml
        out.append((err, msg))
        ne = r[pos] - 1
        pos += 1
        for _ in range(ne):
            tl = r[pos] - 1
            pos += 1 + tl
            nl = r[pos] - 1
            pos += 1 + max(nl, 0)
            pos += 1  # tags
        pos += 1  # tags
    return out


def produce_v7_request(topic, payload):
    """A Produce v7 body (acks=1) carrying one batch of `payload`."""
    records = record_batch([payload])
    body = struct.pack(">h", -1) + struct.pack(">hi", 1, 30000)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + struct.pack(">i", 0)
    body += struct.pack(">i", len(records)) + records
    return body


def produce_v7_throttle(r):
    """throttle_time_ms of a Produce v7 response (after the topic array)."""
    pos = 4
    nt = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    for _ in range(nt):
        tl = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2 + tl
        np_ = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        for _ in range(np_):
            pos += 4 + 2 + 8 + 8 + 8  # index, error, base offset, log append time, log start offset
    return struct.unpack(">i", r[pos:pos + 4])[0]


def create_topics_v6(s, name, partitions, correlation_id):
    body = uvarint(2) + uvarint(len(name) + 1) + name.encode() + struct.pack(">ih", partitions, 1)
    body += uvarint(1) + uvarint(1) + b"\x00"  # no assignments, no configs, tags
    body += struct.pack(">i", 30000) + b"\x00" + b"\x00"  # timeout, validate_only, tags
    request(s, 19, 6, body, correlation_id=correlation_id, flexible_header=True)
    r = response(s)
    pos = 4 + 1
    throttle = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4 + 1
    nl = r[pos] - 1
    pos += 1
    got = r[pos:pos + nl].decode()
    pos += nl
    err = struct.unpack(">h", r[pos:pos + 2])[0]
    assert got == name
    return throttle, err


# ---------------------------------------------------------------- enforcement

def test_throttled_connection_is_muted(server):
    """KIP-219: the response comes at once with throttle_time_ms; the next
    request on that connection waits until the throttle time passed."""
    create_topic(server, "muted")
    # client id "test" (kafka_wire's): 50,000 B/s. A fresh sensor measures over
    # 10 s, so a 600,000-byte request puts it at ~60,000 B/s: (60,000 - 50,000)
    # / 50,000 x ~10 s = ~2 s.
    configs(server, "--entity-type", "clients", "--entity-name", "test", "--alter", "--add-config", "producer_byte_rate=50000")
    time.sleep(0.5)
    with connect(server.bootstrap, timeout=15) as s:
        request(s, 0, 7, produce_v7_request("muted", b"x" * 600000), correlation_id=1)
        request(s, 18, 0, b"", correlation_id=2)  # pipelined ApiVersions
        t0 = time.monotonic()
        r1 = response(s)
        t1 = time.monotonic()
        r2 = response(s)
        t2 = time.monotonic()
    throttle = produce_v7_throttle(r1)
    assert 1700 <= throttle <= 2300, throttle
    assert t1 - t0 < 1.0  # answered at once
    assert struct.unpack(">i", r2[:4])[0] == 2
    assert t2 - t0 >= throttle / 1000 - 0.2, (t2 - t0, throttle)  # muted meanwhile
    # Another client id on a new connection is not throttled.
    with connect(server.bootstrap, timeout=5) as s:
        hdr = struct.pack(">hhi", 0, 7, 3) + string("other")
        body = produce_v7_request("muted", b"y" * 1000)
        s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        assert produce_v7_throttle(response(s)) == 0


def test_strict_controller_mutation_quota(server):
    """CreateTopics v6 is strict: once the token bucket is empty, a topic is
    refused with THROTTLING_QUOTA_EXCEEDED (89) and the throttle time."""
    configs(server, "--entity-type", "clients", "--entity-name", "test", "--alter", "--add-config", "controller_mutation_rate=1")
    time.sleep(0.5)
    with connect(server.bootstrap, timeout=30) as s:
        # Burst 11 x 1 x 1: 20 partitions are accepted (the bucket was not
        # empty), unthrottled as in Kafka, and leave it at -9.
        throttle, err = create_topics_v6(s, "mut-a", 20, 1)
        assert (err, throttle) == (0, 0)
        # The next one finds it below zero: refused, with the time to refill.
        throttle, err = create_topics_v6(s, "mut-b", 1, 2)
        assert err == 89
        assert 8000 <= throttle <= 9000, throttle
    out = run_tool("topics", "--bootstrap-server", server.bootstrap, "--list").stdout.split()
    assert "mut-a" in out and "mut-b" not in out


SCRAM_USERS = {"alice": "alice-secret", "admin": "admin-secret"}


def scram_tls(s, user):
    """librdkafka's settings for a SCRAM-SHA-512 user on the SASL_SSL listener."""
    return {"bootstrap.servers": s.secure, "security.protocol": "SASL_SSL", "ssl.ca.location": s.ca,
            "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": SCRAM_USERS[user]}

UNLIMITED_SCRIPT = r"""
import json, sys, time
import confluent_kafka as ck
security, topic, seconds = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])
throttle = {"max": 0}
def stats(s):
    for b in json.loads(s).get("brokers", {}).values():
        throttle["max"] = max(throttle["max"], b.get("throttle", {}).get("max", 0))
acked = [0]
deadline = [0.0]
def done(err, msg):
    if err is None and time.monotonic() < deadline[0]:
        acked[0] += len(msg.value())
p = ck.Producer({**security, "client.id": "unlimited", "linger.ms": 5,
                 "queue.buffering.max.kbytes": 65536, "statistics.interval.ms": 500, "stats_cb": stats})
value = b"u" * 1024
start = time.monotonic()
deadline[0] = start + seconds
while time.monotonic() - start < seconds:
    try:
        p.produce(topic, value=value, on_delivery=done)
    except BufferError:
        p.poll(0.01)
        continue
    p.poll(0)
p.flush(30)
print(json.dumps({"bytes": acked[0], "seconds": seconds, "throttle_max": throttle["max"]}))
"""


def test_user_quota_holds_a_producer_at_one_mib_per_second(make_server):
    ck = pytest.importorskip("confluent_kafka")
    s = start_sasl_server(make_server, scram_over_tls=SCRAM_USERS)
    create_topic(s, "limited")
    create_topic(s, "unlimited")
    configs(s, "--entity-type", "users", "--entity-name", "alice", "--alter", "--add-config", f"producer_byte_rate={MiB}")
    assert configs(s, "--entity-type", "users", "--entity-name", "alice", "--describe").stdout.splitlines()[0] == \
        "Quota configs for user-principal 'alice' are producer_byte_rate=1048576.0"
    time.sleep(0.5)

    lock = threading.Lock()
    acked = []  # (monotonic time, bytes)
    throttles = []

    def stats(js):
        for b in json.loads(js).get("brokers", {}).values():
            t = b.get("throttle", {})
            if t.get("max", 0) > 0:
                with lock:
                    throttles.append(t["max"])

    def delivered(err, msg):
        assert err is None, err
        acked.append((time.monotonic(), len(msg.value())))

    p = ck.Producer({**scram_tls(s, "alice"), "client.id": "limited", "linger.ms": 5,
                     "batch.size": 16384, "queue.buffering.max.kbytes": 2048, "statistics.interval.ms": 500,
                     "stats_cb": stats})
    value = b"x" * 1024

    def produce_one():
        while True:
            try:
                p.produce("limited", value=value, on_delivery=delivered)
                return
            except BufferError:
                p.poll(0.005)

    # Warm-up (one quota window, 11 s): produce at the quota, paced here, so
    # the broker's window holds a steady 1 MiB/s (see the module's docstring).
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < 11.0:
        due = (time.monotonic() - start) * MiB
        while sent < due:
            produce_one()
            sent += len(value)
        p.poll(0.01)

    # Measured (10 s): as fast as it can, beside an unlimited producer.
    unlimited = subprocess.Popen(["/usr/bin/python3", "-c", UNLIMITED_SCRIPT, json.dumps(scram_tls(s, "admin")), "unlimited", "10"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    m0 = time.monotonic()
    while time.monotonic() - m0 < 10.0:
        produce_one()
        p.poll(0)
    m1 = m0 + 10.0
    p.flush(60)
    out, err = unlimited.communicate(timeout=90)
    assert unlimited.returncode == 0, err
    u = json.loads(out)

    limited_rate = sum(n for t, n in acked if m0 <= t < m1) / 10.0
    unlimited_rate = u["bytes"] / u["seconds"]
    print(f"limited {limited_rate / MiB:.3f} MiB/s, unlimited {unlimited_rate / MiB:.1f} MiB/s, throttles {throttles[:5]}")
    assert 0.9 * MiB <= limited_rate <= 1.1 * MiB, f"limited producer at {limited_rate / MiB:.3f} MiB/s"
    assert unlimited_rate >= 5 * limited_rate, f"unlimited {unlimited_rate / MiB:.2f} MiB/s vs limited {limited_rate / MiB:.2f} MiB/s"
    # librdkafka's statistics (brokers.*.throttle) show the broker's throttle
    # times for the limited producer, none for the unlimited one.
    with lock:
        assert throttles and max(throttles) > 0
    assert u["throttle_max"] == 0


# ---------------------------------------------------------------- replication throttles

def test_replication_throttle_bounds_reassignment_traffic(cluster):
    """leader.replication.throttled.rate (broker 100) over the replicas that
    leader.replication.throttled.replicas lists: moving 6 MiB to a new replica
    takes ~6 s at 1 MiB/s, while the same move of an unthrottled topic beside
    it is done in a fraction of that."""
    ck = pytest.importorskip("confluent_kafka")
    from test_admin import FAST, alter_reassignments, list_reassignments
    c = cluster(controllers=1, brokers=2, extra=FAST)
    b100 = c.brokers[0]
    b = b100.bootstrap
    for t in ("thr", "free"):
        run_tool("topics", "--bootstrap-server", b, "--create", "--topic", t, "--replica-assignment", "100")
    p = ck.Producer({"bootstrap.servers": b, "linger.ms": 5})
    value = b"r" * 1024
    for i in range(6 * 1024):
        for t in ("thr", "free"):
            while True:
                try:
                    p.produce(t, value=value)
                    break
                except BufferError:
                    p.poll(0.01)
        p.poll(0)
    assert p.flush(60) == 0
    del p
    run_tool("configs", "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name", "100", "--alter", "--add-config",
             f"leader.replication.throttled.rate={MiB}")
    run_tool("configs", "--bootstrap-server", b, "--entity-type", "topics", "--entity-name", "thr", "--alter", "--add-config",
             "leader.replication.throttled.replicas=[0:100]")
    time.sleep(0.5)
    t0 = time.monotonic()
    err, res = alter_reassignments(b, {("thr", 0): [100, 101], ("free", 0): [100, 101]})
    assert err == 0 and res[("thr", 0)][0] == 0 and res[("free", 0)][0] == 0
    done = {}
    while len(done) < 2 and time.monotonic() - t0 < 60:
        ongoing = list_reassignments(b)
        for t in ("thr", "free"):
            if t not in done and (t, 0) not in ongoing:
                done[t] = time.monotonic() - t0
        time.sleep(0.1)
    print(f"reassignment times: {done}")
    assert set(done) == {"thr", "free"}, done
    # 6 MiB at 1 MiB/s: the first window's MiB goes at once, the rest at the rate.
    assert done["thr"] >= 4.0, done
    assert done["free"] < done["thr"] / 2, done
