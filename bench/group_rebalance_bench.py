#!/usr/bin/env python3
"""Consumer-group rebalance benchmark (classic protocol) with real clients on
127.0.0.1: one combined broker+controller, a topic of --partitions partitions,
--members confluent-kafka (librdkafka) consumers in one group, each polling in
its own thread.

Each run: the group is stable with --members members; at T0 one more member
joins; the group is "stable" again once every member's latest assignment
(on_assign, after T0) is disjoint from the others' and together they cover
every partition (the time printed). The extra member then leaves (close) and
the group settles again before the next run (not measured).

The classic protocol learns of a rebalance through each member's heartbeat:
the time is bounded below by heartbeat.interval.ms (librdkafka's default is
3000 ms), so the benchmark runs with each value of --heartbeat-ms.

Prints a table and with --out F writes the results as JSON to F. Every wait is bounded;
only the server started here is stopped. Usage:
  bench/group_rebalance_bench.py --bin build/flotilla [--members 10] [--partitions 100] [--runs 5] [--heartbeat-ms 100,3000]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_bench import Server  # noqa: E402

from confluent_kafka import Consumer  # noqa: E402


class Member:
    """A consumer polling in its own thread; records each assignment and when it came."""

    def __init__(self, bootstrap, group, topic, heartbeat_ms, name):
        self.assigned = set()
        self.assigned_at = 0.0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.c = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
            "session.timeout.ms": 10000, "heartbeat.interval.ms": heartbeat_ms,
            "partition.assignment.strategy": "range", "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self.c.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _on_assign(self, consumer, partitions):
        with self.lock:
            self.assigned = {p.partition for p in partitions}
            self.assigned_at = time.monotonic()

    def _on_revoke(self, consumer, partitions):
        with self.lock:
            self.assigned = set()

    def _run(self):
        while not self.stop.is_set():
            self.c.poll(0.02)

    def snapshot(self):
        with self.lock:
            return set(self.assigned), self.assigned_at

    def close(self):
        self.stop.set()
        self.t.join(timeout=10)
        self.c.close()


def stable_since(members, partitions, since):
    """True if every member was assigned after `since` and the assignments partition the topic."""
    seen = set()
    total = 0
    for m in members:
        a, at = m.snapshot()
        if at < since:
            return False
        seen |= a
        total += len(a)
    return total == partitions and len(seen) == partitions


def run_case(binary, members, partitions, runs, heartbeat_ms, timeout):
    work = tempfile.mkdtemp(prefix="flotilla-group-bench-")
    srv = Server(binary, work, extra="offsets.topic.replication.factor=1\ngroup.initial.rebalance.delay.ms=0\n")
    srv.start()
    group_members = []
    try:
        topic = "rebalance-bench"
        subprocess.run([binary, "topics", "--bootstrap-server", srv.bootstrap, "--create", "--topic", topic,
                        "--partitions", str(partitions), "--replication-factor", "1"], check=True, capture_output=True, timeout=30)
        group = f"bench-{heartbeat_ms}"
        t0 = time.monotonic()
        for i in range(members):
            group_members.append(Member(srv.bootstrap, group, topic, heartbeat_ms, f"m{i}"))
        deadline = time.monotonic() + timeout
        while not stable_since(group_members, partitions, t0):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{members} members never stabilized")
            time.sleep(0.005)
        times = []
        for r in range(runs):
            t0 = time.monotonic()
            extra = Member(srv.bootstrap, group, topic, heartbeat_ms, f"joiner{r}")
            everyone = group_members + [extra]
            deadline = t0 + timeout
            while not stable_since(everyone, partitions, t0):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"run {r}: the group did not stabilize within {timeout} s after a join")
                time.sleep(0.002)
            times.append(time.monotonic() - t0)
            print(f"  heartbeat {heartbeat_ms} ms, run {r + 1}: stable {times[-1] * 1000:.0f} ms after the join", flush=True)
            t1 = time.monotonic()
            extra.close()
            deadline = t1 + timeout
            while not stable_since(group_members, partitions, t1):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"run {r}: the group did not settle after the leave")
                time.sleep(0.005)
        return times
    finally:
        for m in group_members:
            m.close()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/flotilla")
    ap.add_argument("--members", type=int, default=10)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--heartbeat-ms", default="100,3000", help="heartbeat.interval.ms values (librdkafka's default: 3000)")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    results = []
    for hb in [int(x) for x in args.heartbeat_ms.split(",")]:
        times = run_case(binary, args.members, args.partitions, args.runs, hb, args.timeout)
        results.append({"heartbeat_ms": hb, "members": args.members, "partitions": args.partitions,
                        "stable_after_join_ms": [round(t * 1000, 1) for t in times],
                        "median_ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1)})
    print(f"\n{'heartbeat.interval.ms':>22} {'members':>8} {'partitions':>10} {'median ms':>10} {'max ms':>8}")
    for r in results:
        print(f"{r['heartbeat_ms']:>22} {r['members']:>8} {r['partitions']:>10} {r['median_ms']:>10} {r['max_ms']:>8}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
