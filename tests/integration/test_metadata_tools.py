"""`flotilla metadata-shell` and `flotilla metadata-diff` on the metadata log
of a running node (its `__cluster_metadata-0` directory)."""
import json
import os

from conftest import create_topic, run_tool


def metadata_dir(server):
    return os.path.join(server.data, "__cluster_metadata-0")


def shell(server, *command):
    return run_tool("metadata-shell", "--directory", metadata_dir(server), *command)


def test_metadata_shell_and_diff(server):
    create_topic(server, "first-topic", partitions=2)
    before = json.loads(shell(server, "cat", "/image/provenance").stdout)
    assert before["offset"] >= 0
    create_topic(server, "second-topic", partitions=1)

    listing = shell(server, "ls", "/image/topics/byName").stdout.split()
    assert listing == ["first-topic", "second-topic"]

    part = json.loads(shell(server, "cat", "/image/topics/byName/second-topic/0").stdout)
    assert part["leader"] == 1
    assert part["replicas"] == [1] and part["isr"] == [1]

    brokers = shell(server, "ls", "/image/cluster/brokers").stdout.split()
    assert brokers == ["1"]
    reg = json.loads(shell(server, "cat", "/image/cluster/brokers/1").stdout)
    assert reg["brokerId"] == 1 and reg["fenced"] is False
    assert "metadata.version" in shell(server, "ls", "/image/features").stdout.split()
    # The controller registered itself (KIP-919) with its controller listener and feature ranges.
    assert shell(server, "ls", "/image/cluster/controllers").stdout.split() == ["1"]
    ctl = json.loads(shell(server, "cat", "/image/cluster/controllers/1").stdout)
    assert ctl["id"] == 1 and [l["port"] for l in ctl["listeners"]] == [server.cport], ctl
    assert ctl["supportedFeatures"]["metadata.version"]["maxVersion"] >= 25, ctl

    # Commands from stdin (not a tty: no prompt).
    p = run_tool("metadata-shell", "--directory", metadata_dir(server),
                 input="cd /image/topics/byName/first-topic\npwd\nls\nexit\n")
    assert p.stdout.split() == ["/image/topics/byName/first-topic", "0", "1", "id", "name"]

    # The diff from just before the second topic to now: exactly that topic.
    d = metadata_dir(server)
    r = run_tool("metadata-diff", f"{d}@{before['offset']}", d, "--json")
    diff = json.loads(r.stdout)
    assert [t["name"] for t in diff["topics"]["added"]] == ["second-topic"]
    assert diff["topics"]["added"][0]["partitions"] == 1
    assert diff["topics"]["removed"] == []
    assert diff["partitions"] == {"added": [], "removed": [], "changed": []}
    assert all(v == [] for v in diff["brokers"].values())
    assert diff["configs"] == {"set": [], "removed": []}
    assert diff["features"]["changed"] == []

    text = run_tool("metadata-diff", f"{d}@{before['offset']}", d).stdout.splitlines()
    assert text[0].startswith("Comparing metadata at offset")
    assert len(text) == 2 and text[1].startswith("+ topic second-topic (id ")
