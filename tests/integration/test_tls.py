"""SSL and SASL_SSL listeners: real clients (librdkafka, kafka-python, kcat,
KafkaJS, our own tools) over TLS with server-only and mutual authentication, SASL
inside TLS, a quorum whose controller listener is SSL, and bad input that
closes only the offending connection. Certificates are made with `openssl`."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BIN, Cluster, free_port, run_tool
from kafka_wire import api_versions, connect, is_closed, request, response
from pki import make_ca, make_cert

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
              'user_alice="alice-secret" user_admin="admin-secret";')
SCRAM_USER = ("sue", "sue-secret-512")
SCRAM256_USER = ("sam", "sam-secret-256")
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "evil")
    make_cert(d, "server", "/CN=localhost", "ca", san="IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "/CN=alice/O=Example", "ca")
    make_cert(d, "intruder", "/CN=mallory", "evil")
    p = lambda n: os.path.join(d, n)  # noqa: E731
    return {"dir": d, "ca": p("ca.pem"), "server_p12": p("server.p12"), "server_pem": p("server-store.pem"),
            "client_p12": p("client.p12"), "client_pem": p("client.pem"), "client_key": p("client.key"),
            "client_store": p("client-store.pem"), "intruder_pem": p("intruder.pem"), "intruder_key": p("intruder.key")}


def rewrite_config(s):
    with open(s.config, "w") as f:
        for k, v in s.props.items():
            f.write(f"{k}={v}\n")


def start_tls_server(make_server, pki, client_auth="none", extra=None, scram=False):
    """A combined node with PLAINTEXT (readiness checks, s.bootstrap), SSL (s.ssl)
    and SASL_SSL (s.sasl_ssl) listeners; the SSL listener's key store is
    PKCS12, the SASL_SSL one's PEM."""
    s = make_server(start=False)
    s.ssl_port, s.sasl_ssl_port = free_port(), free_port()
    s.props.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{s.port},SSL://127.0.0.1:{s.ssl_port},SASL_SSL://127.0.0.1:{s.sasl_ssl_port},"
                     f"CONTROLLER://127.0.0.1:{s.cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.port},SSL://127.0.0.1:{s.ssl_port},"
                                f"SASL_SSL://127.0.0.1:{s.sasl_ssl_port}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": pki["server_p12"],
        "ssl.keystore.password": "server-pass",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": pki["ca"],
        "listener.name.ssl.ssl.client.auth": client_auth,
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": pki["server_pem"],
        "listener.name.sasl_ssl.ssl.keystore.password": "",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
        "flotilla.connections.authentication.timeout.ms": "3000",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
    })
    s.props.update(extra or {})
    rewrite_config(s)
    s.cluster_id = run_tool("storage", "random-uuid").stdout.strip()
    fmt = run_tool("storage", "format", "--config", s.config, "--cluster-id", s.cluster_id, "--add-scram",
                   f"SCRAM-SHA-512=[name={SCRAM_USER[0]},password={SCRAM_USER[1]}]", check=False) if scram else None
    s.scram = bool(fmt and fmt.returncode == 0)
    if not s.scram:
        s.format(s.cluster_id)
    s.start()
    s.ssl = f"127.0.0.1:{s.ssl_port}"
    s.sasl_ssl = f"127.0.0.1:{s.sasl_ssl_port}"
    return s


@pytest.fixture
def tls_server(make_server, pki):
    return start_tls_server(make_server, pki, scram=True)


@pytest.fixture
def mtls_server(make_server, pki):
    return start_tls_server(make_server, pki, client_auth="required")


def create_topic(s, topic, partitions=1):
    run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", topic, "--partitions", str(partitions),
             "--replication-factor", "1")


