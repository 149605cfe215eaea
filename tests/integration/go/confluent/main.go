// confluent-kafka-go (Debian's golang-github-confluentinc-confluent-kafka-go-dev,
// 0.11.6, over the system librdkafka) against a Flotilla node through its
// documented API: AdminClient (CreateTopics, validate-only CreateTopics,
// CreatePartitions, DescribeConfigs, DeleteTopics), an idempotent Producer
// with headers and delivery reports, a Consumer in a group (Subscribe,
// Poll, Commit, Committed, QueryWatermarkOffsets). This Go binding predates
// transactions (1.4) and DescribeConsumerGroups (2.0): those are exercised
// through confluent-kafka (Python, same librdkafka) in the other tests.
//
// Usage: confluent <bootstrap> <name-prefix>. A failed check exits 1 with a
// message on stderr; on success the last stdout line is a JSON summary for
// tests/integration/test_go_clients.py. Every wait is bounded.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: confluent <bootstrap> <prefix>")
	}
	bootstrap, prefix := os.Args[1], os.Args[2]
	topic, group := prefix+"-t", prefix+"-g"
	summary := map[string]interface{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": bootstrap})
	check(err, "NewAdminClient")
	defer admin.Close()
	res, err := admin.CreateTopics(ctx, []kafka.TopicSpecification{
		{Topic: topic, NumPartitions: 2, ReplicationFactor: 1, Config: map[string]string{"retention.ms": "3600000"}}})
	check(err, "CreateTopics")
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		fail("CreateTopics: %v", res)
	}
	res, err = admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: prefix + "-validate", NumPartitions: 1,
		ReplicationFactor: 1}}, kafka.SetAdminValidateOnly(true))
	check(err, "CreateTopics validate-only")
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		fail("CreateTopics validate-only: %v", res)
	}
	res, err = admin.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: 2, ReplicationFactor: 1}})
	check(err, "CreateTopics again")
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrTopicAlreadyExists {
		fail("second CreateTopics: want TOPIC_ALREADY_EXISTS, got %v", res)
	}
	summary["create_again"] = res[0].Error.Code().String()
	res, err = admin.CreatePartitions(ctx, []kafka.PartitionsSpecification{{Topic: topic, IncreaseTo: 3}})
	check(err, "CreatePartitions")
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		fail("CreatePartitions: %v", res)
	}
	cr, err := admin.DescribeConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: topic}})
	check(err, "DescribeConfigs")
	if len(cr) != 1 || cr[0].Error.Code() != kafka.ErrNoError {
		fail("DescribeConfigs: %v", cr)
	}
	e := cr[0].Config["retention.ms"]
	summary["retention_ms"] = e.Value
	summary["retention_ms_source"] = e.Source.String()
	summary["cleanup_policy"] = cr[0].Config["cleanup.policy"].Value

	var md *kafka.Metadata
	deadline := time.Now().Add(15 * time.Second)
	for {
		md, err = admin.GetMetadata(&topic, false, 5000)
		if err == nil && len(md.Topics[topic].Partitions) == 3 {
			break
		}
		if time.Now().After(deadline) {
			fail("metadata of %s: %v %+v", topic, err, md)
		}
		time.Sleep(100 * time.Millisecond)
	}
	summary["partitions"] = len(md.Topics[topic].Partitions)
	if _, found := md.Topics[prefix+"-validate"]; found {
		all, _ := admin.GetMetadata(nil, true, 5000)
		if _, found = all.Topics[prefix+"-validate"]; found {
			fail("validate-only CreateTopics created the topic")
		}
	}

	// Idempotent producer: 30 records with a header, every delivery reported.
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "enable.idempotence": true,
		"linger.ms": 5})
	check(err, "NewProducer")
	const n = 30
	dr := make(chan kafka.Event, n)
	for i := 0; i < n; i++ {
		check(p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)),
			Headers: []kafka.Header{{Key: "seq", Value: []byte(fmt.Sprint(i))}}}, dr), "Produce")
	}
	delivered := 0
	perPartition := map[int32]int64{}
	for delivered < n {
		select {
		case ev := <-dr:
			m := ev.(*kafka.Message)
			check(m.TopicPartition.Error, "delivery report")
			perPartition[m.TopicPartition.Partition]++
			delivered++
		case <-time.After(30 * time.Second):
			fail("%d of %d delivery reports in 30s", delivered, n)
		}
	}
	p.Close()
	summary["delivered"] = delivered

	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": bootstrap, "group.id": group,
		"auto.offset.reset": "earliest", "enable.auto.commit": false, "session.timeout.ms": 10000})
	check(err, "NewConsumer")
	check(c.SubscribeTopics([]string{topic}, nil), "SubscribeTopics")
	seen := map[string]string{}
	headersOK := 0
	deadline = time.Now().Add(45 * time.Second)
	for len(seen) < n {
		if time.Now().After(deadline) {
			fail("consumer read %d of %d in 45s", len(seen), n)
		}
		switch ev := c.Poll(200).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				fail("consumer message error: %v", ev.TopicPartition.Error)
			}
			seen[string(ev.Key)] = string(ev.Value)
			if len(ev.Headers) == 1 && ev.Headers[0].Key == "seq" && "v"+string(ev.Headers[0].Value) == string(ev.Value) {
				headersOK++
			}
		case kafka.Error:
			fmt.Fprintf(os.Stderr, "consumer error event: %v\n", ev)
		}
	}
	for i := 0; i < n; i++ {
		if seen[fmt.Sprintf("k%d", i)] != fmt.Sprintf("v%d", i) {
			fail("consumer: k%d -> %q", i, seen[fmt.Sprintf("k%d", i)])
		}
	}
	summary["group_read"] = len(seen)
	summary["headers_ok"] = headersOK
	_, err = c.Commit()
	check(err, "Commit")
	var tps []kafka.TopicPartition
	for part := int32(0); part < 3; part++ {
		tps = append(tps, kafka.TopicPartition{Topic: &topic, Partition: part})
	}
	committed, err := c.Committed(tps, 10000)
	check(err, "Committed")
	for _, tp := range committed {
		_, high, err := c.QueryWatermarkOffsets(topic, tp.Partition, 10000)
		check(err, "QueryWatermarkOffsets")
		want := kafka.Offset(high)
		if high == 0 {
			want = kafka.OffsetInvalid
		}
		if tp.Offset != want || high != perPartition[tp.Partition] {
			fail("partition %d: committed %v, high watermark %d, delivered %d", tp.Partition, tp.Offset, high,
				perPartition[tp.Partition])
		}
	}
	summary["committed_checked"] = len(committed)
	check(c.Close(), "Consumer Close")

	res, err = admin.DeleteTopics(ctx, []string{topic})
	check(err, "DeleteTopics")
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		fail("DeleteTopics: %v", res)
	}
	summary["deleted"] = true
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
}
