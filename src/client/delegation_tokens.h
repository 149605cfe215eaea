// The delegation token admin requests (Kafka's Admin.createDelegationToken /
// renewDelegationToken / expireDelegationToken / describeDelegationToken)
// over one connection: the decoded response out; reading its error code is
// the caller's (tools/delegation_tokens_tool.cc prints it as
// kafka-delegation-tokens.sh does). Versions: the highest both ends speak.
// Threading: as KafkaClient (one thread at a time).
#pragma once

#include <optional>
#include <vector>

#include "client/connection.h"
#include "protocol/messages.h"
#include "security/principal.h"

namespace flotilla::client {

msg::CreateDelegationTokenResponse create_delegation_token(Connection& c, const std::vector<security::KafkaPrincipal>& renewers,
                                                           int64_t max_lifetime_ms,
                                                           const std::optional<security::KafkaPrincipal>& owner = std::nullopt);
msg::RenewDelegationTokenResponse renew_delegation_token(Connection& c, const std::vector<uint8_t>& hmac, int64_t renew_period_ms);
msg::ExpireDelegationTokenResponse expire_delegation_token(Connection& c, const std::vector<uint8_t>& hmac, int64_t expiry_period_ms);
// `owners` nullopt: every token the caller may see.
msg::DescribeDelegationTokenResponse describe_delegation_tokens(Connection& c,
                                                                const std::optional<std::vector<security::KafkaPrincipal>>& owners);

}  // namespace flotilla::client
