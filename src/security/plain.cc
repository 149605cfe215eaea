// SASL/PLAIN (RFC 4616), server and client, as Kafka's PlainSaslServer and the
// JDK's PLAIN client behave.
//
// Server: the token is `[authzid] NUL authcid NUL passwd`; the users are the
// listener's `user_<name>="<password>"` JAAS options (SaslServerConfig::
// plain_users, copied into the server: it outlives nothing it points to).
// Passwords are compared as SHA-256 digests in constant time, and an unknown
// user is compared against a dummy digest, so neither the position of the
// first differing byte, nor the length of the stored password, nor whether the
// user exists shows in the time taken. Kafka's answers: a token it cannot
// parse, or with an empty user or password, gets the generic failure message;
// an unknown user or a wrong password gets "Authentication failed: Invalid
// username or password" (the same text for both); an authzid other than the
// user (checked after the password, so it reveals nothing) gets "Client
// requested an authorization id that is different from username".
//
// Threading: one object per exchange, used by one thread at a time.
#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "security/sasl_mechanisms.h"

namespace flotilla::security {

namespace {

constexpr std::string_view kPlain = "PLAIN";

SaslStep plain_failure(std::string message, std::string log_detail) {
  SaslStep s;
  s.failed = true;
  s.error_message = std::move(message);
  s.log_detail = std::move(log_detail);
  return s;
}

class PlainServer final : public SaslServer {
 public:
  explicit PlainServer(const SaslServerConfig& config)
      : users_(config.plain_users), max_token_bytes_(config.max_token_bytes) {}

  ~PlainServer() override {
    for (auto& [user, password] : users_) OPENSSL_cleanse(password.data(), password.size());
  }

  std::string_view mechanism() const override { return kPlain; }
  const std::string& authorized_id() const override { return authorized_id_; }

  SaslStep evaluate(std::span<const uint8_t> token) override {
    if (done_) return plain_failure(sasl_authentication_failed_message(kPlain), "SASL/PLAIN token after the exchange ended");
    done_ = true;
    try {
      return evaluate_once(token);
    } catch (const std::exception&) {  // only a failing libcrypto call can throw here
      return plain_failure(sasl_authentication_failed_message(kPlain), "SASL/PLAIN: internal error verifying credentials");
    }
  }

 private:
  SaslStep evaluate_once(std::span<const uint8_t> token) {
    const std::string generic = sasl_authentication_failed_message(kPlain);
    if (token.size() > max_token_bytes_)
      return plain_failure(generic, "SASL/PLAIN token of " + std::to_string(token.size()) + " bytes exceeds the limit of " +
                                 std::to_string(max_token_bytes_));
    std::string_view text(reinterpret_cast<const char*>(token.data()), token.size());
    size_t nuls = static_cast<size_t>(std::count(text.begin(), text.end(), '\0'));
    if (nuls != 2) return plain_failure(generic, "Invalid SASL/PLAIN response: expected 3 tokens, got " + std::to_string(nuls + 1));
    size_t first = text.find('\0');
    size_t second = text.find('\0', first + 1);
    std::string_view authzid = text.substr(0, first);
    std::string_view username = text.substr(first + 1, second - first - 1);
    std::string_view password = text.substr(second + 1);
    if (username.empty()) return plain_failure(generic, "SASL/PLAIN: username not specified");
    if (password.empty()) return plain_failure(generic, "SASL/PLAIN: password not specified");

    auto it = users_.find(std::string(username));
    // Digests of equal length, whatever the passwords' lengths; a dummy for an unknown user.
    Bytes given = scram_hash(ScramMechanism::SCRAM_SHA_256, as_bytes(password));
    Bytes expected = scram_hash(ScramMechanism::SCRAM_SHA_256,
                                as_bytes(it == users_.end() ? std::string_view("\x01unknown-user") : it->second));
    bool match = constant_time_equal(given, expected) && it != users_.end();
    OPENSSL_cleanse(given.data(), given.size());
    OPENSSL_cleanse(expected.data(), expected.size());
    if (!match)
      return plain_failure("Authentication failed: Invalid username or password",
                    it == users_.end() ? "SASL/PLAIN: unknown user" : "SASL/PLAIN: wrong password");
    if (!authzid.empty() && authzid != username)
      return plain_failure("Authentication failed: Client requested an authorization id that is different from username",
                    "SASL/PLAIN: authorization id differs from the user name");
    authorized_id_ = std::string(username);
    SaslStep ok;
    ok.complete = true;
    return ok;
  }

  std::map<std::string, std::string> users_;
  size_t max_token_bytes_;
  bool done_ = false;
  std::string authorized_id_;
};

class PlainClient final : public SaslClient {
 public:
  PlainClient(std::string username, std::string password) : username_(std::move(username)), password_(std::move(password)) {}
  ~PlainClient() override { OPENSSL_cleanse(password_.data(), password_.size()); }

  std::string_view mechanism() const override { return kPlain; }

  Bytes initial() override {
    Bytes token;
    token.reserve(username_.size() + password_.size() + 2);
    token.push_back(0);  // no authzid: the server authorizes as the user
    token.insert(token.end(), username_.begin(), username_.end());
    token.push_back(0);
    token.insert(token.end(), password_.begin(), password_.end());
    return token;
  }

  // A successful PLAIN exchange ends with the server's empty token.
  std::optional<Bytes> evaluate(std::span<const uint8_t> challenge) override {
    if (done_ || !challenge.empty()) return std::nullopt;
    done_ = true;
    return Bytes{};
  }

  bool done() const override { return done_; }

 private:
  std::string username_;
  std::string password_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<SaslServer> make_plain_server(const SaslServerConfig& config) {
  return std::make_unique<PlainServer>(config);
}

std::unique_ptr<SaslClient> make_plain_client(const std::string& username, const std::string& password) {
  return std::make_unique<PlainClient>(username, password);
}

}  // namespace flotilla::security
