"""A fault-injecting TCP proxy for one directed link (node A -> node B).

Every node reaches every controller through its own proxy, so a test can cut
any set of links: `blackhole()` keeps connections open but silently drops
every byte both ways (a partition: no reset, nothing arrives), `heal()`
forwards again (and closes the black-holed connections, as a router reboot
would). Threads are daemons and everything binds 127.0.0.1 only.
"""
import socket
import threading


class LinkProxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.blocked = False
        self.conns = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                u.settimeout(None)
            except OSError:
                c.close()  # the target is down: refuse, as the target itself would
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns.append((c, u))
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.blocked:
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def blackhole(self):
        self.blocked = True

    def heal(self):
        if not self.blocked:
            return  # a healthy link keeps its connections
        self.blocked = False
        with self.lock:
            conns, self.conns = self.conns, []
        for pair in conns:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.sock.close()
        self.blocked = True
        self.heal()
