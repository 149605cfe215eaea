#!/usr/bin/python3
"""A mutation fuzzer of Flotilla's (and any Kafka broker's) request handling.

Reads the project's request schemas (schemas/*Request.schema, the format described
in src/protocol/gen/generate.py), encodes a VALID request of any API key and version
the node lists in ApiVersions, mutates it at one of four levels (none, field values,
bytes of the encoded frame, request header) and sends it as one frame to a live node
on 127.0.0.1, recording per API how many were sent, answered, closed and timed out.

Invariants: only 127.0.0.1/localhost is ever contacted; a run is bounded by
--duration seconds and --max-requests; request i of a run is a function of (--seed,
i, the node's ApiVersions) alone, so a run and a single request can be reproduced
(--only-index, or --replay of the hex frames printed on a failure). Exit code 0 when
the node stayed up, 2 when it refused connections for more than 5 s (it died); the
last requests are then printed (index, api, version, mutation, hex) for --replay.
Single-threaded; Python 3 standard library only (the schemas and wire: kafka_schema.py).
"""
import argparse
import gzip
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_schema import (PRIMS, Reader, ResponseChecker, crc32c, load_schemas, put_len,  # noqa: E402
                          skip_tags, uvarint, varint)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INT_LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
              "int64": (-2**63, 2**63 - 1), "uint16": (0, 65535), "uint32": (0, 2**32 - 1)}
# UnregisterBroker of a live node is an admin's decommissioning, not bad input: its
# requests are only valid or header-mutated, and never name an existing node id.
UNREGISTER_BROKER = 64
PROTECTED_APIS = {UNREGISTER_BROKER: ("valid", "header")}


# ------------------------------------------------------------------ value generators

def odd_names():
    return ["a" * 249, "b" * 250, "x.y_z", "._.", "dot.and_under", "__consumer_offsets", "__transaction_state",
            ".", "..", "", "ünïcødé-tøpic", "名前", "has space", "has/slash", "tab\tname", "-", "_", "0",
            "a" * 255, "__cluster_metadata"]


class Pools:
    def __init__(self, topics, groups):
        self.topics = list(topics) or ["fuzz-a"]
        self.groups = list(groups) or ["fuzz-group"]
        self.topic_ids = {}  # name -> 16 bytes
        self.txns = ["fuzz-txn", "t.x_n"]
        self.members = ["", "member-1", "consumer-1-0b0f"]
        self.config_keys = ["cleanup.policy", "retention.ms", "segment.bytes", "max.message.bytes",
                            "min.insync.replicas", "retention.bytes", "compression.type", "unknown.config", ""]
        self.config_values = ["1000", "-1", "compact", "delete", "gzip", "abc", "", "9223372036854775807", "1048576"]
        self.quota_keys = ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "unknown_key", ""]
        self.entity_types = ["user", "client-id", "unknown-entity", ""]
        self.generic = ["fuzz", "x", "", "a.b", "ü", "*"]
        self.producer_ids, self.epochs, self.generations = [], [], []

    def harvest(self, pool, value):
        values = getattr(self, pool)
        if value not in values:
            values.append(value)
            del values[:-20]  # the latest 20


