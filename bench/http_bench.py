#!/usr/bin/env python3
"""HTTP listener benchmark (issue 18, "Performance"): what serving /metrics,
the REST API and the console costs the broker.

(a) scrape: a node with --topics x --partitions partitions (default 100 x 100
    = 10,000, RF 1): the time of `GET /metrics` (median and p99 of --scrapes
    scrapes; goal < 50 ms), and the p99 produce latency of a librdkafka
    producer (confluent_kafka, fixed rate) without scrapes and with one scrape
    a second, in alternating phases of the same run (goal: within 5%).
(b) wrk: `wrk` against REST/console reads (/v3/clusters/{id}/topics when the
    REST routes exist, /metrics, /) while `flotilla perf produce` runs at a
    fixed offered rate: requests/s (goal >= 2,000), and the produce MB/s, p99
    and broker CPU per MB with and without the wrk load (goal: within 5%).
(c) metrics overhead: produce throughput of --bin against --bin-nometrics
    (built with -DFLOTILLA_METRICS=OFF), alternating, --rounds rounds; the
    ratio of the medians (goal >= 97%), with broker CPU seconds per MB.

Starts its own servers on free 127.0.0.1 ports in temporary directories and
stops them (by PID) when done. Prints one JSON line per measurement and, with
--out F, writes all results as JSON to F. --only a,b,c picks parts.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_bench  # noqa: E402
from e2e_bench import cpu_seconds, free_port  # noqa: E402


def percentile(values, q):
    v = sorted(values)
    if not v:
        return None
    return v[min(len(v) - 1, max(0, int(round(q * len(v) + 0.5)) - 1))]


def emit(results, part, row):
    row = {"part": part, **row}
    results.setdefault(part, []).append(row)
    print(json.dumps(row), flush=True)


class Server(e2e_bench.Server):
    """e2e_bench's node with an HTTP listener on a free port."""

    def __init__(self, binary, workdir, extra=""):
        self.hport = free_port()
        super().__init__(binary, workdir, f"http.listeners=http://127.0.0.1:{self.hport}\n{extra}")
        with open(os.path.join(workdir, "data", "meta.properties")) as f:
            self.cluster_id = dict(l.strip().split("=", 1) for l in f if "=" in l)["cluster.id"]

    def start(self):
        super().start()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.dir}/server.log")
            try:
                socket.create_connection(("127.0.0.1", self.hport), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the HTTP listener did not open")

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    @property
    def http(self):
        return f"http://127.0.0.1:{self.hport}"

    def tool(self, *args, timeout=120):
        return subprocess.run([self.binary, *args], check=True, capture_output=True, text=True, timeout=timeout)

    def create_topic(self, topic, partitions):
        self.tool("topics", "--bootstrap-server", self.bootstrap, "--create", "--topic", topic, "--partitions",
                  str(partitions), "--replication-factor", "1")

    def delete_topic(self, topic):
        self.tool("topics", "--bootstrap-server", self.bootstrap, "--delete", "--topic", topic)
        deadline = time.time() + 30
        while os.path.exists(os.path.join(self.dir, "data", f"{topic}-0")) and time.time() < deadline:
            time.sleep(0.05)


def get(url, timeout=30):
    """(status, body bytes, seconds) of one GET on a fresh connection."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return status, body, time.perf_counter() - t0


def run_json(cmd, timeout):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    for line in reversed(out.stdout.strip().splitlines()):
        if line.strip().startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON result from " + " ".join(cmd))


def perf_produce(srv, topic, records, size, throughput=-1):
    """`flotilla perf produce` (acks=1): its JSON result plus the broker's CPU seconds per MB."""
    cpu0 = srv.cpu()
    p = run_json([srv.binary, "perf", "produce", "--bootstrap-server", srv.bootstrap, "--topic", topic, "--num-records",
                  str(records), "--record-size", str(size), "--throughput", str(throughput), "--producer-props", "acks=1",
                  "--json"], timeout=900)
    mb = records * size / 1e6
    p["broker_cpu_s_per_MB"] = (srv.cpu() - cpu0) / mb
    return p


# --- (a) /metrics on 10,000 partitions, produce p99 with and without a 1/s scrape ---------------------------------

def scrape_loop(url, scrapes, stop, windows=None):
    """GET url once a second until stop is set, appending each 200's seconds to scrapes (and its
    (start, end) in time.monotonic() seconds, CLOCK_MONOTONIC, to windows if given). One kept-alive
    connection, as Prometheus scrapes: a process spawned per scrape (curl, as before) cost the
    produce p99 as much as the scrape itself (+7.9 % scraping a 1 ms route). Used only with
    bench/rdkafka_load as the producer (another process): a Python producer in this process would
    have its callbacks delayed while this thread holds the GIL reading 2 MB."""
    import http.client
    from urllib.parse import urlsplit
    u = urlsplit(url)
    conn = None
    while not stop.wait(1.0):
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            conn.request("GET", u.path or "/")
            resp = conn.getresponse()
            resp.read()
            code = resp.status
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
            continue
        t1 = time.monotonic()
        if code == 200:
            scrapes.append(t1 - t0)
            if windows is not None:
                windows.append((t0, t1))
    if conn is not None:
        conn.close()


def make_producer(bootstrap, topic):
    """A connected librdkafka producer (metadata known, connections open) for latency_phase."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 1, "enable.idempotence": False})
    for i in range(64):
        p.produce(topic, b"warm", partition=i % 8)
    p.flush(30)
    return p


RDKAFKA_LOAD = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bench", "rdkafka_load")


def latency_phase(p, topic, seconds, rate, size, scrape_url=None):
    """Produces `rate` records/s for `seconds` with producer p; returns (p50, p99 ms, records, scrape times).

    With bench/rdkafka_load built (`make bench`), the records are produced by
    it instead (librdkafka in C, its own process): a Python producer's GIL and
    interpreter add milliseconds of jitter to the p99 it measures. `p` is then
    a dict {"bootstrap": ...}."""
    scrapes = []
    stop = threading.Event()
    if isinstance(p, dict):
        windows = p.setdefault("windows", [])
        t = threading.Thread(target=scrape_loop, args=(scrape_url, scrapes, stop, windows), daemon=True) if scrape_url else None
        if t:
            t.start()
        lat_file = tempfile.mktemp(prefix="rdkafka-lat-")
        out = subprocess.run([RDKAFKA_LOAD, "--bootstrap", p["bootstrap"], "--topic", topic, "--partitions", "8",
                              "--size", str(size), "--seconds", str(seconds), "--rate", str(rate), "--acks", "1",
                              "--linger-ms", "1", "--latencies-out", lat_file], capture_output=True, text=True,
                             timeout=seconds + 120)
        stop.set()
        if t:
            t.join()
        r = json.loads(out.stdout)
        # Every record's (sent, latency ms), pooled by the caller across phases.
        with open(lat_file) as f:
            p.setdefault("samples", []).append([(float(a), float(b) / 1000) for a, b in (line.split() for line in f)])
        os.unlink(lat_file)
        return r["p50_ms"], r["p99_ms"], r["delivered"], scrapes
    lat = []
    payload = b"x" * size

    def cb(sent):
        return lambda err, msg: None if err else lat.append(time.perf_counter() - sent)

    t = threading.Thread(target=scrape_loop, args=(scrape_url, scrapes, stop), daemon=True) if scrape_url else None
    if t:
        t.start()
    start = time.perf_counter()
    n = 0
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        due = start + n / rate
        if now < due:
            p.poll(min(due - now, 0.01))
            continue
        p.produce(topic, payload, partition=n % 8, on_delivery=cb(time.perf_counter()))
        n += 1
        p.poll(0)
    p.flush(30)
    stop.set()
    if t:
        t.join()
    ms = [x * 1000 for x in lat]
    return statistics.median(ms), percentile(ms, 0.99), len(ms), scrapes


def scrape_times(srv, n):
    get(srv.http + "/metrics")  # warm
    times, body = [], b""
    for _ in range(n):
        status, body, secs = get(srv.http + "/metrics")
        assert status == 200, status
        times.append(secs * 1000)
        time.sleep(0.2)
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    return times, len(body), series


def part_scrape(args, results):
    # Segments hold no descriptor while idle (storage/fd_cache.h): 10,000
    # partitions fit any RLIMIT_NOFILE the node starts with.
    topics = args.topics
    checkpoints = sorted({max(1, topics // 3), max(1, 2 * topics // 3), topics})
    work = tempfile.mkdtemp(prefix="flotilla-httpbench-a-")
    srv = Server(args.bin, work, "num.network.threads=2").start()
    try:
        t0 = time.time()
        created = 0
        for cp in checkpoints:
            while created < cp:
                srv.create_topic(f"t{created:03d}", args.partitions)
                created += 1
            total = created * args.partitions
            # Wait until the broker hosts every partition (its log directories exist).
            deadline = time.time() + 600
            while time.time() < deadline:
                if srv.proc.poll() is not None:
                    raise RuntimeError(f"the server exited: see {work}/server.log")
                n = sum(1 for d in os.listdir(os.path.join(work, "data")) if d.startswith("t") and "-" in d)
                if n >= total:
                    break
                time.sleep(0.5)
            times, size, series = scrape_times(srv, args.scrapes)
            emit(results, "scrape", {"partitions": total, "setup_s": round(time.time() - t0, 1), "scrapes": len(times),
                                     "metrics_bytes": size, "series": series,
                                     "scrape_median_ms": round(statistics.median(times), 2),
                                     "scrape_p99_ms": round(percentile(times, 0.99), 2), "goal_ms": 50,
                                     "goal_partitions": args.topics * args.partitions})
        srv.create_topic("lat", 8)
        time.sleep(1)
        producer = {"bootstrap": srv.bootstrap} if os.path.exists(RDKAFKA_LOAD) else make_producer(srv.bootstrap, "lat")
        print(f"latency producer: {'bench/rdkafka_load (librdkafka, C)' if isinstance(producer, dict) else 'confluent_kafka (Python)'}",
              file=sys.stderr)
        latency_phase(producer, "lat", 3, args.lat_rate, args.lat_size)  # warm the produce path
        rows = {"none": [], "scrape_1s": []}
        for r in range(args.lat_rounds):
            for mode in ("none", "scrape_1s"):
                url = srv.http + args.scrape_path if mode == "scrape_1s" else None
                p50, p99, n, scrapes = latency_phase(producer, "lat", args.lat_seconds, args.lat_rate,
                                                     args.lat_size, url)
                rows[mode].append(p99)
                emit(results, "scrape_latency_phase", {"round": r, "mode": mode, "records": n, "p50_ms": round(p50, 3),
                                                       "p99_ms": round(p99, 3), "scrapes": len(scrapes),
                                                       "scrape_median_ms": round(statistics.median(scrapes) * 1000, 2)
                                                       if scrapes else None})
        base, with_scrape = statistics.median(rows["none"]), statistics.median(rows["scrape_1s"])
        row = {"rate": args.lat_rate, "record_size": args.lat_size, "rounds": args.lat_rounds,
               "median_phase_p99_ms_no_scrape": round(base, 3), "median_phase_p99_ms_scrape_1s": round(with_scrape, 3),
               "median_phase_change_pct": round(100 * (with_scrape - base) / base, 1), "goal_pct": 5}
        if isinstance(producer, dict):
            # The p99 of every record of a mode's phases together (the phases alternate, so
            # both modes see the same drift): far steadier than a median of per-phase p99s.
            samples = producer["samples"][1:]  # [0] is the warm-up
            pooled = {m: [x for i, ph in enumerate(samples) if (i % 2 == 0) == (m == "none") for x in ph]
                      for m in ("none", "scrape_1s")}
            p_none = percentile([lat for _, lat in pooled["none"]], 0.99)
            p_scr = percentile([lat for _, lat in pooled["scrape_1s"]], 0.99)
            # Records sent while a scrape ran (from its start to 50 ms after its end) against the rest.
            win = sorted(producer.get("windows", []))
            def in_scrape(t, w=win):
                import bisect
                i = bisect.bisect_right(w, (t, float("inf"))) - 1
                return i >= 0 and w[i][0] <= t <= w[i][1] + 0.05
            during = [lat for t, lat in pooled["scrape_1s"] if in_scrape(t)]
            row.update({"p99_ms_no_scrape": round(p_none, 3), "p99_ms_scrape_1s": round(p_scr, 3),
                        "change_pct": round(100 * (p_scr - p_none) / p_none, 1),
                        "records_per_mode": len(pooled["none"]),
                        "records_sent_during_scrapes": len(during),
                        "p99_ms_sent_during_scrapes": round(percentile(during, 0.99), 3) if during else None})
        else:
            row.update({"p99_ms_no_scrape": round(base, 3), "p99_ms_scrape_1s": round(with_scrape, 3),
                        "change_pct": round(100 * (with_scrape - base) / base, 1)})
        emit(results, "scrape_latency", row)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


# --- (b) wrk against REST/console reads while a producer runs -----------------------------------------------------

def wrk(url, seconds, threads, connections, paths=None):
    """wrk's requests/s, non-2xx count and p99 for url, or for `paths` in turn on url's host (a Lua script)."""
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    script = None
    if paths:
        fd, script = tempfile.mkstemp(suffix=".lua")
        with os.fdopen(fd, "w") as f:
            f.write("paths = {" + ", ".join(json.dumps(p) for p in paths) + "}\n"
                    "i = 0\n"
                    "request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
        cmd += ["-s", script]
    try:
        out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        if script:
            os.unlink(script)
    rps, non2xx, p99 = None, 0, None
    for line in out.stdout.splitlines():
        s = line.strip()
        if s.startswith("Requests/sec:"):
            rps = float(s.split()[1])
        elif s.startswith("Non-2xx or 3xx responses:"):
            non2xx = int(s.split()[-1])
        elif s.startswith("99%"):
            v = s.split()[1]
            p99 = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
    return {"url": url, "paths": paths, "requests_per_sec": rps, "non_2xx": non2xx, "p99_ms": p99}


def part_wrk(args, results):
    work = tempfile.mkdtemp(prefix="flotilla-httpbench-b-")
    srv = Server(args.bin, work).start()
    try:
        for i in range(10):
            srv.create_topic(f"r{i}", 4)
        urls = [srv.http + "/metrics", srv.http + "/"]
        rest = f"{srv.http}/v3/clusters/{srv.cluster_id}/topics"
        if get(rest)[0] == 200:
            urls.insert(0, rest)
        else:
            print(f"note: {rest} is not served on this build; measuring /metrics and / only", file=sys.stderr)
        urls = [u for u in urls if get(u)[0] == 200]
        records = args.wrk_produce_mb * 1_000_000 // args.record_size
        rate = args.wrk_produce_rate
        rounds = {"none": [], "wrk": []}
        r = 0
        for r in range(args.rounds):
            for mode in ("none", "wrk"):
                topic = f"pw-{r}-{mode}"
                srv.create_topic(topic, 8)
                load = []
                th = None
                if mode == "wrk":
                    # One wrk over all the read routes in turn, with fewer connections than HTTP
                    # worker threads (cpp-httplib keeps a worker per kept-alive connection).
                    per = max(3, int(records / rate) + 2) if rate > 0 else 20
                    paths = [u.replace(srv.http, "") for u in urls]
                    th = threading.Thread(target=lambda: load.append(wrk(srv.http, per, 2, args.wrk_connections, paths)))
                    th.start()
                    time.sleep(0.5)
                p = perf_produce(srv, topic, records, args.record_size, rate)
                if th:
                    th.join()
                srv.delete_topic(topic)
                row = {"round": r, "mode": mode, "offered_records_per_sec": rate,
                       "produce_MBps": p.get("mb_per_sec"), "produce_p99_ms": p.get("p99_ms"),
                       "broker_cpu_s_per_MB": round(p["broker_cpu_s_per_MB"], 4), "wrk": load}
                rounds[mode].append(row)
                emit(results, "wrk_phase", row)
        base = statistics.median(x["produce_MBps"] for x in rounds["none"])
        loaded = statistics.median(x["produce_MBps"] for x in rounds["wrk"])
        emit(results, "wrk", {"produce_MBps_no_load": base, "produce_MBps_wrk": loaded,
                              "change_pct": round(100 * (loaded - base) / base, 1),
                              "produce_p99_ms_no_load": statistics.median(x["produce_p99_ms"] for x in rounds["none"]),
                              "produce_p99_ms_wrk": statistics.median(x["produce_p99_ms"] for x in rounds["wrk"]),
                              "paths": [u.replace(srv.http, "") for u in urls],
                              "requests_per_sec": statistics.median(x["wrk"][0]["requests_per_sec"] or 0 for x in rounds["wrk"]),
                              "goal_rps": 2000, "goal_pct": 5})
        # The same reads without a producer: what the listener serves alone.
        for u in urls:
            emit(results, "wrk_alone", wrk(u, args.wrk_seconds, 2, args.wrk_connections))
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


# --- (c) produce throughput with metrics against metrics compiled out ---------------------------------------------

def part_overhead(args, results):
    if not args.bin_nometrics:
        print("part c skipped: no --bin-nometrics", file=sys.stderr)
        return
    servers = {}
    dirs = []
    try:
        for name, binary in (("metrics", args.bin), ("nometrics", args.bin_nometrics)):
            d = tempfile.mkdtemp(prefix=f"flotilla-httpbench-c-{name}-")
            dirs.append(d)
            servers[name] = Server(binary, d).start()
        records = args.overhead_mb * 1_000_000 // args.record_size
        rows = {"metrics": [], "nometrics": []}
        for r in range(args.rounds):
            order = ("metrics", "nometrics") if r % 2 == 0 else ("nometrics", "metrics")
            for name in order:
                srv = servers[name]
                topic = f"ov-{r}"
                srv.create_topic(topic, 8)
                p = perf_produce(srv, topic, records, args.record_size)
                srv.delete_topic(topic)
                row = {"round": r, "binary": name, "produce_MBps": p.get("mb_per_sec"),
                       "produce_p99_ms": p.get("p99_ms"), "broker_cpu_s_per_MB": round(p["broker_cpu_s_per_MB"], 4)}
                rows[name].append(row)
                emit(results, "overhead_round", row)
        on = statistics.median(x["produce_MBps"] for x in rows["metrics"])
        off = statistics.median(x["produce_MBps"] for x in rows["nometrics"])
        emit(results, "overhead", {"record_size": args.record_size, "MB_per_round": args.overhead_mb,
                                   "rounds": args.rounds, "produce_MBps_metrics": on, "produce_MBps_nometrics": off,
                                   "ratio_pct": round(100 * on / off, 1), "goal_pct": 97,
                                   "cpu_s_per_MB_metrics": statistics.median(x["broker_cpu_s_per_MB"] for x in rows["metrics"]),
                                   "cpu_s_per_MB_nometrics": statistics.median(x["broker_cpu_s_per_MB"] for x in rows["nometrics"])})
    finally:
        for s in servers.values():
            s.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/flotilla")
    ap.add_argument("--bin-nometrics", help="a flotilla built with -DFLOTILLA_METRICS=OFF (part c)")
    ap.add_argument("--only", default="a,b,c", help="parts to run: a (scrape), b (wrk), c (metrics overhead)")
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--lat-rate", type=int, default=2000, help="records/s of the latency producer (part a)")
    ap.add_argument("--lat-size", type=int, default=256)
    ap.add_argument("--lat-seconds", type=int, default=10, help="seconds per latency phase")
    ap.add_argument("--lat-rounds", type=int, default=3)
    ap.add_argument("--scrape-path", default="/metrics",
                    help="what the latency phases scrape once a second (a control: /v3/clusters, the same curl without the 2 MB)")
    ap.add_argument("--record-size", type=int, default=1024, help="perf produce record size (parts b, c)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (parts b, c)")
    ap.add_argument("--wrk-produce-mb", type=int, default=200, help="MB produced per phase (part b)")
    ap.add_argument("--wrk-produce-rate", type=int, default=20000,
                    help="offered records/s in part b (-1: as fast as possible)")
    ap.add_argument("--wrk-seconds", type=int, default=5)
    ap.add_argument("--wrk-connections", type=int, default=4,
                    help="wrk connections (keep below flotilla.http.server.threads: a kept-alive connection holds a worker)")
    ap.add_argument("--overhead-mb", type=int, default=500, help="MB produced per round (part c)")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if args.bin_nometrics:
        args.bin_nometrics = os.path.abspath(args.bin_nometrics)
    parts = set(args.only.split(","))
    results = {"args": vars(args)}
    if "a" in parts:
        part_scrape(args, results)
    if "b" in parts:
        part_wrk(args, results)
    if "c" in parts:
        part_overhead(args, results)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
