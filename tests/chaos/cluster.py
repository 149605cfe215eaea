"""3 controllers (node ids 1-3) and 3 brokers (101-103), each in its own
network namespace (net.Network) with its own address: node index i (1..6) is
10.77.S.i; brokers listen on :9092, controllers on :9093.

Started with `ip netns exec <ns> $FLOTILLA_BIN server <props>` (ip execs the
server, so the Popen's pid is the server's: kill -9 / SIGSTOP go straight to
it). Only these processes are ever signalled, by pid.
"""
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FLOTILLA_BIN", os.path.join(ROOT, "build", "flotilla"))

# Small and fast, as the integration tests' replication clusters (REPL_EXTRA).
NODE_PROPS = {
    "num.partitions": "1",
    "auto.create.topics.enable": "false",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "transaction.state.log.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
    "log.segment.bytes": "1048576",
    "unclean.leader.election.enable": "false",
}


def tool(*args, timeout=60, check=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"flotilla {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class ChaosNode:
    def __init__(self, net, index, node_id, roles, voters, workdir, extra=None):
        self.net = net
        self.index = index
        self.node_id = node_id
        self.roles = roles
        self.ip = net.ip(index)
        self.dir = os.path.join(workdir, f"node-{node_id}")
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "server.properties")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.paused = False
        broker = "broker" in roles
        self.port = 9092 if broker else 9093
        listeners = [f"PLAINTEXT://{self.ip}:9092"] if broker else [f"CONTROLLER://{self.ip}:9093"]
        props = {
            "process.roles": roles,
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            "listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": self.data,
            **NODE_PROPS,
        }
        if broker:
            props["advertised.listeners"] = f"PLAINTEXT://{self.ip}:9092"
            props["inter.broker.listener.name"] = "PLAINTEXT"
        props.update(extra or {})
        with open(self.config, "w") as f:
            for k, v in props.items():
                f.write(f"{k}={v}\n")

    @property
    def name(self):
        return f"{'c' if self.roles == 'controller' else 'b'}{self.node_id}"

    @property
    def address(self):
        return f"{self.ip}:{self.port}"

    @property
    def metadata_dir(self):
        return os.path.join(self.data, "__cluster_metadata-0")

    def format(self, cluster_id):
        tool("storage", "format", "--config", self.config, "--cluster-id", cluster_id)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.alive()
        with open(self.log_path, "a") as logf:
            logf.write(f"==== start {time.strftime('%H:%M:%S')}\n")
            logf.flush()
            self.proc = subprocess.Popen(["ip", "netns", "exec", self.net.ns(self.index), BIN, "server", self.config],
                                         stdout=logf, stderr=subprocess.STDOUT)
        self.paused = False

    def listening(self):
        try:
            with socket.create_connection((self.ip, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_listening(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.listening():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not listening on {self.address} in {timeout}s:\n{self.log_tail()}")

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.paused = False

    def pause(self):
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout=15):
        if not self.alive():
            return
        self.resume()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class ChaosCluster:
    def __init__(self, net, workdir, controllers=3, brokers=3, extra=None):
        self.net = net
        voters = ",".join(f"{i}@{net.ip(i)}:9093" for i in range(1, controllers + 1))
        self.controllers = [ChaosNode(net, i, i, "controller", voters, workdir, extra)
                            for i in range(1, controllers + 1)]
        self.brokers = [ChaosNode(net, controllers + 1 + k, 101 + k, "broker", voters, workdir, extra)
                        for k in range(brokers)]
        self.cluster_id = tool("storage", "random-uuid").stdout.strip()
        for n in self.nodes:
            n.format(self.cluster_id)

    @property
    def nodes(self):
        return self.controllers + self.brokers

    @property
    def bootstrap(self):
        return ",".join(b.address for b in self.brokers)

    @property
    def bootstrap_controller(self):
        return ",".join(c.address for c in self.controllers)

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def start(self, timeout=60):
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            n.wait_listening(timeout)
        self.wait_brokers_registered(timeout)
        return self

    def wait_brokers_registered(self, timeout=60):
        """Every broker answers Metadata listing all three brokers."""
        from confluent_kafka.admin import AdminClient
        deadline = time.time() + timeout
        want = {b.node_id for b in self.brokers}
        last = None
        while time.time() < deadline:
            ok = True
            for b in self.brokers:
                try:
                    md = AdminClient({"bootstrap.servers": b.address}).list_topics(timeout=3)
                    if set(md.brokers) != want:
                        ok, last = False, f"{b.name} sees brokers {sorted(md.brokers)}"
                except Exception as e:  # noqa: BLE001 - retried until the deadline
                    ok, last = False, f"{b.name}: {e}"
            if ok:
                return
            time.sleep(0.5)
        raise RuntimeError(f"brokers not all registered in {timeout}s: {last}")

    def stop(self):
        for n in self.brokers + self.controllers:
            n.resume()
        for n in self.brokers + self.controllers:
            try:
                n.stop()
            except Exception:  # noqa: BLE001 - kill -9 as a last resort
                n.kill9()
