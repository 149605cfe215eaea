#!/usr/bin/env python3
"""Flotilla's protocol code generator.

Reads the schema files in schemas/ (our format, below) and writes C++:
  protocol/messages.h         one struct per schema, nested structs flattened
                              into the message struct
  protocol/messages_<i>.cc    encode/decode, split over a few translation units
  protocol/messages_json.cc   to_json (Kafka's JsonConverter output) for record/data schemas
  protocol/api_table.cc       the API table behind protocol/api.h
  protocol/metadata_records.h/.cc  the variant of metadata records and dispatch
and, with --tests, roundtrip_cases.cc (+ _<i>.cc): a filled instance of every message at
every version for the round-trip tests.

Schema format (one file per schema, indentation of two spaces per level):
  schema <Name> <request|response|header|metadata|data> [key=N] versions=R flexible=R
         [listeners=a,b] [unstable]
    <Field> <type> v=R [null=R] [tagged=R tag=N] [flex=R] [default=VALUE]
      <child fields of a struct or struct array, one level deeper>
    struct <Name> v=R            (a common struct; its fields one level deeper)
Version ranges R: "N", "N-M", "N+", "none". Types: bool int8 int16 int32 int64
uint16 uint32 float64 uuid string bytes records, []T, or a struct name.
"""
import argparse
import os
import re
import shlex
import sys

PRIMS = {"bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "float64", "uuid", "string", "bytes", "records"}
CPP_KEYWORDS = {"default", "operator", "delete", "new", "class", "namespace", "register", "template", "union", "private",
                "public", "protected", "this", "throw", "try", "catch", "int", "long", "short", "char", "bool", "auto",
                "case", "switch", "for", "while", "do", "if", "else", "return", "static", "const", "struct", "enum",
                "friend", "virtual", "explicit", "export", "extern", "goto", "inline", "mutable", "signed", "unsigned",
                "sizeof", "typedef", "typename", "using", "void", "volatile", "asm", "break", "continue", "float",
                "double", "concept", "requires", "module", "import"}
MAXV = 0x7FFF


class Range:
    def __init__(self, s):
        s = s.strip()
        self.text = s
        if s == "none":
            self.lo, self.hi = 1, 0
        elif s.endswith("+"):
            self.lo, self.hi = int(s[:-1]), MAXV
        elif "-" in s:
            a, b = s.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(s)

    def empty(self):
        return self.lo > self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi


    __contains__ = contains  # `v in r` (the test tools read schemas through this parser too)
    def intersect(self, lo, hi):
        r = Range("none")
        r.lo, r.hi = max(self.lo, lo), min(self.hi, hi)
        return r

    def cond(self, var="v"):
        """C++ condition for var in range (within the message's valid range)."""
        if self.empty():
            return "false"
        parts = []
        if self.lo > 0:
            parts.append(f"{var} >= {self.lo}")
        if self.hi < MAXV:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, name, type_, attrs):
        self.name = name
        self.type = type_
        self.versions = Range(attrs.get("v", attrs.get("tagged", "0+")))
        self.nullable = Range(attrs.get("null", "none"))
        self.tagged = Range(attrs["tagged"]) if "tagged" in attrs else None
        self.tag = int(attrs["tag"]) if "tag" in attrs else None
        self.flex = Range(attrs["flex"]) if "flex" in attrs else None
        self.default = attrs.get("default")
        self.children = []

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def elem_is_struct(self):
        return self.elem not in PRIMS

    @property
    def cname(self):
        return snake(self.name)


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields


class Schema:
    def __init__(self, name, kind, attrs, flags):
        self.name = name
        self.kind = kind
        self.key = int(attrs["key"]) if "key" in attrs else -1
        self.versions = Range(attrs["versions"])
        self.flexible = Range(attrs.get("flexible", "none"))
        self.listeners = attrs.get("listeners", "").split(",") if attrs.get("listeners") else []
        self.unstable = "unstable" in flags
        self.fields = []
        self.common = []
        self.structs = []  # flattened, dependency order

    @property
    def flex_min(self):
        return self.flexible.lo if not self.flexible.empty() else MAXV


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower()
    return s + "_" if s in CPP_KEYWORDS else s


def json_name(name):
    return name[0].lower() + name[1:]


