"""Client telemetry (KIP-714) on a real node.

- Client-metrics subscriptions are CLIENT_METRICS config resources:
  `flotilla configs --entity-type client-metrics` alters and describes them
  with kafka-configs.sh's texts, invalid ones get Kafka's errors, and
  ListClientMetricsResources (raw and `flotilla client-metrics --list`)
  lists them.
- GetTelemetrySubscriptions / PushTelemetry over the raw wire, with an OTLP
  ExportMetricsServiceRequest built here by hand in the shape librdkafka 2.5+
  sends (the installed librdkafka is older than 2.5, which has no KIP-714
  support: the librdkafka test below runs only with 2.5 or later). The node
  logs the metric names it decoded from a client instance's first push; the
  errors are Kafka's: THROTTLING_QUOTA_EXCEEDED, UNKNOWN_SUBSCRIPTION_ID,
  TELEMETRY_TOO_LARGE, INVALID_RECORD; a truncated request closes only its
  connection.
"""
import gzip
import re
import struct
import time
import uuid

import pytest

import kafka_wire as kw
from conftest import run_tool

GET_TELEMETRY, PUSH_TELEMETRY, LIST_CLIENT_METRICS = 71, 72, 74
THROTTLING_QUOTA_EXCEEDED, INVALID_RECORD, UNKNOWN_SUBSCRIPTION_ID, TELEMETRY_TOO_LARGE = 89, 87, 117, 118


# ---------------------------------------------------------------- a tiny OTLP (protobuf) writer

def pb_varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def pb_len(field, payload):
    return pb_varint(field << 3 | 2) + pb_varint(len(payload)) + payload


def pb_str(field, s):
    return pb_len(field, s.encode())


def pb_fixed64(field, raw8):
    return pb_varint(field << 3 | 1) + raw8


def kv(k, v):
    return pb_str(1, k) + pb_len(2, pb_str(1, v))


def number_point(value, attrs=(), t=1_700_000_000_000_000_000):
    p = b"".join(pb_len(7, kv(k, v)) for k, v in attrs)
    p += pb_fixed64(2, struct.pack("<Q", t - 1000)) + pb_fixed64(3, struct.pack("<Q", t))
    if isinstance(value, int):
        p += pb_fixed64(6, struct.pack("<q", value))
    else:
        p += pb_fixed64(4, struct.pack("<d", value))
    return p


def gauge(name, value, attrs=()):
    return pb_str(1, name) + pb_len(5, pb_len(1, number_point(value, attrs)))


def counter(name, value):
    data = pb_len(1, number_point(value)) + pb_varint(2 << 3) + pb_varint(1) + pb_varint(3 << 3) + pb_varint(1)
    return pb_str(1, name) + pb_len(7, data)


PRODUCER_METRICS = [
    gauge("org.apache.kafka.producer.node.request.latency.avg", 1.5, [("node.id", "1")]),
    gauge("org.apache.kafka.producer.record.queue.time.avg", 0.8),
    gauge("org.apache.kafka.producer.record.queue.time.max", 2.0),
    counter("org.apache.kafka.producer.connection.creation.total", 3),
]


def otlp_request(metrics):
    resource = pb_len(1, kv("client_id", "telemetry-test")) + pb_len(1, kv("transactional_id", ""))
    scope = pb_len(1, pb_str(1, "librdkafka")) + b"".join(pb_len(2, m) for m in metrics)
    return pb_len(1, pb_len(1, resource) + pb_len(2, scope))


# ---------------------------------------------------------------- the three APIs, raw (all flexible v0)

def call(bootstrap, api_key, body, sock=None):
    s = sock or kw.connect(bootstrap)
    try:
        kw.request(s, api_key, 0, body, flexible_header=True)
        r = kw.Reader(kw.response(s))
        r.i32()  # correlation id
        r.tags()
        return r
    finally:
        if sock is None:
            s.close()


def get_subscriptions(bootstrap, instance_id=b"\0" * 16, sock=None):
    r = call(bootstrap, GET_TELEMETRY, instance_id + b"\x00", sock)
    out = {"throttle": r.i32(), "error": r.i16(), "id": r.take(16), "subscription_id": r.i32()}
    out["compression"] = list(r.take(r.uvarint() - 1))
    out["interval"], out["max_bytes"] = r.i32(), r.i32()
    out["delta"] = r.take(1) == b"\x01"
    out["metrics"] = [r.compact_string() for _ in range(r.uvarint() - 1)]
    return out


