// SASL/OAUTHBEARER: configuration from a listener's properties and JAAS
// options, the client's initial response, and the server and client state
// machines. Validation is in oauthbearer_validate.cc. See oauthbearer.h.
#include "security/oauthbearer.h"

#include <openssl/crypto.h>

#include <cctype>
#include <cstdlib>

namespace flotilla::security {

namespace {

constexpr char kSep = '\x01';

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_list(std::string_view s, std::string_view separators) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find_first_of(separators, pos);
    if (end == std::string_view::npos) end = s.size();
    std::string item = trim(s.substr(pos, end - pos));
    if (!item.empty()) out.push_back(std::move(item));
    pos = end + 1;
  }
  return out;
}

std::optional<int64_t> parse_non_negative(std::string_view s) {
  std::string t = trim(s);
  if (t.empty() || t.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

const std::string* find(const std::map<std::string, std::string>& m, std::string_view key) {
  auto it = m.find(std::string(key));
  return it == m.end() ? nullptr : &it->second;
}

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_value_char(char c) { return (c >= 0x21 && c <= 0x7E) || c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_token_char(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'; }
bool is_word_char(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_'; }

// RFC 5801 saslname: UTF8 without '=' and ',', with "=2C" and "=3D" for them.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\0' || c == ',') return std::nullopt;
    if (c != '=') {
      out += c;
      continue;
    }
    std::string_view esc = s.substr(i + 1, 2);
    if (esc == "2C") out += ',';
    else if (esc == "3D") out += '=';
    else return std::nullopt;
    i += 2;
  }
  return out;
}

std::string encode_saslname(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ',') out += "=2C";
    else if (c == '=') out += "=3D";
    else out += c;
  }
  return out;
}

SaslStep failed_step(std::string message, std::string log_detail) {
  SaslStep s;
  s.failed = true;
  s.error_message = std::move(message);
  s.log_detail = std::move(log_detail);
  return s;
}

class OAuthBearerServerImpl final : public OAuthBearerServer {
 public:
  explicit OAuthBearerServerImpl(const SaslServerConfig& config)
      : config_(config.oauthbearer ? config.oauthbearer : std::make_shared<const OAuthBearerConfig>()),
        max_token_bytes_(config.max_token_bytes) {}

  std::string_view mechanism() const override { return kOAuthBearer; }
  const std::string& authorized_id() const override { return authorized_id_; }
  std::optional<int64_t> credential_expiry_ms() const override { return expiry_ms_; }
  const std::map<std::string, std::string>& extensions() const override { return extensions_; }

  SaslStep evaluate(std::span<const uint8_t> token) override {
    const std::string generic = sasl_authentication_failed_message(kOAuthBearer);
    switch (state_) {
      case State::kDone:
        return failed_step(generic, "SASL/OAUTHBEARER token after the exchange ended");
      case State::kErrorSent:
        state_ = State::kDone;
        if (token.size() == 1 && token[0] == kSep) return failed_step(error_json_, pending_detail_);
        return failed_step(generic, "SASL/OAUTHBEARER: expected the client's %x01 after the error challenge (" +
                                        pending_detail_ + ")");
      case State::kInitial:
        break;
    }
    state_ = State::kDone;
    try {
      return evaluate_initial(token, generic);
    } catch (const std::exception&) {
      return failed_step(generic, "SASL/OAUTHBEARER: internal error");
    }
  }

 private:
  enum class State { kInitial, kErrorSent, kDone };

  SaslStep evaluate_initial(std::span<const uint8_t> token, const std::string& generic) {
    if (token.size() > max_token_bytes_)
      return failed_step(generic, "SASL/OAUTHBEARER message of " + std::to_string(token.size()) +
                                      " bytes exceeds the limit of " + std::to_string(max_token_bytes_));
    std::string error;
    auto response = parse_oauthbearer_initial_response(
        std::string_view(reinterpret_cast<const char*>(token.data()), token.size()), error);
    if (!response) return failed_step(generic, "SASL/OAUTHBEARER: " + error);
    OAuthBearerValidation v = validate_oauthbearer_token(response->token, *config_);
    OPENSSL_cleanse(response->token.data(), response->token.size());
    if (!v.ok) {
      state_ = State::kErrorSent;
      error_json_ = oauthbearer_error_json(v);
      pending_detail_ = "SASL/OAUTHBEARER: token rejected: " + v.detail;
      SaslStep challenge;
      challenge.challenge = Bytes(error_json_.begin(), error_json_.end());
      challenge.log_detail = pending_detail_;
      return challenge;
    }
    if (!response->authzid.empty() && response->authzid != v.principal)
      return failed_step("Authentication failed: Client requested an authorization id (" + response->authzid +
                             ") that is different from the token's principal name (" + v.principal + ")",
                         "SASL/OAUTHBEARER: authorization id differs from the token's principal");
    authorized_id_ = std::move(v.principal);
    expiry_ms_ = v.expiry_ms;
    extensions_ = std::move(response->extensions);
    SaslStep ok;
    ok.complete = true;
    return ok;
  }

  std::shared_ptr<const OAuthBearerConfig> config_;
  size_t max_token_bytes_;
  State state_ = State::kInitial;
  std::string error_json_;
  std::string pending_detail_;
  std::string authorized_id_;
  std::optional<int64_t> expiry_ms_;
  std::map<std::string, std::string> extensions_;
};

class OAuthBearerClientImpl final : public OAuthBearerClient {
 public:
  OAuthBearerClientImpl(std::string token, std::string authzid, std::map<std::string, std::string> extensions)
      : token_(std::move(token)), authzid_(std::move(authzid)), extensions_(std::move(extensions)) {}
  ~OAuthBearerClientImpl() override { OPENSSL_cleanse(token_.data(), token_.size()); }

  std::string_view mechanism() const override { return kOAuthBearer; }

  Bytes initial() override {
    OAuthBearerInitialResponse r{authzid_, token_, extensions_};
    std::string message = format_oauthbearer_initial_response(r);
    Bytes out(message.begin(), message.end());
    OPENSSL_cleanse(message.data(), message.size());
    OPENSSL_cleanse(r.token.data(), r.token.size());
    return out;
  }

  // Empty: success. Otherwise the server's JSON error: answer %x01 once.
  std::optional<Bytes> evaluate(std::span<const uint8_t> challenge) override {
    if (done_ || answered_error_) return std::nullopt;
    if (challenge.empty()) {
      done_ = true;
      return Bytes{};
    }
    answered_error_ = true;
    error_challenge_.assign(challenge.begin(), challenge.end());
    return Bytes{static_cast<uint8_t>(kSep)};
  }

  bool done() const override { return done_; }
  const std::string& error_challenge() const override { return error_challenge_; }

 private:
  std::string token_;
  std::string authzid_;
  std::map<std::string, std::string> extensions_;
  bool done_ = false;
  bool answered_error_ = false;
  std::string error_challenge_;
};

}  // namespace