def parse_schema(path):
    lines = [l.rstrip("\n") for l in open(path) if l.strip() and not l.strip().startswith("#")]
    head = shlex.split(lines[0])
    assert head[0] == "schema", path
    attrs = dict(t.split("=", 1) for t in head[3:] if "=" in t)
    flags = {t for t in head[3:] if "=" not in t}
    sch = Schema(head[1], head[2], attrs, flags)
    stack = [(0, None)]  # (depth, container list owner)
    containers = {1: sch.fields}
    for line in lines[1:]:
        depth = (len(line) - len(line.lstrip(" "))) // 2
        toks = shlex.split(line)
        if toks[0] == "struct":
            st = Struct(toks[1], [])
            sch.common.append(st)
            containers[depth + 1] = st.fields
            continue
        fattrs = dict(t.split("=", 1) for t in toks[2:])
        f = Field(toks[0], toks[1], fattrs)
        containers[depth].append(f)
        containers[depth + 1] = f.children
    return sch


def collect_structs(sch):
    """Flattens inline and common structs; children before parents."""
    defs = {}
    for c in sch.common:
        defs[c.name] = c

    def walk(fields):
        for f in fields:
            if f.elem_is_struct and f.children:
                if f.elem in defs and defs[f.elem] is not None and not isinstance(defs[f.elem], Struct):
                    pass
                if f.elem in defs:
                    other = defs[f.elem]
                    if [x.name for x in other.fields] != [x.name for x in f.children]:
                        raise SystemExit(f"{sch.name}: two different structs named {f.elem}")
                else:
                    defs[f.elem] = Struct(f.elem, f.children)
                walk(f.children)
    walk(sch.fields)
    for c in sch.common:
        walk(c.fields)
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        for f in defs[name].fields:
            if f.elem_is_struct:
                if f.elem not in defs:
                    raise SystemExit(f"{sch.name}: unknown type {f.elem}")
                visit(f.elem)
        order.append(defs[name])
    for n in list(defs):
        visit(n)
    if sch.name in defs:
        raise SystemExit(f"{sch.name}: nested struct has the message's name")
    sch.structs = order
    sch.defs = defs


# ---------------------------------------------------------------- C++ types

def base_cpp(t):
    return {"bool": "bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
            "uint16": "uint16_t", "uint32": "uint32_t", "float64": "double", "uuid": "::flotilla::Uuid",
            "string": "std::string", "bytes": "std::vector<uint8_t>", "records": "::flotilla::Records"}.get(t, t)


def is_nullable(f):
    return not f.nullable.empty() and f.type != "records"


def cpp_type(f):
    t = f"std::vector<{base_cpp(f.elem)}>" if f.is_array else base_cpp(f.type)
    return f"std::optional<{t}>" if is_nullable(f) else t


def int_literal(t, d):
    v = int(d, 0)
    if t == "int64":
        return f"INT64_C({v})" if v != -(1 << 63) else "INT64_MIN"
    if t == "int32" and v == -(1 << 31):
        return "INT32_MIN"
    return str(v)


def default_init(f):
    d = f.default
    if f.is_array or f.type in ("bytes", "records", "uuid"):
        return "" if not (is_nullable(f) and d == "null") else "std::nullopt"
    if f.type == "string":
        if d is None:
            return '""' if not is_nullable(f) else '""'
        if d == "null":
            return "std::nullopt" if is_nullable(f) else '""'
        return '"' + d.replace('"', '\\"') + '"'
    if f.type in PRIMS:
        if f.type == "bool":
            return "true" if d == "true" else "false"
        if f.type == "float64":
            return d if d else "0.0"
        return int_literal(f.type, d) if d is not None else "0"
    # struct
    if is_nullable(f) and d == "null":
        return "std::nullopt"
    return ""


# ---------------------------------------------------------------- encode/decode

def enc_value(f, expr, flex, w="w"):
    """Code writing `expr` (non-optional) of f's element/base type."""
    t = f.type
    if t == "bool":
        return f"{w}.put_bool({expr});"
    if t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        return f"{w}.put_{'i' if t.startswith('int') else 'u'}{t.lstrip('uint')}({expr});"
    if t == "float64":
        return f"{w}.put_f64({expr});"
    if t == "uuid":
        return f"wire::put_uuid({w}, {expr});"
    if t == "string":
        return f"wire::put_string({w}, {expr}, {flex});"
    if t == "bytes":
        return f"wire::put_bytes({w}, {expr}, {flex});"
    raise AssertionError(t)


def prim_put(t, expr, flex, w="w"):
    class F:
        pass
    x = F()
    x.type = t
    return enc_value(x, expr, flex, w)


