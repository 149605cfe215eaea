// IncrementalAlterConfigs and AlterConfigs on the controller: TOPIC and
// BROKER resources, the records they write, Kafka's validation errors,
// validate_only, duplicates, and the topic-config validator on its own.
#include <gtest/gtest.h>

#include "harness.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;

namespace {

constexpr int8_t kTopic = 2, kBroker = 4;
constexpr int8_t kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3;

struct Op {
  std::string name;
  int8_t op;
  std::optional<std::string> value;
};

struct Configs : Harness {
  Configs() {
    live_broker(1);
    EXPECT_EQ(create("t", 1, 1).topics.at(0).error_code, 0);
  }
  msg::IncrementalAlterConfigsResponse incremental(std::vector<std::tuple<int8_t, std::string, std::vector<Op>>> resources,
                                                   bool validate_only = false) {
    msg::IncrementalAlterConfigsRequest req;
    req.validate_only = validate_only;
    for (auto& [type, name, ops] : resources) {
      msg::IncrementalAlterConfigsRequest::AlterConfigsResource r;
      r.resource_type = type;
      r.resource_name = name;
      for (auto& o : ops) {
        msg::IncrementalAlterConfigsRequest::AlterableConfig c;
        c.name = o.name;
        c.config_operation = o.op;
        c.value = o.value;
        r.configs.push_back(c);
      }
      req.resources.push_back(r);
    }
    return call<msg::IncrementalAlterConfigsResponse>([&](auto done) { controller->incremental_alter_configs(req, 1, done); });
  }
  // One resource: its error code and message.
  std::pair<int16_t, std::string> one(int8_t type, const std::string& name, std::vector<Op> ops, bool validate_only = false) {
    auto r = incremental({{type, name, std::move(ops)}}, validate_only);
    EXPECT_EQ(r.responses.size(), 1u);
    if (r.responses.empty()) return {-100, ""};
    EXPECT_EQ(r.responses[0].resource_type, type);
    EXPECT_EQ(r.responses[0].resource_name, name);
    if (r.responses[0].error_code == 0) {
      EXPECT_EQ(r.responses[0].error_message, std::nullopt);
    }
    return {r.responses[0].error_code, r.responses[0].error_message.value_or("")};
  }
  msg::AlterConfigsResponse legacy(int8_t type, const std::string& name, std::vector<std::pair<std::string, std::string>> configs,
                                   bool validate_only = false) {
    msg::AlterConfigsRequest req;
    req.validate_only = validate_only;
    msg::AlterConfigsRequest::AlterConfigsResource r;
    r.resource_type = type;
    r.resource_name = name;
    for (auto& [k, v] : configs) {
      msg::AlterConfigsRequest::AlterableConfig c;
      c.name = k;
      c.value = v;
      r.configs.push_back(c);
    }
    req.resources.push_back(r);
    return call<msg::AlterConfigsResponse>([&](auto done) { controller->alter_configs(req, 2, done); });
  }
  metadata::ConfigMap topic() const { return image()->topic_configs("t"); }
  metadata::ConfigMap broker(const std::string& name) const { return image()->configs_of(metadata::ConfigResourceType::BROKER, name); }
  std::vector<msg::ConfigRecord> last_config_records() const { return records_of<msg::ConfigRecord>(decode_batch(raft.log().back())); }
};

}  // namespace

