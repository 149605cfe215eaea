#!/usr/bin/env python3
"""Start-up time and idle memory of one combined broker+controller.

Each run starts `flotilla server` on a formatted store and measures, from the
spawn of the process:
  listen_ms    the client port accepts a TCP connection;
  metadata_ms  a Metadata request lists the broker (the broker has caught up
               with the metadata log and is registered: it serves clients);
  create_ms    a CreateTopics request succeeds (a write committed through
               Raft and applied), only on a fresh store.
Then the process idles for --idle-seconds and its VmRSS/VmHWM are read from
/proc. The first run is on a freshly formatted store; the others restart it
after --topics topics were created, so the metadata log is replayed.

Usage: startup_bench.py --bin build/flotilla [--runs 10] [--topics 100] [--out F]
Every wait is bounded; only the server started here is stopped, by PID.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
from e2e_bench import Server  # noqa: E402
from kafka_wire import create_topic_v0, metadata_brokers  # noqa: E402


def wait_until(fn, deadline):
    """Polls fn every millisecond until it returns true; the elapsed time
    comes from the caller's clock."""
    while time.monotonic() < deadline:
        try:
            if fn():
                return True
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError("timed out")


def can_connect(port):
    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    return True


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def one_run(srv, create_topic):
    t0 = time.monotonic()
    srv.start_async()
    deadline = t0 + 20
    wait_until(lambda: can_connect(srv.port), deadline)
    listen = time.monotonic() - t0
    wait_until(lambda: len(metadata_brokers(srv.bootstrap)) > 0, deadline)
    meta = time.monotonic() - t0
    row = {"listen_ms": round(listen * 1000, 1), "metadata_ms": round(meta * 1000, 1)}
    if create_topic:
        err = create_topic_v0(srv.bootstrap, "startup-probe", 1)
        row["create_ms"] = round((time.monotonic() - t0) * 1000, 1)
        row["create_error"] = err
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "build", "flotilla"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--topics", type=int, default=100, help="topics created before the restarts")
    ap.add_argument("--idle-seconds", type=float, default=2.0)
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="flotilla-startup-bench-")
    srv = Server(os.path.abspath(args.bin), work)
    rows = []
    try:
        for i in range(args.runs):
            row = one_run(srv, create_topic=(i == 0))
            if i == 0:
                for t in range(args.topics):
                    create_topic_v0(srv.bootstrap, f"startup-{t}", 1)
            time.sleep(args.idle_seconds)
            st = proc_status(srv.proc.pid)
            row.update({"store": "fresh" if i == 0 else f"restart, {args.topics + 1} topics",
                        "idle_rss_MiB": round(st["VmRSS"] / 1024, 1), "peak_rss_MiB": round(st["VmHWM"] / 1024, 1),
                        "threads": st["Threads"]})
            srv.stop()
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)

    restarts = rows[1:] or rows
    summary = {
        "fresh_metadata_ms": rows[0]["metadata_ms"], "fresh_create_ms": rows[0].get("create_ms"),
        "restart_metadata_ms_median": statistics.median(r["metadata_ms"] for r in restarts),
        "restart_metadata_ms_max": max(r["metadata_ms"] for r in restarts),
        "idle_rss_MiB_max": max(r["idle_rss_MiB"] for r in rows),
    }
    print()
    print(f"start-up to serving Metadata: fresh store {summary['fresh_metadata_ms']} ms "
          f"(first CreateTopics committed at {summary['fresh_create_ms']} ms); restart with "
          f"{args.topics + 1} topics: median {summary['restart_metadata_ms_median']} ms, "
          f"max {summary['restart_metadata_ms_max']} ms over {len(restarts)} runs")
    print(f"idle RSS after {args.idle_seconds:g} s: max {summary['idle_rss_MiB_max']} MiB")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"runs": rows, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