def prim_get(t, flex, r="r"):
    if t == "bool":
        return f"{r}.get_bool()"
    if t in ("int8", "int16", "int32", "int64"):
        return f"{r}.get_i{t[3:]}()"
    if t in ("uint16", "uint32"):
        return f"{r}.get_u{t[4:]}()"
    if t == "float64":
        return f"{r}.get_f64()"
    if t == "uuid":
        return f"wire::get_uuid({r})"
    if t == "string":
        return f"wire::get_string({r}, {flex})"
    if t == "bytes":
        return f"wire::get_bytes({r}, {flex})"
    raise AssertionError(t)


def field_flex(f):
    """C++ expression: is this field encoded flexibly in version v."""
    if f.flex is not None:
        return "false" if f.flex.empty() else f"(v >= {f.flex.lo})"
    return "flex"


def encode_field(f, out, ind, w="w"):
    flex = field_flex(f)
    name = f.cname
    nullable = is_nullable(f)
    pad = "  " * ind
    if f.type == "records":
        out.append(f"{pad}wire::put_records({w}, {name}, {flex});")
        return
    if f.is_array:
        val = f"(*{name})" if nullable else name
        if nullable:
            out.append(f"{pad}if (!{name}) wire::put_null_array({w}, {flex}); else {{")
        else:
            out.append(f"{pad}{{")
        out.append(f"{pad}  wire::put_array_len({w}, {val}.size(), {flex});")
        if f.elem_is_struct:
            out.append(f"{pad}  for (const auto& e : {val}) e.encode({w}, v);")
        else:
            out.append(f"{pad}  for (const auto& e : {val}) {prim_put(f.elem, 'e', flex, w)}")
        out.append(f"{pad}}}")
        return
    if f.elem_is_struct:
        if nullable:
            out.append(f"{pad}if (!{name}) {w}.put_i8(-1); else {{ {w}.put_i8(1); {name}->encode({w}, v); }}")
        else:
            out.append(f"{pad}{name}.encode({w}, v);")
        return
    if nullable:
        if f.type == "string":
            out.append(f"{pad}wire::put_nstring({w}, {name}, {flex});")
        elif f.type == "bytes":
            out.append(f"{pad}wire::put_nbytes({w}, {name}, {flex});")
        else:
            out.append(f"{pad}{prim_put(f.type, '*' + name, flex, w)}")
        return
    out.append(f"{pad}{enc_value(f, name, flex, w)}")


def decode_field(f, out, ind, r="r"):
    flex = field_flex(f)
    name = f.cname
    nullable = is_nullable(f)
    pad = "  " * ind
    if f.type == "records":
        out.append(f"{pad}{name} = wire::get_records({r}, {flex});")
        return
    if f.is_array:
        out.append(f"{pad}{{")
        out.append(f"{pad}  int32_t n = wire::get_array_len({r}, {flex});")
        if nullable:
            out.append(f"{pad}  if (n < 0) {name}.reset(); else {{")
            out.append(f"{pad}  {name}.emplace(); auto& a = *{name};")
        else:
            out.append(f"{pad}  if (n < 0) throw DecodeError(\"null array in non-nullable field {f.name}\");")
            out.append(f"{pad}  {{ auto& a = {name}; a.clear();")
        out.append(f"{pad}  wire::reserve_for(a, n, {r});")
        if f.elem_is_struct:
            out.append(f"{pad}  for (int32_t i = 0; i < n; ++i) {{ a.emplace_back(); a.back().decode({r}, v); }}")
        else:
            out.append(f"{pad}  for (int32_t i = 0; i < n; ++i) a.push_back({prim_get(f.elem, flex, r)});")
        out.append(f"{pad}  }}")
        out.append(f"{pad}}}")
        return
    if f.elem_is_struct:
        if nullable:
            # Not emplace(): clang 14 finds a nested struct with default member
            # initializers not default-constructible inside its enclosing class.
            out.append(f"{pad}if ({r}.get_i8() < 0) {name}.reset(); else {{ std::remove_cvref_t<decltype(*{name})> s; s.decode({r}, v); {name} = std::move(s); }}")
        else:
            out.append(f"{pad}{name}.decode({r}, v);")
        return
    if nullable:
        if f.type == "string":
            out.append(f"{pad}{name} = wire::get_nstring({r}, {flex});")
        elif f.type == "bytes":
            out.append(f"{pad}{name} = wire::get_nbytes({r}, {flex});")
        else:
            out.append(f"{pad}{name} = {prim_get(f.type, flex, r)};")
        return
    out.append(f"{pad}{name} = {prim_get(f.type, flex, r)};")


