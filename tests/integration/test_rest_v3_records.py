"""REST API v3 produce (kafka-rest's openapi.yaml "Records (v3)"):
POST /v3/clusters/{id}/topics/{t}/records against a real node, driven by curl.

* records produced over REST are read back with confluent_kafka: key, value
  and headers byte for byte, the timestamp given, the partition given or
  Kafka's murmur2 choice for a keyed record;
* BINARY (base64), JSON (compact text) and STRING data; sizes and types in
  the answer;
* streaming mode: concatenated records answered by concatenated
  ProduceResponses in order, a bad record answered with its own error
  without stopping the others;
* malformed JSON 400, empty body 422, unknown topic 404/40403, unknown
  cluster 404, bad partitions 404/40403;
* a partition led by another broker: produced there (as this node), read back;
* every answer validated against tests/http/rest_v3_schemas.yaml.
"""
import base64
import json
import os
import tempfile
import time

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import Server, create_topic, free_port, run_tool
from rest_schema import curl, curl_json, validate

TOPIC = "rest-records"
PARTITIONS = 4


def murmur2(data: bytes) -> int:
    """Kafka's Utils.murmur2 as a signed 32-bit int (the default partitioner's hash)."""
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail, rest = data[4 * n4:], len(data) % 4
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_partition(key: bytes, n: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % n


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


@pytest.fixture(scope="module")
def env():
    with tempfile.TemporaryDirectory(prefix="flotilla-rest-records-") as d:
        http_port = free_port()
        os.makedirs(os.path.join(d, "node"))
        s = Server(os.path.join(d, "node"), {"http.listeners": f"http://127.0.0.1:{http_port}"})
        s.format()
        s.start()
        try:
            create_topic(s, TOPIC, PARTITIONS)
            yield {"server": s, "cluster": s.cluster_id,
                   "url": f"http://127.0.0.1:{http_port}/v3/clusters/{s.cluster_id}/topics/{TOPIC}/records",
                   "root": f"http://127.0.0.1:{http_port}/v3/clusters"}
        finally:
            s.stop()


def read_back(server, partition, offset, topic=TOPIC):
    c = Consumer({"bootstrap.servers": server if isinstance(server, str) else server.bootstrap, "group.id": "rest-reader", "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        deadline = time.time() + 30
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                assert m.offset() == offset
                return m
        raise AssertionError(f"no record at {TOPIC}-{partition}@{offset}")
    finally:
        c.close()


def stream_answers(text):
    """The concatenated JSON objects of a streaming answer, in order."""
    dec, pos, out = json.JSONDecoder(), 0, []
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            break
        obj, pos = dec.raw_decode(text, pos)
        out.append(validate(obj, "ProduceResponse"))
    return out


def test_binary_key_json_value_headers_read_back(env):
    key = b"\x00\x01key-\xff"
    headers = [{"name": "h1", "value": b64(b"\x00v1")}, {"name": "h2", "value": b64(b"")}]
    req = {"headers": headers, "key": {"type": "BINARY", "data": b64(key)},
           "value": {"type": "JSON", "data": {"foo": "bar", "n": [1, 2]}}, "timestamp": "2021-02-05T19:14:42.123Z"}
    r = curl_json("POST", env["url"], json.dumps(req), schema_name="ProduceResponse")
    assert r["error_code"] == 200 and r["cluster_id"] == env["cluster"] and r["topic_name"] == TOPIC
    assert r["partition_id"] == kafka_partition(key, PARTITIONS)  # Kafka's default partitioner
    assert r["timestamp"] == "2021-02-05T19:14:42.123Z"
    assert r["key"] == {"type": "BINARY", "size": len(key)}
    assert r["value"] == {"type": "JSON", "size": len(b'{"foo":"bar","n":[1,2]}')}
    m = read_back(env["server"], r["partition_id"], r["offset"])
    assert m.key() == key
    assert m.value() == b'{"foo":"bar","n":[1,2]}'
    assert m.headers() == [("h1", b"\x00v1"), ("h2", b"")]
    assert m.timestamp()[1] == 1612552482123


def test_string_value_explicit_partition_offsets_advance(env):
    first = curl_json("POST", env["url"], json.dumps({"partition_id": 3, "value": {"type": "STRING", "data": "héllo"}}),
                      schema_name="ProduceResponse")
    second = curl_json("POST", env["url"], json.dumps({"partition_id": 3, "value": {"type": "STRING", "data": "x"}}),
                       schema_name="ProduceResponse")
    assert first["partition_id"] == second["partition_id"] == 3
    assert second["offset"] == first["offset"] + 1
    assert "key" not in first and first["value"] == {"type": "STRING", "size": len("héllo".encode())}
    m = read_back(env["server"], 3, first["offset"])
    assert m.key() is None and m.value() == "héllo".encode()


def test_null_data_and_unkeyed_round_robin(env):
    seen = set()
    for _ in range(PARTITIONS):
        r = curl_json("POST", env["url"], json.dumps({"value": {"type": "JSON", "data": None}}),
                      schema_name="ProduceResponse")
        assert r["value"]["size"] == -1
        seen.add(r["partition_id"])
    assert seen == set(range(PARTITIONS))  # unkeyed records spread over every partition
    m = read_back(env["server"], r["partition_id"], r["offset"])
    assert m.value() is None


def test_streaming_three_records_in_order(env):
    keys = [b"alpha", b"beta", b"gamma"]
    body = "".join(json.dumps({"key": {"type": "STRING", "data": k.decode()},
                               "value": {"type": "STRING", "data": f"v{i}"}}) for i, k in enumerate(keys))
    code, text = curl("POST", env["url"], body, headers=["Transfer-Encoding: chunked"])  # as streaming clients send
    assert code == 200
    answers = stream_answers(text)
    assert len(answers) == 3
    for i, (k, a) in enumerate(zip(keys, answers)):
        assert a["error_code"] == 200 and a["partition_id"] == kafka_partition(k, PARTITIONS)
        m = read_back(env["server"], a["partition_id"], a["offset"])
        assert m.key() == k and m.value() == f"v{i}".encode()


def test_streaming_error_does_not_stop_the_stream(env):
    good = json.dumps({"partition_id": 0, "value": {"type": "STRING", "data": "ok"}})
    bad = json.dumps({"partition_id": 0, "value": {"type": "BINARY", "data": "not base64!"}})
    code, text = curl("POST", env["url"], good + "\n" + bad + "\n" + good)
    assert code == 200
    a = stream_answers(text)
    assert [x["error_code"] for x in a] == [200, 400, 200]
    assert "base64" in a[1]["message"]
    assert a[2]["offset"] == a[0]["offset"] + 1  # the bad record produced nothing
    code, text = curl("POST", env["url"], good + ' {"value": ')
    a = stream_answers(text.split("\n", 1)[0])  # the first record still answered
    assert code == 200 and a[0]["error_code"] == 200
    last = json.loads(text.strip().split("\n")[-1])
    assert validate(last, "ProduceResponse")["error_code"] == 400


@pytest.mark.parametrize("body,status,code", [
    ('{"value": {"type": "STRING", "data": "x"', 400, 400),                       # malformed JSON
    ('{"value": {"type": "BINARY", "data": "%%%"}}', 400, 400),                   # bad base64
    ('{"value": {"type": "BINARY", "data": 1}}', 400, 400),                       # not a string
    ('{"headers": [{"name": "h", "value": "@@"}]}', 400, 400),                    # bad header base64
    ('{"value": {"type": "XML", "data": "x"}}', 400, 400),                        # unknown type
    ('{"timestamp": "yesterday"}', 400, 400),                                     # bad timestamp
    ('[1, 2]', 400, 400),                                                         # not an object
    ('', 422, 422),                                                               # empty body
    ('{"partition_id": -1}', 404, 40403),
    ('{"partition_id": 4}', 404, 40403),
    # 100,000 nested arrays: nlohmann's dump() of the value recursed per level and overflowed the stack.
    ('{"value": {"type": "JSON", "data": ' + "[" * 100000 + "]" * 100000 + '}}', 400, 400),
], ids=lambda v: v[:40] if isinstance(v, str) else str(v))
def test_bad_records(env, body, status, code):
    # (the ids below keep pytest from naming a case by its 200 KB body)
    r = curl_json("POST", env["url"], body, schema_name="Error", status=status)
    assert r["error_code"] == code and r["message"]
    assert env["server"].proc.poll() is None


def test_unknown_topic_and_cluster(env):
    r = curl_json("POST", env["url"].replace(TOPIC, "no-such-topic"), '{"value":{"type":"STRING","data":"x"}}',
                  schema_name="Error", status=404)
    assert r["error_code"] == 40403
    r = curl_json("POST", f"{env['root']}/no-such-cluster/topics/{TOPIC}/records",
                  '{"value":{"type":"STRING","data":"x"}}', schema_name="Error", status=404)
    assert r == {"error_code": 404, "message": "Cluster no-such-cluster cannot be found."}


def test_leader_on_another_broker(cluster):
    http_port = free_port()

    def configure(node):
        if node.node_id == 100:
            node.props["http.listeners"] = f"http://127.0.0.1:{http_port}"
    c = cluster(controllers=1, brokers=2, configure=configure)
    bootstrap = ",".join(b.bootstrap for b in c.brokers)
    topic = "remote-records"
    create_topic(c.brokers[0], topic, 2)
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    leaders = {q: pm.leader for q, pm in md.topics[topic].partitions.items()}
    assert sorted(leaders.values()) == [100, 101]
    url = f"http://127.0.0.1:{http_port}/v3/clusters/{c.cluster_id}/topics/{topic}/records"
    for q in (0, 1):
        body = "".join(json.dumps({"partition_id": q, "key": {"type": "STRING", "data": f"k{q}-{i}"},
                                   "headers": [{"name": "n", "value": b64(bytes([q, i]))}],
                                   "value": {"type": "BINARY", "data": b64(bytes([i] * 3))}}) for i in range(2))
        code, text = curl("POST", url, body)
        assert code == 200
        answers = stream_answers(text)
        assert [(a["error_code"], a["partition_id"], a["offset"]) for a in answers] == [(200, q, 0), (200, q, 1)]
        for i in range(2):
            m = read_back(bootstrap, q, i, topic=topic)
            assert (m.key(), m.value(), m.headers()) == (f"k{q}-{i}".encode(), bytes([i] * 3), [("n", bytes([q, i]))])


def test_stream_of_many_records_keeps_body_order(env):
    """200 records over every partition, then 3 of 300 KiB to one partition
    (more than one batch): each partition's offsets follow the body's order."""
    recs = [{"key": {"type": "STRING", "data": f"key-{i}"}, "value": {"type": "STRING", "data": f"n{i}"}}
            for i in range(200)]
    big = "y" * (300 * 1024)
    recs += [{"partition_id": 2, "value": {"type": "STRING", "data": big + str(i)}} for i in range(3)]
    code, text = curl("POST", env["url"], "\n".join(json.dumps(r) for r in recs))
    assert code == 200
    answers = stream_answers(text)
    assert len(answers) == len(recs) and {a["error_code"] for a in answers} == {200}
    last = {}
    for i, a in enumerate(answers[:200]):
        assert a["partition_id"] == kafka_partition(f"key-{i}".encode(), PARTITIONS)
        p = a["partition_id"]
        assert a["offset"] > last.get(p, -1)
        last[p] = a["offset"]
    offs = [a["offset"] for a in answers[200:]]
    assert offs == [offs[0], offs[0] + 1, offs[0] + 2]
    for i in (0, 2):
        assert read_back(env["server"], 2, offs[i]).value() == (big + str(i)).encode()
    m = read_back(env["server"], answers[123]["partition_id"], answers[123]["offset"])
    assert (m.key(), m.value()) == (b"key-123", b"n123")


AUTHZ = {"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
         "allow.everyone.if.no.acl.found": "true"}


def test_write_denied_locally_and_on_another_broker(cluster):
    """The HTTP user (User:ANONYMOUS) may DESCRIBE but not WRITE a topic: the
    partition led here is refused by this node's broker API, the one led by
    the other broker by the check made here before sending (as this node)."""
    http_port = free_port()

    def configure(node):
        if node.node_id == 100:
            node.props["http.listeners"] = f"http://127.0.0.1:{http_port}"
    c = cluster(controllers=1, brokers=2, configure=configure, extra=AUTHZ)
    b = c.brokers[0]
    create_topic(b, "guarded", 2)
    create_topic(b, "open", 2)
    for args in (("--allow-principal", "User:ANONYMOUS", "--operation", "All"),
                 ("--deny-principal", "User:ANONYMOUS", "--operation", "Write")):
        run_tool("acls", "--bootstrap-server", b.bootstrap, "--add", *args, "--topic", "guarded")
    md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
    assert sorted(pm.leader for pm in md.topics["guarded"].partitions.values()) == [100, 101]
    root = f"http://127.0.0.1:{http_port}/v3/clusters/{c.cluster_id}/topics"
    body = "".join(json.dumps({"partition_id": q, "value": {"type": "STRING", "data": "x"}}) for q in (0, 1))

    def answers(topic):
        code, text = curl("POST", f"{root}/{topic}/records", body)
        assert code == 200
        return [(a["error_code"], a.get("partition_id")) for a in stream_answers(text)]
    deadline = time.time() + 20  # until the ACLs reach broker 100's image
    while answers("guarded") != [(40301, None), (40301, None)]:
        assert time.time() < deadline, answers("guarded")
        time.sleep(0.2)
    assert answers("open") == [(200, 0), (200, 1)]
    one = curl_json("POST", f"{root}/guarded/records", json.dumps({"value": {"type": "STRING", "data": "x"}}),
                    schema_name="Error", status=403)
    assert one["error_code"] == 40301
