// AlterUserScramCredentials (KIP-554) on the active controller, as Kafka's
// ScramControlManager: each deletion and upsertion is validated against
// latest_ (so that two requests in flight see each other), the valid ones
// become RemoveUserScramCredentialRecords and UserScramCredentialRecords
// written in one batch, and every user named gets one result.
//
// Secrets: an upsertion carries a salt and SaltedPassword; the controller
// turns them into StoredKey/ServerKey (security::scram_credential_from_salted)
// and writes those. The salted password is never stored or logged.
//
// Duplicates are (user, mechanism) pairs named twice across deletions and
// upsertions (as the broker did before KRaft), so that one request may set a
// user's SCRAM-SHA-256 and SCRAM-SHA-512 credentials together, as
// `kafka-configs --add-config 'SCRAM-SHA-256=[...],SCRAM-SHA-512=[...]'` sends
// them. A user with any failed alteration has none of its alterations written.
//
// Threading: the io_context thread, like the rest of QuorumController.
#include <spdlog/spdlog.h>

#include <set>

#include "controller/partition_change.h"
#include "controller/quorum_controller.h"
#include "protocol/metadata_record.h"
#include "security/scram.h"

namespace flotilla::controller {

namespace {

struct UserOutcome {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  std::vector<std::vector<uint8_t>> records;
};

// Kafka's validateScramUsernameAndMechanism.
std::optional<std::pair<ErrorCode, std::string>> check_user_and_mechanism(const std::string& user, int8_t mechanism) {
  if (user.empty()) return std::pair{ErrorCode::UNACCEPTABLE_CREDENTIAL, std::string("Username must not be empty")};
  if (mechanism != static_cast<int8_t>(security::ScramMechanism::SCRAM_SHA_256) &&
      mechanism != static_cast<int8_t>(security::ScramMechanism::SCRAM_SHA_512))
    return std::pair{ErrorCode::UNSUPPORTED_SASL_MECHANISM, std::string("Unknown SCRAM mechanism")};
  return std::nullopt;
}

}  // namespace

ScramAlteration plan_scram_alteration(const metadata::MetadataImage& image, const msg::AlterUserScramCredentialsRequest& request) {
  static const std::string kDuplicate = "A user credential cannot be altered twice in the same request";
  std::vector<std::string> order;  // users in the order first named
  std::map<std::string, UserOutcome> users;
  std::set<std::pair<std::string, int8_t>> seen;
  auto outcome = [&](const std::string& user) -> UserOutcome& {
    auto [it, fresh] = users.try_emplace(user);
    if (fresh) order.push_back(user);
    return it->second;
  };
  auto fail = [](UserOutcome& o, ErrorCode ec, std::string message) {
    if (o.error != ErrorCode::NONE) return;  // the first error stands
    o.error = ec;
    o.message = std::move(message);
  };
  const bool supported = image.metadata_version() >= kMvScram;

  for (const auto& d : request.deletions) {
    UserOutcome& o = outcome(d.name);
    if (!seen.insert({d.name, d.mechanism}).second) {
      fail(o, ErrorCode::DUPLICATE_RESOURCE, kDuplicate);
      continue;
    }
    if (!supported) {
      fail(o, ErrorCode::UNSUPPORTED_VERSION, "The current metadata.version does not support SCRAM");
      continue;
    }
    if (auto bad = check_user_and_mechanism(d.name, d.mechanism)) {
      fail(o, bad->first, bad->second);
      continue;
    }
    if (!image.scram_credential(d.name, static_cast<security::ScramMechanism>(d.mechanism))) {
      fail(o, ErrorCode::RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
      continue;
    }
    msg::RemoveUserScramCredentialRecord r;
    r.name = d.name;
    r.mechanism = d.mechanism;
    o.records.push_back(protocol::frame_metadata_record(r, 0));
  }

  for (const auto& u : request.upsertions) {
    UserOutcome& o = outcome(u.name);
    if (!seen.insert({u.name, u.mechanism}).second) {
      fail(o, ErrorCode::DUPLICATE_RESOURCE, kDuplicate);
      continue;
    }
    if (!supported) {
      fail(o, ErrorCode::UNSUPPORTED_VERSION, "The current metadata.version does not support SCRAM");
      continue;
    }
    if (auto bad = check_user_and_mechanism(u.name, u.mechanism)) {
      fail(o, bad->first, bad->second);
      continue;
    }
    if (u.iterations < security::kScramMinIterations) {
      fail(o, ErrorCode::UNACCEPTABLE_CREDENTIAL, "Too few iterations");
      continue;
    }
    if (u.iterations > security::kScramMaxIterations) {
      fail(o, ErrorCode::UNACCEPTABLE_CREDENTIAL, "Too many iterations");
      continue;
    }
    if (o.error != ErrorCode::NONE) continue;  // no work for a user that already failed
    auto m = static_cast<security::ScramMechanism>(u.mechanism);
    security::ScramCredential c = security::scram_credential_from_salted(m, u.salted_password, u.salt, u.iterations);
    msg::UserScramCredentialRecord r;
    r.name = u.name;
    r.mechanism = u.mechanism;
    r.salt = std::move(c.salt);
    r.stored_key = std::move(c.stored_key);
    r.server_key = std::move(c.server_key);
    r.iterations = u.iterations;
    o.records.push_back(protocol::frame_metadata_record(r, 0));
  }

  ScramAlteration plan;
  for (const auto& user : order) {
    UserOutcome& o = users[user];
    msg::AlterUserScramCredentialsResponse::AlterUserScramCredentialsResult res;
    res.user = user;
    res.error_code = code(o.error);
    if (o.error == ErrorCode::NONE) {
      res.error_message = std::nullopt;
      for (auto& rec : o.records) plan.records.push_back(std::move(rec));
    } else {
      res.error_message = o.message;
    }
    plan.response.results.push_back(std::move(res));
  }
  return plan;
}

void QuorumController::alter_user_scram_credentials(msg::AlterUserScramCredentialsRequest request, int16_t,
                                                    std::function<void(msg::AlterUserScramCredentialsResponse)> done) {
  auto all_fail = [&](ErrorCode ec) {
    msg::AlterUserScramCredentialsResponse r;
    std::set<std::string> users;
    for (const auto& d : request.deletions) users.insert(d.name);
    for (const auto& u : request.upsertions) users.insert(u.name);
    for (const auto& user : users) {
      msg::AlterUserScramCredentialsResponse::AlterUserScramCredentialsResult res;
      res.user = user;
      res.error_code = code(ec);
      res.error_message = std::nullopt;
      r.results.push_back(std::move(res));
    }
    return r;
  };
  if (!active_) return answer_now(done, all_fail(ErrorCode::NOT_CONTROLLER));
  ScramAlteration plan = plan_scram_alteration(*latest_, request);
  if (plan.records.empty()) return answer_now(done, std::move(plan.response));
  spdlog::info("[QuorumController id={}] Writing {} SCRAM credential record(s)", config_.node_id, plan.records.size());
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      for (auto& res : response.results) {
        if (res.error_code != code(ErrorCode::NONE)) continue;
        res.error_code = code(ec);
        res.error_message = std::nullopt;
      }
    }
    done(std::move(response));
  });
}

}  // namespace flotilla::controller