def tagged_default_cond(f):
    """C++ condition: the tagged field differs from its default (so it is written)."""
    n = f.cname
    if f.type == "records":
        return f"!{n}.is_null"
    if is_nullable(f):
        d = default_init(f)
        if d == "std::nullopt":
            return f"{n}.has_value()"
        return f"!({n} == decltype({n})({d}))" if d else f"!({n} == decltype({n}){{}})"
    d = default_init(f)
    if d:
        return f"!({n} == decltype({n})({d}))"
    return f"!({n} == decltype({n}){{}})"


def gen_versioned_fields(fields, gen_field, out):
    """The untagged fields in order, each under its version condition (none when
    it is always present, the field left out when it never is); `gen_field` is
    encode_field or decode_field."""
    for f in fields:
        c = f.versions.cond()
        if c == "false":
            continue
        if c == "true":
            gen_field(f, out, 1)
        else:
            out.append(f"  if ({c}) {{")
            gen_field(f, out, 2)
            out.append("  }")


def gen_struct_methods(qual, fields, sch, out):
    regular = [f for f in fields if f.tagged is None]
    tagged = sorted([f for f in fields if f.tagged is not None], key=lambda f: f.tag)
    out.append(f"void {qual}::encode(ByteWriter& w, int16_t v) const {{")
    out.append(f"  const bool flex = v >= kFlexibleMin; (void)flex;")
    gen_versioned_fields(regular, encode_field, out)
    out.append("  if (flex) {")
    if tagged:
        out.append("    uint32_t ntags = 0;")
        for f in tagged:
            out.append(f"    if (({f.tagged.cond()}) && {tagged_default_cond(f)}) ++ntags;")
        out.append("    w.put_uvarint(ntags);")
        for f in tagged:
            out.append(f"    if (({f.tagged.cond()}) && {tagged_default_cond(f)}) {{")
            out.append(f"      ByteWriter t;")
            encode_field(f, out, 3, "t")
            out.append(f"      w.put_uvarint({f.tag}); w.put_uvarint(t.position()); w.put_bytes(t.buffer());")
            out.append("    }")
    else:
        out.append("    w.put_uvarint(0);")
    out.append("  }")
    out.append("}")
    out.append(f"void {qual}::decode(ByteReader& r, int16_t v) {{")
    out.append(f"  const bool flex = v >= kFlexibleMin; (void)flex;")
    gen_versioned_fields(regular, decode_field, out)
    out.append("  if (flex) {")
    out.append("    uint32_t ntags = r.get_uvarint32();")
    out.append("    for (uint32_t i = 0; i < ntags; ++i) {")
    out.append("      uint32_t tag = r.get_uvarint32(); uint32_t size = r.get_uvarint32();")
    if tagged:
        out.append("      switch (tag) {")
        for f in tagged:
            out.append(f"        case {f.tag}: if ({f.tagged.cond()}) {{ ByteReader t(r.get_span(size));")
            decode_field(f, out, 5, "t")
            out.append("          continue; } break;")
        out.append("        default: break;")
        out.append("      }")
    else:
        out.append("      (void)tag;")
    out.append("      r.skip(size);")
    out.append("    }")
    out.append("  }")
    out.append("}")


def json_value(f, expr):
    """JSON of one non-null value of f's element type, as Kafka's generated
    *JsonConverter.write builds it (Jackson nodes; bytes as base64)."""
    t = f.elem
    if f.elem_is_struct:
        return f"::flotilla::msg::to_json({expr}, v)"
    if t == "uuid":
        return f"({expr}).to_string()"
    if t == "bytes":
        return f"wire::base64({expr})"
    if t == "records":
        # Kafka serializes a records field as an empty BinaryNode ("").
        return 'std::string()'
    if t in ("int8", "int16", "int32", "int64"):
        return f"static_cast<int64_t>({expr})"
    if t in ("uint16", "uint32"):
        return f"static_cast<uint64_t>({expr})"
    return expr


