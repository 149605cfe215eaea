// SharedMap (metadata/shared_map.h): reads like a std::map, copies share
// chunks, a write to a copy leaves the original unchanged, and random
// operations agree with a std::map model.
#include "metadata/shared_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

using flotilla::metadata::SharedMap;

namespace {

using Small = SharedMap<int, std::string, 4>;  // tiny chunks: splits and merges happen early

template <class M>
std::vector<std::pair<int, std::string>> items(const M& m) {
  std::vector<std::pair<int, std::string>> out;
  for (const auto& [k, v] : m) out.emplace_back(k, v);
  return out;
}

TEST(SharedMapTest, ReadsLikeAMap) {
  Small m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.begin(), m.end());
  EXPECT_EQ(m.find(1), m.end());
  for (int k : {5, 1, 9, 3, 7, 2, 8, 4, 6, 0}) m.insert_or_assign(k, "v" + std::to_string(k));
  EXPECT_EQ(m.size(), 10u);
  EXPECT_GE(m.chunk_count(), 3u);
  int expect = 0;
  for (const auto& [k, v] : m) {
    EXPECT_EQ(k, expect);
    EXPECT_EQ(v, "v" + std::to_string(expect));
    ++expect;
  }
  EXPECT_EQ(expect, 10);
  EXPECT_EQ(m.at(7), "v7");
  EXPECT_THROW(m.at(10), std::out_of_range);
  EXPECT_TRUE(m.contains(3));
  EXPECT_EQ(m.count(11), 0u);
  EXPECT_EQ(m.find(4)->second, "v4");
  EXPECT_EQ(m.lower_bound(-1)->first, 0);
  EXPECT_EQ(m.upper_bound(4)->first, 5);
  EXPECT_EQ(m.lower_bound(10), m.end());
  EXPECT_EQ(m.rbegin()->first, 9);
  EXPECT_EQ(std::prev(m.end())->first, 9);
  std::vector<int> reversed;
  for (auto it = m.rbegin(); it != m.rend(); ++it) reversed.push_back(it->first);
  EXPECT_EQ(reversed, (std::vector<int>{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
}

TEST(SharedMapTest, WritesToACopyLeaveTheOriginalUnchanged) {
  Small a;
  for (int k = 0; k < 40; ++k) a.insert_or_assign(k, "a");
  const auto before = items(a);
  Small b = a;
  EXPECT_TRUE(b.shares_root_with(a));
  EXPECT_EQ(a, b);
  *b.find_mut(17) = "changed";
  b.insert_or_assign(100, "new");
  b.erase(3);
  b.get_or_insert(-5) = "front";
  EXPECT_FALSE(b.shares_root_with(a));
  EXPECT_EQ(items(a), before);  // the original is untouched
  EXPECT_EQ(a.size(), 40u);
  EXPECT_EQ(b.size(), 41u);
  EXPECT_EQ(b.at(17), "changed");
  EXPECT_EQ(a.at(17), "a");
  EXPECT_FALSE(a.contains(100));
  EXPECT_TRUE(a.contains(3));
  EXPECT_FALSE(b.contains(3));
  EXPECT_EQ(b.begin()->first, -5);
  EXPECT_NE(a, b);
  // A copy of the copy, changed again, leaves both unchanged.
  const auto b_items = items(b);
  Small c = b;
  c.erase(17);
  EXPECT_EQ(items(b), b_items);
  EXPECT_EQ(items(a), before);
  EXPECT_EQ(b.find_mut(12345), nullptr);
}

TEST(SharedMapTest, EqualityComparesContentsNotLayout) {
  Small ascending, descending;
  for (int k = 0; k < 30; ++k) ascending.insert_or_assign(k, std::to_string(k));
  for (int k = 29; k >= 0; --k) descending.insert_or_assign(k, std::to_string(k));
  EXPECT_EQ(ascending, descending);  // differently chunked, same contents
  descending.insert_or_assign(12, "x");
  EXPECT_NE(ascending, descending);
  std::map<int, std::string> model;
  for (int k = 0; k < 30; ++k) model[k] = std::to_string(k);
  EXPECT_TRUE(ascending == model);
  EXPECT_FALSE(descending == model);
  Small from_model(model);
  EXPECT_EQ(from_model, ascending);
  EXPECT_EQ(Small(), Small());
}

TEST(SharedMapTest, AscendingInsertsFillChunks) {
  SharedMap<int, int, 32> m;
  for (int k = 0; k < 3200; ++k) m.insert_or_assign(k, k);
  EXPECT_EQ(m.chunk_count(), 100u);  // full chunks, not half-full ones
  for (int k = 0; k < 3200; k += 2) m.erase(k);
  for (int k = 1; k < 3200; k += 4) m.erase(k);
  EXPECT_EQ(m.size(), 800u);
  EXPECT_LE(m.chunk_count(), 100u);
}

TEST(SharedMapTest, EraseEverythingThenReuse) {
  Small m;
  for (int k = 0; k < 20; ++k) m.insert_or_assign(k, "x");
  Small keep = m;
  for (int k = 0; k < 20; ++k) EXPECT_TRUE(m.erase(k));
  EXPECT_FALSE(m.erase(0));
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.begin(), m.end());
  EXPECT_EQ(m.chunk_count(), 0u);
  m.insert_or_assign(3, "y");
  EXPECT_EQ(items(m), (std::vector<std::pair<int, std::string>>{{3, "y"}}));
  EXPECT_EQ(keep.size(), 20u);
}

// Many random operations on a chain of versions, each checked against a
// std::map model, and every earlier version checked unchanged at the end.
TEST(SharedMapTest, RandomOperationsMatchAStdMapModel) {
  std::mt19937 rng(21);
  Small m;
  std::map<int, std::string> model;
  std::vector<std::pair<Small, std::map<int, std::string>>> versions;
  for (int step = 0; step < 20000; ++step) {
    int k = static_cast<int>(rng() % 300);
    switch (rng() % 5) {
      case 0:
      case 1: {
        std::string v = std::to_string(rng() % 1000);
        m.insert_or_assign(k, v);
        model[k] = v;
        break;
      }
      case 2:
        EXPECT_EQ(m.erase(k), model.erase(k) == 1);
        break;
      case 3:
        if (std::string* v = m.find_mut(k)) {
          ASSERT_TRUE(model.count(k));
          *v += "+";
          model[k] += "+";
        } else {
          EXPECT_FALSE(model.count(k));
        }
        break;
      default: {
        m.get_or_insert(k) += "g";
        model[k] += "g";
        break;
      }
    }
    ASSERT_EQ(m.size(), model.size());
    auto it = m.lower_bound(k);
    auto mit = model.lower_bound(k);
    ASSERT_EQ(it == m.end(), mit == model.end());
    if (mit != model.end()) {
      EXPECT_EQ(it->first, mit->first);
    }
    if (step % 97 == 0) {
      ASSERT_TRUE(m == model) << "step " << step;
      versions.emplace_back(m, model);  // a snapshot: later writes to m must not reach it
    }
  }
  for (const auto& [version, expected] : versions) EXPECT_TRUE(version == expected);
  std::vector<int> keys;
  for (const auto& [k, v] : m) keys.push_back(k);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.size(), model.size());
}

}  // namespace

