#include <gtest/gtest.h>

#include <sstream>

#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/metadata_quorum.h"

using namespace flotilla;
using namespace flotilla::tools;

namespace {

msg::DescribeQuorumResponse sample() {
  msg::DescribeQuorumResponse r;
  msg::DescribeQuorumResponse::TopicData t;
  t.topic_name = "__cluster_metadata";
  msg::DescribeQuorumResponse::PartitionData p;
  p.leader_id = 2;
  p.leader_epoch = 7;
  p.high_watermark = 120;
  auto replica = [](int32_t id, int64_t leo, int64_t fetch, int64_t caught_up) {
    msg::DescribeQuorumResponse::ReplicaState s;
    s.replica_id = id;
    s.log_end_offset = leo;
    s.last_fetch_timestamp = fetch;
    s.last_caught_up_timestamp = caught_up;
    return s;
  };
  p.current_voters = {replica(2, 125, 10000, 10000), replica(1, 125, 9990, 9990), replica(3, 100, 9000, 8500)};
  p.observers = {replica(100, 125, 9995, 9995)};
  t.partitions.push_back(p);
  r.topics.push_back(t);
  return r;
}

}  // namespace

TEST(MetadataQuorum, StatusLikeKafka) {
  EXPECT_EQ(format_quorum_status(sample(), "MkU3OEVBNTcwNTJENDM2Qk"),
            "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk\n"
            "LeaderId:               2\n"
            "LeaderEpoch:            7\n"
            "HighWatermark:          120\n"
            "MaxFollowerLag:         25\n"
            "MaxFollowerLagTimeMs:   1500\n"
            "CurrentVoters:          [2,1,3]\n"
            "CurrentObservers:       [100]\n");
}

TEST(MetadataQuorum, ReplicationTableLeaderFirst) {
  std::string t = format_quorum_replication(sample(), 10100, false);
  std::istringstream in(t);
  std::string header, leader, f1, f2, observer;
  std::getline(in, header);
  std::getline(in, leader);
  std::getline(in, f1);
  std::getline(in, f2);
  std::getline(in, observer);
  EXPECT_EQ(header.substr(0, 6), "NodeId");
  for (const char* col : {"DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"})
    EXPECT_NE(header.find(col), std::string::npos) << col;
  EXPECT_EQ(leader.substr(0, 1), "2");
  EXPECT_NE(leader.find("Leader"), std::string::npos);
  EXPECT_NE(f2.find("\t25"), std::string::npos) << f2;  // lag of voter 3
  EXPECT_NE(f2.find("Follower"), std::string::npos);
  EXPECT_NE(observer.find("Observer"), std::string::npos);
  std::string human = format_quorum_replication(sample(), 10100, true);
  EXPECT_NE(human.find("100 ms ago"), std::string::npos) << human;
}

TEST(MetadataQuorum, FlagsAndConnectionErrors) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"metadata-quorum", "--bootstrap-controller", "127.0.0.1:1", "describe", "--status"}));
  EXPECT_EQ(cli.selected(), "metadata-quorum describe");
  EXPECT_TRUE(cli.quorum.status);
  std::ostringstream out, err;
  EXPECT_EQ(run_metadata_quorum(cli.quorum, out, err), 1);
  EXPECT_NE(err.str().find("Error"), std::string::npos);
  MetadataQuorumOptions both;
  both.bootstrap_server = "a:1";
  both.bootstrap_controller = "b:2";
  both.status = true;
  EXPECT_EQ(run_metadata_quorum(both, out, err), 1);
}