def json_nondefault_cond(f, m="m."):
    """C++ condition mirroring Kafka's FieldSpec.generateNonDefaultValueCheck:
    a tagged field is written to JSON only when it differs from its default."""
    n = m + f.cname
    d = f.default
    nullable = is_nullable(f)
    if f.type == "records":
        return f"!{n}.is_null"
    if f.is_array or f.type == "bytes":
        if nullable and d == "null":
            return f"{n}.has_value()"
        if nullable:
            return f"(!{n} || !{n}->empty())"
        return f"!{n}.empty()"
    if f.type in ("string", "uuid") or f.elem_is_struct:
        if nullable and d == "null":
            return f"{n}.has_value()"
        if f.type == "string":
            dv = '""' if d in (None, "null") else '"' + d.replace('"', '\\"') + '"'
            eq = f"== std::string({dv})"
        elif f.type == "uuid":
            eq = "== ::flotilla::Uuid{}"
        else:
            eq = f"== std::remove_cvref_t<decltype({'*' + n if nullable else n})>{{}}"
        return f"(!{n} || !(*{n} {eq}))" if nullable else f"!({n} {eq})"
    if f.type == "bool":
        return f"!{n}" if d == "true" else n
    if f.type == "float64":
        return f"{n} != {d if d else '0.0'}"
    return f"{n} != {int_literal(f.type, d) if d is not None else '0'}"


def gen_json(qual, fields, out):
    """`nlohmann::ordered_json to_json(const T&, int16_t)`: the JSON Kafka's
    generated <T>JsonConverter.write(obj, version) produces, in schema field
    order: fields absent from the version are left out, untagged present
    fields are always written, tagged ones only when not at their default;
    null values are JSON null."""
    out.append(f"nlohmann::ordered_json to_json(const {qual}& m, int16_t v) {{")
    out.append("  (void)v;")
    out.append("  nlohmann::ordered_json j = nlohmann::ordered_json::object();")
    for f in fields:
        c = f.versions.cond()
        if c == "false":
            continue
        if f.tagged is not None:
            tc = f.tagged.cond()
            if tc == "false":
                continue
            c = f"({tc}) && {json_nondefault_cond(f)}" if tc != "true" else json_nondefault_cond(f)
        n = "m." + f.cname
        jn = json_name(f.name)
        if f.type == "records":
            val = f"({n}.is_null ? nlohmann::ordered_json() : nlohmann::ordered_json(std::string()))"
        elif f.is_array:
            src = f"(*{n})" if is_nullable(f) else n
            elem_expr = json_value(f, "e")
            val = f"[&]{{ nlohmann::ordered_json a = nlohmann::ordered_json::array(); for (const auto& e : {src}) a.push_back({elem_expr}); return a; }}()"
            if is_nullable(f):
                val = f"({n} ? {val} : nlohmann::ordered_json())"
        else:
            src = f"(*{n})" if is_nullable(f) else n
            val = json_value(f, src)
            if is_nullable(f):
                val = f"({n} ? nlohmann::ordered_json({val}) : nlohmann::ordered_json())"
        if c == "true":
            out.append(f"  j[\"{jn}\"] = {val};")
        else:
            out.append(f"  if ({c}) j[\"{jn}\"] = {val};")
    out.append("  return j;")
    out.append("}")
    # The member form (a sorted nlohmann::json) is kept for existing callers.
    out.append(f"nlohmann::json {qual}::to_json(int16_t v) const {{ return nlohmann::json(::flotilla::msg::to_json(*this, v)); }}")


def wants_json(sch):
    return sch.kind in ("metadata", "data", "header")


def gen_members(name, fields, js, pad, out):
    """The members every message and nested struct declares: its fields (with
    their defaults), encode/decode, to_json where the schema has JSON, and ==."""
    for f in fields:
        d = default_init(f)
        out.append(f"{pad}{cpp_type(f)} {f.cname}{{{d}}};")
    out.append(f"{pad}void encode(::flotilla::ByteWriter& w, int16_t version) const;")
    out.append(f"{pad}void decode(::flotilla::ByteReader& r, int16_t version);")
    if js:
        out.append(f"{pad}nlohmann::json to_json(int16_t version) const;")
    out.append(f"{pad}bool operator==(const {name}&) const = default;")


def gen_decl(sch, out):
    out.append(f"struct {sch.name} {{")
    out.append(f"  static constexpr int16_t kApiKey = {sch.key};")
    out.append(f"  static constexpr int16_t kMinVersion = {sch.versions.lo};")
    out.append(f"  static constexpr int16_t kMaxVersion = {sch.versions.hi};")
    out.append(f"  static constexpr int16_t kFlexibleMin = {sch.flex_min};")
    js = wants_json(sch)
    for st in sch.structs:
        out.append(f"  struct {st.name} {{")
        out.append(f"    static constexpr int16_t kFlexibleMin = {sch.flex_min};")
        gen_members(st.name, st.fields, js, "    ", out)
        out.append("  };")
    gen_members(sch.name, sch.fields, js, "  ", out)
    out.append("};")
    out.append("")


