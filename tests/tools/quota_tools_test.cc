// Client quotas in the file tools: dump-log prints a ClientQuotaRecord as
// Kafka's JSON converter does, metadata-shell shows /image/clientQuotas in the
// shape of Kafka's ClientQuotasImageNode, metadata-diff lists values set and
// removed; and the configs tool parses quota values as Java's parseDouble.
#include <gtest/gtest.h>

#include <cmath>

#include "metadata/delta.h"
#include "protocol/metadata_record.h"
#include "tools/configs_quotas.h"
#include "tools/dump_log.h"
#include "tools/metadata_diff.h"
#include "tools/metadata_shell.h"

using namespace flotilla;
using namespace flotilla::tools;

namespace {

msg::ClientQuotaRecord quota_record(std::vector<std::pair<std::string, std::optional<std::string>>> entity, const std::string& key,
                                    double value, bool remove = false) {
  msg::ClientQuotaRecord r;
  for (auto& [t, n] : entity) r.entity.push_back({t, n});
  r.key = key;
  r.value = value;
  r.remove = remove;
  return r;
}

std::shared_ptr<const metadata::MetadataImage> image_of(std::shared_ptr<const metadata::MetadataImage> base,
                                                        const std::vector<msg::ClientQuotaRecord>& records, int64_t offset) {
  metadata::MetadataDelta d(std::move(base));
  for (const auto& r : records) d.replay(r);
  d.set_offset(offset, 1);
  return d.apply();
}

}  // namespace

TEST(QuotaTools, DumpLogPrintsClientQuotaRecords) {
  auto r = quota_record({{"user", "alice"}, {"client-id", std::nullopt}}, "producer_byte_rate", 1048576);
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(r, 0), 5),
            "{\"type\":\"CLIENT_QUOTA_RECORD\",\"version\":0,\"data\":{\"entity\":[{\"entityType\":\"user\",\"entityName\":\"alice\"},"
            "{\"entityType\":\"client-id\",\"entityName\":null}],\"key\":\"producer_byte_rate\",\"value\":1048576.0,\"remove\":false}}");
  auto rm = quota_record({{"ip", "10.0.0.1"}}, "connection_creation_rate", 0, true);
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(rm, 0), 6),
            "{\"type\":\"CLIENT_QUOTA_RECORD\",\"version\":0,\"data\":{\"entity\":[{\"entityType\":\"ip\",\"entityName\":\"10.0.0.1\"}],"
            "\"key\":\"connection_creation_rate\",\"value\":0.0,\"remove\":true}}");
}

TEST(QuotaTools, MetadataShellShowsClientQuotas) {
  auto img = image_of(std::make_shared<const metadata::MetadataImage>(),
                      {quota_record({{"user", "alice"}}, "producer_byte_rate", 1048576),
                       quota_record({{"user", "alice"}, {"client-id", "a(p)p"}}, "request_percentage", 12.5),
                       quota_record({{"user", std::nullopt}}, "consumer_byte_rate", 1e7),
                       quota_record({{"client-id", std::nullopt}}, "controller_mutation_rate", 3)},
                      4);
  ShellNode root = build_shell_tree(*img);
  const ShellNode& q = root.children.at("image").children.at("clientQuotas");
  std::vector<std::string> names;
  for (const auto& [n, c] : q.children) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"clientId()", "clientId(a\\(p\\)p)_user(alice)", "user()", "user(alice)"}));
  EXPECT_EQ(q.children.at("user(alice)").children.at("producer_byte_rate").content, "1048576.0");
  EXPECT_EQ(q.children.at("user()").children.at("consumer_byte_rate").content, "1.0E7");
  EXPECT_EQ(q.children.at("clientId(a\\(p\\)p)_user(alice)").children.at("request_percentage").content, "12.5");
  // Kafka's shell always lists the node, empty or not.
  ShellNode empty = build_shell_tree(metadata::MetadataImage());
  EXPECT_TRUE(empty.children.at("image").children.count("clientQuotas"));
}

TEST(QuotaTools, MetadataDiffListsQuotaChanges) {
  auto a = image_of(std::make_shared<const metadata::MetadataImage>(),
                    {quota_record({{"user", "alice"}}, "producer_byte_rate", 1000), quota_record({{"client-id", "app"}}, "consumer_byte_rate", 5)},
                    2);
  auto b = image_of(a,
                    {quota_record({{"user", "alice"}}, "producer_byte_rate", 1048576), quota_record({{"client-id", "app"}}, "consumer_byte_rate", 0, true),
                     quota_record({{"user", std::nullopt}, {"client-id", std::nullopt}}, "request_percentage", 50)},
                    5);
  auto d = diff_images(*a, *b);
  ASSERT_EQ(d["clientQuotas"]["set"].size(), 2u);
  ASSERT_EQ(d["clientQuotas"]["removed"].size(), 1u);
  EXPECT_TRUE(d["clientQuotas"]["set"][0]["entity"]["client-id"].is_null());
  std::string text = format_diff(d);
  EXPECT_NE(text.find("+ client quota the default user-principal, the default client-id request_percentage=50.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("+ client quota user-principal 'alice' producer_byte_rate=1048576.0 (was 1000.0)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("- client quota client-id 'app' consumer_byte_rate (was 5.0)\n"), std::string::npos) << text;
  EXPECT_EQ(format_diff(diff_images(*b, *b)).find("client quota"), std::string::npos);
}

TEST(QuotaTools, QuotaValuesParseAsJavaDoubles) {
  using configs::java_parse_double;
  EXPECT_EQ(java_parse_double("1048576"), 1048576.0);
  EXPECT_EQ(java_parse_double(" 1.5e3 "), 1500.0);
  EXPECT_EQ(java_parse_double("+2d"), 2.0);
  EXPECT_EQ(java_parse_double("-0.25F"), -0.25);
  EXPECT_EQ(java_parse_double(".5"), 0.5);
  EXPECT_EQ(java_parse_double("5."), 5.0);
  EXPECT_EQ(java_parse_double("0x1.8p1"), 3.0);
  EXPECT_EQ(java_parse_double("Infinity"), INFINITY);
  EXPECT_TRUE(std::isnan(*java_parse_double("NaN")));
  for (const char* bad : {"", "abc", "1,000", "1e", "0x10", "1.0.0", "inf", "nan", "1_000"})
    EXPECT_EQ(java_parse_double(bad), std::nullopt) << bad;
}
