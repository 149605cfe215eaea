"""Bad input gets a Kafka error code or a closed connection, never a crash; stored data is untouched."""
import struct

import kafka_wire as kw
from conftest import create_topic


def assert_alive(server):
    err, apis = kw.api_versions(server.bootstrap)
    assert err == 0 and 0 in apis


def test_oversized_and_negative_frames_close_only_that_connection(server):
    for size in (-5, 200 * 1024 * 1024):
        s = kw.connect(server.bootstrap)
        s.sendall(struct.pack(">i", size))
        assert kw.is_closed(s)
        s.close()
        assert_alive(server)


def test_unknown_api_key_and_garbage(server):
    s = kw.connect(server.bootstrap)
    kw.request(s, 9999, 0, b"")
    assert kw.is_closed(s)
    s.close()
    s = kw.connect(server.bootstrap)
    kw.request(s, 3, 1, b"\xff\xff\xff\x7f garbage")
    assert kw.is_closed(s)
    s.close()
    s = kw.connect(server.bootstrap)
    s.sendall(struct.pack(">i", 3) + b"abc")  # shorter than a header
    assert kw.is_closed(s)
    s.close()
    assert_alive(server)


def test_api_versions_unsupported_version_answers_v0_with_error(server):
    s = kw.connect(server.bootstrap)
    kw.request(s, 18, 99, b"\x00", flexible_header=True)
    r = kw.response(s)
    s.close()
    corr, err = struct.unpack(">ih", r[:6])
    assert err == 35  # UNSUPPORTED_VERSION
    n = struct.unpack(">i", r[6:10])[0]
    keys = {struct.unpack(">h", r[10 + 6 * i:12 + 6 * i])[0] for i in range(n)}
    assert {0, 1, 3, 18} <= keys


def test_corrupt_and_old_batches_are_refused_and_nothing_is_stored(server):
    create_topic(server, "bad")
    good = kw.record_batch([b"a", b"b"])
    assert kw.produce_v3(server.bootstrap, "bad", 0, good) == (0, 0)
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, kw.record_batch([b"c"], corrupt_crc=True))
    assert err == 2  # CORRUPT_MESSAGE
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, kw.record_batch([b"c"], magic=1))
    assert err in (35, 43)
    err, _ = kw.produce_v3(server.bootstrap, "bad", 0, good[:-3])  # truncated batch
    assert err == 2
    assert kw.list_offset_latest(server.bootstrap, "bad", 0) == (0, 2)
    assert kw.produce_v3(server.bootstrap, "bad", 0, good) == (0, 2)


def test_produce_to_missing_topic_and_invalid_names(server):
    err, _ = kw.produce_v3(server.bootstrap, "no-such-topic", 0, kw.record_batch([b"x"]))
    assert err == 3  # UNKNOWN_TOPIC_OR_PARTITION
    for name in ("bad/name", "..", "x" * 250, ""):
        assert kw.create_topic_v0(server.bootstrap, name) == 17  # INVALID_TOPIC_EXCEPTION
    assert_alive(server)
