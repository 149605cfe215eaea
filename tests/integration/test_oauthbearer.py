"""SASL/OAUTHBEARER listeners: librdkafka with its unsecured JWT (Kafka's
default validator, with the unsecuredValidator* JAAS options), and signed JWTs
(RS256, made here with PyJWT) checked against a JWKS file by Kafka's
OAuthBearerValidatorCallbackHandler settings; sessions end with the token."""
import base64
import json
import os
import struct
import subprocess
import time

import pytest

from conftest import BIN, free_port
from kafka_wire import connect, is_closed, request, response
from test_sasl import authenticate, create_topic, handshake, rewrite_config, start_sasl_server

ck = pytest.importorskip("confluent_kafka")
jwt = pytest.importorskip("jwt")

UNSECURED_JAAS = ('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required '
                  'unsecuredValidatorRequiredScope="kafka" unsecuredValidatorAllowableClockSkewMs="1000";')
VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
ISSUER = "https://idp.example"
AUDIENCE = "flotilla"


def oauth_server(make_server, extra=None):
    props = {"sasl.enabled.mechanisms": "PLAIN,OAUTHBEARER",
             "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": UNSECURED_JAAS}
    props.update(extra or {})
    return start_sasl_server(make_server, props)


def roundtrip(bootstrap, topic, conf, n=10):
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", **conf}
    p = ck.Producer(conf)
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(30) == 0
    c = ck.Consumer({**conf, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen, deadline = [], time.time() + 30
    while len(seen) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen.append(m.value().decode())
    c.close()
    return seen


def auth_errors(bootstrap, conf, seconds=10):
    errors = []
    p = ck.Producer({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
                     "error_cb": errors.append, **conf})
    deadline = time.time() + seconds
    while not any(e.code() == ck.KafkaError._AUTHENTICATION for e in errors) and time.time() < deadline:
        p.poll(0.2)
    return [e for e in errors if e.code() == ck.KafkaError._AUTHENTICATION]


def unsecured_token(claims):
    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return b64({"alg": "none"}) + "." + b64(claims) + "."


def oauth_message(token):
    return f"n,,\x01auth=Bearer {token}\x01\x01".encode()


# ---------------------------------------------------------------- unsecured JWT (librdkafka's own)

def test_librdkafka_unsecured_jwt(make_server):
    s = oauth_server(make_server)
    create_topic(s, "oauth")
    conf = {"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": "principal=alice scope=kafka,extra"}
    seen = roundtrip(s.sasl, "oauth", conf)
    assert seen == [f"v{i}" for i in range(10)]
    # Without the required scope the validator refuses, and says why.
    errors = auth_errors(s.sasl, {"enable.sasl.oauthbearer.unsecure.jwt": True,
                                  "sasl.oauthbearer.config": "principal=mallory scope=other"})
    assert errors, "a token without scope 'kafka' authenticated"
    assert "insufficient_scope" in str(errors[0])
    log = s.log_text()
    assert "Failed authentication with 127.0.0.1" in log


def test_session_lifetime_is_bounded_by_the_token(make_server):
    s = oauth_server(make_server, {"connections.max.reauth.ms": "3600000"})
    c = connect(s.sasl)
    err, mechs = handshake(c, "OAUTHBEARER")
    assert err == 0 and "OAUTHBEARER" in mechs
    exp = int(time.time()) + 4
    err, msg, _, lifetime = authenticate(c, oauth_message(unsecured_token({"sub": "alice", "exp": exp, "scope": "kafka"})))
    assert err == 0, msg
    assert 0 < lifetime <= 4000
    request(c, 3, 1, struct.pack(">i", -1), correlation_id=3)  # Metadata works while the token is valid
    assert struct.unpack(">i", response(c)[:4])[0] == 3
    time.sleep(lifetime / 1000 + 0.5)
    request(c, 3, 1, struct.pack(">i", -1), correlation_id=4)
    assert is_closed(c)
    # An expired token never authenticates; alg other than none is refused by the unsecured validator.
    for token in (unsecured_token({"sub": "alice", "exp": int(time.time()) - 60, "scope": "kafka"}),
                  unsecured_token({"sub": "alice", "exp": int(time.time()) + 60, "scope": "kafka"}).replace(
                      base64.urlsafe_b64encode(b'{"alg": "none"}').rstrip(b"=").decode(),
                      base64.urlsafe_b64encode(b'{"alg": "HS256"}').rstrip(b"=").decode())):
        c = connect(s.sasl)
        handshake(c, "OAUTHBEARER")
        err, msg, challenge, _ = authenticate(c, oauth_message(token))
        # Kafka's server answers a bad token with a JSON challenge; the client's \x01 ends it with the error.
        assert err == 0 and json.loads(challenge)["status"] == "invalid_token"
        err, msg, _, _ = authenticate(c, b"\x01", corr=3)
        assert err == 58 and "invalid_token" in msg
        assert is_closed(c)
    assert "eyJ" not in s.log_text()  # no token in the log


# ---------------------------------------------------------------- signed JWT against a JWKS file

@pytest.fixture
def idp(workdir):
    """An RSA key pair, its JWKS file (kid "k1"), and a token maker."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    path = os.path.join(workdir, "jwks.json")
    with open(path, "w") as f:
        json.dump({"keys": [jwk]}, f)

    def token(sub="carol", aud=AUDIENCE, iss=ISSUER, lifetime=300, kid="k1", signer=key):
        now = int(time.time())
        claims = {"sub": sub, "iss": iss, "aud": aud, "iat": now, "exp": now + lifetime, "scope": "kafka"}
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": kid})

    token.jwks = path
    token.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return token


def jwks_server(make_server, idp):
    return oauth_server(make_server, {
        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
        "listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url": "file://" + idp.jwks,
        "sasl.oauthbearer.expected.audience": AUDIENCE,
        "sasl.oauthbearer.expected.issuer": ISSUER,
    })


def test_librdkafka_signed_jwt_checked_against_jwks(make_server, idp):
    s = jwks_server(make_server, idp)
    create_topic(s, "signed")
    conf = {"oauth_cb": lambda _cfg: (idp(), time.time() + 300)}
    assert roundtrip(s.sasl, "signed", conf) == [f"v{i}" for i in range(10)]
    # librdkafka's unsecured JWT (alg none) is refused by the signed validator.
    assert auth_errors(s.sasl, {"enable.sasl.oauthbearer.unsecure.jwt": True,
                                "sasl.oauthbearer.config": "principal=alice"})


@pytest.mark.parametrize("bad", ["wrong-audience", "wrong-issuer", "expired", "unknown-kid", "wrong-key"])
def test_bad_signed_tokens_are_refused(make_server, idp, bad):
    s = jwks_server(make_server, idp)
    token = {
        "wrong-audience": lambda: idp(aud="someone-else"),
        "wrong-issuer": lambda: idp(iss="https://evil.example"),
        "expired": lambda: idp(lifetime=-120),
        "unknown-kid": lambda: idp(kid="k2"),
        "wrong-key": lambda: idp(signer=idp.other_key),
    }[bad]()
    c = connect(s.sasl)
    assert handshake(c, "OAUTHBEARER")[0] == 0
    err, _, challenge, _ = authenticate(c, oauth_message(token))
    assert err == 0 and json.loads(challenge)["status"] == "invalid_token"
    err, msg, _, _ = authenticate(c, b"\x01", corr=3)
    assert err == 58
    assert is_closed(c)
    # The good token still works on the same node, and nothing secret was logged.
    c = connect(s.sasl)
    handshake(c, "OAUTHBEARER")
    err, msg, _, lifetime = authenticate(c, oauth_message(idp()))
    assert err == 0, msg
    assert 0 < lifetime <= 300_000
    assert token.split(".")[2] not in s.log_text()


def test_unreadable_jwks_fails_startup_naming_the_setting(make_server, workdir):
    s = make_server(start=False)
    sp = free_port()
    s.props.update({
        "listeners": f"PLAINTEXT://127.0.0.1:{s.port},SASL_PLAINTEXT://127.0.0.1:{sp},CONTROLLER://127.0.0.1:{s.cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.port},SASL_PLAINTEXT://127.0.0.1:{sp}",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        "sasl.server.callback.handler.class": VALIDATOR,
        "sasl.oauthbearer.jwks.endpoint.url": "file://" + os.path.join(workdir, "missing.json"),
    })
    rewrite_config(s)
    s.format()
    p = subprocess.run([BIN, "server", s.config], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "OAUTHBEARER" in p.stdout + p.stderr and "sasl.oauthbearer.jwks.endpoint.url" in p.stdout + p.stderr
