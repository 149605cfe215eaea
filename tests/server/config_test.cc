// server.properties: the Java properties syntax, and KafkaConfig's names,
// defaults and checks (retention units, the metadata log, consumer groups,
// preferred-leader balancing, the log cleaner).
#include <gtest/gtest.h>

#include "server/config.h"
#include "test_props.h"

using namespace flotilla::server;
using flotilla::server::testing::config_error;
using flotilla::server::testing::props;

namespace {
std::map<std::string, std::string> base() { return props({{"log.dirs", "/tmp/a,/tmp/b"}}); }
}  // namespace

TEST(Properties, ParsesJavaPropertiesSyntax) {
  auto p = parse_properties("# comment\n! also comment\na=1\nb : two\nc three\nd=x\\\n  y\ne=tab\\tchar\n  f = spaced  \n");
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "two");
  EXPECT_EQ(p["c"], "three");
  EXPECT_EQ(p["d"], "xy");
  EXPECT_EQ(p["e"], "tab\tchar");
  EXPECT_EQ(p["f"], "spaced");
  EXPECT_EQ(p.size(), 6u);
}

TEST(KafkaConfig, DefaultsAreKafkas) {
  auto c = KafkaConfig::from_properties(base());
  EXPECT_TRUE(c.broker_role);
  EXPECT_TRUE(c.controller_role);
  EXPECT_EQ(c.node_id, 1);
  EXPECT_EQ(c.num_partitions, 1);
  EXPECT_EQ(c.log_segment_bytes, 1073741824);
  EXPECT_EQ(c.log_retention_ms, 604800000);
  EXPECT_EQ(c.log_retention_bytes, -1);
  EXPECT_EQ(c.message_max_bytes, 1048588);
  EXPECT_EQ(c.socket_request_max_bytes, 104857600);
  EXPECT_TRUE(c.auto_create_topics_enable);
  EXPECT_EQ(c.quorum_election_timeout_ms, 1000);
  EXPECT_EQ(c.quorum_fetch_timeout_ms, 2000);
  EXPECT_EQ(c.metadata_max_idle_interval_ms, 500);
  ASSERT_EQ(c.log_dirs.size(), 2u);
  EXPECT_EQ(c.metadata_log_dir, "/tmp/a");  // default: first of log.dirs
  ASSERT_EQ(c.quorum_voters.size(), 1u);
  EXPECT_EQ(c.quorum_voters[0].id, 1);
  EXPECT_EQ(c.quorum_voters[0].port, 9093);
  EXPECT_EQ(c.advertised("PLAINTEXT").port, 9092);
}

TEST(KafkaConfig, RetentionUnitsFollowKafkasPrecedence) {
  auto p = base();
  p["log.retention.hours"] = "1";
  EXPECT_EQ(KafkaConfig::from_properties(p).log_retention_ms, 3600000);
  p["log.retention.minutes"] = "2";
  EXPECT_EQ(KafkaConfig::from_properties(p).log_retention_ms, 120000);
  p["log.retention.ms"] = "5";
  EXPECT_EQ(KafkaConfig::from_properties(p).log_retention_ms, 5);
}

TEST(KafkaConfig, InvalidValuesNameTheProperty) {
  auto expect_error = [](std::map<std::string, std::string> p, const std::string& prop) {
    try {
      KafkaConfig::from_properties(p);
      FAIL() << "expected an error for " << prop;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(prop), std::string::npos) << e.what();
    }
  };
  auto p = base();
  p["num.partitions"] = "zero";
  expect_error(p, "num.partitions");
  p = base();
  p["log.segment.bytes"] = "1";
  expect_error(p, "log.segment.bytes");
  p = base();
  p.erase("process.roles");
  expect_error(p, "process.roles");
  p = base();
  p.erase("node.id");
  expect_error(p, "node.id");
  p = base();
  p["auto.create.topics.enable"] = "maybe";
  expect_error(p, "auto.create.topics.enable");
  p = base();
  p["listeners"] = "PLAINTEXT://127.0.0.1";
  expect_error(p, "listeners");
  p = base();
  p["controller.listener.names"] = "NOPE";
  expect_error(p, "controller.listener.names");
  for (const char* nice : {"20", "-1"}) {
    p = base();
    p["flotilla.http.server.thread.nice"] = nice;
    expect_error(p, "flotilla.http.server.thread.nice");
  }
  p = base();
  p["flotilla.http.server.thread.nice"] = "19";
  EXPECT_EQ(KafkaConfig::from_properties(p).http_server_thread_nice, 19);
}

TEST(KafkaConfig, UnknownKeysAreReported) {
  auto p = base();
  p["no.such.thing"] = "1";
  std::vector<std::string> unknown;
  KafkaConfig::from_properties(p, &unknown);
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0], "no.such.thing");
}

