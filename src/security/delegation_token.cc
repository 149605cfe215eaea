#include "security/delegation_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <stdexcept>

#include "security/base64.h"

namespace flotilla::security {

bool DelegationToken::may_renew(const KafkaPrincipal& p) const {
  return owner == p || std::find(renewers.begin(), renewers.end(), p) != renewers.end();
}

Bytes delegation_token_hmac(std::string_view secret_key, std::string_view token_id) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (!HMAC(EVP_sha512(), secret_key.data(), static_cast<int>(secret_key.size()), reinterpret_cast<const unsigned char*>(token_id.data()),
            token_id.size(), out.data(), &len))
    throw std::runtime_error("HMAC-SHA512 failed");
  out.resize(len);
  return out;
}

DelegationTokenCredentials::~DelegationTokenCredentials() { OPENSSL_cleanse(secret_key_.data(), secret_key_.size()); }

void DelegationTokenCredentials::publish(const DelegationTokenMap& tokens) {
  if (!enabled()) return;
  std::shared_ptr<const Map> old;
  {
    std::lock_guard lock(mu_);
    old = map_;
  }
  auto next = std::make_shared<Map>();
  for (const auto& [id, token] : tokens) {
    Entry e;
    e.token = token;
    if (auto it = old->find(id); it != old->end()) {
      e.credentials = it->second.credentials;  // same id, same HMAC: no PBKDF2 again
    } else {
      Bytes hmac = delegation_token_hmac(secret_key_, id);
      std::string password = base64_encode(hmac);
      for (ScramMechanism m : {ScramMechanism::SCRAM_SHA_256, ScramMechanism::SCRAM_SHA_512})
        e.credentials[m] = scram_credential(m, password, scram_random_salt(), kScramMinIterations);
      OPENSSL_cleanse(password.data(), password.size());
      OPENSSL_cleanse(hmac.data(), hmac.size());
    }
    next->emplace(id, std::move(e));
  }
  std::lock_guard lock(mu_);
  map_ = std::move(next);
}

std::optional<TokenLogin> DelegationTokenCredentials::find(const std::string& token_id, ScramMechanism m, int64_t now_ms) const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mu_);
    map = map_;
  }
  auto it = map->find(token_id);
  if (it == map->end() || it->second.token.expired(now_ms)) return std::nullopt;
  auto c = it->second.credentials.find(m);
  if (c == it->second.credentials.end()) return std::nullopt;
  return TokenLogin{c->second, it->second.token.owner,
                    std::min(it->second.token.expiry_timestamp_ms, it->second.token.max_timestamp_ms)};
}

}  // namespace flotilla::security
