// Delegation tokens on the controller, as Kafka's DelegationTokenControlManager
// (KIP-48 in KRaft, KIP-900): CreateDelegationToken writes a
// DelegationTokenRecord for a new random token id, Renew and Expire rewrite
// the token's record with its new expiry (Expire with a negative period
// removes it at once), and the controller sweeps expired tokens with
// RemoveDelegationTokenRecords every delegation.token.expiry.check.interval.ms.
//
// Tokens are disabled (DELEGATION_TOKEN_AUTH_DISABLED) without
// delegation.token.secret.key, and need metadata.version 3.6-IV2
// (UNSUPPORTED_VERSION below). A token is found by its HMAC — recomputed for
// each token of the image and compared in constant time, so that no table of
// HMACs is kept (O(tokens) HMACs per Renew/Expire). The HMAC and the secret key
// never reach a log line.
//
// Threading: the controller's io_context thread; the plan_* functions are pure.
#include <spdlog/spdlog.h>

#include <chrono>

#include "controller/quorum_controller.h"
#include "metadata/delegation_tokens.h"
#include "protocol/metadata_record.h"

namespace flotilla::controller {

using protocol::frame_metadata_record;

namespace {

const security::DelegationToken* token_for_hmac(const metadata::MetadataImage& image, const std::string& secret_key,
                                                const std::vector<uint8_t>& hmac) {
  const security::DelegationToken* found = nullptr;
  for (const auto& [id, t] : image.delegation_tokens()) {
    auto h = security::delegation_token_hmac(secret_key, id);
    if (security::constant_time_equal(h, hmac) && !found) found = &t;
  }
  return found;
}

// Kafka's checks common to the three APIs; NONE when the token APIs may run.
ErrorCode token_apis_usable(const metadata::MetadataImage& image, const DelegationTokenSettings& s) {
  if (s.secret_key.empty()) return ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED;
  if (image.metadata_version() < kDelegationTokenMetadataVersion) return ErrorCode::UNSUPPORTED_VERSION;
  return ErrorCode::NONE;
}

}  // namespace

DelegationTokenPlan<msg::CreateDelegationTokenResponse> plan_delegation_token_creation(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::CreateDelegationTokenRequest& request, int64_t now_ms, const std::string& token_id) {
  DelegationTokenPlan<msg::CreateDelegationTokenResponse> plan;
  auto& r = plan.response;
  security::KafkaPrincipal owner = caller;
  if (request.owner_principal_name && !request.owner_principal_name->empty())
    owner = security::KafkaPrincipal{request.owner_principal_type.value_or("User"), *request.owner_principal_name};
  r.principal_type = owner.type;
  r.principal_name = owner.name;
  r.token_requester_principal_type = caller.type;
  r.token_requester_principal_name = caller.name;
  if (ErrorCode ec = token_apis_usable(image, s); ec != ErrorCode::NONE) {
    r.error_code = code(ec);
    return plan;
  }
  security::DelegationToken t;
  for (const auto& renewer : request.renewers) {
    if (renewer.principal_type != "User") {
      r.error_code = code(ErrorCode::INVALID_PRINCIPAL_TYPE);
      return plan;
    }
    t.renewers.push_back({renewer.principal_type, renewer.principal_name});
  }
  int64_t max_lifetime = s.max_lifetime_ms;
  if (request.max_lifetime_ms > 0) max_lifetime = std::min(max_lifetime, request.max_lifetime_ms);
  t.token_id = token_id;
  t.owner = owner;
  t.requester = caller;
  t.issue_timestamp_ms = now_ms;
  t.max_timestamp_ms = now_ms + max_lifetime;
  t.expiry_timestamp_ms = std::min(t.max_timestamp_ms, now_ms + s.renew_lifetime_ms);
  r.error_code = code(ErrorCode::NONE);
  r.issue_timestamp_ms = t.issue_timestamp_ms;
  r.expiry_timestamp_ms = t.expiry_timestamp_ms;
  r.max_timestamp_ms = t.max_timestamp_ms;
  r.token_id = token_id;
  r.hmac = security::delegation_token_hmac(s.secret_key, token_id);
  plan.records.push_back(frame_metadata_record(metadata::delegation_token_record(t), 0));
  return plan;
}

DelegationTokenPlan<msg::RenewDelegationTokenResponse> plan_delegation_token_renewal(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::RenewDelegationTokenRequest& request, int64_t now_ms) {
  DelegationTokenPlan<msg::RenewDelegationTokenResponse> plan;
  auto& r = plan.response;
  if (ErrorCode ec = token_apis_usable(image, s); ec != ErrorCode::NONE) {
    r.error_code = code(ec);
    return plan;
  }
  const security::DelegationToken* t = token_for_hmac(image, s.secret_key, request.hmac);
  if (!t) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_NOT_FOUND);
    return plan;
  }
  if (t->expired(now_ms)) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_EXPIRED);
    return plan;
  }
  if (!t->may_renew(caller)) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_OWNER_MISMATCH);
    return plan;
  }
  int64_t renew = s.renew_lifetime_ms;
  if (request.renew_period_ms > 0) renew = std::min(renew, request.renew_period_ms);
  security::DelegationToken next = *t;
  next.expiry_timestamp_ms = std::min(t->max_timestamp_ms, now_ms + renew);
  r.error_code = code(ErrorCode::NONE);
  r.expiry_timestamp_ms = next.expiry_timestamp_ms;
  plan.records.push_back(frame_metadata_record(metadata::delegation_token_record(next), 0));
  return plan;
}

