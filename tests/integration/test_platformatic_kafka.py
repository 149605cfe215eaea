"""@platformatic/kafka (npm, pinned in js/package.json) against a real node:
admin, an idempotent producer, a consumer group committing per message, and
transactions read back read_committed (js/platformatic.js)."""
import json
import os
import shutil
import subprocess

import pytest

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
EXTRA = {"offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "3",
         "transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
         "transaction.state.log.num.partitions": "3", "group.initial.rebalance.delay.ms": "0"}


@pytest.mark.skipif(shutil.which("node") is None
                    or not os.path.isdir(os.path.join(JS, "node_modules", "@platformatic", "kafka")),
                    reason="node or @platformatic/kafka not installed (npm ci in tests/integration/js, make js-deps)")
def test_platformatic_kafka(make_server):
    server = make_server(EXTRA)
    out = subprocess.run(["node", os.path.join(JS, "platformatic.js"), server.bootstrap, "pk"], capture_output=True,
                         text=True, timeout=150)
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout.strip().splitlines()[-1])
    assert s["created"] == [["pk-t", 2]] and s["metadata_partitions"] == 2
    assert s["cleanup_policy"] == "delete"
    assert s["group_read"] == 30 and s["listed"] is True
    assert (s["group_state"], s["group_protocol_type"], s["group_members"]) == ("STABLE", "consumer", 1)
    assert s["group_protocol"] == "roundrobin"
    # Every message was committed: the group's offsets are the end offsets.
    assert s["committed"] == s["end"] and sum(s["end"].values()) == 30
    assert s["txn_values"] == ["c0", "c1", "c2"]  # the aborted a0..a2 never delivered
    assert s["groups_after_delete"] == [] and s["deleted"] is True