def confluent_roundtrip(conf, topic, n=30):
    ck = pytest.importorskip("confluent_kafka")
    errors = []
    p = ck.Producer({**conf, "error_cb": lambda e: errors.append(e)})
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode() * 50)
    assert p.flush(20) == 0, errors
    c = ck.Consumer({**conf, "group.id": "g-" + topic, "auto.offset.reset": "earliest", "error_cb": lambda e: errors.append(e)})
    c.subscribe([topic])
    got = []
    deadline = time.time() + 30
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    assert sorted(got) == sorted(f"v{i}".encode() * 50 for i in range(n)), errors


def tls_socket(addr, cert=None, key=None, ca=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    host, port = addr.rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=5)
    return ctx.wrap_socket(raw, server_hostname=host)


def tls_api_versions_ok(s):
    request(s, 18, 0, b"")
    r = response(s)
    return r[4:6] == b"\x00\x00"


# ------------------------------------------------------------------ SSL, server authentication only

def test_confluent_kafka_ssl_pem_truststore(tls_server, pki):
    create_topic(tls_server, "ssl-ck", partitions=2)
    confluent_roundtrip({"bootstrap.servers": tls_server.ssl, "security.protocol": "SSL", "ssl.ca.location": pki["ca"]},
                        "ssl-ck")
    assert "TLS handshake failed" not in tls_server.log_text()


def test_client_verifies_the_server(tls_server, pki):
    # A client trusting another CA refuses the server: nothing gets through.
    ck = pytest.importorskip("confluent_kafka")
    evil_ca = os.path.join(pki["dir"], "evil.pem")
    errors = []
    p = ck.Producer({"bootstrap.servers": tls_server.ssl, "security.protocol": "SSL", "ssl.ca.location": evil_ca,
                     "error_cb": lambda e: errors.append(e), "message.timeout.ms": 3000})
    md_ok = True
    try:
        p.list_topics(timeout=3)
    except ck.KafkaException:
        md_ok = False
    assert not md_ok
    p.poll(1)
    assert any("certificate verify failed" in str(e) for e in errors), errors
    # The server sees the client's alert and logs it with the client's address.
    assert "TLS handshake failed" in tls_server.log_text()


def test_kafka_python_ssl(tls_server, pki):
    kafka = pytest.importorskip("kafka")
    create_topic(tls_server, "ssl-kp")
    conf = {"bootstrap_servers": tls_server.ssl, "security_protocol": "SSL", "ssl_cafile": pki["ca"]}
    p = kafka.KafkaProducer(**conf)
    for i in range(10):
        p.send("ssl-kp", f"m{i}".encode())
    p.flush(timeout=20)
    p.close()
    c = kafka.KafkaConsumer("ssl-kp", auto_offset_reset="earliest", consumer_timeout_ms=10000, **conf)
    got = [m.value for m in c][:10]
    c.close()
    assert got == [f"m{i}".encode() for i in range(10)]


def test_kcat_ssl(tls_server, pki):
    create_topic(tls_server, "ssl-kcat")
    sec = ["-X", "security.protocol=SSL", "-X", f"ssl.ca.location={pki['ca']}"]
    subprocess.run(["kcat", "-b", tls_server.ssl, *sec, "-P", "-t", "ssl-kcat"], input="a\nb\nc\n", text=True, check=True,
                   timeout=30, capture_output=True)
    out = subprocess.run(["kcat", "-b", tls_server.ssl, *sec, "-C", "-t", "ssl-kcat", "-o", "beginning", "-e", "-q"],
                         text=True, timeout=30, capture_output=True, check=True)
    assert out.stdout.split() == ["a", "b", "c"]


