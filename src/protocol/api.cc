#include "protocol/api.h"

namespace flotilla::protocol {

extern const ApiInfo kApiTable[];
extern const size_t kApiTableSize;

const ApiInfo* api_info(int16_t key) {
  for (size_t i = 0; i < kApiTableSize; ++i)
    if (kApiTable[i].key == key) return &kApiTable[i];
  return nullptr;
}

std::span<const ApiInfo> all_apis() { return {kApiTable, kApiTableSize}; }

int16_t request_header_version(int16_t key, int16_t version) {
  if (key == 7 && version == 0) return 0;  // ControlledShutdown v0 has no client id
  const ApiInfo* a = api_info(key);
  return a && version >= a->flexible_min ? 2 : 1;
}

int16_t response_header_version(int16_t key, int16_t version) {
  if (key == 18) return 0;
  const ApiInfo* a = api_info(key);
  return a && version >= a->flexible_min ? 1 : 0;
}

}  // namespace flotilla::protocol
