"""Security of the HTTP listener: https:// with the node's TLS settings
(ssl.*, overridden by confluent.http.server.ssl.* and listener.name.http.ssl.*),
client certificates when ssl.client.auth=required, and HTTP Basic
authentication (kafka.rest.authentication.method=BASIC) against the SCRAM
users of the metadata image, with Kafka's ACLs deciding what a REST user sees.

Certificates come from pki.py (openssl); requests are made by curl."""
import json
import os
import subprocess
import time

import pytest

import pki
from conftest import free_port, run_tool

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
USERS = {"alice": "alice-secret-1", "bob": "bob-secret-2", "admin": "admin-secret-3"}


def curl(url, *args, timeout=15):
    """(status, headers, body) of one request; status 0 when curl itself failed (TLS refused ...)."""
    p = subprocess.run(["curl", "-sS", "-D", "-", "--max-time", "10", *args, url], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        return 0, {}, p.stderr
    head, _, body = p.stdout.partition("\n\n")  # text mode: CRLF read as \n
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


@pytest.fixture
def certs(workdir):
    d = os.path.join(workdir, "pki")
    os.makedirs(d)
    pki.make_ca(d, "ca")
    pki.make_cert(d, "server", "/CN=localhost", "ca", san="IP:127.0.0.1,DNS:localhost")
    pki.make_cert(d, "client", "/O=Example/OU=eng/CN=alice", "ca")
    pki.make_ca(d, "rogue")
    pki.make_cert(d, "mallory", "/CN=mallory", "rogue")
    return d


def https_server(make_server, certs, extra):
    port = free_port()
    s = make_server(extra={"http.listeners": f"https://127.0.0.1:{port}", **extra})
    s.http = f"https://127.0.0.1:{port}"
    return s


def test_https_uses_the_broker_ssl_settings(make_server, certs):
    s = https_server(make_server, certs, {"ssl.keystore.type": "PEM",
                                          "ssl.keystore.location": os.path.join(certs, "server-store.pem")})
    ca = os.path.join(certs, "ca.pem")
    status, headers, body = curl(s.http + "/metrics", "--cacert", ca)
    assert status == 200, body
    assert "text/plain" in headers.get("content-type", ""), headers
    assert "kafka_server_" in body  # the metrics themselves, over TLS
    # A client that does not trust the CA refuses the server (curl: certificate problem).
    status, _, err = curl(s.http + "/metrics", "--cacert", os.path.join(certs, "rogue.pem"))
    assert status == 0 and "certificate" in err.lower()
    # Plain HTTP on the https port gets no HTTP answer.
    status, _, _ = curl(s.http.replace("https://", "http://") + "/metrics")
    assert status == 0


@pytest.mark.parametrize("prefix", ["listener.name.http.", "confluent.http.server."])
def test_https_prefixed_keys_override_ssl(make_server, certs, prefix):
    # ssl.* names a key store that does not exist: the prefixed PKCS12 one must win.
    s = https_server(make_server, certs, {
        "ssl.keystore.type": "PEM", "ssl.keystore.location": os.path.join(certs, "missing.pem"),
        prefix + "ssl.keystore.type": "PKCS12",
        prefix + "ssl.keystore.location": os.path.join(certs, "server.p12"),
        prefix + "ssl.keystore.password": "server-pass",
    })
    status, _, body = curl(s.http + "/metrics", "--cacert", os.path.join(certs, "ca.pem"))
    assert status == 200, body
    assert "server-pass" not in s.log_text()


def test_https_bad_key_store_fails_startup_without_the_password(make_server, certs):
    port = free_port()
    s = make_server(extra={"http.listeners": f"https://127.0.0.1:{port}", "ssl.keystore.type": "PKCS12",
                           "ssl.keystore.location": os.path.join(certs, "server.p12"),
                           "ssl.keystore.password": "wrong-pass-XYZ"}, start=False)
    s.format()
    s.start(wait=False)
    s.proc.wait(timeout=30)
    assert s.proc.returncode != 0
    log = s.log_text()
    assert "ssl.keystore" in log and "HTTP listener" in log
    assert "wrong-pass-XYZ" not in log


def test_https_client_certificate_required(make_server, certs):
    s = https_server(make_server, certs, {
        "ssl.keystore.type": "PEM", "ssl.keystore.location": os.path.join(certs, "server-store.pem"),
        "ssl.truststore.type": "PEM", "ssl.truststore.location": os.path.join(certs, "ca.pem"),
        "ssl.client.auth": "required",
    })
    ca = os.path.join(certs, "ca.pem")
    status, _, _ = curl(s.http + "/metrics", "--cacert", ca)
    assert status == 0  # no client certificate: the handshake fails
    status, _, _ = curl(s.http + "/metrics", "--cacert", ca, "--cert", os.path.join(certs, "mallory.pem"),
                        "--key", os.path.join(certs, "mallory.key"))
    assert status == 0  # a certificate from a CA the trust store lacks
    status, _, body = curl(s.http + "/metrics", "--cacert", ca, "--cert", os.path.join(certs, "client.pem"),
                           "--key", os.path.join(certs, "client.key"))
    assert status == 200, body


def scram_args():
    args = []
    for user, pw in USERS.items():
        mech = "SCRAM-SHA-512" if user == "bob" else "SCRAM-SHA-256"
        args += ["--add-scram", f"{mech}=[name={user},password={pw}]"]
    return args


def basic_server(make_server, extra=None):
    port = free_port()
    s = make_server(extra={"http.listeners": f"http://127.0.0.1:{port}", "kafka.rest.authentication.method": "BASIC",
                           **(extra or {})}, start=False)
    s.format(args=scram_args())
    s.start()
    s.http = f"http://127.0.0.1:{port}"
    return s


def test_basic_auth_against_scram_users(make_server):
    s = basic_server(make_server, {"kafka.rest.authentication.realm": "FlotillaRest"})
    status, headers, body = curl(s.http + "/metrics")
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="FlotillaRest"'
    assert json.loads(body)["error_code"] == 40101  # kafka-rest's authentication error code
    status, headers, _ = curl(s.http + "/metrics", "-u", "alice:not-her-password")
    assert status == 401 and "www-authenticate" in headers
    assert curl(s.http + "/metrics", "-u", "nobody:x")[0] == 401
    assert curl(s.http + "/metrics", "-H", "Authorization: Basic !!!notbase64")[0] == 401
    assert curl(s.http + "/metrics", "-H", "Authorization: Bearer abc")[0] == 401
    assert curl(s.http + "/metrics", "-u", "alice:" + USERS["alice"])[0] == 200  # SCRAM-SHA-256
    assert curl(s.http + "/metrics", "-u", "bob:" + USERS["bob"])[0] == 200      # SCRAM-SHA-512
    assert curl(s.http + "/v3/clusters", "-u", "bob:bob-secret-2x")[0] == 401
    assert curl(s.http + "/v3/clusters", "-u", "bob:" + USERS["bob"])[0] != 401
    # Verified passwords are cached: 30 more requests take far less than 30 PBKDF2 runs' worth of time each.
    t0 = time.time()
    for _ in range(30):
        assert curl(s.http + "/metrics", "-u", "alice:" + USERS["alice"])[0] == 200
    assert time.time() - t0 < 15
    log = s.log_text()
    for pw in USERS.values():
        assert pw not in log
    assert "not-her-password" not in log and "Authorization" not in log


def test_changed_password_stops_the_cached_one(make_server):
    s = basic_server(make_server)
    old, new = USERS["alice"], "alice-new-secret-9"
    assert curl(s.http + "/metrics", "-u", "alice:" + old)[0] == 200  # now cached
    run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "users", "--entity-name", "alice",
             "--alter", "--add-config", f"SCRAM-SHA-256=[password={new}]")
    deadline = time.time() + 10
    while curl(s.http + "/metrics", "-u", "alice:" + new)[0] != 200:
        assert time.time() < deadline, "the new password was never accepted"
        time.sleep(0.1)
    assert curl(s.http + "/metrics", "-u", "alice:" + old)[0] == 401
    run_tool("configs", "--bootstrap-server", s.bootstrap, "--entity-type", "users", "--entity-name", "alice",
             "--alter", "--delete-config", "SCRAM-SHA-256")
    deadline = time.time() + 10
    while curl(s.http + "/metrics", "-u", "alice:" + new)[0] != 401:
        assert time.time() < deadline, "a deleted user still gets in"
        time.sleep(0.1)


