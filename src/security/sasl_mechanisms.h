// The mechanism implementations behind make_sasl_server / make_sasl_client,
// with the seams the tests need: a nonce generator can be injected so that an
// exchange is reproducible byte for byte (RFC 7677's test vector). Production
// code uses the factories in sasl.h, which pass no generator (random nonces
// from OpenSSL's CSPRNG).
//
// Threading: each returned object belongs to one exchange and one thread at a
// time; the factories themselves are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "security/sasl.h"
#include "security/scram.h"

namespace flotilla::security {

using NonceGenerator = std::function<std::string()>;

// 32 characters of [A-Za-z0-9] from the CSPRNG (~190 bits); Kafka's nonces are
// base-36 strings of 130 random bits.
std::string random_scram_nonce();

std::unique_ptr<SaslServer> make_plain_server(const SaslServerConfig& config);
std::unique_ptr<SaslServer> make_scram_server(ScramMechanism mechanism, const SaslServerConfig& config,
                                              NonceGenerator server_nonce = {});

std::unique_ptr<SaslClient> make_plain_client(const std::string& username, const std::string& password);
// `token_auth`: the client-first message carries Kafka's extension
// tokenauth=true (username and password are a delegation token's id and HMAC).
std::unique_ptr<SaslClient> make_scram_client(ScramMechanism mechanism, const std::string& username,
                                              const std::string& password, NonceGenerator client_nonce = {},
                                              bool token_auth = false);

// The credential an unknown user is challenged with, so that the exchange goes
// on to fail at the proof exactly as a wrong password does: salt and keys are
// HMACs of a per-process random secret and the (mechanism, user name), so one
// unknown user always sees the same salt within a process, and deriving it
// costs a few HMACs (no PBKDF2). Iterations: kScramMinIterations.
ScramCredential scram_fake_credential(ScramMechanism mechanism, std::string_view username);

}  // namespace flotilla::security
