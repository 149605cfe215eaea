#!/usr/bin/env python3
"""One node with many partitions (issue 21 §5): --partitions partitions at RF 1
(topics of --per-topic), empty and then holding --data-gb GB, each time
restarted and measured:

  create      CreateTopics of all of them (AdminClient, --per-topic a request):
              until Metadata lists them led, and until their logs exist
  restart     SIGTERM, start: from exec until the node serves — Metadata lists
              every topic with a leader for every partition, and the oldest
              record of --sample partitions is read back (with data; the
              time until that is done too); all_partitions_served_s: from the
              node's start to the end of its replica manager's first large
              run (every partition's log up as leader), from its own log
  rss_mib     the node's resident memory once it serves
  open_fds    the node's open descriptors once it serves, next to the fd
              cache's bound (flotilla.log.fd.cache.size, from its start-up log)
  produce     --data-gb GB written by librdkafka (confluent_kafka) spread over
              every partition: MB/s and the node's CPU seconds per GB

Usage:
  bench/partitions_scale_bench.py --bin build/flotilla [--partitions 100000]
      [--per-topic 1000] [--data-gb 10] [--sample 1000] [--dir /tmp] [--out F] [--keep]
"""
import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def topics_of(args):
    n = (args.partitions + args.per_topic - 1) // args.per_topic
    return [f"scale-{i:04d}" for i in range(n)]


def wait_serving(server, topics, per_topic, deadline_s=600):
    """Seconds from now until Metadata shows every topic with every partition led."""
    from confluent_kafka.admin import AdminClient
    t0 = time.monotonic()
    while time.monotonic() < t0 + deadline_s:
        if server.proc.poll() is not None:
            raise SystemExit(f"node exited:\n{server.log_text()[-3000:]}")
        try:
            md = AdminClient({"bootstrap.servers": server.bootstrap}).list_topics(timeout=5)
            if all(t in md.topics and len(md.topics[t].partitions) == per_topic and
                   all(p.leader >= 0 and p.error is None for p in md.topics[t].partitions.values()) for t in topics):
                return time.monotonic() - t0
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit("node did not serve every partition in time")


def read_oldest(server, topics, per_topic, sample, expect_data):
    """Reads offset 0 of `sample` random partitions; returns how many held a record."""
    from confluent_kafka import Consumer, TopicPartition
    rng = random.Random(7)
    picks = sorted({(rng.choice(topics), rng.randrange(per_topic)) for _ in range(sample)})
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "scale-bench", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 10})
    found = 0
    try:
        for i in range(0, len(picks), 100):
            chunk = picks[i:i + 100]
            c.assign([TopicPartition(t, p, 0) for t, p in chunk])
            want = set(chunk)
            deadline = time.monotonic() + 30
            while want and expect_data and time.monotonic() < deadline:
                for m in c.consume(num_messages=500, timeout=1):
                    if m.error() is None and m.offset() == 0:
                        want.discard((m.topic(), m.partition()))
            found += len(chunk) - len(want)
    finally:
        c.close()
    return found, len(picks)


def clock_seconds(hms):
    """Seconds since midnight of a log line's HH:MM:SS,mmm."""
    h, m, rest = hms.split(":")
    sec, ms = rest.split(",")
    return int(h) * 3600 + int(m) * 60 + int(sec) + int(ms) / 1000


def fd_bound(server):
    m = re.findall(r"descriptor cache: at most (\d+) open", server.log_text())
    return int(m[-1]) if m else None


