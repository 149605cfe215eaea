"""SCRAM credentials as KRaft metadata (KIP-554): `flotilla configs
--entity-type users` alters, describes and deletes them through a real node;
they survive a restart; `storage format --add-scram` bootstraps a user;
`metadata-shell`, `metadata-diff` and `dump-log` show them without secrets;
and the raw DescribeUserScramCredentials / AlterUserScramCredentials wire
format works as a Java admin client sends it.

(The Debian clients lack these APIs: confluent-kafka 1.7 has no
alter_user_scram_credentials (2.2+), kafka-python 2.0.2 none; the raw-wire
test stands in for them.)"""
import base64
import hashlib
import json
import os
import struct

from conftest import run_tool
from kafka_wire import Reader, connect, request, response, uvarint

PASSWORD = "alice-secret-XYZ"


def configs(server, *args, check=True):
    return run_tool("configs", "--bootstrap-server", server.bootstrap, "--entity-type", "users", *args, check=check)


def metadata_dir(server):
    return os.path.join(server.data, "__cluster_metadata-0")


def shell(server, *command):
    return run_tool("metadata-shell", "--directory", metadata_dir(server), *command)


def provenance_offset(server):
    return json.loads(shell(server, "cat", "/image/provenance").stdout)["offset"]


def add_alice(server):
    p = configs(server, "--entity-name", "alice", "--alter", "--add-config",
                f"SCRAM-SHA-256=[iterations=8192,password={PASSWORD}],SCRAM-SHA-512=[password={PASSWORD}]")
    assert p.stdout.strip() == "Completed updating config for user alice."
    return p


def test_configs_alter_describe_delete_and_restart(server):
    add_alice(server)
    out = configs(server, "--entity-name", "alice", "--describe").stdout
    assert out == ("SCRAM credential configs for user-principal 'alice' are "
                   "SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n")

    configs(server, "--entity-name", "bob", "--alter", "--add-config", "SCRAM-SHA-512=[iterations=5000,password=b]")
    # Without a name: every user.
    out = configs(server, "--describe").stdout.splitlines()
    assert out == ["SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192, "
                   "SCRAM-SHA-512=iterations=4096",
                   "SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-512=iterations=5000"]

    p = configs(server, "--entity-name", "alice", "--alter", "--delete-config", "SCRAM-SHA-512")
    assert p.stdout.strip() == "Completed updating config for user alice."
    out = configs(server, "--entity-name", "alice", "--describe").stdout
    assert out == "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192\n"

    # Deleting it again: the controller's RESOURCE_NOT_FOUND, as Kafka prints it.
    p = configs(server, "--entity-name", "alice", "--alter", "--delete-config", "SCRAM-SHA-512", check=False)
    assert p.returncode == 1
    assert "ResourceNotFoundException: Attempt to delete a user credential that does not exist" in p.stderr

    # Too few iterations is refused by the tool; a failed alter never echoes the password.
    p = configs(server, "--entity-name", "alice", "--alter", "--add-config",
                f"SCRAM-SHA-256=[iterations=1000,password={PASSWORD}]", check=False)
    assert p.returncode == 1
    assert "Iterations 1000 is less than the minimum 4096 required for SCRAM-SHA-256" in p.stderr
    p = configs(server, "--entity-name", "alice", "--alter", "--add-config",
                f"SCRAM-SHA-256=[password={PASSWORD}]", "--delete-config", "SCRAM-SHA-256", check=False)
    assert p.returncode == 1
    assert "DuplicateResourceException" in p.stderr
    assert PASSWORD not in p.stdout + p.stderr

    # An unknown user.
    out = configs(server, "--entity-name", "nobody", "--describe").stdout
    assert out == ("Error retrieving SCRAM credential configs for user-principal 'nobody': ResourceNotFoundException: "
                   "Attempt to describe a user credential that does not exist: nobody\n")

    server.restart()
    out = configs(server, "--describe").stdout.splitlines()
    assert out == ["SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192",
                   "SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-512=iterations=5000"]
    assert PASSWORD not in server.log_text()


def test_storage_format_add_scram_bootstraps_a_user(make_server):
    server = make_server(start=False)
    server.cluster_id = run_tool("storage", "random-uuid").stdout.strip()
    salted = base64.b64encode(hashlib.pbkdf2_hmac("sha256", b"carol-pw", b"salt", 4096)).decode()
    run_tool("storage", "format", "--config", server.config, "--cluster-id", server.cluster_id,
             "--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]",
             "--add-scram", "SCRAM-SHA-512=[name=admin,iterations=8192,password=admin-secret]",
             # Kafka's salt/saltedpassword form (base64).
             "--add-scram", f'SCRAM-SHA-256=[name=carol,iterations=4096,salt="c2FsdA==",saltedpassword="{salted}"]')
    # Bad arguments are refused before anything is written.
    bad = run_tool("storage", "format", "--config", server.config, "--cluster-id", server.cluster_id,
                   "--ignore-formatted", "--add-scram", "SCRAM-SHA-256=[password=x]", check=False)
    assert bad.returncode == 1 and "You must supply 'name' to add-scram" in bad.stderr
    server.start()

    out = configs(server, "--describe").stdout.splitlines()
    assert out == ["SCRAM credential configs for user-principal 'admin' are SCRAM-SHA-256=iterations=4096, "
                   "SCRAM-SHA-512=iterations=8192",
                   "SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-256=iterations=4096"]
    assert shell(server, "ls", "/image/scram").stdout.split() == ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert shell(server, "ls", "/image/scram/SCRAM-SHA-256").stdout.split() == ["admin", "carol"]
    cat = shell(server, "cat", "/image/scram/SCRAM-SHA-512/admin").stdout.strip()
    assert cat == "ScramCredentialData(salt=[redacted], storedKey=[redacted], serverKey=[redacted], iterations=[redacted])"


