#!/usr/bin/env python3
"""Produce throughput with the authorizer on vs off, in one run (issue 16's
goal: on >= 95% of off).

Two combined nodes on free 127.0.0.1 ports, identical but for the authorizer:
"off" (no authorizer.class.name) and "on" (StandardAuthorizer holding
--acls ACLs: a mix of LITERAL and PREFIXED topic and group ACLs of other
principals, plus the one that lets the benchmark user write: WRITE on the
PREFIXED topic "bench-"). The client is `flotilla perf produce` as the SASL
PLAIN user "bench" on a SASL_PLAINTEXT listener of either node (a user that
is not a super user, so every Produce is decided by the ACL index); the
tools administer both nodes over a PLAINTEXT listener whose User:ANONYMOUS is
a super user. The cases alternate off/on, --rounds times, each case's topic
deleted before the next (see e2e_bench.py), and the table shows the median
MB/s of each and the ratio on/off.

Only the servers started here are stopped (by PID); every wait is bounded.
Usage: bench/authz_bench.py --bin build/flotilla [--bytes N] [--rounds 3] [--acls 10000] [--out F]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_bench import Server, cpu_seconds, free_port, run_json, wait_gone  # noqa: E402

AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="bench" password="bench-secret" '
        'user_bench="bench-secret";')


def node(binary, work, authorizer):
    srv_dir = os.path.join(work, "on" if authorizer else "off")
    os.makedirs(srv_dir)
    srv = Server(binary, srv_dir)  # formatted, PLAINTEXT and CONTROLLER ports chosen
    sasl_port = free_port()
    # Later lines win: the listeners gain a SASL_PLAINTEXT one.
    extra = f"""listeners=PLAINTEXT://127.0.0.1:{srv.port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},CONTROLLER://127.0.0.1:{srv.cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{srv.port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}
"""
    if authorizer:
        extra += f"authorizer.class.name={AUTHORIZER}\nsuper.users=User:ANONYMOUS\n"
    with open(srv.config, "a") as f:
        f.write(extra)
    srv.sasl = f"127.0.0.1:{sasl_port}"
    return srv



def add_acls(bootstrap, count):
    """`count` ACLs of other principals (a quarter PREFIXED), then the benchmark user's."""
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePattern, ResourceType)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60000)
    acls = []
    for i in range(count):
        pattern = ACLResourcePatternType.PREFIXED if i % 4 == 0 else ACLResourcePatternType.LITERAL
        rtype = ResourceType.GROUP if i % 5 == 0 else ResourceType.TOPIC
        op = (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE)[i % 3]
        acls.append(ACL(f"User:user-{i % 500}", "*", op, ACLPermissionType.ALLOW,
                        ResourcePattern(rtype, f"t{i % 97}-{i}", pattern)))
    acls.append(ACL("User:bench", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                    ResourcePattern(ResourceType.TOPIC, "bench-", ACLResourcePatternType.PREFIXED)))
    for i in range(0, len(acls), 1000):
        result = admin.create_acls(acls[i:i + 1000])
        if result["failed"]:
            raise RuntimeError(f"create_acls failed: {result['failed'][:3]}")
    admin.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/flotilla")
    ap.add_argument("--bytes", type=int, default=256 << 20, help="bytes to produce per case")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--acls", type=int, default=10000)
    ap.add_argument("--out", help="write the results as JSON to this file")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="flotilla-authz-bench-")
    nodes = {"off": node(binary, work, False), "on": node(binary, work, True)}
    client_cfg = os.path.join(work, "client.properties")
    with open(client_cfg, "w") as f:
        f.write(f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config={JAAS}\n")
    results = {"acls": a.acls, "cases": []}
    try:
        for n in nodes.values():
            n.start()
        t0 = time.monotonic()
        add_acls(nodes["on"].bootstrap, a.acls)
        results["acl_load_s"] = time.monotonic() - t0
        time.sleep(1)
        cases = [(1, 100), (8, 100), (8, 1024)]
        runs, cpu = {}, {}
        k = 0
        for r in range(a.rounds):
            for partitions, size in cases:
                for variant in ("off", "on") if r % 2 == 0 else ("on", "off"):
                    n = nodes[variant]
                    k += 1
                    topic = f"bench-{k}"
                    subprocess.run([binary, "topics", "--bootstrap-server", n.bootstrap, "--create", "--topic", topic,
                                    "--partitions", str(partitions), "--replication-factor", "1"],
                                   check=True, capture_output=True, timeout=30)
                    count = max(1000, a.bytes // size)
                    cpu0 = cpu_seconds(n.proc.pid)
                    p = run_json([binary, "perf", "produce", "--bootstrap-server", n.sasl, "--topic", topic,
                                  "--num-records", str(count), "--record-size", str(size), "--throughput", "-1",
                                  "--producer.config", client_cfg, "--producer-props", "acks=1", "--json"], timeout=900)
                    # The server's CPU per GB produced: the authorizer's cost, less sensitive than MB/s to
                    # what else runs on the machine.
                    cpu_ms_per_gb = (cpu_seconds(n.proc.pid) - cpu0) * 1000 / (count * size / 1e9)
                    subprocess.run([binary, "topics", "--bootstrap-server", n.bootstrap, "--delete", "--topic", topic],
                                   check=True, capture_output=True, timeout=30)
                    wait_gone(os.path.join(n.dir, "data", f"{topic}-0"))
                    runs.setdefault((partitions, size, variant), []).append(p.get("mb_per_sec") or 0)
                    cpu.setdefault((partitions, size, variant), []).append(cpu_ms_per_gb)
                    print(json.dumps({"round": r, "partitions": partitions, "record_size": size, "authorizer": variant,
                                      "produce_MBps": p.get("mb_per_sec"), "records_per_sec": p.get("records_per_sec"),
                                      "server_cpu_ms_per_GB": cpu_ms_per_gb}), flush=True)
        for partitions, size in cases:
            off = statistics.median(runs[(partitions, size, "off")])
            on = statistics.median(runs[(partitions, size, "on")])
            cpu_off = statistics.median(cpu[(partitions, size, "off")])
            cpu_on = statistics.median(cpu[(partitions, size, "on")])
            results["cases"].append({"partitions": partitions, "record_size": size, "off_MBps": off, "on_MBps": on,
                                     "ratio": on / off if off else None, "off_runs": runs[(partitions, size, "off")],
                                     "on_runs": runs[(partitions, size, "on")], "off_cpu_ms_per_GB": cpu_off,
                                     "on_cpu_ms_per_GB": cpu_on, "cpu_ratio": cpu_on / cpu_off if cpu_off else None})
    finally:
        for n in nodes.values():
            n.stop()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{a.acls} ACLs loaded in {results.get('acl_load_s', 0):.1f} s; median of {a.rounds} rounds, acks=1, SASL PLAIN user")
    print(f"{'parts':>5} {'size':>5} {'off MB/s':>9} {'on MB/s':>9} {'on/off':>7} {'off CPU ms/GB':>14} {'on CPU ms/GB':>13} {'CPU on/off':>10}")
    for c in results["cases"]:
        print(f"{c['partitions']:>5} {c['record_size']:>5} {c['off_MBps']:>9.1f} {c['on_MBps']:>9.1f} {100 * (c['ratio'] or 0):>6.1f}% "
              f"{c['off_cpu_ms_per_GB']:>14.0f} {c['on_cpu_ms_per_GB']:>13.0f} {100 * (c['cpu_ratio'] or 0):>9.1f}%")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
