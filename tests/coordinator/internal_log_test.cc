// The coordinators' internal-topic log (internal_log.h) and what rides on it
// (ReplicaGroupStore, ProducerIdManager) against an in-memory PartitionHost:
// appends as the leader at the coordinator epoch, answered once committed and
// never inside the call; loads that see records, transactional records and
// markers, and give up when the leadership moves.
#include "coordinator/internal_log.h"

#include <gtest/gtest.h>

#include "coordinator/group_log.h"
#include "coordinator/producer_id_manager.h"
#include "fake_host.h"

namespace flotilla::coordinator {
namespace {

using testing::FakeHost;

constexpr const char* kTopic = "__internal";

struct Harness {
  asio::io_context io;
  FakeHost host{io};
  InternalTopicLog log{io, host, kTopic, 5000, "Test"};

  std::shared_ptr<std::optional<ErrorCode>> append(int32_t partition, int32_t epoch, std::vector<InternalRecord> records,
                                                   std::optional<TxnProducer> txn = std::nullopt) {
    auto out = std::make_shared<std::optional<ErrorCode>>();
    log.append(partition, epoch, std::move(records), txn, [out](ErrorCode e) {
      EXPECT_FALSE(out->has_value());  // exactly once
      *out = e;
    });
    EXPECT_FALSE(out->has_value());  // never inside the call
    return out;
  }
  void run() {
    io.restart();
    io.poll();
  }
};

InternalRecord rec(const std::string& key, std::optional<std::string> value) {
  InternalRecord r{std::vector<uint8_t>(key.begin(), key.end()), std::nullopt};
  if (value) r.value = std::vector<uint8_t>(value->begin(), value->end());
  return r;
}

std::string str(const std::optional<std::vector<uint8_t>>& b) { return b ? std::string(b->begin(), b->end()) : "<null>"; }

TEST(InternalTopicLog, AppendAnsweredOnceCommitted) {
  Harness h;
  FakeHost::Log& l = h.host.lead(kTopic, 0, 3);
  auto done = h.append(0, 3, {rec("k1", "v1"), rec("k2", std::nullopt)});
  h.run();
  EXPECT_FALSE(done->has_value());  // appended, not committed
  ASSERT_EQ(l.batches.size(), 1u);
  EXPECT_EQ(l.origins[0], AppendOrigin::Client);
  EXPECT_EQ(h.host.timeouts, std::vector<int64_t>{5000});
  records::BatchHeader bh;
  ASSERT_TRUE(records::parse_header(l.batches[0], bh));
  EXPECT_EQ(bh.partition_leader_epoch, 3);
  EXPECT_FALSE(bh.is_transactional());
  auto recs = records::decode_records(l.batches[0]);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(str(recs[0].key), "k1");
  EXPECT_EQ(str(recs[0].value), "v1");
  EXPECT_EQ(str(recs[1].value), "<null>");  // a tombstone
  h.host.commit(kTopic, 0, 1);  // not past the last record yet
  EXPECT_FALSE(done->has_value());
  h.host.commit(kTopic, 0, 2);
  EXPECT_EQ(*done, ErrorCode::NONE);
}

TEST(InternalTopicLog, TransactionalAppendIsTheProducersBatch) {
  Harness h;
  FakeHost::Log& l = h.host.lead(kTopic, 0, 1);
  auto done = h.append(0, 1, {rec("k", "v")}, TxnProducer{42, 5});
  h.host.commit(kTopic, 0, 1);
  h.run();
  EXPECT_EQ(*done, ErrorCode::NONE);
  ASSERT_EQ(l.batches.size(), 1u);
  EXPECT_EQ(l.origins[0], AppendOrigin::Coordinator);
  records::BatchHeader bh;
  ASSERT_TRUE(records::parse_header(l.batches[0], bh));
  EXPECT_TRUE(bh.is_transactional());
  EXPECT_EQ(bh.producer_id, 42);
  EXPECT_EQ(bh.producer_epoch, 5);
}

TEST(InternalTopicLog, AppendErrors) {
  Harness h;
  auto unknown = h.append(0, 1, {rec("k", "v")});
  h.host.lead(kTopic, 1, 4);
  auto stale = h.append(1, 3, {rec("k", "v")});  // another coordinator epoch
  h.host.follow(kTopic, 2, 4);
  auto follower = h.append(2, 4, {rec("k", "v")});
  h.host.lead(kTopic, 3, 1).fail_appends = ErrorCode::NOT_ENOUGH_REPLICAS;
  auto rejected = h.append(3, 1, {rec("k", "v")});
  h.run();
  EXPECT_EQ(*unknown, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(*stale, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(*follower, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(*rejected, ErrorCode::NOT_ENOUGH_REPLICAS);
  EXPECT_TRUE((h.host.logs[{kTopic, 1}].batches.empty()));
}

TEST(InternalTopicLog, LeadershipLossOrTimeoutEndsTheWait) {
  Harness h;
  h.host.lead(kTopic, 0, 1);
  h.host.lead(kTopic, 1, 1);
  auto moved = h.append(0, 1, {rec("k", "v")});
  auto slow = h.append(1, 1, {rec("k", "v")});
  h.run();
  h.host.lead(kTopic, 0, 2);  // a new leader epoch (this node again): the write was the old coordinator's
  EXPECT_EQ(*moved, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_FALSE(slow->has_value());
  h.host.expire_all();
  EXPECT_EQ(*slow, ErrorCode::REQUEST_TIMED_OUT);
}

TEST(InternalTopicLog, LoadSeesRecordsTransactionsAndMarkers) {
  Harness h;
  h.host.lead(kTopic, 0, 1);
  h.append(0, 1, {rec("a", "1"), rec("b", "2")});
  h.append(0, 1, {rec("c", "3")}, TxnProducer{9, 0});
  EXPECT_EQ(h.host.append_marker(kTopic, 0, 9, 0, 1, true).last_offset, 3);
  h.append(0, 1, {rec("a", std::nullopt)});
  std::vector<std::string> seen;
  InternalTopicLog::Visitor v;
  v.record = [&](const records::Record& r, int64_t pid) { seen.push_back(str(r.key) + "=" + str(r.value) + "@" + std::to_string(pid)); };
  v.marker = [&](int64_t pid, bool commit) { seen.push_back("marker " + std::to_string(pid) + (commit ? " commit" : " abort")); };
  std::optional<std::pair<bool, int64_t>> done;
  h.log.load(0, 1, v, [&](bool ok, int64_t n) { done = {ok, n}; });
  EXPECT_FALSE(done);  // never inside the call
  h.run();
  ASSERT_TRUE(done);
  EXPECT_TRUE(done->first);
  EXPECT_EQ(done->second, 4);
  EXPECT_EQ(seen, (std::vector<std::string>{"a=1@-1", "b=2@-1", "c=3@9", "marker 9 commit", "a=<null>@-1"}));
}

TEST(InternalTopicLog, LoadGivesUpWhenLeadershipMoved) {
  Harness h;
  h.host.lead(kTopic, 0, 1);
  h.append(0, 1, {rec("a", "1")});
  std::optional<bool> ok;
  h.log.load(0, 1, InternalTopicLog::Visitor{[](const records::Record&, int64_t) {}, nullptr}, [&](bool o, int64_t) { ok = o; });
  h.host.follow(kTopic, 0, 2);
  h.run();
  EXPECT_EQ(ok, false);
}

TEST(ReplicaGroupStore, LoadsWhatItAppended) {
  asio::io_context io;
  FakeHost host{io};
  host.lead(kGroupMetadataTopic, 0, 1);
  ReplicaGroupStore store(io, host, 5000);
  OffsetValue v;
  v.offset = 17;
  v.commit_timestamp = 1000;
  store.append(0, 1, {GroupRecord{encode_offset_key("g", "t", 0), encode_offset_value(v)}}, [](ErrorCode) {});
  store.append_txn(0, 1, {GroupRecord{encode_offset_key("g", "t", 1), encode_offset_value(v)}}, TxnProducer{5, 0}, [](ErrorCode) {});
  std::optional<LoadedPartition> loaded;
  store.load(0, 1, [&](std::optional<LoadedPartition> p) { loaded = std::move(p); });
  io.poll();
  ASSERT_TRUE(loaded);
  const TopicPartitionKey t0{"t", 0}, t1{"t", 1};
  EXPECT_EQ(loaded->offsets["g"][t0], v);
  EXPECT_FALSE(loaded->offsets["g"].count(t1));  // pending until its marker
  EXPECT_EQ(loaded->pending_txn_offsets[5]["g"][t1], v);
}

// Answers the host's oldest AllocateProducerIds with a block (or an error).
void answer(FakeHost& host, int64_t start, int32_t len, ErrorCode e = ErrorCode::NONE) {
  auto [req, done] = std::move(host.allocations.front());
  host.allocations.pop_front();
  msg::AllocateProducerIdsResponse r;
  r.error_code = static_cast<int16_t>(e);
  r.producer_id_start = start;
  r.producer_id_len = len;
  done(r);
}

TEST(ProducerIdManager, BlocksFromTheControllerPrefetchedAt90Percent) {
  asio::io_context io;
  FakeHost host{io};
  ProducerIdManager ids(host);
  std::vector<int64_t> got;
  auto take = [&] { ids.generate([&](ErrorCode e, int64_t id) { got.push_back(e == ErrorCode::NONE ? id : -1); }); };
  take();  // waits for the first block
  ASSERT_EQ(host.allocations.size(), 1u);
  EXPECT_EQ(host.allocations.front().first.broker_id, 1);
  EXPECT_EQ(host.allocations.front().first.broker_epoch, 7);
  EXPECT_TRUE(got.empty());
  answer(host, 1000, 100);
  EXPECT_EQ(got, std::vector<int64_t>{1000});
  for (int i = 0; i < 89; ++i) take();  // up to 1089: 10 left
  EXPECT_EQ(got.back(), 1089);
  EXPECT_TRUE(host.allocations.empty());
  take();  // 1090: under 10% left, the next block is asked for
  ASSERT_EQ(host.allocations.size(), 1u);
  answer(host, 5000, 100);
  for (int i = 0; i < 10; ++i) take();  // the rest of the first block, then the next
  EXPECT_EQ(got[got.size() - 2], 1099);
  EXPECT_EQ(got.back(), 5000);
}

TEST(ProducerIdManager, FailedAllocationAnswersWaitersLoadInProgress) {
  asio::io_context io;
  FakeHost host{io};
  ProducerIdManager ids(host);
  std::vector<ErrorCode> got;
  for (int i = 0; i < 2; ++i) ids.generate([&](ErrorCode e, int64_t) { got.push_back(e); });
  ASSERT_EQ(host.allocations.size(), 1u);  // one request for both
  answer(host, -1, 0, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(got, (std::vector<ErrorCode>{ErrorCode::COORDINATOR_LOAD_IN_PROGRESS, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS}));
}

}  // namespace
}  // namespace flotilla::coordinator
