// The console's routes (http/console_routes.cc) over a fake NodeView: the
// pages and assets, brokers and partitions from the image (fenced, offline,
// under-replicated), the quorum's lags, and bad parameters answered with
// JSON errors. Live numbers (kafka_call) fail here: they show as null.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "http/routes.h"
#include "metadata/delta.h"
#include "metadata/test_records.h"

namespace flotilla::http::console_routes_test {
namespace {

namespace fs = std::filesystem;

msg::RegisterBrokerRecord broker(int32_t id, bool fenced) {
  return metadata::testing::broker_record(id, 10 + id, Uuid{7, static_cast<uint64_t>(id)}, fenced);
}

msg::PartitionRecord partition(Uuid topic, int32_t index, std::vector<int32_t> replicas, std::vector<int32_t> isr) {
  msg::PartitionRecord p;
  p.topic_id = topic;
  p.partition_id = index;
  p.replicas = replicas;
  p.isr = isr;
  p.leader = replicas.front();
  return p;
}

class FakeNode : public NodeView {
 public:
  FakeNode() {
    metadata::MetadataDelta d{std::make_shared<const metadata::MetadataImage>()};
    d.replay(broker(1, false));
    d.replay(broker(2, true));
    msg::TopicRecord t;
    t.name = "orders";
    t.topic_id = Uuid{1, 1};
    d.replay(t);
    d.replay(partition(t.topic_id, 0, {1, 2}, {1, 2}));
    d.replay(partition(t.topic_id, 1, {2, 1}, {2}));  // led by the fenced broker
    d.replay(partition(t.topic_id, 2, {1, 2}, {1}));  // under-replicated
    d.set_offset(42, 3);
    image_ = d.apply();
    dir_ = (fs::temp_directory_path() / ("console_routes_test-" + std::to_string(::getpid()))).string();
    fs::create_directories(dir_);
  }
  ~FakeNode() override { fs::remove_all(dir_); }
  int32_t node_id() const override { return 1; }
  const std::string& cluster_id() const override { return cluster_; }
  bool broker_role() const override { return true; }
  bool controller_role() const override { return true; }
  std::string metadata_log_dir() const override { return dir_; }
  std::string metadata_partition_dir() const override { return dir_; }
  int64_t start_time_ms() const override { return 0; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return image_; }
  RaftStatus raft_status() const override {
    RaftStatus s;
    s.node_id = 1;
    s.state = "leader";
    s.leader_id = 1;
    s.epoch = 3;
    s.high_watermark = 40;
    s.log_end_offset = 43;
    s.voters = {{1, "", 43, 100, 100}, {2, "", 30, 90, 80}};
    return s;
  }
  const security::StandardAuthorizer* authorizer() const override { return nullptr; }
  KafkaReply kafka_call(int16_t, int16_t, std::vector<uint8_t>, std::shared_ptr<const security::Session>,
                        std::chrono::milliseconds, int32_t) override {
    ++calls;
    return KafkaReply{false, "no broker here", {}};
  }
  int calls = 0;

 private:
  std::string cluster_ = "test-cluster";
  std::string dir_;
  std::shared_ptr<const metadata::MetadataImage> image_;
};

struct Console : ::testing::Test {
  FakeNode node;
  Router router;
  Console() { add_console_routes(router, node, HttpOptions{}); }
  HttpResponse get(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    HttpResponse resp;
    router.dispatch(req, resp);
    return resp;
  }
  nlohmann::json json(const std::string& path, std::multimap<std::string, std::string> query = {}) {
    auto r = get(path, std::move(query));
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    return nlohmann::json::parse(r.body);
  }
};

TEST_F(Console, ServesPagesAndAssets) {
  for (const char* p : {"/", "/console", "/console/", "/console/quorum", "/console/snapshots"}) {
    auto r = get(p);
    EXPECT_EQ(r.status, 200) << p;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("/console/static/console.js"), std::string::npos);
  }
  auto js = get("/console/static/console.js");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("drawSnapshots"), std::string::npos);
  EXPECT_EQ(get("/console/static/console.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get("/console/static/missing.js").status, 404);
  EXPECT_EQ(get("/console/elsewhere").status, 404);
}

TEST_F(Console, BrokersAndPartitionsFromTheImage) {
  auto b = json("/console/api/brokers");
  ASSERT_EQ(b["brokers"].size(), 2u);
  EXPECT_EQ(b["brokers"][0]["state"], "registered");
  EXPECT_EQ(b["brokers"][1]["state"], "fenced");
  EXPECT_EQ(b["brokers"][0]["listeners"][0]["port"], 9093);
  EXPECT_EQ(b["brokers"][0]["listeners"][0]["securityProtocol"], "PLAINTEXT");
  EXPECT_EQ(b["metadataOffset"], 42);

  auto t = json("/console/api/topics");
  ASSERT_EQ(t["topics"].size(), 1u);
  const auto& ps = t["topics"][0]["partitions"];
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_FALSE(ps[0]["offline"]);
  EXPECT_FALSE(ps[0]["underReplicated"]);
  EXPECT_TRUE(ps[1]["offline"]);  // its leader is fenced
  EXPECT_TRUE(ps[2]["underReplicated"]);
  EXPECT_TRUE(ps[0]["logEndOffset"].is_null());  // ListOffsets failed: unknown, not an error
  EXPECT_EQ(t["offlinePartitions"], 1);
  EXPECT_EQ(t["underReplicatedPartitions"], 2);
  EXPECT_GT(node.calls, 0);
}

TEST_F(Console, QuorumLagsAgainstTheLeader) {
  auto q = json("/console/api/quorum");
  EXPECT_EQ(q["raft"]["leaderId"], 1);
  EXPECT_EQ(q["raft"]["voters"][0]["lag"], 0);
  EXPECT_EQ(q["raft"]["voters"][1]["lag"], 13);
  EXPECT_EQ(q["replicaSource"], "this node's Raft status");
  ASSERT_EQ(q["history"].size(), 1u);
  EXPECT_EQ(q["history"][0]["epoch"], 3);
  EXPECT_TRUE(q["elections"].empty());  // no log segments here
}

TEST_F(Console, BadParametersGetJsonErrors) {
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"limit", "0"}, {"limit", "1001"}, {"limit", "ten"}, {"before", "-2"}, {"before", "1x"}}) {
    auto r = get("/console/api/log", {{k, v}});
    EXPECT_EQ(r.status, 400) << k << "=" << v;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error_code"], 400);
  }
  EXPECT_EQ(get("/console/api/snapshots/diff").status, 404);  // no snapshots: nothing to compare
  EXPECT_EQ(get("/console/api/snapshots/diff", {{"from", "/etc/passwd"}, {"to", "current"}}).status, 404);
  auto same = json("/console/api/snapshots/diff", {{"from", "current"}, {"to", "current"}});
  EXPECT_EQ(same["text"], "Comparing metadata at offset 42, epoch 3 with offset 42, epoch 3\nNo changes.\n");
  EXPECT_TRUE(json("/console/api/snapshots")["snapshots"].empty());
}

}  // namespace
}  // namespace flotilla::http::console_routes_test
