#include "metadata/delegation_tokens.h"

namespace flotilla::metadata {

msg::DelegationTokenRecord delegation_token_record(const security::DelegationToken& t) {
  msg::DelegationTokenRecord r;
  r.owner = t.owner.to_string();
  r.requester = t.requester.to_string();
  for (const auto& p : t.renewers) r.renewers.push_back(p.to_string());
  r.issue_timestamp = t.issue_timestamp_ms;
  r.max_timestamp = t.max_timestamp_ms;
  r.expiration_timestamp = t.expiry_timestamp_ms;
  r.token_id = t.token_id;
  return r;
}

}  // namespace flotilla::metadata
