// `flotilla metadata-quorum describe`: the exact --status and --replication
// text (Kafka 3.9's MetadataQuorumCommand) for hand-built DescribeQuorum
// responses, the error paths, the flags, and the request flow against an
// in-process fake endpoint (versions, cluster id, errors).
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "client/connection.h"
#include "client/fake_kafka_server.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/metadata_quorum.h"

using namespace flotilla;
using namespace flotilla::tools;
using client::KafkaError;

namespace {

using Resp = msg::DescribeQuorumResponse;

Uuid dir(const char* s) {
  auto u = Uuid::parse(s);
  EXPECT_TRUE(u.has_value()) << s;
  EXPECT_EQ(u.value_or(Uuid{}).to_string(), s);
  return u.value_or(Uuid{});
}

Resp::ReplicaState replica(int32_t id, int64_t leo, int64_t fetch, int64_t caught_up, Uuid d = Uuid{}) {
  Resp::ReplicaState s;
  s.replica_id = id;
  s.replica_directory_id = d;
  s.log_end_offset = leo;
  s.last_fetch_timestamp = fetch;
  s.last_caught_up_timestamp = caught_up;
  return s;
}

Resp::Node node(int32_t id, std::vector<std::tuple<std::string, std::string, uint16_t>> listeners) {
  Resp::Node n;
  n.node_id = id;
  for (auto& [name, host, port] : listeners) {
    Resp::Listener l;
    l.name = name;
    l.host = host;
    l.port = port;
    n.listeners.push_back(l);
  }
  return n;
}

Resp wrap(Resp::PartitionData p) {
  Resp r;
  Resp::TopicData t;
  t.topic_name = "__cluster_metadata";
  t.partitions.push_back(std::move(p));
  r.topics.push_back(std::move(t));
  return r;
}

// A DescribeQuorum v2 answer: 3 voters (leader 2 in the middle), voter 3
// 25 offsets behind, one observer (a broker) without endpoints.
Resp sample_v2() {
  Resp::PartitionData p;
  p.leader_id = 2;
  p.leader_epoch = 7;
  p.high_watermark = 120;
  p.current_voters = {replica(1, 125, 9990, 9990, dir("f4gAHxJxTuSrUTsxrJ0GKw")),
                      replica(2, 125, 10000, 10000, dir("kGtxOVzTRBOnmGhYyR8RkA")),
                      replica(3, 100, 9000, 8500, dir("H4cNaCmlSHGwaBzsnJ0l6Q"))};
  p.observers = {replica(100, 125, 9995, 9995, dir("Xz3UnmKTTvi6A16eXlWeNg"))};
  Resp r = wrap(p);
  r.nodes = {node(1, {{"CONTROLLER", "localhost", 9093}}), node(2, {{"CONTROLLER", "localhost", 9094}}),
             node(3, {{"CONTROLLER", "::1", 9095}, {"CONTROLLER_SSL", "::1", 9096}})};
  return r;
}

// What a v0 answer decodes to: no directory ids, no timestamps, no nodes.
Resp sample_v0() {
  Resp::PartitionData p;
  p.leader_id = 1;
  p.leader_epoch = 3;
  p.high_watermark = 42;
  p.current_voters = {replica(1, 42, -1, -1), replica(2, 42, -1, -1), replica(3, 40, -1, -1)};
  p.observers = {replica(100, 42, -1, -1)};
  return wrap(p);
}

}  // namespace

TEST(MetadataQuorum, StatusExactText) {
  EXPECT_EQ(format_quorum_status(sample_v2(), "MkU3OEVBNTcwNTJENDM2Qk"),
            "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk\n"
            "LeaderId:               2\n"
            "LeaderEpoch:            7\n"
            "HighWatermark:          120\n"
            "MaxFollowerLag:         25\n"
            "MaxFollowerLagTimeMs:   1500\n"
            "CurrentVoters:          ["
            "{\"id\": 1, \"directoryId\": \"f4gAHxJxTuSrUTsxrJ0GKw\", \"endpoints\": [\"CONTROLLER://localhost:9093\"]}, "
            "{\"id\": 2, \"directoryId\": \"kGtxOVzTRBOnmGhYyR8RkA\", \"endpoints\": [\"CONTROLLER://localhost:9094\"]}, "
            "{\"id\": 3, \"directoryId\": \"H4cNaCmlSHGwaBzsnJ0l6Q\", \"endpoints\": [\"CONTROLLER://[::1]:9095\", "
            "\"CONTROLLER_SSL://[::1]:9096\"]}]\n"
            "CurrentObservers:       [{\"id\": 100, \"directoryId\": \"Xz3UnmKTTvi6A16eXlWeNg\"}]\n");
}

