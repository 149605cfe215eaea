"""Fixtures: real `flotilla` server processes on free 127.0.0.1 ports.

Every wait is bounded; only processes started here are stopped, by PID.
"""
import os
import signal
import random
import resource
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FLOTILLA_BIN", os.path.join(ROOT, "build", "flotilla"))


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out = set()


def free_port():
    """A free port below the kernel's ephemeral range. A port from that range
    (what bind(0) returns) can be taken as the source port of some outgoing
    connection while the node listening on it is down (kill -9, restart), and
    the restart then fails with "Address already in use"; ports below it are
    only ever taken by an explicit bind. Never the same port twice per run."""
    low = max(_ephemeral_low(), 12000)
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(10000, low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(*args, input=None, timeout=60, check=True):
    p = subprocess.run([BIN, *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"flotilla {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class Server:
    """One combined broker+controller node in its own temporary directory."""

    nofile = None  # RLIMIT_NOFILE (soft and hard) for the process, if set (subclasses too)

    def __init__(self, workdir, extra=None, nofile=None):
        self.dir = workdir
        self.nofile = nofile
        self.port = free_port()
        self.cport = free_port()
        self.data = os.path.join(workdir, "data")
        self.config = os.path.join(workdir, "server.properties")
        self.log_path = os.path.join(workdir, "server.log")
        self.proc = None
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.cport}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.cport}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": self.data,
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
        }
        props.update(extra or {})
        self.props = props
        with open(self.config, "w") as f:
            for k, v in props.items():
                f.write(f"{k}={v}\n")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def write_config(self):
        """Writes self.props (changed after construction) to the config file."""
        with open(self.config, "w") as f:
            for k, v in self.props.items():
                f.write(f"{k}={v}\n")

    def format(self, cluster_id=None, args=()):
        self.cluster_id = cluster_id or run_tool("storage", "random-uuid").stdout.strip()
        return run_tool("storage", "format", "--config", self.config, "--cluster-id", self.cluster_id, *args)

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None
        self.logf = open(self.log_path, "a")
        limit = self.nofile
        preexec = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))) if limit else None
        # `env` (when a test sets it): the server's environment, e.g. LD_PRELOAD of a fault shim.
        self.proc = subprocess.Popen([BIN, "server", self.config], stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=preexec, env=getattr(self, "env", None))
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        from kafka_wire import api_versions
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                err, _ = api_versions(self.bootstrap, version=3)
                if err == 0 and self._metadata_ready():
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"server not ready in {timeout}s ({last}):\n{self.log_text()}")

    def _metadata_ready(self):
        from kafka_wire import metadata_brokers
        try:
            return len(metadata_brokers(self.bootstrap)) > 0
        except OSError:
            return False

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop on SIGTERM within %ss" % timeout)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    def log_text(self):
        # errors="replace": a log line may quote a client's bytes that are not UTF-8.
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="flotilla-it-") as d:
        yield d


@pytest.fixture
def make_server(workdir):
    servers = []

    def make(extra=None, start=True, sub="node", nofile=None):
        d = os.path.join(workdir, sub)
        os.makedirs(d, exist_ok=True)
        s = Server(d, extra, nofile=nofile)
        servers.append(s)
        if start:
            s.format()
            s.start()
        return s

    yield make
    for s in servers:
        try:
            s.stop()
        except AssertionError:
            s.kill9()
        if os.environ.get("FLOTILLA_KEEP_LOGS"):
            with open(os.environ["FLOTILLA_KEEP_LOGS"], "a") as f:
                f.write(s.log_text())


@pytest.fixture
def server(make_server):
    return make_server()


def create_topic(server, topic, partitions=1):
    run_tool("topics", "--bootstrap-server", server.bootstrap, "--create", "--topic", topic,
             "--partitions", str(partitions), "--replication-factor", "1")