std::optional<OAuthBearerInitialResponse> parse_oauthbearer_initial_response(std::string_view m, std::string& error) {
  auto bad = [&](std::string e) {
    error = "Invalid OAUTHBEARER client first message: " + std::move(e);
    return std::nullopt;
  };
  if (!m.starts_with("n,")) return bad("the GS2 header must start with 'n,'");
  size_t pos = 2;
  OAuthBearerInitialResponse r;
  if (m.substr(pos).starts_with("a=")) {
    size_t end = m.find(',', pos + 2);
    if (end == std::string_view::npos) return bad("unterminated authorization id");
    std::string_view raw = m.substr(pos + 2, end - pos - 2);
    auto authzid = decode_saslname(raw);
    if (raw.empty() || !authzid) return bad("malformed authorization id");
    r.authzid = std::move(*authzid);
    pos = end;
  }
  if (pos >= m.size() || m[pos] != ',') return bad("malformed GS2 header");
  ++pos;
  if (pos >= m.size() || m[pos] != kSep) return bad("expected %x01 after the GS2 header");
  ++pos;
  std::optional<std::string> auth;
  while (true) {
    if (pos >= m.size()) return bad("not terminated by %x01%x01");
    if (m[pos] == kSep) {
      if (pos + 1 != m.size()) return bad("data after the final %x01");
      break;
    }
    size_t key_end = pos;
    while (key_end < m.size() && is_alpha(m[key_end])) ++key_end;
    if (key_end == pos || key_end >= m.size() || m[key_end] != '=') return bad("malformed key");
    size_t value_end = key_end + 1;
    while (value_end < m.size() && is_value_char(m[value_end])) ++value_end;
    if (value_end == key_end + 1 || value_end >= m.size() || m[value_end] != kSep) return bad("malformed value");
    std::string key(m.substr(pos, key_end - pos));
    std::string value(m.substr(key_end + 1, value_end - key_end - 1));
    if (key == "auth") {
      if (auth) return bad("'auth' given twice");
      auth = std::move(value);
    } else {
      if (r.extensions.count(key)) return bad("extension given twice");
      r.extensions.emplace(std::move(key), std::move(value));
    }
    pos = value_end + 1;
  }
  if (!auth) return bad("'auth' not specified");
  // auth = <scheme> SP+ <token>, scheme \w+ ("Bearer", any case), token [-_.a-zA-Z0-9]+.
  size_t scheme_end = 0;
  while (scheme_end < auth->size() && is_word_char((*auth)[scheme_end])) ++scheme_end;
  size_t token_start = scheme_end;
  while (token_start < auth->size() && (*auth)[token_start] == ' ') ++token_start;
  if (scheme_end == 0 || token_start == scheme_end || token_start == auth->size()) {
    OPENSSL_cleanse(auth->data(), auth->size());
    return bad("invalid 'auth' value");
  }
  for (size_t i = token_start; i < auth->size(); ++i) {
    if (!is_token_char((*auth)[i])) {
      OPENSSL_cleanse(auth->data(), auth->size());
      return bad("invalid characters in the token");
    }
  }
  std::string scheme = auth->substr(0, scheme_end);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer") {
    OPENSSL_cleanse(auth->data(), auth->size());
    return bad("invalid scheme (not Bearer)");
  }
  r.token = auth->substr(token_start);
  OPENSSL_cleanse(auth->data(), auth->size());
  return r;
}

