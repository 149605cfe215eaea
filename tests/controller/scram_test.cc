// AlterUserScramCredentials on the controller: Kafka's ScramControlManager
// validation (texts and codes), the records written (StoredKey/ServerKey from
// the salted password, never the salted password), per-user atomicity, and
// the image that results.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.h"
#include "security/scram.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;
using security::ScramMechanism;

namespace {

constexpr int8_t kSha256 = 1, kSha512 = 2;

using Upsertion = msg::AlterUserScramCredentialsRequest::ScramCredentialUpsertion;
using Deletion = msg::AlterUserScramCredentialsRequest::ScramCredentialDeletion;

Upsertion upsertion(const std::string& user, int8_t mechanism, int32_t iterations, const std::string& password = "secret") {
  Upsertion u;
  u.name = user;
  u.mechanism = mechanism;
  u.iterations = iterations;
  u.salt = {9, 8, 7, 6, 5, 4, 3, 2, 1};
  if (mechanism == kSha256 || mechanism == kSha512)
    u.salted_password = security::scram_salted_password(static_cast<ScramMechanism>(mechanism), password, u.salt, 4096);
  return u;
}

Deletion deletion(const std::string& user, int8_t mechanism) {
  Deletion d;
  d.name = user;
  d.mechanism = mechanism;
  return d;
}

struct Scram : Harness {
  msg::AlterUserScramCredentialsResponse alter(std::vector<Deletion> dels, std::vector<Upsertion> ups) {
    msg::AlterUserScramCredentialsRequest req;
    req.deletions = std::move(dels);
    req.upsertions = std::move(ups);
    return call<msg::AlterUserScramCredentialsResponse>([&](auto done) { controller->alter_user_scram_credentials(req, 0, done); });
  }
  // user -> (code, message)
  static std::map<std::string, std::pair<int16_t, std::string>> results(const msg::AlterUserScramCredentialsResponse& r) {
    std::map<std::string, std::pair<int16_t, std::string>> out;
    for (const auto& x : r.results) out[x.user] = {x.error_code, x.error_message.value_or("")};
    return out;
  }
};

constexpr int16_t kNone = 0;
const int16_t kUnsupportedMechanism = static_cast<int16_t>(ErrorCode::UNSUPPORTED_SASL_MECHANISM);
const int16_t kUnacceptable = static_cast<int16_t>(ErrorCode::UNACCEPTABLE_CREDENTIAL);
const int16_t kDuplicate = static_cast<int16_t>(ErrorCode::DUPLICATE_RESOURCE);
const int16_t kNotFound = static_cast<int16_t>(ErrorCode::RESOURCE_NOT_FOUND);

}  // namespace

TEST(ControllerScram, UpsertionWritesStoredAndServerKeysOnly) {
  Scram h;
  size_t batches = h.raft.log().size();
  auto u = upsertion("alice", kSha256, 8192);
  auto r = h.alter({}, {u, upsertion("alice", kSha512, 4096)});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].user, "alice");
  EXPECT_EQ(r.results[0].error_code, kNone);
  EXPECT_EQ(r.results[0].error_message, std::nullopt);

  ASSERT_EQ(h.raft.log().size(), batches + 1);  // one batch, both records
  auto recs = records_of<msg::UserScramCredentialRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 2u);
  auto expected = security::scram_credential_from_salted(ScramMechanism::SCRAM_SHA_256, u.salted_password, u.salt, 8192);
  EXPECT_EQ(recs[0].name, "alice");
  EXPECT_EQ(recs[0].mechanism, kSha256);
  EXPECT_EQ(recs[0].iterations, 8192);
  EXPECT_EQ(recs[0].salt, u.salt);
  EXPECT_EQ(recs[0].stored_key, expected.stored_key);
  EXPECT_EQ(recs[0].server_key, expected.server_key);
  EXPECT_NE(recs[0].stored_key, u.salted_password);
  EXPECT_NE(recs[0].server_key, u.salted_password);
  // The salted password appears nowhere in the batch.
  for (const auto& v : h.raft.log().back().records) {
    auto it = std::search(v.begin(), v.end(), u.salted_password.begin(), u.salted_password.end());
    EXPECT_EQ(it, v.end());
  }
  const auto* c = h.image()->scram_credential("alice", ScramMechanism::SCRAM_SHA_256);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->iterations, 8192);
  EXPECT_NE(h.image()->scram_credential("alice", ScramMechanism::SCRAM_SHA_512), nullptr);
}

