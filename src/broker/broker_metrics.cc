// BrokerMetrics: the broker's counter families, topics' cached children, and
// the event loop's snapshot for the scrape-time gauges (broker_metrics.h).
#include "broker/broker_metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>

#include "broker/replica_manager.h"
#include "common/clock.h"
#include "coordinator/consumer_group.h"
#include "coordinator/group_coordinator.h"
#include "coordinator/group_service.h"
#include "protocol/api.h"
#include "storage/log.h"

namespace flotilla::broker {
namespace {

// BrokerTopicMetrics' meters, in TopicCounters' order: (Kafka name, help).
constexpr std::pair<const char*, const char*> kTopicMeters[] = {
    {"messagesin", "Records appended by producers (MessagesInPerSec)"},
    {"bytesin", "Bytes appended by producers (BytesInPerSec)"},
    {"bytesout", "Bytes sent to consumers (BytesOutPerSec)"},
    {"bytesrejected", "Bytes of produced batches refused as too large (BytesRejectedPerSec)"},
    {"failedproducerequests", "Produce partition requests that failed (FailedProduceRequestsPerSec)"},
    {"failedfetchrequests", "Fetch partition requests that failed (FailedFetchRequestsPerSec)"},
    {"totalproducerequests", "Produce partition requests (TotalProduceRequestsPerSec)"},
    {"totalfetchrequests", "Fetch partition requests (TotalFetchRequestsPerSec)"},
};

// ErrorsPerSec children, cached per (api key, error code): one row of
// slots per API key, allocated when the key first reports an error count.
constexpr int kMaxKey = 128, kMinError = -1, kMaxError = 160;
using ErrorRow = std::array<std::atomic<metrics::Counter*>, kMaxError - kMinError>;

struct ErrorTable {
  std::array<std::atomic<ErrorRow*>, kMaxKey> rows{};
  std::mutex mu;  // creation only
  std::vector<std::unique_ptr<ErrorRow>> owned_rows;
  metrics::Family<metrics::Counter>& family = metrics::global().counter(
      "kafka_network_requestmetrics_errors_total", "Errors in responses, by Kafka API name and error name, NONE included (ErrorsPerSec)",
      {"request", "error"});
};

ErrorTable& error_table() {
  static ErrorTable* t = new ErrorTable();
  return *t;
}

}  // namespace

BrokerMetrics& BrokerMetrics::get() {
  static BrokerMetrics* m = new BrokerMetrics();  // never destroyed: counters outlive static destruction order
  return *m;
}

BrokerMetrics::BrokerMetrics() {
  auto& r = metrics::global();
  for (const auto& [name, help] : kTopicMeters)
    families_.push_back(&r.counter(std::string("kafka_server_brokertopicmetrics_") + name + "_total", help, {"topic"}));
  all_ = counters_of({});
  replication_bytes_in_ = r.counter("kafka_server_brokertopicmetrics_replicationbytesin_total",
                                    "Bytes appended by this broker's replica fetchers (ReplicationBytesInPerSec)")
                              .with({});
  replication_bytes_out_ = r.counter("kafka_server_brokertopicmetrics_replicationbytesout_total",
                                     "Bytes sent to follower replicas (ReplicationBytesOutPerSec)")
                               .with({});
  isr_shrinks_ = r.counter("kafka_server_replicamanager_isrshrinks_total", "ISR shrinks of partitions led here (IsrShrinksPerSec)").with({});
  isr_expands_ = r.counter("kafka_server_replicamanager_isrexpands_total", "ISR expansions of partitions led here (IsrExpandsPerSec)").with({});
}

TopicCounters BrokerMetrics::counters_of(std::vector<std::string> labels) {
  TopicCounters c;
  std::shared_ptr<metrics::Counter>* order[] = {&c.messages_in,    &c.bytes_in,     &c.bytes_out,     &c.bytes_rejected,
                                                &c.failed_produce, &c.failed_fetch, &c.total_produce, &c.total_fetch};
  for (size_t i = 0; i < families_.size(); ++i) *order[i] = families_[i]->with(labels);
  return c;
}

std::shared_ptr<const TopicMetrics> BrokerMetrics::topic(const std::string& name) {
  return std::make_shared<const TopicMetrics>(counters_of({name}), all_);
}

void BrokerMetrics::remove_topic(const std::string& name) {
  for (auto* f : families_) f->remove({name});
}

metrics::Counter& BrokerMetrics::errors(int16_t api_key, ErrorCode error) {
  ErrorTable& t = error_table();
  const int e = static_cast<int>(code(error));
  std::atomic<metrics::Counter*>* slot = nullptr;
  ErrorRow* row = nullptr;
  const bool cached = api_key >= 0 && api_key < kMaxKey && e >= kMinError && e < kMaxError;
  if (cached) {
    row = t.rows[static_cast<size_t>(api_key)].load(std::memory_order_acquire);
    if (row) {
      slot = &(*row)[static_cast<size_t>(e - kMinError)];
      if (metrics::Counter* c = slot->load(std::memory_order_acquire)) return *c;
    }
  }
  const protocol::ApiInfo* info = protocol::api_info(api_key);
  std::lock_guard lock(t.mu);
  if (cached && !row) {
    row = t.rows[static_cast<size_t>(api_key)].load(std::memory_order_acquire);
    if (!row) {
      t.owned_rows.push_back(std::make_unique<ErrorRow>());
      row = t.owned_rows.back().get();
      for (auto& a : *row) a.store(nullptr, std::memory_order_relaxed);
      t.rows[static_cast<size_t>(api_key)].store(row, std::memory_order_release);
    }
    slot = &(*row)[static_cast<size_t>(e - kMinError)];
  }
  if (slot)
    if (metrics::Counter* c = slot->load(std::memory_order_acquire)) return *c;
  // The family keeps the child for the process's life (never removed).
  auto c = t.family.with({info ? info->name : std::to_string(api_key), std::string(error_name(error))});
  if (slot) slot->store(c.get(), std::memory_order_release);
  return *c;
}

bool counts_as_failed_produce(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE:
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::CORRUPT_MESSAGE:
    case ErrorCode::KAFKA_STORAGE_ERROR:
      return false;
    default:
      return true;
  }
}

