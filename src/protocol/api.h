// The Kafka API table (from the schemas) and the header-version rules.
#pragma once

#include <cstdint>
#include <span>

namespace flotilla::protocol {

struct ApiInfo {
  int16_t key;
  const char* name;  // "Produce"
  int16_t min_version;
  int16_t max_version;
  int16_t flexible_min;  // first flexible version; INT16_MAX if none
  bool broker;           // served on broker listeners (schema "listeners")
  bool controller;       // served on controller listeners
  bool unstable;         // latest version still under development
};

const ApiInfo* api_info(int16_t key);  // nullptr if unknown
std::span<const ApiInfo> all_apis();

// Request header: v2 for flexible versions, v1 otherwise; v0 only for
// ControlledShutdown v0. Response header: v1 for flexible versions, v0
// otherwise — except ApiVersions, always v0 (KIP-511).
int16_t request_header_version(int16_t key, int16_t version);
int16_t response_header_version(int16_t key, int16_t version);

}  // namespace flotilla::protocol