TEST(ControllerScram, ValidationAsKafka) {
  Scram h;
  auto r = Scram::results(h.alter({}, {upsertion("few", kSha256, 4095), upsertion("many", kSha512, 16385), upsertion("", kSha256, 4096),
                                       upsertion("weird", 3, 4096), upsertion("edge", kSha512, 16384)}));
  EXPECT_EQ(r["few"], std::make_pair(kUnacceptable, std::string("Too few iterations")));
  EXPECT_EQ(r["many"], std::make_pair(kUnacceptable, std::string("Too many iterations")));
  EXPECT_EQ(r[""], std::make_pair(kUnacceptable, std::string("Username must not be empty")));
  EXPECT_EQ(r["weird"], std::make_pair(kUnsupportedMechanism, std::string("Unknown SCRAM mechanism")));
  EXPECT_EQ(r["edge"].first, kNone);
  EXPECT_EQ(h.image()->scram().size(), 1u);  // only "edge"

  // Deleting what does not exist; deleting an unknown mechanism.
  r = Scram::results(h.alter({deletion("nobody", kSha256), deletion("edge", kSha256), deletion("edge2", 0)}, {}));
  EXPECT_EQ(r["nobody"], std::make_pair(kNotFound, std::string("Attempt to delete a user credential that does not exist")));
  EXPECT_EQ(r["edge"].first, kNotFound);  // edge has SHA-512 only
  EXPECT_EQ(r["edge2"], std::make_pair(kUnsupportedMechanism, std::string("Unknown SCRAM mechanism")));
  EXPECT_EQ(h.image()->scram().size(), 1u);
}

TEST(ControllerScram, DuplicatesFailTheWholeUser) {
  Scram h;
  ASSERT_EQ(h.alter({}, {upsertion("bob", kSha256, 4096)}).results.at(0).error_code, kNone);
  const std::string dup = "A user credential cannot be altered twice in the same request";
  size_t batches = h.raft.log().size();
  // The same (user, mechanism) twice, or deleted and upserted: the user fails
  // and none of its alterations are written; other users go ahead.
  auto r = Scram::results(h.alter({deletion("bob", kSha256)}, {upsertion("bob", kSha256, 5000), upsertion("carol", kSha256, 4096),
                                                               upsertion("carol", kSha256, 4096), upsertion("dave", kSha512, 4096)}));
  EXPECT_EQ(r["bob"], std::make_pair(kDuplicate, dup));
  EXPECT_EQ(r["carol"], std::make_pair(kDuplicate, dup));
  EXPECT_EQ(r["dave"].first, kNone);
  EXPECT_EQ(h.raft.log().size(), batches + 1);
  EXPECT_EQ(h.image()->scram_credential("bob", ScramMechanism::SCRAM_SHA_256)->iterations, 4096);  // untouched
  EXPECT_EQ(h.image()->scram_credential("carol", ScramMechanism::SCRAM_SHA_256), nullptr);
  EXPECT_NE(h.image()->scram_credential("dave", ScramMechanism::SCRAM_SHA_512), nullptr);

  // A user whose one alteration fails keeps its others unwritten too.
  r = Scram::results(h.alter({}, {upsertion("erin", kSha256, 4096), upsertion("erin", kSha512, 100)}));
  EXPECT_EQ(r["erin"], std::make_pair(kUnacceptable, std::string("Too few iterations")));
  EXPECT_EQ(h.image()->scram_credential("erin", ScramMechanism::SCRAM_SHA_256), nullptr);

  // Nothing valid: no batch at all.
  batches = h.raft.log().size();
  h.alter({deletion("nobody", kSha256)}, {});
  EXPECT_EQ(h.raft.log().size(), batches);
}

TEST(ControllerScram, DeletionWritesARemoveRecord) {
  Scram h;
  h.alter({}, {upsertion("alice", kSha256, 4096), upsertion("alice", kSha512, 4096)});
  auto r = h.alter({deletion("alice", kSha512)}, {});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, kNone);
  auto recs = records_of<msg::RemoveUserScramCredentialRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].name, "alice");
  EXPECT_EQ(recs[0].mechanism, kSha512);
  EXPECT_EQ(h.image()->scram_credential("alice", ScramMechanism::SCRAM_SHA_512), nullptr);
  EXPECT_NE(h.image()->scram_credential("alice", ScramMechanism::SCRAM_SHA_256), nullptr);
}

TEST(ControllerScram, OldMetadataVersionIsRefused) {
  Harness old(10);  // 3.5-IV1: no SCRAM records
  msg::AlterUserScramCredentialsRequest req;
  req.upsertions.push_back(upsertion("alice", kSha256, 4096));
  auto r = old.call<msg::AlterUserScramCredentialsResponse>([&](auto done) { old.controller->alter_user_scram_credentials(req, 0, done); });
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, static_cast<int16_t>(ErrorCode::UNSUPPORTED_VERSION));
  EXPECT_EQ(r.results[0].error_message, "The current metadata.version does not support SCRAM");
}

TEST(ControllerScram, StandbyAnswersNotController) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, false);
  msg::AlterUserScramCredentialsRequest req;
  req.upsertions.push_back(upsertion("alice", kSha256, 4096));
  auto r = h.call<msg::AlterUserScramCredentialsResponse>([&](auto done) { h.controller->alter_user_scram_credentials(req, 0, done); });
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, static_cast<int16_t>(ErrorCode::NOT_CONTROLLER));
}