DelegationTokenPlan<msg::ExpireDelegationTokenResponse> plan_delegation_token_expiry(
    const metadata::MetadataImage& image, const DelegationTokenSettings& s, const security::KafkaPrincipal& caller,
    const msg::ExpireDelegationTokenRequest& request, int64_t now_ms) {
  DelegationTokenPlan<msg::ExpireDelegationTokenResponse> plan;
  auto& r = plan.response;
  if (ErrorCode ec = token_apis_usable(image, s); ec != ErrorCode::NONE) {
    r.error_code = code(ec);
    return plan;
  }
  const security::DelegationToken* t = token_for_hmac(image, s.secret_key, request.hmac);
  if (!t) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_NOT_FOUND);
    return plan;
  }
  if (!t->may_renew(caller)) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_OWNER_MISMATCH);
    return plan;
  }
  if (request.expiry_time_period_ms < 0) {  // expire now: the token is removed
    r.error_code = code(ErrorCode::NONE);
    r.expiry_timestamp_ms = request.expiry_time_period_ms;
    msg::RemoveDelegationTokenRecord rm;
    rm.token_id = t->token_id;
    plan.records.push_back(frame_metadata_record(rm, 0));
    return plan;
  }
  if (t->expired(now_ms)) {
    r.error_code = code(ErrorCode::DELEGATION_TOKEN_EXPIRED);
    return plan;
  }
  security::DelegationToken next = *t;
  next.expiry_timestamp_ms = std::min(t->max_timestamp_ms, now_ms + request.expiry_time_period_ms);
  r.error_code = code(ErrorCode::NONE);
  r.expiry_timestamp_ms = next.expiry_timestamp_ms;
  plan.records.push_back(frame_metadata_record(metadata::delegation_token_record(next), 0));
  return plan;
}

std::vector<std::vector<uint8_t>> expired_delegation_token_records(const metadata::MetadataImage& image, int64_t now_ms,
                                                                   std::vector<std::string>* removed) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& [id, t] : image.delegation_tokens()) {
    if (!t.expired(now_ms)) continue;
    msg::RemoveDelegationTokenRecord rm;
    rm.token_id = id;
    out.push_back(frame_metadata_record(rm, 0));
    if (removed) removed->push_back(id);
  }
  return out;
}

// ---------------------------------------------------------------- QuorumController

DelegationTokenSettings QuorumController::token_settings() const {
  return {config_.delegation_token_secret_key, config_.delegation_token_max_lifetime_ms, config_.delegation_token_expiry_time_ms};
}

int64_t QuorumController::wall_ms() const {
  if (config_.wall_clock) return config_.wall_clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class Response>
void QuorumController::write_token_plan(DelegationTokenPlan<Response> plan, const char* what, std::function<void(Response)> done) {
  if (plan.records.empty()) return answer_now(done, std::move(plan.response));
  spdlog::info("[QuorumController id={}] Writing the delegation token record of a {}", config_.node_id, what);
  auto off = write(std::move(plan.records));
  after_commit_of(off, [done = std::move(done), response = std::move(plan.response)](ErrorCode ec) mutable {
    if (ec != ErrorCode::NONE) {
      response = Response{};
      response.error_code = code(ec);
    }
    done(std::move(response));
  });
}

void QuorumController::create_delegation_token(msg::CreateDelegationTokenRequest request, int16_t, security::KafkaPrincipal caller,
                                               std::function<void(msg::CreateDelegationTokenResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  std::string id = Uuid::random().to_string();
  auto plan = plan_delegation_token_creation(*latest_, token_settings(), caller, request, wall_ms(), id);
  if (!plan.records.empty())
    spdlog::info("[QuorumController id={}] Creating delegation token {} for owner {} (requester {})", config_.node_id, id,
                 plan.response.principal_type + ":" + plan.response.principal_name, caller.to_string());
  write_token_plan(std::move(plan), "token creation", std::move(done));
}

void QuorumController::renew_delegation_token(msg::RenewDelegationTokenRequest request, int16_t, security::KafkaPrincipal caller,
                                              std::function<void(msg::RenewDelegationTokenResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  write_token_plan(plan_delegation_token_renewal(*latest_, token_settings(), caller, request, wall_ms()), "token renewal", std::move(done));
}

void QuorumController::expire_delegation_token(msg::ExpireDelegationTokenRequest request, int16_t, security::KafkaPrincipal caller,
                                               std::function<void(msg::ExpireDelegationTokenResponse)> done) {
  if (!active_) return answer_error_now(done, ErrorCode::NOT_CONTROLLER);
  write_token_plan(plan_delegation_token_expiry(*latest_, token_settings(), caller, request, wall_ms()), "token expiry", std::move(done));
}

void QuorumController::maybe_sweep_expired_tokens(int64_t now_ms) {
  if (!active_ || config_.delegation_token_secret_key.empty()) return;
  if (token_sweep_due_ms_ < 0) token_sweep_due_ms_ = now_ms + config_.delegation_token_expiry_check_interval_ms;
  if (now_ms < token_sweep_due_ms_) return;
  token_sweep_due_ms_ = now_ms + config_.delegation_token_expiry_check_interval_ms;
  std::vector<std::string> removed;
  auto records = expired_delegation_token_records(*latest_, wall_ms(), &removed);
  if (records.empty()) return;
  for (const auto& id : removed) spdlog::info("[QuorumController id={}] Delegation token {} expired: removing it", config_.node_id, id);
  write(std::move(records));
}

}  // namespace flotilla::controller