std::string format_oauthbearer_initial_response(const OAuthBearerInitialResponse& r) {
  std::string m = "n,";
  if (!r.authzid.empty()) m += "a=" + encode_saslname(r.authzid);
  m += ',';
  m += kSep;
  m += "auth=Bearer " + r.token;
  m += kSep;
  for (const auto& [key, value] : r.extensions) {
    m += key + "=" + value;
    m += kSep;
  }
  m += kSep;
  return m;
}

std::shared_ptr<const OAuthBearerConfig> make_oauthbearer_config(const std::map<std::string, std::string>& props,
                                                                 const std::map<std::string, std::string>& jaas,
                                                                 std::string& error) {
  auto c = std::make_shared<OAuthBearerConfig>();
  std::string handler = find(props, kSaslServerCallbackHandlerClass) ? trim(*find(props, kSaslServerCallbackHandlerClass)) : "";
  if (handler.empty() || handler == kOAuthBearerUnsecuredValidatorHandler) {
    c->validator = OAuthBearerConfig::Validator::kUnsecured;
    if (auto v = find(jaas, "unsecuredValidatorPrincipalClaimName")) {
      c->unsecured_principal_claim = trim(*v);
      if (c->unsecured_principal_claim.empty()) {
        error = "option unsecuredValidatorPrincipalClaimName must not be empty";
        return nullptr;
      }
    }
    if (auto v = find(jaas, "unsecuredValidatorScopeClaimName")) {
      c->unsecured_scope_claim = trim(*v);
      if (c->unsecured_scope_claim.empty()) {
        error = "option unsecuredValidatorScopeClaimName must not be empty";
        return nullptr;
      }
    }
    if (auto v = find(jaas, "unsecuredValidatorRequiredScope")) c->unsecured_required_scope = split_list(*v, " ,");
    if (auto v = find(jaas, "unsecuredValidatorAllowableClockSkewMs")) {
      auto skew = parse_non_negative(*v);
      if (!skew) {
        error = "option unsecuredValidatorAllowableClockSkewMs must be a non-negative integer";
        return nullptr;
      }
      c->unsecured_clock_skew_ms = *skew;
    }
    return c;
  }
  if (handler != kOAuthBearerValidatorHandler && handler != kOAuthBearerValidatorHandlerSecured) {
    error = std::string(kSaslServerCallbackHandlerClass) + " " + handler +
            " is not supported for OAUTHBEARER (supported: " + std::string(kOAuthBearerValidatorHandler) + ", " +
            std::string(kOAuthBearerUnsecuredValidatorHandler) + ")";
    return nullptr;
  }
  c->validator = OAuthBearerConfig::Validator::kJwks;
  const std::string* url = find(props, kJwksEndpointUrl);
  if (!url || trim(*url).empty()) {
    error = "The OAuth configuration option " + std::string(kJwksEndpointUrl) + " must be set for " +
            std::string(kOAuthBearerValidatorHandler);
    return nullptr;
  }
  std::string jwks_error;
  c->jwks = JwkSet::load(trim(*url), jwks_error);
  if (!c->jwks) {
    error = std::string(kJwksEndpointUrl) + ": " + jwks_error;
    return nullptr;
  }
  if (auto v = find(props, kExpectedAudience)) c->expected_audience = split_list(*v, ",");
  if (auto v = find(props, kExpectedIssuer); v && !trim(*v).empty()) c->expected_issuer = trim(*v);
  for (auto [key, field] : {std::pair{kSubClaimName, &c->sub_claim_name}, std::pair{kScopeClaimName, &c->scope_claim_name}}) {
    if (auto v = find(props, key)) {
      *field = trim(*v);
      if (field->empty()) {
        error = "The OAuth configuration option " + std::string(key) + " value must be non-empty";
        return nullptr;
      }
    }
  }
  if (auto v = find(props, kClockSkewSeconds)) {
    auto skew = parse_non_negative(*v);
    if (!skew) {
      error = "The OAuth configuration option " + std::string(kClockSkewSeconds) + " must be a non-negative integer";
      return nullptr;
    }
    c->clock_skew_seconds = *skew;
  }
  return c;
}

std::unique_ptr<SaslServer> make_oauthbearer_server(const SaslServerConfig& config) {
  return std::make_unique<OAuthBearerServerImpl>(config);
}

std::unique_ptr<OAuthBearerClient> make_oauthbearer_client(std::string token, std::string authzid,
                                                           std::map<std::string, std::string> extensions) {
  return std::make_unique<OAuthBearerClientImpl>(std::move(token), std::move(authzid), std::move(extensions));
}

}  // namespace flotilla::security