class Node(Server):
    """A node of a multi-node cluster: `roles` is "controller", "broker" or
    "broker,controller"; `voters` the shared controller.quorum.voters."""

    def __init__(self, workdir, node_id, roles, voters, cport=None, extra=None):
        self.dir = workdir
        self.node_id = node_id
        self.roles = roles
        self.port = free_port() if "broker" in roles else None
        self.cport = cport if "controller" in roles else None
        self.data = os.path.join(workdir, "data")
        self.config = os.path.join(workdir, "server.properties")
        self.log_path = os.path.join(workdir, "server.log")
        self.proc = None
        listeners = []
        if self.port:
            listeners.append(f"PLAINTEXT://127.0.0.1:{self.port}")
        if self.cport:
            listeners.append(f"CONTROLLER://127.0.0.1:{self.cport}")
        props = {
            "process.roles": roles,
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            "listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data,
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
        }
        if self.port:
            props["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{self.port}"
            props["inter.broker.listener.name"] = "PLAINTEXT"
        props.update(extra or {})
        self.props = props
        with open(self.config, "w") as f:
            for k, v in props.items():
                f.write(f"{k}={v}\n")

    @property
    def controller(self):
        return f"127.0.0.1:{self.cport}"

    def controller_uses_tls(self):
        """The CONTROLLER listener's protocol (listener.security.protocol.map) is SSL or SASL_SSL."""
        protocols = dict(e.split(":", 1) for e in self.props.get("listener.security.protocol.map", "").split(",") if ":" in e)
        return protocols.get("CONTROLLER", "PLAINTEXT").strip().endswith("SSL")

    def wait_ready(self, timeout=20):
        if self.port:
            return Server.wait_ready(self, timeout)
        from kafka_wire import api_versions
        tls = self.controller_uses_tls()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.node_id} exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                err, _ = api_versions(self.controller, version=3, tls=tls)
                if err == 0:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"controller {self.node_id} not listening in {timeout}s:\n{self.log_text()}")


class Cluster:
    """`controllers` controller-only nodes (ids 1..n) and `brokers` broker-only
    nodes (ids 100..), formatted with one cluster id, static voters.

    With `proxied`, every node reaches each controller through its own
    LinkProxy (netfault.py): `links[(a, b)]` carries a's requests to b, so
    `isolate(id)` / `heal()` cut and restore a node's links.

    `configure(node)`, when given, may change a node's props (per-node
    listeners, key stores, credentials) before it is formatted; `format_args`
    go to every node's `storage format` (e.g. --add-scram)."""

    def __init__(self, workdir, controllers=3, brokers=1, extra=None, proxied=False, configure=None, format_args=()):
        cports = [free_port() for _ in range(controllers)]
        cids = [i + 1 for i in range(controllers)]
        bids = [100 + i for i in range(brokers)]
        self.links = {}
        if proxied:
            from netfault import LinkProxy
            for a in cids + bids:
                for b, p in zip(cids, cports):
                    if a != b:
                        self.links[(a, b)] = LinkProxy(p)

        def voters_for(a):
            return ",".join(f"{b}@127.0.0.1:{self.links[(a, b)].port if (a, b) in self.links else p}"
                            for b, p in zip(cids, cports))

        self.voters = voters_for(0)
        self.controllers = []
        self.brokers = []
        for i, p in enumerate(cports):
            d = os.path.join(workdir, f"controller-{i + 1}")
            os.makedirs(d, exist_ok=True)
            self.controllers.append(Node(d, i + 1, "controller", voters_for(i + 1), cport=p, extra=extra))
        for b in bids:
            d = os.path.join(workdir, f"broker-{b}")
            os.makedirs(d, exist_ok=True)
            self.brokers.append(Node(d, b, "broker", voters_for(b), extra=extra))
        if configure:
            for n in self.nodes:
                configure(n)
                n.write_config()
        self.cluster_id = run_tool("storage", "random-uuid").stdout.strip()
        for n in self.nodes:
            n.format(self.cluster_id, format_args)

    def isolate(self, node_id):
        for (a, b), link in self.links.items():
            if node_id in (a, b):
                link.blackhole()

    def heal(self):
        for link in self.links.values():
            link.heal()

    @property
    def nodes(self):
        return self.controllers + self.brokers

    def start(self):
        for n in self.controllers:
            n.start(wait=False)
        for n in self.controllers:
            n.wait_ready()
        for n in self.brokers:
            n.start(wait=False)
        for n in self.brokers:
            n.wait_ready(timeout=30)
        return self

    def controller(self, node_id):
        return self.controllers[node_id - 1]

    def stop(self):
        # Brokers first: their controlled shutdown needs a controller.
        for n in self.brokers + self.controllers:
            try:
                n.stop()
            except AssertionError:
                n.kill9()
        for link in self.links.values():
            link.close()


@pytest.fixture
def cluster(workdir):
    clusters = []

    def make(**kw):
        c = Cluster(workdir, **kw)
        clusters.append(c)
        return c.start()

    yield make
    for c in clusters:
        c.stop()
        if os.environ.get("FLOTILLA_KEEP_LOGS"):
            with open(os.environ["FLOTILLA_KEEP_LOGS"], "a") as f:
                for n in c.nodes:
                    f.write(f"==== node {n.node_id}\n" + n.log_text())
