// Delegation tokens (KIP-48, KRaft: KIP-900) as Kafka's TokenInformation and
// DelegationTokenCache hold them: a token is an id, an owner, the principal
// that requested it, the principals that may renew it, and three times
// (issued, next expiry, last possible expiry; ms since the epoch). Its
// password — the HMAC — is never stored anywhere: every node that knows
// delegation.token.secret.key computes HMAC-SHA512(secret key, token id), and
// the SCRAM credentials a token logs in with are derived from that HMAC's
// base64 text (4096 iterations, a salt of this node's, each SCRAM mechanism).
//
// DelegationTokenCredentials is what the SCRAM server reads when a client
// sends the `tokenauth=true` extension: replaced whole by a metadata publisher
// (server/delegation_token_publisher.h) on every image that changed tokens.
// Credentials of a token already cached are reused (the HMAC depends on the id
// only), so PBKDF2 runs once per new token per node, on the publisher's thread.
//
// Threading: publish() and find() may run on different threads (one shared_ptr
// swapped under a mutex; find() copies out). The pure functions are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "security/acl.h"
#include "security/principal.h"
#include "security/scram.h"

namespace flotilla::security {

struct DelegationToken {
  std::string token_id;
  KafkaPrincipal owner;
  KafkaPrincipal requester;
  std::vector<KafkaPrincipal> renewers;
  int64_t issue_timestamp_ms = 0;
  int64_t max_timestamp_ms = 0;
  int64_t expiry_timestamp_ms = 0;
  bool operator==(const DelegationToken&) const = default;

  // Kafka's TokenInformation: expired once past its expiry or its max time.
  bool expired(int64_t now_ms) const { return max_timestamp_ms < now_ms || expiry_timestamp_ms < now_ms; }
  // Kafka's allowedToRenew: the owner or a renewer may renew or expire it.
  bool may_renew(const KafkaPrincipal& p) const;
};
using DelegationTokenMap = std::map<std::string, DelegationToken>;  // by token id

// parse_kafka_principal("Type:name"): security/acl.h.

// HMAC-SHA512 keyed with the secret key's UTF-8 bytes over the token id's
// (Kafka's DelegationTokenManager.createHmac).
Bytes delegation_token_hmac(std::string_view secret_key, std::string_view token_id);

// What a token logs in with for one mechanism.
struct TokenLogin {
  ScramCredential credential;
  KafkaPrincipal owner;
  int64_t expiry_timestamp_ms = 0;  // bounds the session (min of expiry and max)
};

class DelegationTokenCredentials {
 public:
  // `secret_key` empty: tokens are disabled on this node and nothing logs in.
  explicit DelegationTokenCredentials(std::string secret_key) : secret_key_(std::move(secret_key)) {}
  ~DelegationTokenCredentials();
  bool enabled() const { return !secret_key_.empty(); }

  // The image's tokens replace the cached set.
  void publish(const DelegationTokenMap& tokens);
  // nullopt for an unknown or expired token (or when disabled).
  std::optional<TokenLogin> find(const std::string& token_id, ScramMechanism m, int64_t now_ms) const;

 private:
  struct Entry {
    DelegationToken token;
    std::map<ScramMechanism, ScramCredential> credentials;
  };
  using Map = std::map<std::string, Entry>;
  std::string secret_key_;
  mutable std::mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<const Map>();
};

}  // namespace flotilla::security
