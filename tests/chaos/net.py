"""A private network of Linux network namespaces for the chaos test.

One bridge in the root namespace (`<prefix>br`, address 10.77.S.254/24, where
the test's clients live), one namespace per node (`<prefix>n<i>`) joined to it
by a veth pair (`<prefix>v<i>` on the bridge, `<prefix>p<i>` in the
namespace, address 10.77.S.<i>). Every name starts with `flc<pid>`, so two
runs never share anything, and `close()` removes all of it (also after a
failure; `sweep_stale()` removes what a killed earlier run left behind).

Faults are nftables rules in the node's own namespace (table `inet flc`,
chains `in`/`out`), so they act on exactly that node's traffic:

- `block(node, peers, direction)`: drop packets to ("out") and/or from ("in")
  the given addresses: partitions, a one-way cut, an isolated node;
- `loss(node, pct)`: drop pct % of the node's outgoing packets
  (`numgen random`), in place of netem's loss;
- `delay(node, ms, jitter)`: netem when the kernel has sch_netem, else every
  outgoing packet is queued (iptables NFQUEUE) to nfq_delay.py running in
  that namespace, which accepts it ms (+ up to jitter) later;
- `heal(node)`: flush the node's rules, stop its delayer / remove netem.
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def sh(*args, check=True, timeout=20, input=None):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def sweep_stale():
    """Removes namespaces and links named flc<pid>... whose pid is no longer alive."""
    def dead(name):
        m = re.match(r"flc(\d+)", name)
        return m and not os.path.exists(f"/proc/{m.group(1)}")
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if dead(name):
            sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        m = re.match(r"\d+: (flc\d+[a-z]+\d*)[@:]", line)
        if m and dead(m.group(1)):
            sh("ip", "link", "del", m.group(1), check=False)


def netem_available():
    """Whether `tc qdisc ... netem` works in this kernel (probed on a throw-away veth)."""
    name = f"flc{os.getpid()}t"
    if sh("ip", "link", "add", name + "a", "type", "veth", "peer", "name", name + "b", check=False).returncode:
        return False
    try:
        return sh("tc", "qdisc", "add", "dev", name + "a", "root", "netem", "delay", "1ms", check=False).returncode == 0
    finally:
        sh("ip", "link", "del", name + "a", check=False)


class Network:
    def __init__(self, count, prefix=None, log=None):
        self.prefix = prefix or f"flc{os.getpid()}"
        self.count = count
        self.log = log or (lambda msg: None)
        self.subnet = self._pick_subnet()
        self.bridge = f"{self.prefix}br"
        self.client_ip = f"{self.subnet}.254"
        self.delayers = {}  # node index -> Popen
        self.netem = {}  # node index -> True while netem is on
        self.created_ns = []
        self.created_links = []
        self.use_netem = None

    def _pick_subnet(self):
        routes = sh("ip", "route", check=False).stdout
        base = os.getpid() % 200 + 20
        for k in range(250):
            s = f"10.77.{(base + k) % 250 + 1}"
            if s + "." not in routes:
                return s
        raise RuntimeError("no free 10.77.x.0/24 subnet")

    def ns(self, i):
        return f"{self.prefix}n{i}"

    def ip(self, i):
        return f"{self.subnet}.{i}"

    def dev(self, i):
        return f"{self.prefix}p{i}"

    def nsexec(self, i, *args, check=True, input=None):
        return sh("ip", "netns", "exec", self.ns(i), *args, check=check, input=input)

    def create(self):
        sweep_stale()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.created_links.append(self.bridge)
        sh("ip", "addr", "add", f"{self.client_ip}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i in range(1, self.count + 1):
            ns, v, p = self.ns(i), f"{self.prefix}v{i}", self.dev(i)
            sh("ip", "netns", "add", ns)
            self.created_ns.append(ns)
            sh("ip", "link", "add", v, "type", "veth", "peer", "name", p)
            self.created_links.append(v)
            sh("ip", "link", "set", p, "netns", ns)
            sh("ip", "link", "set", v, "master", self.bridge, "up")
            self.nsexec(i, "ip", "link", "set", "lo", "up")
            self.nsexec(i, "ip", "addr", "add", f"{self.ip(i)}/24", "dev", p)
            self.nsexec(i, "ip", "link", "set", p, "up")
            self.nsexec(i, "nft", "-f", "-", input=(
                "table inet flc {\n"
                " chain in { type filter hook input priority 0; policy accept; }\n"
                " chain out { type filter hook output priority 0; policy accept; }\n"
                "}\n"))
        self.use_netem = netem_available()
        self.log(f"network {self.prefix}: bridge {self.bridge} {self.client_ip}/24, "
                 f"{self.count} namespaces, latency via {'netem' if self.use_netem else 'nfqueue (no sch_netem)'}")
        return self

    # ------------------------------------------------------------------ faults
    def block(self, i, peers, direction="both"):
        """Drops node i's packets to (out) / from (in) the addresses `peers`."""
        addrs = "{ " + ", ".join(peers) + " }"
        if direction in ("out", "both"):
            self.nsexec(i, "nft", "insert", "rule", "inet", "flc", "out", "ip", "daddr", addrs, "drop")
        if direction in ("in", "both"):
            self.nsexec(i, "nft", "insert", "rule", "inet", "flc", "in", "ip", "saddr", addrs, "drop")

    def loss(self, i, pct):
        self.nsexec(i, "nft", "insert", "rule", "inet", "flc", "out", "oifname", self.dev(i),
                    "numgen", "random", "mod", "1000", "<", str(int(pct * 10)), "drop")

    def delay(self, i, ms, jitter_ms=0, seed=0):
        if self.use_netem:
            args = ["tc", "qdisc", "replace", "dev", self.dev(i), "root", "netem", "delay", f"{ms}ms"]
            if jitter_ms:
                args += [f"{jitter_ms}ms"]
            self.nsexec(i, *args)
            self.netem[i] = True
            return
        if i in self.delayers:
            return
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(i), PYTHON, os.path.join(HERE, "nfq_delay.py"),
                              "--queue", "0", "--delay-ms", str(ms), "--jitter-ms", str(jitter_ms), "--seed", str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.delayers[i] = p
        line = p.stdout.readline().strip()  # "ready" (or EOF if it failed)
        if line != "ready":
            err = p.stderr.read() if p.poll() is not None else ""
            self._stop_delayer(i)
            raise RuntimeError(f"nfq_delay did not start in {self.ns(i)}: {line} {err}")
        # nft's own `queue` expression is not in every kernel; iptables-nft's NFQUEUE
        # target (xt compat) is. A packet a drop rule of `inet flc` drops is dropped
        # either before or after its delay.
        self.nsexec(i, "iptables", "-A", "OUTPUT", "-o", self.dev(i), "-j", "NFQUEUE", "--queue-num", "0",
                    "--queue-bypass")

    def _stop_delayer(self, i):
        p = self.delayers.pop(i, None)
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def heal(self, i):
        self.nsexec(i, "nft", "flush", "chain", "inet", "flc", "in", check=False)
        self.nsexec(i, "nft", "flush", "chain", "inet", "flc", "out", check=False)
        if i in self.delayers:
            self.nsexec(i, "iptables", "-F", "OUTPUT", check=False)
        self._stop_delayer(i)
        if self.netem.pop(i, None):
            self.nsexec(i, "tc", "qdisc", "del", "dev", self.dev(i), "root", check=False)

    def heal_all(self):
        for i in range(1, self.count + 1):
            if self.ns(i) in self.created_ns:
                self.heal(i)

    def rules(self, i):
        return self.nsexec(i, "nft", "list", "table", "inet", "flc", check=False).stdout

    def close(self):
        for i in list(self.delayers):
            try:
                self._stop_delayer(i)
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                print(f"chaos: stopping delayer {i}: {e}", file=sys.stderr)
        for ns in self.created_ns:
            sh("ip", "netns", "del", ns, check=False)
        for link in self.created_links:
            if sh("ip", "link", "show", link, check=False).returncode == 0:
                sh("ip", "link", "del", link, check=False)
        self.created_ns, self.created_links = [], []
        # Deleting a namespace destroys its veth end, and with it the pair.
        deadline = time.time() + 5
        while time.time() < deadline and self.prefix in sh("ip", "-o", "link", check=False).stdout:
            time.sleep(0.1)
