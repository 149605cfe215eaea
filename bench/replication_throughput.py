#!/usr/bin/env python3
"""Replication throughput: `flotilla perf produce` against 3 brokers (and 3
controllers), real processes on 127.0.0.1.

Cases (one fresh topic each, --partitions partitions, leaders spread over the
3 brokers): RF=3 acks=all (every record on all three replicas before the
answer), RF=3 acks=1, RF=1 acks=1. Prints produce MB/s, records/s and
latency percentiles as a table and with --out F writes them as JSON to F.
Every wait is bounded; only the processes started here are stopped, by PID.
Usage:
  bench/replication_throughput.py --bin build/flotilla [--bytes 1073741824] [--record-sizes 100,1024]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

CASES = [  # (replication factor, acks)
    (3, "all"),
    (3, "1"),
    (1, "1"),
]


def run_json(cmd, timeout):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    for line in reversed(out.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            j = json.loads(line)
            j["exit_code"] = out.returncode
            if out.returncode != 0:
                j["stderr"] = out.stderr[-1000:]
            return j
    raise RuntimeError(f"{' '.join(cmd)} gave no JSON result ({out.returncode}): {out.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flotilla"))
    ap.add_argument("--bytes", type=int, default=1 << 30, help="bytes to produce per case")
    ap.add_argument("--record-sizes", default="100,1024", help="record sizes in bytes, comma-separated")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--timeout", type=float, default=600, help="bound of each perf run")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    os.environ["FLOTILLA_BIN"] = binary
    import conftest
    conftest.BIN = binary
    import replication_util as ru

    extra = dict(ru.REPL_EXTRA)
    extra["log.level"] = "warn"
    rows = []
    with tempfile.TemporaryDirectory(prefix="flotilla-repl-bench-") as d:
        c = conftest.Cluster(d, controllers=3, brokers=3, extra=extra)
        try:
            c.start()
            bootstrap = ru.bootstrap_of(c.brokers)
            cases = [(size, rf, acks) for size in (int(x) for x in args.record_sizes.split(",") if x.strip())
                     for rf, acks in CASES]
            for i, (size, rf, acks) in enumerate(cases):
                n = max(1000, args.bytes // size)
                topic = f"repl-{rf}-{acks}-{i}"
                conftest.run_tool("topics", "--bootstrap-server", bootstrap, "--create", "--topic", topic,
                                  "--partitions", str(args.partitions), "--replication-factor", str(rf), timeout=60)
                ru.wait_isr_full(c.brokers[0], topic, args.partitions, rf, timeout=60)
                t0 = time.time()
                try:
                    j = run_json([binary, "perf", "produce", "--bootstrap-server", bootstrap, "--topic", topic,
                                  "--num-records", str(n), "--record-size", str(size),
                                  "--throughput", "-1", "--producer-props", f"acks={acks}", "--json"],
                                 timeout=args.timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    j = {"error": str(e)[:1000]}
                row = {**j, "rf": rf, "acks": acks, "partitions": args.partitions, "record_size": size,
                       "records": n, "wall_s": time.time() - t0}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            c.stop()

    print()
    print(f"3 brokers, 3 controllers; {args.partitions} partitions, {args.bytes >> 20} MiB per case")
    print(f"{'size':>5} {'RF':>3} {'acks':>4} {'records':>9} {'MB/s':>8} {'records/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6}")
    for r in rows:
        if "mb_per_sec" not in r:
            print(f"{r['record_size']:>5} {r['rf']:>3} {r['acks']:>4}   failed: {r.get('error', '')[:200]}")
            continue
        print(f"{r['record_size']:>5} {r['rf']:>3} {r['acks']:>4} {r['records']:>9} {r['mb_per_sec']:>8.1f} "
              f"{r['records_per_sec']:>11.0f} {r.get('p50_ms', 0):>7.0f} {r.get('p99_ms', 0):>7.0f} {r.get('errors', 0):>6}")
    for size in sorted({r["record_size"] for r in rows}):
        base = next((r for r in rows if r["record_size"] == size and r["rf"] == 1 and "mb_per_sec" in r), None)
        full = next((r for r in rows if r["record_size"] == size and r["rf"] == 3 and r["acks"] == "all"
                     and "mb_per_sec" in r), None)
        if base and full and base["mb_per_sec"]:
            print(f"{size} B records: RF=3 acks=all at {100 * full['mb_per_sec'] / base['mb_per_sec']:.0f}% "
                  f"of RF=1 acks=1")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"cases": rows}, f, indent=2)


if __name__ == "__main__":
    main()
