// Log directory ids (KIP-858, Kafka's DirectoryId): every log dir carries a
// random Uuid in its meta.properties; the first 100 Uuids (high 64 bits zero,
// low bits < 100) are reserved and never name a real directory:
//   MIGRATING  (0,0): the replica's dir is not tracked (metadata.version before
//                     3.7-IV2, or a broker that registered no dirs);
//   UNASSIGNED (0,1): the broker has not told the controller the dir yet;
//   LOST       (0,2): the dir is unknown and offline.
// A replica whose dir is MIGRATING or UNASSIGNED counts as online.
// Header-only value helpers; no threading concerns.
#pragma once

#include <algorithm>
#include <vector>

#include "common/uuid.h"

namespace flotilla::directory_id {

inline constexpr Uuid kMigrating{0, 0};
inline constexpr Uuid kUnassigned{0, 1};
inline constexpr Uuid kLost{0, 2};

inline bool reserved(const Uuid& u) { return u.hi == 0 && u.lo < 100; }

// A fresh directory id: random, never reserved.
inline Uuid random() {
  for (;;) {
    Uuid u = Uuid::random();
    if (!reserved(u)) return u;
  }
}

// Kafka's DirectoryId.isOnline: MIGRATING/UNASSIGNED replicas are online,
// LOST ones are not; a broker that registered no dirs (upgraded from before
// 3.7-IV2) is assumed to have all online; otherwise the dir must be one of
// the broker's online dirs.
inline bool is_online(const Uuid& dir, const std::vector<Uuid>& online_dirs) {
  if (dir == kUnassigned || dir == kMigrating) return true;
  if (dir == kLost) return false;
  if (online_dirs.empty()) return true;
  return std::find(online_dirs.begin(), online_dirs.end(), dir) != online_dirs.end();
}

}  // namespace flotilla::directory_id
