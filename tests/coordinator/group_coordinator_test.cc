// The classic group coordinator's state machine on a fake clock and a fake
// store, and the __consumer_offsets record formats against Kafka's bytes.
#include "coordinator/group_coordinator.h"

#include <gtest/gtest.h>

#include <deque>

#include "common/bytes.h"

namespace flotilla::coordinator {
namespace {

class FakeStore : public GroupStore {
 public:
  struct Append {
    int32_t partition;
    std::vector<GroupRecord> records;
    std::function<void(ErrorCode)> done;
  };
  void append(int32_t partition, int32_t, std::vector<GroupRecord> records, std::function<void(ErrorCode)> done) override {
    log[partition].insert(log[partition].end(), records.begin(), records.end());
    pending.push_back(Append{partition, std::move(records), std::move(done)});
  }
  void append_txn(int32_t partition, int32_t epoch, std::vector<GroupRecord> records, TxnProducer producer,
                  std::function<void(ErrorCode)> done) override {
    txn_producers.push_back(producer.producer_id);
    append(partition, epoch, std::move(records), std::move(done));
  }
  void load(int32_t partition, int32_t, std::function<void(std::optional<LoadedPartition>)> done) override {
    loads.emplace_back(partition, std::move(done));
  }
  std::vector<int64_t> txn_producers;  // the producer of each transactional append
  // Completes every pending append (as the high watermark passing them).
  void commit_all(ErrorCode e = ErrorCode::NONE) {
    while (!pending.empty()) {
      auto a = std::move(pending.front());
      pending.pop_front();
      a.done(e);
    }
  }
  void finish_loads() {
    while (!loads.empty()) {
      auto [p, done] = std::move(loads.front());
      loads.pop_front();
      LoadedPartition state;
      for (const auto& r : log[p]) state.apply(decode_group_log_record(r.key, r.value));
      done(std::move(state));
    }
  }
  std::map<int32_t, std::vector<GroupRecord>> log;
  std::deque<Append> pending;
  std::deque<std::pair<int32_t, std::function<void(std::optional<LoadedPartition>)>>> loads;
};

std::vector<uint8_t> subscription(const std::vector<std::string>& topics) {
  msg::ConsumerProtocolSubscription s;
  s.topics = topics;
  ByteWriter w;
  w.put_i16(0);
  s.encode(w, 0);
  return std::move(w).take();
}

struct Harness {
  int64_t now = 1000;
  FakeStore store;
  GroupCoordinatorConfig cfg;
  std::unique_ptr<GroupCoordinator> gc;
  explicit Harness(int32_t initial_delay = 0) {
    cfg.group_initial_rebalance_delay_ms = initial_delay;
    cfg.offsets_topic_num_partitions = 1;
    gc = std::make_unique<GroupCoordinator>(cfg, store, [this] { return now; }, [this] { return now + 1'700'000'000'000; });
    gc->on_leadership(0, 1, true);
    store.finish_loads();
  }
  JoinParams join_params(const std::string& member, std::optional<std::string> instance = std::nullopt,
                         std::vector<std::string> topics = {"t"}) {
    JoinParams p;
    p.group_id = "g";
    p.member_id = member;
    p.group_instance_id = instance;
    p.require_known_member_id = true;
    p.client_id = "client";
    p.client_host = "/127.0.0.1";
    p.session_timeout_ms = 10000;
    p.rebalance_timeout_ms = 30000;
    p.protocol_type = "consumer";
    p.protocols = {{"range", subscription(topics)}};
    return p;
  }
  std::shared_ptr<std::optional<JoinResult>> join(JoinParams p) {
    auto out = std::make_shared<std::optional<JoinResult>>();
    gc->join_group(std::move(p), [out](JoinResult r) { *out = std::move(r); });
    return out;
  }
  std::shared_ptr<std::optional<SyncResult>> sync(const std::string& member, int32_t gen,
                                                  std::vector<std::pair<std::string, std::vector<uint8_t>>> a = {}) {
    SyncParams p;
    p.group_id = "g";
    p.member_id = member;
    p.generation_id = gen;
    p.assignments = std::move(a);
    auto out = std::make_shared<std::optional<SyncResult>>();
    gc->sync_group(std::move(p), [out](SyncResult r) { *out = std::move(r); });
    return out;
  }
  // A dynamic member joins (MEMBER_ID_REQUIRED first); returns the member id.
  std::string new_member_id() {
    auto r = join(join_params(""));
    EXPECT_TRUE(r->has_value());
    EXPECT_EQ((*r)->error, ErrorCode::MEMBER_ID_REQUIRED);
    return (*r)->member_id;
  }
};

TEST(GroupCoordinatorTest, MemberIdRequiredThenJoinSyncHeartbeat) {
  Harness h;
  std::string id = h.new_member_id();
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(id.rfind("client-", 0), 0u);
  auto j = h.join(h.join_params(id));
  ASSERT_TRUE(j->has_value());  // the only member: the join completes at once (no initial delay)
  EXPECT_EQ((*j)->error, ErrorCode::NONE);
  EXPECT_EQ((*j)->generation_id, 1);
  EXPECT_EQ((*j)->leader, id);
  EXPECT_EQ((*j)->protocol_name, "range");
  ASSERT_EQ((*j)->members.size(), 1u);
  EXPECT_EQ(h.gc->state_of("g"), GroupState::CompletingRebalance);
  auto s = h.sync(id, 1, {{id, {1, 2, 3}}});
  EXPECT_FALSE(s->has_value());  // waits for the group record to commit
  h.store.commit_all();
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->error, ErrorCode::NONE);
  EXPECT_EQ((*s)->assignment, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  EXPECT_EQ(h.gc->heartbeat("g", id, std::nullopt, 1), ErrorCode::NONE);
  EXPECT_EQ(h.gc->heartbeat("g", id, std::nullopt, 0), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(h.gc->heartbeat("g", "nobody", std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(h.gc->heartbeat("other", id, std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, InvalidSessionTimeoutAndGroupId) {
  Harness h;
  auto p = h.join_params("");
  p.session_timeout_ms = 1000;
  EXPECT_EQ((*h.join(p))->error, ErrorCode::INVALID_SESSION_TIMEOUT);
  p.session_timeout_ms = 1800001;
  EXPECT_EQ((*h.join(p))->error, ErrorCode::INVALID_SESSION_TIMEOUT);
  p = h.join_params("");
  p.group_id = "";
  EXPECT_EQ((*h.join(p))->error, ErrorCode::INVALID_GROUP_ID);
  p = h.join_params("unknown-member");
  EXPECT_EQ((*h.join(p))->error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, RebalanceWithTwoMembersAndLeave) {
  Harness h;
  std::string a = h.new_member_id();
  auto ja = h.join(h.join_params(a));
  ASSERT_TRUE(ja->has_value());
  auto sa = h.sync(a, 1, {{a, {1}}});
  h.store.commit_all();
  ASSERT_TRUE(sa->has_value());

  // A second member: the group rebalances; A learns it from its heartbeat.
  std::string b = h.new_member_id();
  auto jb = h.join(h.join_params(b));
  EXPECT_FALSE(jb->has_value());
  EXPECT_EQ(h.gc->state_of("g"), GroupState::PreparingRebalance);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::REBALANCE_IN_PROGRESS);
  ja = h.join(h.join_params(a));
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*ja)->generation_id, 2);
  EXPECT_EQ((*jb)->generation_id, 2);
  EXPECT_EQ((*ja)->leader, a);
  EXPECT_EQ((*ja)->members.size(), 2u);
  EXPECT_TRUE((*jb)->members.empty());
  auto sb = h.sync(b, 2);
  sa = h.sync(a, 2, {{a, {1}}, {b, {2}}});
  EXPECT_FALSE(sb->has_value());
  h.store.commit_all();
  ASSERT_TRUE(sb->has_value());
  EXPECT_EQ((*sb)->assignment, std::vector<uint8_t>{2});
  EXPECT_EQ((*sa)->assignment, std::vector<uint8_t>{1});
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);

  // B leaves: rebalance; A rejoins alone.
  std::vector<LeaveMember> leave{{b, std::nullopt}};
  EXPECT_EQ(h.gc->leave_group("g", leave), ErrorCode::NONE);
  EXPECT_EQ(leave[0].error, ErrorCode::NONE);
  EXPECT_EQ(h.gc->state_of("g"), GroupState::PreparingRebalance);
  ja = h.join(h.join_params(a));
  ASSERT_TRUE(ja->has_value());
  EXPECT_EQ((*ja)->generation_id, 3);
  std::vector<LeaveMember> again{{b, std::nullopt}};
  h.gc->leave_group("g", again);
  EXPECT_EQ(again[0].error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, SessionExpiryRemovesMember) {
  Harness h;
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  auto sa = h.sync(a, 1, {{a, {}}});
  h.store.commit_all();
  h.now += 9000;
  h.gc->tick();
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
  h.now += 10001;
  h.gc->tick();
  // The last member expired: the rebalance completes with nobody: Empty, next generation.
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);
  EXPECT_EQ(h.gc->generation_of("g"), 2);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  Harness h;
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  h.sync(a, 1, {{a, {}}});
  h.store.commit_all();
  std::string b = h.new_member_id();
  auto jb = h.join(h.join_params(b));
  EXPECT_FALSE(jb->has_value());
  // A keeps heartbeating but never rejoins; after the rebalance timeout B goes on alone.
  for (int i = 0; i < 30; ++i) {
    h.now += 1000;
    h.gc->heartbeat("g", a, std::nullopt, 1);
    h.gc->tick();
  }
  h.now += 1000;
  h.gc->tick();
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*jb)->error, ErrorCode::NONE);
  EXPECT_EQ((*jb)->leader, b);
  EXPECT_EQ((*jb)->members.size(), 1u);
}

TEST(GroupCoordinatorTest, InitialRebalanceDelay) {
  Harness h(3000);
  std::string a = h.new_member_id();
  auto ja = h.join(h.join_params(a));
  EXPECT_FALSE(ja->has_value());
  h.now += 2000;
  h.gc->tick();
  std::string b = h.new_member_id();
  auto jb = h.join(h.join_params(b));
  h.now += 1000;
  h.gc->tick();  // a member joined during the delay: extended
  EXPECT_FALSE(ja->has_value());
  h.now += 3000;
  h.gc->tick();
  ASSERT_TRUE(ja->has_value());
  ASSERT_TRUE(jb->has_value());
  EXPECT_EQ((*ja)->generation_id, 1);
  EXPECT_EQ((*jb)->generation_id, 1);
}

TEST(GroupCoordinatorTest, StaticMemberRejoinsWithoutRebalance) {
  Harness h;
  auto j = h.join(h.join_params("", "instance-1"));  // static members skip MEMBER_ID_REQUIRED
  ASSERT_TRUE(j->has_value());
  EXPECT_EQ((*j)->error, ErrorCode::NONE);
  std::string old_id = (*j)->member_id;
  EXPECT_EQ(old_id.rfind("instance-1-", 0), 0u);
  h.sync(old_id, 1, {{old_id, {9}}});
  h.store.commit_all();
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);

