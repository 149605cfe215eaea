// Standard base64 (RFC 4648 section 4, with '=' padding), as SCRAM messages
// carry salts, proofs and signatures and as Kafka's tools print SCRAM salts.
//
// Decoding is strict: the length must be a multiple of four, padding only at
// the end, no whitespace, and the unused bits of the last character zero
// (every byte string has exactly one accepted encoding). Anything else is
// nullopt, never an exception. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace flotilla::security {

std::string base64_encode(std::span<const uint8_t> data);
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);

}  // namespace flotilla::security
