"""A dynamic controller quorum (KIP-853): one controller formatted with
--standalone, two more formatted with --no-initial-controllers and added with
`metadata-quorum add-controller`, a broker that only knows
controller.quorum.bootstrap.servers; then a failover and remove-controller."""
import os
import time

from conftest import Node, free_port, run_tool
from kafka_wire import describe_quorum


def status(boot):
    out = run_tool("metadata-quorum", "--bootstrap-controller", boot, "describe", "--status").stdout
    return {k: v.strip() for k, v in (line.split(":", 1) for line in out.strip().splitlines())}


def voter_ids(boot):
    q = None
    for addr in boot.split(","):
        try:
            q = describe_quorum(addr, timeout=1)
        except OSError:
            continue
        if q["partition_error"] == 0:
            return sorted(v[0] for v in q["voters"]), q
    return None, q


def test_add_controllers_fail_over_and_remove_one(workdir):
    ports = [free_port() for _ in range(3)]
    boot = f"127.0.0.1:{ports[0]}"
    nodes = []
    for i in range(3):
        d = os.path.join(workdir, f"controller-{i + 1}")
        os.makedirs(d)
        nodes.append(Node(d, i + 1, "controller", "", cport=ports[i],
                          extra={"controller.quorum.bootstrap.servers": boot}))
    bd = os.path.join(workdir, "broker-100")
    os.makedirs(bd)
    broker = Node(bd, 100, "broker", "", extra={"controller.quorum.bootstrap.servers": boot})
    for n in nodes + [broker]:  # no static voters in a dynamic quorum
        with open(n.config) as f:
            text = f.read().replace("controller.quorum.voters=\n", "")
        with open(n.config, "w") as f:
            f.write(text)
    cid = run_tool("storage", "random-uuid").stdout.strip()
    run_tool("storage", "format", "--config", nodes[0].config, "--cluster-id", cid, "--standalone")
    for n in nodes[1:]:
        run_tool("storage", "format", "--config", n.config, "--cluster-id", cid, "--no-initial-controllers")
    run_tool("storage", "format", "--config", broker.config, "--cluster-id", cid)
    started = []
    try:
        for n in nodes:
            n.start(wait=False)
            started.append(n)
        for n in nodes:
            n.wait_ready()
        broker.start(wait=False)
        started.append(broker)
        broker.wait_ready(timeout=30)
        s = status(boot)
        assert s["ClusterId"] == cid and s["LeaderId"] == "1"
        assert '"id": 1' in s["CurrentVoters"] and '"id": 2' not in s["CurrentVoters"]
        # Controllers 2 and 3 replicate as observers until added.
        for n in nodes[1:]:
            deadline = time.time() + 20
            while True:
                p = run_tool("metadata-quorum", "--command-config", n.config, "--bootstrap-controller", boot,
                             "add-controller", check=False)
                if p.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(0.2)
            assert p.returncode == 0, p.stderr
            assert f"Added controller {n.node_id}" in p.stdout
        ids, q = voter_ids(boot)
        assert ids == [1, 2, 3]
        # Adding a voter twice is refused with Kafka's error.
        p = run_tool("metadata-quorum", "--command-config", nodes[1].config, "--bootstrap-controller", boot,
                     "add-controller", check=False)
        assert p.returncode == 1 and "DUPLICATE_VOTER" in p.stderr
        run_tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "before")
        # kill -9 the leader (controller 1): 2 and 3 are a majority of 3.
        nodes[0].kill9()
        survivors = ",".join(n.controller for n in nodes[1:])
        deadline = time.time() + 15
        while time.time() < deadline:
            ids, q = voter_ids(survivors)
            if ids and q["leader_id"] in (2, 3):
                break
            time.sleep(0.02)
        assert q and q["leader_id"] in (2, 3)
        run_tool("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", "after")
        topics = set(run_tool("topics", "--bootstrap-server", broker.bootstrap, "--list").stdout.split())
        assert {"before", "after"} <= topics
        # Remove the dead controller from the voters.
        with open(os.path.join(nodes[0].data, "meta.properties")) as f:
            dir_id = dict(line.strip().split("=", 1) for line in f if "=" in line)["directory.id"]
        p = run_tool("metadata-quorum", "--bootstrap-controller", survivors, "remove-controller",
                     "--controller-id", "1", "--controller-directory-id", dir_id, check=False)
        assert p.returncode == 0, p.stderr
        ids, q = voter_ids(survivors)
        assert ids == [2, 3]
        p = run_tool("metadata-quorum", "--bootstrap-controller", survivors, "remove-controller",
                     "--controller-id", "1", "--controller-directory-id", dir_id, check=False)
        assert p.returncode == 1 and "VOTER_NOT_FOUND" in p.stderr
    finally:
        for n in started:
            try:
                n.stop()
            except AssertionError:
                n.kill9()
