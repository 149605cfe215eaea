"""A tiny raw Kafka protocol helper for tests that must send exact bytes."""
import socket
import struct


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def connect(bootstrap, timeout=5):
    host, port = bootstrap.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def request(s, api_key, version, body, correlation_id=1, flexible_header=False):
    header = struct.pack(">hhi", api_key, version, correlation_id) + struct.pack(">h", 4) + b"test"
    if flexible_header:
        header += b"\x00"
    frame = header + body
    s.sendall(struct.pack(">i", len(frame)) + frame)


def response(s):
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    return recv_exact(s, size)


def is_closed(s, timeout=5):
    """True when the peer closed the connection (EOF) within the timeout."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def string(v):
    if v is None:
        return struct.pack(">h", -1)
    b = v.encode()
    return struct.pack(">h", len(b)) + b


def tls_connect(bootstrap, timeout=5):
    """A TLS connection that trusts any certificate (readiness probes of SSL
    and SASL_SSL listeners; tests of TLS itself verify the server)."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(connect(bootstrap, timeout))


def api_versions(bootstrap, version=0, tls=False):
    """Returns (error_code, {api_key: (min, max)})."""
    with (tls_connect(bootstrap) if tls else connect(bootstrap)) as s:
        body = b""
        if version >= 3:
            body = b"\x05kcat\x041.0\x00"  # compact strings + tagged fields
        request(s, 18, version, body, flexible_header=version >= 3)
        r = response(s)
    corr, err = struct.unpack(">ih", r[:6])
    pos = 6
    apis = {}
    if version >= 3:
        n = r[pos] - 1
        pos += 1
        for _ in range(n):
            k, mn, mx = struct.unpack(">hhh", r[pos:pos + 6])
            apis[k] = (mn, mx)
            pos += 7
    else:
        n = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        for _ in range(n):
            k, mn, mx = struct.unpack(">hhh", r[pos:pos + 6])
            apis[k] = (mn, mx)
            pos += 6
    return err, apis


def metadata_brokers(bootstrap):
    """Metadata v1 for no topics; returns the broker list."""
    with connect(bootstrap) as s:
        request(s, 3, 1, struct.pack(">i", 0))
        r = response(s)
    pos = 4
    n = struct.unpack(">i", r[pos:pos + 4])[0]
    pos += 4
    brokers = []
    for _ in range(n):
        node = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        hl = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2
        host = r[pos:pos + hl].decode()
        pos += hl
        port = struct.unpack(">i", r[pos:pos + 4])[0]
        pos += 4
        rl = struct.unpack(">h", r[pos:pos + 2])[0]
        pos += 2 + max(rl, 0)
        brokers.append((node, host, port))
    return brokers


def varint(v):
    u = (v << 1) ^ (v >> 63)
    out = b""
    while u >= 0x80:
        out += bytes([(u & 0x7F) | 0x80])
        u >>= 7
    return out + bytes([u])


def record_batch(values, base_ts=1000, magic=2, corrupt_crc=False):
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, base_ts, base_ts, -1, -1, -1, len(values)) + recs
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xFFFF
    batch = struct.pack(">ib", -1, magic) + struct.pack(">I", crc) + after_crc
    return struct.pack(">qi", 0, len(batch)) + batch


def produce_v3(bootstrap, topic, partition, records, acks=1):
    """Produce v3 with a raw records blob; returns the partition error code and base offset."""
    body = struct.pack(">h", -1) + struct.pack(">hi", acks, 5000)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(records)) + records
    with connect(bootstrap) as s:
        request(s, 0, 3, body)
        r = response(s)
    pos = 4 + 4
    tl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tl + 4
    _, err, base = struct.unpack(">ihq", r[pos:pos + 14])
    return err, base


def create_topic_v0(bootstrap, name, partitions=1):
    body = struct.pack(">i", 1) + string(name) + struct.pack(">ih", partitions, 1)
    body += struct.pack(">i", 0) + struct.pack(">i", 0) + struct.pack(">i", 5000)
    with connect(bootstrap) as s:
        request(s, 19, 0, body)
        r = response(s)
    pos = 4 + 4
    nl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + nl
    return struct.unpack(">h", r[pos:pos + 2])[0]


def list_offset_latest(bootstrap, topic, partition):
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iq", partition, -1)
    with connect(bootstrap) as s:
        request(s, 2, 1, body)
        r = response(s)
    pos = 4 + 4
    tl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tl + 4
    _, err, ts, off = struct.unpack(">ihqq", r[pos:pos + 22])
    return err, off