  // Restarted with the same instance id and subscription: a new member id, same generation.
  auto j2 = h.join(h.join_params("", "instance-1"));
  EXPECT_FALSE(j2->has_value());  // the replacement is persisted first
  h.store.commit_all();
  ASSERT_TRUE(j2->has_value());
  EXPECT_EQ((*j2)->error, ErrorCode::NONE);
  EXPECT_NE((*j2)->member_id, old_id);
  EXPECT_EQ((*j2)->generation_id, 1);
  EXPECT_TRUE((*j2)->skip_assignment);  // it was the leader (KIP-814)
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  auto s = h.sync((*j2)->member_id, 1);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->assignment, std::vector<uint8_t>{9});
  // The old member id is fenced.
  EXPECT_EQ(h.gc->heartbeat("g", old_id, std::string("instance-1"), 1), ErrorCode::FENCED_INSTANCE_ID);

  // A changed subscription triggers a rebalance.
  auto j3 = h.join(h.join_params("", "instance-1", {"t", "u"}));
  ASSERT_TRUE(j3->has_value());
  EXPECT_EQ((*j3)->generation_id, 2);
}

TEST(GroupCoordinatorTest, OffsetCommitAndFetch) {
  Harness h;
  // A simple consumer (generation -1, no member id) commits to an unknown group.
  std::vector<CommitPartition> parts{{"t", 0, 42, 3, std::string("meta")}, {"t", 1, 7}};
  std::optional<std::vector<CommitPartition>> res;
  h.gc->commit_offsets("g", "", std::nullopt, -1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_FALSE(res.has_value());
  h.store.commit_all();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ((*res)[0].error, ErrorCode::NONE);
  std::vector<FetchedOffset> out;
  EXPECT_EQ(h.gc->fetch_offsets("g", std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 1, 2}}}, out), ErrorCode::NONE);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].offset, 42);
  EXPECT_EQ(out[0].leader_epoch, 3);
  EXPECT_EQ(out[0].metadata, "meta");
  EXPECT_EQ(out[1].offset, 7);
  EXPECT_EQ(out[2].offset, -1);
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);

  // A generation >= 0 for an unknown group: ILLEGAL_GENERATION.
  h.gc->commit_offsets("g2", "m", std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ((*res)[0].error, ErrorCode::ILLEGAL_GENERATION);

  // A member of a stable group commits with its generation; a wrong one is refused.
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  h.gc->commit_offsets("g", a, std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ((*res)[0].error, ErrorCode::REBALANCE_IN_PROGRESS);  // CompletingRebalance
  h.sync(a, 1, {{a, {}}});
  h.store.commit_all();
  parts[0].offset = 100;
  h.gc->commit_offsets("g", a, std::nullopt, 0, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ((*res)[0].error, ErrorCode::ILLEGAL_GENERATION);
  h.gc->commit_offsets("g", "x", std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ((*res)[0].error, ErrorCode::UNKNOWN_MEMBER_ID);
  h.gc->commit_offsets("g", a, std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all();
  EXPECT_EQ((*res)[0].error, ErrorCode::NONE);
  out.clear();
  h.gc->fetch_offsets("g", std::nullopt, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, 100);

  // A failed append maps to Kafka's coordinator errors.
  h.gc->commit_offsets("g", a, std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all(ErrorCode::REQUEST_TIMED_OUT);
  EXPECT_EQ((*res)[0].error, ErrorCode::COORDINATOR_NOT_AVAILABLE);
  h.gc->commit_offsets("g", a, std::nullopt, 1, -1, parts, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ((*res)[0].error, ErrorCode::NOT_COORDINATOR);
}

TEST(GroupCoordinatorTest, TxnOffsetCommitIsVisibleOnlyOnceItsTransactionCommits) {
  Harness h;
  std::optional<std::vector<CommitPartition>> res;
  auto commit = [&](int64_t pid, int64_t offset) {
    h.gc->txn_commit_offsets("g", TxnProducer{pid, 0}, "", std::nullopt, -1, {{"t", 0, offset}}, [&](std::vector<CommitPartition> r) { res = r; });
    h.store.commit_all();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ((*res)[0].error, ErrorCode::NONE);
  };
  auto fetch = [&](bool require_stable) {
    std::vector<FetchedOffset> out;
    h.gc->fetch_offsets("g", std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0}}}, out, require_stable);
    return out.at(0);
  };
  commit(7, 42);
  EXPECT_EQ(h.store.txn_producers, std::vector<int64_t>{7});  // written as the producer's transactional batch
  EXPECT_EQ(fetch(false).offset, -1);                       // pending: not the group's offset yet
  EXPECT_EQ(fetch(true).error, ErrorCode::UNSTABLE_OFFSET_COMMIT);
  h.gc->complete_txn(7, 0, true);
  EXPECT_EQ(fetch(true).offset, 42);
  EXPECT_EQ(fetch(true).error, ErrorCode::NONE);

  // An aborted transaction's offsets are dropped; a marker on another partition does nothing.
  commit(8, 99);
  h.gc->complete_txn(8, 3, true);
  EXPECT_EQ(fetch(true).error, ErrorCode::UNSTABLE_OFFSET_COMMIT);
  h.gc->complete_txn(8, 0, false);
  EXPECT_EQ(fetch(true).offset, 42);

  // A producer passing a generation is checked like a member (KIP-447).
  h.gc->txn_commit_offsets("g", TxnProducer{9, 0}, "nobody", std::nullopt, 5, {{"t", 0, 1}}, [&](std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ((*res)[0].error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, FailoverReloadsGroupsAndOffsets) {
  Harness h;
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  h.sync(a, 1, {{a, {5}}});
  h.store.commit_all();
  std::optional<std::vector<CommitPartition>> res;
  h.gc->commit_offsets("g", a, std::nullopt, 1, -1, {{"t", 0, 11}}, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all();

  h.gc->on_leadership(0, 1, false);
  EXPECT_EQ(h.gc->check_coordinator("g"), ErrorCode::NOT_COORDINATOR);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::NOT_COORDINATOR);
  h.gc->on_leadership(0, 2, true);
  EXPECT_EQ(h.gc->check_coordinator("g"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  EXPECT_EQ((*h.join(h.join_params("")))->error, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  h.store.finish_loads();
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  EXPECT_EQ(h.gc->generation_of("g"), 1);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
  auto s = h.sync(a, 1);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->assignment, std::vector<uint8_t>{5});
  std::vector<FetchedOffset> out;
  h.gc->fetch_offsets("g", std::nullopt, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 11);
}

// A loaded partition hands its KIP-848 consumer groups to the hook; a
// consumer group with members wins over a classic group record of its id.
TEST(GroupCoordinatorTest, LoadHandsConsumerGroupsToTheHookAndTheyWin) {
  Harness h;
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  h.sync(a, 1, {{a, {5}}});
  h.store.commit_all();
  ASSERT_EQ(h.gc->state_of("g"), GroupState::Stable);
  // Consumer group records for "g" (and for "cg") after the classic record.
  msg::ConsumerGroupMetadataValue meta;
  meta.epoch = 3;
  msg::ConsumerGroupMemberMetadataValue member;
  member.client_id = "c";
  member.subscribed_topic_names = {"t"};
  msg::ConsumerGroupCurrentMemberAssignmentValue current;
  current.member_epoch = 3;
  for (const char* gid : {"g", "cg"}) {
    h.store.log[0].push_back(GroupRecord{encode_cg_key(kCgMetadataKeyVersion, gid), encode_versioned_value(meta)});
    h.store.log[0].push_back(GroupRecord{encode_cg_key(kCgMemberMetadataKeyVersion, gid, "m1"), encode_versioned_value(member)});
    h.store.log[0].push_back(GroupRecord{encode_cg_key(kCgCurrentAssignmentKeyVersion, gid, "m1"), encode_versioned_value(current)});
  }
  std::vector<std::pair<int32_t, std::map<std::string, LoadedConsumerGroup>>> handed;
  h.gc->on_consumer_groups_loaded = [&](int32_t p, const std::map<std::string, LoadedConsumerGroup>& g) {
    EXPECT_EQ(h.gc->check_coordinator("g"), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);  // before it answers
    handed.push_back({p, g});
  };
  h.gc->on_leadership(0, 2, true);
  h.store.finish_loads();
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].first, 0);
  ASSERT_EQ(handed[0].second.size(), 2u);
  EXPECT_EQ(handed[0].second.at("g").metadata->epoch, 3);
  EXPECT_EQ(handed[0].second.at("g").assignments.at("m1").member_epoch, 3);
  EXPECT_EQ(h.gc->state_of("g"), std::nullopt);  // the classic record gave way
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(GroupCoordinatorTest, ConsumerGroupAppendsMapStoreErrors) {
  Harness h;
  std::vector<ErrorCode> got;
  auto done = [&](ErrorCode e) { got.push_back(e); };
  std::vector<GroupRecord> recs{GroupRecord{encode_cg_key(kCgMetadataKeyVersion, "x"), std::nullopt}};
  h.gc->append_consumer_group_records(0, recs, done);
  h.store.commit_all();
  h.gc->append_consumer_group_records(0, recs, done);
  h.store.commit_all(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  h.gc->append_consumer_group_records(0, recs, done);
  h.store.commit_all(ErrorCode::REQUEST_TIMED_OUT);
  h.gc->append_consumer_group_records(7, recs, done);  // not led here
  EXPECT_EQ(got, (std::vector<ErrorCode>{ErrorCode::NONE, ErrorCode::NOT_COORDINATOR, ErrorCode::COORDINATOR_NOT_AVAILABLE,
                                         ErrorCode::NOT_COORDINATOR}));
  EXPECT_GE(h.store.log[0].size(), 3u);
}

TEST(GroupCoordinatorTest, DeleteGroupsAndOffsets) {
  Harness h;
  std::optional<std::vector<CommitPartition>> res;
  h.gc->commit_offsets("g", "", std::nullopt, -1, -1, {{"t", 0, 1}, {"u", 0, 2}}, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all();
  ErrorCode top = ErrorCode::UNKNOWN_SERVER_ERROR;
  h.gc->delete_offsets("g", {{"t", {0}}}, [&](ErrorCode e, auto) { top = e; });
  h.store.commit_all();
  EXPECT_EQ(top, ErrorCode::NONE);
  std::vector<FetchedOffset> out;
  h.gc->fetch_offsets("g", std::nullopt, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "u");

  std::vector<std::pair<std::string, ErrorCode>> results;
  h.gc->delete_groups({"g", "missing", ""}, [&](auto r) { results = r; });
  h.store.commit_all();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].second, ErrorCode::NONE);
  EXPECT_EQ(results[1].second, ErrorCode::GROUP_ID_NOT_FOUND);
  EXPECT_EQ(results[2].second, ErrorCode::INVALID_GROUP_ID);
  EXPECT_FALSE(h.gc->state_of("g").has_value());

  // A group with members is not deleted, nor offsets of a subscribed topic.
  std::string a = h.new_member_id();
  h.join(h.join_params(a));
  h.sync(a, 1, {{a, {}}});
  h.store.commit_all();
  h.gc->delete_groups({"g"}, [&](auto r) { results = r; });
  EXPECT_EQ(results[0].second, ErrorCode::NON_EMPTY_GROUP);
  std::vector<std::tuple<std::string, int32_t, ErrorCode>> parts;
  h.gc->delete_offsets("g", {{"t", {0}}, {"v", {0}}}, [&](ErrorCode e, auto p) {
    top = e;
    parts = p;
  });
  h.store.commit_all();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(std::get<2>(parts[0]), ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC);
  EXPECT_EQ(std::get<2>(parts[1]), ErrorCode::NONE);

  std::vector<ListedGroup> listed;
  EXPECT_EQ(h.gc->list_groups({"stable"}, listed), ErrorCode::NONE);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state, "Stable");
  listed.clear();
  h.gc->list_groups({"Empty"}, listed);
  EXPECT_TRUE(listed.empty());
  DescribedGroup d = h.gc->describe_group("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(h.gc->describe_group("nope").state, "Dead");
}

// ---------------------------------------------------------------- offset expiry

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// The tombstones appended to __consumer_offsets-0: "group" or "group/topic/partition".
std::vector<std::string> tombstones(const FakeStore& store) {
  std::vector<std::string> out;
  auto it = store.log.find(0);
  if (it == store.log.end()) return out;
  for (const auto& r : it->second) {
    if (r.value) continue;
    GroupLogRecord d = decode_group_log_record(r.key, r.value);
    out.push_back(d.kind == GroupLogRecord::kOffset ? d.group + "/" + d.topic + "/" + std::to_string(d.partition) : d.group);
  }
  return out;
}

std::vector<std::string> committed(Harness& h, const std::string& group) {
  std::vector<FetchedOffset> out;
  EXPECT_EQ(h.gc->fetch_offsets(group, std::nullopt, out), ErrorCode::NONE);
  std::vector<std::string> r;
  for (const auto& f : out) r.push_back(f.topic + "/" + std::to_string(f.partition));
  return r;
}

// A member joins "g" (subscribed to `topics`) and the group becomes Stable; returns its id.
std::string stable_member(Harness& h, std::vector<std::string> topics = {"t"}) {
  std::string a = h.new_member_id();
  h.join(h.join_params(a, std::nullopt, topics));
  h.sync(a, h.gc->generation_of("g"), {{a, {}}});
  h.store.commit_all();
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  return a;
}

void leave(Harness& h, const std::string& member) {
  std::vector<LeaveMember> lm{{member}};
  EXPECT_EQ(h.gc->leave_group("g", lm), ErrorCode::NONE);
  EXPECT_EQ(lm[0].error, ErrorCode::NONE);
  h.store.commit_all();
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);
}

void commit(Harness& h, const std::string& group, const std::string& member, int32_t generation, std::vector<CommitPartition> parts,
            int64_t retention_ms = -1) {
  std::optional<std::vector<CommitPartition>> res;
  h.gc->commit_offsets(group, member, std::nullopt, generation, retention_ms, std::move(parts),
                       [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  h.store.commit_all();
  ASSERT_TRUE(res.has_value());
  for (const auto& p : *res) EXPECT_EQ(p.error, ErrorCode::NONE);
}

TEST(GroupCoordinatorTest, EmptyGroupOffsetsExpireRetentionAfterItBecameEmpty) {
  Harness h;
  std::string a = stable_member(h);
  commit(h, "g", a, 1, {{"t", 0, 5}});
  // The group stays Stable for 6 days, then its last member leaves.
  h.now += 6 * kDayMs;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);  // subscribed to t: kept
  leave(h, a);

  // 8 days after the commit but 2 after becoming Empty: kept.
  h.now += 2 * kDayMs;
  h.gc->tick();
  EXPECT_EQ(committed(h, "g"), std::vector<std::string>{"t/0"});
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);
  EXPECT_TRUE(tombstones(h.store).empty());

  // Just short of the retention since it became Empty: kept; then expired.
  h.now += 5 * kDayMs - 1;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  h.now += 1;
  const size_t appends_before = h.store.pending.size();
  h.gc->tick();  // more than offsets.retention.check.interval.ms since the last check
  EXPECT_GT(h.store.pending.size(), appends_before);
  EXPECT_TRUE(committed(h, "g").empty());
  // With no offsets left, the Empty group is Dead and tombstoned.
  EXPECT_FALSE(h.gc->state_of("g").has_value());
  EXPECT_EQ(tombstones(h.store), (std::vector<std::string>{"g/t/0", "g"}));
  h.store.commit_all();

  // The next tick within the check interval does nothing; a reload has neither.
  const size_t log_size = h.store.log[0].size();
  h.now += 1000;
  h.gc->tick();
  EXPECT_EQ(h.store.log[0].size(), log_size);
  h.gc->on_leadership(0, 2, true);
  h.store.finish_loads();
  EXPECT_FALSE(h.gc->state_of("g").has_value());
  EXPECT_TRUE(committed(h, "g").empty());
}

TEST(GroupCoordinatorTest, StableConsumerGroupKeepsSubscribedOffsets) {
  Harness h;
  std::string a = stable_member(h, {"t"});
  commit(h, "g", a, 1, {{"t", 0, 5}, {"t", 1, 6}, {"u", 0, 7}});
  // A simple consumer's group (no group management) expires from its commits.
  commit(h, "simple", "", -1, {{"t", 0, 1}});
  h.now += 7 * kDayMs - 1;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  h.now += 1;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 2u);
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Stable);
  EXPECT_EQ(committed(h, "g"), (std::vector<std::string>{"t/0", "t/1"}));
  EXPECT_TRUE(committed(h, "simple").empty());
  EXPECT_FALSE(h.gc->state_of("simple").has_value());
  auto ts = tombstones(h.store);
  std::sort(ts.begin(), ts.end());
  EXPECT_EQ(ts, (std::vector<std::string>{"g/u/0", "simple", "simple/t/0"}));
  h.store.commit_all();
  // Long after, still subscribed: still kept.
  h.now += 30 * kDayMs;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  EXPECT_EQ(h.gc->heartbeat("g", a, std::nullopt, 1), ErrorCode::NONE);
}

TEST(GroupCoordinatorTest, EmptiedGroupWithoutOffsetsBecomesDead) {
  Harness h;
  std::string a = stable_member(h);
  leave(h, a);
  // A commit still being appended counts as an offset: the group stays.
  std::optional<std::vector<CommitPartition>> res;
  h.gc->commit_offsets("g", "", std::nullopt, -1, -1, {{"t", 0, 1}}, [&](ErrorCode, std::vector<CommitPartition> r) { res = r; });
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);
  h.store.commit_all();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(committed(h, "g"), std::vector<std::string>{"t/0"});
  // Deleting the offset leaves an Empty group without offsets: Dead at the next check.
  h.gc->delete_offsets("g", {{"t", {0}}}, [](ErrorCode, auto) {});
  h.store.commit_all();
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  EXPECT_FALSE(h.gc->state_of("g").has_value());
  EXPECT_EQ(h.gc->describe_group("g").state, "Dead");
  auto ts = tombstones(h.store);
  ASSERT_FALSE(ts.empty());
  EXPECT_EQ(ts.back(), "g");
  h.store.commit_all();
  // The group id can be used again.
  std::string b = stable_member(h);
  EXPECT_EQ(h.gc->generation_of("g"), 1);
  EXPECT_EQ(h.gc->heartbeat("g", b, std::nullopt, 1), ErrorCode::NONE);
}

TEST(GroupCoordinatorTest, ExplicitExpireTimestampIsUsed) {
  Harness h;
  std::string a = stable_member(h, {"t"});
  leave(h, a);
  const int64_t wall = h.now + 1'700'000'000'000;
  // OffsetCommit v2-v4 with a retention time: expires an hour after the commit.
  commit(h, "g", "", -1, {{"t", 0, 1}}, 3600 * 1000);
  // v1 with an explicit commit timestamp 6 days ago: expires a day from now.
  CommitPartition v1{"t", 1, 2};
  v1.commit_timestamp = wall - 6 * kDayMs;
  commit(h, "g", "", -1, {v1});
  // Without: the retention from when the group became Empty.
  commit(h, "g", "", -1, {{"t", 2, 3}});

  h.now += 3600 * 1000 - 1;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 0u);
  h.now += 1;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 1u);
  EXPECT_EQ(committed(h, "g"), (std::vector<std::string>{"t/1", "t/2"}));
  h.now = 1000 + kDayMs;  // the v1 commit's expire timestamp
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 1u);
  EXPECT_EQ(committed(h, "g"), std::vector<std::string>{"t/2"});
  EXPECT_EQ(h.gc->state_of("g"), GroupState::Empty);
  h.now = 1000 + 7 * kDayMs;
  EXPECT_EQ(h.gc->cleanup_group_metadata(), 1u);
  EXPECT_FALSE(h.gc->state_of("g").has_value());
  EXPECT_EQ(tombstones(h.store), (std::vector<std::string>{"g/t/0", "g/t/1", "g/t/2", "g"}));
}

