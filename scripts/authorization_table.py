#!/usr/bin/env python3
"""Prints docs/AUTHORIZATION.md's table from the one source of the rules,
src/broker/authorization.cc's kApiChecks (tests/integration/test_docs.py
checks that the document holds it). Usage: scripts/authorization_table.py"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW = re.compile(r'^\s*\{(\d+), "([A-Z_]+)", "([^"]*)", "([^"]*)", (\w+|""), "([^"]*)"\},')


def rows():
    src = open(os.path.join(ROOT, "src/broker/authorization.cc")).read()
    consts = dict(re.findall(r'(k\w+Auth) = "([A-Z_]+)"', src))
    body = src[src.index("kApiChecks[] = {"):]
    body = body[:body.index("};")]
    for line in body.splitlines():
        m = ROW.match(line)
        if m:
            key, api, op, res, err, note = m.groups()
            yield key, api, op, res, consts.get(err, "" if err == '""' else err), note


def table():
    out = ["| key | API | operation | resource | refusal | note |", "|---|---|---|---|---|---|"]
    for key, api, op, res, err, note in rows():
        out.append(f"| {key} | {api} | {op or '—'} | {res or '—'} | {err or '—'} | {note} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
