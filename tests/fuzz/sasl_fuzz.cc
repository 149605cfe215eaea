// Fuzz target: what an unauthenticated client can send to the security code —
// the first byte choosing which:
//   0  a whole SASL exchange against a listener's servers (PLAIN, SCRAM-SHA-256,
//      SCRAM-SHA-512 with and without tokenauth, OAUTHBEARER's unsecured
//      validator): the tokens of the input, each behind a 2-byte length. The
//      servers' nonces are fixed here so a mutated client-final message can
//      reach the proof check (the corpus holds a valid exchange for each).
//   1  the SCRAM message parsers one by one (either end's messages, saslname)
//   2  a JAAS configuration text (sasl.jaas.config)
//   3  a bearer token: the JWT parser, the OAUTHBEARER initial response, the
//      unsecured validator
//   4  ssl.principal.mapping.rules and a certificate's subject DN
//   5  a SCRAM client fed a server's messages (the tools authenticate too)
// Invariants beyond "no crash, no sanitizer report": a failed exchange always
// tells the client why, and neither the client's message nor the log line of
// any outcome holds the password unless the input itself carried it.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "security/credential_cache.h"
#include "security/delegation_token.h"
#include "security/jaas.h"
#include "security/jwt.h"
#include "security/oauthbearer.h"
#include "security/principal_mapper.h"
#include "security/sasl.h"
#include "security/sasl_mechanisms.h"
#include "security/scram.h"
#include "security/scram_messages.h"

using namespace flotilla;
using namespace flotilla::security;

namespace {

constexpr std::string_view kUser = "alice";
constexpr std::string_view kPassword = "fuzz-secret-password";
constexpr std::string_view kServerNonce = "fuzzservernonce0123456789";
const std::vector<std::string> kMechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"};

// A listener's SASL configuration: alice's password for PLAIN, her SCRAM
// credentials (fixed salt, Kafka's minimum iterations), a delegation-token
// store that is enabled but empty, OAUTHBEARER's default validator.
const SaslServerConfig& listener() {
  static const SaslServerConfig config = [] {
    SaslServerConfig c;
    c.enabled_mechanisms = kMechanisms;
    c.plain_users[std::string(kUser)] = std::string(kPassword);
    const Bytes salt = {'f', 'u', 'z', 'z', '-', 's', 'a', 'l', 't'};
    CredentialCache::Map creds;
    for (auto m : {ScramMechanism::SCRAM_SHA_256, ScramMechanism::SCRAM_SHA_512})
      creds[{std::string(kUser), m}] = scram_credential(m, kPassword, salt, kScramMinIterations);
    auto cache = std::make_shared<CredentialCache>();
    cache->publish(std::move(creds));
    c.scram = cache;
    c.tokens = std::make_shared<DelegationTokenCredentials>("fuzz-token-key");
    return c;
  }();
  return config;
}

// The next token: a 2-byte big-endian length and that many bytes (fewer at the end).
bool next_token(std::string_view& in, std::string_view& token) {
  if (in.size() < 2) return false;
  size_t n = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  n = std::min(n, in.size());
  token = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

void check_no_secret(std::string_view input, std::string_view said) {
  if (input.find(kPassword) == std::string_view::npos && said.find(kPassword) != std::string_view::npos) std::abort();
}

void exchange(uint8_t which, std::string_view in, std::string_view whole) {
  const std::string& mechanism = kMechanisms[which % kMechanisms.size()];
  std::unique_ptr<SaslServer> server;
  if (mechanism.starts_with("SCRAM")) {
    server = make_scram_server(*parse_scram_mechanism(mechanism), listener(), [] { return std::string(kServerNonce); });
  } else {
    server = make_sasl_server(mechanism, listener());
  }
  if (!server) std::abort();  // every mechanism of the listener has a server
  std::string_view token;
  while (next_token(in, token)) {
    SaslStep step = server->evaluate(bytes_of(token));
    check_no_secret(whole, step.log_detail);
    check_no_secret(whole, step.error_message);
    if (step.failed && step.error_message.empty()) std::abort();
    if (step.complete) {
      if (step.failed) std::abort();
      (void)server->authorized_id();
      (void)server->credential_expiry_ms();
      return;
    }
    if (step.failed) return;
  }
}

void scram_parsers(uint8_t which, std::string_view text) {
  std::string why;
  switch (which % 5) {
    case 0: {
      auto m = scram::parse_client_first(text, why);
      if (m && m->username.empty()) std::abort();  // parse rejects an empty name
      break;
    }
    case 1: (void)scram::parse_client_final(text, why); break;
    case 2: (void)scram::parse_server_first(text, why); break;
    case 3: (void)scram::parse_server_final(text, why); break;
    case 4: {
      // saslname escaping round-trips whatever decodes.
      auto name = scram::decode_saslname(text);
      if (name && scram::decode_saslname(scram::encode_saslname(*name)) != name) std::abort();
      break;
    }
  }
}

void bearer(std::string_view text) {
  std::string error;
  (void)parse_jwt(text, error);
  auto initial = parse_oauthbearer_initial_response(text, error);
  if (initial) (void)format_oauthbearer_initial_response(*initial);
  static const std::shared_ptr<const OAuthBearerConfig> config = [] {
    std::string e;
    return make_oauthbearer_config({}, {}, e);
  }();
  if (!config) std::abort();
  auto v = validate_oauthbearer_token(text, *config);
  if (!v.ok) (void)oauthbearer_error_json(v);
}

void principal_rules(std::string_view text) {
  const size_t nl = text.find('\n');
  const std::string_view rules = text.substr(0, nl);
  const std::string_view dn = nl == std::string_view::npos ? std::string_view("CN=alice,O=fuzz") : text.substr(nl + 1);
  try {
    auto mapper = SslPrincipalMapper::from_rules(rules);
    (void)mapper.to_string();
    try {
      (void)mapper.map(dn);
    } catch (const std::runtime_error&) {  // a $n past the groups, or a DN over kMaxRuleInput
    }
  } catch (const std::invalid_argument&) {  // "Invalid rule: ..."
  }
}

void scram_client(uint8_t which, std::string_view in) {
  const auto m = (which & 1) ? ScramMechanism::SCRAM_SHA_512 : ScramMechanism::SCRAM_SHA_256;
  auto client = make_scram_client(m, std::string(kUser), std::string(kPassword), [] { return std::string("fuzzclientnonce"); });
  (void)client->initial();
  std::string_view token;
  while (next_token(in, token)) {
    // A server may demand any iteration count; what that costs is Kafka's
    // behaviour too, and not a finding: keep the fuzzer's executions quick.
    std::string why;
    if (auto first = scram::parse_server_first(token, why); first && first->iterations > kScramMaxIterations) return;
    auto answer = client->evaluate(bytes_of(token));
    if (answer) check_no_secret(std::string_view(), std::string_view(reinterpret_cast<const char*>(answer->data()), answer->size()));
    if (!answer || client->done()) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  (void)listener();  // the PBKDF2 of the credentials, once
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view whole(reinterpret_cast<const char*>(data), size);
  const std::string_view rest = whole.substr(2);
  switch (data[0] % 6) {
    case 0: exchange(data[1], rest, whole); break;
    case 1: scram_parsers(data[1], rest); break;
    case 2: {
      std::string error;
      auto jaas = parse_jaas_config(rest, error);
      if (jaas) (void)plain_users(*jaas);
      break;
    }
    case 3: bearer(rest); break;
    case 4: principal_rules(rest); break;
    case 5: scram_client(data[1], rest); break;
  }
  return 0;
}