def test_rest_reads_follow_the_acls_of_the_basic_user(make_server):
    s = basic_server(make_server, {"authorizer.class.name": AUTHORIZER, "super.users": "User:admin;User:ANONYMOUS"})
    for t in ("visible", "hidden"):
        run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", t, "--partitions", "1",
                 "--replication-factor", "1")
    run_tool("acls", "--bootstrap-server", s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation",
             "Describe", "--topic", "visible")
    status, _, body = curl(s.http + "/v3/clusters", "-u", "admin:" + USERS["admin"])
    if status == 404:
        pytest.skip("the REST API v3 routes are not on this branch")
    assert status == 200, body
    cluster = json.loads(body)["data"][0]["cluster_id"]
    url = f"{s.http}/v3/clusters/{cluster}/topics"

    def names(user):
        deadline = time.time() + 10
        while True:
            status, _, body = curl(url, "-u", f"{user}:{USERS[user]}")
            assert status == 200, body
            got = {t["topic_name"] for t in json.loads(body)["data"]}
            if "visible" in got or time.time() > deadline:
                return got
            time.sleep(0.2)

    assert {"visible", "hidden"} <= names("admin")
    alice = names("alice")
    assert "visible" in alice and "hidden" not in alice
    assert "hidden" not in names("bob") and "visible" not in names("bob")