class Gen:
    """Encodes a message of one schema at one version; with `mutate` set, each field
    value is, with probability `p`, swapped for an odd one (field-level mutation)."""

    def __init__(self, rng, pools, schema, version, flexible, mutate=False, p=0.0):
        self.r, self.pools, self.s, self.v = rng, pools, schema, version
        self.flexible = flexible
        self.mutate, self.p = mutate, p
        self.notes = []

    def odd(self):
        return self.mutate and self.r.random() < self.p

    def flex_of(self, f):
        if f.flex is not None:
            return self.v in f.flex
        return self.flexible

    # ---- structs
    def fields(self, fields, ctx):
        out = bytearray()
        tagged = []
        for f in fields:
            if f.tagged is not None:
                if self.v in f.tagged and self.flexible:
                    tagged.append(f)
                continue
            if self.v not in f.versions:
                continue
            out += self.field(f, ctx)
        if self.flexible:
            chosen = [f for f in tagged if self.r.random() < 0.5]
            entries = [uvarint(f.tag) + uvarint(len(b)) + b for f in chosen for b in [self.field(f, ctx)]]
            if self.odd():
                kind = self.r.choice(["unknown", "dup", "badsize"])
                self.notes.append(f"tags:{kind}")
                if kind == "unknown":
                    entries.append(uvarint(self.r.choice([99, 2**31 - 1, 0x7FFFFFFF])) + uvarint(3) + b"abc")
                elif kind == "dup" and entries:
                    entries.append(entries[0])
                else:
                    entries.append(uvarint(5) + uvarint(self.r.choice([2**31 - 1, 1000])) + b"x")
            out += uvarint(len(entries)) + b"".join(entries)
        return bytes(out)

    def struct_fields(self, name):
        fields = self.s.structs.get(name)
        if fields is None:
            raise KeyError(f"{self.s.name}: unknown struct {name}")
        return fields

    def field(self, f, ctx):
        flex = self.flex_of(f)
        nullable = self.v in f.nullable
        path = ctx + [f.name]
        if f.is_array:
            if self.odd():
                return self.odd_len(flex, True, f.name)
            if nullable and self.r.random() < 0.1:
                return put_len(-1, flex, True)
            n = self.count(f, path)
            body = b"".join(self.element(f, path) for _ in range(n))
            return put_len(n, flex, True) + body
        if f.type == "records":
            if self.odd():
                return self.odd_len(flex, True, f.name)
            if nullable and self.r.random() < 0.05:
                return put_len(-1, flex, True)
            b = self.records()
            return put_len(len(b), flex, True) + b
        if f.elem not in PRIMS:
            body = self.fields(self.struct_fields(f.elem), path)
            if nullable:
                if self.odd():
                    self.notes.append(f"{f.name}:marker")
                    return struct.pack(">b", self.r.choice([2, -2, 127])) + body
                if self.r.random() < 0.2:
                    return struct.pack(">b", -1)
                return struct.pack(">b", 1) + body
            return body
        if nullable and f.type in ("string", "bytes") and self.r.random() < 0.1:
            return put_len(-1, flex, f.type == "bytes")
        return self.prim(f.type, f.name, path, flex, nullable)

    def element(self, f, path):
        if f.elem in PRIMS:
            return self.prim(f.elem, f.name, path, self.flex_of(f), False)
        return self.fields(self.struct_fields(f.elem), path)

    def count(self, f, path):
        name = f.name.lower()
        if "topic" in name:
            return self.r.choice([0, 1, 1, 1, 2, 3])
        if "partition" in name:
            return self.r.choice([0, 1, 1, 2, 3])
        return self.r.choice([0, 1, 1, 1, 2, 3])

    def odd_len(self, flex, wide, name):
        kind = self.r.choice(["neg", "huge", "null", "over"])
        self.notes.append(f"{name}:len-{kind}")
        if kind == "neg":
            return put_len(-5, False, wide) if not flex else uvarint(0xFFFFFFFF)
        if kind == "huge":
            return put_len(2**31 - 2 if wide else 32766, flex, wide)
        if kind == "null":
            return put_len(-1, flex, wide)
        return put_len(self.r.choice([3, 64, 1000]), flex, wide) + b"\x00\x01"

    # ---- primitives
    def prim(self, t, name, path, flex, nullable):
        if t == "bool":
            if self.odd():
                self.notes.append(f"{name}:bool")
                return bytes([self.r.choice([2, 0xFF])])
            return bytes([self.r.random() < 0.5])
        if t in INT_LIMITS:
            v = self.int_value(t, name, path)
            lo, hi = INT_LIMITS[t]
            v = max(lo, min(hi, v))
            return struct.pack({"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "uint16": ">H",
                                "uint32": ">I"}[t], v)
        if t == "float64":
            if self.odd():
                return struct.pack(">d", self.r.choice([float("nan"), float("inf"), -1.0, 0.0, 1e308]))
            return struct.pack(">d", self.r.choice([1e9, 1e12, 100.0, 1024000.0]))
        if t == "uuid":
            return self.uuid_value(name, path)
        if t in ("string", "bytes"):
            wide = t == "bytes"
            if self.odd():
                kind = self.r.choice(["name", "len", "null", "len"])
                if kind == "len":
                    return self.odd_len(flex, wide, name)
                if kind == "null" and not nullable:
                    self.notes.append(f"{name}:null")
                    return put_len(-1, flex, wide)
                b = self.r.choice(odd_names()).encode()
                self.notes.append(f"{name}:odd")
                return put_len(len(b), flex, wide) + b
            b = self.string_value(name, path).encode() if t == "string" else self.bytes_value(name)
            return put_len(len(b), flex, wide) + b
        raise AssertionError(t)

    def int_value(self, t, name, path):
        lo, hi = INT_LIMITS[t]
        if self.odd() and self.s.key != UNREGISTER_BROKER:
            self.notes.append(f"{name}:int")
            return self.r.choice([0, -1, lo, hi, hi - 1, lo + 1, -2, self.r.randint(lo, hi)])
        n = name.lower()
        if self.s.key == UNREGISTER_BROKER:
            return self.r.choice([1000, -1, 2**31 - 1, -2**31])  # never a live node (see PROTECTED_APIS)
        if self.s.key == 0 and n == "acks":
            return self.r.choice([1, -1])  # acks=0 gets no response
        if "timeout" in n or n.endswith("ms") or "wait" in n:
            return self.r.choice([0, 10, 100])
        if n in ("numpartitions", "count", "totalcount"):
            return self.r.choice([1, 1, 2, 3, -1])
        if "replicationfactor" in n:
            return self.r.choice([1, 1, -1])
        if "partition" in n or n == "index":
            return self.r.choice([0, 0, 1, 2, -1])
        if n in ("brokerid", "nodeid", "leaderid", "replicaid", "controllerid") or n.endswith("brokers") \
                or n.endswith("ids") or n.endswith("replicas") or n.endswith("nodes"):
            return self.r.choice([1, 2, -1, 0])
        if "producerid" in n and self.pools.producer_ids and self.r.random() < 0.6:
            return self.r.choice(self.pools.producer_ids)
        if ("epoch" in n or "generation" in n) and self.r.random() < 0.5:
            pool = self.pools.generations if "generation" in n else self.pools.epochs
            if pool:
                return self.r.choice(pool)
        if "epoch" in n or "generation" in n:
            return self.r.choice([-1, 0, 1])
        if "offset" in n:
            return self.r.choice([0, 1, 5, -1, -2])
        if "bytes" in n:
            return self.r.choice([1048576, 0, 100])
        if "producerid" in n:
            return self.r.choice([-1, 0, 1000])
        if "resourcetype" in n or n == "resourcetypefilter":
            return self.r.choice([2, 3, 4, 1, 0])
        if "patterntype" in n:
            return self.r.choice([3, 4, 1])
        if "operation" in n:
            return self.r.choice([2, 3, 4, 1])
        if "permissiontype" in n:
            return self.r.choice([3, 2])
        if "operation" in n or "configoperation" in n or n == "type" or "level" in n:
            return self.r.choice([0, 1, 2])
        return self.r.choice([0, 1, 2, -1, 5])

    def uuid_value(self, name, path):
        if self.odd():
            self.notes.append(f"{name}:uuid")
            return self.r.choice([b"\x00" * 16, b"\xff" * 16, bytes([0] * 15 + [1])])
        if "topic" in name.lower() and self.pools.topic_ids and self.r.random() < 0.8:
            return self.r.choice(list(self.pools.topic_ids.values()))
        if self.r.random() < 0.2:
            return b"\x00" * 16
        return bytes(self.r.getrandbits(8) for _ in range(16))

    def string_value(self, name, path):
        n = name.lower()
        ctx = " ".join(path).lower()
        p = self.pools
        if self.r.random() < 0.08:
            return self.r.choice(odd_names())
        if "transactionalid" in n:
            return self.r.choice(p.txns)
        if "group" in n:
            return self.r.choice(p.groups)
        if "member" in n or "instance" in n:
            return self.r.choice(p.members)
        if "topic" in n or (n == "name" and "topic" in ctx):
            return self.r.choice(p.topics)
        if ("config" in ctx or n in ("name", "key")) and n in ("name", "key", "configname"):
            return self.r.choice(p.config_keys)
        if n in ("value", "configvalue"):
            return self.r.choice(p.config_values)
        if "entitytype" in n:
            return self.r.choice(p.entity_types)
        if "protocoltype" in n:
            return self.r.choice(["consumer", "connect", ""])
        if "resourcename" in n:
            return self.r.choice(p.topics + p.groups + ["1", "*"])
        if "principal" in n:
            return self.r.choice(["User:alice", "User:*", "alice", ""])
        if "host" in n:
            return self.r.choice(["*", "127.0.0.1", ""])
        if "mechanism" in n:
            return self.r.choice(["PLAIN", "SCRAM-SHA-256", "GSSAPI", ""])
        if "clientsoftwarename" in n:
            return "fuzz"
        if "clientsoftwareversion" in n:
            return "1.0"
        if "regex" in n or "pattern" in n:
            return self.r.choice(["fuzz.*", "(", "[a-", ".*"])
        if "assignor" in n:
            return self.r.choice(["uniform", "range", ""])
        if "rack" in n:
            return ""
        return self.r.choice(p.generic + p.topics[:2])

    def bytes_value(self, name):
        if self.r.random() < 0.3:
            return b""
        return bytes(self.r.getrandbits(8) for _ in range(self.r.choice([1, 4, 16])))

    # ---- records (Produce)
    def records(self):
        n = self.r.choice([1, 1, 2, 3])
        compress = self.r.random() < 0.15
        recs = b""
        for i in range(n):
            key = None if self.r.random() < 0.5 else b"k%d" % i
            val = bytes(self.r.getrandbits(8) for _ in range(self.r.choice([0, 5, 20])))
            headers = b"" if self.r.random() < 0.7 else varint(1) + varint(1) + b"h" + varint(1) + b"v"
            body = b"\x00" + varint(0) + varint(i)
            body += varint(-1) if key is None else varint(len(key)) + key
            body += varint(len(val)) + val
            body += headers if headers else varint(0)
            recs += varint(len(body)) + body
        attrs = 0
        if compress:
            recs = gzip.compress(recs, mtime=0)
            attrs = 1
        ts = 1_700_000_000_000
        last_delta, count, magic = n - 1, n, 2
        if self.mutate and self.r.random() < 0.5:
            # Odd contents under a valid CRC: these reach record decoding.
            kind = self.r.choice(["flip", "count", "delta", "attrs", "magic", "cut", "pad"])
            self.notes.append(f"records:{kind}")
            b = bytearray(recs)
            if kind == "flip" and b:
                for _ in range(self.r.randint(1, 4)):
                    b[self.r.randrange(len(b))] ^= 1 << self.r.randrange(8)
            elif kind == "count":
                count = self.r.choice([0, -1, n + 1, 2**31 - 1, 1000000])
            elif kind == "delta":
                last_delta = self.r.choice([-1, n, 2**31 - 1, -2**31])
            elif kind == "attrs":
                attrs = self.r.choice([2, 3, 4, 5, 7, 0x10, 0x20, 0x30, -1])
            elif kind == "magic":
                magic = self.r.choice([0, 1, 3, -1])
            elif kind == "cut" and b:
                b = b[:self.r.randrange(len(b))]
            elif kind == "pad":
                b += bytes(self.r.choice([1, 9, 61]))
            recs = bytes(b)
        pid, epoch, seq = -1, -1, -1
        if self.pools.producer_ids and self.r.random() < 0.3:
            pid = self.r.choice(self.pools.producer_ids)
            epoch = min(self.r.choice(self.pools.epochs or [0]), 32767)
            seq = self.r.choice([0, 0, 1, 5])
            if self.s.key == 0 and self.r.random() < 0.3:
                attrs |= 0x10  # transactional
        after_crc = struct.pack(">hiqqqhii", attrs, last_delta, ts, ts, pid, epoch, seq, count) + recs
        batch = struct.pack(">ib", 0, magic) + struct.pack(">I", crc32c(after_crc)) + after_crc
        out = struct.pack(">qi", 0, len(batch)) + batch
        if self.mutate and self.r.random() < 0.1:
            out += out  # two batches, both with base offset 0
            self.notes.append("records:twice")
        return out