def test_our_tools_over_ssl(tls_server, pki, workdir):
    cfg = os.path.join(workdir, "ssl.properties")
    with open(cfg, "w") as f:
        f.write(f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={pki['ca']}\n")
    run_tool("topics", "--bootstrap-server", tls_server.ssl, "--command-config", cfg, "--create", "--topic", "tools-ssl",
             "--partitions", "1", "--replication-factor", "1")
    listed = run_tool("topics", "--bootstrap-server", tls_server.ssl, "--command-config", cfg, "--list")
    assert "tools-ssl" in listed.stdout.split()


# ------------------------------------------------------------------ mutual TLS

def test_mtls_clients_with_pem_and_pkcs12(mtls_server, pki):
    create_topic(mtls_server, "mtls", partitions=2)
    create_topic(mtls_server, "mtls2")
    confluent_roundtrip({"bootstrap.servers": mtls_server.ssl, "security.protocol": "SSL", "ssl.ca.location": pki["ca"],
                         "ssl.certificate.location": pki["client_pem"], "ssl.key.location": pki["client_key"]}, "mtls")
    confluent_roundtrip({"bootstrap.servers": mtls_server.ssl, "security.protocol": "SSL", "ssl.ca.location": pki["ca"],
                         "ssl.keystore.location": pki["client_p12"], "ssl.keystore.password": "client-pass"}, "mtls2")


def test_mtls_kafka_python_and_kcat(mtls_server, pki):
    kafka = pytest.importorskip("kafka")
    create_topic(mtls_server, "mtls-kp")
    conf = {"bootstrap_servers": mtls_server.ssl, "security_protocol": "SSL", "ssl_cafile": pki["ca"],
            "ssl_certfile": pki["client_pem"], "ssl_keyfile": pki["client_key"]}
    p = kafka.KafkaProducer(**conf)
    p.send("mtls-kp", b"hello")
    p.flush(timeout=20)
    p.close()
    sec = ["-X", "security.protocol=SSL", "-X", f"ssl.ca.location={pki['ca']}", "-X",
           f"ssl.certificate.location={pki['client_pem']}", "-X", f"ssl.key.location={pki['client_key']}"]
    out = subprocess.run(["kcat", "-b", mtls_server.ssl, *sec, "-C", "-t", "mtls-kp", "-o", "beginning", "-e", "-q"],
                         text=True, timeout=30, capture_output=True, check=True)
    assert out.stdout.split() == ["hello"]


def test_mtls_without_or_with_untrusted_cert_closes_only_that_connection(mtls_server, pki):
    good = tls_socket(mtls_server.ssl, pki["client_pem"], pki["client_key"], pki["ca"])
    assert tls_api_versions_ok(good)
    for cert, key in ((None, None), (pki["intruder_pem"], pki["intruder_key"])):
        try:
            s = tls_socket(mtls_server.ssl, cert, key, pki["ca"])
            # TLS 1.3: the server's verdict arrives after the client's handshake finished.
            request(s, 18, 0, b"")
            with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
                response(s)
        except (ssl.SSLError, ConnectionError, OSError):
            pass
    assert tls_api_versions_ok(good)
    good.close()
    deadline = time.time() + 5
    while time.time() < deadline and mtls_server.log_text().count("TLS handshake failed") < 2:
        time.sleep(0.1)
    log = mtls_server.log_text()
    assert log.count("TLS handshake failed") >= 2, log[-3000:]
    assert "from 127.0.0.1:" in log


def test_mtls_client_keystore_in_our_tools(mtls_server, pki, workdir):
    for i, store in enumerate((f"ssl.keystore.type=PKCS12\nssl.keystore.location={pki['client_p12']}\n"
                               f"ssl.keystore.password=client-pass\n",
                               f"ssl.keystore.type=PEM\nssl.keystore.location={pki['client_store']}\n")):
        cfg = os.path.join(workdir, f"mtls{i}.properties")
        with open(cfg, "w") as f:
            f.write(f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={pki['ca']}\n" + store)
        run_tool("topics", "--bootstrap-server", mtls_server.ssl, "--command-config", cfg, "--create", "--topic",
                 f"mtls-tools{i}", "--partitions", "1", "--replication-factor", "1")


# ------------------------------------------------------------------ SASL inside TLS

def test_sasl_ssl_plain_confluent_and_kcat(tls_server, pki):
    create_topic(tls_server, "sasl-ssl")
    confluent_roundtrip({"bootstrap.servers": tls_server.sasl_ssl, "security.protocol": "SASL_SSL", "ssl.ca.location": pki["ca"],
                         "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret"}, "sasl-ssl")
    sec = ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={pki['ca']}", "-X", "sasl.mechanisms=PLAIN",
           "-X", "sasl.username=admin", "-X", "sasl.password=admin-secret"]
    out = subprocess.run(["kcat", "-b", tls_server.sasl_ssl, *sec, "-L", "-t", "sasl-ssl"], text=True, timeout=30,
                         capture_output=True)
    assert out.returncode == 0 and "sasl-ssl" in out.stdout, out.stderr
    bad = subprocess.run(["kcat", "-b", tls_server.sasl_ssl, *sec[:-1], "sasl.password=wrong", "-L", "-m", "5"], text=True,
                         timeout=30, capture_output=True)
    assert bad.returncode != 0


def test_sasl_ssl_scram_sha512(tls_server, pki):
    create_topic(tls_server, "scram-ssl")
    user, password = SCRAM_USER
    if not tls_server.scram:  # no `storage format --add-scram` on this build: SCRAM users through configs --alter
        p = run_tool("configs", "--bootstrap-server", tls_server.bootstrap, "--alter", "--entity-type", "users", "--entity-name",
                     user, "--add-config", f"SCRAM-SHA-512=[iterations=4096,password={password}]", check=False)
        if p.returncode != 0:
            pytest.skip(f"no way to create SCRAM users on this build: {p.stderr.strip()[:200]}")
        time.sleep(0.5)
    confluent_roundtrip({"bootstrap.servers": tls_server.sasl_ssl, "security.protocol": "SASL_SSL", "ssl.ca.location": pki["ca"],
                         "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": password}, "scram-ssl")
    kafka = pytest.importorskip("kafka")
    p = kafka.KafkaProducer(bootstrap_servers=tls_server.sasl_ssl, security_protocol="SASL_SSL", ssl_cafile=pki["ca"],
                            sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=user, sasl_plain_password=password)
    p.send("scram-ssl", b"kp").get(timeout=20)
    p.close()


def sasl_ssl_user(s, mechanism):
    """The (user, password) of `mechanism` on the TLS fixture's SASL_SSL listener."""
    if mechanism == "PLAIN":
        return "alice", "alice-secret"
    if mechanism == "SCRAM-SHA-256":
        add_scram256_user(s)
        return SCRAM256_USER
    if not s.scram:
        pytest.skip("no `storage format --add-scram` on this build")
    return SCRAM_USER


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_and_kcat_over_sasl_ssl(tls_server, pki, mechanism):
    """The librdkafka-free client and kcat produce and consume over SASL_SSL with every mechanism."""
    kafka = pytest.importorskip("kafka")
    user, password = sasl_ssl_user(tls_server, mechanism)
    topic = "sasl-ssl-" + mechanism.lower()
    create_topic(tls_server, topic)
    conf = {"bootstrap_servers": tls_server.sasl_ssl, "security_protocol": "SASL_SSL", "ssl_cafile": pki["ca"],
            "sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password}
    p = kafka.KafkaProducer(**conf)
    for i in range(5):
        p.send(topic, f"kp{i}".encode())
    p.flush(timeout=20)
    p.close()
    sec = ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={pki['ca']}", "-X", f"sasl.mechanisms={mechanism}",
           "-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]
    subprocess.run(["kcat", "-b", tls_server.sasl_ssl, *sec, "-P", "-t", topic], input="kc0\nkc1\n", text=True, check=True,
                   timeout=30, capture_output=True)
    c = kafka.KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **conf)
    got = [m.value.decode() for m in c][:7]
    c.close()
    assert got == [f"kp{i}" for i in range(5)] + ["kc0", "kc1"]
    out = subprocess.run(["kcat", "-b", tls_server.sasl_ssl, *sec, "-C", "-t", topic, "-o", "beginning", "-e", "-q"],
                         text=True, timeout=30, capture_output=True, check=True)
    assert out.stdout.split() == got
    if mechanism == "SCRAM-SHA-256":  # PLAIN and SCRAM-SHA-512 have their confluent-kafka tests above
        create_topic(tls_server, topic + "-ck")
        confluent_roundtrip({"bootstrap.servers": tls_server.sasl_ssl, "security.protocol": "SASL_SSL",
                             "ssl.ca.location": pki["ca"], "sasl.mechanism": mechanism, "sasl.username": user,
                             "sasl.password": password}, topic + "-ck")


def test_our_tools_over_sasl_ssl(tls_server, pki, workdir):
    cfg = os.path.join(workdir, "sasl-ssl.properties")
    with open(cfg, "w") as f:
        f.write(f"security.protocol=SASL_SSL\nssl.truststore.type=PEM\nssl.truststore.location={pki['ca']}\n"
                "sasl.mechanism=PLAIN\nsasl.username=alice\nsasl.password=alice-secret\n")
    run_tool("topics", "--bootstrap-server", tls_server.sasl_ssl, "--command-config", cfg, "--create", "--topic",
             "tools-sasl-ssl", "--partitions", "1", "--replication-factor", "1")


# ------------------------------------------------------------------ KafkaJS (Node's TLS stack)

def kafkajs_modules():
    for d in (os.path.join(JS, "node_modules"), os.environ.get("KAFKAJS_NODE_PATH", "")):
        if d and os.path.isdir(os.path.join(d, "kafkajs")):
            return d
    return None


needs_kafkajs = pytest.mark.skipif(shutil.which("node") is None or kafkajs_modules() is None,
                                   reason="node or kafkajs not installed (make js-deps installs kafkajs with npm)")


def kafkajs_tls(bootstrap, topic, ca, cert=None, key=None, sasl=None):
    """Runs js/tls.js: produce 50 records, consume them back. Returns (exit code, last JSON line or None, output)."""
    args = ["node", os.path.join(JS, "tls.js"), bootstrap, topic, "--ca", ca]
    if cert:
        args += ["--cert", cert, "--key", key]
    if sasl:
        args += ["--sasl", *sasl]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=dict(os.environ, NODE_PATH=kafkajs_modules()))
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return out.returncode, result, out.stdout + out.stderr