# ---------------------------------------------------------------- test fill

def fill_value(f, target, seed_expr, out, ind, sch):
    pad = "  " * ind
    t = f.elem
    if f.type == "records":
        out.append(f"{pad}if (({seed_expr}) % 3 == 0) {target} = ::flotilla::Records::null(); else {target} = ::flotilla::Records::of_bytes({{1, 2, 3, uint8_t({seed_expr})}});")
        return

    def scalar(expr_target, s):
        if t == "bool":
            out.append(f"{pad}  {expr_target} = (({s}) % 2) == 0;")
        elif t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
            out.append(f"{pad}  {expr_target} = static_cast<{base_cpp(t)}>(({s}) * 7 + 1);")
        elif t == "float64":
            out.append(f"{pad}  {expr_target} = ({s}) + 0.5;")
        elif t == "uuid":
            out.append(f"{pad}  {expr_target} = ::flotilla::Uuid{{uint64_t({s}) + 1, uint64_t({s}) * 3 + 2}};")
        elif t == "string":
            out.append(f"{pad}  {expr_target} = \"s\" + std::to_string({s});")
        elif t == "bytes":
            out.append(f"{pad}  {expr_target} = std::vector<uint8_t>{{uint8_t({s}), 9, 8}};")
        else:
            out.append(f"{pad}  fill({expr_target}, v, ({s}) + 1, depth + 1);")
    nullable_now = is_nullable(f)
    if nullable_now:
        out.append(f"{pad}if (({f.nullable.cond()}) && ({seed_expr}) % 4 == 3) {{ {target}.reset(); }} else {{")
        out.append(f"{pad}  {target}.emplace();")
        tgt = f"(*{target})"
    else:
        out.append(f"{pad}{{")
        tgt = target
    if f.is_array:
        out.append(f"{pad}  {tgt}.clear();")
        out.append(f"{pad}  int n = depth > 3 ? 0 : 2;")
        out.append(f"{pad}  for (int i = 0; i < n; ++i) {{ {tgt}.emplace_back();")
        scalar(f"{tgt}.back()", f"{seed_expr} + i")
        out.append(f"{pad}  }}")
    else:
        scalar(tgt, seed_expr)
    out.append(f"{pad}}}")