// ---------------------------------------------------------------- record formats

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(GroupLogTest, OffsetCommitRecordBytes) {
  // Key v1: int16 1, string "g", string "t", int32 3.
  EXPECT_EQ(encode_offset_key("g", "t", 3), hex("0001" "000167" "000174" "00000003"));
  // Value v3: offset, leaderEpoch, metadata, commitTimestamp.
  OffsetValue v{5, 2, "m", 1000, -1};
  EXPECT_EQ(encode_offset_value(v), hex("0003" "0000000000000005" "00000002" "00016d" "00000000000003e8"));
  // With an expire timestamp: v1 (offset, metadata, commitTimestamp, expireTimestamp).
  OffsetValue v1{5, 2, "m", 1000, 2000};
  EXPECT_EQ(encode_offset_value(v1), hex("0001" "0000000000000005" "00016d" "00000000000003e8" "00000000000007d0"));
  auto r = decode_group_log_record(encode_offset_key("g", "t", 3), encode_offset_value(v));
  EXPECT_EQ(r.kind, GroupLogRecord::kOffset);
  EXPECT_EQ(r.group, "g");
  EXPECT_EQ(r.topic, "t");
  EXPECT_EQ(r.partition, 3);
  ASSERT_TRUE(r.offset);
  EXPECT_EQ(*r.offset, v);
  auto t = decode_group_log_record(encode_offset_key("g", "t", 3), std::nullopt);
  EXPECT_FALSE(t.offset.has_value());
  // A v0 value (Kafka 0.9): offset, metadata, timestamp.
  auto old = decode_group_log_record(hex("0000" "000167" "000174" "00000001"), hex("0000" "0000000000000009" "0000" "0000000000000001"));
  ASSERT_TRUE(old.offset);
  EXPECT_EQ(old.offset->offset, 9);
  EXPECT_EQ(old.offset->leader_epoch, -1);
}

