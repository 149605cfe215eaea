#include "security/quota_entity.h"

#include <algorithm>
#include <bit>
#include <numeric>

namespace flotilla::security {

bool is_client_or_user_quota_key(const std::string& key) {
  return key == kProducerByteRate || key == kConsumerByteRate || key == kRequestPercentage || key == kControllerMutationRate;
}

int32_t java_string_hash(const std::string& s) {
  uint32_t h = 0;
  auto unit = [&h](uint32_t u) { h = 31 * h + u; };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
           ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = ((c & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      len = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

namespace {

// HashMap.tableSizeFor: the smallest power of two >= c (1 for c <= 1).
uint32_t table_size_for(size_t c) {
  if (c <= 1) return 1;
  return std::bit_ceil(static_cast<uint32_t>(c));
}

}  // namespace

std::vector<size_t> java_hash_map_order(const std::vector<int32_t>& hashes, int64_t initial_capacity) {
  // Replays HashMap's sizing: the table is allocated at the first put with
  // the capacity tableSizeFor(initial_capacity), and doubled whenever the
  // size exceeds the threshold. Splitting a bucket on resize keeps the
  // relative order of its keys, so the final order is: by bucket index in the
  // final table, then by insertion.
  uint64_t cap = 0;
  uint64_t thr = initial_capacity < 0 ? 0 : table_size_for(static_cast<size_t>(initial_capacity));
  auto resize = [&]() {
    uint64_t old_cap = cap, old_thr = thr, new_thr = 0;
    if (old_cap > 0) {
      cap = old_cap * 2;
      if (old_cap >= 16) new_thr = old_thr * 2;
    } else if (old_thr > 0) {
      cap = old_thr;
    } else {
      cap = 16;
      new_thr = 12;
    }
    if (new_thr == 0) new_thr = static_cast<uint64_t>(static_cast<float>(cap) * 0.75f);
    thr = new_thr;
  };
  size_t size = 0;
  for (size_t i = 0; i < hashes.size(); ++i) {
    if (cap == 0) resize();
    if (++size > thr) resize();
  }
  auto spread = [](int32_t h) {
    auto u = static_cast<uint32_t>(h);
    return u ^ (u >> 16);
  };
  std::vector<size_t> order(hashes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (cap == 0) return order;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return (spread(hashes[a]) & (cap - 1)) < (spread(hashes[b]) & (cap - 1)); });
  return order;
}

int32_t java_entity_hash(const ClientQuotaEntity& e) {
  // AbstractMap.hashCode: the sum of key.hashCode() ^ value.hashCode() (0 for null).
  uint32_t sum = 0;
  for (const auto& [type, name] : e.entries)
    sum += static_cast<uint32_t>(java_string_hash(type)) ^ (name ? static_cast<uint32_t>(java_string_hash(*name)) : 0u);
  // Objects.hash(entries) = 31 * 1 + entries.hashCode().
  return static_cast<int32_t>(31u + sum);
}

std::string quota_entity_to_string(const ClientQuotaEntity& e) {
  std::vector<std::pair<std::string, std::optional<std::string>>> items(e.entries.begin(), e.entries.end());
  std::vector<int32_t> hashes;
  for (const auto& [k, v] : items) hashes.push_back(java_string_hash(k));
  std::string out = "ClientQuotaEntity(entries={";
  bool first = true;
  for (size_t i : java_hash_map_order(hashes, static_cast<int64_t>(items.size()))) {
    out += (first ? "" : ", ") + items[i].first + "=" + items[i].second.value_or("null");
    first = false;
  }
  return out + "})";
}

}  // namespace flotilla::security
