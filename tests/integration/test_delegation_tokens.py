"""Delegation tokens end to end (KIP-48 in KRaft): a combined node with a
SASL_SSL listener (SCRAM-SHA-512 users alice, bob, admin), the authorizer on
and delegation.token.secret.key set. alice creates a token with `flotilla
delegation-tokens` (kafka-delegation-tokens.sh's flags and output); a client
logs in with it (ScramLoginModule tokenauth=true: username = token id,
password = the HMAC) and produces/consumes as User:alice under alice's ACLs;
a token session may not manage tokens; bob, not a renewer, may not renew it;
the token survives a restart (snapshot/log replay); once expired it no longer
logs in."""
import os
import re
import time

import pytest

from conftest import run_tool
from test_authorization import AUTHORIZER, acls, create_topic
from test_sasl import start_sasl_server

USERS = {"alice": "alice-pw", "bob": "bob-pw", "admin": "admin-pw"}
SECRET = "a-delegation-token-secret"
EXTRA = {
    "authorizer.class.name": AUTHORIZER,
    "super.users": "User:admin;User:ANONYMOUS",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config":
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        + " ".join(f'user_{u}="{p}"' for u, p in USERS.items()) + ";",
    "delegation.token.secret.key": SECRET,
    "metadata.log.max.record.bytes.between.snapshots": "1",
}


@pytest.fixture
def server(make_server):
    return start_sasl_server(make_server, extra=EXTRA, scram_over_tls=USERS)


