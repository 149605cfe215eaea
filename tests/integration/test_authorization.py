"""ACL authorization end to end (authorizer.class.name=StandardAuthorizer):
real clients (confluent-kafka, kafka-python, kcat, `flotilla acls`) over
SASL_SSL as SCRAM-SHA-512 users, ACLs written with `flotilla acls`
(kafka-acls.sh's flags) through the metadata log.

Users: alice (a producer), bob (a consumer), carol (no ACL at all), dave
(transactions), admin (a super user) — SCRAM-SHA-512 credentials bootstrapped
by `storage format --add-scram` for the SASL_SSL listener (s.secure), and the
same names as PLAIN users of the SASL_PLAINTEXT listener (s.sasl), which the
raw-wire checks of exact error codes and connection behaviour use. The
PLAINTEXT listener's User:ANONYMOUS is a super user too: the tools and the
harness use it. The 3-broker tests use SASL_PLAINTEXT brokers.
"""
import os
import shutil
import struct
import subprocess
import time

import pytest

from conftest import Cluster, free_port, run_tool
from kafka_wire import connect, record_batch, recv_exact, request, response, string
from test_sasl import authenticate, handshake, plain, rewrite_config, start_sasl_server

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw", "admin": "admin-pw"}
JAAS = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";")
AUTHZ = {
    "authorizer.class.name": AUTHORIZER,
    "super.users": "User:admin;User:ANONYMOUS",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "3",
}

TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED = 29, 30, 31
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53


@pytest.fixture
def authz_server(make_server):
    return start_sasl_server(make_server, extra=AUTHZ, scram_over_tls=USERS)


def acls(bootstrap, *args):
    """`flotilla acls` as User:ANONYMOUS (a super user) on the PLAINTEXT listener."""
    p = run_tool("acls", "--bootstrap-server", bootstrap, *args, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def create_topic(s, topic, partitions=1):
    run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", topic, "--partitions", str(partitions),
             "--replication-factor", "1")


def ck_conf(s, user, **extra):
    """librdkafka's settings for `user`: SCRAM-SHA-512 over SASL_SSL where the
    node has that listener, else PLAIN over SASL_PLAINTEXT (the 3-broker tests)."""
    if hasattr(s, "secure"):
        security = {"bootstrap.servers": s.secure, "security.protocol": "SASL_SSL", "ssl.ca.location": s.ca,
                    "sasl.mechanism": "SCRAM-SHA-512"}
    else:
        security = {"bootstrap.servers": s.sasl, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
    return {**security, "sasl.username": user, "sasl.password": USERS[user], **extra}


def ck_produce(s, user, topic, n=5, **extra):
    """Produces n records; returns the delivery error codes (None for a success) and the error_cb (code, text)s."""
    ck = pytest.importorskip("confluent_kafka")
    errors, results = [], []
    p = ck.Producer(ck_conf(s, user, error_cb=lambda e: errors.append((e.code(), e.str())), **extra))
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(),
                  on_delivery=lambda err, msg: results.append(err.code() if err else None))
    try:
        p.flush(20)
    except ck.KafkaException as e:  # a fatal error (idempotence refused) surfaces here
        errors.append((e.args[0].code(), e.args[0].str()))
    return results, errors