# ------------------------------------------------------------------ requests

def request_header(api_key, version, corr, flexible, client_id=b"fuzz"):
    h = struct.pack(">hhi", api_key, version, corr) + struct.pack(">h", len(client_id)) + client_id
    if flexible:
        h += b"\x00"
    return h


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def byte_mutation(rng, payload):
    """(new frame bytes, description): a mutation of the encoded request bytes."""
    b = bytearray(payload)
    kind = rng.choice(["flip", "replace", "truncate", "extend", "dup", "lenfield", "lenfield", "sizeprefix"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "replace":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.choice([0, 0xFF, 0x7F, 0x80, 0x01, rng.getrandbits(8)])
    elif kind == "truncate":
        b = b[:rng.randrange(len(b))]
    elif kind == "extend":
        b += bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 7, 100])))
    elif kind == "dup":
        i = rng.randrange(len(b))
        j = min(len(b), i + rng.randint(1, 32))
        k = rng.randrange(len(b) + 1)
        b[k:k] = b[i:j]
    elif kind == "lenfield":
        i = rng.randrange(max(1, len(b) - 1))
        pat = rng.choice([b"\xff\xff", b"\x7f\xff", b"\x80\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff",
                          b"\x80\x00\x00\x00", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff\x0f", b"\x00\x00"])
        b[i:i + len(pat)] = pat
    elif kind == "sizeprefix":
        size = rng.choice([-1, -2**31, 0, len(b) - rng.randint(1, max(1, len(b))), 2**31 - 1, 200 * 1024 * 1024])
        return struct.pack(">i", size) + bytes(b), kind
    return frame(bytes(b)), kind


class Request:
    def __init__(self, index, api, version, level, desc, data, expect_response=True):
        self.index, self.api, self.version, self.level, self.desc = index, api, version, level, desc
        self.data, self.expect_response = data, expect_response

    def corr_bytes(self):
        return struct.pack(">i", self.index & 0x7FFFFFFF)

    def line(self):
        return f"REPLAY index={self.index} api={self.api} version={self.version} level={self.level} " \
               f"desc={self.desc!r} hex={self.data.hex()}"


class Mutator:
    def __init__(self, schemas, versions, pools, seed, levels):
        self.schemas = schemas
        self.versions = versions  # api -> (min, max) from the node
        self.apis = sorted(k for k in versions if k in schemas)
        self.pools = pools
        self.seed = seed
        self.levels = levels

    def make(self, index):
        rng = random.Random(f"{self.seed}:{index}")
        api = self.apis[index % len(self.apis)] if index < 2 * len(self.apis) else rng.choice(self.apis)
        lo, hi = self.versions[api]
        sch = self.schemas[api]
        lo, hi = max(lo, sch.versions.lo), min(hi, sch.versions.hi)
        version = rng.randint(lo, hi)
        # The first two rounds are valid requests of every API (coverage of real state).
        level = "valid" if index < 2 * len(self.apis) else rng.choice(self.levels)
        if api in PROTECTED_APIS and level not in PROTECTED_APIS[api]:
            level = "valid"
        flexible = version in sch.flexible
        g = Gen(rng, self.pools, sch, version, flexible, mutate=level == "field", p=rng.choice([0.03, 0.1, 0.25]))
        body = g.fields(sch.fields, [])
        if level == "field" and not g.notes:
            # Nothing was swapped: force one odd value at the end of the body.
            body += bytes([0xFF])
            g.notes.append("trailing")
        corr = index & 0x7FFFFFFF
        desc = ",".join(g.notes)[:200]
        api_out, ver_out = api, version
        if level == "header":
            kind = rng.choice(["api", "version", "version", "clientid", "tags"])
            desc = f"header:{kind}"
            if kind == "api":
                api_out = rng.choice([-1, 1000, 32767, 99, max(self.versions) + 1])
            elif kind == "version":
                ver_out = rng.choice([-1, hi + 1, 32767, -32768, lo - 1])
            if kind == "clientid":
                hdr = struct.pack(">hhi", api_out, ver_out, corr) + struct.pack(">h", rng.choice([-2, 1000, 32767]))
                if flexible:
                    hdr += b"\x00"
            elif kind == "tags":
                hdr = request_header(api_out, ver_out, corr, False) + uvarint(rng.choice([1, 2, 200])) + b"\x07\x7f"
            else:
                hdr = request_header(api_out, ver_out, corr, flexible)
            data = frame(hdr + body)
        else:
            data = frame(request_header(api, version, corr, flexible) + body)
            if level == "bytes":
                data, kind = byte_mutation(rng, data[4:])
                desc = f"bytes:{kind}"
        return Request(index, api, version, level, desc, data)


# ------------------------------------------------------------------ the node

def check_target(bootstrap):
    host, _, port = bootstrap.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise SystemExit(f"kafka_mutator: refusing target {bootstrap!r}: only 127.0.0.1/localhost")
    return "127.0.0.1", int(port)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def read_response(s):
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    if size < 4 or size > 256 * 1024 * 1024:
        raise ValueError(f"bad response size {size}")
    return recv_exact(s, size)


def api_versions(addr, timeout=5):
    with socket.create_connection(addr, timeout=timeout) as s:
        body = uvarint(len("fuzz") + 1) + b"fuzz" + uvarint(4) + b"1.0" + b"\x00"
        s.sendall(frame(request_header(18, 3, 1, True) + body))
        r = Reader(read_response(s))
    r.take(4)
    err = struct.unpack(">h", r.take(2))[0]
    apis = {}
    for _ in range(r.uvarint() - 1):
        k, lo, hi = struct.unpack(">hhh", r.take(6))
        skip_tags(r)
        apis[k] = (lo, hi)
    return err, apis


def topic_ids(addr, topics, timeout=5):
    """Metadata v12 of the given topics: {name: 16-byte id}."""
    body = uvarint(len(topics) + 1)
    for t in topics:
        b = t.encode()
        body += b"\x00" * 16 + uvarint(len(b) + 1) + b + b"\x00"
    body += b"\x00" + b"\x00" + b"\x00"  # allow auto create, include topic authorized ops, tags
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(frame(request_header(3, 12, 2, True) + body))
        r = Reader(read_response(s))
    r.take(4)
    r.uvarint()  # header tags
    r.take(4)  # throttle
    for _ in range(r.uvarint() - 1):  # brokers
        r.take(4)
        r.take(r.uvarint() - 1)
        r.take(4)
        n = r.uvarint()
        r.take(max(n - 1, 0))
        skip_tags(r)
    n = r.uvarint()
    r.take(max(n - 1, 0))  # cluster id
    r.take(4)
    out = {}
    for _ in range(r.uvarint() - 1):
        err = struct.unpack(">h", r.take(2))[0]
        n = r.uvarint()
        name = r.take(n - 1).decode() if n else None
        tid = r.take(16)
        r.take(1)
        for _ in range(r.uvarint() - 1):
            r.take(2 + 4 + 4 + 4)
            for _ in range(3):
                r.take(4 * (r.uvarint() - 1))
            skip_tags(r)
        r.take(4)
        skip_tags(r)
        if err == 0 and name:
            out[name] = tid
    return out



class Stats:
    def __init__(self):
        self.per_api = {}

    def add(self, api, what):
        row = self.per_api.setdefault(api, {"sent": 0, "answered": 0, "closed": 0, "timeouts": 0, "malformed": 0})
        row[what] += 1

    def table(self, names):
        lines = [f"{'api':>4} {'name':<34} {'sent':>6} {'answered':>8} {'closed':>6} {'timeouts':>8} {'malformed':>9}"]
        for api in sorted(self.per_api):
            r = self.per_api[api]
            lines.append(f"{api:>4} {names.get(api, '?'):<34} {r['sent']:>6} {r['answered']:>8} {r['closed']:>6} "
                         f"{r['timeouts']:>8} {r['malformed']:>9}")
        return "\n".join(lines)


class Conn:
    """One connection to the node, reopened when it closes; gives up (node dead)
    after `dead_after` seconds of refused connections."""

    def __init__(self, addr, timeout, dead_after=5.0):
        self.addr, self.timeout, self.dead_after = addr, timeout, dead_after
        self.s = None

    def get(self):
        if self.s is not None:
            return self.s
        deadline = time.time() + self.dead_after
        while True:
            try:
                self.s = socket.create_connection(self.addr, timeout=self.timeout)
                self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return self.s
            except OSError:
                if time.time() > deadline:
                    raise NodeDead()
                time.sleep(0.05)

    def close(self):
        if self.s is not None:
            try:
                self.s.close()
            except OSError:
                pass
            self.s = None


class NodeDead(Exception):
    pass


def exchange(conn, reqs, stats, checker=None, bad=None):
    """Sends the frames back to back on one connection and reads their answers, in
    order; returns one outcome per request: 'answered', 'closed' or 'timeouts'. The
    answer to a request with an intact header must decode by its response schema
    (else it is also counted as malformed and noted in `bad`)."""
    s = conn.get()
    outcomes = []
    try:
        for req in reqs:
            stats.add(req.api, "sent")
        s.sendall(b"".join(req.data for req in reqs))
        for req in reqs:
            # The node answers in order; an answer's correlation id is whatever the
            # (possibly mutated) header carried, so it is not matched.
            resp = read_response(s)
            outcomes.append("answered")
            # (Checked when it carries the request's correlation id: a Produce whose
            # acks were mutated to 0 gets no answer, and the next one's comes instead.)
            if checker is not None and req.level in ("valid", "field") and resp[:4] == req.corr_bytes():
                why = checker.check(req.api, req.version, resp)
                if why:
                    stats.add(req.api, "malformed")
                    if bad is not None and len(bad) < 50:
                        bad.append(f"{req.line()} response={resp.hex()} why={why!r}")
    except socket.timeout:
        outcomes.append("timeouts")
        conn.close()
    except (OSError, ConnectionError, ValueError, struct.error):
        outcomes.append("closed")
        conn.close()
    # Requests after the one that failed were lost with the connection.
    outcomes += ["closed"] * (len(reqs) - len(outcomes))
    for req, outcome in zip(reqs, outcomes):
        stats.add(req.api, outcome)
    return outcomes


def run(args):
    addr = check_target(args.bootstrap)
    schemas = load_schemas("Request", args.schemas)
    names = {k: s.name[:-len("Request")] for k, s in schemas.items()}
    try:
        err, versions = api_versions(addr)
    except (OSError, ValueError, struct.error) as e:
        print(f"kafka_mutator: no ApiVersions answer from {args.bootstrap}: {e}", file=sys.stderr)
        return 2
    if err != 0:
        raise SystemExit(f"kafka_mutator: ApiVersions failed with error {err}")
    pools = Pools(args.topics.split(",") if args.topics else [], args.groups.split(",") if args.groups else [])
    pools.topics += [n for n in odd_names() if n not in pools.topics][:6]
    try:
        pools.topic_ids = topic_ids(addr, [t for t in pools.topics if t])
    except (OSError, ValueError, struct.error):
        pools.topic_ids = {}
    levels = [l for l in args.levels.split(",") if l]
    m = Mutator(schemas, versions, pools, args.seed, levels)
    stats = Stats()
    conn = Conn(addr, args.timeout)
    recent = []
    checker = ResponseChecker(load_schemas("Response", args.schemas), pools)
    bad = []
    start = time.time()
    indexes = [args.only_index] if args.only_index is not None else None
    replay = load_replay(args.replay) if args.replay else None
    i = 0
    code = 0
    try:
        while True:
            batch = []
            while len(batch) < args.pipeline:
                if replay is not None:
                    if i >= len(replay):
                        break
                    req = replay[i]
                elif indexes is not None:
                    if i >= len(indexes):
                        break
                    req = m.make(indexes[i])
                else:
                    if i >= args.max_requests or time.time() - start > args.duration:
                        break
                    req = m.make(i)
                batch.append(req)
                i += 1
            if not batch:
                break
            recent += batch
            del recent[:-args.keep]
            outcomes = exchange(conn, batch, stats, checker, bad)
            if args.verbose:
                for req, outcome in zip(batch, outcomes):
                    print(f"{req.line()} outcome={outcome}", flush=True)
    except NodeDead:
        code = 2
        print(f"kafka_mutator: the node at {args.bootstrap} refused connections for 5 s after request "
              f"{recent[-1].index if recent else '?'} (seed {args.seed}); the last requests:", file=sys.stderr)
        for r in recent:
            print(r.line(), file=sys.stderr)
    conn.close()
    elapsed = time.time() - start
    print(stats.table(names))
    for line in bad:
        print("MALFORMED", line[:3000], file=sys.stderr)
    total = sum(r["sent"] for r in stats.per_api.values())
    print(f"seed={args.seed} requests={total} seconds={elapsed:.1f} rate={total / max(elapsed, 1e-9):.0f}/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "requests": total, "seconds": elapsed, "exit": code,
                       "listed": sorted(versions), "per_api": {str(k): v for k, v in stats.per_api.items()},
                       "names": {str(k): v for k, v in names.items()},
                       "last": [r.line() for r in recent] if code else [], "malformed": bad}, f, indent=1)
    return code


def load_replay(path):
    out = []
    for line in open(path):
        line = line.strip()
        if not line.startswith("REPLAY"):
            continue
        kv = dict(t.split("=", 1) for t in line.split()[1:] if "=" in t and not t.startswith("desc="))
        out.append(Request(int(kv["index"]), int(kv["api"]), int(kv["version"]), kv.get("level", "?"), "replay",
                           bytes.fromhex(kv["hex"])))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bootstrap", required=True, help="127.0.0.1:PORT (nothing else is accepted)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run (bound)")
    p.add_argument("--max-requests", type=int, default=10**9)
    p.add_argument("--pipeline", type=int, default=1, help="requests sent back to back before their answers are read")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for one response")
    p.add_argument("--topics", default="", help="comma-separated known topic names")
    p.add_argument("--groups", default="", help="comma-separated known group ids")
    p.add_argument("--levels", default="valid,field,field,bytes,bytes,header",
                   help="mutation levels to draw from (valid, field, bytes, header)")
    p.add_argument("--schemas", default=os.path.join(ROOT, "schemas"))
    p.add_argument("--only-index", type=int, help="send only request INDEX of --seed")
    p.add_argument("--replay", help="a file of REPLAY lines (as printed on a failure) to send again")
    p.add_argument("--keep", type=int, default=20, help="how many recent requests to print on a failure")
    p.add_argument("--json", help="write the statistics as JSON to this file")
    p.add_argument("--verbose", action="store_true")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
