// The KIP-848 consumer group coordinator's in-memory state of a group and
// its members (ConsumerGroupCoordinator's private Group and Member) and the
// assignment helpers its files share; for those files only:
//   consumer_group.cc          the heartbeat state machine, timeouts, admin;
//   consumer_group_assign.cc   the server-side assignors (uniform, range);
//   consumer_group_records.cc  persistence: the records of a group that
//                              changed, and rebuilding groups from a load.
//
// Invariants: a member's assigned and pending_revocation partitions are what
// it owns as far as the coordinator knows; a partition is given to a member
// only once no other member owns it (assigned or pending revocation); the
// target assignment is at assignment_epoch <= epoch (equal once computed).
//
// Threading: the broker's io_context thread, as the coordinator.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/consumer_group.h"
#include "coordinator/static_members.h"

namespace flotilla::coordinator {

inline bool contains(const CgAssignment& a, const Uuid& t, int32_t p) {
  auto it = a.find(t);
  return it != a.end() && it->second.count(p);
}

inline void add(CgAssignment& a, const Uuid& t, int32_t p) { a[t].insert(p); }

struct ConsumerGroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id, client_host;
  int32_t epoch = 0;
  int32_t previous_epoch = -1;
  CgMemberState state = CgMemberState::Stable;
  int32_t rebalance_timeout_ms = 0;
  std::vector<std::string> names;  // sorted, unique
  std::optional<std::string> regex;
  std::optional<std::string> assignor;
  std::set<std::string> resolved;  // the topics the regex matches
  CgAssignment assigned;            // owned, and kept
  CgAssignment pending_revocation;  // owned, to give up
  int64_t session_deadline = 0;
  int64_t revocation_deadline = -1;

  std::set<std::string> subscription() const {
    std::set<std::string> s(names.begin(), names.end());
    s.insert(resolved.begin(), resolved.end());
    return s;
  }
};

struct ConsumerGroupCoordinator::Group {
  std::string id;
  int32_t partition = 0;
  int32_t epoch = 0;
  int32_t assignment_epoch = 0;
  std::map<std::string, Member> members;
  StaticMembers static_members;  // instance id -> member id
  std::map<std::string, CgAssignment> target;
  std::map<std::string, std::pair<Uuid, int32_t>> subscribed_metadata;  // subscribed topics that exist
  int64_t topics_version = -1;
  // Loaded from records: the first refresh resolves the regexes again without
  // counting that as a change (their resolution is not persisted).
  bool regexes_unresolved = false;
  // What was last written to __consumer_offsets: record key -> value.
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> persisted;

  void bump() { ++epoch; }
};

}  // namespace flotilla::coordinator