TEST(MetadataQuorum, StatusWithoutDirectoryIdsOrTimestamps) {
  // Kafka 3.9 prints the same objects with "directoryId": null; unknown
  // timestamps make MaxFollowerLagTimeMs -1.
  EXPECT_EQ(format_quorum_status(sample_v0(), ""),
            "ClusterId:              \n"
            "LeaderId:               1\n"
            "LeaderEpoch:            3\n"
            "HighWatermark:          42\n"
            "MaxFollowerLag:         2\n"
            "MaxFollowerLagTimeMs:   -1\n"
            "CurrentVoters:          [{\"id\": 1, \"directoryId\": null}, {\"id\": 2, \"directoryId\": null}, "
            "{\"id\": 3, \"directoryId\": null}]\n"
            "CurrentObservers:       [{\"id\": 100, \"directoryId\": null}]\n");
}

TEST(MetadataQuorum, StatusMaxFollowerLagPicksTheFirstSmallestVoterLikeKafka) {
  // Everybody caught up: the smallest log end offset is the first voter's
  // (Java's Stream.min keeps the first of equals); it is the leader -> 0.
  Resp::PartitionData p;
  p.leader_id = 1;
  p.current_voters = {replica(1, 50, 4990, 4980), replica(2, 50, 5000, 5000)};
  EXPECT_NE(format_quorum_status(wrap(p), "c").find("MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   0\n"), std::string::npos);
  // The leader is not first: lag 0, but the time is the leader's
  // LastCaughtUpTimestamp (its clock) minus the first voter's.
  p.leader_id = 2;
  EXPECT_NE(format_quorum_status(wrap(p), "c").find("MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   20\n"), std::string::npos);
  // No leader among the voters: an error, not garbage.
  p.leader_id = -1;
  EXPECT_THROW(format_quorum_status(wrap(p), "c"), std::runtime_error);
}

TEST(MetadataQuorum, ReplicationExactText) {
  EXPECT_EQ(format_quorum_replication(sample_v2(), 10100, false),
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t\n"
            "2     \tkGtxOVzTRBOnmGhYyR8RkA\t125         \t0  \t10000             \t10000                \tLeader  \t\n"
            "1     \tf4gAHxJxTuSrUTsxrJ0GKw\t125         \t0  \t9990              \t9990                 \tFollower\t\n"
            "3     \tH4cNaCmlSHGwaBzsnJ0l6Q\t100         \t25 \t9000              \t8500                 \tFollower\t\n"
            "100   \tXz3UnmKTTvi6A16eXlWeNg\t125         \t0  \t9995              \t9995                 \tObserver\t\n");
}

TEST(MetadataQuorum, ReplicationHumanReadable) {
  EXPECT_EQ(format_quorum_replication(sample_v2(), 10100, true),
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t\n"
            "2     \tkGtxOVzTRBOnmGhYyR8RkA\t125         \t0  \t100 ms ago        \t100 ms ago           \tLeader  \t\n"
            "1     \tf4gAHxJxTuSrUTsxrJ0GKw\t125         \t0  \t110 ms ago        \t110 ms ago           \tFollower\t\n"
            "3     \tH4cNaCmlSHGwaBzsnJ0l6Q\t100         \t25 \t1100 ms ago       \t1600 ms ago          \tFollower\t\n"
            "100   \tXz3UnmKTTvi6A16eXlWeNg\t125         \t0  \t105 ms ago        \t105 ms ago           \tObserver\t\n");
  // A timestamp after now (clock drift) is an error, as in Kafka.
  EXPECT_THROW(format_quorum_replication(sample_v2(), 9999, true), std::runtime_error);
}