// The image's maps through MetadataDelta: a topic of 1,000 partitions, one of
// them changed by a later delta — the old image keeps its value, the untouched
// chunks are shared, and a delta built without change tracking yields the
// same image with empty change sets.
#include "metadata/delta.h"

namespace {

using namespace flotilla;

std::shared_ptr<const metadata::MetadataImage> big_topic(bool track, const Uuid& id) {
  metadata::MetadataDelta d(nullptr);
  d.track_changes(track);
  msg::TopicRecord t;
  t.name = "big";
  t.topic_id = id;
  d.replay(t);
  for (int p = 0; p < 1000; ++p) {
    msg::PartitionRecord r;
    r.topic_id = id;
    r.partition_id = p;
    r.replicas = {p % 3, (p + 1) % 3};
    r.isr = r.replicas;
    r.leader = p % 3;
    r.leader_epoch = 0;
    r.partition_epoch = 0;
    d.replay(r);
  }
  EXPECT_EQ(d.changed_partitions().size(), track ? 1000u : 0u);
  EXPECT_EQ(d.created_topics().size(), track ? 1u : 0u);
  d.set_offset(1000, 1);
  return d.apply();
}

TEST(SharedMapImageTest, ADeltaCopiesOnlyTheChunkItChanges) {
  const Uuid id{1, 2};
  auto img = big_topic(true, id);
  EXPECT_EQ(big_topic(false, id)->topics_by_name(), img->topics_by_name()) << "untracked build, same topics";
  metadata::MetadataDelta d(img);
  msg::PartitionChangeRecord c;
  c.topic_id = id;
  c.partition_id = 500;
  c.isr = std::vector<int32_t>{2};
  d.replay(c);
  auto next = d.apply();
  EXPECT_EQ(img->partition(id, 500)->isr, (std::vector<int32_t>{2, 0}));  // the old image is unchanged
  EXPECT_EQ(next->partition(id, 500)->isr, (std::vector<int32_t>{2}));
  EXPECT_EQ(next->partition(id, 500)->partition_epoch, 1);
  const auto& a = img->topic(id)->partitions;
  const auto& b = next->topic(id)->partitions;
  EXPECT_FALSE(a.shares_root_with(b));
  EXPECT_EQ(a.chunk_count(), b.chunk_count());
  EXPECT_EQ(a.size(), 1000u);
  // Same addresses for partitions of untouched chunks, a new one for the changed one.
  EXPECT_EQ(img->partition(id, 0), next->partition(id, 0));
  EXPECT_EQ(img->partition(id, 999), next->partition(id, 999));
  EXPECT_NE(img->partition(id, 500), next->partition(id, 500));
  EXPECT_EQ(d.changed_partitions().size(), 1u);
}

}  // namespace
