#!/usr/bin/python3
"""Multi-host chaos test (issue 19 §2): 3 controllers + 3 brokers, each in
its own network namespace, under a seeded random schedule of faults, with
workloads whose histories are checked once the faults have healed.

    FLOTILLA_BIN=build/flotilla /usr/bin/python3 tests/chaos/chaos.py --runs N --seed S [--duration SECONDS]

Run r uses seed S+r; the seed alone (with --duration, if given) fixes the
schedule, so `--runs 1 --seed <failing seed>` replays it. A failing run
prints its seed, the fault timeline and where its logs are (kept), and the
exit status is 1. Needs root (ip netns, nft, iptables).

Faults (two lanes, each one fault at a time, the lanes overlapping):
  process lane: kill -9 and restart, SIGSTOP/SIGCONT, of any node;
  network lane: one node isolated, a majority/minority partition, a one-way
                cut between two nodes, added latency, packet loss.
Workloads: idempotent acks=all producer (RF=3), consumer group on its topic,
transactional read-process-write, topic create/delete churn.
"""
import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checkers  # noqa: E402
from confluent_kafka import libversion  # noqa: E402
from cluster import BIN, ChaosCluster, tool  # noqa: E402
from net import Network  # noqa: E402
import workloads as wl  # noqa: E402

NODE_NAMES = ["c1", "c2", "c3", "b101", "b102", "b103"]
PARTS = 3


# ---------------------------------------------------------------------------- the schedule
def make_schedule(seed, duration):
    """[(start, lane, kind, params, length)], from the seed alone."""
    rng = random.Random(seed)
    events = []
    t = rng.uniform(1, 3)
    while t < duration - 1:
        kind = rng.choice(["kill", "kill", "pause"])
        length = rng.uniform(1, 6)
        events.append((t, "process", kind, {"node": rng.choice(NODE_NAMES)}, min(length, duration - t)))
        t += length + rng.uniform(0.5, 3)
    t = rng.uniform(1, 4)
    while t < duration - 1:
        kind = rng.choice(["isolate", "partition", "one-way", "latency", "loss"])
        length = min(rng.uniform(2, 8), duration - t)
        if kind == "isolate":
            params = {"node": rng.choice(NODE_NAMES)}
        elif kind == "partition":
            minority = sorted(rng.sample(NODE_NAMES, rng.choice([2, 3])), key=NODE_NAMES.index)
            params = {"minority": minority}
        elif kind == "one-way":
            a, b = rng.sample(NODE_NAMES, 2)
            params = {"from": a, "to": b}
        elif kind == "latency":
            params = {"nodes": sorted(rng.sample(NODE_NAMES, rng.randint(1, 3)), key=NODE_NAMES.index),
                      "ms": rng.randint(20, 150), "jitter": rng.randint(0, 20)}
        else:
            params = {"nodes": sorted(rng.sample(NODE_NAMES, rng.randint(1, 3)), key=NODE_NAMES.index),
                      "pct": rng.randint(2, 15)}
        events.append((t, "network", kind, params, length))
        t += length + rng.uniform(1, 3)
    return sorted(events, key=lambda e: e[0])


def describe(kind, params):
    if kind in ("kill", "pause", "isolate"):
        return f"{kind} {params['node']}"
    if kind == "partition":
        return f"partition {params['minority']} | rest"
    if kind == "one-way":
        return f"one-way cut {params['from']} -> {params['to']}"
    if kind == "latency":
        return f"latency {params['ms']}ms±{params['jitter']} on {params['nodes']}"
    return f"loss {params['pct']}% on {params['nodes']}"


class Timeline:
    def __init__(self):
        self.t0 = time.monotonic()
        self.lines = []
        self.lock = threading.Lock()

    def __call__(self, msg):
        with self.lock:
            self.lines.append(f"{time.monotonic() - self.t0:7.2f}s  {msg}")

    def text(self):
        with self.lock:
            return "\n".join(self.lines)


# ---------------------------------------------------------------------------- faults
class Faults:
    def __init__(self, cluster, net, timeline):
        self.c, self.net, self.tl = cluster, net, timeline
        self.killed_by_us = set()

    def node(self, name):
        return self.c.node(name)

    def start(self, kind, params):
        if kind == "kill":
            n = self.node(params["node"])
            n.kill9()
            self.killed_by_us.add(n.name)
        elif kind == "pause":
            self.node(params["node"]).pause()
        elif kind == "isolate":
            n = self.node(params["node"])
            others = [m.ip for m in self.c.nodes if m is not n] + [self.net.client_ip]
            self.net.block(n.index, others)
        elif kind == "partition":
            a = [self.node(x) for x in params["minority"]]
            b = [m for m in self.c.nodes if m not in a]
            for side, other in ((a, b), (b, a)):
                for n in side:
                    self.net.block(n.index, [m.ip for m in other])
        elif kind == "one-way":
            self.net.block(self.node(params["from"]).index, [self.node(params["to"]).ip], "out")
        elif kind == "latency":
            for x in params["nodes"]:
                self.net.delay(self.node(x).index, params["ms"], params["jitter"])
        elif kind == "loss":
            for x in params["nodes"]:
                self.net.loss(self.node(x).index, params["pct"])

    def end(self, kind, params):
        if kind == "kill":
            n = self.node(params["node"])
            n.start()
            self.killed_by_us.discard(n.name)
        elif kind == "pause":
            self.node(params["node"]).resume()
        else:
            self.net.heal_all()

    def heal_everything(self):
        self.net.heal_all()
        for n in self.c.nodes:
            n.resume()
        for n in self.c.nodes:
            if not n.alive():
                if n.name not in self.killed_by_us:
                    self.tl(f"{n.name} had exited by itself (status {n.proc.returncode})")
                n.start()
                self.killed_by_us.discard(n.name)


