#!/usr/bin/env python3
"""Controller quorum benchmark with real processes on 127.0.0.1.

1. Failover: three controller-only nodes (default timeouts: election 1 s,
   fetch 2 s) and one broker. Each run kills the leader with SIGKILL and
   measures the time until a new leader has committed in its new epoch
   (DescribeQuorum polled every 2 ms on the survivors: a leader of a newer
   epoch whose high watermark passed every offset that existed at the
   kill). The killed node is restarted and caught up before the next run.
2. Metadata commit latency: CreateTopics of one partition, one at a time,
   through the broker (forwarded to the active controller, committed,
   applied to the broker's image, answered): p50/p99.

Prints a summary and with --out F writes them as JSON to F. Usage:
  bench/quorum_bench.py --bin build/flotilla [--runs 10] [--creates 300]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flotilla"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--creates", type=int, default=300)
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    os.environ["FLOTILLA_BIN"] = os.path.abspath(args.bin)
    import conftest
    conftest.BIN = os.path.abspath(args.bin)
    from kafka_wire import create_topic_v0, describe_quorum

    def ask(n):
        try:
            return describe_quorum(n.controller, timeout=0.5)
        except (OSError, ValueError):
            return None

    def leader_of(c, exclude=(), min_epoch=0, min_hw=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for n in c.controllers:
                if n.node_id in exclude or n.proc.poll() is not None:
                    continue
                q = ask(n)
                if q and q["error"] == 0 and q.get("partition_error") == 0 and q["leader_epoch"] >= min_epoch \
                        and q["high_watermark"] >= min_hw:
                    return q
            time.sleep(0.002)
        raise RuntimeError("no leader")

    results = {}
    with tempfile.TemporaryDirectory(prefix="flotilla-quorum-bench-") as d:
        c = conftest.Cluster(d, controllers=3, brokers=1)
        try:
            c.start()
            times = []
            for run in range(args.runs):
                q = leader_of(c)
                old = q["leader_id"]
                # Every offset that exists now: the new epoch's first commit lies beyond it.
                end = max(v[1] for v in q["voters"])
                c.controller(old).kill9()
                t0 = time.time()
                leader_of(c, exclude={old}, min_epoch=q["leader_epoch"] + 1, min_hw=end + 1)
                times.append((time.time() - t0) * 1000)
                print(f"failover run {run + 1}: {times[-1]:.0f} ms", flush=True)
                c.controller(old).start()
                while True:  # caught up again before the next kill
                    q = leader_of(c)
                    leo = {v[0]: v[1] for v in q["voters"]}
                    if min(leo.values()) >= q["high_watermark"]:
                        break
                    time.sleep(0.05)
            results["failover_ms"] = {"runs": times, "median": statistics.median(times), "max": max(times)}
            lat = []
            b = c.brokers[0].bootstrap
            for i in range(args.creates):
                t0 = time.time()
                err = create_topic_v0(b, f"bench-{i}")
                lat.append((time.time() - t0) * 1000)
                assert err == 0, err
            lat.sort()
            results["create_topics_ms"] = {"count": len(lat), "p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99) - 1]}
        finally:
            c.stop()
    print(f"kill -9 of the leader -> first commit on the new leader: median {results['failover_ms']['median']:.0f} ms, "
          f"max {results['failover_ms']['max']:.0f} ms over {args.runs} runs")
    print(f"CreateTopics (1 partition) through a broker: p50 {results['create_topics_ms']['p50']:.2f} ms, "
          f"p99 {results['create_topics_ms']['p99']:.2f} ms over {args.creates}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