TEST(MetadataQuorum, ReplicationWithoutDirectoryIdsOrTimestamps) {
  EXPECT_EQ(format_quorum_replication(sample_v0(), 10100, true),
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t\n"
            "1     \tAAAAAAAAAAAAAAAAAAAAAA\t42          \t0  \t-1                \t-1                   \tLeader  \t\n"
            "2     \tAAAAAAAAAAAAAAAAAAAAAA\t42          \t0  \t-1                \t-1                   \tFollower\t\n"
            "3     \tAAAAAAAAAAAAAAAAAAAAAA\t40          \t2  \t-1                \t-1                   \tFollower\t\n"
            "100   \tAAAAAAAAAAAAAAAAAAAAAA\t42          \t0  \t-1                \t-1                   \tObserver\t\n");
}

TEST(MetadataQuorum, PrettyPrintTablePadsEveryCellAndEndsWithATab) {
  EXPECT_EQ(pretty_print_table({"A", "Long header"}, {{"wide cell", "x"}, {"", "y"}}),
            "A        \tLong header\t\n"
            "wide cell\tx          \t\n"
            "         \ty          \t\n");
}

TEST(MetadataQuorum, ResponseErrors) {
  auto expect_error = [](const Resp& r, ErrorCode want, const std::string& text) {
    try {
      (void)format_quorum_status(r, "c");
      ADD_FAILURE() << "no error";
    } catch (const KafkaError& e) {
      EXPECT_EQ(e.code(), want);
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
    EXPECT_THROW(format_quorum_replication(r, 0, false), KafkaError);
  };
  Resp top = sample_v2();
  top.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  expect_error(top, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, "");
  Resp part = sample_v2();
  part.topics[0].partitions[0].error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  part.topics[0].partitions[0].error_message = "not the leader";
  expect_error(part, ErrorCode::NOT_LEADER_OR_FOLLOWER, "not the leader");
  Resp wrong_topic = sample_v2();
  wrong_topic.topics[0].topic_name = "other";
  expect_error(wrong_topic, ErrorCode::UNKNOWN_SERVER_ERROR, "received a topic with name other");
  Resp no_topic;
  expect_error(no_topic, ErrorCode::UNKNOWN_SERVER_ERROR, "received 0 topics");
  Resp wrong_partition = sample_v2();
  wrong_partition.topics[0].partitions[0].partition_index = 1;
  expect_error(wrong_partition, ErrorCode::UNKNOWN_SERVER_ERROR, "partition with index 1");
  EXPECT_EQ(error_name(ErrorCode::NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER");
}

TEST(MetadataQuorum, Flags) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"metadata-quorum", "--bootstrap-controller", "127.0.0.1:1,127.0.0.1:2", "--command-config", "f", "describe",
                          "--replication", "--human-readable"}));
  EXPECT_EQ(cli.selected(), "metadata-quorum describe");
  EXPECT_EQ(cli.quorum.bootstrap_controller, "127.0.0.1:1,127.0.0.1:2");
  EXPECT_FALSE(cli.quorum.bootstrap_server);
  EXPECT_EQ(cli.quorum.command_config, "f");
  EXPECT_TRUE(cli.quorum.replication);
  EXPECT_TRUE(cli.quorum.human_readable);
  EXPECT_FALSE(cli.quorum.status);

  Cli both;
  auto rc = both.parse({"metadata-quorum", "--bootstrap-server", "a:1", "--bootstrap-controller", "b:2", "describe", "--status"});
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 1);
  Cli help;
  rc = help.parse({"metadata-quorum", "describe", "--help"});
  ASSERT_TRUE(rc);
  EXPECT_EQ(*rc, 0);

  // Kafka's checks of the describe flags.
  auto run = [](MetadataQuorumOptions o) {
    std::ostringstream out, err;
    EXPECT_EQ(run_metadata_quorum(o, out, err), 1);
    EXPECT_EQ(out.str(), "");
    return err.str();
  };
  MetadataQuorumOptions o;
  o.bootstrap_server = "127.0.0.1:1";
  EXPECT_EQ(run(o), "One of --status or --replication must be specified with describe sub-command\n");
  o.status = o.replication = true;
  EXPECT_EQ(run(o), "Only one of --status or --replication should be specified with describe sub-command\n");
  o.replication = false;
  o.human_readable = true;
  EXPECT_EQ(run(o), "The option --human-readable is only supported along with --replication\n");
  o.human_readable = false;
  o.bootstrap_controller = "127.0.0.1:2";
  EXPECT_EQ(run(o), "Exactly one of --bootstrap-server or --bootstrap-controller must be given\n");
  o.bootstrap_controller.reset();
  o.command_config = "/nonexistent/admin.properties";
  EXPECT_EQ(run(o), "Properties file /nonexistent/admin.properties does not exist.\n");
}

