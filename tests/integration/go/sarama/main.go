// Sarama (Debian's golang-github-shopify-sarama-dev, 1.22) against a Flotilla
// node, through the library's own documented API: ClusterAdmin, SyncProducer,
// ConsumerGroup, a read_committed Consumer and, because this Sarama has no
// transactional producer (added in 1.37), a transaction driven through its
// low-level Broker calls (FindCoordinator, InitProducerID, AddPartitionsToTxn,
// Produce of a transactional batch, EndTxn).
//
// Usage: sarama <bootstrap> <name-prefix>. Every check that fails exits 1 with
// a message on stderr; on success the last stdout line is a JSON summary that
// tests/integration/test_go_clients.py asserts against. Every wait is bounded.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/Shopify/sarama"
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

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_0_0_0
	c.ClientID = "flotilla-sarama-test"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	c.Consumer.Return.Errors = true
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	return c
}

// groupHandler marks every message it reads and signals when `want` arrived.
type groupHandler struct {
	mu     sync.Mutex
	seen   map[string]string // key -> value
	want   int
	done   chan struct{}
	closed bool
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.mu.Lock()
		h.seen[string(m.Key)] = string(m.Value)
		if len(h.seen) >= h.want && !h.closed {
			h.closed = true
			close(h.done)
		}
		h.mu.Unlock()
	}
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: sarama <bootstrap> <prefix>")
	}
	addrs := []string{os.Args[1]}
	prefix := os.Args[2]
	topic, txTopic, group := prefix+"-t", prefix+"-tx", prefix+"-g"
	summary := map[string]interface{}{}

	admin, err := sarama.NewClusterAdmin(addrs, config())
	check(err, "NewClusterAdmin")
	defer admin.Close()
	check(admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false), "CreateTopic")
	check(admin.CreateTopic(txTopic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false), "CreateTopic tx")
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false)
	if terr, ok := err.(*sarama.TopicError); !ok || terr.Err != sarama.ErrTopicAlreadyExists {
		fail("second CreateTopic: want TOPIC_ALREADY_EXISTS, got %v", err)
	}
	topics, err := admin.ListTopics()
	check(err, "ListTopics")
	d, ok := topics[topic]
	if !ok || d.NumPartitions != 3 || d.ReplicationFactor != 1 {
		fail("ListTopics: %s is %+v (present %v)", topic, d, ok)
	}
	summary["list_topics_partitions"] = d.NumPartitions

	// SyncProducer: 30 keyed messages; offsets per partition are 0,1,2,...
	producer, err := sarama.NewSyncProducer(addrs, config())
	check(err, "NewSyncProducer")
	next := map[int32]int64{}
	const n = 30
	for i := 0; i < n; i++ {
		p, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic,
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		check(err, "SendMessage")
		if off != next[p] {
			fail("SendMessage %d: partition %d offset %d, want %d", i, p, off, next[p])
		}
		next[p]++
	}
	check(producer.Close(), "producer Close")
	summary["produced"] = n
	summary["partitions_used"] = len(next)

	// ConsumerGroup reads all 30 and commits; DescribeConsumerGroups while it runs.
	cg, err := sarama.NewConsumerGroup(addrs, group, config())
	check(err, "NewConsumerGroup")
	h := &groupHandler{seen: map[string]string{}, want: n, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "Consume: %v\n", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	go func() {
		for e := range cg.Errors() {
			fmt.Fprintf(os.Stderr, "group error: %v\n", e)
		}
	}()
	select {
	case <-h.done:
	case <-time.After(45 * time.Second):
		fail("consumer group read %d of %d messages in 45s", len(h.seen), n)
	}
	for i := 0; i < n; i++ {
		if h.seen[fmt.Sprintf("k%d", i)] != fmt.Sprintf("v%d", i) {
			fail("consumer group: k%d -> %q", i, h.seen[fmt.Sprintf("k%d", i)])
		}
	}
	groups, err := admin.DescribeConsumerGroups([]string{group})
	check(err, "DescribeConsumerGroups")
	if len(groups) != 1 || groups[0].GroupId != group || groups[0].Err != sarama.ErrNoError {
		fail("DescribeConsumerGroups: %+v", groups)
	}
	g := groups[0]
	summary["group_state"] = g.State
	summary["group_protocol_type"] = g.ProtocolType
	summary["group_protocol"] = g.Protocol
	summary["group_members"] = len(g.Members)
	for _, m := range g.Members {
		a, err := m.GetMemberAssignment()
		check(err, "GetMemberAssignment")
		parts := a.Topics[topic]
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		summary["member_assignment"] = parts
		summary["member_client_id"] = m.ClientId
	}
	cancel()
	wg.Wait()
	check(cg.Close(), "ConsumerGroup Close") // commits the marked offsets
	offs, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
	check(err, "ListConsumerGroupOffsets")
	committed := map[string]int64{}
	for p := int32(0); p < 3; p++ {
		b := offs.GetBlock(topic, p)
		if b == nil || b.Err != sarama.ErrNoError {
			fail("committed offset of partition %d: %+v", p, b)
		}
		want := next[p]
		if want == 0 {
			want = -1 // nothing read from it, nothing committed
		}
		if b.Offset != want {
			fail("committed offset of partition %d: %d, want %d", p, b.Offset, want)
		}
		committed[fmt.Sprint(p)] = b.Offset
	}
	summary["committed"] = committed
	summary["group_read"] = len(h.seen)

	// A committed and an aborted transaction through the low-level Broker API.
	summary["txn_visible"] = transactions(addrs, txTopic, prefix+"-txid")

	check(admin.DeleteTopic(topic), "DeleteTopic")
	deadline := time.Now().Add(15 * time.Second)
	for {
		topics, err = admin.ListTopics()
		check(err, "ListTopics after delete")
		if _, ok := topics[topic]; !ok {
			break
		}
		if time.Now().After(deadline) {
			fail("%s still listed 15s after DeleteTopic", topic)
		}
		time.Sleep(100 * time.Millisecond)
	}
	summary["deleted"] = true
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
}

