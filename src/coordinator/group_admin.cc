// The classic group coordinator's admin APIs (group_coordinator.h):
// DescribeGroups, ListGroups and DeleteGroups.
//
// Invariants: a deleted group is Dead at once (Kafka's), and forgotten with
// its offsets once the tombstones of its metadata and offsets are committed;
// a failed write makes it Empty again. Only Empty groups are deleted.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <cctype>
#include <set>

#include "coordinator/classic_group.h"
#include "coordinator/group_coordinator.h"

namespace flotilla::coordinator {

DescribedGroup GroupCoordinator::describe_group(const std::string& group_id) {
  DescribedGroup d;
  d.group_id = group_id;
  if (ErrorCode e = check_coordinator(group_id); e != ErrorCode::NONE) {
    d.error = e;
    return d;
  }
  Group* g = find_group(group_id);
  if (!g) {
    d.state = "Dead";
    return d;
  }
  d.state = group_state_name(g->state);
  d.protocol_type = g->protocol_type;
  const bool stable = g->state == GroupState::Stable;
  if (stable && g->protocol) d.protocol = *g->protocol;
  for (const auto& [id, m] : g->members) {
    DescribedMember dm{id, m.instance_id, m.client_id, m.client_host, {}, {}};
    if (stable && g->protocol) {
      if (const auto* md = m.metadata(*g->protocol)) dm.metadata = *md;
      dm.assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

ErrorCode GroupCoordinator::list_groups(const std::vector<std::string>& states_filter, std::vector<ListedGroup>& out) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::set<std::string> filter;
  for (const auto& s : states_filter) filter.insert(lower(s));
  bool loading = false;
  for (const auto& [p, st] : partitions_)
    if (!st.loaded) loading = true;
  for (const auto& [id, g] : groups_) {
    auto pit = partitions_.find(g->partition);
    if (pit == partitions_.end() || !pit->second.loaded || g->state == GroupState::Dead) continue;
    std::string state = group_state_name(g->state);
    if (!filter.empty() && !filter.count(lower(state))) continue;
    out.push_back(ListedGroup{id, g->protocol_type, state});
  }
  return loading ? ErrorCode::COORDINATOR_LOAD_IN_PROGRESS : ErrorCode::NONE;
}

void GroupCoordinator::delete_groups(std::vector<std::string> group_ids,
                                     std::function<void(std::vector<std::pair<std::string, ErrorCode>>)> done) {
  auto results = std::make_shared<std::vector<std::pair<std::string, ErrorCode>>>();
  auto waiting = std::make_shared<int>(1);
  auto finish = [results, waiting, done]() {
    if (--*waiting == 0) done(std::move(*results));
  };
  for (const auto& id : group_ids) {
    size_t idx = results->size();
    results->emplace_back(id, ErrorCode::NONE);
    ErrorCode e = id.empty() ? ErrorCode::INVALID_GROUP_ID : check_coordinator(id);
    Group* g = e == ErrorCode::NONE ? find_group(id) : nullptr;
    if (e == ErrorCode::NONE && (!g || g->state == GroupState::Dead)) e = ErrorCode::GROUP_ID_NOT_FOUND;
    if (e == ErrorCode::NONE && g->state != GroupState::Empty) e = ErrorCode::NON_EMPTY_GROUP;
    if (e != ErrorCode::NONE) {
      (*results)[idx].second = e;
      continue;
    }
    std::vector<GroupRecord> recs;
    recs.push_back(GroupRecord{encode_group_key(id), std::nullopt});
    if (auto oit = offsets_.find(id); oit != offsets_.end())
      for (const auto& [k, v] : oit->second) recs.push_back(GroupRecord{encode_offset_key(id, k.first, k.second), std::nullopt});
    const int32_t partition = g->partition;
    const int32_t epoch = partitions_[partition].epoch;
    // Kafka marks the group Dead at once; the tombstones follow.
    g->state = GroupState::Dead;
    ++*waiting;
    auto alive = alive_;
    store_.append(partition, epoch, std::move(recs), [this, alive, id, idx, results, finish](ErrorCode err) {
      if (!*alive) return;
      ErrorCode mapped = map_group_store_error(err);
      (*results)[idx].second = mapped;
      Group* gg = find_group(id);
      if (mapped == ErrorCode::NONE) {
        if (gg && gg->state == GroupState::Dead) groups_.erase(id);
        offsets_.erase(id);
      } else if (gg && gg->state == GroupState::Dead) {
        gg->state = GroupState::Empty;
      }
      finish();
    });
  }
  finish();
}

}  // namespace flotilla::coordinator