TEST(MetadataQuorum, ConnectionRefusedIsOneLineAndExitCode1) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"metadata-quorum", "--bootstrap-controller", "127.0.0.1:1", "describe", "--status"}));
  std::ostringstream out, err;
  EXPECT_EQ(run_metadata_quorum(cli.quorum, out, err), 1);
  EXPECT_EQ(out.str(), "");
  std::string e = err.str();
  EXPECT_EQ(e.rfind("Error: could not connect to 127.0.0.1:1: ", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_EQ(e.back(), '\n');
}

// ---------------------------------------------------------------- request flow

namespace {

// One endpoint: answers ApiVersions with its table, then each request with
// its handler (none: the connection is closed); seen() lists the requests.
using FakeEndpoint = client::test::FakeKafkaServer;

constexpr int16_t kApiVersions = msg::ApiVersionsRequest::kApiKey;
constexpr int16_t kDescribeQuorum = msg::DescribeQuorumRequest::kApiKey;
constexpr int16_t kDescribeCluster = msg::DescribeClusterRequest::kApiKey;
constexpr int16_t kMetadata = msg::MetadataRequest::kApiKey;

FakeEndpoint::Handler answer_quorum(Resp resp) {
  return [resp](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    int16_t v = h.request_api_version;
    msg::DescribeQuorumRequest req;
    req.decode(r, v);
    EXPECT_EQ(req.topics.size(), 1u);
    EXPECT_EQ(req.topics.at(0).topic_name, "__cluster_metadata");
    EXPECT_EQ(req.topics.at(0).partitions.at(0).partition_index, 0);
    resp.encode(w, v);
  };
}

struct ToolRun {
  int rc;
  std::string out, err;
};

ToolRun run_tool(const std::vector<std::string>& args) {
  Cli cli;
  EXPECT_FALSE(cli.parse(args));
  std::ostringstream out, err;
  int rc = run_metadata_quorum(cli.quorum, out, err);
  return {rc, out.str(), err.str()};
}

}  // namespace

TEST(MetadataQuorum, DescribesThroughAControllerWithDescribeClusterForTheClusterId) {
  FakeEndpoint ep({{kApiVersions, {0, 4}}, {kDescribeQuorum, {0, 2}}, {kDescribeCluster, {0, 1}}});
  ep.on(kDescribeQuorum, answer_quorum(sample_v2()));
  ep.on(kDescribeCluster, [](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    int16_t v = h.request_api_version;
    msg::DescribeClusterRequest req;
    req.decode(r, v);
    EXPECT_EQ(req.endpoint_type, 2);  // controllers
    msg::DescribeClusterResponse resp;
    resp.cluster_id = "MkU3OEVBNTcwNTJENDM2Qk";
    resp.encode(w, v);
  });
  ep.start();
  // The first address refuses: the next one is used.
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-controller", "127.0.0.1:1," + ep.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, format_quorum_status(sample_v2(), "MkU3OEVBNTcwNTJENDM2Qk"));
  EXPECT_EQ(ep.seen(), (std::vector<std::pair<int16_t, int16_t>>{{kDescribeQuorum, 2}, {kDescribeCluster, 1}}));
}

TEST(MetadataQuorum, ClusterIdFromMetadataWhenDescribeClusterIsMissing) {
  // An older broker: DescribeQuorum v1 only, no DescribeCluster.
  FakeEndpoint ep({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 1}}, {kMetadata, {0, 12}}});
  ep.on(kDescribeQuorum, answer_quorum(sample_v2()));
  ep.on(kMetadata, [](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    int16_t v = h.request_api_version;
    msg::MetadataRequest req;
    req.decode(r, v);
    EXPECT_TRUE(req.topics && req.topics->empty());
    msg::MetadataResponse resp;
    resp.cluster_id = "from-metadata";
    resp.encode(w, v);
  });
  ep.start();
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-server", ep.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  // v1 carries neither directory ids nor nodes.
  EXPECT_NE(r.out.find("ClusterId:              from-metadata\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CurrentVoters:          [{\"id\": 1, \"directoryId\": null}, {\"id\": 2, \"directoryId\": null}, "
                       "{\"id\": 3, \"directoryId\": null}]\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(ep.seen(), (std::vector<std::pair<int16_t, int16_t>>{{kDescribeQuorum, 1}, {kMetadata, 12}}));
}

TEST(MetadataQuorum, ClusterIdEmptyWhenNeitherApiIsAvailable) {
  FakeEndpoint ep({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}});
  ep.on(kDescribeQuorum, answer_quorum(sample_v2()));
  ep.start();
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-controller", ep.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, format_quorum_status(sample_v2(), ""));
}

