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