def test_dump_log_and_metadata_diff_show_no_secret(server):
    before = provenance_offset(server)
    add_alice(server)
    d = metadata_dir(server)
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))
    p = run_tool("dump-log", "--cluster-metadata-decoder", "--files", ",".join(files))
    lines = [l for l in p.stdout.splitlines() if "USER_SCRAM_CREDENTIAL_RECORD" in l]
    assert len(lines) == 2
    payloads = [json.loads(l[l.index('{"type"'):]) for l in lines]
    by_mech = {x["data"]["mechanism"]: x["data"] for x in payloads}
    assert by_mech[1]["name"] == "alice" and by_mech[1]["iterations"] == 8192
    assert by_mech[2]["iterations"] == 4096
    # As Kafka's JSON converter: salt, StoredKey and ServerKey in base64 (what
    # the file holds); never the password, in clear or base64.
    assert len(base64.b64decode(by_mech[1]["salt"])) == 32
    assert len(base64.b64decode(by_mech[1]["storedKey"])) == 32 and len(base64.b64decode(by_mech[2]["serverKey"])) == 64
    assert PASSWORD not in p.stdout and base64.b64encode(PASSWORD.encode()).decode() not in p.stdout

    diff = json.loads(run_tool("metadata-diff", f"{d}@{before}", d, "--json").stdout)
    assert diff["scram"]["added"] == [{"user": "alice", "mechanism": "SCRAM-SHA-256", "iterations": 8192},
                                      {"user": "alice", "mechanism": "SCRAM-SHA-512", "iterations": 4096}]
    assert diff["scram"]["removed"] == []
    mid = provenance_offset(server)
    configs(server, "--entity-name", "alice", "--alter", "--delete-config", "SCRAM-SHA-256")
    text = run_tool("metadata-diff", f"{d}@{mid}", d).stdout.splitlines()
    assert "- SCRAM credential alice SCRAM-SHA-256" in text


# ---- raw wire, as a Java admin client sends the two APIs (v0, flexible)

def cstr(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def cbytes(b):
    return uvarint(len(b) + 1) + b


def alter_raw(bootstrap, deletions, upsertions):
    body = uvarint(len(deletions) + 1)
    for name, mech in deletions:
        body += cstr(name) + struct.pack(">b", mech) + b"\x00"
    body += uvarint(len(upsertions) + 1)
    for name, mech, iterations, salt, salted in upsertions:
        body += cstr(name) + struct.pack(">bi", mech, iterations) + cbytes(salt) + cbytes(salted) + b"\x00"
    body += b"\x00"
    s = connect(bootstrap, timeout=15)
    try:
        request(s, 51, 0, body, flexible_header=True)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()
    r.tags()
    r.i32()  # throttle
    out = {}
    for _ in range(r.uvarint() - 1):
        user = r.compact_string()
        out[user] = (r.i16(), r.compact_string())
        r.tags()
    return out


def describe_raw(bootstrap, users):
    body = b"\x00" if users is None else uvarint(len(users) + 1) + b"".join(cstr(u) + b"\x00" for u in users)
    body += b"\x00"
    s = connect(bootstrap, timeout=15)
    try:
        request(s, 50, 0, body, flexible_header=True)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()
    r.tags()
    r.i32()
    top = (r.i16(), r.compact_string())
    out = {}
    for _ in range(r.uvarint() - 1):
        user = r.compact_string()
        code, msg = r.i16(), r.compact_string()
        infos = []
        for _ in range(r.uvarint() - 1):
            mech = struct.unpack(">b", r.take(1))[0]
            infos.append((mech, r.i32()))
            r.tags()
        r.tags()
        out[user] = (code, msg, infos)
    return top, out


def test_raw_wire_admin_apis(server):
    from kafka_wire import api_versions
    err, apis = api_versions(server.bootstrap, version=3)
    assert err == 0
    assert apis[50] == (0, 0) and apis[51] == (0, 0)

    salt = os.urandom(32)
    salted = hashlib.pbkdf2_hmac("sha512", b"pw", salt, 4096)
    res = alter_raw(server.bootstrap, [], [("dan", 2, 4096, salt, salted), ("eve", 1, 100, salt, salted),
                                           ("zed", 7, 4096, salt, salted)])
    assert res["dan"] == (0, None)
    assert res["eve"] == (93, "Too few iterations")
    assert res["zed"] == (33, "Unknown SCRAM mechanism")
    top, out = describe_raw(server.bootstrap, None)
    assert top == (0, None)
    assert out == {"dan": (0, None, [(2, 4096)])}
    top, out = describe_raw(server.bootstrap, ["dan", "x", "dan"])
    assert out["dan"][0] == 92 and out["x"][0] == 91