TEST(GroupLogTest, GroupMetadataRecordBytes) {
  EXPECT_EQ(encode_group_key("g"), hex("0002" "000167"));
  msg::GroupMetadataValue v;
  v.protocol_type = "consumer";
  v.generation = 1;
  v.protocol = "range";
  v.leader = "m";
  v.current_state_timestamp = 5;
  msg::GroupMetadataValue::MemberMetadata m;
  m.member_id = "m";
  m.group_instance_id = std::nullopt;
  m.client_id = "c";
  m.client_host = "h";
  m.rebalance_timeout = 300;
  m.session_timeout = 100;
  m.subscription = {1};
  m.assignment = {2};
  v.members.push_back(m);
  std::string expect =
      "0003"                  // version
      "0008636f6e73756d6572"  // protocolType "consumer"
      "00000001"              // generation
      "000572616e6765"        // protocol "range"
      "00016d"                // leader "m"
      "0000000000000005"      // currentStateTimestamp
      "00000001"              // members: 1
      "00016d"                // memberId
      "ffff"                  // groupInstanceId null
      "000163" "000168"       // clientId, clientHost
      "0000012c" "00000064"   // rebalanceTimeout, sessionTimeout
      "0000000101" "0000000102";
  EXPECT_EQ(encode_group_value(v), hex(expect));
  auto r = decode_group_log_record(encode_group_key("g"), encode_group_value(v));
  EXPECT_EQ(r.kind, GroupLogRecord::kGroup);
  ASSERT_TRUE(r.group_value);
  EXPECT_EQ(*r.group_value, v);
  // Flexible v4 round trip.
  auto r4 = decode_group_log_record(encode_group_key("g"), encode_group_value(v, 4));
  EXPECT_EQ(*r4.group_value, v);
}

