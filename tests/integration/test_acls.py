"""ACLs as KRaft metadata: `flotilla acls` (kafka-acls.sh) adds, lists and
removes them through a real node with Kafka's output; --producer/--consumer
and PREFIXED patterns; bad bindings fail one by one; SECURITY_DISABLED without
an authorizer; the ACLs survive restarts and snapshots and show in dump-log,
metadata-shell and metadata-diff; kafka-python's admin client is an
independent client of the three APIs.

The node runs StandardAuthorizer with super.users=User:ANONYMOUS on PLAINTEXT,
so the tool (ANONYMOUS) may do everything whether or not the request path
enforces ACLs yet."""
import glob
import json
import os
import struct
import time

import pytest

from conftest import run_tool
from kafka_wire import api_versions, connect, request, response, string

AUTHZ = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}


@pytest.fixture
def node(make_server):
    return make_server(extra=dict(AUTHZ))


def acls(server, *args, check=True, input=None):
    return run_tool("acls", "--bootstrap-server", server.bootstrap, *args, check=check, input=input)


def block(verb, pattern, entries):
    """kafka-acls.sh's block: "<verb> ACLs for resource `P`: \\n \\t(e1)\\n\\t(e2) \\n\\n"."""
    return f"{verb} ACLs for resource `{pattern}`: \n " + "\n".join("\t" + e for e in entries) + " \n\n"


def pattern(rtype, name, ptype="LITERAL"):
    return f"ResourcePattern(resourceType={rtype}, name={name}, patternType={ptype})"


def entry(principal, op, perm="ALLOW", host="*"):
    return f"(principal={principal}, host={host}, operation={op}, permissionType={perm})"


def metadata_dir(server):
    return os.path.join(server.data, "__cluster_metadata-0")


def shell(server, *command):
    return run_tool("metadata-shell", "--directory", metadata_dir(server), *command)


def provenance_offset(server):
    return json.loads(shell(server, "cat", "/image/provenance").stdout)["offset"]


