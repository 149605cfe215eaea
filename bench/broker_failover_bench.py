#!/usr/bin/env python3
"""Broker failover benchmark with real processes on 127.0.0.1: 3 controllers
(ids 1..3) and 3 brokers (ids 100..102), one topic of --partitions partitions
with RF=3 (3,000 by default: each broker leads about 1,000).

For each session timeout of --session-timeouts (Kafka's default 9000 ms and a
short one), on a fresh cluster:

1. Creation: CreateTopics answered, every partition has a leader, every ISR
   is full (in a broker's Metadata; the last wait is bounded by
   --isr-timeout and the rest is measured anyway).
2. kill -9 of the broker leading the most partitions at T0; raw Metadata is
   polled on a survivor every 20 ms until every partition it led has a new
   leader (T_leaders), then one Produce (acks=all) per new leader carries a
   record for each of those partitions, repeated for the ones that fail,
   until every one succeeded (T_produce).
3. (first cluster only, unless --no-shutdown) the killed broker restarts and
   rejoins the ISRs; then a SIGTERM (controlled shutdown) of the broker that
   leads the most partitions: time until its partitions have other leaders
   and until the process exits (and its exit code).

Prints a table and with --out F writes the results as JSON to F. Every wait is bounded;
only the processes started here are stopped, by PID. Usage:
  bench/broker_failover_bench.py --bin build/flotilla [--partitions 3000] [--session-timeouts 9000,3000]
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def log(*a):
    print(*a, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flotilla"))
    ap.add_argument("--partitions", type=int, default=3000)
    ap.add_argument("--session-timeouts", default="9000,3000",
                    help="broker.session.timeout.ms values, one fresh cluster each (Kafka's default: 9000)")
    ap.add_argument("--heartbeat-ms", type=int, default=0,
                    help="broker.heartbeat.interval.ms (0: Kafka's 2000 for a 9000 ms session, else session/6)")
    ap.add_argument("--create-timeout", type=float, default=600)
    ap.add_argument("--timeout", type=float, default=180, help="bound of each measured phase")
    ap.add_argument("--isr-timeout", type=float, default=120,
                    help="bound of the wait for every ISR to be full after the creation (then measured anyway)")
    ap.add_argument("--rejoin-timeout", type=float, default=60,
                    help="bound of the wait for the restarted broker to rejoin every ISR before the SIGTERM")
    ap.add_argument("--no-shutdown", action="store_true", help="skip the controlled-shutdown measurement")
    ap.add_argument("--log-level", default="warn", help="log.level of the nodes")
    ap.add_argument("--keep-logs", action="store_true",
                    help="copy the nodes' logs to <out>.logs/ (done anyway when a run fails)")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    os.environ["FLOTILLA_BIN"] = binary
    import conftest
    conftest.BIN = binary
    import replication_util as ru

    results = {"partitions": args.partitions, "runs": []}
    for i, st in enumerate(int(x) for x in args.session_timeouts.split(",") if x.strip()):
        hb = args.heartbeat_ms or (2000 if st >= 9000 else max(100, st // 6))
        extra = dict(ru.REPL_EXTRA)
        extra.update({"broker.session.timeout.ms": str(st), "broker.heartbeat.interval.ms": str(hb),
                      "log.level": args.log_level})
        with tempfile.TemporaryDirectory(prefix="flotilla-failover-bench-") as d:
            c = conftest.Cluster(d, controllers=3, brokers=3, extra=extra)
            row = {"session_timeout_ms": st, "heartbeat_ms": hb}
            try:
                c.start()
                run_one(c, ru, args, st, row, shutdown=(i == 0 and not args.no_shutdown))
            except Exception as e:  # noqa: BLE001 - reported in the results, the other runs go on
                row["error"] = f"{type(e).__name__}: {e}"[:2000]
                log("ERROR:", row["error"])
            finally:
                c.stop()
                if row.get("error") or row.get("shutdown_error") or row.get("rejoin_error") or args.keep_logs:
                    keep = os.path.abspath(f"{args.out or 'broker-failover-bench'}.logs/session-{st}")
                    os.makedirs(keep, exist_ok=True)
                    for node in c.nodes:
                        shutil.copy(node.log_path, os.path.join(keep, f"node-{node.node_id}.log"))
                    row["logs"] = keep
        results["runs"].append(row)
        log(json.dumps(row))

    log()
    log(f"RF=3, {args.partitions} partitions over 3 brokers, 3 controllers")
    log(f"{'session ms':>10} {'create s':>9} {'led s':>6} {'ISR s':>6} {'led':>5} {'leaders s':>10} {'produce ok s':>13}")
    for r in results["runs"]:
        log(f"{r['session_timeout_ms']:>10} {fmt(r.get('create_ack_s')):>9} {fmt(r.get('create_leaders_s')):>6} "
            f"{fmt(r.get('create_ready_s')):>6} "
            f"{r.get('victim_led', '-'):>5} {fmt(r.get('failover_leaders_s')):>10} {fmt(r.get('failover_produce_s')):>13}")
    for r in results["runs"]:
        if r.get("error"):
            log(f"session {r['session_timeout_ms']} ms: ERROR {r['error'][:600]}" +
                (f" (logs: {r['logs']})" if r.get("logs") else ""))
    for r in results["runs"]:
        if "shutdown_exit_s" in r or "shutdown_error" in r:
            log(f"controlled shutdown (SIGTERM) of broker {r.get('shutdown_broker')} leading "
                f"{r.get('shutdown_led')} partitions: leaders moved {fmt(r.get('shutdown_moved_s'))} s, "
                f"exit {fmt(r.get('shutdown_exit_s'))} s (code {r.get('shutdown_exit_code')})"
                + (f"; {r['shutdown_error']}" if r.get("shutdown_error") else ""))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


def fmt(v):
    return "-" if v is None else f"{v:.2f}"


def run_one(c, ru, args, st, row, shutdown):
    """Fills `row` with what it measures."""
    from confluent_kafka.admin import AdminClient, NewTopic
    topic, n = "failover", args.partitions
    view = c.brokers[0]
    a = AdminClient({"bootstrap.servers": ru.bootstrap_of(c.brokers)})
    t0 = time.time()
    fs = a.create_topics([NewTopic(topic, num_partitions=n, replication_factor=3)],
                         operation_timeout=args.create_timeout, request_timeout=args.create_timeout + 10)
    try:
        fs[topic].result(args.create_timeout + 20)
    finally:
        del fs, a  # no admin client left behind to hold the interpreter's exit
    row["create_ack_s"] = time.time() - t0
    ru.wait_for(f"a leader for each of the {n} partitions", lambda: all_led(ru, view, topic, n), args.create_timeout,
                interval=0.2)
    row["create_leaders_s"] = time.time() - t0
    try:
        ru.wait_isr_full(view, topic, n, 3, timeout=args.isr_timeout)
        row["create_ready_s"] = time.time() - t0
    except AssertionError as e:  # measured anyway, from the ISRs there are
        ps = ru.partitions(view.bootstrap, topic, timeout=30)
        sizes = {}
        for v in ps.values():
            sizes[len(v["isr"])] = sizes.get(len(v["isr"]), 0) + 1
        row["isr_not_full"] = f"{e}"[:300] + f"; partitions by ISR size: {sizes}"
        log("WARNING:", row["isr_not_full"])
    log(f"[session {st} ms] {n} partitions created in {row['create_ack_s']:.2f}s, all led after "
        f"{row['create_leaders_s']:.2f}s, all ISRs full after {fmt(row.get('create_ready_s'))}s")

    # kill -9 of the broker that leads the most partitions (every partition led at that moment).
    t_wait = time.time()
    ru.wait_for(f"a leader for each of the {n} partitions before the kill",
                lambda: all_led(ru, view, topic, n), args.timeout, interval=0.2)
    if time.time() - t_wait > 1:
        row["leaderless_before_kill_s"] = time.time() - t_wait
    ps = ru.partitions(view.bootstrap, topic, timeout=30)
    counts = {b.node_id: len(ru.leaders_of(ps, b.node_id)) for b in c.brokers}
    isr_sizes = {}
    for v in ps.values():
        isr_sizes[len(v["isr"])] = isr_sizes.get(len(v["isr"]), 0) + 1
    victim_id = max(counts, key=counts.get)
    victim = next(b for b in c.brokers if b.node_id == victim_id)
    survivor = next(b for b in c.brokers if b.node_id != victim_id)
    led = ru.leaders_of(ps, victim_id)
    row.update(victim=victim_id, victim_led=len(led), leaders_per_broker=counts, isr_sizes_at_kill=isr_sizes)
    if isr_sizes.get(1):
        log(f"WARNING: at the kill {isr_sizes[1]} partitions have an ISR of 1: those the victim leads will go offline")
    if not led:
        raise AssertionError(f"no broker leads any partition: {counts}")
    # A partition whose ISR is the victim alone goes offline (no unclean
    # election, as in Kafka): counted, not waited for.
    offline = [p for p in led if ps[p]["isr"] == [victim_id]]
    expect = [p for p in led if p not in offline]
    row["offline_expected"] = len(offline)
    victim.kill9()
    t0 = time.time()
    new, state = None, None
    while time.time() < t0 + args.timeout:
        try:
            new, state = moved_state(ru, survivor, topic, victim_id, expect)
        except (OSError, ValueError) as e:
            state = repr(e)
        if new is not None:
            break
        time.sleep(0.02)
    if new is None:
        raise AssertionError(f"of the {len(expect)} partitions broker {victim_id} led (with another replica in "
                             f"the ISR) some have no new leader after {args.timeout}s; survivor "
                             f"{survivor.node_id} sees: {state}")
    row["failover_leaders_s"] = time.time() - t0
    pending = {p: new[p] for p in expect}
    tries = 0
    deadline = t0 + args.timeout
    while pending and time.time() < deadline:
        tries += 1
        by_leader = {}
        for p, leader in pending.items():
            by_leader.setdefault(leader, []).append(p)
        addr = {b.node_id: b.bootstrap for b in c.brokers}
        for leader, parts in by_leader.items():
            if leader not in addr:  # no leader (-1) at the moment: ask again next round
                continue
            try:
                res = ru.produce_many(addr[leader], topic, {p: [b"failover-probe"] for p in parts}, acks=-1,
                                      timeout_ms=10000)
            except (OSError, ValueError) as e:
                row["last_produce_error"] = repr(e)
                continue
            for p, (err, _) in res.items():
                if err == 0:
                    pending.pop(p, None)
                else:
                    row["last_produce_error"] = f"partition {p}: error {err}"
        if pending:
            time.sleep(0.05)
            try:  # leaders may have changed again
                cur = ru.partitions(survivor.bootstrap, topic, timeout=10)
                pending = {p: cur[p]["leader"] for p in pending if p in cur}
            except (OSError, ValueError):
                pass
    row["produce_rounds"] = tries
    if pending:
        row["error"] = f"{len(pending)} partitions still refused a produce after {args.timeout}s " \
                       f"({row.get('last_produce_error')})"
    else:
        row["failover_produce_s"] = time.time() - t0
    if offline:
        msg = f"{len(offline)} of the {len(led)} partitions broker {victim_id} led went offline: " \
              f"their ISR was the victim alone (e.g. {offline[:5]})"
        row["error"] = "; ".join(x for x in (row.get("error"), msg) if x)
    log(f"[session {st} ms] kill -9 of broker {victim_id} leading {len(led)}: new leaders after "
        f"{row['failover_leaders_s']:.2f}s, a produce to each succeeded after {fmt(row.get('failover_produce_s'))}s")

    if shutdown:
        try:
            controlled_shutdown(c, ru, args, topic, n, victim, row)
        except Exception as e:  # noqa: BLE001
            row["shutdown_error"] = f"{type(e).__name__}: {e}"[:2000]


def all_led(ru, view, topic, n):
    ps = ru.partitions(view.bootstrap, topic, timeout=30)
    return len(ps) == n and all(v["leader"] >= 0 for v in ps.values())


def moved_state(ru, survivor, topic, victim_id, led):
    """({partition: new leader} once every one of `led` has a leader other
    than the victim, else None; a summary of the partitions not there yet)."""
    ps = ru.partitions(survivor.bootstrap, topic, timeout=10)
    out, stuck = {}, {}
    for p in led:
        v = ps.get(p)
        if v is None or v["leader"] < 0 or v["leader"] == victim_id:
            stuck[p] = v
        else:
            out[p] = v["leader"]
    if not stuck:
        return out, None
    kinds = {}
    for v in stuck.values():
        k = "unknown" if v is None else "no leader" if v["leader"] < 0 else "still the victim"
        kinds[k] = kinds.get(k, 0) + 1
    sample = dict(list(stuck.items())[:5])
    return None, f"{len(stuck)} not moved ({kinds}); e.g. {sample}"


def moved(ru, survivor, topic, victim_id, led):
    ps = ru.partitions(survivor.bootstrap, topic, timeout=10)
    out = {}
    for p in led:
        v = ps.get(p)
        if v is None or v["leader"] < 0 or v["leader"] == victim_id:
            return None
        out[p] = v["leader"]
    return out


def controlled_shutdown(c, ru, args, topic, n, restarted, row):
    restarted.start(wait=False)
    restarted.wait_ready(timeout=120)
    t0 = time.time()
    try:
        ru.wait_isr_full(c.brokers[0] if c.brokers[0] is not restarted else c.brokers[1], topic, n, 3,
                         timeout=args.rejoin_timeout)
        row["rejoin_s"] = time.time() - t0
    except AssertionError as e:
        row["rejoin_error"] = str(e)[:500]  # measure the shutdown anyway
    view = next(b for b in c.brokers if b is not restarted)
    ps = ru.partitions(view.bootstrap, topic, timeout=30)
    counts = {b.node_id: len(ru.leaders_of(ps, b.node_id)) for b in c.brokers}
    sid = max(counts, key=counts.get)
    node = next(b for b in c.brokers if b.node_id == sid)
    watcher = next(b for b in c.brokers if b.node_id != sid)
    led = ru.leaders_of(ps, sid)
    row.update(shutdown_broker=sid, shutdown_led=len(led))
    node.proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    deadline = t0 + args.timeout
    t_moved = t_exit = None
    while time.time() < deadline and (t_moved is None or t_exit is None):
        if t_exit is None and node.proc.poll() is not None:
            t_exit = time.time()
        if t_moved is None:
            try:
                if moved(ru, watcher, topic, sid, led):
                    t_moved = time.time()
            except (OSError, ValueError):
                pass
        time.sleep(0.02)
    row["shutdown_exit_s"] = None if t_exit is None else t_exit - t0
    row["shutdown_moved_s"] = None if t_moved is None else t_moved - t0
    row["shutdown_exit_code"] = node.proc.returncode
    log(f"controlled shutdown of broker {sid} leading {len(led)}: leaders moved {fmt(row['shutdown_moved_s'])}s, "
        f"exit {fmt(row['shutdown_exit_s'])}s (code {node.proc.returncode})")
    problems = []
    if t_moved is None:
        problems.append(f"broker {watcher.node_id} never saw the {len(led)} partitions led elsewhere "
                        f"within {args.timeout}s")
    if t_exit is None:
        problems.append(f"no exit within {args.timeout}s of SIGTERM")
        node.kill9()
    if problems:
        row["shutdown_error"] = "; ".join(problems)


if __name__ == "__main__":
    main()