def uvarint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, n):
        b = self.d[self.p:self.p + n]
        if len(b) < n:
            raise ValueError("short response")
        self.p += n
        return b

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def compact_string(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def describe_quorum(bootstrap, timeout=2):
    """DescribeQuorum v1 of __cluster_metadata-0: a dict with error, leader_id,
    leader_epoch, high_watermark, voters and observers ([(id, leo, last_fetch,
    last_caught_up)])."""
    body = uvarint(2) + uvarint(len("__cluster_metadata") + 1) + b"__cluster_metadata" + uvarint(2) + struct.pack(">i", 0)
    body += b"\x00" + b"\x00" + b"\x00"  # partition, topic, request tags
    s = connect(bootstrap, timeout=timeout)
    try:
        request(s, 55, 1, body, flexible_header=True)
        r = Reader(response(s))
    finally:
        s.close()
    r.i32()  # correlation id
    r.tags()
    out = {"error": r.i16()}
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            r.i32()
            out["partition_error"] = r.i16()
            out["leader_id"] = r.i32()
            out["leader_epoch"] = r.i32()
            out["high_watermark"] = r.i64()
            for key in ("voters", "observers"):
                rows = []
                for _ in range(r.uvarint() - 1):
                    rows.append((r.i32(), r.i64(), r.i64(), r.i64()))
                    r.tags()
                out[key] = rows
            r.tags()
        r.tags()
    return out


def list_offset(bootstrap, topic, partition, timestamp):
    """ListOffsets v1: (error, offset) for a timestamp (-1 latest, -2 earliest)."""
    body = struct.pack(">i", -1) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
    body += struct.pack(">iq", partition, timestamp)
    with connect(bootstrap) as s:
        request(s, 2, 1, body)
        r = response(s)
    pos = 4 + 4
    tl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tl + 4
    _, err, ts, off = struct.unpack(">ihqq", r[pos:pos + 22])
    return err, off


def delete_records_v0(bootstrap, topic, partition, offset, timeout_ms=10000):
    """DeleteRecords v0: (error, low watermark) of one partition."""
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + struct.pack(">iq", partition, offset)
    body += struct.pack(">i", timeout_ms)
    with connect(bootstrap, timeout=timeout_ms / 1000 + 5) as s:
        request(s, 21, 0, body)
        r = response(s)
    pos = 4 + 4 + 4  # correlation id, throttle, topic count
    tl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tl + 4
    _, low, err = struct.unpack(">iqh", r[pos:pos + 14])
    return err, low


def legacy_message(magic, value, key=None, timestamp=0, attributes=0, offset=0):
    """One entry of a legacy message set (magic 0 or 1), with its CRC32."""
    import zlib
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    for b in (key, value):
        body += struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b
    msg = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + body
    return struct.pack(">qi", offset, len(msg)) + msg


def produce_legacy(bootstrap, topic, partition, message_set, version=2, acks=1):
    """Produce v0-2 (no transactional id) of a raw message set: (error code, base offset, log append time or None)."""
    body = struct.pack(">hi", acks, 5000)
    body += struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1) + struct.pack(">i", partition)
    body += struct.pack(">i", len(message_set)) + message_set
    with connect(bootstrap) as s:
        request(s, 0, version, body)
        r = response(s)
    pos = 4 + 4
    tl = struct.unpack(">h", r[pos:pos + 2])[0]
    pos += 2 + tl + 4
    _, err, base = struct.unpack(">ihq", r[pos:pos + 14])
    append_time = struct.unpack(">q", r[pos + 14:pos + 22])[0] if version >= 2 else None
    return err, base, append_time


# ---------------------------------------------------------------- flexible versions (compact encodings)

def compact_string(v):
    if v is None:
        return b"\x00"
    b = v.encode()
    return uvarint(len(b) + 1) + b


def compact_bytes(b):
    return b"\x00" if b is None else uvarint(len(b) + 1) + b


def compact_array(items, encode=lambda x: x):
    """A compact array of already-encoded items (None: the null array)."""
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(encode(i) for i in items)


TAGS = b"\x00"  # no tagged fields


class FlexReader(Reader):
    """Reader with the flexible versions' types."""

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def boolean(self):
        return self.take(1) != b"\x00"

    def uuid(self):
        return self.take(16)

    def compact_bytes(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1)

    def array(self, item):
        n = self.uvarint()
        return None if n == 0 else [item(self) for _ in range(n - 1)]


def flex_call(bootstrap, api_key, version, body, timeout=10):
    """Sends one flexible-version request (header v2) and returns a FlexReader
    positioned at the response body (past the correlation id and the header's
    tagged fields)."""
    with connect(bootstrap, timeout=timeout) as s:
        request(s, api_key, version, body, flexible_header=True)
        r = FlexReader(response(s))
    r.i32()
    r.tags()
    return r
