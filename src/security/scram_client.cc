// The SCRAM-SHA-256 / SCRAM-SHA-512 client (RFC 5802), as Kafka's
// ScramSaslClient behaves: `n,,n=<user>,r=<nonce>` first (no channel binding,
// no authzid), then the proof for the server's salt and iteration count, then
// the check of the server's signature — the step that proves the server knew
// the credential, so a client never reports done() without it.
//
// Refused server messages (evaluate returns nullopt): malformed, a nonce that
// does not extend the client's, fewer than 4096 iterations (Kafka's
// ScramMechanism minimum), an `e=` error, a signature that does not verify.
// The client runs PBKDF2 once per exchange (the password's Hi()): it is the
// client's CPU, not an event loop's.
//
// Threading: one object per exchange, used by one thread at a time.
#include <openssl/crypto.h>

#include "security/base64.h"
#include "security/sasl_mechanisms.h"
#include "security/scram_messages.h"

namespace flotilla::security {

namespace {

class ScramClient final : public SaslClient {
 public:
  ScramClient(ScramMechanism mechanism, std::string username, std::string password, NonceGenerator nonce, bool token_auth)
      : token_auth_(token_auth),
        mechanism_(mechanism),
        name_(scram_mechanism_name(mechanism)),
        username_(std::move(username)),
        password_(std::move(password)),
        nonce_(nonce ? std::move(nonce) : NonceGenerator(random_scram_nonce)) {}

  ~ScramClient() override {
    OPENSSL_cleanse(password_.data(), password_.size());
    OPENSSL_cleanse(expected_signature_.data(), expected_signature_.size());
  }

  std::string_view mechanism() const override { return name_; }
  bool done() const override { return state_ == State::kDone; }

  Bytes initial() override {
    client_nonce_ = nonce_();
    first_bare_ = scram::format_client_first_bare(username_, client_nonce_);
    if (token_auth_) first_bare_ += ",tokenauth=true";  // Kafka's ScramExtensions, part of AuthMessage
    std::string msg = std::string(kGs2Header) + first_bare_;
    state_ = State::kServerFirst;
    return Bytes(msg.begin(), msg.end());
  }

  std::optional<Bytes> evaluate(std::span<const uint8_t> challenge) override {
    std::string_view text(reinterpret_cast<const char*>(challenge.data()), challenge.size());
    std::optional<Bytes> out;
    try {
      if (state_ == State::kServerFirst) out = server_first(text);
      else if (state_ == State::kServerFinal) out = server_final(text);
    } catch (const std::exception&) {
      out.reset();
    }
    if (!out) state_ = State::kFailed;
    return out;
  }

 private:
  enum class State { kInitial, kServerFirst, kServerFinal, kDone, kFailed };
  static constexpr std::string_view kGs2Header = "n,,";

  std::optional<Bytes> server_first(std::string_view text) {
    std::string why;
    auto first = scram::parse_server_first(text, why);
    if (!first) return std::nullopt;
    if (first->nonce.size() <= client_nonce_.size() || !first->nonce.starts_with(client_nonce_)) return std::nullopt;
    if (first->iterations < kScramMinIterations) return std::nullopt;

    std::string without_proof = scram::format_client_final_without_proof(kGs2Header, first->nonce);
    std::string auth_message = first_bare_ + "," + std::string(text) + "," + without_proof;
    Bytes salted = scram_salted_password(mechanism_, password_, first->salt, first->iterations);
    Bytes client_key = scram_hmac(mechanism_, salted, as_bytes("Client Key"));
    Bytes stored_key = scram_hash(mechanism_, client_key);
    Bytes server_key = scram_hmac(mechanism_, salted, as_bytes("Server Key"));
    Bytes proof = scram_hmac(mechanism_, stored_key, as_bytes(auth_message));  // ClientSignature
    for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
    expected_signature_ = scram_hmac(mechanism_, server_key, as_bytes(auth_message));
    for (Bytes* b : {&salted, &client_key, &stored_key, &server_key}) OPENSSL_cleanse(b->data(), b->size());

    std::string msg = without_proof + ",p=" + base64_encode(proof);
    state_ = State::kServerFinal;
    return Bytes(msg.begin(), msg.end());
  }

  std::optional<Bytes> server_final(std::string_view text) {
    std::string why;
    auto final_msg = scram::parse_server_final(text, why);
    if (!final_msg || !final_msg->error.empty()) return std::nullopt;
    if (!constant_time_equal(final_msg->signature, expected_signature_)) return std::nullopt;
    state_ = State::kDone;
    return Bytes{};
  }

  bool token_auth_;
  ScramMechanism mechanism_;
  std::string name_;
  std::string username_;
  std::string password_;
  NonceGenerator nonce_;
  State state_ = State::kInitial;
  std::string client_nonce_;
  std::string first_bare_;
  Bytes expected_signature_;
};

}  // namespace

std::unique_ptr<SaslClient> make_scram_client(ScramMechanism mechanism, const std::string& username,
                                              const std::string& password, NonceGenerator client_nonce, bool token_auth) {
  if (mechanism != ScramMechanism::SCRAM_SHA_256 && mechanism != ScramMechanism::SCRAM_SHA_512) return nullptr;
  return std::make_unique<ScramClient>(mechanism, username, password, std::move(client_nonce), token_auth);
}

}  // namespace flotilla::security