def gen_fill(sch, out):
    items = [(f"msg::{sch.name}::{st.name}", st.fields) for st in sch.structs] + [(f"msg::{sch.name}", sch.fields)]
    for qual, fields in items:
        out.append(f"[[maybe_unused]] static void fill({qual}& m, int16_t v, uint32_t seed, int depth);")
    for qual, fields in items:
        out.append(f"[[maybe_unused]] static void fill({qual}& m, int16_t v, uint32_t seed, int depth) {{")
        out.append("  (void)v; (void)seed; (void)depth;")
        for i, f in enumerate(fields):
            rng = f.tagged if f.tagged is not None else f.versions
            c = rng.cond()
            if c == "false":
                continue
            out.append(f"  if ({c}) {{")
            fill_value(f, f"m.{f.cname}", f"seed + {i}", out, 2, sch)
            out.append("  }")
        out.append("}")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tests", help="also write roundtrip_cases.cc into this directory")
    ap.add_argument("--units", type=int, default=4)
    args = ap.parse_args()

    schemas = []
    for fn in sorted(os.listdir(args.schemas)):
        if fn.endswith(".schema"):
            sch = parse_schema(os.path.join(args.schemas, fn))
            collect_structs(sch)
            schemas.append(sch)
    outdir = os.path.join(args.out, "protocol")
    os.makedirs(outdir, exist_ok=True)

    def write(path, text):
        # Only touch files whose content changed, so rebuilds stay incremental.
        if os.path.exists(path) and open(path).read() == text:
            return
        with open(path, "w") as f:
            f.write(text)

    h = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.", "#pragma once", "",
         "#include <cstdint>", "#include <optional>", "#include <string>", "#include <vector>",
         "#include <nlohmann/json_fwd.hpp>", "", '#include "common/bytes.h"', '#include "common/uuid.h"', "",
         "namespace flotilla::msg {", ""]
    for sch in schemas:
        gen_decl(sch, h)
    h.append("// Kafka's JSON form of each record/data message and nested struct (see gen_json).")
    for sch in schemas:
        if wants_json(sch):
            for st in sch.structs:
                h.append(f"nlohmann::ordered_json to_json(const {sch.name}::{st.name}& m, int16_t version);")
            h.append(f"nlohmann::ordered_json to_json(const {sch.name}& m, int16_t version);")
    h.append("")
    h.append("}  // namespace flotilla::msg")
    write(os.path.join(outdir, "messages.h"), "\n".join(h) + "\n")

    prelude = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.",
               '#include "protocol/messages.h"', '#include "protocol/wire.h"', "",
               "namespace flotilla::msg {", "using ::flotilla::ByteReader;", "using ::flotilla::ByteWriter;",
               "using ::flotilla::DecodeError;", "namespace wire = ::flotilla::wire;", ""]
    units = [list(prelude) for _ in range(args.units)]
    for i, sch in enumerate(schemas):
        u = units[i % args.units]
        for st in sch.structs:
            gen_struct_methods(f"{sch.name}::{st.name}", st.fields, sch, u)
        gen_struct_methods(sch.name, sch.fields, sch, u)
    for i, u in enumerate(units):
        u.append("}  // namespace flotilla::msg")
        write(os.path.join(outdir, f"messages_{i}.cc"), "\n".join(u) + "\n")

    js = list(prelude)
    js.insert(2, "#include <nlohmann/json.hpp>")
    js.insert(3, "#include <type_traits>")
    for sch in schemas:
        if not wants_json(sch):
            continue
        for st in sch.structs:
            gen_json(f"{sch.name}::{st.name}", st.fields, js)
        gen_json(sch.name, sch.fields, js)
    js.append("}  // namespace flotilla::msg")
    write(os.path.join(outdir, "messages_json.cc"), "\n".join(js) + "\n")

    # API table
    reqs = {s.key: s for s in schemas if s.kind == "request"}
    at = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.", '#include "protocol/api.h"', "",
          "namespace flotilla::protocol {", "extern const ApiInfo kApiTable[];", "extern const size_t kApiTableSize;", "const ApiInfo kApiTable[] = {"]
    for key in sorted(reqs):
        s = reqs[key]
        nm = s.name[:-len("Request")]
        at.append(f'  {{{key}, "{nm}", {s.versions.lo}, {s.versions.hi}, {s.flex_min}, '
                  f'{"true" if "broker" in s.listeners else "false"}, {"true" if "controller" in s.listeners else "false"}, '
                  f'{"true" if s.unstable else "false"}}},')
    at.append("};")
    at.append("const size_t kApiTableSize = sizeof(kApiTable) / sizeof(kApiTable[0]);")
    at.append("}  // namespace flotilla::protocol")
    write(os.path.join(outdir, "api_table.cc"), "\n".join(at) + "\n")

    # Every request's decoder by key, for the fuzz target (tests/fuzz) and its seeds.
    rd = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.", '#include "protocol/request_dispatch.h"', "",
          '#include "protocol/messages.h"', "", "namespace flotilla::protocol {", "",
          "bool decode_request_body(int16_t api_key, int16_t version, ByteReader& r) {", "  switch (api_key) {"]
    for key in sorted(reqs):
        s = reqs[key]
        rd.append(f"    case {key}: {{ if (version < {s.versions.lo} || version > {s.versions.hi}) return false; "
                  f"msg::{s.name} m; m.decode(r, version); return true; }}")
    rd += ["    default: return false;", "  }", "}", "",
           "std::vector<uint8_t> encode_default_request(int16_t api_key, int16_t version) {", "  ByteWriter w;", "  switch (api_key) {"]
    for key in sorted(reqs):
        s = reqs[key]
        rd.append(f"    case {key}: {{ if (version < {s.versions.lo} || version > {s.versions.hi}) return {{}}; "
                  f"msg::{s.name} m; m.encode(w, version); break; }}")
    rd += ["    default: return {};", "  }", "  return std::move(w).take();", "}", "", "}  // namespace flotilla::protocol"]
    write(os.path.join(outdir, "request_dispatch.cc"), "\n".join(rd) + "\n")

    # Metadata records
    metas = sorted([s for s in schemas if s.kind == "metadata"], key=lambda s: s.key)
    mh = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.", "#pragma once", "",
          "#include <variant>", "", '#include "protocol/messages.h"', "", "namespace flotilla::protocol {", "",
          "using MetadataRecordVariant = std::variant<" + ", ".join("msg::" + s.name for s in metas) + ">;", "",
          "// Decodes the body of metadata record `api_key` at `version`; false if the key is unknown.",
          "bool decode_metadata_body(int16_t api_key, int16_t version, ByteReader& r, MetadataRecordVariant& out);",
          "// The schema name (\"TopicRecord\") and Kafka's MetadataRecordType name (\"TOPIC_RECORD\"); nullptr if unknown.",
          "const char* metadata_record_schema_name(int16_t api_key);",
          "const char* metadata_record_type_name(int16_t api_key);",
          "// The key of the record held by the variant.",
          "int16_t metadata_record_key(const MetadataRecordVariant& v);",
          "std::pair<int16_t, int16_t> metadata_record_versions(int16_t api_key);",
          "", "}  // namespace flotilla::protocol"]
    write(os.path.join(outdir, "metadata_records.h"), "\n".join(mh) + "\n")
    mc = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.", '#include "protocol/metadata_records.h"', "",
          "namespace flotilla::protocol {", "",
          "bool decode_metadata_body(int16_t api_key, int16_t version, ByteReader& r, MetadataRecordVariant& out) {",
          "  switch (api_key) {"]
    for s in metas:
        mc.append(f"    case {s.key}: {{ if (version < msg::{s.name}::kMinVersion || version > msg::{s.name}::kMaxVersion) throw DecodeError(\"unsupported version of {s.name}\"); "
                  f"msg::{s.name} m; m.decode(r, version); out = std::move(m); return true; }}")
    mc += ["    default: return false;", "  }", "}", "",
           "const char* metadata_record_schema_name(int16_t api_key) {", "  switch (api_key) {"]
    for s in metas:
        mc.append(f'    case {s.key}: return "{s.name}";')
    mc += ["    default: return nullptr;", "  }", "}", "",
           "const char* metadata_record_type_name(int16_t api_key) {", "  switch (api_key) {"]
    for s in metas:
        mc.append(f'    case {s.key}: return "{snake(s.name).rstrip("_").upper()}";')
    mc += ["    default: return nullptr;", "  }", "}", "",
           "std::pair<int16_t, int16_t> metadata_record_versions(int16_t api_key) {", "  switch (api_key) {"]
    for s in metas:
        mc.append(f"    case {s.key}: return {{{s.versions.lo}, {s.versions.hi}}};")
    mc += ["    default: return {-1, -1};", "  }", "}", "",
           "int16_t metadata_record_key(const MetadataRecordVariant& v) {",
           "  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kApiKey; }, v);", "}", "",
           "}  // namespace flotilla::protocol"]
    write(os.path.join(outdir, "metadata_records.cc"), "\n".join(mc) + "\n")

    if args.tests:
        # The round-trip cases, split like the messages so that no one test
        # file holds the whole build up: roundtrip_cases_<i>.cc adds its share
        # of the cases, roundtrip_cases.cc lists them all.
        os.makedirs(args.tests, exist_ok=True)
        head = ["// Generated by src/protocol/gen/generate.py from schemas/. Do not edit.",
                '#include "roundtrip_cases.h"', '#include "protocol/messages.h"', "", "namespace flotilla::test {",
                "namespace msg = ::flotilla::msg;", ""]
        for i in range(args.units):
            share = schemas[i::args.units]
            t = list(head)
            for sch in share:
                gen_fill(sch, t)
            t.append(f"void add_roundtrip_cases_{i}(std::vector<RoundTripCase>& cases) {{")
            for sch in share:
                t.append(f'  cases.push_back({{"{sch.name}", {sch.versions.lo}, {sch.versions.hi}, [](int16_t v, uint32_t seed) {{')
                t.append(f"    msg::{sch.name} m; fill(m, v, seed, 0); return check_roundtrip(m, v); }}}});")
            t.append("}")
            t.append("}  // namespace flotilla::test")
            write(os.path.join(args.tests, f"roundtrip_cases_{i}.cc"), "\n".join(t) + "\n")
        t = head[:2] + ["", "namespace flotilla::test {", ""]
        t += [f"void add_roundtrip_cases_{i}(std::vector<RoundTripCase>& cases);" for i in range(args.units)]
        t += ["", "std::vector<RoundTripCase> all_roundtrip_cases() {", "  std::vector<RoundTripCase> cases;"]
        t += [f"  add_roundtrip_cases_{i}(cases);" for i in range(args.units)]
        t += ["  return cases;", "}", "}  // namespace flotilla::test"]
        write(os.path.join(args.tests, "roundtrip_cases.cc"), "\n".join(t) + "\n")

if __name__ == "__main__":
    main()