def restart_and_measure(server, topics, args, expect_data):
    server.stop(timeout=120)
    t0 = time.monotonic()
    server.start(wait=False)
    serving = wait_serving(server, topics, args.per_topic)
    out = {"restart_seconds": round(time.monotonic() - t0, 2), "serving_after_exec_s": round(serving, 2)}
    # The node's own account: it opens its client listeners once its logs are
    # loaded and it is unfenced with every partition led ("startup took");
    # the client-side time above adds fetching and parsing Metadata of every
    # partition (about a second at 100,000) and the polling interval.
    took = re.findall(r"startup took ([0-9.]+) ms", server.log_text())
    loaded = re.findall(r"\[\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d,\d+)\] info \[LogManager\] Loaded (\d+) partition logs", server.log_text())
    if took:
        out["node_startup_s"] = round(float(took[-1]) / 1000, 2)
    # Every partition served (its log brought up as leader): the end of the
    # replica manager's first large run that ends after the broker was
    # unfenced (the leaders are elected then), from the node's own log.
    stamp = r"\[\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d,\d+)\] info "
    deadline = time.monotonic() + 120
    applied = None
    while time.monotonic() < deadline and applied is None:
        text = server.log_text()
        text = text[text.rfind("\n", 0, max(text.rfind("Starting with cluster id"), 0)) + 1:]  # this start's lines
        started = re.findall(stamp + r"\[KafkaRaftServer nodeId=\d+\] Starting with cluster id", text)
        unfenced = re.findall(stamp + r"\[KafkaRaftServer nodeId=\d+\] Kafka Server started", text)
        runs = re.findall(stamp + r"\[ReplicaManager broker=\d+\] Applied \d+ partition changes", text)
        if started and unfenced:
            ends = [clock_seconds(r) for r in runs if clock_seconds(r) >= clock_seconds(unfenced[0])]
            if ends:
                applied = ends[0] - clock_seconds(started[0])
        time.sleep(0.2)
    if applied is not None:
        out["all_partitions_served_s"] = round(applied, 2)
    if loaded:
        out["logs_loaded"] = int(loaded[-1][1])
    if expect_data:
        found, asked = read_oldest(server, topics, args.per_topic, args.sample, True)
        out["oldest_read_of_sample"] = f"{found}/{asked}"
        out["sample_read_after_exec_s"] = round(time.monotonic() - t0, 2)
    out["rss_mib"] = rss_mib(server.proc.pid)
    out["open_fds"] = open_fds(server.proc.pid)
    out["fd_cache_bound"] = fd_bound(server)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flotilla"))
    ap.add_argument("--partitions", type=int, default=100000)
    ap.add_argument("--per-topic", type=int, default=1000)
    ap.add_argument("--data-gb", type=float, default=10)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--out")
    ap.add_argument("--keep", action="store_true", help="keep the node's directory (its server.log) afterwards")
    args = ap.parse_args()
    os.environ["FLOTILLA_BIN"] = os.path.abspath(args.bin)
    import conftest
    conftest.BIN = os.path.abspath(args.bin)
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    result = {"partitions": args.partitions, "per_topic": args.per_topic, "data_gb": args.data_gb}
    work = tempfile.mkdtemp(prefix="partitions-scale-", dir=args.dir)
    server = conftest.Server(work, extra={"max.broker.partitions": str(args.partitions + 1000),
                                          "offsets.topic.num.partitions": "10"})
    try:
        server.format()
        server.start()
        topics = topics_of(args)
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        t0 = time.monotonic()
        for i in range(0, len(topics), 10):
            fs = admin.create_topics([NewTopic(t, args.per_topic, 1) for t in topics[i:i + 10]], request_timeout=120)
            for t, f in fs.items():
                f.result()
        wait_serving(server, topics, args.per_topic)
        result["create_seconds"] = round(time.monotonic() - t0, 1)
        # The metadata is there; the broker creates the logs in slices after it.
        data = os.path.join(work, "data")
        while sum(1 for d in os.listdir(data) if d.startswith("scale-")) < args.partitions:
            time.sleep(0.2)
        result["logs_created_seconds"] = round(time.monotonic() - t0, 1)
        result["after_create"] = {"rss_mib": rss_mib(server.proc.pid), "open_fds": open_fds(server.proc.pid)}
        result["empty_restart"] = restart_and_measure(server, topics, args, expect_data=False)

        if args.data_gb > 0:
            per_partition = int(args.data_gb * 1e9 / args.partitions)
            value = os.urandom(min(per_partition, 1000000))
            records = max(1, per_partition // len(value))
            p = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 50, "batch.size": 1000000,
                          "message.max.bytes": 2000000, "queue.buffering.max.kbytes": 1048576, "acks": 1,
                          "compression.type": "none"})
            c0 = cpu_seconds(server.proc.pid)
            t0 = time.monotonic()
            sent = 0
            for r in range(records):
                for t in topics:
                    for part in range(args.per_topic):
                        while True:
                            try:
                                p.produce(t, value, partition=part)
                                break
                            except BufferError:
                                p.poll(0.05)
                        sent += len(value)
                    p.poll(0)
            p.flush(600)
            secs = time.monotonic() - t0
            result["produce"] = {"gb": round(sent / 1e9, 2), "mb_per_s": round(sent / 1e6 / secs, 1),
                                 "node_cpu_s_per_gb": round((cpu_seconds(server.proc.pid) - c0) / (sent / 1e9), 2)}
            result["data_restart"] = restart_and_measure(server, topics, args, expect_data=True)
        du = shutil.disk_usage(work)
        result["disk_free_gb_after"] = round(du.free / 1e9, 1)
    finally:
        try:
            server.stop(timeout=120)
        finally:
            if args.keep:
                print(f"kept {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