def test_rest_reads_follow_the_acls_of_the_certificate_user(make_server, certs):
    s = https_server(make_server, certs, {
        "ssl.keystore.type": "PEM", "ssl.keystore.location": os.path.join(certs, "server-store.pem"),
        "ssl.truststore.type": "PEM", "ssl.truststore.location": os.path.join(certs, "ca.pem"),
        "ssl.client.auth": "required", "ssl.principal.mapping.rules": "RULE:^CN=([^,]+),.*$/$1/,DEFAULT",
        "authorizer.class.name": AUTHORIZER, "super.users": "User:ANONYMOUS",
    })
    for t in ("visible", "hidden"):
        run_tool("topics", "--bootstrap-server", s.bootstrap, "--create", "--topic", t, "--partitions", "1",
                 "--replication-factor", "1")
    run_tool("acls", "--bootstrap-server", s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation",
             "Describe", "--topic", "visible")
    tls = ["--cacert", os.path.join(certs, "ca.pem"), "--cert", os.path.join(certs, "client.pem"),
           "--key", os.path.join(certs, "client.key")]
    status, _, body = curl(f"{s.http}/v3/clusters/{s.cluster_id}/topics", *tls)
    if status == 404 and "topics" not in body:
        pytest.skip("the REST API v3 routes are not on this branch")
    deadline = time.time() + 10
    while True:
        status, _, body = curl(f"{s.http}/v3/clusters/{s.cluster_id}/topics", *tls)
        assert status == 200, body
        got = {t["topic_name"] for t in json.loads(body)["data"]}
        if "visible" in got or time.time() > deadline:
            break
        time.sleep(0.2)
    assert "visible" in got and "hidden" not in got  # User:alice from CN=alice,OU=eng,O=Example