@needs_kafkajs
def test_kafkajs_ssl(tls_server, pki):
    create_topic(tls_server, "kjs-ssl", partitions=2)
    code, result, text = kafkajs_tls(tls_server.ssl, "kjs-ssl", pki["ca"])
    assert code == 0, text
    assert result == {"ok": True, "records": 50}
    # A KafkaJS client trusting another CA refuses the server.
    code, result, text = kafkajs_tls(tls_server.ssl, "kjs-ssl", os.path.join(pki["dir"], "evil.pem"))
    assert code == 2 and result and not result["ok"], text


@needs_kafkajs
def test_kafkajs_mtls(mtls_server, pki):
    create_topic(mtls_server, "kjs-mtls", partitions=2)
    code, result, text = kafkajs_tls(mtls_server.ssl, "kjs-mtls", pki["ca"], pki["client_pem"], pki["client_key"])
    assert code == 0, text
    assert result == {"ok": True, "records": 50}
    # Without a client certificate the server closes the connection: KafkaJS cannot connect.
    code, result, text = kafkajs_tls(mtls_server.ssl, "kjs-mtls", pki["ca"])
    assert code == 2 and result and not result["ok"], text


def add_scram256_user(s):
    user, password = SCRAM256_USER
    p = run_tool("configs", "--bootstrap-server", s.bootstrap, "--alter", "--entity-type", "users", "--entity-name", user,
                 "--add-config", f"SCRAM-SHA-256=[iterations=4096,password={password}]", check=False)
    if p.returncode != 0:
        pytest.skip(f"no way to create SCRAM users on this build: {p.stderr.strip()[:200]}")
    time.sleep(0.5)


