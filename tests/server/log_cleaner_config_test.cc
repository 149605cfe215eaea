// The log cleaner's broker configs: Kafka's names, defaults and checks.
#include <gtest/gtest.h>

#include "server/config.h"
#include "test_props.h"

using namespace flotilla::server;

using flotilla::server::testing::props;

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
