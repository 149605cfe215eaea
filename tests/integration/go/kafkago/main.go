// segmentio/kafka-go (Debian's golang-github-segmentio-kafka-go-dev, 0.2.1)
// against a Flotilla node through its documented API. This kafka-go predates
// the Client type (0.4) and record batches: its admin calls are the Conn
// methods (CreateTopics v0, Metadata v1, ListOffsets v1, DeleteTopics v1), its
// Writer sends Produce v2 with message format v1 and its Reader sends Fetch
// v2. Kafka 4.0 removed those produce/fetch versions (KIP-896) and Flotilla
// serves neither message format v1 nor Fetch below v4, so test_go_clients.py
// runs `write` and `group-read` as expected failures checked for that cause.
//
// Usage: kafkago <mode> <bootstrap> <topic> [n]
//
//	admin       CreateTopics (2 partitions, twice: documented idempotent),
//	            ReadPartitions until both partitions have a leader
//	offsets     ReadOffsets of each partition: {"0":[first,last],...}
//	delete      DeleteTopics, then ReadPartitions until the topic is gone
//	write       Writer with the Hash balancer, n keyed messages k<i>=v<i>
//	group-read  Reader with GroupID <topic>-g reads n messages
//
// A failed check exits 1 with a message on stderr; on success the last stdout
// line is a JSON summary. Every wait is bounded.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	kafka "github.com/segmentio/kafka-go"
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

func emit(v interface{}) {
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: kafkago <mode> <bootstrap> <topic> [n]")
	}
	mode, bootstrap, topic := os.Args[1], os.Args[2], os.Args[3]
	n := 20
	if len(os.Args) > 4 {
		n, _ = strconv.Atoi(os.Args[4])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", bootstrap)
	check(err, "Dial")
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))

	switch mode {
	case "admin":
		check(conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 2, ReplicationFactor: 1}), "CreateTopics")
		// TOPIC_ALREADY_EXISTS is returned as nil; the partition count stays 2.
		check(conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 4, ReplicationFactor: 1}), "CreateTopics again")
		deadline := time.Now().Add(15 * time.Second)
		for {
			parts, err := conn.ReadPartitions(topic)
			if err == nil && len(parts) == 2 && parts[0].Leader.ID >= 0 && parts[1].Leader.ID >= 0 {
				leaders := map[string]int{}
				for _, p := range parts {
					leaders[strconv.Itoa(p.ID)] = p.Leader.ID
				}
				emit(map[string]interface{}{"partitions": len(parts), "leaders": leaders})
				return
			}
			if time.Now().After(deadline) {
				fail("ReadPartitions(%s): %v %+v", topic, err, parts)
			}
			time.Sleep(100 * time.Millisecond)
		}
	case "offsets":
		parts, err := conn.ReadPartitions(topic)
		check(err, "ReadPartitions")
		res := map[string][2]int64{}
		for _, p := range parts {
			lc, err := kafka.DialLeader(ctx, "tcp", bootstrap, topic, p.ID)
			check(err, "DialLeader")
			first, last, err := lc.ReadOffsets()
			lc.Close()
			check(err, "ReadOffsets")
			res[strconv.Itoa(p.ID)] = [2]int64{first, last}
		}
		emit(res)
	case "delete":
		check(conn.DeleteTopics(topic), "DeleteTopics")
		deadline := time.Now().Add(15 * time.Second)
		for {
			parts, err := conn.ReadPartitions(topic)
			if err != nil || len(parts) == 0 {
				emit(map[string]interface{}{"deleted": true, "error": fmt.Sprint(err)})
				return
			}
			if time.Now().After(deadline) {
				fail("%s still has partitions 15s after DeleteTopics", topic)
			}
			time.Sleep(100 * time.Millisecond)
		}
	case "write":
		w := kafka.NewWriter(kafka.WriterConfig{Brokers: []string{bootstrap}, Topic: topic, Balancer: &kafka.Hash{},
			BatchTimeout: 10 * time.Millisecond, RequiredAcks: -1, MaxAttempts: 2})
		var msgs []kafka.Message
		for i := 0; i < n; i++ {
			msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))})
		}
		check(w.WriteMessages(ctx, msgs...), "WriteMessages")
		check(w.Close(), "Writer Close")
		emit(map[string]interface{}{"written": n})
	case "group-read":
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap}, GroupID: topic + "-g", Topic: topic,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond,
			SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second})
		seen := map[string]string{}
		for len(seen) < n {
			m, err := r.ReadMessage(ctx) // commits what it returns
			check(err, fmt.Sprintf("ReadMessage after %d", len(seen)))
			seen[string(m.Key)] = string(m.Value)
		}
		check(r.Close(), "Reader Close")
		emit(map[string]interface{}{"read": seen})
	default:
		fail("unknown mode %s", mode)
	}
}
