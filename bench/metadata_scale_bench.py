#!/usr/bin/env python3
"""Metadata at scale (issue 21 §5): three controllers and two brokers (as
observers) on 127.0.0.1, driven by build/bench/metadata_scale to an image of
--partitions partitions spread over --sim-brokers simulated brokers it
registers and keeps unfenced.

Reports:
  fill          how long the image took to reach --partitions (CreateTopics of
                --per-topic partitions each, pipelined, on the active controller)
  create        CreateTopics of 1,000 partitions: committed (the controller's
                answer) and visible on every broker (Metadata), median and max
  rss           every node's resident memory with the full image, and per
                partition above a node's RSS before the fill
  restart       a broker restarted (SIGTERM, start): from exec until its
                Metadata lists the last topic (snapshot load + log tail), and
                a controller likewise until it answers ApiVersions and a
                CreateTopics committed by the quorum afterwards
  snapshot      the newest snapshot file's size on a controller

Usage:
  bench/metadata_scale_bench.py --bin build/flotilla --tool build/bench/metadata_scale
      [--partitions 1000000] [--sim-brokers 100] [--per-topic 1000] [--out F]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flotilla"))
    ap.add_argument("--tool", default=os.path.join(ROOT, "build", "bench", "metadata_scale"))
    ap.add_argument("--partitions", type=int, default=1000000)
    ap.add_argument("--sim-brokers", type=int, default=100)
    ap.add_argument("--per-topic", type=int, default=1000)
    ap.add_argument("--probes", type=int, default=5)
    ap.add_argument("--out")
    args = ap.parse_args()
    os.environ["FLOTILLA_BIN"] = os.path.abspath(args.bin)
    import conftest
    conftest.BIN = os.path.abspath(args.bin)
    from kafka_wire import api_versions

    result = {"partitions": args.partitions, "sim_brokers": args.sim_brokers}
    with tempfile.TemporaryDirectory(prefix="metadata-scale-") as work:
        extra = {"broker.session.timeout.ms": "30000", "controller.quorum.request.timeout.ms": "10000"}
        cluster = conftest.Cluster(work, controllers=3, brokers=2, extra=extra)
        cluster.start()
        tool = None
        try:
            base = {n.node_id: rss_kib(n.proc.pid) for n in cluster.nodes}
            cmd = [args.tool, "--controllers", ",".join(n.controller for n in cluster.controllers),
                   "--brokers", ",".join(b.bootstrap for b in cluster.brokers), "--cluster-id", cluster.cluster_id,
                   "--sim-brokers", str(args.sim_brokers), "--partitions", str(args.partitions),
                   "--per-topic", str(args.per_topic), "--probes", str(args.probes), "--hold-seconds", "3600"]
            tool = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            line = tool.stdout.readline()
            if not line:
                raise SystemExit(f"metadata_scale failed ({tool.wait()})")
            result.update(json.loads(line))
            rss = {n.node_id: rss_kib(n.proc.pid) for n in cluster.nodes}
            result["rss_mib"] = {str(k): round(v / 1024) for k, v in rss.items()}
            result["rss_bytes_per_partition"] = {str(k): round((rss[k] - base[k]) * 1024 / args.partitions)
                                                 for k in rss}
            snaps = sorted(glob.glob(os.path.join(cluster.controllers[0].data, "__cluster_metadata-0", "*.checkpoint")))
            result["snapshot_mib"] = round(os.path.getsize(snaps[-1]) / 2**20, 1) if snaps else None

            last = f"scale-{(args.partitions + args.per_topic - 1) // args.per_topic - 1:06d}"
            b = cluster.brokers[0]
            b.stop()
            t0 = time.monotonic()
            b.start(wait=False)
            from confluent_kafka.admin import AdminClient
            deadline = t0 + 300
            while time.monotonic() < deadline:
                try:
                    md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(topic=last, timeout=2)
                    if last in md.topics and md.topics[last].error is None:
                        break
                except Exception:
                    pass
                time.sleep(0.05)
            result["broker_restart_seconds"] = round(time.monotonic() - t0, 2)
            result["broker_rss_mib_after_restart"] = round(rss_kib(b.proc.pid) / 1024)

            c = cluster.controllers[-1]
            c.stop()
            t0 = time.monotonic()
            c.start(wait=False)
            while time.monotonic() < t0 + 300:
                try:
                    if api_versions(c.controller, version=3)[0] == 0:
                        break
                except OSError:
                    pass
                time.sleep(0.02)
            result["controller_restart_seconds"] = round(time.monotonic() - t0, 2)
            result["controller_rss_mib_after_restart"] = round(rss_kib(c.proc.pid) / 1024)
        finally:
            if tool and tool.poll() is None:
                tool.kill()
                tool.wait()
            cluster.stop()
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
