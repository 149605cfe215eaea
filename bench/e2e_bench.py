#!/usr/bin/env python3
"""End-to-end benchmark: `flotilla perf produce|consume` against a real server.

Measures, in one run on this machine: loopback TCP throughput (iperf3, for
scale), then produce and consume MB/s for 1 and 8 partitions, 100 B and 1 KiB
records, acks=1 and acks=all. Starts its own server on free 127.0.0.1 ports in
a temporary directory and stops it (by PID) when done. Prints a table and
with --out F writes the results as JSON to F.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc):
    """SIGTERM (a node's clean shutdown), then SIGKILL after 20 s; only our own process."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/<pid>/stat, fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loopback_gbps(seconds):
    if not shutil.which("iperf3"):
        return None
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-J"],
                             capture_output=True, text=True, timeout=seconds + 20)
        data = json.loads(out.stdout)
        return data["end"]["sum_received"]["bits_per_second"] / 8 / 1e6  # MB/s
    except Exception as e:  # noqa: BLE001 - a missing measurement is reported, not fatal
        print("iperf3 failed:", e, file=sys.stderr)
        return None
    finally:
        if srv.poll() is None:
            srv.kill()
        srv.wait()


class Server:
    """One combined broker+controller on free ports; `extra`: more server.properties lines."""

    def __init__(self, binary, workdir, extra=""):
        self.binary = binary
        self.dir = workdir
        self.port = free_port()
        self.cport = free_port()
        self.proc = None
        cfg = os.path.join(workdir, "server.properties")
        with open(cfg, "w") as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.cport}
listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={workdir}/data
num.partitions=1
auto.create.topics.enable=false
log.level=warn
{extra}
""")
        self.config = cfg
        cid = subprocess.run([binary, "storage", "random-uuid"], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run([binary, "storage", "format", "--config", cfg, "--cluster-id", cid],
                       check=True, capture_output=True)

    def start_async(self):
        self.log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen([self.binary, "server", self.config], stdout=self.log, stderr=subprocess.STDOUT)

    def start(self):
        self.start_async()
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self):
        stop_process(self.proc)

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"


def wait_gone(path, timeout=20):
    deadline = time.time() + timeout
    while os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)


def run_json(cmd, timeout):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    for line in reversed(out.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON result from " + " ".join(cmd) + ": " + out.stdout[-1000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/flotilla")
    ap.add_argument("--bytes", type=int, default=1 << 30, help="bytes to produce per case")
    ap.add_argument("--iperf-seconds", type=int, default=3)
    ap.add_argument("--out", help="write the results as JSON to this file")
    ap.add_argument("--keep-topics", action="store_true", help="keep each case's topic (and its page cache) until the end")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)

    loop = loopback_gbps(args.iperf_seconds)
    results = {"loopback_MBps": loop, "cases": []}
    work = tempfile.mkdtemp(prefix="flotilla-bench-")
    srv = Server(binary, work)
    srv.start()
    try:
        case = 0
        for partitions in (1, 8):
            for size in (100, 1024):
                for acks in ("1", "all"):
                    case += 1
                    topic = f"bench-{case}"
                    subprocess.run([binary, "topics", "--bootstrap-server", srv.bootstrap, "--create", "--topic", topic,
                                    "--partitions", str(partitions), "--replication-factor", "1"],
                                   check=True, capture_output=True, timeout=30)
                    n = max(1000, args.bytes // size)
                    p = run_json([binary, "perf", "produce", "--bootstrap-server", srv.bootstrap, "--topic", topic,
                                  "--num-records", str(n), "--record-size", str(size), "--throughput", "-1",
                                  "--producer-props", f"acks={acks}", "--json"], timeout=600)
                    c = run_json([binary, "perf", "consume", "--bootstrap-server", srv.bootstrap, "--topic", topic,
                                  "--messages", str(n), "--json"], timeout=600)
                    # The case's topic goes before the next case: its page
                    # cache is freed, so every case writes into memory the
                    # guest has just used, as a broker whose retention deletes
                    # old segments does. Left in place, each case would write
                    # into memory the VM has handed back to its host (DAMON,
                    # virtio-balloon), whose first touch costs more than the
                    # copy itself (see --keep-topics and docs/ARCHITECTURE.md).
                    if not args.keep_topics:
                        subprocess.run([binary, "topics", "--bootstrap-server", srv.bootstrap, "--delete", "--topic", topic],
                                       check=True, capture_output=True, timeout=30)
                        wait_gone(os.path.join(work, "data", f"{topic}-0"))
                    row = {"partitions": partitions, "record_size": size, "acks": acks, "records": n,
                           "produce_MBps": p.get("mb_per_sec"), "produce_records_per_sec": p.get("records_per_sec"),
                           "produce_p99_ms": p.get("p99_ms"), "consume_MBps": c.get("mb_per_sec"),
                           "consume_records_per_sec": c.get("records_per_sec")}
                    results["cases"].append(row)
                    print(json.dumps(row), flush=True)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"loopback TCP (iperf3, 1 stream): {loop:.0f} MB/s" if loop else "loopback TCP: not measured (no iperf3)")
    print(f"{'parts':>5} {'size':>5} {'acks':>4} {'produce MB/s':>13} {'consume MB/s':>13} {'prod % loop':>11} {'cons % loop':>11}")
    for r in results["cases"]:
        pp = f"{100 * r['produce_MBps'] / loop:.0f}%" if loop and r["produce_MBps"] else "-"
        cp = f"{100 * r['consume_MBps'] / loop:.0f}%" if loop and r["consume_MBps"] else "-"
        print(f"{r['partitions']:>5} {r['record_size']:>5} {r['acks']:>4} {r['produce_MBps'] or 0:>13.1f} "
              f"{r['consume_MBps'] or 0:>13.1f} {pp:>11} {cp:>11}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
