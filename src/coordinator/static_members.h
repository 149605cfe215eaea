// Static membership (KIP-345) as both kinds of group keep it — the classic
// coordinator's groups (group_coordinator.h) and KIP-848 consumer groups
// (consumer_group.h): each group.instance.id is held by exactly one member id
// at a time; a member that rejoins under the instance id with a new member id
// takes it over, and the old member id is fenced.
//
// Threading: plain data; whoever owns the group's map.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace flotilla::coordinator {

// group.instance.id -> the member id that holds it.
using StaticMembers = std::map<std::string, std::string>;

// True if `instance_id` is held by another member than `member_id`: the
// request comes from a fenced member (FENCED_INSTANCE_ID). An instance id
// nobody holds fences no one.
inline bool held_by_other(const StaticMembers& members, const std::optional<std::string>& instance_id, const std::string& member_id) {
  if (!instance_id) return false;
  auto it = members.find(*instance_id);
  return it != members.end() && it->second != member_id;
}

// A member leaves: its instance id is free again — unless another member
// holds it by now (a leaving member never releases what it lost).
inline void release_instance_id(StaticMembers& members, const std::optional<std::string>& instance_id, const std::string& member_id) {
  if (!instance_id) return;
  auto it = members.find(*instance_id);
  if (it != members.end() && it->second == member_id) members.erase(it);
}

}  // namespace flotilla::coordinator
