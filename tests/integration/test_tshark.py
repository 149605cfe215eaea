"""tshark's Kafka dissector (Debian package `tshark`) decodes a capture of a
full confluent-kafka (librdkafka) session with a Flotilla node — admin,
idempotent produce, a consumer group that commits, a committed and an aborted
transaction with offsets sent to the transaction, a read_committed read —
with no malformed packet and no error-level expert info, and shows the APIs
that session used.

Capturing on lo needs root (or dumpcap with CAP_NET_RAW): without it the
test skips. Only frames of the node's port are captured (capture filter).
"""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed (Debian package tshark)")

EXTRA = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
}

# The APIs the session below uses, by Wireshark's names (it calls ListOffsets
# "Offsets"); each must show up decoded, as requests and as responses.
EXPECTED_APIS = {
    "ApiVersions", "Metadata", "CreateTopics", "DescribeConfigs", "Produce", "InitProducerId", "FindCoordinator",
    "JoinGroup", "SyncGroup", "Heartbeat", "OffsetFetch", "OffsetCommit", "Fetch", "Offsets", "LeaveGroup",
    "AddPartitionsToTxn", "AddOffsetsToTxn", "TxnOffsetCommit", "EndTxn",
}


def capture(bootstrap, port, path):
    """Starts tshark on lo for tcp port `port`; returns the process once
    frames of that port reach the file (probed with ApiVersions: "Capturing
    on" is printed before the capture is live), or skips when capturing is
    not permitted."""
    errpath = path + ".stderr"
    err = open(errpath, "w")
    proc = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", path, "-q"],
                            stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.time() + 20
    while time.time() < deadline:
        with open(errpath) as f:
            text = f.read()
        if "Capturing on" in text:
            err.close()
            return wait_live(proc, bootstrap, path, deadline)
        if proc.poll() is not None:
            err.close()
            if re.search(r"permission|Operation not permitted|don't have permission", text, re.I):
                pytest.skip(f"capturing on lo is not permitted here: {text.strip()}")
            raise AssertionError(f"tshark exited with {proc.returncode}:\n{text}")
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise AssertionError("tshark did not start capturing in 20s")


def wait_live(proc, bootstrap, path, deadline):
    from kafka_wire import api_versions
    empty = os.path.getsize(path) if os.path.exists(path) else 0
    while time.time() < deadline:
        api_versions(bootstrap, version=3)
        time.sleep(0.2)
        if os.path.exists(path) and os.path.getsize(path) > empty:
            return proc
    stop_capture(proc)
    raise AssertionError("no frame reached the capture file in 20s")


def stop_capture(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("tshark did not stop on SIGINT in 20s")


def session(bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic("cap", num_partitions=2, replication_factor=1),
                     NewTopic("cap-out", num_partitions=1, replication_factor=1)])["cap"].result(15)
    desc = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "cap")])
    assert list(desc.values())[0].result(15)["cleanup.policy"].value == "delete"

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(50):
        p.produce("cap", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"%d" % i)])
    assert p.flush(30) == 0

    group = {"bootstrap.servers": bootstrap, "group.id": "cap-group", "enable.auto.commit": False,
             "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
             "isolation.level": "read_committed"}
    c = Consumer(group)
    c.subscribe(["cap"])
    read = []
    deadline = time.time() + 45
    while len(read) < 50:
        assert time.time() < deadline, f"read {len(read)} of 50 in 45s"
        m = c.poll(0.2)
        if m is not None and not m.error():
            read.append(m)
    assert sorted(m.value() for m in read) == sorted(b"v%d" % i for i in range(50))
    c.commit(asynchronous=False)

    # Consume-transform-produce: a committed and an aborted transaction,
    # each with the group's offsets sent to the transaction.
    tp = Producer({"bootstrap.servers": bootstrap, "transactional.id": "cap-txn", "linger.ms": 5})
    tp.init_transactions(30)
    for commit in (True, False):
        tp.begin_transaction()
        for m in read[:5]:
            tp.produce("cap-out", key=m.key(), value=m.value().upper())
        offsets = [TopicPartition("cap", q, c.position([TopicPartition("cap", q)])[0].offset) for q in (0, 1)]
        tp.send_offsets_to_transaction(offsets, c.consumer_group_metadata(), 30)
        if commit:
            tp.commit_transaction(30)
        else:
            tp.abort_transaction(30)
    c.close()

    r = Consumer({**group, "group.id": "cap-reader"})
    r.assign([TopicPartition("cap-out", 0, 0)])
    out = []
    deadline = time.time() + 20
    while len(out) < 5 and time.time() < deadline:
        m = r.poll(0.2)
        if m is not None and not m.error():
            out.append(m.value())
    extra = r.poll(1.0)  # the aborted five are never delivered
    r.close()
    assert out == [m.value().upper() for m in read[:5]] and (extra is None or extra.error())


