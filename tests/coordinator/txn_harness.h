// The transaction coordinator's test harness: a fake clock, store, marker
// writer and producer id source around one TxnCoordinator that leads
// __transaction_state-0 (a single partition). Single-threaded, as the
// coordinator.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>

#include "coordinator/txn_coordinator.h"

namespace flotilla::coordinator::testing_txn {

class FakeTxnStore : public TxnStore {
 public:
  struct Append {
    int32_t partition;
    std::vector<TxnRecord> records;
    std::function<void(ErrorCode)> done;
  };
  void append(int32_t partition, int32_t, std::vector<TxnRecord> records, std::function<void(ErrorCode)> done) override {
    pending.push_back(Append{partition, std::move(records), std::move(done)});
  }
  void load(int32_t partition, int32_t, std::function<void(std::optional<LoadedTxnPartition>)> done) override {
    loads.emplace_back(partition, std::move(done));
  }
  // Completes every pending append; only successful ones reach the log.
  void commit_all(ErrorCode e = ErrorCode::NONE) {
    while (!pending.empty()) {
      auto a = std::move(pending.front());
      pending.pop_front();
      if (e == ErrorCode::NONE) log[a.partition].insert(log[a.partition].end(), a.records.begin(), a.records.end());
      a.done(e);
    }
  }
  void finish_loads() {
    while (!loads.empty()) {
      auto [p, done] = std::move(loads.front());
      loads.pop_front();
      LoadedTxnPartition state;
      for (const auto& r : log[p]) state.apply(decode_txn_log_record(r.key, r.value));
      done(std::move(state));
    }
  }
  TransactionMetadata last_value(int32_t partition = 0) {
    auto r = decode_txn_log_record(log[partition].back().key, log[partition].back().value);
    return *r.value;
  }
  std::map<int32_t, std::vector<TxnRecord>> log;
  std::deque<Append> pending;
  std::deque<std::pair<int32_t, std::function<void(std::optional<LoadedTxnPartition>)>>> loads;
};

class FakeMarkers : public TxnMarkerWriter {
 public:
  void write_markers(TxnMarkers m, std::function<void(ErrorCode)> done) override { pending.emplace_back(std::move(m), std::move(done)); }
  void finish_all(ErrorCode e = ErrorCode::NONE) {
    while (!pending.empty()) {
      auto [m, done] = std::move(pending.front());
      pending.pop_front();
      written.push_back(m);
      done(e);
    }
  }
  std::deque<std::pair<TxnMarkers, std::function<void(ErrorCode)>>> pending;
  std::vector<TxnMarkers> written;
};

class FakeIds : public ProducerIdSource {
 public:
  void generate(std::function<void(ErrorCode, int64_t)> done) override {
    if (fail != ErrorCode::NONE) return done(fail, -1);
    done(ErrorCode::NONE, next++);
  }
  int64_t next = 1000;
  ErrorCode fail = ErrorCode::NONE;
};

struct Harness {
  int64_t now = 1'700'000'000'000;
  FakeTxnStore store;
  FakeMarkers markers;
  FakeIds ids;
  TxnCoordinatorConfig cfg;
  std::unique_ptr<TxnCoordinator> tc;
  Harness() {
    cfg.transaction_state_log_num_partitions = 1;
    cfg.offsets_topic_num_partitions = 50;
    tc = std::make_unique<TxnCoordinator>(cfg, store, markers, ids, [this] { return now; });
    tc->on_leadership(0, 1, true);
    store.finish_loads();
  }
  InitProducerIdResult init(const std::string& id, int32_t timeout = 60000, std::optional<ProducerIdAndEpoch> expected = std::nullopt,
                            bool commit = true) {
    std::optional<InitProducerIdResult> out;
    tc->init_producer_id(id, timeout, expected, [&](InitProducerIdResult r) { out = r; });
    if (commit) store.commit_all();
    EXPECT_TRUE(out.has_value());
    return out.value_or(InitProducerIdResult{ErrorCode::UNKNOWN_SERVER_ERROR});
  }
  // InitProducerId whose writes stay pending (store.pending): its answer, once there is one.
  std::shared_ptr<std::optional<InitProducerIdResult>> init_pending(const std::string& id) {
    auto out = std::make_shared<std::optional<InitProducerIdResult>>();
    tc->init_producer_id(id, 60000, std::nullopt, [out](InitProducerIdResult r) { *out = r; });
    return out;
  }
  ErrorCode add(const std::string& id, int64_t pid, int16_t epoch, std::vector<TopicPartitionKey> parts, bool commit = true) {
    std::optional<ErrorCode> out;
    tc->add_partitions_to_txn(id, pid, epoch, parts, [&](ErrorCode e) { out = e; });
    if (commit) store.commit_all();
    EXPECT_TRUE(out.has_value());
    return out.value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
  }
  // An Ongoing transaction of `id` on t-0 (InitProducerId, AddPartitionsToTxn); its producer.
  InitProducerIdResult begin(const std::string& id, int32_t timeout = 60000) {
    InitProducerIdResult r = init(id, timeout);
    EXPECT_EQ(add(id, r.producer_id, 0, {{"t", 0}}), ErrorCode::NONE);
    return r;
  }
  ErrorCode add_offsets(const std::string& id, int64_t pid, int16_t epoch, const std::string& group) {
    std::optional<ErrorCode> out;
    tc->add_offsets_to_txn(id, pid, epoch, group, [&](ErrorCode e) { out = e; });
    store.commit_all();
    EXPECT_TRUE(out.has_value());
    return out.value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
  }
  ErrorCode end(const std::string& id, int64_t pid, int16_t epoch, TxnResult r, bool commit = true) {
    std::optional<ErrorCode> out;
    tc->end_txn(id, pid, epoch, r, [&](ErrorCode e) { out = e; });
    if (commit) store.commit_all();
    EXPECT_TRUE(out.has_value());
    return out.value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
  }
  const TransactionMetadata& md(const std::string& id) {
    const TransactionMetadata* m = tc->metadata_of(id);
    EXPECT_NE(m, nullptr);
    static TransactionMetadata none;
    return m ? *m : none;
  }
};

}  // namespace flotilla::coordinator::testing_txn
