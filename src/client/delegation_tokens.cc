#include "client/delegation_tokens.h"

#include "client/admin.h"

namespace flotilla::client {

msg::CreateDelegationTokenResponse create_delegation_token(Connection& c, const std::vector<security::KafkaPrincipal>& renewers,
                                                           int64_t max_lifetime_ms, const std::optional<security::KafkaPrincipal>& owner) {
  int16_t v = admin_version<msg::CreateDelegationTokenRequest>(c);
  if (owner && v < 3) throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support creating tokens for other owners");
  msg::CreateDelegationTokenRequest req;
  req.owner_principal_type = owner ? std::optional<std::string>(owner->type) : std::nullopt;
  req.owner_principal_name = owner ? std::optional<std::string>(owner->name) : std::nullopt;
  for (const auto& r : renewers) req.renewers.push_back({r.type, r.name});
  req.max_lifetime_ms = max_lifetime_ms;
  return c.call(req, v).first;
}

msg::RenewDelegationTokenResponse renew_delegation_token(Connection& c, const std::vector<uint8_t>& hmac, int64_t renew_period_ms) {
  int16_t v = admin_version<msg::RenewDelegationTokenRequest>(c);
  msg::RenewDelegationTokenRequest req;
  req.hmac = hmac;
  req.renew_period_ms = renew_period_ms;
  return c.call(req, v).first;
}

msg::ExpireDelegationTokenResponse expire_delegation_token(Connection& c, const std::vector<uint8_t>& hmac, int64_t expiry_period_ms) {
  int16_t v = admin_version<msg::ExpireDelegationTokenRequest>(c);
  msg::ExpireDelegationTokenRequest req;
  req.hmac = hmac;
  req.expiry_time_period_ms = expiry_period_ms;
  return c.call(req, v).first;
}

msg::DescribeDelegationTokenResponse describe_delegation_tokens(Connection& c,
                                                                const std::optional<std::vector<security::KafkaPrincipal>>& owners) {
  int16_t v = admin_version<msg::DescribeDelegationTokenRequest>(c);
  msg::DescribeDelegationTokenRequest req;
  if (owners) {
    req.owners.emplace();
    for (const auto& o : *owners) req.owners->push_back({o.type, o.name});
  } else {
    req.owners = std::nullopt;
  }
  return c.call(req, v).first;
}

}  // namespace flotilla::client