def config_file(s, name, username, password, token=False):
    path = os.path.join(s.dir, f"{name}.properties")
    ext = " tokenauth=true" if token else ""
    with open(path, "w") as f:
        f.write("security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
                f"ssl.truststore.type=PEM\nssl.truststore.location={s.ca}\n"
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{username}" password="{password}"{ext};\n')
    return path


def tokens(s, config, *args):
    p = run_tool("delegation-tokens", "--bootstrap-server", s.secure, "--command-config", config, *args, check=False)
    return p.returncode, p.stdout + p.stderr


def create_token(s, user, *args):
    rc, out = tokens(s, config_file(s, user, user, USERS[user]), "--create", "--max-life-time-period", "-1", *args)
    assert rc == 0, out
    m = re.search(r"Created delegation token with tokenId : (\S+)", out)
    assert m, out
    token_id = m.group(1)
    row = [l for l in out.splitlines() if l.startswith(token_id)]
    assert row, out
    hmac = row[0].split()[1]
    assert f"User:{user}" in row[0]
    return token_id, hmac


def test_token_login_produce_consume_renew_expire_restart(server):
    s = server
    topic = "dt-topic"
    create_topic(s, topic)
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "All", "--topic", topic)
    acls(s.bootstrap, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--group", "dt-group")

    token_id, hmac = create_token(s, "alice", "--renewer-principal", "User:admin")
    token_conf = config_file(s, "token", token_id, hmac, token=True)

    # The token logs in (as User:alice): producing and consuming under alice's ACLs.
    p = run_tool("console-producer", "--bootstrap-server", s.secure, "--topic", topic, "--producer.config", token_conf,
                 input="one\ntwo\n", check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    c = run_tool("console-consumer", "--bootstrap-server", s.secure, "--topic", topic, "--group", "dt-group",
                 "--from-beginning", "--max-messages", "2", "--timeout-ms", "15000", "--consumer.config", token_conf,
                 check=False)
    assert c.stdout.split() == ["one", "two"], c.stdout + c.stderr

    # A token session may not create (or describe) tokens.
    rc, out = tokens(s, token_conf, "--create", "--max-life-time-period", "-1")
    assert rc == 1 and "UnsupportedByAuthenticationException" in out, out

    # Wrong HMAC as password: the login fails.
    bad_conf = config_file(s, "bad", token_id, hmac[:-4] + "AAA=", token=True)
    rc, out = tokens(s, bad_conf, "--describe")
    assert rc == 1 and "Authentication failed" in out, out

    # bob is neither owner nor renewer; admin is a renewer.
    rc, out = tokens(s, config_file(s, "bob", "bob", USERS["bob"]), "--renew", "--hmac", hmac, "--renew-time-period", "1000")
    assert rc == 1 and "DelegationTokenOwnerMismatch" in out, out
    rc, out = tokens(s, config_file(s, "admin", "admin", USERS["admin"]), "--renew", "--hmac", hmac, "--renew-time-period", "60000")
    assert rc == 0 and "Completed renew operation. New expiry date" in out, out

    # bob sees no token; alice sees hers, with its HMAC.
    rc, out = tokens(s, config_file(s, "bob", "bob", USERS["bob"]), "--describe")
    assert rc == 0 and "Total number of tokens : 0" in out, out
    rc, out = tokens(s, config_file(s, "alice", "alice", USERS["alice"]), "--describe")
    assert rc == 0 and "Total number of tokens : 1" in out and hmac in out, out

    # The token survives a restart.
    s.restart()
    rc, out = tokens(s, config_file(s, "alice", "alice", USERS["alice"]), "--describe", "--owner-principal", "User:alice")
    assert rc == 0 and token_id in out, out
    deadline = time.time() + 15
    while True:
        p = run_tool("console-producer", "--bootstrap-server", s.secure, "--topic", topic, "--producer.config", token_conf,
                     input="three\n", check=False)
        if p.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert p.returncode == 0, p.stdout + p.stderr

    # Expired now: removed, and the login fails.
    rc, out = tokens(s, config_file(s, "alice", "alice", USERS["alice"]), "--expire", "--hmac", hmac, "--expiry-time-period", "-1")
    assert rc == 0 and "Completed expire operation" in out, out
    deadline = time.time() + 10
    while True:
        rc, out = tokens(s, token_conf, "--describe")
        if "Authentication failed" in out or time.time() > deadline:
            break
        time.sleep(0.3)
    assert rc == 1 and "Authentication failed" in out, out


def test_tokens_disabled_and_plaintext_refused(make_server):
    s = start_sasl_server(make_server, extra={k: v for k, v in EXTRA.items() if k != "delegation.token.secret.key"},
                          scram_over_tls=USERS)
    rc, out = tokens(s, config_file(s, "alice", "alice", USERS["alice"]), "--create", "--max-life-time-period", "-1")
    assert rc == 1 and "DelegationTokenDisabled" in out, out
    # On the PLAINTEXT listener: DELEGATION_TOKEN_REQUEST_NOT_ALLOWED.
    plain = os.path.join(s.dir, "plain.properties")
    open(plain, "w").write("security.protocol=PLAINTEXT\n")
    p = run_tool("delegation-tokens", "--bootstrap-server", s.bootstrap, "--command-config", plain, "--describe", check=False)
    assert p.returncode == 1 and "UnsupportedByAuthenticationException" in p.stdout, p.stdout + p.stderr


def test_tokens_through_a_remote_controller(workdir):
    """Brokers forward Create/Renew/Expire to a separate controller in an
    Envelope carrying the client's principal; every broker describes the token
    from its image and lets it log in (SCRAM-SHA-256 over SASL_PLAINTEXT)."""
    from test_authorization import sasl_cluster
    c = sasl_cluster(workdir, extra={"delegation.token.secret.key": SECRET, "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
                                     "listener.name.sasl_plaintext.plain.sasl.jaas.config": EXTRA[
                                         "listener.name.sasl_plaintext.plain.sasl.jaas.config"]})
    try:
        c.start()
        b0, b1 = c.brokers[0], c.brokers[1]
        conf = os.path.join(workdir, "alice-plain.properties")
        with open(conf, "w") as f:
            f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                    "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                    'username="alice" password="alice-pw";\n')
        p = run_tool("delegation-tokens", "--bootstrap-server", b0.sasl, "--command-config", conf, "--create",
                     "--max-life-time-period", "-1", check=False)
        assert p.returncode == 0, p.stdout + p.stderr
        token_id = re.search(r"tokenId : (\S+)", p.stdout).group(1)
        hmac = [l for l in p.stdout.splitlines() if l.startswith(token_id)][0].split()[1]
        token_conf = os.path.join(workdir, "token.properties")
        with open(token_conf, "w") as f:
            f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="{token_id}" password="{hmac}" tokenauth=true;\n')
        deadline = time.time() + 10
        while True:
            p = run_tool("delegation-tokens", "--bootstrap-server", b1.sasl, "--command-config", conf, "--describe", check=False)
            if token_id in p.stdout or time.time() > deadline:
                break
            time.sleep(0.2)
        assert token_id in p.stdout and "User:alice" in p.stdout, p.stdout + p.stderr
        # The token session logs in on another broker (and may not manage tokens there).
        p = run_tool("delegation-tokens", "--bootstrap-server", b1.sasl, "--command-config", token_conf, "--describe", check=False)
        assert p.returncode == 1 and "UnsupportedByAuthenticationException" in p.stdout, p.stdout + p.stderr
        p = run_tool("delegation-tokens", "--bootstrap-server", b1.sasl, "--command-config", conf, "--renew", "--hmac", hmac,
                     "--renew-time-period", "30000", check=False)
        assert p.returncode == 0 and "Completed renew operation" in p.stdout, p.stdout + p.stderr
    finally:
        c.stop()