@needs_kafkajs
@pytest.mark.parametrize("mechanism", ["plain", "scram-sha-256", "scram-sha-512"])
def test_kafkajs_sasl_ssl(tls_server, pki, mechanism):
    if mechanism == "plain":
        user, password = "alice", "alice-secret"
    elif mechanism == "scram-sha-256":
        add_scram256_user(tls_server)
        user, password = SCRAM256_USER
    else:
        if not tls_server.scram:
            pytest.skip("no `storage format --add-scram` on this build")
        user, password = SCRAM_USER
    topic = "kjs-sasl-ssl-" + mechanism
    create_topic(tls_server, topic, partitions=2)
    code, result, text = kafkajs_tls(tls_server.sasl_ssl, topic, pki["ca"], sasl=(mechanism, user, password))
    assert code == 0, text
    assert result == {"ok": True, "records": 50}
    code, result, text = kafkajs_tls(tls_server.sasl_ssl, topic, pki["ca"], sasl=(mechanism, user, "not-the-pw-4711"))
    assert code == 2, text
    assert result["error"] == "KafkaJSSASLAuthenticationError", text
    assert "not-the-pw-4711" not in tls_server.log_text()


# ------------------------------------------------------------------ bad input

def test_plaintext_client_on_ssl_port_and_tls_client_on_plaintext_port(tls_server, pki):
    good = tls_socket(tls_server.ssl, ca=pki["ca"])
    assert tls_api_versions_ok(good)
    # A Kafka request in clear text on the TLS port: the handshake fails, that connection closes.
    s = connect(tls_server.ssl)
    request(s, 18, 0, b"")
    assert is_closed(s)
    # Garbage instead of a ClientHello (its first byte no TLS record type: random
    # bytes starting 0x14-0x17 read as a record header announcing more bytes,
    # and the server rightly waits for them).
    s = connect(tls_server.ssl)
    s.sendall(b"\xff" + os.urandom(2047))
    assert is_closed(s)
    # A TLS ClientHello on the PLAINTEXT port: a frame of absurd size, closed.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        tls_socket(tls_server.bootstrap, ca=pki["ca"])
    assert tls_api_versions_ok(good)
    err, _ = api_versions(tls_server.bootstrap)
    assert err == 0
    good.close()
    log = tls_server.log_text()
    assert "TLS handshake failed" in log and "from 127.0.0.1:" in log


