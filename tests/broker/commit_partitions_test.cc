// refuse_unknown_partitions: OffsetCommit/TxnOffsetCommit's existence check.
#include "broker/commit_partitions.h"

#include <gtest/gtest.h>

#include "metadata/delta.h"

using namespace flotilla;
using namespace flotilla::broker;
using coordinator::CommitPartition;

namespace {

// An image with topic "t" of partitions 0 and 1.
std::shared_ptr<const metadata::MetadataImage> image_with_t() {
  metadata::MetadataDelta d(std::make_shared<metadata::MetadataImage>());
  const Uuid id = *Uuid::parse("AAAAAAAAAAAAAAAAAAAAAA");
  msg::TopicRecord t;
  t.name = "t";
  t.topic_id = id;
  d.replay(t);
  for (int32_t i : {0, 1}) {
    msg::PartitionRecord p;
    p.topic_id = id;
    p.partition_id = i;
    p.replicas = {1};
    p.isr = {1};
    p.leader = 1;
    d.replay(p);
  }
  return d.apply();
}

CommitPartition part(const std::string& topic, int32_t partition) {
  CommitPartition c;
  c.topic = topic;
  c.partition = partition;
  c.offset = 5;
  return c;
}

}  // namespace

TEST(CommitPartitions, UnknownTopicAndPartitionAreRefusedTheRestKept) {
  auto image = image_with_t();
  std::vector<CommitPartition> parts{part("t", 0), part("nope", 0), part("t", 2), part("t", 1), part("nope", 1)};
  std::vector<CommitPartition> refused{part("denied", 0)};
  refused[0].error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  refuse_unknown_partitions(*image, parts, refused);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].topic, "t");
  EXPECT_EQ(parts[0].partition, 0);
  EXPECT_EQ(parts[1].partition, 1);
  for (const auto& p : parts) EXPECT_EQ(p.error, ErrorCode::NONE);
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_EQ(refused[0].error, ErrorCode::TOPIC_AUTHORIZATION_FAILED);  // what was there stays
  EXPECT_EQ(refused[1].topic, "nope");
  EXPECT_EQ(refused[2].topic, "t");
  EXPECT_EQ(refused[2].partition, 2);
  EXPECT_EQ(refused[3].topic, "nope");
  EXPECT_EQ(refused[3].partition, 1);
  for (size_t i = 1; i < refused.size(); ++i) EXPECT_EQ(refused[i].error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST(CommitPartitions, EmptyImageRefusesEverything) {
  metadata::MetadataImage empty;
  std::vector<CommitPartition> parts{part("t", 0)}, refused;
  refuse_unknown_partitions(empty, parts, refused);
  EXPECT_TRUE(parts.empty());
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}
