// The SCRAM-SHA-256 / SCRAM-SHA-512 server (RFC 5802, RFC 7677), as Kafka's
// ScramSaslServer behaves, with one deliberate difference: an unknown user is
// not refused at the first message but challenged with a fake credential
// (scram_fake_credential), so the exchange fails at the proof like a wrong
// password, after the same steps and the same work. Every failure a client
// could learn from (unknown user, wrong proof, wrong nonce, channel binding,
// malformed message) answers Kafka's generic text; the cause goes to
// log_detail, which never holds a value from the exchange.
//
// Delegation tokens (Kafka's ScramExtensions): a client-first message with the
// extension tokenauth=true names a token id as its user; the credential is the
// token's (DelegationTokenCredentials: derived from its HMAC, gone once the
// token expires or is removed) and the authorized id is the token's owner. An
// unknown or expired token fails at the proof, like an unknown user.
//
// Invariants: the server never runs PBKDF2 (credentials hold StoredKey and
// ServerKey); evaluate() never throws; keys are wiped when the exchange ends.
// Threading: one object per exchange, used by one thread at a time; the
// CredentialCache it reads is shared and thread-safe.
#include <openssl/crypto.h>


#include <chrono>

#include "security/base64.h"
#include "security/delegation_token.h"
#include "security/sasl_mechanisms.h"
#include "security/scram_messages.h"

namespace flotilla::security {

namespace {

const Bytes& process_secret() {
  static const Bytes secret = random_bytes(32);
  return secret;
}

Bytes fake_part(ScramMechanism m, std::string_view label, std::string_view username) {
  std::string data(label);
  data += '\0';
  data += scram_mechanism_name(m);
  data += '\0';
  data += username;
  return scram_hmac(m, process_secret(), as_bytes(data));
}

class ScramServer final : public SaslServer {
 public:
  ScramServer(ScramMechanism mechanism, const SaslServerConfig& config, NonceGenerator nonce)
      : mechanism_(mechanism),
        name_(scram_mechanism_name(mechanism)),
        cache_(config.scram),
        tokens_(config.tokens),
        max_token_bytes_(config.max_token_bytes),
        nonce_(nonce ? std::move(nonce) : NonceGenerator(random_scram_nonce)) {}

  ~ScramServer() override { wipe(); }

  std::string_view mechanism() const override { return name_; }
  const std::string& authorized_id() const override { return authorized_id_; }
  bool token_authenticated() const override { return token_auth_ && state_ == State::kComplete; }
  std::optional<int64_t> credential_expiry_ms() const override {
    if (token_auth_ && state_ == State::kComplete) return token_expiry_ms_;
    return std::nullopt;
  }

  SaslStep evaluate(std::span<const uint8_t> token) override {
    SaslStep step;
    try {
      step = evaluate_state(token);
    } catch (const std::exception&) {  // a failing libcrypto call or allocation
      step = failure("internal error");
    }
    if (step.failed || step.complete) {
      state_ = step.complete ? State::kComplete : State::kFailed;
      wipe();
    }
    return step;
  }

 private:
  enum class State { kClientFirst, kClientFinal, kComplete, kFailed };

  SaslStep failure(std::string_view cause) const {
    SaslStep s;
    s.failed = true;
    s.error_message = sasl_authentication_failed_message(name_);
    s.log_detail = "SASL/" + name_ + ": " + std::string(cause);
    return s;
  }

  SaslStep evaluate_state(std::span<const uint8_t> token) {
    if (token.size() > max_token_bytes_)
      return failure("token of " + std::to_string(token.size()) + " bytes exceeds the limit of " +
                     std::to_string(max_token_bytes_));
    std::string_view text(reinterpret_cast<const char*>(token.data()), token.size());
    switch (state_) {
      case State::kClientFirst: return client_first(text);
      case State::kClientFinal: return client_final(text);
      default: return failure("token after the exchange ended");
    }
  }