def test_half_open_tls_connections_do_not_block_clients(tls_server, pki):
    idle = []
    try:
        for _ in range(200):
            idle.append(socket.create_connection(("127.0.0.1", tls_server.ssl_port), timeout=5))
        # Half of them start a handshake and stop mid-way.
        ctx = ssl.create_default_context(cafile=pki["ca"])
        for s in idle[:100]:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello
        good = tls_socket(tls_server.ssl, ca=pki["ca"])
        assert tls_api_versions_ok(good)
        good.close()
        # They are closed once the authentication timeout (3 s) passed.
        assert is_closed(idle[0], timeout=10)
        assert is_closed(idle[150], timeout=10)
        assert "no TLS handshake within" in tls_server.log_text()
        del ctx
    finally:
        for s in idle:
            s.close()


def test_bad_tls_config_fails_startup_naming_the_key(make_server, pki):
    s = make_server(start=False)
    port = free_port()
    s.props.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{s.port},SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{s.cport}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL",
        "listener.name.ssl.ssl.keystore.type": "PKCS12",
        "listener.name.ssl.ssl.keystore.location": pki["server_p12"],
        "listener.name.ssl.ssl.keystore.password": "not-the-password-xyz",
    })
    rewrite_config(s)
    s.format()
    s.start(wait=False)
    try:
        s.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("server with a wrong key store password started")
    log = s.log_text()
    assert s.proc.returncode != 0
    assert "ssl.keystore.password" in log, log[-2000:]
    assert "not-the-password-xyz" not in log


# ------------------------------------------------------------------ a quorum over TLS

