"""DeleteRecords on a replicated partition: the leader's log start moves, the
answer waits until every in-sync follower's does too (the low watermark), and
a new leader after a kill -9 starts its log there as well."""
from kafka_wire import delete_records_v0, list_offset
from replication_util import REPL_EXTRA, partitions, produce_many, wait_for, wait_isr_full

NOT_LEADER_OR_FOLLOWER = 6
OFFSET_OUT_OF_RANGE = 1


def test_delete_records_moves_the_log_start_on_every_replica(cluster):
    c = cluster(controllers=3, brokers=3, extra=REPL_EXTRA)
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": c.brokers[0].bootstrap})
    admin.create_topics([NewTopic("dr", num_partitions=1, replication_factor=3)])["dr"].result(30)
    wait_isr_full(c.brokers[0], "dr", 1, 3)
    p = partitions(c.brokers[0].bootstrap, "dr")[0]
    leader = next(b for b in c.brokers if b.node_id == p["leader"])
    follower = next(b for b in c.brokers if b.node_id != p["leader"])
    assert produce_many(leader.bootstrap, "dr", {0: [f"v{i}".encode() for i in range(100)]}, acks=-1)[0] == (0, 0)
    assert list_offset(leader.bootstrap, "dr", 0, -1) == (0, 100)

    assert delete_records_v0(follower.bootstrap, "dr", 0, 10)[0] == NOT_LEADER_OR_FOLLOWER
    assert delete_records_v0(leader.bootstrap, "dr", 0, 101)[0] == OFFSET_OUT_OF_RANGE
    # The low watermark in the answer is the smallest log start over the ISR.
    assert delete_records_v0(leader.bootstrap, "dr", 0, 60) == (0, 60)
    assert list_offset(leader.bootstrap, "dr", 0, -2) == (0, 60)

    leader.kill9()
    newp = wait_for("a new leader", lambda: (lambda q: q if q and q[0]["leader"] not in (-1, leader.node_id) else None)(
        partitions(follower.bootstrap, "dr").get(0) and partitions(follower.bootstrap, "dr")), 30)[0]
    new_leader = next(b for b in c.brokers if b.node_id == newp["leader"])
    assert wait_for("earliest offset on the new leader", lambda: (lambda r: r if r[0] == 0 else None)(
        list_offset(new_leader.bootstrap, "dr", 0, -2)), 10) == (0, 60)
    assert list_offset(new_leader.bootstrap, "dr", 0, -1) == (0, 100)
