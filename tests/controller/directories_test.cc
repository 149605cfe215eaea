// JBOD in the controller (KIP-858): registered log dirs, the directory of a
// new replica, AssignReplicasToDirs validation and records, and offline dirs
// (BrokerHeartbeat OfflineLogDirs) taking only their replicas out of ISRs and
// leaderships.
#include <gtest/gtest.h>

#include "common/directory_id.h"
#include "controller/harness.h"

namespace flotilla::controller::testing {
namespace {

const Uuid kDirA{0xAAAA000000000000ull, 1};
const Uuid kDirB{0xBBBB000000000000ull, 2};

struct Dirs : Harness {
  std::map<int32_t, int64_t> epochs;

  explicit Dirs(int16_t mv = metadata::kLatestProductionMetadataVersion) : Harness(mv) {}

  msg::BrokerRegistrationResponse register_with(int32_t id, std::vector<Uuid> dirs) {
    auto req = registration(id, std::nullopt, Uuid::random());
    req.log_dirs = std::move(dirs);
    return call<msg::BrokerRegistrationResponse>([&](auto done) { controller->register_broker(req, 4, done); });
  }
  void live_with(int32_t id, std::vector<Uuid> dirs) {
    auto r = register_with(id, std::move(dirs));
    ASSERT_EQ(r.error_code, 0);
    epochs[id] = r.broker_epoch;
    auto h = heartbeat(id, r.broker_epoch, caught_up());
    ASSERT_EQ(h.error_code, 0);
    ASSERT_FALSE(h.is_fenced);
  }
  msg::AssignReplicasToDirsResponse assign(int32_t broker, int64_t epoch, const Uuid& dir, const Uuid& topic_id, std::vector<int32_t> parts) {
    msg::AssignReplicasToDirsRequest req;
    req.broker_id = broker;
    req.broker_epoch = epoch;
    msg::AssignReplicasToDirsRequest::DirectoryData d;
    d.id = dir;
    msg::AssignReplicasToDirsRequest::TopicData t;
    t.topic_id = topic_id;
    for (int32_t p : parts) {
      msg::AssignReplicasToDirsRequest::PartitionData pd;
      pd.partition_index = p;
      t.partitions.push_back(pd);
    }
    d.topics.push_back(t);
    req.directories.push_back(d);
    return call<msg::AssignReplicasToDirsResponse>([&](auto done) { controller->assign_replicas_to_dirs(req, 0, done); });
  }
  static int16_t only_error(const msg::AssignReplicasToDirsResponse& r) {
    if (r.error_code != 0) return r.error_code;
    return r.directories.at(0).topics.at(0).partitions.at(0).error_code;
  }
  msg::BrokerHeartbeatResponse offline(int32_t id, std::vector<Uuid> dirs) {
    auto h = heartbeat_request(id, epochs[id], caught_up());
    h.offline_log_dirs = std::move(dirs);
    return call<msg::BrokerHeartbeatResponse>([&](auto done) { controller->broker_heartbeat(h, 1, done); });
  }
  Uuid topic_id(const std::string& t) const { return image()->topic(t)->id; }
};

TEST(Directories, RegistrationNeedsValidDistinctDirsFrom37IV2) {
  Dirs h;
  EXPECT_EQ(h.register_with(1, {}).error_code, code(ErrorCode::INVALID_REGISTRATION));
  EXPECT_EQ(h.register_with(1, {directory_id::kUnassigned}).error_code, code(ErrorCode::INVALID_REGISTRATION));
  EXPECT_EQ(h.register_with(1, {kDirA, kDirA}).error_code, code(ErrorCode::INVALID_REGISTRATION));
  ASSERT_EQ(h.register_with(1, {kDirA, kDirB}).error_code, 0);
  EXPECT_EQ(h.image()->broker(1)->log_dirs, (std::vector<Uuid>{kDirA, kDirB}));
  // Another broker may not claim a registered dir.
  EXPECT_EQ(h.register_with(2, {kDirB}).error_code, code(ErrorCode::INVALID_REGISTRATION));
  EXPECT_EQ(h.image()->broker(2), nullptr);

  // Before 3.7-IV2 no dirs are needed (nor kept).
  Dirs old(16);
  ASSERT_EQ(old.register_with(1, {}).error_code, 0);
  EXPECT_TRUE(old.image()->broker(1)->log_dirs.empty());
}

TEST(Directories, NewReplicaGetsTheOnlyDirElseUnassigned) {
  Dirs h;
  h.live_with(1, {kDirA});
  h.live_with(2, {kDirB, Uuid{0xCCCC000000000000ull, 3}});
  ASSERT_EQ(h.create_assigned("t", {{1, 2}}).topics.at(0).error_code, 0);
  EXPECT_EQ(h.partition("t", 0).directories, (std::vector<Uuid>{kDirA, directory_id::kUnassigned}));
}

TEST(Directories, AssignReplicasToDirsValidatesAndRecordsTheDir) {
  Dirs h;
  const Uuid c{0xCCCC000000000000ull, 3};
  h.live_with(1, {kDirA, kDirB});
  h.live_with(2, {c});
  h.live_with(3, {Uuid{0xDDDD000000000000ull, 4}});
  ASSERT_EQ(h.create_assigned("t", {{1, 2}, {2, 1}}).topics.at(0).error_code, 0);
  const Uuid t = h.topic_id("t");
  const auto before = h.partition("t", 0);

  EXPECT_EQ(Dirs::only_error(h.assign(1, h.epochs[1] + 7, kDirB, t, {0})), code(ErrorCode::STALE_BROKER_EPOCH));
  EXPECT_EQ(Dirs::only_error(h.assign(9, 0, kDirB, t, {0})), code(ErrorCode::BROKER_ID_NOT_REGISTERED));
  EXPECT_EQ(Dirs::only_error(h.assign(1, h.epochs[1], kDirB, Uuid{0x1234, 0x5678}, {0})), code(ErrorCode::UNKNOWN_TOPIC_ID));
  EXPECT_EQ(Dirs::only_error(h.assign(1, h.epochs[1], kDirB, t, {5})), code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(Dirs::only_error(h.assign(3, h.epochs[3], kDirB, t, {0})), code(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  EXPECT_EQ(h.partition("t", 0), before);  // nothing written for refusals

  auto r = h.assign(1, h.epochs[1], kDirB, t, {0, 1});
  ASSERT_EQ(r.error_code, 0);
  for (const auto& p : r.directories.at(0).topics.at(0).partitions) EXPECT_EQ(p.error_code, 0);
  EXPECT_EQ(h.partition("t", 0).directories, (std::vector<Uuid>{kDirB, c}));
  EXPECT_EQ(h.partition("t", 1).directories, (std::vector<Uuid>{c, kDirB}));
  // Only the directories change: leader and ISR stay.
  EXPECT_EQ(h.partition("t", 0).leader, before.leader);
  EXPECT_EQ(h.partition("t", 0).isr, before.isr);

  // Before 3.7-IV2 the API is not supported.
  Dirs old(16);
  old.live_with(1, {});
  ASSERT_EQ(old.create_assigned("u", {{1}}).topics.at(0).error_code, 0);
  EXPECT_EQ(Dirs::only_error(old.assign(1, old.epochs[1], kDirA, old.topic_id("u"), {0})), code(ErrorCode::UNSUPPORTED_VERSION));
}

TEST(Directories, OfflineDirTakesOnlyItsReplicasOutOfIsrAndLeadership) {
  Dirs h;
  const Uuid c{0xCCCC000000000000ull, 3};
  h.live_with(1, {kDirA, kDirB});
  h.live_with(2, {c});
  ASSERT_EQ(h.create_assigned("t", {{1, 2}, {1, 2}, {2, 1}}).topics.at(0).error_code, 0);
  const Uuid t = h.topic_id("t");
  ASSERT_EQ(h.assign(1, h.epochs[1], kDirA, t, {0, 2}).error_code, 0);
  ASSERT_EQ(h.assign(1, h.epochs[1], kDirB, t, {1}).error_code, 0);
  for (int p = 0; p < 3; ++p) ASSERT_EQ(h.partition("t", p).isr, h.partition("t", p).replicas);
  ASSERT_EQ(h.partition("t", 0).leader, 1);
  ASSERT_EQ(h.partition("t", 1).leader, 1);

  auto r = h.offline(1, {kDirA});
  ASSERT_EQ(r.error_code, 0);
  EXPECT_FALSE(r.is_fenced);
  // t-0 (dir A, led by 1): 2 leads alone. t-2 (dir A, follower): out of the ISR.
  EXPECT_EQ(h.partition("t", 0).leader, 2);
  EXPECT_EQ(h.partition("t", 0).isr, (std::vector<int32_t>{2}));
  EXPECT_EQ(h.partition("t", 2).leader, 2);
  EXPECT_EQ(h.partition("t", 2).isr, (std::vector<int32_t>{2}));
  // t-1 lives in dir B: untouched.
  EXPECT_EQ(h.partition("t", 1).leader, 1);
  EXPECT_EQ(h.partition("t", 1).isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(h.image()->broker(1)->log_dirs, (std::vector<Uuid>{kDirB}));

  // A replica in the offline dir is not elected even when it is the last one.
  auto again = h.offline(1, {kDirA});  // nothing new: no records
  EXPECT_EQ(again.error_code, 0);
  EXPECT_EQ(h.partition("t", 0).leader, 2);

  // An assignment to the offline dir takes that replica out of the ISR too.
  ASSERT_EQ(h.assign(1, h.epochs[1], kDirA, t, {1}).error_code, 0);
  EXPECT_EQ(h.partition("t", 1).leader, 2);
  EXPECT_EQ(h.partition("t", 1).isr, (std::vector<int32_t>{2}));
}

}  // namespace
}  // namespace flotilla::controller::testing
