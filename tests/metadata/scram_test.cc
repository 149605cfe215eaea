// SCRAM credentials in the metadata image: UserScramCredentialRecord upserts,
// RemoveUserScramCredentialRecord removes, the delta reports what changed,
// snapshots write and load them, and DescribeUserScramCredentials is answered
// from the image.
#include <gtest/gtest.h>

#include "common/error.h"
#include "metadata/delta.h"
#include "metadata/scram_describe.h"
#include "metadata/snapshot.h"
#include "protocol/metadata_record.h"
#include "security/scram.h"

using namespace flotilla;
using namespace flotilla::metadata;
using security::ScramMechanism;

namespace {

constexpr auto kSha256 = ScramMechanism::SCRAM_SHA_256;
constexpr auto kSha512 = ScramMechanism::SCRAM_SHA_512;

msg::UserScramCredentialRecord upsert(const std::string& user, ScramMechanism m, int32_t iterations, uint8_t seed) {
  msg::UserScramCredentialRecord r;
  r.name = user;
  r.mechanism = static_cast<int8_t>(m);
  r.salt = {seed, 1, 2};
  r.stored_key = {seed, 3, 4};
  r.server_key = {seed, 5, 6};
  r.iterations = iterations;
  return r;
}

msg::RemoveUserScramCredentialRecord removal(const std::string& user, ScramMechanism m) {
  msg::RemoveUserScramCredentialRecord r;
  r.name = user;
  r.mechanism = static_cast<int8_t>(m);
  return r;
}

std::shared_ptr<const MetadataImage> replay_all(std::shared_ptr<const MetadataImage> base, const std::vector<std::vector<uint8_t>>& recs) {
  MetadataDelta d(std::move(base));
  for (const auto& v : recs) EXPECT_TRUE(d.replay_value(v));
  d.set_offset(static_cast<int64_t>(recs.size()), 1);
  return d.apply();
}

}  // namespace

TEST(MetadataScram, UpsertReplacesAndRemoveDeletes) {
  auto empty = std::make_shared<const MetadataImage>();
  MetadataDelta d(empty);
  d.replay(upsert("alice", kSha256, 4096, 1));
  d.replay(upsert("alice", kSha512, 8192, 2));
  d.replay(upsert("bob", kSha256, 4096, 3));
  d.replay(upsert("alice", kSha256, 10000, 4));  // replaces the first
  auto img = d.apply();
  ASSERT_EQ(img->scram().size(), 3u);
  const auto* c = img->scram_credential("alice", kSha256);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->iterations, 10000);
  EXPECT_EQ(c->salt, (security::Bytes{4, 1, 2}));
  EXPECT_EQ(c->stored_key, (security::Bytes{4, 3, 4}));
  EXPECT_EQ(c->server_key, (security::Bytes{4, 5, 6}));
  EXPECT_EQ(d.changed_scram().size(), 3u);
  EXPECT_FALSE(d.empty());

  MetadataDelta d2(img);
  d2.replay(removal("alice", kSha512));
  d2.replay(removal("carol", kSha256));  // unknown: logged and skipped
  auto img2 = d2.apply();
  EXPECT_EQ(img2->scram().size(), 2u);
  EXPECT_EQ(img2->scram_credential("alice", kSha512), nullptr);
  EXPECT_NE(img2->scram_credential("alice", kSha256), nullptr);
  EXPECT_EQ(d2.changed_scram(), (std::set<std::pair<std::string, ScramMechanism>>{{"alice", kSha512}}));
  // The earlier image is untouched (images are immutable and share parts).
  EXPECT_EQ(img->scram().size(), 3u);
  // An unrelated delta shares the credential map with its base.
  MetadataDelta d3(img2);
  msg::ProducerIdsRecord p;
  p.next_producer_id = 1000;
  d3.replay(p);
  auto img3 = d3.apply();
  EXPECT_EQ(&img3->scram(), &img2->scram());
  EXPECT_TRUE(d3.changed_scram().empty());
}

TEST(MetadataScram, UnknownMechanismIsSkipped) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  auto r = upsert("alice", kSha256, 4096, 1);
  r.mechanism = 9;
  d.replay(r);
  EXPECT_TRUE(d.apply()->scram().empty());
}

