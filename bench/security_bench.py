#!/usr/bin/env python3
"""Security benchmark: what TLS and SASL cost a Flotilla node, side by side in one run.

1. Produce and consume MB/s (1 KiB records, 8 partitions) over PLAINTEXT, SSL
   and SASL_SSL (SCRAM-SHA-512), with librdkafka (kcat, Nagle off; python3
   confluent-kafka's per-message Python cost caps it lower) and `flotilla perf`
   as the loads, plus kcat consume with librdkafka's default Nagle; the ratio to PLAINTEXT (goals: TLS
   produce >= 60 %, consume >= 50 %) and the server's CPU seconds per MB
   (utime+stime of /proc/<pid>/stat around each run).
2. New authenticated connections per second: TCP connect + TLS 1.3 handshake
   + SaslHandshake + SCRAM-SHA-512 SaslAuthenticate (bench/security_login.py),
   many in flight from several client processes, for a fixed time (goal >=
   1,000/s); the server's CPU per login. The client's PBKDF2 (4096 iterations)
   is cached per salt by default, as it is the client's cost, not the
   server's; a shorter run without the cache is reported too.
3. Idle memory per TLS connection: N connections that finished the TLS
   handshake and one ApiVersions exchange (then N more that also logged in
   with SCRAM first) and stay idle; the server's VmRSS growth divided by N
   (goal <= 64 KiB), after warm-up connections that fill the heap's free
   space. Measured first, on a fresh server. Kernel socket buffers are not in RSS.

Starts its own server on free 127.0.0.1 ports in a temporary directory (PKI
made with `openssl` there) and stops it by PID. Bounded: well under three
minutes with the defaults. Prints a table and which goals were met; --out F
writes the results as JSON. MB are 2^20 bytes of record payload, as Kafka's
perf tools count.
"""
import argparse
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_bench import cpu_seconds, free_port, stop_process  # noqa: E402
from security_login import LoginError, SaltedPasswordCache, api_versions, scram_login, tls_connect  # noqa: E402

USER, PASSWORD, MECH = "bench", "bench-secret-512", "SCRAM-SHA-512"
MB = 1024 * 1024
GOALS = {"ssl_produce_ratio": 0.60, "ssl_consume_ratio": 0.50, "logins_per_sec": 1000, "idle_kib_per_conn": 64}


class BenchTimeout(Exception):
    pass


# ------------------------------------------------------------------ /proc

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


# ------------------------------------------------------------------ certificates and the server

