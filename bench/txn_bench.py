#!/usr/bin/env python3
"""Transactions benchmark with a real client (confluent-kafka / librdkafka) on
127.0.0.1: one combined broker+controller, a topic of --partitions partitions.

A transactional producer runs --txns transactions of --records records each
(spread over the partitions, 100-byte values): begin, produce, commit. Printed:
the commit latency (commit_transaction(): EndTxn, the markers written to every
partition of the transaction, the Complete record) as p50 / p99 / max, the
transactions per second and records per second of the whole loop, and the time
for a read_committed consumer to read everything back.

With --out F writes the results as JSON to F. Every wait is bounded; only the server started here is
stopped. Usage:
  bench/txn_bench.py --bin build/flotilla [--txns 500] [--records 100] [--partitions 4]
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_bench import Server  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--txns", type=int, default=500)
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--out", help="write the results as JSON to this file")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="flotilla-txn-bench-")
    srv = Server(os.path.abspath(a.bin), work, extra="offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
                                                      "transaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n")
    srv.start()
    try:
        boot = f"127.0.0.1:{srv.port}"
        admin = AdminClient({"bootstrap.servers": boot})
        admin.create_topics([NewTopic("txn-bench", num_partitions=a.partitions, replication_factor=1)])["txn-bench"].result(30)
        p = Producer({"bootstrap.servers": boot, "transactional.id": "txn-bench", "linger.ms": 1})
        t0 = time.monotonic()
        p.init_transactions(30)
        init_ms = (time.monotonic() - t0) * 1000
        value = b"x" * 100
        commits = []
        start = time.monotonic()
        for t in range(a.txns):
            p.begin_transaction()
            for i in range(a.records):
                p.produce("txn-bench", value, partition=i % a.partitions)
            c0 = time.monotonic()
            p.commit_transaction(30)
            commits.append((time.monotonic() - c0) * 1000)
        elapsed = time.monotonic() - start
        total = a.txns * a.records

        c = Consumer({"bootstrap.servers": boot, "group.id": "txn-bench-reader", "isolation.level": "read_committed",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe(["txn-bench"])
        got, r0 = 0, time.monotonic()
        while got < total and time.monotonic() - r0 < 60:
            got += sum(1 for m in c.consume(10000, 0.5) if not m.error())
        read_s = time.monotonic() - r0
        c.close()
        res = {
            "txns": a.txns, "records_per_txn": a.records, "partitions": a.partitions,
            "init_transactions_ms": round(init_ms, 1),
            "commit_ms_p50": round(statistics.median(commits), 2), "commit_ms_p99": round(pct(commits, 0.99), 2),
            "commit_ms_max": round(max(commits), 2),
            "txns_per_s": round(a.txns / elapsed, 1), "records_per_s": round(total / elapsed),
            "read_committed_records": got, "read_committed_s": round(read_s, 2),
        }
        print(f"transactions: {a.txns} x {a.records} records over {a.partitions} partitions")
        print(f"  init_transactions {res['init_transactions_ms']} ms; commit p50 {res['commit_ms_p50']} ms, "
              f"p99 {res['commit_ms_p99']} ms, max {res['commit_ms_max']} ms")
        print(f"  {res['txns_per_s']} txn/s, {res['records_per_s']} records/s; read_committed read back {got} in {res['read_committed_s']} s")
        if a.out:
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            with open(a.out, "w") as f:
                json.dump(res, f, indent=2)
        if got != total:
            sys.exit(f"read_committed consumer got {got} of {total} records")
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
