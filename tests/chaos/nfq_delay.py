"""Added latency without netem: an NFQUEUE listener that holds every packet
the namespace's nftables rule queues to it for DELAY (+ up to JITTER) ms and
then accepts it.

Used by net.py when the kernel has no sch_netem (Firecracker-style kernels
without modules); run inside a node's network namespace:

    ip netns exec NS /usr/bin/python3 nfq_delay.py --queue 0 --delay-ms 80 --jitter-ms 20

Release times never go backwards, so packets leave in the order they were
queued and one batch verdict (NFQNL_MSG_VERDICT_BATCH: every id up to N)
releases all that are due. Pure Python over a NETLINK_NETFILTER socket
(nfnetlink_queue), no library needed. Prints "ready" once bound. On SIGTERM
it accepts everything it still holds and exits.
"""
import argparse
import errno
import random
import select
import signal
import socket
import struct
import sys
import time
from collections import deque

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQA_CFG_F_FAIL_OPEN = 1
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


class Queue:
    def __init__(self, num):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))

    def send(self, msg_type, attrs, ack=False):
        self.seq += 1
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, self.num) + b"".join(attrs)
        hdr = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type,
                          NLM_F_REQUEST | (NLM_F_ACK if ack else 0), self.seq, 0)
        self.sock.send(hdr + body)
        if ack:
            data = self.sock.recv(65536)
            _, t, _, _, _ = struct.unpack_from("=IHHII", data)
            if t == NLMSG_ERROR:
                (err,) = struct.unpack_from("=i", data, 16)
                if err:
                    raise OSError(-err, f"nfqueue config failed: {errno.errorcode.get(-err, err)}")

    def bind(self):
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))],
                  ack=True)
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))], ack=True)
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 20000))], ack=True)
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_FLAGS, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN)),
                                     attr(NFQA_CFG_MASK, struct.pack("!I", NFQA_CFG_F_FAIL_OPEN))], ack=True)

    def accept_upto(self, packet_id):
        self.send(NFQNL_MSG_VERDICT_BATCH, [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))])

    def packet_ids(self):
        """The ids of the packets in one recv (non-blocking)."""
        try:
            data = self.sock.recv(1 << 20, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return []
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # the kernel dropped messages: fail-open / drops, go on
                return []
            raise
        ids = []
        off = 0
        while off + 16 <= len(data):
            n, t, _, _, _ = struct.unpack_from("=IHHII", data, off)
            if n < 16:
                break
            if t == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET):
                a = off + 20
                while a + 4 <= off + n:
                    alen, akind = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if (akind & 0x7FFF) == NFQA_PACKET_HDR:
                        ids.append(struct.unpack_from("!I", data, a + 4)[0])
                        break
                    a += (alen + 3) & ~3
            off += (n + 3) & ~3
        return ids


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    q = Queue(args.queue)
    q.bind()
    held = deque()  # (release time, packet id), release times non-decreasing
    last = 0.0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print("ready", flush=True)
    while not stopping:
        now = time.monotonic()
        timeout = max(0.0, held[0][0] - now) if held else 0.2
        try:
            r, _, _ = select.select([q.sock], [], [], timeout)
        except InterruptedError:
            r = []
        now = time.monotonic()
        if r:
            for pid in q.packet_ids():
                last = max(last, now + (args.delay_ms + rng.uniform(0, args.jitter_ms)) / 1000.0)
                held.append((last, pid))
        due = None
        while held and held[0][0] <= now:
            due = held.popleft()[1]
        if due is not None:
            q.accept_upto(due)
    if held:
        q.accept_upto(held[-1][1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