def make_pki(d):
    def sh(*args):
        subprocess.run(args, cwd=d, check=True, capture_output=True, timeout=60)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench-ca")
    sh("openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
       "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    with open(os.path.join(d, "server-store.pem"), "w") as f:
        for part in ("server.key", "server.pem", "ca.pem"):
            f.write(open(os.path.join(d, part)).read())
    return os.path.join(d, "ca.pem"), os.path.join(d, "server-store.pem")


class Server:
    """One combined node with PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512) listeners on free ports."""

    def __init__(self, binary, workdir, ca, store):
        self.binary, self.dir = binary, workdir
        self.ports = {"PLAINTEXT": free_port(), "SSL": free_port(), "SASL_SSL": free_port()}
        cport = free_port()
        ls = ",".join(f"{k}://127.0.0.1:{p}" for k, p in self.ports.items())
        self.config = os.path.join(workdir, "server.properties")
        with open(self.config, "w") as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners={ls},CONTROLLER://127.0.0.1:{cport}
advertised.listeners={ls}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location={store}
ssl.keystore.password=
ssl.truststore.type=PEM
ssl.truststore.location={ca}
sasl.enabled.mechanisms={MECH}
log.dirs={workdir}/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
log.level=warn
""")
        cid = subprocess.run([binary, "storage", "random-uuid"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run([binary, "storage", "format", "--config", self.config, "--cluster-id", cid, "--add-scram",
                        f"{MECH}=[name={USER},password={PASSWORD}]"], check=True, capture_output=True, timeout=60)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen([self.binary, "server", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log.name).read()[-2000:])
            out = subprocess.run([self.binary, "topics", "--bootstrap-server", self.addr("PLAINTEXT"), "--list"],
                                 capture_output=True, timeout=30)
            if out.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self):
        stop_process(self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def addr(self, protocol):
        return f"127.0.0.1:{self.ports[protocol]}"

    def tool(self, *args, timeout=60):
        return subprocess.run([self.binary, *args], capture_output=True, text=True, check=True, timeout=timeout)


def client_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


# ------------------------------------------------------------------ 3. idle memory per connection

def idle_memory(srv, ca, n, threads=8, warm_up_max=4000, step=500):
    """VmRSS growth per idle connection. A fresh server's heap has free space
    from its start (some 30 MB here) that the first connections fill without
    growing RSS: TLS connections are opened 500 at a time until RSS grows (at
    most warm_up_max), then n TLS connections and n SASL_SSL connections are
    measured, each step the growth over its own start."""
    ctx = client_context(ca)
    cache = SaltedPasswordCache()
    held, lock = [], threading.Lock()

    def open_one(protocol):
        s = tls_connect("127.0.0.1", srv.ports[protocol], ctx)
        if protocol == "SASL_SSL":
            scram_login(s, MECH, USER, PASSWORD, cache)
        if api_versions(s) != 0:  # a connection that has been used, then idles
            raise RuntimeError("ApiVersions failed")
        with lock:
            held.append(s)

    def settle():
        time.sleep(1.0)  # the server's event loop registers the last connections
        return rss_kib(srv.pid)

    def open_many(protocol, count):
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: open_one(protocol), range(count)))

    result = {"connections": n}
    try:
        start_rss = settle()
        while len(held) < warm_up_max:
            open_many("SSL", step)
            if settle() - start_rss > step * 4:  # growing by more than 4 KiB a connection: the slack is used up
                break
        result["warm_up"] = {"connections": len(held), "rss_before_kib": start_rss, "rss_after_kib": rss_kib(srv.pid)}
        base_rss, base_socks = rss_kib(srv.pid), open_sockets(srv.pid)
        for protocol, key in (("SSL", "tls"), ("SASL_SSL", "sasl_ssl")):
            t0 = time.time()
            open_many(protocol, n)
            rss = settle()
            socks = open_sockets(srv.pid) - base_socks
            result[key] = {"rss_before_kib": base_rss, "rss_after_kib": rss, "server_sockets_added": socks,
                           "kib_per_conn": (rss - base_rss) / n, "open_seconds": time.time() - t0}
            base_rss, base_socks = rss, open_sockets(srv.pid)
        result["first_connection_alive"] = api_versions(held[0], corr=8) == 0  # still served after the wait
    finally:
        for s in held:
            s.close()
    return result


# ------------------------------------------------------------------ 2. authenticated connections per second

def _login_worker(port, ca, threads, cached, ready, window, results):
    """One client process: `threads` login loops over the window the parent
    sets once every process is ready. Reports (logins, failures, its CPU
    seconds in the window); a login that ends after the window does not count."""
    ctx = client_context(ca)
    cache = SaltedPasswordCache(enabled=cached)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    if cached:  # fill the salted-password cache before the window
        s = tls_connect("127.0.0.1", port, ctx)
        scram_login(s, MECH, USER, PASSWORD, cache)
        s.close()
    ready.wait()  # everyone is ready: the parent sets the window
    ready.wait()
    start_at, stop_at = window[0], window[1]

    def loop():
        ok = failed = 0
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            try:
                s = tls_connect("127.0.0.1", port, ctx)
                try:
                    scram_login(s, MECH, USER, PASSWORD, cache)
                    ok += time.time() < stop_at
                finally:
                    s.close()
            except (OSError, LoginError, ssl.SSLError):
                failed += 1
        with lock:
            counts["ok"] += ok
            counts["failed"] += failed

    cpu0 = time.process_time()
    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    results.put((counts["ok"], counts["failed"], time.process_time() - cpu0))


def login_rate(srv, ca, seconds, procs, threads, cached):
    # Fresh processes: a forked child would inherit this process's heap (some
    # 200 MB after the idle-memory part), which made its logins many times slower.
    mp = multiprocessing.get_context("spawn")
    ready, window, results = mp.Barrier(procs + 1), mp.Array("d", 2), mp.Queue()
    workers = [mp.Process(target=_login_worker, args=(srv.ports["SASL_SSL"], ca, threads, cached, ready, window, results))
               for _ in range(procs)]
    for w in workers:
        w.start()
    try:
        ready.wait(timeout=20)
        start_at = time.time() + 0.1
        window[0], window[1] = start_at, start_at + seconds
        ready.wait(timeout=10)
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = cpu_seconds(srv.pid)
        time.sleep(max(0.0, start_at + seconds - time.time()))
        cpu = cpu_seconds(srv.pid) - cpu0
        counts = [results.get(timeout=30) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.kill()
                w.join()
    ok, failed, client_cpu = (sum(c[i] for c in counts) for i in range(3))
    return {"seconds": seconds, "client_processes": procs, "threads_per_process": threads, "client_pbkdf2_cached": cached,
            "logins": ok, "failed": failed, "logins_per_sec": ok / seconds, "server_cpu_seconds": cpu,
            "server_cpu_ms_per_login": 1000 * cpu / ok if ok else None,
            "server_logins_per_cpu_second": ok / cpu if cpu > 0 else None,
            "client_cpu_ms_per_login": 1000 * client_cpu / ok if ok else None}


# ------------------------------------------------------------------ 1. throughput

def security_props(protocol, ca):
    """(librdkafka config, Java-style client properties) for `protocol`."""
    if protocol == "PLAINTEXT":
        return {}, {}
    rd = {"security.protocol": protocol, "ssl.ca.location": ca}
    java = {"security.protocol": protocol, "ssl.truststore.type": "PEM", "ssl.truststore.location": ca}
    if protocol == "SASL_SSL":
        sasl = {"sasl.mechanism": MECH, "sasl.username": USER, "sasl.password": PASSWORD}
        rd.update(sasl)
        java.update(sasl)
    return rd, java


def kcat_security(protocol, ca, nagle_off=True):
    """kcat -X options: the protocol's security settings, and Nagle off. With
    librdkafka's default (socket.nagle.disable=false) every request that it
    writes through TLS as several records stalls on the server's delayed ACK
    (~40 ms per Fetch); --kcat-default-nagle measures that case once."""
    rd, _ = security_props(protocol, ca)
    if nagle_off:
        rd["socket.nagle.disable"] = "true"
    return [a for k, v in rd.items() for a in ("-X", f"{k}={v}")]


def kcat_input(srv, n, size):
    """A file of n records of `size` bytes (hex text, so the newline delimiter never occurs inside one)."""
    path = os.path.join(srv.dir, f"records-{n}-{size}.txt")
    if not os.path.exists(path):
        line = (os.urandom(size).hex()[:size] + "\n").encode()
        with open(path, "wb") as f:
            for i in range(0, n, 1024):
                f.write(line * min(1024, n - i))
    return path


def kcat_timed(cmd, timeout=120):
    t0 = time.time()
    out = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout)
    elapsed = time.time() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr[-1000:]}")
    return elapsed


def kcat_produce(srv, protocol, ca, topic, n, size):
    # The whole run is timed, kcat's start and login included (tens of ms).
    path = kcat_input(srv, n, size)
    elapsed = kcat_timed(["kcat", "-b", srv.addr(protocol), *kcat_security(protocol, ca), "-P", "-t", topic, "-l",
                          "-X", "acks=1", "-X", "linger.ms=5", "-X", "batch.size=1000000", "-X", "batch.num.messages=100000",
                          "-X", "queue.buffering.max.messages=1000000", "-X", "compression.type=none", path])
    return n * size / MB / elapsed


def kcat_consume(srv, protocol, ca, topic, n, size, nagle_off=True):
    elapsed = kcat_timed(["kcat", "-b", srv.addr(protocol), *kcat_security(protocol, ca, nagle_off), "-C", "-t", topic, "-o", "beginning",
                          "-e", "-q", "-c", str(n), "-f", "%o\n", "-X", "fetch.max.bytes=52428800",
                          "-X", "queued.max.messages.kbytes=262144"])
    return n * size / MB / elapsed


def perf_run(srv, cmd, props, protocol, name):
    cfg = os.path.join(srv.dir, f"{name}-{protocol}.properties")
    with open(cfg, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in props.items())
    out = subprocess.run(cmd + [f"--{name}.config", cfg, "--json"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {out.stderr[-1000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line)["mb_per_sec"]


def perf_produce(srv, protocol, props, topic, n, size):
    return perf_run(srv, [srv.binary, "perf", "produce", "--bootstrap-server", srv.addr(protocol), "--topic", topic,
                          "--num-records", str(n), "--record-size", str(size), "--throughput", "-1",
                          "--producer-props", "acks=1", "linger.ms=5", "batch.size=1048576"], props, protocol, "producer")


def perf_consume(srv, protocol, props, topic, n, _size):
    return perf_run(srv, [srv.binary, "perf", "consume", "--bootstrap-server", srv.addr(protocol), "--topic", topic,
                          "--messages", str(n)], props, protocol, "consumer")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measured(srv, fn, n, size):
    """Runs the load fn (a child process) and returns its MB/s with the server's and the client's CPU per MB."""
    cpu0, client0 = cpu_seconds(srv.pid), children_cpu()
    mbps = fn()
    cpu, client = cpu_seconds(srv.pid) - cpu0, children_cpu() - client0
    mbytes = n * size / MB
    return {"MBps": mbps, "server_cpu_seconds": cpu, "server_cpu_ms_per_MB": 1000 * cpu / mbytes,
            "client_cpu_ms_per_MB": 1000 * client / mbytes}


def one_case(srv, ca, client, protocol, topic, n, size, partitions, default_nagle=False):
    _, java = security_props(protocol, ca)
    srv.tool("topics", "--bootstrap-server", srv.addr("PLAINTEXT"), "--create", "--topic", topic, "--partitions",
             str(partitions), "--replication-factor", "1")
    if client == "kcat":
        prod = lambda: kcat_produce(srv, protocol, ca, topic, n, size)  # noqa: E731
        cons = lambda: kcat_consume(srv, protocol, ca, topic, n, size)  # noqa: E731
    else:
        prod = lambda: perf_produce(srv, protocol, java, topic, n, size)  # noqa: E731
        cons = lambda: perf_consume(srv, protocol, java, topic, n, size)  # noqa: E731
    result = {"produce": measured(srv, prod, n, size), "consume": measured(srv, cons, n, size)}
    if default_nagle:
        result["consume_default_nagle"] = measured(srv, lambda: kcat_consume(srv, protocol, ca, topic, n, size, False), n, size)
    # Delete the topic before the next case: its page cache is freed, so
    # every case writes into memory the guest has just used (see e2e_bench.py).
    srv.tool("topics", "--bootstrap-server", srv.addr("PLAINTEXT"), "--delete", "--topic", topic)
    deadline = time.time() + 20
    while os.path.exists(os.path.join(srv.dir, "data", f"{topic}-0")) and time.time() < deadline:
        time.sleep(0.05)
    return result


def throughput(srv, ca, client, mbytes, size, partitions, rounds, default_nagle):
    """Rounds of PLAINTEXT, SSL, SASL_SSL (interleaved, so a noisy neighbour
    hits all three alike); each protocol's best produce and best consume run."""
    n = max(1000, mbytes * MB // size)
    protocols = ("PLAINTEXT", "SSL", "SASL_SSL")
    rows = {p: {"client": client, "protocol": p, "records": n, "record_size": size, "partitions": partitions, "runs": []}
            for p in protocols}
    for i in range(rounds):
        for protocol in protocols:
            topic = f"bench-{client}-{protocol.lower().replace('_', '-')}-{i}"
            run = one_case(srv, ca, client, protocol, topic, n, size, partitions,
                           default_nagle and client == "kcat" and i == 0 and protocol != "SASL_SSL")
            rows[protocol]["runs"].append(run)
            print(json.dumps({"client": client, "protocol": protocol, "round": i, **run}), flush=True)
    for r in rows.values():
        for k in ("produce", "consume"):
            r[k] = max((run[k] for run in r["runs"]), key=lambda x: x["MBps"])
        if "consume_default_nagle" in r["runs"][0]:
            r["consume_default_nagle"] = r["runs"][0]["consume_default_nagle"]
    base = rows["PLAINTEXT"]
    for r in rows.values():
        for k in ("produce", "consume"):
            r[k]["ratio_to_plaintext"] = r[k]["MBps"] / base[k]["MBps"] if base[k]["MBps"] else None
    return list(rows.values())


# ------------------------------------------------------------------ report

def report(results):
    ok_all = {}
    print()
    if results.get("throughput"):
        print("CPU ms/MB: the server's, then the client's (all its processes)")
        print(f"{'client':<14} {'protocol':<9} {'produce MB/s':>12} {'% plain':>7} {'CPU ms/MB srv cli':>17}   "
              f"{'consume MB/s':>12} {'% plain':>7} {'CPU ms/MB srv cli':>17}")
    for r in results.get("throughput", []):
        p, c = r["produce"], r["consume"]
        print(f"{r['client']:<14} {r['protocol']:<9} {p['MBps']:>12.1f} {100 * p['ratio_to_plaintext']:>6.0f}% "
              f"{p['server_cpu_ms_per_MB']:>8.2f} {p['client_cpu_ms_per_MB']:>8.2f}   {c['MBps']:>12.1f} "
              f"{100 * c['ratio_to_plaintext']:>6.0f}% {c['server_cpu_ms_per_MB']:>8.2f} {c['client_cpu_ms_per_MB']:>8.2f}")
        if "consume_default_nagle" in r:
            d = r["consume_default_nagle"]
            print(f"{'':<14} {'':<9} {'(consume with librdkafka default socket.nagle.disable=false)':>41} {d['MBps']:>12.1f}")
        if r["protocol"] != "PLAINTEXT":
            key = f"{r['client']} {r['protocol']}"
            ok_all[f"{key} produce >= 60% of PLAINTEXT"] = p["ratio_to_plaintext"] >= GOALS["ssl_produce_ratio"]
            ok_all[f"{key} consume >= 50% of PLAINTEXT"] = c["ratio_to_plaintext"] >= GOALS["ssl_consume_ratio"]
    print()
    for r in results.get("logins", []):
        cache = "cached" if r["client_pbkdf2_cached"] else "uncached"
        print(f"SCRAM-SHA-512 logins over TLS 1.3, client PBKDF2 {cache}: {r['logins_per_sec']:.0f}/s "
              f"({r['logins']} in {r['seconds']} s, {r['failed']} failed, {r['client_processes']}x{r['threads_per_process']} "
              f"in flight); server CPU {r['server_cpu_ms_per_login'] or 0:.3f} ms/login = "
              f"{r['server_logins_per_cpu_second'] or 0:.0f} logins per server CPU second; client CPU "
              f"{r['client_cpu_ms_per_login'] or 0:.2f} ms/login")
        if r["client_pbkdf2_cached"]:
            ok_all[">= 1,000 logins/s"] = r["logins_per_sec"] >= GOALS["logins_per_sec"]
            if (r["client_cpu_ms_per_login"] or 0) > (r["server_cpu_ms_per_login"] or 0) and r["logins_per_sec"] < 1000:
                print("  (client-bound: the client on this machine spent more CPU per login than the server; the "
                      "server's own limit is about its logins per CPU second, its network thread being one)")
    m = results.get("idle_memory")
    if m:
        w = m["warm_up"]
        print(f"idle connections: {w['connections']} TLS ones to warm up (VmRSS {w['rss_before_kib']} -> "
              f"{w['rss_after_kib']} KiB: the heap's free space), then")
        for key, label in (("tls", "TLS"), ("sasl_ssl", "TLS + SCRAM login")):
            x = m[key]
            print(f"  {label}: {m['connections']} (server sockets +{x['server_sockets_added']}), "
                  f"VmRSS {x['rss_before_kib']} -> {x['rss_after_kib']} KiB = {x['kib_per_conn']:.1f} KiB/connection")
        worst = max(m["tls"]["kib_per_conn"], m["sasl_ssl"]["kib_per_conn"])
        ok_all["idle TLS connection (with or without SASL) <= 64 KiB"] = worst <= GOALS["idle_kib_per_conn"]
    print()
    for k, v in ok_all.items():
        print(f"goal {'MET    ' if v else 'NOT MET'} {k}")
    results["goals_met"] = ok_all


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/flotilla")
    ap.add_argument("--mb", type=int, default=256, help="MB of payload produced (then consumed) per run")
    ap.add_argument("--rounds", type=int, default=2, help="runs per client and protocol; the best counts")
    ap.add_argument("--record-size", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--clients", default="kcat,flotilla-perf",
                    help="throughput loads, comma-separated: kcat (librdkafka), flotilla-perf")
    ap.add_argument("--no-default-nagle", action="store_true",
                    help="skip the extra kcat consume runs (PLAINTEXT, SSL) with librdkafka's default Nagle")
    ap.add_argument("--login-seconds", type=float, default=5.0)
    ap.add_argument("--login-procs", type=int, default=2)
    ap.add_argument("--login-threads", type=int, default=8, help="logins in flight per client process")
    ap.add_argument("--uncached-login-seconds", type=float, default=2.0, help="0 skips the run without the PBKDF2 cache")
    ap.add_argument("--idle-connections", type=int, default=2000)
    ap.add_argument("--max-seconds", type=int, default=170, help="stop (and report what was measured) after this long")
    ap.add_argument("--out", help="write the results as JSON to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * args.idle_connections + 4000 + 512
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))  # the server inherits it too
    if hard < want:
        args.idle_connections = max(0, (hard - 4512) // 2)
        print(f"open files limited to {hard}: {args.idle_connections} idle connections per kind", file=sys.stderr)

    t_start = time.time()
    work = tempfile.mkdtemp(prefix="flotilla-security-bench-")
    results = {"record_size": args.record_size, "partitions": args.partitions, "goals": GOALS, "errors": {}}
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if "kcat" in clients and not shutil.which("kcat"):
        clients.remove("kcat")
        results["errors"]["kcat"] = "kcat not installed: no librdkafka load"

    def phase(name, fn):
        """Runs one part; a failure is reported and the other parts still run."""
        try:
            return fn()
        except BenchTimeout:
            raise
        except Exception as e:  # noqa: BLE001 - reported, not fatal
            results["errors"][name] = f"{type(e).__name__}: {e}"
            print(f"{name} failed: {e}", file=sys.stderr, flush=True)
            return None

    def on_alarm(_sig, _frame):
        raise BenchTimeout(f"stopped after --max-seconds {args.max_seconds}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.max_seconds)
    srv = None
    try:
        ca, store = make_pki(work)
        srv = Server(binary, work, ca, store)
        srv.start()
        if args.idle_connections > 0:
            results["idle_memory"] = phase("idle_memory", lambda: idle_memory(srv, ca, args.idle_connections))
            print(json.dumps({"idle_memory": results["idle_memory"]}), flush=True)
            time.sleep(0.5)
        results["logins"] = []
        runs = [(args.login_seconds, True)] + ([(args.uncached_login_seconds, False)] if args.uncached_login_seconds > 0 else [])
        for seconds, cached in runs:
            r = phase("logins", lambda: login_rate(srv, ca, seconds, args.login_procs, args.login_threads, cached))
            if r:
                results["logins"].append(r)
                print(json.dumps(r), flush=True)
        results["throughput"] = []
        for client in clients:
            rows = phase(f"throughput {client}", lambda: throughput(srv, ca, client, args.mb, args.record_size,
                                                                     args.partitions, args.rounds, not args.no_default_nagle))
            results["throughput"] += rows or []
    except BenchTimeout as e:
        results["errors"]["timeout"] = str(e)
        print(e, file=sys.stderr, flush=True)
    finally:
        signal.alarm(0)
        if srv:
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = time.time() - t_start
    report(results)
    for name, err in results["errors"].items():
        print(f"not measured: {name}: {err}")
    print(f"(total {results['seconds']:.0f} s)")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