TEST(MetadataQuorum, ReplicationThroughABroker) {
  FakeEndpoint ep({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}});
  ep.on(kDescribeQuorum, answer_quorum(sample_v2()));
  ep.start();
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-server", ep.address(), "describe", "--replication"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, format_quorum_replication(sample_v2(), 0, false));
  EXPECT_EQ(ep.seen(), (std::vector<std::pair<int16_t, int16_t>>{{kDescribeQuorum, 2}}));
}

TEST(MetadataQuorum, ErrorCodesArePrintedByNameWithExitCode1) {
  Resp top = sample_v2();
  top.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  FakeEndpoint a({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}});
  a.on(kDescribeQuorum, answer_quorum(top));
  a.start();
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-server", a.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("Error: CLUSTER_AUTHORIZATION_FAILED: ", 0), 0u) << r.err;

  // A partition error (here a broker whose controller quorum has no leader).
  Resp part = sample_v2();
  part.topics[0].partitions[0].error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  part.topics[0].partitions[0].error_message = "no leader";
  FakeEndpoint b({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}});
  b.on(kDescribeQuorum, answer_quorum(part));
  b.start();
  r = run_tool({"metadata-quorum", "--bootstrap-server", b.address(), "describe", "--replication"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error: NOT_LEADER_OR_FOLLOWER: no leader\n");

  // DescribeQuorum not supported at all.
  FakeEndpoint c({{kApiVersions, {0, 3}}});
  c.start();
  r = run_tool({"metadata-quorum", "--bootstrap-controller", c.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err.rfind("Error: UNSUPPORTED_VERSION: ", 0), 0u) << r.err;
}

TEST(MetadataQuorum, NonLeaderControllerSendsUsToTheActiveController) {
  FakeEndpoint leader({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}, {kDescribeCluster, {0, 1}}});
  leader.on(kDescribeQuorum, answer_quorum(sample_v2()));
  leader.on(kDescribeCluster, [](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    int16_t v = h.request_api_version;
    msg::DescribeClusterRequest req;
    req.decode(r, v);
    msg::DescribeClusterResponse resp;
    resp.cluster_id = "cid";
    resp.encode(w, v);
  });
  leader.start();
  int leader_port = std::stoi(leader.address().substr(leader.address().rfind(':') + 1));
  Resp not_leader = sample_v2();
  not_leader.topics[0].partitions[0].error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  FakeEndpoint follower({{kApiVersions, {0, 3}}, {kDescribeQuorum, {0, 2}}, {kDescribeCluster, {0, 1}}});
  follower.on(kDescribeQuorum, answer_quorum(not_leader));
  follower.on(kDescribeCluster, [leader_port](const msg::RequestHeader& h, ByteReader& r, ByteWriter& w) {
    int16_t v = h.request_api_version;
    msg::DescribeClusterRequest req;
    req.decode(r, v);
    msg::DescribeClusterResponse resp;
    resp.cluster_id = "cid";
    resp.controller_id = 2;
    msg::DescribeClusterResponse::DescribeClusterBroker b;
    b.broker_id = 2;
    b.host = "127.0.0.1";
    b.port = leader_port;
    resp.brokers.push_back(b);
    resp.encode(w, v);
  });
  follower.start();
  ToolRun r = run_tool({"metadata-quorum", "--bootstrap-controller", follower.address(), "describe", "--status"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, format_quorum_status(sample_v2(), "cid"));
}
