#!/usr/bin/env python3
"""One-off importer: Kafka's JSON message schemas -> Flotilla's schema files.

Usage: scripts/import_schemas.py <kafka-schema-dir> <out-dir>
Keeps only the facts (names, types, version ranges, nullability, tags,
defaults, api keys, listeners); drops descriptions and comments. Not part of
the build: the build reads only schemas/ (see src/protocol/gen/generate.py for
the format).
"""
import json
import os
import re
import shlex
import sys


def strip_comments(text):
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("//"):
            continue
        # trailing // comments outside strings
        in_str = False
        for i, c in enumerate(line):
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            if not in_str and line[i:i + 2] == "//":
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def attrs(f):
    parts = []
    if "versions" in f:
        parts.append("v=" + f["versions"])
    if f.get("nullableVersions"):
        parts.append("null=" + f["nullableVersions"])
    if "taggedVersions" in f:
        parts.append("tagged=" + f["taggedVersions"])
    if "tag" in f:
        parts.append("tag=%d" % int(f["tag"]))
    if "flexibleVersions" in f:
        parts.append("flex=" + f["flexibleVersions"])
    if "default" in f:
        d = f["default"]
        if isinstance(d, bool):
            d = "true" if d else "false"
        parts.append("default=" + shlex.quote(str(d)))
    return parts


def emit_fields(fields, depth, out):
    for f in fields:
        out.append("  " * depth + " ".join([f["name"], f["type"]] + attrs(f)))
        if "fields" in f:
            emit_fields(f["fields"], depth + 1, out)


def convert(path):
    d = json.loads(strip_comments(open(path).read()))
    head = ["schema", d["name"], d["type"]]
    if "apiKey" in d:
        head.append("key=%d" % d["apiKey"])
    head.append("versions=" + d["validVersions"])
    head.append("flexible=" + d.get("flexibleVersions", "none"))
    if d.get("listeners"):
        head.append("listeners=" + ",".join(d["listeners"]))
    if d.get("latestVersionUnstable"):
        head.append("unstable")
    out = [" ".join(head)]
    emit_fields(d.get("fields", []), 1, out)
    for s in d.get("commonStructs", []):
        out.append("  struct " + s["name"] + " v=" + s.get("versions", "0+"))
        emit_fields(s["fields"], 2, out)
    return d["name"], "\n".join(out) + "\n"


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    n = 0
    for sub in ("message", "metadata", "raft"):
        d = os.path.join(src, sub)
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".json"):
                continue
            name, text = convert(os.path.join(d, fn))
            with open(os.path.join(dst, name + ".schema"), "w") as f:
                f.write(text)
            n += 1
    print("wrote", n, "schema files")


if __name__ == "__main__":
    main()