  SaslStep client_first(std::string_view text) {
    std::string why;
    auto first = scram::parse_client_first(text, why);
    if (!first) return failure("invalid client-first message: " + why);
    // Kafka's ScramExtensions: tokenauth=true names a delegation token id as the user.
    if (auto it = first->extensions.find("tokenauth"); it != first->extensions.end() && it->second == "true") token_auth_ = true;
    // Checked before the credential lookup, so that the answer does not depend on the user existing.
    if (!first->authzid.empty() && first->authzid != first->username) {
      SaslStep s;
      s.failed = true;
      s.error_message = "Authentication failed: Client requested an authorization id that is different from username";
      s.log_detail = "SASL/" + name_ + ": authorization id differs from the user name";
      return s;
    }
    std::optional<ScramCredential> credential;
    if (token_auth_) {
      int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      if (tokens_) {
        if (auto login = tokens_->find(first->username, mechanism_, now)) {
          credential = std::move(login->credential);
          token_owner_ = login->owner.name;
          token_expiry_ms_ = login->expiry_timestamp_ms;
        }
      }
    } else if (cache_) {
      credential = cache_->find(first->username, mechanism_);
    }
    if (credential && credential->iterations < kScramMinIterations)
      return failure("stored credential has " + std::to_string(credential->iterations) + " iterations, less than " +
                     std::to_string(kScramMinIterations));
    known_user_ = credential.has_value();
    credential_ = known_user_ ? std::move(*credential) : scram_fake_credential(mechanism_, first->username);

    std::string server_nonce = nonce_();
    if (!scram::is_printable_nonce(server_nonce)) return failure("internal error: invalid server nonce");
    nonce_combined_ = first->nonce + server_nonce;
    std::string server_first = scram::format_server_first(nonce_combined_, credential_.salt, credential_.iterations);
    auth_message_ = first->bare + "," + server_first + ",";
    gs2_header_ = first->gs2_header;
    username_ = first->username;
    state_ = State::kClientFinal;
    SaslStep s;
    s.challenge.assign(server_first.begin(), server_first.end());
    return s;
  }

  SaslStep client_final(std::string_view text) {
    std::string why;
    auto final_msg = scram::parse_client_final(text, why);
    if (!final_msg) return failure("invalid client-final message: " + why);
    if (final_msg->channel_binding != base64_encode(as_bytes(gs2_header_)))
      return failure("channel binding (c=) does not match the GS2 header");
    // Kafka's ScramSaslServer accepts a final nonce that ends with the combined
    // nonce, and librdkafka relies on it: its client-final repeats the client
    // nonce before the server-first nonce (client + client + server). The proof
    // is computed over the message as sent, so this admits nothing unverified.
    if (!std::string_view(final_msg->nonce).ends_with(nonce_combined_))
      return failure("invalid client nonce in the final client message");
    if (final_msg->proof.size() != scram_hash_size(mechanism_)) return failure("client proof has the wrong length");

    auth_message_ += final_msg->without_proof;
    // ClientKey = proof XOR HMAC(StoredKey, AuthMessage); the proof holds iff H(ClientKey) == StoredKey.
    Bytes client_key = scram_hmac(mechanism_, credential_.stored_key, as_bytes(auth_message_));
    for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= final_msg->proof[i];
    Bytes computed = scram_hash(mechanism_, client_key);
    bool valid = constant_time_equal(computed, credential_.stored_key);
    OPENSSL_cleanse(client_key.data(), client_key.size());
    if (!valid || !known_user_)
      return failure(known_user_ ? "invalid client proof" : token_auth_ ? "unknown or expired delegation token" : "unknown user");

    Bytes signature = scram_hmac(mechanism_, credential_.server_key, as_bytes(auth_message_));
    std::string server_final = "v=" + base64_encode(signature);
    authorized_id_ = token_auth_ ? token_owner_ : username_;
    SaslStep s;
    s.complete = true;
    s.challenge.assign(server_final.begin(), server_final.end());
    return s;
  }

  void wipe() {
    OPENSSL_cleanse(credential_.stored_key.data(), credential_.stored_key.size());
    OPENSSL_cleanse(credential_.server_key.data(), credential_.server_key.size());
    credential_ = {};
    auth_message_.clear();
  }

  ScramMechanism mechanism_;
  std::string name_;
  std::shared_ptr<const CredentialCache> cache_;
  std::shared_ptr<const DelegationTokenCredentials> tokens_;
  bool token_auth_ = false;
  std::string token_owner_;
  int64_t token_expiry_ms_ = 0;
  size_t max_token_bytes_;
  NonceGenerator nonce_;
  State state_ = State::kClientFirst;
  ScramCredential credential_;
  bool known_user_ = false;
  std::string gs2_header_;
  std::string nonce_combined_;
  std::string auth_message_;
  std::string username_;
  std::string authorized_id_;
};

}  // namespace

ScramCredential scram_fake_credential(ScramMechanism mechanism, std::string_view username) {
  ScramCredential c;
  c.salt = fake_part(mechanism, "salt", username);
  c.salt.resize(32);  // Kafka's salts are 32 random bytes
  c.stored_key = fake_part(mechanism, "stored-key", username);
  c.server_key = fake_part(mechanism, "server-key", username);
  c.iterations = kScramMinIterations;
  return c;
}

std::unique_ptr<SaslServer> make_scram_server(ScramMechanism mechanism, const SaslServerConfig& config,
                                              NonceGenerator server_nonce) {
  if (mechanism != ScramMechanism::SCRAM_SHA_256 && mechanism != ScramMechanism::SCRAM_SHA_512) return nullptr;
  return std::make_unique<ScramServer>(mechanism, config, std::move(server_nonce));
}

}  // namespace flotilla::security
