// The DelegationTokenRecord of a token (the controller writes it on create,
// renew and expire; snapshots write one per token of the image, Kafka's
// DelegationTokenImage). Principals are written as "Type:name", as Kafka's
// DelegationTokenData.toRecord does. Pure.
#pragma once

#include "protocol/messages.h"
#include "security/delegation_token.h"

namespace flotilla::metadata {

msg::DelegationTokenRecord delegation_token_record(const security::DelegationToken& t);

}  // namespace flotilla::metadata
