"""KIP-392: with replica.selector.class = RackAwareReplicaSelector, a leader
sends a consumer that names its rack (client.rack) to an in-sync follower in
that rack, and the follower serves it up to its high watermark."""
import logging
import os
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Cluster
from replication_util import REPL_EXTRA, partitions, produce_many, wait_isr_full

SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_consumer_reads_from_the_follower_in_its_rack(workdir):
    c = Cluster(workdir, controllers=3, brokers=3, extra={**REPL_EXTRA, "replica.selector.class": SELECTOR})
    for i, b in enumerate(c.brokers):
        with open(b.config, "a") as f:
            f.write(f"broker.rack=rack-{i}\n")
    c.start()
    try:
        admin = AdminClient({"bootstrap.servers": c.brokers[0].bootstrap})
        admin.create_topics([NewTopic("near", num_partitions=1, replication_factor=3)])["near"].result(30)
        wait_isr_full(c.brokers[0], "near", 1, 3)
        p = partitions(c.brokers[0].bootstrap, "near")[0]
        leader = next(b for b in c.brokers if b.node_id == p["leader"])
        follower_index = next(i for i, b in enumerate(c.brokers) if b.node_id != p["leader"])
        values = [f"v{i}".encode() for i in range(200)]
        assert produce_many(leader.bootstrap, "near", {0: values}, acks=-1)[0] == (0, 0)

        capture = Capture()
        logger = logging.getLogger(f"rdkafka-{os.getpid()}")
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
        consumer = Consumer({"bootstrap.servers": leader.bootstrap, "group.id": "near", "enable.auto.commit": False,
                             "client.rack": f"rack-{follower_index}", "debug": "fetch", "logger": logger})
        got = []
        try:
            consumer.assign([TopicPartition("near", 0, 0)])
            deadline = time.time() + 30
            while len(got) < len(values) and time.time() < deadline:
                for m in consumer.consume(500, timeout=0.5):
                    if not m.error():
                        got.append(m.value())
        finally:
            consumer.unassign()
            import threading
            t = threading.Thread(target=consumer.close, daemon=True)
            t.start()
            t.join(10)
        assert got == values
        follower_id = c.brokers[follower_index].node_id
        # librdkafka logs the delegation to the preferred read replica.
        delegated = [line for line in capture.lines if "preferred" in line.lower()]
        assert delegated, "the consumer was never pointed at a preferred read replica:\n" + "\n".join(capture.lines[-30:])
        assert any(str(follower_id) in line for line in delegated), delegated[:5]
    finally:
        c.stop()
