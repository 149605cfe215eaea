// Kafka's flags for every sub-command parse into the options the commands run with.
#include <gtest/gtest.h>

#include <sstream>

#include "tools/cli.h"

namespace flotilla::tools {
namespace {

TEST(Cli, StorageRandomUuid) {
  Cli c;
  ASSERT_FALSE(c.parse({"storage", "random-uuid"}));
  EXPECT_EQ(c.selected(), "storage random-uuid");
}

TEST(Cli, StorageFormatLongAndShortFlags) {
  Cli c;
  ASSERT_FALSE(c.parse({"storage", "format", "--config", "s.properties", "--cluster-id", "abc", "--ignore-formatted",
                        "--release-version", "3.8", "--standalone"}));
  EXPECT_EQ(c.selected(), "storage format");
  EXPECT_EQ(c.format.config, "s.properties");
  EXPECT_EQ(c.format.cluster_id, "abc");
  EXPECT_TRUE(c.format.ignore_formatted);
  EXPECT_EQ(c.format.release_version, "3.8");
  EXPECT_TRUE(c.format.standalone);

  Cli s;
  ASSERT_FALSE(s.parse({"storage", "format", "-t", "xyz", "-c", "f", "-g", "-s"}));
  EXPECT_EQ(s.format.config, "f");
  EXPECT_EQ(s.format.cluster_id, "xyz");
  EXPECT_TRUE(s.format.ignore_formatted);
  EXPECT_TRUE(s.format.standalone);
  EXPECT_FALSE(s.format.release_version);
}

TEST(Cli, StorageFormatNeedsConfigAndClusterId) {
  Cli c;
  auto rc = c.parse({"storage", "format", "--config", "f"});
  ASSERT_TRUE(rc);
  EXPECT_NE(*rc, 0);
}

TEST(Cli, Topics) {
  Cli c;
  ASSERT_FALSE(c.parse({"topics", "--bootstrap-server", "localhost:9092", "--create", "--topic", "t", "--partitions", "3",
                        "--replication-factor", "1", "--config", "retention.ms=1000", "--config", "cleanup.policy=delete",
                        "--if-not-exists"}));
  EXPECT_EQ(c.selected(), "topics");
  EXPECT_EQ(c.topics.bootstrap_server, "localhost:9092");
  EXPECT_TRUE(c.topics.create);
  EXPECT_FALSE(c.topics.list);
  EXPECT_EQ(c.topics.topic, "t");
  EXPECT_EQ(c.topics.partitions, 3);
  EXPECT_EQ(c.topics.replication_factor, 1);
  EXPECT_EQ(c.topics.configs, (std::vector<std::string>{"retention.ms=1000", "cleanup.policy=delete"}));
  EXPECT_TRUE(c.topics.if_not_exists);

  Cli l;
  ASSERT_FALSE(l.parse({"topics", "--list", "--bootstrap-server", "h:1"}));
  EXPECT_TRUE(l.topics.list);
  EXPECT_FALSE(l.topics.topic);
  EXPECT_FALSE(l.topics.partitions);

  Cli missing;
  auto rc = missing.parse({"topics", "--list"});
  ASSERT_TRUE(rc);
  EXPECT_NE(*rc, 0);
}

TEST(Cli, TopicsActionsMustBeExactlyOne) {
  Cli c;
  ASSERT_FALSE(c.parse({"topics", "--bootstrap-server", "h:1", "--list", "--describe"}));
  std::ostringstream out, err;
  EXPECT_EQ(run_topics(c.topics, out, err), 1);
  EXPECT_NE(err.str().find("exactly one action"), std::string::npos);
  Cli d;
  ASSERT_FALSE(d.parse({"topics", "--bootstrap-server", "h:1", "--delete"}));
  std::ostringstream out2, err2;
  EXPECT_EQ(run_topics(d.topics, out2, err2), 1);
  EXPECT_NE(err2.str().find("[topic]"), std::string::npos);
}

TEST(Cli, ConsoleProducer) {
  Cli c;
  ASSERT_FALSE(c.parse({"console-producer", "--bootstrap-server", "h:1", "--topic", "t", "--property", "parse.key=true", "--property",
                        "key.separator=:", "--compression-codec", "zstd", "--producer-property", "acks=all", "--batch-size", "500"}));
  EXPECT_EQ(c.selected(), "console-producer");
  EXPECT_EQ(c.producer.topic, "t");
  EXPECT_EQ(c.producer.properties, (std::vector<std::string>{"parse.key=true", "key.separator=:"}));
  EXPECT_EQ(c.producer.producer_properties, (std::vector<std::string>{"acks=all"}));
  EXPECT_EQ(c.producer.compression_codec, "zstd");
  EXPECT_EQ(c.producer.batch_size, 500);
  EXPECT_FALSE(c.producer.sync);
}

TEST(Cli, ConsoleProducerCompressionCodecWithoutValueIsGzip) {
  Cli c;
  ASSERT_FALSE(c.parse({"console-producer", "--bootstrap-server", "h:1", "--compression-codec", "--topic", "t"}));
  EXPECT_EQ(c.producer.compression_codec, "gzip");
  EXPECT_EQ(c.producer.topic, "t");
  Cli d;
  ASSERT_FALSE(d.parse({"console-producer", "--bootstrap-server", "h:1", "--topic", "t"}));
  EXPECT_FALSE(d.producer.compression_codec);
}

TEST(Cli, ConsoleConsumer) {
  Cli c;
  ASSERT_FALSE(c.parse({"console-consumer", "--bootstrap-server", "h:1", "--topic", "t", "--from-beginning", "--max-messages", "4",
                        "--timeout-ms", "10000", "--property", "print.key=true", "--property", "print.offset=true", "--partition", "2",
                        "--group", "g"}));
  EXPECT_EQ(c.selected(), "console-consumer");
  EXPECT_TRUE(c.consumer.from_beginning);
  EXPECT_EQ(c.consumer.max_messages, 4);
  EXPECT_EQ(c.consumer.timeout_ms, 10000);
  EXPECT_EQ(c.consumer.partition, 2);
  EXPECT_EQ(c.consumer.properties, (std::vector<std::string>{"print.key=true", "print.offset=true"}));
  EXPECT_FALSE(c.consumer.offset);

  Cli o;
  ASSERT_FALSE(o.parse({"console-consumer", "--bootstrap-server", "h:1", "--topic", "t", "--partition", "0", "--offset", "earliest"}));
  EXPECT_EQ(o.consumer.offset, "earliest");
}

TEST(Cli, PerfProduce) {
  Cli c;
  ASSERT_FALSE(c.parse({"perf", "produce", "--bootstrap-server", "h:1", "--topic", "t", "--num-records", "1000", "--record-size", "100",
                        "--throughput", "-1", "--producer-props", "acks=1", "linger.ms=0", "compression.type=lz4", "--json"}));
  EXPECT_EQ(c.selected(), "perf produce");
  EXPECT_EQ(c.perf_produce.num_records, 1000);
  EXPECT_EQ(c.perf_produce.record_size, 100);
  EXPECT_EQ(c.perf_produce.throughput, -1);
  EXPECT_EQ(c.perf_produce.producer_props, (std::vector<std::string>{"acks=1", "linger.ms=0", "compression.type=lz4"}));
  EXPECT_TRUE(c.perf_produce.json);

  Cli d;
  ASSERT_FALSE(d.parse({"perf", "produce", "--topic", "t", "--num-records", "5", "--record-size", "1", "--throughput", "2000"}));
  EXPECT_EQ(d.perf_produce.throughput, 2000);
  EXPECT_FALSE(d.perf_produce.json);
}

TEST(Cli, PerfConsume) {
  Cli c;
  ASSERT_FALSE(c.parse({"perf", "consume", "--bootstrap-server", "h:1", "--topic", "t", "--messages", "500", "--fetch-size", "4194304",
                        "--timeout", "2000", "--json"}));
  EXPECT_EQ(c.selected(), "perf consume");
  EXPECT_EQ(c.perf_consume.messages, 500);
  EXPECT_EQ(c.perf_consume.fetch_size, 4194304);
  EXPECT_EQ(c.perf_consume.timeout_ms, 2000);
  EXPECT_TRUE(c.perf_consume.json);
}

TEST(Cli, UnknownSubCommandOrFlagFails) {
  Cli c;
  auto rc = c.parse({"nonsense"});
  ASSERT_TRUE(rc);
  EXPECT_NE(*rc, 0);
  Cli d;
  rc = d.parse({"topics", "--bootstrap-server", "h:1", "--list", "--bogus"});
  ASSERT_TRUE(rc);
  EXPECT_NE(*rc, 0);
}

}  // namespace
}  // namespace flotilla::tools
