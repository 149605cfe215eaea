// The broker's metric families (Kafka's MBeans as the JMX exporter's common
// Kafka rules name them) and the snapshot its scrape-time gauges read:
//   BrokerTopicMetrics   kafka_server_brokertopicmetrics_<name>_total{topic}
//                        (each per topic, and for all topics without a label)
//   ReplicaManager       kafka_server_replicamanager_isrshrinks_total / _isrexpands_total
//   RequestMetrics       kafka_network_requestmetrics_errors_total{request,error}
// The ReplicaManager gauges, the per-partition log series and the group
// coordinator's counts are computed at scrape time (http/metrics_broker.cc)
// from a BrokerSnapshot: the event loop lists the partitions (a kept listing)
// and counts the groups, the HTTP thread reads each partition's gauges.
//
// Invariants: a Partition holds its topic's TopicMetrics (looked up once, when
// the partition is created here), so the produce and fetch paths update it
// with relaxed atomic adds only — no lookup, no lock. A topic deleted from the
// image stops being rendered (remove_topic); holders keep valid counters.
//
// Threading: updates from any thread; topic()/remove_topic() take the
// families' mutex (partition creation and deletion, never per request);
// BrokerSnapshotTaker::list() on the broker's event loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/metrics.h"

namespace flotilla::coordinator {
class GroupCoordinatorService;
}

namespace flotilla::broker {

class ReplicaManager;
struct PartitionListing;  // broker/replica_manager.h

// One label set of the BrokerTopicMetrics counters (a topic, or all topics).
struct TopicCounters {
  std::shared_ptr<metrics::Counter> messages_in, bytes_in, bytes_out, bytes_rejected, failed_produce, failed_fetch, total_produce,
      total_fetch;
};

// A topic's counters and the all-topics ones: each event updates both.
class TopicMetrics {
 public:
  TopicMetrics(TopicCounters topic, const TopicCounters& all) : t_(std::move(topic)), all_(all) {}
  // A produced partition's append: `records` records of `bytes` bytes appended.
  void produced(uint64_t records, uint64_t bytes) const {
    t_.messages_in->inc(records), all_.messages_in->inc(records);
    t_.bytes_in->inc(bytes), all_.bytes_in->inc(bytes);
  }
  void produce_request() const { t_.total_produce->inc(), all_.total_produce->inc(); }
  void produce_failed() const { t_.failed_produce->inc(), all_.failed_produce->inc(); }
  void bytes_rejected(uint64_t bytes) const { t_.bytes_rejected->inc(bytes), all_.bytes_rejected->inc(bytes); }
  void fetch_request() const { t_.total_fetch->inc(), all_.total_fetch->inc(); }
  void fetch_failed() const { t_.failed_fetch->inc(), all_.failed_fetch->inc(); }
  void bytes_out(uint64_t bytes) const { t_.bytes_out->inc(bytes), all_.bytes_out->inc(bytes); }

 private:
  TopicCounters t_;
  const TopicCounters& all_;
};

class BrokerMetrics {
 public:
  static BrokerMetrics& get();  // the process's (metrics::global())

  std::shared_ptr<const TopicMetrics> topic(const std::string& name);
  void remove_topic(const std::string& name);

  // Replication (all topics only, as in Kafka).
  metrics::Counter& replication_bytes_in() { return *replication_bytes_in_; }
  metrics::Counter& replication_bytes_out() { return *replication_bytes_out_; }
  // ReplicaManager: an ISR change this leader asked for was accepted.
  metrics::Counter& isr_shrinks() { return *isr_shrinks_; }
  metrics::Counter& isr_expands() { return *isr_expands_; }
  // RequestMetrics ErrorsPerSec: one response's error counts (NONE included), as Kafka's errorCounts.
  metrics::Counter& errors(int16_t api_key, ErrorCode error);

 private:
  BrokerMetrics();
  TopicCounters counters_of(std::vector<std::string> labels);
  std::vector<metrics::Family<metrics::Counter>*> families_;
  TopicCounters all_;
  std::shared_ptr<metrics::Counter> replication_bytes_in_, replication_bytes_out_, isr_shrinks_, isr_expands_;
};

// Kafka's failed-request rule: the errors Kafka's ReplicaManager answers
// without marking Failed{Produce,Fetch}RequestsPerSec (the partition is not
// here, or not led here, or the input was refused as too large or corrupt).
bool counts_as_failed_produce(ErrorCode e);
bool counts_as_failed_fetch(ErrorCode e);

// What the scrape-time gauges read.
struct PartitionStat {
  const std::string* topic = nullptr;  // one per topic, kept alive by BrokerSnapshot::names
  int32_t partition = 0;
  int64_t size = 0, log_end_offset = 0, log_start_offset = 0;
  int32_t segments = 0;
  bool leader = false, offline = false;
  int32_t replicas = 0, isr = 0, min_isr = 1;
};

struct GroupCounts {
  int64_t groups = 0, offsets = 0, preparing_rebalance = 0, completing_rebalance = 0, stable = 0, dead = 0, empty = 0;
};

struct BrokerSnapshot {
  int64_t taken_ms = 0;
  std::shared_ptr<const void> names;  // holds the topic names the partitions point to (no refcount per partition)
  std::vector<PartitionStat> partitions;
  bool has_groups = false;
  GroupCounts groups;
};

// A BrokerSnapshot taken in two parts. list() on the event loop: ReplicaManager's
// partition listing (kept until a partition comes or goes, so usually a
// pointer copy) and the group counts. take() on the HTTP thread: every listed
// partition's gauges (PartitionGauges, storage::LogGauges: relaxed atomics the
// loop republishes as they change). The loop's share no longer grows with the
// partitions: copying 10,000 partitions' values on the loop, even 64 per turn,
// held each produce request behind a slice per turn of the loop and moved the
// produce p99 under a 1/s scrape. A partition deleted after list() is still
// reported by this scrape (its gauges outlive it): its offsets as they were,
// no segments and no bytes (its files are gone).
class BrokerSnapshotTaker {
 public:
  // `groups` may be null (no group coordinator).
  BrokerSnapshotTaker(ReplicaManager& replicas, coordinator::GroupCoordinatorService* groups);
  // On the event loop, once.
  void list();
  // The snapshot, sorted by topic and partition: after list(), on any thread, once.
  std::shared_ptr<const BrokerSnapshot> take();

 private:
  ReplicaManager& replicas_;
  coordinator::GroupCoordinatorService* groups_;
  std::shared_ptr<BrokerSnapshot> snapshot_;
  std::shared_ptr<const PartitionListing> listing_;  // ReplicaManager's, as list() found it
};


// The counts of a snapshot's ReplicaManager gauges.
struct ReplicaCounts {
  int64_t partitions = 0, leaders = 0, under_replicated = 0, under_min_isr = 0, at_min_isr = 0, offline = 0;
};
ReplicaCounts replica_counts(const BrokerSnapshot& s);

}  // namespace flotilla::broker
