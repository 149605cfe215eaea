"""KafkaJS (npm) against a real node: admin, keyed produce with headers, offsets."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import run_tool

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "kafkajs")),
                    reason="node or kafkajs not installed (make deps installs kafkajs with npm)")
def test_kafkajs_roundtrip(server):
    out = subprocess.run(["node", os.path.join(JS, "roundtrip.js"), server.bootstrap, "kjs"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"ok": True, "records": 2000}
    # Values are stored as sent: read a few back with our own consumer.
    c = run_tool("console-consumer", "--bootstrap-server", server.bootstrap, "--topic", "kjs", "--partition", "0",
                 "--from-beginning", "--max-messages", "3", "--timeout-ms", "10000", "--property", "print.key=true")
    assert c.stdout.splitlines() == ["k0\tv0", "k2\tv2", "k4\tv4"]


GROUP_EXTRA = {"offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "3",
               "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
               "transaction.state.log.num.partitions": "3", "group.initial.rebalance.delay.ms": "0"}


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(JS, "node_modules", "kafkajs")),
                    reason="node or kafkajs not installed (make deps installs kafkajs with npm)")
def test_kafkajs_admin_groups_and_send_offsets(make_server):
    """KafkaJS admin calls around a consumer group (list/describe/fetch/set/
    reset/delete), configs, partitions, deleteTopicRecords, and a transaction
    carrying the group's offsets (js/admin_groups.js)."""
    server = make_server(GROUP_EXTRA)
    out = subprocess.run(["node", os.path.join(JS, "admin_groups.js"), server.bootstrap, "kja"], capture_output=True,
                         text=True, timeout=150)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout.strip().splitlines()[-1])
    assert s["brokers"] == [1] and s["controller"] == 1
    assert s["partitions"] == 3 and s["retention_ms"] == "7200000"
    assert s["group_read"] == 30 and s["listed"] is True
    assert (s["group_state"], s["group_protocol"], s["group_members"]) == ("Stable", "RoundRobinAssigner", 1)
    assert s["committed"] == {"0": 10, "1": 10, "2": 10}
    assert s["after_set"] == 4
    assert s["after_reset"] == [-2, -2, -2]  # KafkaJS commits its "earliest" sentinel, stored as sent (as Kafka)
    assert s["low_p1"] == 3 and s["after_reset_resolved"] == {"0": 0, "1": 3, "2": 0}
    assert s["txn_group_offset"] == 10 and s["out_high"] == 3
    assert s["groups_left"] == 0 and s["deleted"] is True