def run_schedule(schedule, faults, timeline, duration):
    actions = []
    for (t, lane, kind, params, length) in schedule:
        actions.append((t, 0, "start", kind, params))
        actions.append((t + length, 1, "end", kind, params))
    actions.sort(key=lambda a: (a[0], a[1]))
    t0 = time.monotonic()
    for (t, _, what, kind, params) in actions:
        delay = t - (time.monotonic() - t0)
        if delay > 0:
            time.sleep(delay)
        timeline(f"{what:5s} {describe(kind, params)}")
        try:
            faults.start(kind, params) if what == "start" else faults.end(kind, params)
        except Exception as e:  # noqa: BLE001 - recorded; the run goes on
            timeline(f"      fault action failed: {e}")
    rest = duration - (time.monotonic() - t0)
    if rest > 0:
        time.sleep(rest)


# ---------------------------------------------------------------------------- one run
def wait_group_caught_up(bootstrap, group, topic, ends, timeout):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **wl.QUIET})
    try:
        deadline = time.time() + timeout
        got = {}
        while time.time() < deadline:
            try:
                res = c.committed([TopicPartition(topic, p) for p in ends], timeout=5)
                got = {tp.partition: tp.offset for tp in res}
                if all(got.get(p, -1) >= e for p, e in ends.items()):
                    return True, got
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.5)
        return False, got
    finally:
        c.close()


def metadata_convergence(cluster, timeout=45):
    """Polls until metadata-diff of c1's image against every other node's is
    empty (or the timeout); returns {node: last diff output}."""
    ref = cluster.nodes[0]
    deadline = time.time() + timeout
    while True:
        diffs = {}
        for n in cluster.nodes[1:]:
            p = tool("metadata-diff", ref.metadata_dir, n.metadata_dir, check=False, timeout=60)
            diffs[n.name] = p.stdout + (p.stderr if p.returncode else "")
        if all("No changes." in d for d in diffs.values()) or time.time() > deadline:
            return diffs
        time.sleep(1)


def image_topics(node):
    out = tool("metadata-shell", "--directory", node.metadata_dir, "ls", "/image/topics/byName", timeout=60).stdout
    return [x for x in out.split() if x]