func transactions(addrs []string, topic, txid string) []string {
	conf := config()
	client, err := sarama.NewClient(addrs, conf)
	check(err, "NewClient")
	defer client.Close()
	ctrl, err := client.Controller()
	check(err, "Controller")
	// The first FindCoordinator creates __transaction_state and answers
	// COORDINATOR_NOT_AVAILABLE until it is ready: retry, as clients do.
	var fc *sarama.FindCoordinatorResponse
	deadline := time.Now().Add(20 * time.Second)
	for {
		fc, err = ctrl.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 1, CoordinatorKey: txid,
			CoordinatorType: sarama.CoordinatorTransaction})
		check(err, "FindCoordinator")
		if fc.Err == sarama.ErrNoError && fc.Coordinator != nil {
			break
		}
		if fc.Err != sarama.ErrConsumerCoordinatorNotAvailable || time.Now().After(deadline) {
			fail("FindCoordinator(transaction): %v", fc.Err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	coord := fc.Coordinator
	if ok, _ := coord.Connected(); !ok {
		check(coord.Open(conf), "open coordinator")
	}
	defer coord.Close()
	id := txid
	ip, err := coord.InitProducerID(&sarama.InitProducerIDRequest{TransactionalID: &id, TransactionTimeout: 30 * time.Second})
	check(err, "InitProducerID")
	if ip.Err != sarama.ErrNoError || ip.ProducerID < 0 {
		fail("InitProducerID: %v pid %d", ip.Err, ip.ProducerID)
	}
	leader, err := client.Leader(topic, 0)
	check(err, "Leader")
	seq := int32(0)
	for i, commit := range []bool{true, false} {
		ap, err := coord.AddPartitionsToTxn(&sarama.AddPartitionsToTxnRequest{TransactionalID: txid,
			ProducerID: ip.ProducerID, ProducerEpoch: ip.ProducerEpoch, TopicPartitions: map[string][]int32{topic: {0}}})
		check(err, "AddPartitionsToTxn")
		for _, pe := range ap.Errors[topic] {
			if pe.Err != sarama.ErrNoError {
				fail("AddPartitionsToTxn partition %d: %v", pe.Partition, pe.Err)
			}
		}
		now := time.Now()
		batch := &sarama.RecordBatch{Version: 2, ProducerID: ip.ProducerID, ProducerEpoch: ip.ProducerEpoch,
			FirstSequence: seq, IsTransactional: true, FirstTimestamp: now, MaxTimestamp: now, LastOffsetDelta: 1,
			Records: []*sarama.Record{
				{OffsetDelta: 0, Key: []byte(fmt.Sprintf("t%d", i)), Value: []byte(fmt.Sprintf("txn%d-a", i))},
				{OffsetDelta: 1, Key: []byte(fmt.Sprintf("t%d", i)), Value: []byte(fmt.Sprintf("txn%d-b", i))}}}
		seq += 2
		req := &sarama.ProduceRequest{TransactionalID: &id, RequiredAcks: sarama.WaitForAll, Timeout: 10000, Version: 3}
		req.AddBatch(topic, 0, batch)
		pr, err := leader.Produce(req)
		check(err, "transactional Produce")
		if b := pr.GetBlock(topic, 0); b == nil || b.Err != sarama.ErrNoError {
			fail("transactional Produce: %+v", b)
		}
		et, err := coord.EndTxn(&sarama.EndTxnRequest{TransactionalID: txid, ProducerID: ip.ProducerID,
			ProducerEpoch: ip.ProducerEpoch, TransactionResult: commit})
		check(err, "EndTxn")
		if et.Err != sarama.ErrNoError {
			fail("EndTxn(commit=%v): %v", commit, et.Err)
		}
	}
	// A read_committed consumer sees the committed pair only; the end offset
	// counts both batches and both markers.
	conf.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumerFromClient(client)
	check(err, "NewConsumer")
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	check(err, "ConsumePartition")
	defer pc.Close()
	var got []string
	timeout := time.After(15 * time.Second)
	// Read until the records past the aborted batch would have arrived: the
	// high-water mark is 6 (2 records + marker, 2 records + marker).
	for len(got) < 2 {
		select {
		case m := <-pc.Messages():
			got = append(got, string(m.Value))
		case e := <-pc.Errors():
			fail("read_committed consumer: %v", e)
		case <-timeout:
			fail("read_committed consumer got %v in 15s", got)
		}
	}
	select {
	case m := <-pc.Messages():
		got = append(got, string(m.Value)) // an aborted record: reported by the caller's assertion
	case <-time.After(1500 * time.Millisecond):
	}
	if hw := pc.HighWaterMarkOffset(); hw != 6 {
		fail("high-water mark after two transactions: %d, want 6", hw)
	}
	return got
}