bool counts_as_failed_fetch(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE:
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::UNKNOWN_LEADER_EPOCH:
    case ErrorCode::FENCED_LEADER_EPOCH:
    case ErrorCode::REPLICA_NOT_AVAILABLE:
    case ErrorCode::KAFKA_STORAGE_ERROR:
    case ErrorCode::INCONSISTENT_TOPIC_ID:
    case ErrorCode::OFFSET_OUT_OF_RANGE:
    case ErrorCode::UNKNOWN_TOPIC_ID:
      return false;
    default:
      return true;
  }
}

namespace {
// The group coordinator's counts (a handful of groups per broker: one piece).
void count_groups(BrokerSnapshot& s, coordinator::GroupCoordinatorService* groups) {
  if (groups) {
    s.has_groups = true;
    GroupCounts& g = s.groups;
    std::vector<coordinator::ListedGroup> classic;
    groups->coordinator().list_groups({}, classic);  // COORDINATOR_LOAD_IN_PROGRESS still lists the loaded ones
    for (const auto& lg : classic) {
      std::vector<coordinator::FetchedOffset> offsets;
      if (groups->coordinator().fetch_offsets(lg.group_id, std::nullopt, offsets) == ErrorCode::NONE) g.offsets += static_cast<int64_t>(offsets.size());
      if (groups->consumer_groups().has_group(lg.group_id)) continue;  // the classic side only holds its offsets
      ++g.groups;
      if (lg.state == "PreparingRebalance") ++g.preparing_rebalance;
      else if (lg.state == "CompletingRebalance") ++g.completing_rebalance;
      else if (lg.state == "Stable") ++g.stable;
      else if (lg.state == "Dead") ++g.dead;
      else if (lg.state == "Empty") ++g.empty;
    }
    for (const auto& cg : groups->consumer_groups().list()) {
      ++g.groups;
      const std::string st = cg.state;
      if (st == "Stable" || st == "stable") ++g.stable;
      else if (st == "Empty" || st == "empty") ++g.empty;
      else if (st == "Dead" || st == "dead") ++g.dead;
    }
  }
}
}  // namespace

BrokerSnapshotTaker::BrokerSnapshotTaker(ReplicaManager& replicas, coordinator::GroupCoordinatorService* groups)
    : replicas_(replicas), groups_(groups), snapshot_(std::make_shared<BrokerSnapshot>()) {}

void BrokerSnapshotTaker::list() {
  snapshot_->taken_ms = wall_clock_ms();
  listing_ = replicas_.partition_keys();
  count_groups(*snapshot_, groups_);
}

std::shared_ptr<const BrokerSnapshot> BrokerSnapshotTaker::take() {
  constexpr auto r = std::memory_order_relaxed;
  const PartitionListing& l = *listing_;
  snapshot_->names = listing_;
  snapshot_->partitions.reserve(l.gauges.size());
  for (size_t i = 0; i < l.gauges.size(); ++i) {
    const PartitionGauges& g = *l.gauges[i];
    PartitionStat st;
    st.topic = l.topics[i].get();  // one name per topic (sorted by below), held by snapshot_->names
    st.partition = l.indexes[i];  // not l.partitions[i]->index: the Partition is the loop's, and may be gone
    st.offline = g.offline.load(r);
    if (!st.offline) {
      st.size = g.log.size_bytes.load(r);
      st.log_end_offset = g.log.log_end_offset.load(r);
      st.log_start_offset = g.log.log_start_offset.load(r);
      st.segments = g.log.segments.load(r);
    }
    st.leader = g.leader.load(r);
    st.replicas = g.replicas.load(r);
    st.isr = g.isr.load(r);
    st.min_isr = g.min_isr.load(r);
    snapshot_->partitions.push_back(std::move(st));
  }
  std::sort(snapshot_->partitions.begin(), snapshot_->partitions.end(), [](const PartitionStat& a, const PartitionStat& b) {
    if (a.topic != b.topic) return *a.topic < *b.topic;  // one shared name per topic
    return a.partition < b.partition;
  });
  return std::move(snapshot_);
}

ReplicaCounts replica_counts(const BrokerSnapshot& s) {
  ReplicaCounts c;
  for (const PartitionStat& p : s.partitions) {
    ++c.partitions;
    if (p.offline) ++c.offline;
    if (!p.leader || p.offline) continue;
    ++c.leaders;
    if (p.isr < p.replicas) ++c.under_replicated;
    if (p.isr < p.min_isr) ++c.under_min_isr;
    else if (p.isr == p.min_isr) ++c.at_min_isr;
  }
  return c;
}

}  // namespace flotilla::broker