def run_one(seed, duration, keep=False, log=print, client_debug=False):
    timeline = Timeline()
    schedule = make_schedule(seed, duration)
    workdir = tempfile.mkdtemp(prefix=f"flotilla-chaos-{seed}-")
    wl.CLIENT_LOG_DIR = workdir if client_debug else None
    net = Network(len(NODE_NAMES), log=timeline)
    cluster = None
    violations = []
    started = time.monotonic()
    loads = []
    try:
        net.create()
        cluster = ChaosCluster(net, workdir)
        cluster.start(timeout=60)
        timeline("cluster up")
        boot = cluster.bootstrap
        wl.create_topics(boot, [("chaos-idem", PARTS, {"min.insync.replicas": "2"}),
                                ("chaos-txn-in", PARTS, {"min.insync.replicas": "2"}),
                                ("chaos-txn-out", PARTS, {"min.insync.replicas": "2"})])
        producer = wl.IdempotentProducer(boot, timeline, seed * 10 + 1, "chaos-idem", PARTS, rate=225)
        feeder = wl.IdempotentProducer(boot, timeline, seed * 10 + 2, "chaos-txn-in", PARTS, rate=80)
        group = wl.GroupConsumers(boot, timeline, seed * 10 + 3, "chaos-idem", PARTS)
        txn = wl.TxnProcessor(boot, timeline, seed * 10 + 4, "chaos-txn-in", "chaos-txn-out", PARTS)
        meta = wl.MetadataChurn(boot, timeline, seed * 10 + 5)
        loads = [producer, feeder, group, txn, meta]
        for w in loads:
            w.start()
        time.sleep(1)
        timeline(f"workloads started; {len(schedule)} faults over {duration:.0f}s")
        faults = Faults(cluster, net, timeline)
        run_schedule(schedule, faults, timeline, duration)
        faults.heal_everything()
        timeline("healed: rules flushed, nodes resumed / restarted")
        cluster.wait_brokers_registered(90)
        for n in cluster.nodes:
            n.wait_listening(30)
        timeline("all nodes up")
        # Writers stop (flush bounded by 60 s), then the readers catch up.
        for w in (producer, feeder, meta):
            w.stopping.set()
        for w in (producer, feeder, meta):
            w.join(90)
            if w.is_alive():
                violations.append(f"{w.name}: did not stop in 90 s")
        timeline(f"writers stopped: idem {producer.summary()}; feeder {feeder.summary()}; metadata {meta.summary()}")
        idem_log, idem_ends = wl.read_partitions(boot, "chaos-idem", range(PARTS))
        in_log, in_ends = wl.read_partitions(boot, "chaos-txn-in", range(PARTS))
        grp_ok, _ = wait_group_caught_up(boot, group.group, "chaos-idem", idem_ends, 60)
        txn_ok, txn_committed = wait_group_caught_up(boot, txn.group, "chaos-txn-in", in_ends, 60)
        timeline(f"readers caught up: group {grp_ok}, txn processor {txn_ok} ({txn_committed} of {in_ends})")
        for w in (group, txn):
            w.stopping.set()
        for w in (group, txn):
            w.join(60)
            if w.is_alive():
                violations.append(f"{w.name}: did not stop in 60 s")
        timeline(f"readers stopped: group {group.summary()}; txn {txn.summary()}")
        for w in loads:
            if w.error:
                violations.append(f"{w.name}: workload failed: {w.error!r}")

        # ---- checkers
        v = checkers.check_idempotent_producer(producer.acked, idem_log)
        v += checkers.check_idempotent_producer(feeder.acked, in_log)
        for w in (producer, feeder):
            v += [f"{w.name}: fatal error {e}" for e in checkers.unexplained_fatal_errors(w.fatal_errors, libversion()[0])]
        violations += [f"idempotent producer: {x}" for x in v]
        final = group.final_committed()
        v = checkers.check_committed_offsets(group.acked_commits, wl.read_group_commits(boot, group.group, "chaos-idem"))
        stale = checkers.stale_offset_reads(group.observations, group.acked_commits)
        if stale:
            timeline(f"group: {stale} committed-offset reads older than an acknowledged commit (a coordinator cut "
                     f"off from the controllers answers from its cache until it learns otherwise, as Kafka's)")
        v += checkers.check_consumed_at_least_once(group.consumed, idem_ends, final)
        violations += [f"consumer group: {x}" for x in v]
        out_log, _ = wl.read_partitions(boot, "chaos-txn-out", range(PARTS), isolation="read_committed")
        outputs = [val for recs in out_log.values() for _, val in recs]
        inputs = [val for recs in in_log.values() for _, val in recs]
        v = checkers.check_transactions(txn.txns, outputs, inputs, processed_all=txn_ok)
        if not txn_ok:
            v.append(f"processor's committed offsets {txn_committed} never reached the input's end {in_ends}")
        violations += [f"transactions: {x}" for x in v]
        diffs = metadata_convergence(cluster)
        v = checkers.check_metadata(diffs, image_topics(cluster.nodes[0]),
                                    meta.created_ok - meta.delete_tried, meta.deleted_ok)
        violations += [f"metadata: {x}" for x in v]
        timeline(f"checked: {len(violations)} violations")
    except Exception:  # noqa: BLE001 - a harness failure fails the run
        violations.append("run aborted: " + traceback.format_exc())
    finally:
        for w in loads:
            w.stopping.set()
        if cluster:
            cluster.stop()
        for w in loads:
            w.join(30)
        net.close()
    elapsed = time.monotonic() - started
    ok = not violations
    report = [f"chaos seed {seed}: {'PASS' if ok else 'FAIL'} ({elapsed:.0f} s, {duration:.0f} s of faults)"]
    if not ok:
        report.append("violations:")
        report += ["  - " + x.replace("\n", "\n    ") for x in violations]
        report.append(f"fault timeline (seed {seed}):")
        report.append(timeline.text())
        report.append(f"replay: FLOTILLA_BIN={BIN} /usr/bin/python3 {os.path.join(HERE, 'chaos.py')} "
                      f"--runs 1 --seed {seed} --duration {duration:g}")
        report.append(f"node logs kept in {workdir}")
    with open(os.path.join(workdir, "timeline.txt"), "w") as f:
        f.write(timeline.text() + "\n")
    if ok and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    log("\n".join(report))
    return ok, violations, timeline.text(), elapsed


def duration_for(seed, given):
    return given if given else random.Random(seed ^ 0x5EED).uniform(30, 60)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    ap.add_argument("--duration", type=float, default=None, help="seconds of faults (default: 30-60 from the seed)")
    ap.add_argument("--keep", action="store_true", help="keep every run's logs")
    ap.add_argument("--client-debug", action="store_true",
                    help="the producers' librdkafka debug logs in the run's directory (client-<name>.log); "
                         "logging slows the clients, so a replay with it is not the same run")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("chaos: needs root (ip netns, nft, iptables)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    # A SIGTERM / Ctrl-C still cleans up (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = []
    for r in range(args.runs):
        s = seed + r
        ok, _, _, elapsed = run_one(s, duration_for(s, args.duration), keep=args.keep, client_debug=args.client_debug)
        results.append((s, ok, elapsed))
    failed = [s for s, ok, _ in results if not ok]
    print(f"chaos: {len(results) - len(failed)} passed, {len(failed)} failed"
          + (f" (seeds {failed})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