TEST(MetadataScram, SnapshotRecordsRoundTrip) {
  std::vector<std::vector<uint8_t>> recs;
  msg::FeatureLevelRecord mv;
  mv.name = kMetadataVersionFeature;
  mv.feature_level = 21;
  recs.push_back(protocol::frame_metadata_record(mv, 0));
  recs.push_back(protocol::frame_metadata_record(upsert("alice", kSha256, 8192, 1), 0));
  recs.push_back(protocol::frame_metadata_record(upsert("alice", kSha512, 4096, 2), 0));
  recs.push_back(protocol::frame_metadata_record(upsert("bob", kSha512, 4096, 3), 0));
  recs.push_back(protocol::frame_metadata_record(removal("bob", kSha512), 0));
  auto img = replay_all(nullptr, recs);
  ASSERT_EQ(img->scram().size(), 2u);

  auto out = image_records(*img);
  size_t scram_records = 0;
  for (const auto& v : out) {
    auto any = protocol::decode_metadata_record(v);
    if (std::holds_alternative<msg::UserScramCredentialRecord>(any.record)) ++scram_records;
    EXPECT_FALSE(std::holds_alternative<msg::RemoveUserScramCredentialRecord>(any.record));
  }
  EXPECT_EQ(scram_records, 2u);
  auto again = replay_all(nullptr, out);
  EXPECT_EQ(again->scram(), img->scram());

  // between() reports the credentials that differ.
  auto d = MetadataDelta::between(std::make_shared<const MetadataImage>(), again);
  EXPECT_EQ(d.changed_scram().size(), 2u);
  auto e = MetadataDelta::everything(again);
  EXPECT_EQ(e.changed_scram().size(), 2u);
}

TEST(MetadataScram, DescribeFromTheImage) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(upsert("alice", kSha512, 4096, 1));
  d.replay(upsert("alice", kSha256, 8192, 2));
  d.replay(upsert("bob", kSha256, 5000, 3));
  auto img = d.apply();

  // users null: every user, with mechanisms (SHA-256 first) and iterations only.
  msg::DescribeUserScramCredentialsRequest all;
  all.users = std::nullopt;
  auto r = describe_scram_credentials(*img, all);
  EXPECT_EQ(r.error_code, 0);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].user, "alice");
  EXPECT_EQ(r.results[0].error_code, 0);
  ASSERT_EQ(r.results[0].credential_infos.size(), 2u);
  EXPECT_EQ(r.results[0].credential_infos[0].mechanism, 1);
  EXPECT_EQ(r.results[0].credential_infos[0].iterations, 8192);
  EXPECT_EQ(r.results[0].credential_infos[1].mechanism, 2);
  EXPECT_EQ(r.results[0].credential_infos[1].iterations, 4096);
  EXPECT_EQ(r.results[1].user, "bob");

  // Named users: unknown -> RESOURCE_NOT_FOUND, named twice -> DUPLICATE_RESOURCE.
  msg::DescribeUserScramCredentialsRequest named;
  named.users.emplace();
  for (const char* u : {"bob", "carol", "alice", "alice"}) named.users->push_back({u});
  r = describe_scram_credentials(*img, named);
  ASSERT_EQ(r.results.size(), 3u);
  std::map<std::string, const msg::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult*> by_user;
  for (const auto& x : r.results) by_user[x.user] = &x;
  EXPECT_EQ(by_user["alice"]->error_code, static_cast<int16_t>(ErrorCode::DUPLICATE_RESOURCE));
  EXPECT_EQ(by_user["alice"]->error_message,
            "Cannot describe SCRAM credentials for the same user twice in a single request: alice");
  EXPECT_TRUE(by_user["alice"]->credential_infos.empty());
  EXPECT_EQ(by_user["carol"]->error_code, static_cast<int16_t>(ErrorCode::RESOURCE_NOT_FOUND));
  EXPECT_EQ(by_user["carol"]->error_message, "Attempt to describe a user credential that does not exist: carol");
  EXPECT_EQ(by_user["bob"]->error_code, 0);
  ASSERT_EQ(by_user["bob"]->credential_infos.size(), 1u);
  EXPECT_EQ(by_user["bob"]->credential_infos[0].iterations, 5000);

  // An empty image: nobody.
  EXPECT_TRUE(describe_scram_credentials(MetadataImage{}, all).results.empty());
}