TEST(KafkaConfig, MetadataLogConfigsAreKafkas) {
  auto c = KafkaConfig::from_properties(base());
  EXPECT_EQ(c.metadata_log_segment_bytes, 1073741824);
  EXPECT_EQ(c.metadata_log_segment_min_bytes, 8388608);
  EXPECT_EQ(c.metadata_log_segment_ms, 604800000);
  EXPECT_EQ(c.metadata_max_retention_ms, 604800000);
  EXPECT_EQ(c.metadata_max_retention_bytes, 104857600);
  EXPECT_EQ(c.metadata_snapshot_max_new_record_bytes, 20971520);
  EXPECT_EQ(c.metadata_snapshot_max_interval_ms, 3600000);

  auto p = base();
  p["metadata.log.segment.bytes"] = "16777216";
  p["metadata.log.segment.ms"] = "60000";
  p["metadata.max.retention.ms"] = "-1";
  p["metadata.max.retention.bytes"] = "-5";  // no validator in Kafka: any negative means no limit
  p["metadata.log.max.record.bytes.between.snapshots"] = "1";
  p["metadata.log.max.snapshot.interval.ms"] = "0";
  std::vector<std::string> unknown;
  c = KafkaConfig::from_properties(p, &unknown);
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(c.metadata_log_segment_bytes, 16777216);
  EXPECT_EQ(c.metadata_log_segment_ms, 60000);
  EXPECT_EQ(c.metadata_max_retention_ms, -1);
  EXPECT_EQ(c.metadata_max_retention_bytes, -5);
  EXPECT_EQ(c.metadata_snapshot_max_new_record_bytes, 1);
  EXPECT_EQ(c.metadata_snapshot_max_interval_ms, 0);

  // The internal metadata.log.segment.min.bytes (tests) is a known key and lowers the floor.
  p = base();
  p["metadata.log.segment.min.bytes"] = "1024";
  p["metadata.log.segment.bytes"] = "1024";
  unknown.clear();
  c = KafkaConfig::from_properties(p, &unknown);
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(c.metadata_log_segment_min_bytes, 1024);
  EXPECT_EQ(c.metadata_log_segment_bytes, 1024);
}

TEST(KafkaConfig, MetadataLogSegmentBytesBelowTheMinimumIsAnError) {
  auto message = config_error;
  auto p = base();
  p["metadata.log.segment.bytes"] = "10240";
  EXPECT_EQ(message(p), "Cannot set metadata.log.segment.bytes below 8388608: 10240");
  p["metadata.log.segment.bytes"] = "8388607";
  EXPECT_EQ(message(p), "Cannot set metadata.log.segment.bytes below 8388608: 8388607");
  p["metadata.log.segment.bytes"] = "8388608";  // the minimum itself is fine
  EXPECT_EQ(message(p), "");
  p["metadata.log.segment.bytes"] = "10240";
  p["metadata.log.segment.min.bytes"] = "10241";
  EXPECT_EQ(message(p), "Cannot set metadata.log.segment.bytes below 10241: 10240");
  p["metadata.log.segment.min.bytes"] = "10240";
  EXPECT_EQ(message(p), "");
}

TEST(KafkaConfig, MetadataLogConfigValidators) {
  auto error = [](std::map<std::string, std::string> p, const std::string& key, const std::string& value) {
    p[key] = value;
    return config_error(p);
  };
  auto p = base();
  p["metadata.log.segment.min.bytes"] = "12";
  EXPECT_EQ(error(p, "metadata.log.segment.bytes", "11"),
            "Invalid value 11 for configuration metadata.log.segment.bytes: Value must be at least 12");
  EXPECT_EQ(error(p, "metadata.log.segment.bytes", "12"), "");
  // INT, as in Kafka.
  EXPECT_EQ(error(p, "metadata.log.segment.bytes", "2147483648"),
            "Invalid value 2147483648 for configuration metadata.log.segment.bytes: Not a number of type INT");
  EXPECT_EQ(error(p, "metadata.log.segment.min.bytes", "11"),
            "Invalid value 11 for configuration metadata.log.segment.min.bytes: Value must be at least 12");
  p = base();
  EXPECT_EQ(error(p, "metadata.log.max.record.bytes.between.snapshots", "0"),
            "Invalid value 0 for configuration metadata.log.max.record.bytes.between.snapshots: Value must be at least 1");
  EXPECT_EQ(error(p, "metadata.log.max.snapshot.interval.ms", "-1"),
            "Invalid value -1 for configuration metadata.log.max.snapshot.interval.ms: Value must be at least 0");
  EXPECT_EQ(error(p, "metadata.max.retention.ms", "soon"),
            "Invalid value soon for configuration metadata.max.retention.ms: Not a number of type LONG");
  EXPECT_NE(error(p, "metadata.log.segment.ms", "0"), "");
  EXPECT_EQ(error(p, "metadata.max.retention.bytes", "-1"), "");
}