def test_three_controllers_with_an_ssl_controller_listener(workdir, pki):
    c = Cluster(workdir, controllers=3, brokers=1, extra={
        "listener.security.protocol.map": "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT",
        "listener.name.controller.ssl.keystore.type": "PKCS12",
        "listener.name.controller.ssl.keystore.location": pki["server_p12"],
        "listener.name.controller.ssl.keystore.password": "server-pass",
        "listener.name.controller.ssl.truststore.type": "PEM",
        "listener.name.controller.ssl.truststore.location": pki["ca"],
    })
    try:
        for n in c.controllers:
            n.start(wait=False)
        b = c.brokers[0]
        b.start(wait=False)
        b.wait_ready(timeout=60)  # registered with the quorum through TLS
        run_tool("topics", "--bootstrap-server", b.bootstrap, "--create", "--topic", "q", "--partitions", "2",
                 "--replication-factor", "1")
        run_tool("console-producer", "--bootstrap-server", b.bootstrap, "--topic", "q", input="x\ny\n")
        out = run_tool("console-consumer", "--bootstrap-server", b.bootstrap, "--topic", "q", "--from-beginning",
                       "--max-messages", "2", "--timeout-ms", "15000")
        assert sorted(out.stdout.split()) == ["x", "y"]
        # The controller port speaks TLS only.
        s = tls_socket(c.controllers[0].controller, ca=pki["ca"])
        assert tls_api_versions_ok(s)
        s.close()
        for n in c.nodes:
            assert "TLS handshake with" not in n.log_text(), n.log_text()[-2000:]
    finally:
        c.stop()


# ------------------------------------------------------------------ dynamic key store update

def test_dynamic_keystore_update_applies_to_new_connections(make_server, pki):
    s = start_tls_server(make_server, pki)
    make_cert(pki["dir"], "server2", "/CN=localhost", "ca", san="IP:127.0.0.1,DNS:localhost")
    old = tls_socket(s.ssl, ca=pki["ca"])
    first = old.getpeercert(binary_form=True)
    assert tls_api_versions_ok(old)
    run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "brokers", "--entity-name", "1", "--alter",
             "--add-config", f"listener.name.ssl.ssl.keystore.location={os.path.join(pki['dir'], 'server2.p12')},"
                             "listener.name.ssl.ssl.keystore.password=server2-pass")
    deadline = time.time() + 10
    second = first
    while time.time() < deadline and second == first:
        n = tls_socket(s.ssl, ca=pki["ca"])
        second = n.getpeercert(binary_form=True)
        assert tls_api_versions_ok(n)
        n.close()
        time.sleep(0.2)
    assert second != first, "new connections still get the old certificate"
    assert tls_api_versions_ok(old)  # the existing connection keeps its context
    old.close()
    assert "server2-pass" not in s.log_text()


def test_dynamic_keystore_update_that_cannot_load_is_refused(make_server, pki):
    s = start_tls_server(make_server, pki)
    before = tls_socket(s.ssl, ca=pki["ca"]).getpeercert(binary_form=True)
    missing = os.path.join(pki["dir"], "missing.p12")
    p = run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "brokers", "--entity-name", "1", "--alter",
                 "--add-config", f"listener.name.ssl.ssl.keystore.location={missing},"
                                 "listener.name.ssl.ssl.keystore.password=some-pass", check=False)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "INVALID_REQUEST" in out or "InvalidRequest" in out, out
    assert "listener.name.ssl.ssl.keystore.location" in out and "some-pass" not in out
    # Nothing was written: the broker's dynamic configs do not name the bad store, and the listener is unchanged.
    d = run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "brokers", "--entity-name", "1", "--describe")
    assert "missing.p12" not in d.stdout
    assert tls_socket(s.ssl, ca=pki["ca"]).getpeercert(binary_form=True) == before
    # A wrong password for a real store is refused the same way.
    p = run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "brokers", "--entity-name", "1", "--alter",
                 "--add-config", f"listener.name.ssl.ssl.keystore.location={os.path.join(pki['dir'], 'server.p12')},"
                                 "listener.name.ssl.ssl.keystore.password=wrong-pass", check=False)
    assert p.returncode != 0 and "wrong-pass" not in p.stdout + p.stderr and "wrong-pass" not in s.log_text()
