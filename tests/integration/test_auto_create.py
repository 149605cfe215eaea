"""auto.create.topics.enable: a producer's metadata request creates the topic."""
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient


def test_auto_create_on_produce(make_server):
    srv = make_server({"auto.create.topics.enable": "true", "num.partitions": "3"})
    p = Producer({"bootstrap.servers": srv.bootstrap})
    res = []
    p.produce("auto-made", value=b"hello", on_delivery=lambda e, m: res.append(e))
    assert p.flush(30) == 0
    assert res == [None]
    md = AdminClient({"bootstrap.servers": srv.bootstrap}).list_topics(timeout=10)
    assert len(md.topics["auto-made"].partitions) == 3