TEST(KafkaConfig, ConsumerGroupProtocolSettings) {
  auto c = KafkaConfig::from_properties(base());
  EXPECT_EQ(c.group_consumer_session_timeout_ms, 45000);
  EXPECT_EQ(c.group_consumer_heartbeat_interval_ms, 5000);
  auto p = base();
  p["group.consumer.session.timeout.ms"] = "2000";
  p["group.consumer.heartbeat.interval.ms"] = "500";
  p["group.consumer.max.size"] = "7";
  std::vector<std::string> unknown;
  c = KafkaConfig::from_properties(p, &unknown);
  EXPECT_TRUE(unknown.empty());
  EXPECT_EQ(c.group_consumer_session_timeout_ms, 2000);
  EXPECT_EQ(c.group_consumer_heartbeat_interval_ms, 500);
  EXPECT_EQ(c.group_consumer_max_size, 7);
  p["group.consumer.heartbeat.interval.ms"] = "2000";
  EXPECT_THROW(KafkaConfig::from_properties(p), ConfigError);
}

// ---------------------------------------------------------------- preferred-leader balancing

TEST(LeaderBalanceConfig, DefaultsAndParsing) {
  std::vector<std::string> unknown;
  auto c = KafkaConfig::from_properties(props(), &unknown);
  EXPECT_TRUE(c.auto_leader_rebalance_enable);
  EXPECT_EQ(c.leader_imbalance_check_interval_seconds, 300);
  EXPECT_EQ(c.leader_imbalance_per_broker_percentage, 10);
  auto d = KafkaConfig::from_properties(props({{"auto.leader.rebalance.enable", "false"},
                                               {"leader.imbalance.check.interval.seconds", "5"},
                                               {"leader.imbalance.per.broker.percentage", "20"}}),
                                        &unknown);
  EXPECT_FALSE(d.auto_leader_rebalance_enable);
  EXPECT_EQ(d.leader_imbalance_check_interval_seconds, 5);
  EXPECT_EQ(d.leader_imbalance_per_broker_percentage, 20);
  EXPECT_TRUE(unknown.empty());
  EXPECT_THROW(KafkaConfig::from_properties(props({{"leader.imbalance.check.interval.seconds", "0"}})), ConfigError);
  EXPECT_THROW(KafkaConfig::from_properties(props({{"auto.leader.rebalance.enable", "maybe"}})), ConfigError);
}

// ---------------------------------------------------------------- the log cleaner

TEST(LogCleanerConfig, DefaultsAndParsing) {
  std::vector<std::string> unknown;
  auto c = KafkaConfig::from_properties(props(), &unknown);
  EXPECT_TRUE(c.log_cleaner_enable);
  EXPECT_EQ(c.log_cleaner_threads, 1);
  EXPECT_EQ(c.log_cleaner_backoff_ms, 15000);
  EXPECT_EQ(c.log_cleaner_dedupe_buffer_size, 134217728);
  EXPECT_DOUBLE_EQ(c.log_cleaner_min_cleanable_ratio, 0.5);
  EXPECT_EQ(c.log_cleaner_delete_retention_ms, 86400000);
  EXPECT_EQ(c.log_cleaner_min_compaction_lag_ms, 0);
  EXPECT_EQ(c.log_cleaner_max_compaction_lag_ms, INT64_MAX);
  auto d = KafkaConfig::from_properties(props({{"log.cleaner.enable", "false"},
                                               {"log.cleaner.threads", "2"},
                                               {"log.cleaner.backoff.ms", "100"},
                                               {"log.cleaner.min.cleanable.ratio", "0.01"},
                                               {"log.cleaner.delete.retention.ms", "500"},
                                               {"log.cleaner.io.buffer.size", "524288"},
                                               {"log.cleanup.policy", "compact,delete"}}),
                                        &unknown);
  EXPECT_FALSE(d.log_cleaner_enable);
  EXPECT_EQ(d.log_cleaner_threads, 2);
  EXPECT_EQ(d.log_cleaner_backoff_ms, 100);
  EXPECT_DOUBLE_EQ(d.log_cleaner_min_cleanable_ratio, 0.01);
  EXPECT_EQ(d.log_cleaner_delete_retention_ms, 500);
  EXPECT_EQ(d.log_cleanup_policy, "compact,delete");
  EXPECT_TRUE(unknown.empty());
  EXPECT_THROW(KafkaConfig::from_properties(props({{"log.cleaner.min.cleanable.ratio", "1.5"}})), ConfigError);
  EXPECT_THROW(KafkaConfig::from_properties(props({{"log.cleaner.backoff.ms", "-1"}})), ConfigError);
  EXPECT_THROW(KafkaConfig::from_properties(props({{"log.cleanup.policy", "shred"}})), ConfigError);
}