def ck_consume(s, user, topic, group, n, timeout=20):
    """Consumes up to n records with a group; returns (values, error codes seen)."""
    ck = pytest.importorskip("confluent_kafka")
    c = ck.Consumer(ck_conf(s, user, **{"group.id": group, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    seen, errors = [], []
    deadline = time.time() + timeout
    while len(seen) < n and time.time() < deadline:
        m = c.poll(0.3)
        if m is None:
            continue
        if m.error():
            errors.append(m.error().code())
            if errors.count(m.error().code()) >= 3:
                break
            continue
        seen.append(m.value().decode())
    c.close()
    return seen, errors


# ---------------------------------------------------------------- raw wire helpers (SASL PLAIN, then requests)

def sasl_socket(addr, user):
    s = connect(addr)
    err, _ = handshake(s, "PLAIN")
    assert err == 0
    err, msg, _, _ = authenticate(s, plain(user, USERS[user]))
    assert err == 0, msg
    return s


def metadata_v1(s, topics, corr=10):
    """Metadata v1 on an open socket: {topic: error code} (topics None: all)."""
    body = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)
    request(s, 3, 1, body, correlation_id=corr)
    r = response(s)
    pos = 4
    n = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    for _ in range(n):
        pos += 4
        hl = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2 + hl + 4
        rl = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2 + max(rl, 0)
    pos += 4  # controller id
    out = {}
    n = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    for _ in range(n):
        err = struct.unpack(">h", r[pos:pos + 2])[0]
        nl = struct.unpack(">h", r[pos + 2:pos + 4])[0]
        name = r[pos + 4:pos + 4 + nl].decode()
        pos += 4 + nl + 1
        np_ = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        for _ in range(np_):
            pos += 2 + 4 + 4
            for _ in range(2):  # replicas, isr
                k = struct.unpack(">i", r[pos:pos + 4])[0]
                pos += 4 + 4 * k
        out[name] = err
    return out


def describe_error(addr, user, topic):
    with sasl_socket(addr, user) as s:
        return metadata_v1(s, [topic])[topic]


def api_versions_ok(s, corr):
    request(s, 18, 0, b"", correlation_id=corr)
    r = response(s)
    return struct.unpack(">ih", r[:6]) == (corr, 0)


# ---------------------------------------------------------------- allowed clients

def test_producer_and_consumer_with_their_acls_confluent_kafka(authz_server):
    s = authz_server
    create_topic(s, "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders", "--group", "g-bob")
    results, errors = ck_produce(s, "alice", "orders", n=20)
    assert results == [None] * 20, (results, errors)
    seen, errors = ck_consume(s, "bob", "orders", "g-bob", 20)
    assert seen == [f"v{i}" for i in range(20)], errors
    # bob committed offsets with READ on the group and the topic: a new consumer of the group starts after them.
    results, _ = ck_produce(s, "alice", "orders", n=1)
    seen, _ = ck_consume(s, "bob", "orders", "g-bob", 1)
    assert seen == ["v0"]


def test_producer_and_consumer_with_their_acls_kafka_python(authz_server):
    kafka = pytest.importorskip("kafka")
    s = authz_server
    create_topic(s, "kp-orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--producer", "--topic", "kp-orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:bob", "--consumer", "--topic", "kp-orders", "--group", "kp-g")

    def conf(user):
        return dict(bootstrap_servers=s.secure, security_protocol="SASL_SSL", ssl_cafile=s.ca, ssl_check_hostname=False,
                    sasl_mechanism="SCRAM-SHA-512",
                    sasl_plain_username=user, sasl_plain_password=USERS[user])

    p = kafka.KafkaProducer(**conf("alice"))
    for i in range(10):
        p.send("kp-orders", f"v{i}".encode()).get(timeout=20)
    p.close()
    c = kafka.KafkaConsumer("kp-orders", group_id="kp-g", auto_offset_reset="earliest", consumer_timeout_ms=10000, **conf("bob"))
    vals = [m.value.decode() for m in c]
    c.commit()
    c.close()
    assert vals == [f"v{i}" for i in range(10)]
    # bob without READ on the group: FindCoordinator is refused, kafka-python raises GroupAuthorizationFailedError.
    c = kafka.KafkaConsumer("kp-orders", group_id="kp-other", auto_offset_reset="earliest", consumer_timeout_ms=5000, **conf("bob"))
    with pytest.raises(kafka.errors.GroupAuthorizationFailedError):
        c.poll(timeout_ms=5000)
    c.close()
    # carol, with no ACL, is refused the topic: Metadata answers TOPIC_AUTHORIZATION_FAILED (kafka-python 2.0.2's
    # producer keeps asking until max.block.ms instead of raising TopicAuthorizationFailedError).
    p = kafka.KafkaProducer(max_block_ms=3000, **conf("carol"))
    with pytest.raises((kafka.errors.TopicAuthorizationFailedError, kafka.errors.KafkaTimeoutError)):
        p.send("kp-orders", b"x").get(timeout=10)
    p.close()
    assert "Principal = User:carol is Denied operation = DESCRIBE" in s.log_text()


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
def test_kcat_with_acls(authz_server):
    s = authz_server
    create_topic(s, "kc-orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "kc-orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "kc-orders")

    def sec(user):
        return ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={s.ca}", "-X", "sasl.mechanisms=SCRAM-SHA-512",
                "-X", f"sasl.username={user}",
                "-X", f"sasl.password={USERS[user]}"]

    p = subprocess.run(["kcat", "-b", s.secure, *sec("alice"), "-P", "-t", "kc-orders"], input="one\ntwo\nthree\n", text=True,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    c = subprocess.run(["kcat", "-b", s.secure, *sec("bob"), "-C", "-t", "kc-orders", "-o", "beginning", "-c", "3", "-e"],
                       text=True, capture_output=True, timeout=60)
    assert c.stdout.split() == ["one", "two", "three"], c.stderr
    # bob may not write; kcat reports the broker's error.
    w = subprocess.run(["kcat", "-b", s.secure, *sec("bob"), "-P", "-t", "kc-orders"], input="x\n", text=True,
                       capture_output=True, timeout=60)
    assert "Topic authorization failed" in w.stderr or "TOPIC_AUTHORIZATION_FAILED" in w.stderr, w.stderr


# ---------------------------------------------------------------- each missing permission, the client's error

def test_each_missing_permission_gives_the_documented_error(authz_server):
    ck = pytest.importorskip("confluent_kafka")
    s = authz_server
    create_topic(s, "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders")
    # No WRITE on the topic.
    results, _ = ck_produce(s, "carol", "orders", n=2)
    assert results == [ck.KafkaError.TOPIC_AUTHORIZATION_FAILED] * 2
    # READ on the topic but not on the group.
    _, errors = ck_consume(s, "bob", "orders", "g-none", 1, timeout=10)
    assert ck.KafkaError.GROUP_AUTHORIZATION_FAILED in errors, errors
    # A transactional producer without WRITE on its transactional id.
    p = ck.Producer(ck_conf(s, "alice", **{"transactional.id": "tx-alice"}))
    with pytest.raises(ck.KafkaException) as e:
        p.init_transactions(15)
    assert e.value.args[0].code() == ck.KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    # An idempotent producer without WRITE on any topic nor IDEMPOTENT_WRITE on the cluster.
    results, errors = ck_produce(s, "bob", "orders", n=1, **{"enable.idempotence": True, "message.timeout.ms": 8000})
    assert results != [None]
    assert any(c == ck.KafkaError.CLUSTER_AUTHORIZATION_FAILED or "Cluster authorization failed" in t for c, t in errors), errors


def test_admin_apis_need_their_cluster_and_topic_permissions(authz_server):
    ck = pytest.importorskip("confluent_kafka")
    from confluent_kafka.admin import AdminClient, NewTopic
    s = authz_server
    a = AdminClient(ck_conf(s, "carol"))
    f = a.create_topics([NewTopic("carol-t", num_partitions=1, replication_factor=1)], request_timeout=10)["carol-t"]
    with pytest.raises(ck.KafkaException) as e:
        f.result(15)
    assert e.value.args[0].code() == ck.KafkaError.TOPIC_AUTHORIZATION_FAILED
    # CREATE on the topic (PREFIXED) lets carol create it.
    acls(s.bootstrap, "--add", "--allow-principal", "User:carol", "--operation", "Create", "--topic", "carol-",
         "--resource-pattern-type", "prefixed")
    a.create_topics([NewTopic("carol-t", num_partitions=1, replication_factor=1)], request_timeout=10)["carol-t"].result(15)
    # The ACL APIs need ALTER / DESCRIBE on the cluster.
    p = run_tool("acls", "--bootstrap-server", s.secure, "--command-config", client_config(s, "carol"), "--list", check=False)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and ("ClusterAuthorization" in out or "Cluster authorization" in out), out


def client_config(s, user):
    path = os.path.join(os.path.dirname(s.config), f"{user}.properties")
    with open(path, "w") as f:
        f.write(f"security.protocol=SASL_SSL\nssl.truststore.type=PEM\nssl.truststore.location={s.ca}\n"
                "sasl.mechanism=SCRAM-SHA-512\n"
                f'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required '
                f'username="{user}" password="{USERS[user]}";\n')
    return path


def test_idempotent_and_transactional_producers_need_exactly_kafkas_permissions(authz_server):
    ck = pytest.importorskip("confluent_kafka")
    s = authz_server
    create_topic(s, "orders")
    # Idempotence: WRITE on a topic is enough (KIP-679), no IDEMPOTENT_WRITE needed.
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    results, errors = ck_produce(s, "alice", "orders", n=5, **{"enable.idempotence": True})
    assert results == [None] * 5, (results, errors)
    # Transactions: WRITE on the transactional id and on the topic.
    acls(s.bootstrap, "--add", "--allow-principal", "User:dave", "--operation", "Write", "--topic", "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:dave", "--operation", "Write", "--transactional-id", "tx-dave")
    p = ck.Producer(ck_conf(s, "dave", **{"transactional.id": "tx-dave"}))
    p.init_transactions(20)
    p.begin_transaction()
    for i in range(3):
        p.produce("orders", value=f"t{i}".encode())
    p.commit_transaction(20)
    # A committed transaction is visible to a read_committed reader allowed to read.
    acls(s.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders", "--group", "g-rc")
    c = ck.Consumer(ck_conf(s, "bob", **{"group.id": "g-rc", "auto.offset.reset": "earliest", "isolation.level": "read_committed"}))
    c.subscribe(["orders"])
    seen, deadline = [], time.time() + 20
    while len(seen) < 8 and time.time() < deadline:
        m = c.poll(0.3)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    assert sorted(seen) == sorted([f"v{i}" for i in range(5)] + ["t0", "t1", "t2"])


# ---------------------------------------------------------------- the rules: DENY wins, PREFIXED matches, Metadata

def test_deny_beats_allow_and_removal_takes_effect(authz_server):
    ck = pytest.importorskip("confluent_kafka")
    s = authz_server
    create_topic(s, "orders")
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    assert ck_produce(s, "alice", "orders", n=1)[0] == [None]
    acls(s.bootstrap, "--add", "--deny-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    assert ck_produce(s, "alice", "orders", n=1)[0] == [ck.KafkaError.TOPIC_AUTHORIZATION_FAILED]
    acls(s.bootstrap, "--remove", "--force", "--deny-principal", "User:alice", "--operation", "Write", "--topic", "orders")
    assert ck_produce(s, "alice", "orders", n=1)[0] == [None]


def test_prefixed_acls_match_names_that_start_with_them(authz_server):
    ck = pytest.importorskip("confluent_kafka")
    s = authz_server
    for t in ("pay-eu", "pay-us", "payroll"):
        create_topic(s, t)
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "pay-",
         "--resource-pattern-type", "prefixed")
    assert ck_produce(s, "alice", "pay-eu", n=1)[0] == [None]
    assert ck_produce(s, "alice", "pay-us", n=1)[0] == [None]
    assert ck_produce(s, "alice", "payroll", n=1)[0] == [ck.KafkaError.TOPIC_AUTHORIZATION_FAILED]


def test_metadata_shows_only_describable_topics(authz_server):
    pytest.importorskip("confluent_kafka")
    from confluent_kafka.admin import AdminClient
    s = authz_server
    for t in ("visible", "hidden", "also-hidden"):
        create_topic(s, t)
    acls(s.bootstrap, "--add", "--allow-principal", "User:carol", "--operation", "Describe", "--topic", "visible")
    topics = AdminClient(ck_conf(s, "carol")).list_topics(timeout=10).topics
    assert set(topics) == {"visible"}
    assert set(AdminClient(ck_conf(s, "admin")).list_topics(timeout=10).topics) >= {"visible", "hidden", "also-hidden"}
    # Asked by name, a topic carol may not describe is reported as such (not as missing).
    with sasl_socket(s.sasl, "carol") as sock:
        assert metadata_v1(sock, ["hidden", "visible", "no-such"]) == {
            "hidden": TOPIC_AUTHORIZATION_FAILED, "visible": 0, "no-such": TOPIC_AUTHORIZATION_FAILED}


def test_a_client_denied_everything_keeps_api_versions_sasl_and_metadata(authz_server):
    s = authz_server
    create_topic(s, "orders")
    with sasl_socket(s.sasl, "carol") as sock:
        assert api_versions_ok(sock, 3)
        assert metadata_v1(sock, None, corr=4) == {}  # every topic hidden, no error
        # Produce v3 to a topic carol may not write: TOPIC_AUTHORIZATION_FAILED, the connection stays.
        body = struct.pack(">h", -1) + struct.pack(">hi", 1, 5000) + struct.pack(">i", 1) + string("orders")
        batch = record_batch([b"x"])
        body += struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
        request(sock, 0, 3, body, correlation_id=5)
        r = response(sock)
        pos = 8 + 2 + len("orders") + 4
        _, err = struct.unpack(">ih", r[pos:pos + 6])
        assert err == TOPIC_AUTHORIZATION_FAILED
        # DescribeLogDirs v1: CLUSTER_AUTHORIZATION_FAILED (v3+ carry it; v1: no results).
        request(sock, 35, 1, struct.pack(">i", -1), correlation_id=6)
        r = response(sock)
        assert struct.unpack(">i", r[8:12])[0] == 0
        assert api_versions_ok(sock, 7)
    text = s.log_text()
    assert "Principal = User:carol is Denied operation = WRITE" in text and "(kafka.authorizer.logger)" in text


def test_controller_listener_accepts_quorum_rpcs_only_from_super_users(make_server):
    s = start_sasl_server(make_server, extra={**AUTHZ, "super.users": "User:admin"})
    # User:ANONYMOUS on the PLAINTEXT controller listener is not a super user.
    with connect(f"127.0.0.1:{s.cport}") as sock:
        # DescribeQuorum v0 (flexible): topics [__cluster_metadata [0]].
        name = b"__cluster_metadata"
        body = b"\x02" + bytes([len(name) + 1]) + name + b"\x02" + struct.pack(">i", 0) + b"\x00\x00\x00"
        request(sock, 55, 0, body, correlation_id=1, flexible_header=True)
        r = response(sock)
        assert struct.unpack(">i", r[:4])[0] == 1 and struct.unpack(">h", r[5:7])[0] == CLUSTER_AUTHORIZATION_FAILED
        # BrokerHeartbeat v0 (flexible): a broker's heartbeat, refused.
        request(sock, 63, 0, struct.pack(">iqq??", 1, 1, 0, False, False) + b"\x00", correlation_id=2, flexible_header=True)
        r = response(sock)
        assert struct.unpack(">i", r[:4])[0] == 2 and struct.unpack(">h", r[9:11])[0] == CLUSTER_AUTHORIZATION_FAILED
        assert api_versions_ok(sock, 3)  # still connected


# ---------------------------------------------------------------- a cluster: every broker, within a second, after restarts

def sasl_cluster(workdir, extra=None):
    """1 controller, 3 brokers, each broker with a SASL_PLAINTEXT listener (node.sasl)."""
    c = Cluster(workdir, controllers=1, brokers=3, extra={**AUTHZ, "sasl.enabled.mechanisms": "PLAIN", **(extra or {})})
    for b in c.brokers:
        b.sasl_port = free_port()
        b.sasl = f"127.0.0.1:{b.sasl_port}"
        b.props.update({
            "listeners": f"PLAINTEXT://127.0.0.1:{b.port},SASL_PLAINTEXT://127.0.0.1:{b.sasl_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{b.port},SASL_PLAINTEXT://127.0.0.1:{b.sasl_port}",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        })
        rewrite_config(b)
    return c


def wait_describe(brokers, user, topic, want, timeout=5.0):
    """Seconds until every broker answers `user`'s Metadata for `topic` with `want`."""
    t0 = time.monotonic()
    pending = list(brokers)
    while pending and time.monotonic() - t0 < timeout:
        pending = [b for b in pending if describe_error(b.sasl, user, topic) != want]
        if pending:
            time.sleep(0.02)
    assert not pending, f"brokers {[b.node_id for b in pending]} still answer otherwise after {timeout}s"
    return time.monotonic() - t0


def test_acls_reach_every_broker_within_a_second_and_survive_restarts(workdir):
    c = sasl_cluster(workdir)
    try:
        c.start()
        b0 = c.brokers[0]
        run_tool("topics", "--bootstrap-server", b0.bootstrap, "--create", "--topic", "orders", "--partitions", "3",
                 "--replication-factor", "3")
        wait_describe(c.brokers, "alice", "orders", TOPIC_AUTHORIZATION_FAILED)
        acls(b0.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
        assert wait_describe(c.brokers, "alice", "orders", 0) < 1.0
        # A broker that was down catches up with the ACLs written meanwhile.
        down = c.brokers[2]
        down.stop()
        acls(b0.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders")
        down.start()
        wait_describe([down], "bob", "orders", 0)
        # Every node restarted: the ACLs come back from the metadata log.
        for n in c.brokers + c.controllers:
            n.stop()
        c.start()
        wait_describe(c.brokers, "alice", "orders", 0)
        wait_describe(c.brokers, "bob", "orders", 0)
        assert describe_error(c.brokers[1].sasl, "carol", "orders") == TOPIC_AUTHORIZATION_FAILED
        # Removal reaches every broker as fast.
        acls(b0.bootstrap, "--remove", "--force", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
        assert wait_describe(c.brokers, "alice", "orders", TOPIC_AUTHORIZATION_FAILED) < 1.0
        # The replicas kept replicating throughout: inter-broker fetches are CLUSTER_ACTION of User:ANONYMOUS (super user).
        pytest.importorskip("confluent_kafka")
        acls(b0.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Write", "--topic", "orders")
        wait_describe(c.brokers, "alice", "orders", 0)
        results, errors = ck_produce(b0, "alice", "orders", n=10, acks="all")
        assert results == [None] * 10, (results, errors)
    finally:
        c.stop()


# Small metadata segments and snapshots, a short retention: a node that was
# down long enough must catch up through FetchSnapshot (as test_playground.py).
SNAPSHOTS = {
    "metadata.log.max.record.bytes.between.snapshots": "4096",
    "metadata.log.max.snapshot.interval.ms": "1000",
    "metadata.log.segment.min.bytes": "1024",  # test-only key: allows the small segment.bytes below
    "metadata.log.segment.bytes": "4096",
    "metadata.log.segment.ms": "1000",
    "metadata.max.retention.ms": "2000",
    "metadata.max.retention.bytes": "20000",
}


def metadata_segments(node):
    d = os.path.join(node.data, "__cluster_metadata-0")
    return sorted(int(n[:20]) for n in os.listdir(d) if n.endswith(".log"))


def leader_log_end(c):
    p = run_tool("metadata-quorum", "--bootstrap-controller", c.controllers[0].controller, "describe", "--replication")
    row = [line.split() for line in p.stdout.splitlines()[1:] if line.split() and line.split()[0] == str(c.controllers[0].node_id)]
    return int(row[0][2])


def test_a_broker_that_was_down_gets_the_acls_through_a_snapshot(workdir):
    c = sasl_cluster(workdir, extra=SNAPSHOTS)
    try:
        c.start()
        b0, down = c.brokers[0], c.brokers[2]
        run_tool("topics", "--bootstrap-server", b0.bootstrap, "--create", "--topic", "orders", "--replication-factor", "1")
        down.stop()
        gone_at = leader_log_end(c)  # the stopped broker's log ends at or before this
        acls(b0.bootstrap, "--add", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "orders")
        # More ACL records until the controller's log starts past what the stopped broker has.
        deadline, i = time.time() + 60, 0
        while metadata_segments(c.controllers[0])[0] <= gone_at and time.time() < deadline:
            principals = sum((["--allow-principal", f"User:p{i}-{k}"] for k in range(10)), [])
            topics = sum((["--topic", f"x{i}-{k}"] for k in range(5)), [])
            acls(b0.bootstrap, "--add", *principals, "--operation", "Read", "--operation", "Write", *topics)
            i += 1
            time.sleep(0.5)
        assert metadata_segments(c.controllers[0])[0] > gone_at, "the controller's metadata log was not cleaned"
        log_from = os.path.getsize(down.log_path)
        down.start()
        wait_describe([down], "bob", "orders", 0)
        assert describe_error(down.sasl, "carol", "orders") == TOPIC_AUTHORIZATION_FAILED
        assert "Installed snapshot" in down.log_text()[log_from:], down.log_text()[log_from:][-3000:]
    finally:
        c.stop()
