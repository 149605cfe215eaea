"""Kafka's protocol for the test tools: the project's schema files (schemas/*.schema,
the format described in src/protocol/gen/generate.py), the wire primitives (varints,
compact lengths, CRC32C) and a reader that checks a response body against its schema.

Used by tests/tools/kafka_mutator.py. Python 3 standard library only; no state shared
between calls except a ResponseChecker's pools (the caller's).
"""
import os
import struct
import sys

# The schema files' one parser is the code generator's (src/protocol/gen/generate.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "src", "protocol", "gen"))
from generate import MAXV, PRIMS, collect_structs  # noqa: E402
from generate import parse_schema as _parse_schema  # noqa: E402

# ------------------------------------------------------------------ schemas


def parse_schema(path):
    """The generator's Schema, with `structs` as struct type name -> fields (inline and common structs)."""
    sch = _parse_schema(path)
    collect_structs(sch)
    sch.structs = {name: d.fields for name, d in sch.defs.items()}
    return sch


def load_schemas(kind, schema_dir):
    out = {}
    for name in sorted(os.listdir(schema_dir)):
        if name.endswith(f"{kind}.schema"):
            s = parse_schema(os.path.join(schema_dir, name))
            if s.kind == kind.lower() and s.key >= 0:
                out[s.key] = s
    return out


# ------------------------------------------------------------------ wire helpers

def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint(((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF)


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def put_len(n, flex, wide):
    """A length/count: compact uvarint n+1 when flex, else int16/int32 (wide)."""
    if flex:
        return uvarint(max(n + 1, 0) & 0xFFFFFFFF)
    return struct.pack(">i" if wide else ">h", n)


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, n):
        if n < 0 or self.p + n > len(self.d):
            raise ValueError("short")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise ValueError("varint")

    def length(self, flex, wide):
        if flex:
            return self.uvarint() - 1
        return struct.unpack(">i" if wide else ">h", self.take(4 if wide else 2))[0]



def skip_tags(r):
    for _ in range(r.uvarint()):
        r.uvarint()
        r.take(r.uvarint())



# Response fields whose values later requests reuse (stateful paths: a JoinGroup's
# member id in SyncGroup, an InitProducerId's id and epoch in Produce and EndTxn).
HARVESTED = {"ProducerId": "producer_ids", "ProducerEpoch": "epochs", "GenerationId": "generations",
             "MemberEpoch": "epochs", "GenerationIdOrMemberEpoch": "generations"}


class ResponseChecker:
    """Decodes a response body by its schema (as Kafka's generated readers do) and
    says why it does not decode, or None. Used on answers to unmutated requests."""

    def __init__(self, schemas, pools=None):
        self.schemas = schemas
        self.pools = pools  # values answered (member ids, producer ids, epochs) go here

    def check(self, api, version, data):
        sch = self.schemas.get(api)
        if sch is None or version not in sch.versions:
            return None
        flexible = version in sch.flexible
        r = Reader(data)
        try:
            r.take(4)  # correlation id
            if flexible and api != 18:  # ApiVersions answers with header v0 always
                skip_tags(r)
            self.fields(r, sch, sch.fields, version, flexible)
        except (ValueError, struct.error, UnicodeDecodeError) as e:
            return f"{e} at byte {r.p} of {len(data)}"
        if r.p != len(data):
            return f"{len(data) - r.p} trailing bytes"
        return None

    def fields(self, r, sch, fields, v, flexible):
        for f in fields:
            if f.tagged is None and v in f.versions:
                self.field(r, sch, f, v, flexible)
        if flexible:
            skip_tags(r)

    def field(self, r, sch, f, v, flexible):
        flex = (v in f.flex) if f.flex is not None else flexible
        nullable = v in f.nullable
        if f.is_array or f.type in ("string", "bytes", "records"):
            n = r.length(flex, f.is_array or f.type != "string")
            if n < 0:
                if n == -1 and nullable:
                    return
                raise ValueError(f"{f.name}: length {n}" + ("" if nullable else " in a non-nullable field"))
            if f.is_array:
                for _ in range(n):
                    if f.elem in PRIMS:
                        self.prim(r, f.elem, flex)
                    else:
                        self.fields(r, sch, sch.structs[f.elem], v, flexible)
            else:
                b = r.take(n)  # (invalid UTF-8 echoed from a request is no decoding error: Java replaces it)
                if f.name == "MemberId" and b and self.pools is not None:
                    self.pools.harvest("members", b.decode(errors="replace"))
            return
        if f.elem not in PRIMS:
            if nullable and struct.unpack(">b", r.take(1))[0] < 0:
                return
            self.fields(r, sch, sch.structs[f.elem], v, flexible)
            return
        at = r.p
        self.prim(r, f.type, flex)
        if self.pools is not None and f.name in HARVESTED:
            v = int.from_bytes(r.d[at:r.p], "big", signed=True)
            if v >= 0:
                self.pools.harvest(HARVESTED[f.name], v)

    def prim(self, r, t, flex):
        if t in ("string", "bytes"):
            n = r.length(flex, t == "bytes")
            if n > 0:
                r.take(n)
            return
        r.take({"bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint16": 2, "uint32": 4, "float64": 8,
                "uuid": 16}[t])