TEST(IncrementalAlterConfigs, TopicSetDeleteAppendSubtract) {
  Configs c;
  EXPECT_EQ(c.one(kTopic, "t", {{"retention.ms", kSet, "1000"}, {"segment.bytes", kSet, "1048576"}}).first, 0);
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}}));
  auto recs = c.last_config_records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].resource_type, kTopic);
  EXPECT_EQ(recs[0].resource_name, "t");

  // Unchanged topic values write nothing.
  size_t batches = c.raft.log().size();
  EXPECT_EQ(c.one(kTopic, "t", {{"retention.ms", kSet, "1000"}}).first, 0);
  EXPECT_EQ(c.raft.log().size(), batches);

  EXPECT_EQ(c.one(kTopic, "t", {{"retention.ms", kDelete, std::nullopt}}).first, 0);
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"segment.bytes", "1048576"}}));
  recs = c.last_config_records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].value, std::nullopt);  // a deletion

  // APPEND to a LIST starts from its default ("delete"); values are not repeated.
  EXPECT_EQ(c.one(kTopic, "t", {{"cleanup.policy", kAppend, "compact"}}).first, 0);
  EXPECT_EQ(c.topic().at("cleanup.policy"), "delete,compact");
  EXPECT_EQ(c.one(kTopic, "t", {{"cleanup.policy", kAppend, "compact"}}).first, 0);
  EXPECT_EQ(c.topic().at("cleanup.policy"), "delete,compact");
  EXPECT_EQ(c.one(kTopic, "t", {{"cleanup.policy", kSubtract, "delete"}}).first, 0);
  EXPECT_EQ(c.topic().at("cleanup.policy"), "compact");
  auto [code, message] = c.one(kTopic, "t", {{"retention.ms", kAppend, "5"}});
  EXPECT_EQ(code, ec(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(message, "Can't APPEND to key retention.ms because its type is not LIST.");
}

TEST(IncrementalAlterConfigs, TopicValidationErrors) {
  Configs c;
  auto err = [&](std::vector<Op> ops) { return c.one(kTopic, "t", std::move(ops)); };
  EXPECT_EQ(err({{"no.such.config", kSet, "1"}}),
            std::make_pair(ec(ErrorCode::INVALID_CONFIG), std::string("Unknown topic config name: no.such.config")));
  EXPECT_EQ(err({{"retention.ms", kSet, "soon"}}),
            std::make_pair(ec(ErrorCode::INVALID_CONFIG), std::string("Invalid value soon for configuration retention.ms: Not a number of type LONG")));
  EXPECT_EQ(err({{"segment.bytes", kSet, "10"}}),
            std::make_pair(ec(ErrorCode::INVALID_CONFIG), std::string("Invalid value 10 for configuration segment.bytes: Value must be at least 14")));
  EXPECT_EQ(err({{"segment.bytes", kSet, "99999999999"}}).second,
            "Invalid value 99999999999 for configuration segment.bytes: Not a number of type INT");
  EXPECT_EQ(err({{"cleanup.policy", kSet, "forever"}}).second,
            "Invalid value forever for configuration cleanup.policy: String must be one of: compact, delete");
  EXPECT_EQ(err({{"compression.type", kSet, "brotli"}}).second,
            "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
  EXPECT_EQ(err({{"preallocate", kSet, "yes"}}).second,
            "Invalid value yes for configuration preallocate: Expected value to be either true or false");
  EXPECT_EQ(err({{"min.cleanable.dirty.ratio", kSet, "1.5"}}).second,
            "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1");
  EXPECT_EQ(err({{"min.compaction.lag.ms", kSet, "10"}, {"max.compaction.lag.ms", kSet, "5"}}).second,
            "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
  EXPECT_EQ(err({{"remote.storage.enable", kSet, "true"}}).first, ec(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(err({{"compression.gzip.level", kSet, "0"}}).second,
            "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1");
  EXPECT_EQ(err({{"compression.gzip.level", kSet, "-1"}}).first, 0);
  EXPECT_EQ(err({{"leader.replication.throttled.replicas", kSet, "0:1,1:2"}}).first, 0);
  EXPECT_EQ(err({{"leader.replication.throttled.replicas", kSet, "*"}}).first, 0);
  EXPECT_EQ(err({{"leader.replication.throttled.replicas", kSet, "x"}}).first, ec(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(err({{"retention.ms", 9, "1"}}).first, ec(ErrorCode::INVALID_REQUEST));
  // Nothing of the failed changes was written.
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"compression.gzip.level", "-1"}, {"leader.replication.throttled.replicas", "*"}}));

  EXPECT_EQ(c.one(kTopic, "missing", {{"retention.ms", kSet, "1"}}),
            std::make_pair(ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), std::string("The topic 'missing' does not exist.")));
  EXPECT_EQ(c.one(kTopic, "", {{"retention.ms", kSet, "1"}}),
            std::make_pair(ec(ErrorCode::INVALID_REQUEST), std::string("Default topic resources are not allowed.")));
  EXPECT_EQ(c.one(kTopic, "bad name", {{"retention.ms", kSet, "1"}}).first, ec(ErrorCode::INVALID_TOPIC_EXCEPTION));
}

TEST(IncrementalAlterConfigs, ValidateOnlyWritesNothing) {
  Configs c;
  size_t batches = c.raft.log().size();
  EXPECT_EQ(c.one(kTopic, "t", {{"retention.ms", kSet, "1000"}}, /*validate_only=*/true).first, 0);
  EXPECT_EQ(c.one(kTopic, "t", {{"retention.ms", kSet, "x"}}, true).first, ec(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(c.raft.log().size(), batches);
  EXPECT_TRUE(c.topic().empty());
}

TEST(IncrementalAlterConfigs, BrokerResources) {
  Configs c;
  EXPECT_EQ(c.one(kBroker, "", {{"log.retention.ms", kSet, "3600000"}}).first, 0);
  EXPECT_EQ(c.broker(""), (metadata::ConfigMap{{"log.retention.ms", "3600000"}}));
  EXPECT_EQ(c.one(kBroker, "1", {{"log.cleaner.threads", kSet, "2"}}).first, 0);
  EXPECT_EQ(c.broker("1"), (metadata::ConfigMap{{"log.cleaner.threads", "2"}}));
  // A broker key is written even when unchanged, so brokers reload it.
  size_t batches = c.raft.log().size();
  EXPECT_EQ(c.one(kBroker, "1", {{"log.cleaner.threads", kSet, "2"}}).first, 0);
  EXPECT_EQ(c.raft.log().size(), batches + 1);
  ASSERT_EQ(c.last_config_records().size(), 1u);
  // The node must exist.
  EXPECT_EQ(c.one(kBroker, "7", {{"log.cleaner.threads", kSet, "2"}}),
            std::make_pair(ec(ErrorCode::BROKER_ID_NOT_REGISTERED), std::string("No node with id 7 found.")));
  EXPECT_EQ(c.one(kBroker, "abc", {{"log.cleaner.threads", kSet, "2"}}),
            std::make_pair(ec(ErrorCode::INVALID_REQUEST), std::string("Unable to parse broker name abc")));
  EXPECT_EQ(c.one(kBroker, "-1", {{"log.cleaner.threads", kSet, "2"}}),
            std::make_pair(ec(ErrorCode::INVALID_REQUEST), std::string("Invalid negative broker ID.")));
  EXPECT_EQ(c.one(kBroker, "1", {{"log.cleaner.threads", kDelete, std::nullopt}}).first, 0);
  EXPECT_TRUE(c.broker("1").empty());
}

TEST(IncrementalAlterConfigs, ResourcesFailAloneAndDuplicatesAreRefused) {
  Configs c;
  auto r = c.incremental({{kTopic, "t", {{"retention.ms", kSet, "5"}}},
                          {kTopic, "missing", {{"retention.ms", kSet, "5"}}},
                          {kBroker, "", {{"log.cleaner.threads", kSet, "3"}}},
                          {99, "x", {}}});
  ASSERT_EQ(r.responses.size(), 4u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(r.responses[1].error_code, ec(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(r.responses[2].error_code, 0);
  EXPECT_EQ(r.responses[3].error_code, ec(ErrorCode::UNSUPPORTED_VERSION));
  EXPECT_EQ(r.responses[3].error_message, std::optional<std::string>("Unknown resource type 99."));
  EXPECT_EQ(c.topic().at("retention.ms"), "5");
  EXPECT_EQ(c.broker("").at("log.cleaner.threads"), "3");
  // Both changes were one batch (atomic).
  auto recs = c.last_config_records();
  EXPECT_EQ(recs.size(), 2u);

  auto dup = c.incremental({{kTopic, "t", {{"retention.ms", kSet, "6"}}}, {kTopic, "t", {{"retention.ms", kSet, "7"}}}});
  ASSERT_EQ(dup.responses.size(), 1u);
  EXPECT_EQ(dup.responses[0].error_code, ec(ErrorCode::INVALID_REQUEST));
  EXPECT_EQ(dup.responses[0].error_message, std::optional<std::string>("Duplicate resource."));
  EXPECT_EQ(c.topic().at("retention.ms"), "5");
}

TEST(IncrementalAlterConfigs, NotControllerWhenInactive) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, /*activate=*/false);
  msg::IncrementalAlterConfigsRequest req;
  req.resources.resize(1);
  req.resources[0].resource_type = kTopic;
  req.resources[0].resource_name = "t";
  auto r = h.call<msg::IncrementalAlterConfigsResponse>([&](auto done) { h.controller->incremental_alter_configs(req, 1, done); });
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, ec(ErrorCode::NOT_CONTROLLER));
}

TEST(AlterConfigs, TheRequestIsTheWholeConfiguration) {
  Configs c;
  auto r = c.legacy(kTopic, "t", {{"retention.ms", "1000"}, {"segment.ms", "60000"}});
  ASSERT_EQ(r.responses.size(), 1u);
  EXPECT_EQ(r.responses[0].error_code, 0);
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"retention.ms", "1000"}, {"segment.ms", "60000"}}));
  // Keys left out are deleted.
  EXPECT_EQ(c.legacy(kTopic, "t", {{"retention.ms", "2000"}}).responses[0].error_code, 0);
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"retention.ms", "2000"}}));
  EXPECT_EQ(c.legacy(kTopic, "t", {{"retention.ms", "x"}}).responses[0].error_code, ec(ErrorCode::INVALID_CONFIG));
  EXPECT_EQ(c.legacy(kTopic, "t", {}, /*validate_only=*/true).responses[0].error_code, 0);
  EXPECT_EQ(c.topic(), (metadata::ConfigMap{{"retention.ms", "2000"}}));
  EXPECT_EQ(c.legacy(kBroker, "", {{"log.cleaner.threads", "2"}}).responses[0].error_code, 0);
  EXPECT_EQ(c.broker(""), (metadata::ConfigMap{{"log.cleaner.threads", "2"}}));
  EXPECT_EQ(c.legacy(kBroker, "", {}).responses[0].error_code, 0);
  EXPECT_TRUE(c.broker("").empty());
}

TEST(TopicConfigValidation, WholeSets) {
  EXPECT_EQ(validate_topic_configs({}), "");
  EXPECT_EQ(validate_topic_configs({{"retention.ms", "-1"}, {"cleanup.policy", "compact, delete"}}), "");
  EXPECT_EQ(validate_topic_configs({{"retention.ms", "-2"}}), "Invalid value -2 for configuration retention.ms: Value must be at least -1");
  EXPECT_EQ(validate_topic_configs({{"retention.ms", " 5 "}}), "");  // Kafka trims
  EXPECT_EQ(validate_topic_configs({{"min.insync.replicas", "0"}}),
            "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1");
  EXPECT_EQ(validate_topic_configs({{"message.timestamp.type", "createtime"}}),
            "Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime");
  EXPECT_EQ(validate_topic_configs({{"unclean.leader.election.enable", "TRUE"}}), "");
}
