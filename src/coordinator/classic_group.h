// The classic group coordinator's in-memory state of a group and its members
// (GroupCoordinator's private Group and Member) and the helpers its files
// share; for those files only. The coordinator is one class in four files,
// along the seams of its work:
//   group_coordinator.cc  membership: JoinGroup, SyncGroup, Heartbeat,
//                         LeaveGroup, the state machine and its timeouts;
//   group_persistence.cc  __consumer_offsets: leadership of its partitions,
//                         loading and unloading them, the group records;
//   group_offsets.cc      committed offsets (OffsetCommit, TxnOffsetCommit,
//                         OffsetFetch, OffsetDelete) and their expiry;
//   group_admin.cc        DescribeGroups, ListGroups, DeleteGroups.
//
// Invariants: groups and offsets are held only for the partitions this node
// leads (unload_partition drops a partition's when its leadership goes); a
// member waits on at most one JoinGroup and one SyncGroup answer
// (awaiting_join / awaiting_sync): a newer request, or whatever ends the wait
// (the rebalance completing, a leave, fencing, unloading), answers it.
//
// Threading: the broker's io_context thread, as the coordinator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/group_coordinator.h"
#include "coordinator/static_members.h"

namespace flotilla::coordinator {

using Protocols = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

struct GroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id, client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  Protocols protocols;
  std::vector<uint8_t> assignment;
  std::function<void(JoinResult)> awaiting_join;
  std::function<void(SyncResult)> awaiting_sync;
  int64_t heartbeat_deadline = 0;
  bool is_new = false;

  const std::vector<uint8_t>* metadata(const std::string& protocol) const {
    for (const auto& [n, m] : protocols)
      if (n == protocol) return &m;
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  int32_t partition = 0;
  GroupState state = GroupState::Empty;
  int32_t generation = 0;
  std::string protocol_type;  // empty: none
  std::optional<std::string> protocol;
  std::string leader;  // empty: none
  std::map<std::string, Member> members;
  std::map<std::string, int64_t> pending;               // member id → deadline (KIP-394)
  StaticMembers static_members;                         // group.instance.id → member id
  int64_t join_deadline = -1;
  bool initial_delay = false;
  int64_t initial_remaining = 0;
  bool new_member_added = false;
  int64_t sync_deadline = -1;
  int64_t state_timestamp = -1;  // wall_ms() when the group entered its state (Kafka's currentStateTimestamp); -1: unknown

  int32_t rebalance_timeout() const {
    int32_t t = 0;
    for (const auto& [id, m] : members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
  }
  bool all_joined() const {
    for (const auto& [id, m] : members)
      if (!m.awaiting_join) return false;
    return pending.empty();
  }
};

// Kafka's GroupMetadataManager mapping of append errors for group writes.
inline ErrorCode map_group_store_error(ErrorCode e) {
  if (e == ErrorCode::INVALID_FETCH_SIZE) return ErrorCode::UNKNOWN_SERVER_ERROR;
  return coordinator_append_error(e);
}

// ... and for offset commits.
inline ErrorCode map_offset_store_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
    case ErrorCode::INVALID_FETCH_SIZE: return ErrorCode::INVALID_COMMIT_OFFSET_SIZE;
    default: return map_group_store_error(e);
  }
}

inline JoinResult join_error(ErrorCode e, std::string member_id = "") {
  JoinResult r;
  r.error = e;
  r.member_id = std::move(member_id);
  return r;
}

inline SyncResult sync_error(ErrorCode e) {
  SyncResult r;
  r.error = e;
  return r;
}

}  // namespace flotilla::coordinator