TEST(GroupLogTest, PartitionForGroupMatchesKafka) {
  // Java: "my-group".hashCode() = 1024 ... computed independently:
  EXPECT_EQ(java_string_hash(""), 0);
  EXPECT_EQ(java_string_hash("a"), 97);
  EXPECT_EQ(java_string_hash("ab"), 97 * 31 + 98);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs maps it to 0.
  EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(group_partition("polygenelubricants", 50), 0);
  // A non-BMP character counts as two UTF-16 units (surrogates D83D DE00).
  EXPECT_EQ(java_string_hash("\xF0\x9F\x98\x80"), static_cast<int32_t>(0xD83Du * 31u + 0xDE00u));
  EXPECT_EQ(java_string_hash("\xC3\xA9"), 0xE9);
  EXPECT_EQ(group_partition("ab", 50), (97 * 31 + 98) % 50);
}

TEST(GroupLogTest, LoadedPartitionLastRecordWins) {
  LoadedPartition p;
  p.apply(decode_group_log_record(encode_offset_key("g", "t", 0), encode_offset_value({1, -1, "", 0, -1})));
  p.apply(decode_group_log_record(encode_offset_key("g", "t", 0), encode_offset_value({2, -1, "", 0, -1})));
  p.apply(decode_group_log_record(encode_offset_key("g", "t", 1), encode_offset_value({3, -1, "", 0, -1})));
  p.apply(decode_group_log_record(encode_offset_key("g", "t", 1), std::nullopt));
  ASSERT_EQ(p.offsets["g"].size(), 1u);
  EXPECT_EQ((p.offsets["g"][TopicPartitionKey{"t", 0}].offset), 2);
  msg::GroupMetadataValue v;
  v.protocol_type = "consumer";
  p.apply(decode_group_log_record(encode_group_key("g"), encode_group_value(v)));
  EXPECT_EQ(p.groups.size(), 1u);
  p.apply(decode_group_log_record(encode_group_key("g"), std::nullopt));
  EXPECT_TRUE(p.groups.empty());
}

TEST(GroupLogTest, LoadedPartitionAppliesTransactionalOffsetsAtTheirMarker) {
  LoadedPartition p;
  p.apply(decode_group_log_record(encode_offset_key("g", "t", 0), encode_offset_value({1, -1, "", 0, -1})));
  p.apply_txn(7, decode_group_log_record(encode_offset_key("g", "t", 0), encode_offset_value({5, -1, "", 0, -1})));
  p.apply_txn(8, decode_group_log_record(encode_offset_key("g", "t", 0), encode_offset_value({9, -1, "", 0, -1})));
  EXPECT_EQ((p.offsets["g"][TopicPartitionKey{"t", 0}].offset), 1);
  p.complete_txn(7, true);
  EXPECT_EQ((p.offsets["g"][TopicPartitionKey{"t", 0}].offset), 5);
  ASSERT_EQ(p.pending_txn_offsets.size(), 1u);  // producer 8 still open: loaded as pending
  p.complete_txn(8, false);
  EXPECT_TRUE(p.pending_txn_offsets.empty());
  EXPECT_EQ((p.offsets["g"][TopicPartitionKey{"t", 0}].offset), 5);
}

}  // namespace
}  // namespace flotilla::coordinator
