"""SASL_PLAINTEXT listeners: real clients (librdkafka, kafka-python, kcat,
KafkaJS, our own tools) authenticate with PLAIN and SCRAM; bad input closes
only the offending connection; a quorum whose controller listener is SASL."""
import json
import os
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import BIN, free_port, run_tool
from kafka_wire import connect, is_closed, recv_exact, request, response, string

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'user_alice="alice-secret" user_admin="admin-secret";')
SCRAM_USERS = {"SCRAM-SHA-256": ("sam", "sam-secret-256"), "SCRAM-SHA-512": ("sue", "sue-secret-512")}


def rewrite_config(s):
    with open(s.config, "w") as f:
        for k, v in s.props.items():
            f.write(f"{k}={v}\n")


def start_sasl_server(make_server, extra=None, format_args=(), scram_over_tls=None):
    """A combined node with a PLAINTEXT listener (for readiness checks) and a
    SASL_PLAINTEXT listener (s.sasl) enabling PLAIN and SCRAM.

    scram_over_tls ({user: password}): also a SASL_SSL listener (s.secure,
    certificate signed by the CA at s.ca) whose users have SCRAM-SHA-512
    credentials, bootstrapped into the metadata log by `storage format
    --add-scram`."""
    s = make_server(start=False)
    s.sasl_port = free_port()
    listeners = f"PLAINTEXT://127.0.0.1:{s.port},SASL_PLAINTEXT://127.0.0.1:{s.sasl_port}"
    protocols = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    if scram_over_tls:
        from pki import make_ca, make_cert
        d = os.path.join(s.dir, "pki")
        os.makedirs(d, exist_ok=True)
        make_ca(d, "ca")
        make_cert(d, "node", "/CN=node", "ca", san="IP:127.0.0.1,DNS:localhost")
        s.ca = os.path.join(d, "ca.pem")
        s.secure_port = free_port()
        s.secure = f"127.0.0.1:{s.secure_port}"
        listeners += f",SASL_SSL://127.0.0.1:{s.secure_port}"
        protocols += ",SASL_SSL:SASL_SSL"
        s.props.update({"ssl.keystore.type": "PEM", "ssl.keystore.location": os.path.join(d, "node-store.pem"),
                        "ssl.keystore.password": "", "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512"})
        format_args = tuple(format_args) + tuple(
            a for user, pw in scram_over_tls.items() for a in ("--add-scram", f"SCRAM-SHA-512=[name={user},password={pw}]"))
    s.props.update({
        "listeners": f"{listeners},CONTROLLER://127.0.0.1:{s.cport}",
        "advertised.listeners": listeners,
        "listener.security.protocol.map": protocols,
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "flotilla.connections.authentication.timeout.ms": "3000",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "group.initial.rebalance.delay.ms": "0",
    })
    s.props.update(extra or {})
    rewrite_config(s)
    s.cluster_id = run_tool("storage", "random-uuid").stdout.strip()
    run_tool("storage", "format", "--config", s.config, "--cluster-id", s.cluster_id, *format_args)
    s.start()
    s.sasl = f"127.0.0.1:{s.sasl_port}"
    return s


@pytest.fixture
def sasl_server(make_server):
    return start_sasl_server(make_server)


def create_topic(s, topic, partitions=1):
    run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", topic, "--partitions", str(partitions),
             "--replication-factor", "1")


def add_scram_users(s):
    """SCRAM users through the metadata log (configs --alter); skips when the
    tool does not know users yet."""
    for mech, (user, password) in SCRAM_USERS.items():
        p = run_tool("configs", "--bootstrap-server", s.bootstrap, "--alter", "--entity-type", "users", "--entity-name", user,
                     "--add-config", f"{mech}=[iterations=4096,password={password}]", check=False)
        if p.returncode != 0 and ("users" in p.stderr or "users" in p.stdout):
            pytest.skip(f"configs --entity-type users not available: {p.stderr.strip()[:200]}")
        assert p.returncode == 0, p.stdout + p.stderr
    time.sleep(0.5)


# ---------------------------------------------------------------- raw wire helpers

def handshake(s, mechanism, version=1, corr=1):
    request(s, 17, version, string(mechanism), correlation_id=corr)
    r = response(s)
    err = struct.unpack(">h", r[4:6])[0]
    n = struct.unpack(">i", r[6:10])[0]
    mechs, off = [], 10
    for _ in range(max(n, 0)):
        ln = struct.unpack(">h", r[off:off + 2])[0]
        mechs.append(r[off + 2:off + 2 + ln].decode())
        off += 2 + ln
    return err, mechs


