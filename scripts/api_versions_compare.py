#!/usr/bin/env python3
"""Compares the API versions a running Flotilla broker listener advertises
(ApiVersions) with what a Kafka 4.1 broker advertises, as a Markdown table.

Usage: scripts/api_versions_compare.py 127.0.0.1:9092

Kafka 4.1's ranges are facts of its ApiVersions response (KIP-896 raised the
minimums in 4.0; Produce still advertises v0 for librdkafka's sake,
KAFKA-18659), gathered from the version table of an independent client
(franz-go's kversion for 4.1.0). Names come from the project's schema files."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from kafka_wire import api_versions  # noqa: E402

KAFKA_4_1 = {
    0: (0, 13), 1: (4, 18), 2: (1, 10), 3: (0, 13), 8: (2, 9), 9: (1, 9),
    10: (0, 6), 11: (0, 9), 12: (0, 4), 13: (0, 5), 14: (0, 5), 15: (0, 6),
    16: (0, 5), 17: (0, 1), 18: (0, 4), 19: (2, 7), 20: (1, 6), 21: (0, 2),
    22: (0, 5), 23: (2, 4), 24: (0, 5), 25: (0, 4), 26: (0, 5), 27: (1, 1),
    28: (0, 5), 29: (1, 3), 30: (1, 3), 31: (1, 3), 32: (1, 4), 33: (0, 2),
    34: (1, 2), 35: (1, 4), 36: (0, 2), 37: (0, 3), 38: (1, 3), 39: (1, 2),
    40: (1, 2), 41: (1, 3), 42: (0, 2), 43: (0, 2), 44: (0, 1), 45: (0, 1),
    46: (0, 0), 47: (0, 0), 48: (0, 1), 49: (0, 1), 50: (0, 0), 51: (0, 0),
    55: (0, 2), 57: (0, 2), 60: (0, 2), 61: (0, 0), 64: (0, 0), 65: (0, 0),
    66: (0, 2), 68: (0, 1), 69: (0, 1), 71: (0, 0), 72: (0, 0), 74: (0, 1),
    75: (0, 0), 76: (0, 1), 77: (0, 1), 78: (0, 1), 79: (0, 1), 80: (0, 0),
    81: (0, 0), 83: (0, 0), 84: (0, 0), 85: (0, 0), 86: (0, 0), 87: (0, 0),
    90: (0, 0), 91: (0, 0), 92: (0, 0),
}


# Why Flotilla's range differs from Kafka 4.1's (tests/integration/test_api_versions_41.py
# checks that every other served key reaches Kafka 4.1's newest version).
KEPT = "older versions kept (KIP-896 removed them in Kafka 4.0; issue 17 keeps legacy clients working)"
SHARE = "share groups (KIP-932) are not served"
REASONS = {
    0: "v0-2 kept for magic 0/1 clients (legacy message sets converted on append); Kafka 4.1 advertises 0 too (KAFKA-18659)",
    2: KEPT, 8: KEPT, 9: KEPT, 19: KEPT, 20: KEPT, 23: KEPT, 27: KEPT, 29: KEPT, 30: KEPT, 31: KEPT, 32: KEPT,
    35: KEPT, 38: KEPT, 39: KEPT, 40: KEPT, 41: KEPT,
    34: KEPT,
    71: "client telemetry: served only when configured", 72: "client telemetry: served only when configured",
    74: "Kafka 4.1 calls it ListConfigResources (KIP-1142); Flotilla's schema keeps the 3.x name",
    80: "controller listener only", 81: "controller listener only",
    76: SHARE, 77: SHARE, 78: SHARE, 79: SHARE, 83: SHARE, 84: SHARE, 85: SHARE, 86: SHARE, 87: SHARE,
    90: SHARE, 91: SHARE, 92: SHARE,
}


def names():
    """{api key: name} from schemas/*Request.schema (and Kafka's names of the
    share-group offsets APIs, which have no schema here)."""
    out = {90: "DescribeShareGroupOffsets", 91: "AlterShareGroupOffsets", 92: "DeleteShareGroupOffsets"}
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas")
    for f in os.listdir(d):
        if f.endswith("Request.schema"):
            with open(os.path.join(d, f)) as fh:
                m = re.match(r"schema (\w+)Request request key=(\d+)", fh.readline())
            if m:
                out[int(m.group(2))] = m.group(1)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    err, ours = api_versions(sys.argv[1], version=3)
    if err:
        sys.exit(f"ApiVersions answered error {err}")
    name = names()
    print("| key | API | Kafka 4.1 | Flotilla | reason for a difference |")
    print("|---|---|---|---|---|")
    for k in sorted(set(KAFKA_4_1) | set(ours)):
        kafka = "%d–%d" % KAFKA_4_1[k] if k in KAFKA_4_1 else "—"
        flot = "%d–%d" % ours[k] if k in ours else "—"
        same = k in KAFKA_4_1 and k in ours and KAFKA_4_1[k] == ours[k]
        note = "" if same else REASONS.get(k, "differs")
        print(f"| {k} | {name.get(k, '?')} | {kafka} | {flot} | {note} |")


if __name__ == "__main__":
    main()