def push(bootstrap, instance_id, subscription_id, payload, compression=0, terminating=False, sock=None):
    body = instance_id + struct.pack(">ib", subscription_id, int(terminating)) + struct.pack(">b", compression)
    body += kw.uvarint(len(payload) + 1) + payload + b"\x00"
    r = call(bootstrap, PUSH_TELEMETRY, body, sock)
    r.i32()
    return r.i16()


def list_client_metrics_resources(bootstrap):
    r = call(bootstrap, LIST_CLIENT_METRICS, b"\x00")
    r.i32()
    err = r.i16()
    names = []
    for _ in range(r.uvarint() - 1):
        names.append(r.compact_string())
        r.tags()
    return err, names


def configs(server, *args, check=True):
    return run_tool("configs", "--bootstrap-server", server.bootstrap, *args, check=check)


def wait_for(cond, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    return cond()


# ---------------------------------------------------------------- tests

def test_api_versions_lists_the_telemetry_apis(server):
    err, apis = kw.api_versions(server.bootstrap, version=3)
    assert err == 0
    for key in (GET_TELEMETRY, PUSH_TELEMETRY):
        assert apis.get(key) == (0, 0), key
    assert apis.get(LIST_CLIENT_METRICS) == (0, 1)  # v1: Kafka 4.1's ListConfigResources (KIP-1142)


def test_client_metrics_subscriptions_through_configs(server):
    p = configs(server, "--entity-type", "client-metrics", "--entity-name", "producers", "--alter",
                "--add-config", "metrics=[org.apache.kafka.producer.,org.apache.kafka.client.],interval.ms=1000")
    assert p.stdout == "Completed updating config for client-metric producers.\n"
    p = configs(server, "--entity-type", "client-metrics", "--entity-name", "producers", "--describe")
    assert p.stdout == ("Dynamic configs for client-metric producers are:\n"
                        "  interval.ms=1000 sensitive=false synonyms={}\n"
                        "  metrics=org.apache.kafka.producer.,org.apache.kafka.client. sensitive=false synonyms={}\n")
    configs(server, "--client-metrics", "all", "--alter", "--add-config", "metrics=*,match=[client_id=perf-.*]")

    # Listed: raw, by kafka-configs.sh's describe of every subscription, by kafka-client-metrics.sh.
    assert list_client_metrics_resources(server.bootstrap) == (0, ["all", "producers"])
    p = configs(server, "--entity-type", "client-metrics", "--describe")
    assert p.stdout.startswith("Dynamic configs for client-metric all are:\n  match=client_id=perf-.* sensitive=false synonyms={}\n")
    assert "Dynamic configs for client-metric producers are:\n" in p.stdout
    assert run_tool("client-metrics", "--bootstrap-server", server.bootstrap, "--list").stdout == "all\nproducers\n"
    p = run_tool("client-metrics", "--bootstrap-server", server.bootstrap, "--describe", "--name", "all")
    assert p.stdout == "Client metrics configs for all are:\n  match=client_id=perf-.*\n  metrics=*\n"

    # Kafka's validation (ClientMetricsConfigs), nothing written.
    bad = [("interval.ms=50", "Invalid value 50 for interval.ms, interval must be between 100 and 3600000 (1 hour)"),
           ("match=[client_name=x]", "Illegal client matching pattern: client_name=x"),
           ("interval.ms=abc", "Invalid value abc for configuration interval.ms: Not a number of type INT"),
           ("retention.ms=1", "Unknown client metrics configuration: retention.ms")]
    for add, message in bad:
        p = configs(server, "--entity-type", "client-metrics", "--entity-name", "producers", "--alter", "--add-config", add, check=False)
        assert p.returncode == 1, add
        assert message in p.stderr, p.stderr
    p = configs(server, "--entity-type", "client-metrics", "--entity-name", "producers", "--describe")
    assert "interval.ms=1000 " in p.stdout

    # kafka-client-metrics.sh --alter / --delete.
    p = run_tool("client-metrics", "--bootstrap-server", server.bootstrap, "--alter", "--name", "consumers",
                 "--metrics", "org.apache.kafka.consumer.", "--interval", "2000", "--match", "client_software_name=librdkafka")
    assert p.stdout == "Altered client metrics config for consumers.\n"
    assert list_client_metrics_resources(server.bootstrap) == (0, ["all", "consumers", "producers"])
    p = run_tool("client-metrics", "--bootstrap-server", server.bootstrap, "--delete", "--name", "consumers")
    assert p.stdout == "Deleted client metrics config for consumers.\n"
    # Deleting every key removes the subscription.
    configs(server, "--entity-type", "client-metrics", "--entity-name", "all", "--alter", "--delete-config", "metrics,match")
    assert wait_for(lambda: list_client_metrics_resources(server.bootstrap) == (0, ["producers"]))


def test_get_and_push_telemetry_raw(make_server):
    server = make_server({"telemetry.max.bytes": "2048"})
    configs(server, "--entity-type", "client-metrics", "--entity-name", "everything", "--alter",
            "--add-config", "metrics=[org.apache.kafka.],interval.ms=1000")

    # A client sending the zero Uuid gets an instance id and its subscription.
    sub = get_subscriptions(server.bootstrap)
    assert sub["error"] == 0
    assert sub["id"] != b"\0" * 16
    assert sub["metrics"] == ["org.apache.kafka."]
    assert sub["interval"] == 1000
    assert sub["max_bytes"] == 2048
    assert sub["compression"] == [4, 3, 1, 2]  # zstd, lz4, gzip, snappy
    assert sub["delta"] is True
    instance, sid = sub["id"], sub["subscription_id"]
    # Asking again within the interval: throttled.
    assert get_subscriptions(server.bootstrap, instance)["error"] == THROTTLING_QUOTA_EXCEEDED

    payload = otlp_request(PRODUCER_METRICS)
    assert push(server.bootstrap, instance, sid, gzip.compress(payload), compression=1) == 0
    instance_text = None

    def pushed_line():
        return re.search(r"Client instance (\S+) \(client id 'test'.*\) pushed 4 metric\(s\): (.*)", server.log_text())
    m = wait_for(pushed_line)
    assert m, server.log_text()[-3000:]
    instance_text = m.group(1)
    names = m.group(2).split(", ")
    assert "org.apache.kafka.producer.record.queue.time.avg" in names
    assert "org.apache.kafka.producer.connection.creation.total" in names
    assert len(instance_text) == 22  # Kafka's base64 Uuid

    # Faster than the interval: throttled.
    assert push(server.bootstrap, instance, sid, payload) == THROTTLING_QUOTA_EXCEEDED
    time.sleep(1.1)
    assert push(server.bootstrap, instance, sid ^ 1, payload) == UNKNOWN_SUBSCRIPTION_ID
    time.sleep(1.1)
    big = otlp_request([gauge("org.apache.kafka.producer.m%d" % i, float(i)) for i in range(100)])
    assert len(big) > 2048
    assert push(server.bootstrap, instance, sid, big) == TELEMETRY_TOO_LARGE
    time.sleep(1.1)
    assert push(server.bootstrap, instance, sid, b"\x0b\x01garbage") == INVALID_RECORD
    time.sleep(1.1)
    assert push(server.bootstrap, instance, sid, payload[:-3]) == INVALID_RECORD  # truncated protobuf
    time.sleep(1.1)
    assert push(server.bootstrap, instance, sid, payload) == 0

    # A truncated request closes that connection only; the node goes on.
    s = kw.connect(server.bootstrap)
    kw.request(s, PUSH_TELEMETRY, 0, instance[:7], flexible_header=True)
    assert kw.is_closed(s)
    s.close()
    assert get_subscriptions(server.bootstrap)["error"] == 0
    assert server.proc.poll() is None


def test_unsubscribed_client_gets_no_metrics_and_the_default_interval(server):
    sub = get_subscriptions(server.bootstrap)
    assert sub["error"] == 0
    assert sub["metrics"] == []
    assert sub["interval"] == 300000


def _librdkafka_version():
    try:
        import confluent_kafka
    except ImportError:
        return None
    return confluent_kafka.libversion()[1]


@pytest.mark.skipif((_librdkafka_version() or 0) < 0x02050000,
                    reason="librdkafka < 2.5 has no KIP-714 client metrics push (the raw-wire test covers the APIs)")
def test_librdkafka_pushes_metrics(server):
    from confluent_kafka import Producer
    configs(server, "--entity-type", "client-metrics", "--entity-name", "rd", "--alter",
            "--add-config", "metrics=[org.apache.kafka.],interval.ms=1000")
    from conftest import create_topic
    create_topic(server, "telemetry-t")
    p = Producer({"bootstrap.servers": server.bootstrap, "client.id": "rd-telemetry", "enable.metrics.push": True})
    deadline = time.time() + 8
    while time.time() < deadline:
        p.produce("telemetry-t", b"x" * 100)
        p.poll(0.05)
    p.flush(10)
    m = re.search(r"Client instance \S+ \(client id 'rd-telemetry'.*\) pushed \d+ metric\(s\): (.*)", server.log_text())
    assert m, server.log_text()[-3000:]
    assert any(n.startswith("org.apache.kafka.producer.") for n in m.group(1).split(", "))
