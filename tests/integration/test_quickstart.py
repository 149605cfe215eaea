"""The README quick start, literally, with flotilla's tools and with kcat."""
import os
import shutil
import subprocess

import pytest

from conftest import BIN, Server, run_tool


def test_quickstart_with_flotilla_tools(make_server):
    srv = make_server(start=False)
    out = srv.format()
    assert "Formatting" in out.stdout + out.stderr
    meta = open(os.path.join(srv.data, "meta.properties")).read()
    assert "version=1" in meta
    assert f"cluster.id={srv.cluster_id}" in meta
    assert "node.id=1" in meta
    assert "directory.id=" in meta
    srv.start()
    assert "Kafka Server started" in srv.log_text()

    r = run_tool("topics", "--create", "--topic", "quickstart-events", "--bootstrap-server", srv.bootstrap)
    assert "Created topic quickstart-events." in r.stdout
    d = run_tool("topics", "--describe", "--topic", "quickstart-events", "--bootstrap-server", srv.bootstrap)
    assert "Topic: quickstart-events" in d.stdout
    assert "PartitionCount: 1" in d.stdout
    assert "Leader: 1" in d.stdout
    lst = run_tool("topics", "--list", "--bootstrap-server", srv.bootstrap)
    assert lst.stdout.split() == ["quickstart-events"]

    run_tool("console-producer", "--topic", "quickstart-events", "--bootstrap-server", srv.bootstrap,
             input="This is my first event\nThis is my second event\n")
    c = run_tool("console-consumer", "--topic", "quickstart-events", "--from-beginning", "--max-messages", "2",
                 "--bootstrap-server", srv.bootstrap, "--timeout-ms", "10000")
    assert c.stdout.splitlines() == ["This is my first event", "This is my second event"]
    assert "Processed a total of 2 messages" in c.stderr

    # Keys, as in Kafka's console tools.
    run_tool("console-producer", "--topic", "quickstart-events", "--bootstrap-server", srv.bootstrap,
             "--property", "parse.key=true", "--property", "key.separator=:", input="k1:v1\nk2:v2\n")
    c = run_tool("console-consumer", "--topic", "quickstart-events", "--from-beginning", "--max-messages", "4",
                 "--bootstrap-server", srv.bootstrap, "--property", "print.key=true", "--timeout-ms", "10000")
    lines = c.stdout.splitlines()
    assert lines[2:] == ["k1\tv1", "k2\tv2"]

    # Stop, restart: the data is still there.
    assert srv.stop() == 0
    srv.start()
    c = run_tool("console-consumer", "--topic", "quickstart-events", "--from-beginning", "--max-messages", "4",
                 "--bootstrap-server", srv.bootstrap, "--timeout-ms", "10000")
    assert c.stdout.splitlines() == ["This is my first event", "This is my second event", "v1", "v2"]


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")
def test_quickstart_with_kcat(server):
    run_tool("topics", "--create", "--topic", "kcat-events", "--bootstrap-server", server.bootstrap)
    lines = [f"line {i}" for i in range(100)]
    subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat-events", "-P"], input="\n".join(lines) + "\n",
                   text=True, check=True, timeout=30)
    out = subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat-events", "-C", "-o", "beginning", "-e"],
                         capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.splitlines() == lines
    # Keyed produce and print with kcat's own key handling.
    subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat-events", "-P", "-K:"], input="a:1\nb:2\n",
                   text=True, check=True, timeout=30)
    out = subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat-events", "-C", "-o", "100", "-e", "-K:"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["a:1", "b:2"]


def test_format_twice_fails_without_ignore_formatted(make_server):
    srv = make_server(start=False)
    srv.format()
    r = run_tool("storage", "format", "--config", srv.config, "--cluster-id", srv.cluster_id, check=False)
    assert r.returncode != 0
    assert "already formatted" in r.stdout + r.stderr
    r = run_tool("storage", "format", "--config", srv.config, "--cluster-id", srv.cluster_id, "--ignore-formatted")
    assert r.returncode == 0


def test_bad_cluster_id_is_refused(make_server):
    srv = make_server(start=False)
    r = run_tool("storage", "format", "--config", srv.config, "--cluster-id", "not-a-uuid", check=False)
    assert r.returncode != 0


def test_unformatted_storage_refuses_to_start(make_server):
    srv = make_server(start=False)
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) != 0
    assert "meta.properties" in srv.log_text()


def test_cluster_id_mismatch_refuses_to_start(make_server):
    srv = make_server(start=False)
    srv.format()
    # A second log dir formatted for another cluster.
    other = os.path.join(srv.dir, "data2")
    os.makedirs(other)
    with open(os.path.join(other, "meta.properties"), "w") as f:
        f.write(f"version=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAQ\nnode.id=1\ndirectory.id=AAAAAAAAAAAAAAAAAAAAAg\n")
    with open(srv.config, "a") as f:
        f.write(f"log.dirs={srv.data},{other}\n")
    srv.start(wait=False)
    assert srv.proc.wait(timeout=20) != 0
    assert "cluster.id" in srv.log_text() or "Cluster" in srv.log_text()


def test_startup_is_fast_and_logged(server):
    text = server.log_text()
    assert "startup took" in text