def test_add_list_remove_round_trip(node):
    p = acls(node, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders")
    assert p.stdout == block("Adding", pattern("TOPIC", "orders"), [entry("User:alice", "READ")])
    p = acls(node, "--add", "--allow-principal", "User:bob", "--deny-principal", "User:mallory", "--allow-host", "10.0.0.1",
             "--operation", "Delete", "--operation", "Describe", "--topic", "orders", "--group", "billing")
    bob_and_mallory = [entry("User:bob", "DELETE", host="10.0.0.1"), entry("User:bob", "DESCRIBE", host="10.0.0.1"),
                       entry("User:mallory", "DELETE", "DENY"), entry("User:mallory", "DESCRIBE", "DENY")]
    assert p.stdout == (block("Adding", pattern("TOPIC", "orders"), bob_and_mallory) +
                        block("Adding", pattern("GROUP", "billing"), bob_and_mallory))

    # --list: every resource (by type, then name), entries sorted.
    orders = sorted([entry("User:alice", "READ")] + bob_and_mallory)
    billing = sorted(bob_and_mallory)
    assert acls(node, "--list").stdout == (block("Current", pattern("TOPIC", "orders"), orders) +
                                           block("Current", pattern("GROUP", "billing"), billing))
    assert acls(node, "--list", "--topic", "orders").stdout == block("Current", pattern("TOPIC", "orders"), orders)
    assert acls(node, "--list", "--principal", "User:alice").stdout == (
        "ACLs for principal `User:alice`\n" + block("Current", pattern("TOPIC", "orders"), [entry("User:alice", "READ")]))

    # --remove of named entries, then of everything left on the group.
    acls(node, "--remove", "--force", "--deny-principal", "User:mallory", "--operation", "Delete", "--operation", "Describe",
         "--topic", "orders")
    assert acls(node, "--list", "--topic", "orders").stdout == block(
        "Current", pattern("TOPIC", "orders"),
        sorted([entry("User:alice", "READ"), entry("User:bob", "DELETE", host="10.0.0.1"),
                entry("User:bob", "DESCRIBE", host="10.0.0.1")]))
    acls(node, "--remove", "--force", "--group", "billing")
    assert acls(node, "--list", "--group", "billing").stdout == ""
    acls(node, "--remove", "--force", "--topic", "orders")
    assert acls(node, "--list").stdout == ""


def test_prefixed_and_conveniences(node):
    p = acls(node, "--add", "--allow-principal", "User:prod", "--producer", "--topic", "pay-",
             "--resource-pattern-type", "PREFIXED")
    assert p.stdout == block("Adding", pattern("TOPIC", "pay-", "PREFIXED"),
                             [entry("User:prod", "WRITE"), entry("User:prod", "DESCRIBE"), entry("User:prod", "CREATE")])
    p = acls(node, "--add", "--allow-principal", "User:cons", "--consumer", "--topic", "pay-in", "--group", "cg")
    assert p.stdout == (block("Adding", pattern("TOPIC", "pay-in"), [entry("User:cons", "READ"), entry("User:cons", "DESCRIBE")]) +
                        block("Adding", pattern("GROUP", "cg"), [entry("User:cons", "READ")]))
    p = acls(node, "--add", "--allow-principal", "User:tx", "--producer", "--idempotent", "--topic", "t",
             "--transactional-id", "tx-1")
    assert p.stdout == (block("Adding", pattern("TOPIC", "t"),
                              [entry("User:tx", "WRITE"), entry("User:tx", "DESCRIBE"), entry("User:tx", "CREATE")]) +
                        block("Adding", pattern("TRANSACTIONAL_ID", "tx-1"), [entry("User:tx", "WRITE"), entry("User:tx", "DESCRIBE")]) +
                        block("Adding", pattern("CLUSTER", "kafka-cluster"), [entry("User:tx", "IDEMPOTENT_WRITE")]))

    # MATCH on topic pay-in: its literal ACLs and the pay- prefix; LITERAL: only its own; PREFIXED: none named pay-in.
    out = acls(node, "--list", "--topic", "pay-in", "--resource-pattern-type", "match").stdout
    assert out == (block("Current", pattern("TOPIC", "pay-", "PREFIXED"),
                         sorted([entry("User:prod", "WRITE"), entry("User:prod", "DESCRIBE"), entry("User:prod", "CREATE")])) +
                   block("Current", pattern("TOPIC", "pay-in"), sorted([entry("User:cons", "READ"), entry("User:cons", "DESCRIBE")])))
    assert "pay-," not in acls(node, "--list", "--topic", "pay-in").stdout
    assert acls(node, "--list", "--topic", "pay-in", "--resource-pattern-type", "PREFIXED").stdout == ""
    # ANY: every pattern type, the exact name.
    assert "PREFIXED" in acls(node, "--list", "--topic", "pay-", "--resource-pattern-type", "any").stdout
    assert "IDEMPOTENT_WRITE" in acls(node, "--list", "--cluster").stdout

    # Removing the producer's ACLs through the same convenience.
    acls(node, "--remove", "--force", "--allow-principal", "User:prod", "--producer", "--topic", "pay-",
         "--resource-pattern-type", "PREFIXED")
    assert "User:prod" not in acls(node, "--list").stdout
    assert "User:cons" in acls(node, "--list").stdout


def test_remove_asks_unless_forced(node):
    acls(node, "--add", "--allow-principal", "User:alice", "--topic", "t")
    p = acls(node, "--remove", "--topic", "t", input="n\n")
    assert p.stdout == ("Are you sure you want to delete all ACLs for resource filter "
                        f"`{pattern('TOPIC', 't')}`? (y/n)\n")
    assert "User:alice" in acls(node, "--list").stdout
    p = acls(node, "--remove", "--allow-principal", "User:alice", "--topic", "t", input="y\n")
    assert p.stdout == (f"Are you sure you want to remove ACLs: \n \t{entry('User:alice', 'ALL')} \n from resource filter "
                        f"`{pattern('TOPIC', 't')}`? (y/n)\n")
    assert acls(node, "--list").stdout == ""


def test_bad_bindings_fail_one_by_one(node):
    # One bad host among good ones: that binding is refused, the others are written.
    p = acls(node, "--add", "--allow-principal", "User:dave", "--allow-host", "not-an-ip", "--allow-host", "10.1.2.3",
             "--operation", "Write", "--topic", "t", check=False)
    assert p.returncode == 1
    assert p.stdout.endswith(
        "Error while executing ACL command: org.apache.kafka.common.errors.InvalidRequestException: "
        "Invalid host not-an-ip: expected * or an IPv4 or IPv6 address\n"
        "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.InvalidRequestException: "
        "Invalid host not-an-ip: expected * or an IPv4 or IPv6 address\n")
    assert acls(node, "--list").stdout == block("Current", pattern("TOPIC", "t"), [entry("User:dave", "WRITE", host="10.1.2.3")])
    # Refused before anything is sent.
    p = acls(node, "--add", "--allow-principal", "alice", "--topic", "t", check=False)
    assert p.returncode == 1
    assert p.stdout == ("Error while executing ACL command: expected a string in format principalType:principalName but got alice\n"
                        "java.lang.IllegalArgumentException: expected a string in format principalType:principalName but got alice\n")
    p = acls(node, "--add", "--allow-principal", "User:a", "--operation", "Frobnicate", "--topic", "t", check=False)
    assert (p.returncode, p.stdout.splitlines()[0]) == (1, "Error while executing ACL command: Invalid operation: Frobnicate")
    usage = {
        ("--add", "--topic", "t"): "You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.",
        ("--add", "--allow-principal", "User:a"): "You must provide at least one resource: --topic <topic> or --cluster or "
                                                  "--group <group> or --delegation-token <Delegation Token ID>",
        ("--add", "--remove", "--topic", "t"): "Command must include exactly one action: --list, --add, --remove. ",
        ("--add", "--allow-principal", "User:a", "--topic", "t", "--resource-pattern-type", "MATCH"):
            "A '--resource-pattern-type' value of 'MATCH' is not valid when adding acls.",
        ("--list", "--allow-principal", "User:a"): 'Option "[list]" can\'t be used with option "[allow-principal]"',
        ("--add", "--producer", "--operation", "Read", "--topic", "t", "--allow-principal", "User:a"):
            'Option "[producer]" can\'t be used with option "[operation]"',
        ("--add", "--producer", "--allow-principal", "User:a", "--group", "g"): "With --producer you must specify a --topic",
        ("--add", "--consumer", "--allow-principal", "User:a", "--topic", "t"):
            "With --consumer you must specify a --topic and a --group and no --cluster or --transactional-id option should be specified.",
        ("--add", "--idempotent", "--allow-principal", "User:a", "--topic", "t"):
            "The --idempotent option is only available if --producer is set",
        ("--add", "--principal", "User:a", "--topic", "t"): "The --principal option is only available if --list is set",
        ("--add", "--allow-principal", "User:a", "--operation", "IdempotentWrite", "--topic", "t"):
            "ResourceType TOPIC only supports operations Read, Write, Create, Describe, Delete, Alter, DescribeConfigs, "
            "AlterConfigs, All",
    }
    for args, message in usage.items():
        p = acls(node, *args, check=False)
        assert (p.returncode, p.stderr.splitlines()[0] if p.stderr else "") == (1, message), args
    # None of them wrote anything.
    assert acls(node, "--list").stdout == block("Current", pattern("TOPIC", "t"), [entry("User:dave", "WRITE", host="10.1.2.3")])


def describe_acls_raw(server, resource_type, pattern_type):
    """DescribeAcls v1 with the given codes (any name, principal, host; ANY operation and permission)."""
    body = (struct.pack(">b", resource_type) + string(None) + struct.pack(">b", pattern_type) + string(None) + string(None) +
            struct.pack(">bb", 1, 1))
    s = connect(server.bootstrap)
    try:
        request(s, 29, 1, body)
        r = response(s)
    finally:
        s.close()
    # correlation id, throttle time, error code, error message
    code = struct.unpack(">h", r[8:10])[0]
    n = struct.unpack(">h", r[10:12])[0]
    message = r[12:12 + n].decode() if n >= 0 else None
    return code, message


def test_unknown_filter_and_security_disabled(node, make_server):
    # A filter with an UNKNOWN type: INVALID_REQUEST; ANY is fine.
    assert describe_acls_raw(node, 0, 1) == (42, "DescribeAclsRequest contains UNKNOWN elements")
    assert describe_acls_raw(node, 1, 0) == (42, "DescribeAclsRequest contains UNKNOWN elements")
    assert describe_acls_raw(node, 1, 1) == (0, None)

    plain = make_server(sub="noauthz")
    assert describe_acls_raw(plain, 1, 1) == (54, "No Authorizer is configured on the broker")
    p = acls(plain, "--list", check=False)
    assert p.returncode == 1
    assert p.stdout.splitlines()[0] == ("Error while executing ACL command: org.apache.kafka.common.errors.SecurityDisabledException: "
                                        "No Authorizer is configured on the broker")
    p = acls(plain, "--add", "--allow-principal", "User:a", "--topic", "t", check=False)
    assert p.returncode == 1
    assert p.stdout.splitlines()[-2] == ("Error while executing ACL command: org.apache.kafka.common.errors.SecurityDisabledException: "
                                         "No Authorizer is configured.")
    p = acls(plain, "--remove", "--force", "--topic", "t", check=False)
    assert p.returncode == 1
    assert "SecurityDisabledException: No Authorizer is configured." in p.stdout


def test_api_versions_lists_the_acl_apis(node):
    for listener in (node.bootstrap, f"127.0.0.1:{node.cport}"):
        err, apis = api_versions(listener)
        assert err == 0
        assert {k: apis.get(k) for k in (29, 30, 31)} == {29: (0, 3), 30: (0, 3), 31: (0, 3)}, listener


def test_controller_listener_serves_acls(node):
    acls(node, "--add", "--allow-principal", "User:alice", "--topic", "t")
    p = run_tool("acls", "--bootstrap-controller", f"127.0.0.1:{node.cport}", "--list")
    assert p.stdout == block("Current", pattern("TOPIC", "t"), [entry("User:alice", "ALL")])


def test_acls_survive_restart_and_snapshot_and_show_in_the_tools(make_server):
    node = make_server(extra=dict(AUTHZ, **{"metadata.log.max.record.bytes.between.snapshots": "3000"}))
    acls(node, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders")
    acls(node, "--add", "--allow-principal", "User:bob", "--producer", "--topic", "pay-", "--resource-pattern-type", "PREFIXED")
    listing = acls(node, "--list").stdout
    assert listing.count("principal=") == 4
    node.restart()
    assert acls(node, "--list").stdout == listing

    # Enough ACLs to cross the snapshot threshold; then the snapshot holds them.
    ckpt_dir = metadata_dir(node)
    deadline = time.time() + 60
    i = 0
    while not [c for c in glob.glob(os.path.join(ckpt_dir, "*.checkpoint")) if not c.endswith("00000000000000000000-0000000000.checkpoint")]:
        assert time.time() < deadline, "no snapshot written:\n" + node.log_text()
        acls(node, "--add", "--allow-principal", f"User:u{i}", "--operation", "Read", "--group", f"g{i}")
        i += 1
        assert i < 100
    snaps = sorted(c for c in glob.glob(os.path.join(ckpt_dir, "*.checkpoint"))
                   if not c.endswith("00000000000000000000-0000000000.checkpoint"))
    out = run_tool("dump-log", "--cluster-metadata-decoder", "--files", snaps[-1]).stdout
    assert '"type":"ACCESS_CONTROL_ENTRY_RECORD"' in out
    assert '"resourceName":"orders","patternType":3,"principal":"User:alice","host":"*","operation":3,"permissionType":3' in out
    acls(node, "--remove", "--force", "--topic", "orders")
    listing = acls(node, "--list").stdout
    assert "User:alice" not in listing
    node.stop()
    node.start()
    assert acls(node, "--list").stdout == listing
    assert "Loaded snapshot" in node.log_text()
    node.stop()

    # dump-log: both records, as Kafka's JSON converter prints them.
    logs = sorted(glob.glob(os.path.join(ckpt_dir, "*.log")))
    out = "".join(run_tool("dump-log", "--cluster-metadata-decoder", "--files", f).stdout for f in logs)
    added = [json.loads(l.split("payload: ", 1)[1]) for l in out.splitlines() if "ACCESS_CONTROL_ENTRY_RECORD" in l
             and "REMOVE_" not in l]
    alice = [r for r in added if r["data"]["principal"] == "User:alice"]
    assert len(alice) == 1
    assert alice[0] == {"type": "ACCESS_CONTROL_ENTRY_RECORD", "version": 0,
                        "data": {"id": alice[0]["data"]["id"], "resourceType": 2, "resourceName": "orders", "patternType": 3,
                                 "principal": "User:alice", "host": "*", "operation": 3, "permissionType": 3}}
    removed = [json.loads(l.split("payload: ", 1)[1]) for l in out.splitlines() if "REMOVE_ACCESS_CONTROL_ENTRY_RECORD" in l]
    assert removed == [{"type": "REMOVE_ACCESS_CONTROL_ENTRY_RECORD", "version": 0, "data": {"id": alice[0]["data"]["id"]}}]

    # metadata-shell: /image/acls/byId/<uuid> is Kafka's StandardAcl text.
    ids = shell(node, "ls", "/image/acls/byId").stdout.split()
    assert len(ids) == 3 + i
    assert alice[0]["data"]["id"] not in ids
    texts = [shell(node, "cat", f"/image/acls/byId/{x}").stdout.strip() for x in ids]
    assert ("StandardAcl(resourceType=TOPIC, resourceName=pay-, patternType=PREFIXED, principal=User:bob, host=*, "
            "operation=CREATE, permissionType=ALLOW)") in texts
    assert "acls" in shell(node, "ls", "/image").stdout.split()

    # metadata-diff: from before alice's removal to the end.
    end = provenance_offset(node)
    remove_offset = None
    for l in out.splitlines():
        if "REMOVE_ACCESS_CONTROL_ENTRY_RECORD" in l:
            remove_offset = int(l.split("offset: ", 1)[1].split()[0])
    assert remove_offset is not None
    diff = run_tool("metadata-diff", f"{ckpt_dir}@{remove_offset - 1}", f"{ckpt_dir}@{end}").stdout
    assert (f"- ACL {alice[0]['data']['id']} StandardAcl(resourceType=TOPIC, resourceName=orders, patternType=LITERAL, "
            "principal=User:alice, host=*, operation=READ, permissionType=ALLOW)") in diff.splitlines()
    first = run_tool("metadata-diff", f"{ckpt_dir}@0", f"{ckpt_dir}@{end}", "--json").stdout
    d = json.loads(first)
    assert len(d["acls"]["added"]) == 3 + i
    assert {"resourceType": "TOPIC", "resourceName": "pay-", "patternType": "PREFIXED", "principal": "User:bob", "host": "*",
            "operation": "WRITE", "permissionType": "ALLOW"}.items() <= [a for a in d["acls"]["added"]
                                                                          if a["operation"] == "WRITE"][0].items()


def test_kafka_python_admin_client(node):
    admin_mod = pytest.importorskip("kafka.admin")
    from kafka.errors import InvalidRequestError, NoError
    A = admin_mod
    admin = A.KafkaAdminClient(bootstrap_servers=node.bootstrap, request_timeout_ms=10000)
    try:
        good = A.ACL(principal="User:kp", host="*", operation=A.ACLOperation.READ, permission_type=A.ACLPermissionType.ALLOW,
                     resource_pattern=A.ResourcePattern(A.ResourceType.TOPIC, "kp-", A.ACLResourcePatternType.PREFIXED))
        good2 = A.ACL(principal="User:kp", host="*", operation=A.ACLOperation.WRITE, permission_type=A.ACLPermissionType.DENY,
                      resource_pattern=A.ResourcePattern(A.ResourceType.GROUP, "kp-group", A.ACLResourcePatternType.LITERAL))
        bad = A.ACL(principal="User:kp", host="nohost", operation=A.ACLOperation.READ, permission_type=A.ACLPermissionType.ALLOW,
                    resource_pattern=A.ResourcePattern(A.ResourceType.TOPIC, "kp", A.ACLResourcePatternType.LITERAL))
        result = admin.create_acls([good, bad, good2])
        assert len(result["succeeded"]) == 2
        assert [(acl.resource_pattern.resource_name, err) for acl, err in result["failed"]] == [("kp", InvalidRequestError)]

        everything = A.ACLFilter(principal="User:kp", host=None, operation=A.ACLOperation.ANY,
                                 permission_type=A.ACLPermissionType.ANY,
                                 resource_pattern=A.ResourcePatternFilter(A.ResourceType.ANY, None, A.ACLResourcePatternType.ANY))
        found, err = admin.describe_acls(everything)
        assert err is NoError
        assert sorted((a.resource_pattern.resource_type, a.resource_pattern.resource_name, a.resource_pattern.pattern_type,
                       a.operation, a.permission_type) for a in found) == sorted([
            (A.ResourceType.TOPIC, "kp-", A.ACLResourcePatternType.PREFIXED, A.ACLOperation.READ, A.ACLPermissionType.ALLOW),
            (A.ResourceType.GROUP, "kp-group", A.ACLResourcePatternType.LITERAL, A.ACLOperation.WRITE, A.ACLPermissionType.DENY)])
        # Our tool sees what kafka-python wrote.
        assert entry("User:kp", "WRITE", "DENY") in acls(node, "--list", "--group", "kp-group").stdout

        only_topics = A.ACLFilter(principal=None, host=None, operation=A.ACLOperation.ANY, permission_type=A.ACLPermissionType.ANY,
                                  resource_pattern=A.ResourcePatternFilter(A.ResourceType.TOPIC, None, A.ACLResourcePatternType.ANY))
        deleted = admin.delete_acls([only_topics])
        assert len(deleted) == 1
        _, matches, filter_err = deleted[0]
        assert filter_err is NoError
        assert [(a.resource_pattern.resource_name, e) for a, e in matches] == [("kp-", NoError)]
        found, _ = admin.describe_acls(everything)
        assert [a.resource_pattern.resource_name for a in found] == ["kp-group"]
    finally:
        admin.close()


def wait_listing(broker, expected, timeout=5):
    deadline = time.time() + timeout
    while True:
        out = acls(broker, "--list").stdout
        if out == expected or time.time() > deadline:
            return out
        time.sleep(0.05)


def test_forwarded_by_brokers_and_seen_by_every_broker(cluster):
    """CreateAcls/DeleteAcls forwarded over the controller listener by
    broker-only nodes; every broker's image (DescribeAcls) shows them, a broker
    that was down catches up."""
    c = cluster(controllers=1, brokers=2, extra=dict(AUTHZ))
    a, b = c.brokers
    acls(a, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders")
    expected = block("Current", pattern("TOPIC", "orders"), [entry("User:alice", "READ")])
    assert acls(a, "--list").stdout == expected  # answered once a's image shows it
    start = time.time()
    assert wait_listing(b, expected) == expected
    assert time.time() - start < 1.0

    b.stop()
    acls(a, "--add", "--allow-principal", "User:bob", "--producer", "--topic", "pay-", "--resource-pattern-type", "PREFIXED")
    acls(a, "--remove", "--force", "--topic", "orders")
    expected = acls(a, "--list").stdout
    assert "User:bob" in expected and "User:alice" not in expected
    b.start()
    assert wait_listing(b, expected) == expected
    # Removal through the other broker.
    acls(b, "--remove", "--force", "--topic", "pay-", "--resource-pattern-type", "PREFIXED")
    assert wait_listing(a, "") == ""