def authenticate(s, token, corr=2):
    """SaslAuthenticate v1: (error_code, error_message, auth_bytes, session_lifetime_ms)."""
    request(s, 36, 1, struct.pack(">i", len(token)) + token, correlation_id=corr)
    r = response(s)
    err = struct.unpack(">h", r[4:6])[0]
    ln = struct.unpack(">h", r[6:8])[0]
    msg = r[8:8 + ln].decode() if ln >= 0 else None
    off = 8 + max(ln, 0)
    bl = struct.unpack(">i", r[off:off + 4])[0]
    auth = r[off + 4:off + 4 + bl]
    lifetime = struct.unpack(">q", r[off + 4 + bl:off + 12 + bl])[0]
    return err, msg, auth, lifetime


def plain(user, password):
    return b"\0" + user.encode() + b"\0" + password.encode()


def confluent_roundtrip(bootstrap, topic, mechanism, user, password, n=20):
    ck = pytest.importorskip("confluent_kafka")
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}
    p = ck.Producer(conf)
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(), key=f"k{i}".encode())
    assert p.flush(30) == 0
    c = ck.Consumer({**conf, "group.id": f"g-{topic}-{mechanism}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen = []
    deadline = time.time() + 30
    while len(seen) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    return seen


# ---------------------------------------------------------------- clients

def test_confluent_kafka_plain(sasl_server):
    create_topic(sasl_server, "ck-plain")
    seen = confluent_roundtrip(sasl_server.sasl, "ck-plain", "PLAIN", "alice", "alice-secret")
    assert seen[:3] == ["v0", "v1", "v2"] and len(seen) == 20


def test_confluent_kafka_wrong_password_fails(sasl_server):
    ck = pytest.importorskip("confluent_kafka")
    errors = []
    p = ck.Producer({"bootstrap.servers": sasl_server.sasl, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                     "sasl.username": "alice", "sasl.password": "nope", "error_cb": lambda e: errors.append(e)})
    deadline = time.time() + 10
    while not errors and time.time() < deadline:
        p.poll(0.2)
    assert errors and any(e.code() == ck.KafkaError._AUTHENTICATION for e in errors), errors
    log = sasl_server.log_text()
    assert "Failed authentication with 127.0.0.1" in log
    assert "nope" not in log and "alice-secret" not in log


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_kafka_scram(sasl_server, mechanism):
    add_scram_users(sasl_server)
    user, password = SCRAM_USERS[mechanism]
    topic = "ck-" + mechanism.lower()
    create_topic(sasl_server, topic)
    seen = confluent_roundtrip(sasl_server.sasl, topic, mechanism, user, password)
    assert len(seen) == 20 and seen[0] == "v0"
    ck = pytest.importorskip("confluent_kafka")
    errors = []
    p = ck.Producer({"bootstrap.servers": sasl_server.sasl, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
                     "sasl.username": user, "sasl.password": password + "x", "error_cb": lambda e: errors.append(e)})
    deadline = time.time() + 10
    while not errors and time.time() < deadline:
        p.poll(0.2)
    assert errors and any(e.code() == ck.KafkaError._AUTHENTICATION for e in errors), errors


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python(sasl_server, mechanism):
    kafka = pytest.importorskip("kafka")
    if mechanism == "PLAIN":
        user, password = "alice", "alice-secret"
    else:
        add_scram_users(sasl_server)
        user, password = SCRAM_USERS[mechanism]
    topic = "kp-" + mechanism.lower()
    create_topic(sasl_server, topic)
    conf = dict(bootstrap_servers=sasl_server.sasl, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                sasl_plain_username=user, sasl_plain_password=password, api_version=(2, 5, 0))
    p = kafka.KafkaProducer(**conf)
    for i in range(10):
        p.send(topic, f"v{i}".encode()).get(timeout=20)
    p.close()
    c = kafka.KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **conf)
    vals = [m.value.decode() for m in c]
    c.close()
    assert vals[:10] == [f"v{i}" for i in range(10)]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_kcat(sasl_server, mechanism):
    if mechanism == "PLAIN":
        user, password = "alice", "alice-secret"
    else:
        add_scram_users(sasl_server)
        user, password = SCRAM_USERS[mechanism]
    topic = "kcat-" + mechanism.lower()
    create_topic(sasl_server, topic)
    sec = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}",
           "-X", f"sasl.password={password}"]
    p = subprocess.run(["kcat", "-b", sasl_server.sasl, *sec, "-P", "-t", topic], input="one\ntwo\nthree\n", text=True,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    c = subprocess.run(["kcat", "-b", sasl_server.sasl, *sec, "-C", "-t", topic, "-o", "beginning", "-c", "3", "-e"],
                       text=True, capture_output=True, timeout=60)
    assert c.stdout.split() == ["one", "two", "three"], c.stderr
    bad = subprocess.run(["kcat", "-b", sasl_server.sasl, *sec[:-1], "sasl.password=wrong", "-L", "-m", "5"], text=True,
                         capture_output=True, timeout=60)
    assert bad.returncode != 0


def kafkajs_modules():
    for d in (os.path.join(JS, "node_modules"), os.environ.get("KAFKAJS_NODE_PATH", "")):
        if d and os.path.isdir(os.path.join(d, "kafkajs")):
            return d
    return None


@pytest.mark.skipif(shutil.which("node") is None or kafkajs_modules() is None,
                    reason="node or kafkajs not installed (make deps installs kafkajs with npm)")
@pytest.mark.parametrize("mechanism", ["plain", "scram-sha-256", "scram-sha-512"])
def test_kafkajs(sasl_server, mechanism):
    if mechanism == "plain":
        user, password = "alice", "alice-secret"
    else:
        add_scram_users(sasl_server)
        user, password = SCRAM_USERS[mechanism.upper()]
    topic = "kjs-" + mechanism
    create_topic(sasl_server, topic)
    env = dict(os.environ, NODE_PATH=kafkajs_modules())
    out = subprocess.run(["node", os.path.join(JS, "sasl.js"), sasl_server.sasl, topic, mechanism, user, password],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"ok": True, "records": 50}
    bad = subprocess.run(["node", os.path.join(JS, "sasl.js"), sasl_server.sasl, topic, mechanism, user, "wrong"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert json.loads(bad.stdout.strip().splitlines()[-1])["error"] == "KafkaJSSASLAuthenticationError"


def test_our_tools_with_command_config(sasl_server, workdir):
    cfg = os.path.join(workdir, "client.properties")
    with open(cfg, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required '
                'username="admin" password="admin-secret";\n')
    run_tool("topics", "--bootstrap-server", sasl_server.sasl, "--command-config", cfg, "--create", "--topic", "tools",
             "--partitions", "1", "--replication-factor", "1")
    listed = run_tool("topics", "--bootstrap-server", sasl_server.sasl, "--command-config", cfg, "--list")
    assert "tools" in listed.stdout.split()
    run_tool("console-producer", "--bootstrap-server", sasl_server.sasl, "--producer.config", cfg, "--topic", "tools",
             input="a\nb\nc\n")
    c = run_tool("console-consumer", "--bootstrap-server", sasl_server.sasl, "--consumer.config", cfg, "--topic", "tools",
                 "--from-beginning", "--max-messages", "3", "--timeout-ms", "10000")
    assert c.stdout.split() == ["a", "b", "c"]
    # librdkafka-style names work too.
    cfg2 = os.path.join(workdir, "client2.properties")
    with open(cfg2, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=alice-secret\n")
    run_tool("configs", "--bootstrap-server", sasl_server.sasl, "--command-config", cfg2, "--describe", "--entity-type", "topics",
             "--entity-name", "tools")
    # Wrong password: the tool fails with Kafka's error, and shows no secret.
    bad = os.path.join(workdir, "bad.properties")
    with open(bad, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=hunter2\n")
    p = run_tool("topics", "--bootstrap-server", sasl_server.sasl, "--command-config", bad, "--list", check=False)
    assert p.returncode != 0
    assert "hunter2" not in p.stdout + p.stderr
    # Without a config the SASL port closes the tool's Metadata request: it fails, it does not hang.
    p = run_tool("topics", "--bootstrap-server", sasl_server.sasl, "--list", check=False, timeout=60)
    assert p.returncode != 0


def test_add_scram_at_format_bootstraps_an_admin(make_server, workdir):
    s = start_sasl_server(make_server, format_args=("--add-scram", "SCRAM-SHA-512=[name=root,password=root-secret]"))
    cfg = os.path.join(workdir, "root.properties")
    with open(cfg, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
                'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required '
                'username="root" password="root-secret";\n')
    run_tool("topics", "--bootstrap-server", s.sasl, "--command-config", cfg, "--create", "--topic", "first",
             "--partitions", "1", "--replication-factor", "1")
    assert "first" in run_tool("topics", "--bootstrap-server", s.sasl, "--command-config", cfg, "--list").stdout.split()
    with open(cfg, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=root\nsasl.password=wrong\n")
    p = run_tool("topics", "--bootstrap-server", s.sasl, "--command-config", cfg, "--list", check=False)
    assert p.returncode != 0 and "wrong" not in p.stdout + p.stderr


def test_scram_user_deleted_cannot_log_in(sasl_server):
    add_scram_users(sasl_server)
    user, password = SCRAM_USERS["SCRAM-SHA-256"]
    run_tool("configs", "--bootstrap-server", sasl_server.bootstrap, "--alter", "--entity-type", "users", "--entity-name", user,
             "--delete-config", "SCRAM-SHA-256")
    time.sleep(0.5)
    s = connect(sasl_server.sasl)
    assert handshake(s, "SCRAM-SHA-256")[0] == 0
    first = b"n,,n=" + user.encode() + b",r=abcdefghijklmnop"
    err, _, server_first, _ = authenticate(s, first)
    if err == 0:  # an unknown user is challenged like a known one (no enumeration): fails at the proof
        nonce = [x for x in server_first.split(b",") if x.startswith(b"r=")][0]
        final = b"c=biws," + nonce + b",p=" + b"AAAA" * 11
        err, _, _, _ = authenticate(s, final, corr=3)
    assert err == 58
    assert is_closed(s)


# ---------------------------------------------------------------- bad input

def test_wrong_password_and_unknown_user_look_alike(sasl_server):
    answers = []
    for user, password in (("alice", "wrong"), ("nobody", "alice-secret")):
        s = connect(sasl_server.sasl)
        assert handshake(s, "PLAIN") == (0, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
        err, msg, _, _ = authenticate(s, plain(user, password))
        assert err == 58  # SASL_AUTHENTICATION_FAILED
        answers.append(msg)
        assert is_closed(s)
        s.close()
    assert answers[0] == answers[1] and answers[0]
    log = sasl_server.log_text()
    assert log.count("Failed authentication with 127.0.0.1") >= 2
    assert "alice-secret" not in log


def test_unsupported_mechanism_lists_enabled_ones(sasl_server):
    s = connect(sasl_server.sasl)
    err, mechs = handshake(s, "GSSAPI")
    assert err == 33 and mechs == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]  # UNSUPPORTED_SASL_MECHANISM
    assert is_closed(s)


def test_metadata_before_authentication_closes(sasl_server):
    s = connect(sasl_server.sasl)
    request(s, 3, 1, struct.pack(">i", -1))  # Metadata v1, all topics
    assert is_closed(s)
    assert "Unexpected Kafka request of type Metadata during SASL handshake" in sasl_server.log_text()
    # ApiVersions is allowed first, then a successful PLAIN login serves Metadata.
    s = connect(sasl_server.sasl)
    request(s, 18, 0, b"")
    assert struct.unpack(">h", response(s)[4:6])[0] == 0
    assert handshake(s, "PLAIN", corr=2)[0] == 0
    assert authenticate(s, plain("alice", "alice-secret"), corr=3)[0] == 0
    request(s, 3, 1, struct.pack(">i", -1), correlation_id=4)
    assert struct.unpack(">i", response(s)[:4])[0] == 4


def test_v0_handshake_raw_tokens(sasl_server):
    s = connect(sasl_server.sasl)
    assert handshake(s, "PLAIN", version=0)[0] == 0
    tok = plain("alice", "alice-secret")
    s.sendall(struct.pack(">i", len(tok)) + tok)
    assert recv_exact(s, 4) == b"\0\0\0\0"
    request(s, 3, 1, struct.pack(">i", -1), correlation_id=9)
    assert struct.unpack(">i", response(s)[:4])[0] == 9
    # A wrong password after a v0 handshake: no error frame, just a closed connection.
    s2 = connect(sasl_server.sasl)
    handshake(s2, "PLAIN", version=0)
    tok = plain("alice", "wrong")
    s2.sendall(struct.pack(">i", len(tok)) + tok)
    assert is_closed(s2)


def test_garbage_and_oversized_tokens_close_only_that_connection(sasl_server):
    create_topic(sasl_server, "survivor")
    good = connect(sasl_server.sasl)
    assert handshake(good, "PLAIN")[0] == 0
    assert authenticate(good, plain("alice", "alice-secret"))[0] == 0

    g = connect(sasl_server.sasl)
    assert handshake(g, "SCRAM-SHA-256")[0] == 0
    err, msg, _, _ = authenticate(g, os.urandom(200))
    assert err == 58
    assert is_closed(g)

    big = connect(sasl_server.sasl)
    assert handshake(big, "PLAIN")[0] == 0
    request(big, 36, 1, struct.pack(">i", 100000) + b"x" * 100000, correlation_id=2)
    assert is_closed(big)

    junk = connect(sasl_server.sasl)
    junk.sendall(struct.pack(">i", 12) + os.urandom(12))
    assert is_closed(junk)

    request(good, 3, 1, struct.pack(">i", -1), correlation_id=7)
    assert struct.unpack(">i", response(good)[:4])[0] == 7
    assert len(confluent_roundtrip(sasl_server.sasl, "survivor", "PLAIN", "alice", "alice-secret", n=5)) == 5


def test_half_open_connections_do_not_block_clients_and_time_out(sasl_server):
    idle = []
    for _ in range(200):
        idle.append(socket.create_connection(("127.0.0.1", sasl_server.sasl_port), timeout=5))
    try:
        create_topic(sasl_server, "busy")
        t0 = time.time()
        assert len(confluent_roundtrip(sasl_server.sasl, "busy", "PLAIN", "alice", "alice-secret", n=10)) == 10
        assert time.time() - t0 < 30
        # flotilla.connections.authentication.timeout.ms=3000: every idle one is dropped.
        deadline = time.time() + 15
        for s in idle:
            assert is_closed(s, timeout=max(0.1, deadline - time.time()))
    finally:
        for s in idle:
            s.close()
    assert "not authenticated within" in sasl_server.log_text()


def test_reauthentication_session_lifetime(make_server):
    s = start_sasl_server(make_server, {"connections.max.reauth.ms": "1500"})
    c = connect(s.sasl)
    assert handshake(c, "PLAIN")[0] == 0
    err, _, _, lifetime = authenticate(c, plain("alice", "alice-secret"))
    assert err == 0 and lifetime == 1500
    request(c, 3, 1, struct.pack(">i", -1), correlation_id=3)
    response(c)
    # Re-authenticating as someone else is refused.
    assert handshake(c, "PLAIN", corr=4)[0] == 0
    err, msg, _, _ = authenticate(c, plain("admin", "admin-secret"), corr=5)
    assert err == 58 and "principal" in msg
    assert is_closed(c)
    # An expired session gets the connection closed at its next request.
    c = connect(s.sasl)
    handshake(c, "PLAIN")
    authenticate(c, plain("alice", "alice-secret"))
    time.sleep(1.7)
    request(c, 3, 1, struct.pack(">i", -1), correlation_id=3)
    assert is_closed(c)
    # librdkafka 2.0 does not re-authenticate (KIP-368 came in 2.2): it
    # reconnects when an expired session is closed, and keeps working.
    create_topic(s, "reauth")
    assert len(confluent_roundtrip(s.sasl, "reauth", "PLAIN", "alice", "alice-secret", n=5)) == 5


def test_startup_fails_without_a_supported_mechanism(make_server):
    s = make_server(start=False)
    sp = free_port()
    s.props.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{s.port},SASL_PLAINTEXT://127.0.0.1:{sp},CONTROLLER://127.0.0.1:{s.cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.port},SASL_PLAINTEXT://127.0.0.1:{sp}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    })  # sasl.enabled.mechanisms defaults to GSSAPI
    rewrite_config(s)
    s.format()
    p = subprocess.run([BIN, "server", s.config], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "enables no SASL mechanism Flotilla implements (GSSAPI" in p.stdout + p.stderr


# ---------------------------------------------------------------- a quorum over SASL

def test_three_controllers_with_a_sasl_controller_listener(cluster, workdir):
    jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="node" password="node-secret" '
            'user_node="node-secret";')
    c = cluster(controllers=3, brokers=1, extra={
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": jaas,
    })
    broker = c.brokers[0]
    run_tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "q", "--partitions", "2",
             "--replication-factor", "1")
    run_tool("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", "q", input="x\ny\n")
    cfg = os.path.join(workdir, "ctl.properties")
    with open(cfg, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=node\nsasl.password=node-secret\n")
    st = run_tool("metadata-quorum", "--bootstrap-controller", c.controllers[0].controller, "--command-config", cfg,
                  "describe", "--status")
    assert "LeaderId:" in st.stdout
    leader = int(st.stdout.split("LeaderId:")[1].split()[0])
    assert leader in (1, 2, 3)
    # Without credentials the controller port serves nothing but the handshake.
    s = connect(c.controllers[0].controller)
    request(s, 55, 0, b"")  # DescribeQuorum
    assert is_closed(s)
    for n in c.controllers:
        assert "Failed authentication" not in n.log_text()