# Wireshark 4.0's Kafka dissector (Debian bookworm's tshark) misreads the
# embedded consumer protocol bytes of JoinGroup and SyncGroup — the
# subscription v1 (with OwnedPartitions) in JoinGroup protocol metadata and
# member metadata, the assignment in SyncGroup — and reports "Dissected message
# does not end at the pdu length offset" (Warning/Malformed) for them. It does
# so on librdkafka's own JoinGroup and SyncGroup *requests* too, whose bytes
# are Kafka's ConsumerProtocolSubscription v1 exactly (checked by hand: the
# 19-byte metadata holds version 1, one topic, empty user data, no owned
# partitions), and Flotilla's responses carry those client bytes unchanged.
# Only that report, on frames whose every Kafka PDU is JoinGroup or
# SyncGroup, is excused; anything else malformed fails the test.
LIMITATION = "Dissected message does not end at the pdu length offset"


def dissector_limitation(line):
    _, info, experts = line.split("|", 2)
    apis = re.findall(r"Kafka (\w+) v\d+ (?:Request|Response)", info)
    return bool(apis) and set(apis) <= {"JoinGroup", "SyncGroup"} and set(experts.split(",")) == {LIMITATION}


def test_tshark_decodes_a_full_client_session(make_server, workdir):
    server = make_server(EXTRA)
    pcap = os.path.join(workdir, "session.pcapng")
    proc = capture(server.bootstrap, server.port, pcap)
    try:
        session(server.bootstrap)
        time.sleep(0.5)  # the last responses reach the capture
    finally:
        stop_capture(proc)

    decode = ["tshark", "-r", pcap, "-d", f"tcp.port=={server.port},kafka"]
    bad = subprocess.run(decode + ["-Y", "_ws.malformed || _ws.expert.severity == error", "-T", "fields",
                                   "-E", "separator=|", "-e", "frame.number", "-e", "_ws.col.Info",
                                   "-e", "_ws.expert.message"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 0, bad.stderr
    unexplained = [line for line in bad.stdout.splitlines() if not dissector_limitation(line)]
    assert unexplained == [], "malformed or error-level frames:\n" + "\n".join(unexplained)

    info = subprocess.run(decode + ["-Y", "kafka", "-T", "fields", "-e", "_ws.col.Info"], capture_output=True,
                          text=True, timeout=120)
    assert info.returncode == 0, info.stderr
    # Wireshark 4.0 decodes InitProducerId up to v3 and librdkafka 2.0 sends
    # v4 (shown "[Unsupported API version]", body not decoded); every other
    # PDU of the session is in the dissector's version ranges, decoded fully.
    undecoded = set(re.findall(r"Kafka (\w+) v\d+ (?:Request|Response) \[Unsupported API version\]", info.stdout))
    assert undecoded <= {"InitProducerId"}, f"APIs the dissector did not decode: {sorted(undecoded)}"
    requests, responses = set(), set()
    for line in info.stdout.splitlines():
        # One Info column per frame; a frame may hold several PDUs ("Kafka X v1 Request, Kafka Y v2 Request").
        for api, kind in re.findall(r"Kafka (\w+) v\d+ (Request|Response)", line):
            (requests if kind == "Request" else responses).add(api)
    assert EXPECTED_APIS <= requests, f"requests not decoded: {sorted(EXPECTED_APIS - requests)}; seen {sorted(requests)}"
    assert EXPECTED_APIS <= responses, f"responses not decoded: {sorted(EXPECTED_APIS - responses)}; seen {sorted(responses)}"
