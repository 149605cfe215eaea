// The KIP-848 server-side assignors (consumer_group.h): "uniform" (sticky and
// balanced) and "range" (sticky range), each computing every member's new
// target from the members' subscriptions and their previous targets.
//
// Invariants: deterministic (the same input gives the same target, members
// and partitions in their maps' order); every partition of a subscribed topic
// goes to exactly one subscriber of it; a member keeps what it still
// subscribes to as far as balance allows (stickiness: fewer revocations).
//
// Threading: pure functions.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "coordinator/consumer_group_state.h"

namespace flotilla::coordinator {

namespace {

void drop_empty(CgAssignment& a) { std::erase_if(a, [](const auto& kv) { return kv.second.empty(); }); }

}  // namespace

// Sticky and balanced: every member keeps the partitions of its previous
// target that it still subscribes to, the others go to the least loaded
// subscriber, then partitions move from the most to the least loaded members
// (that subscribe to their topic) until no member has two more than another
// that could take one.
std::map<std::string, CgAssignment> cg_assign_uniform(const CgAssignorInput& members, const CgTopics& topics) {
  std::map<std::string, CgAssignment> out;
  std::map<std::string, size_t> load;
  for (const auto& [id, m] : members) {
    out[id];
    load[id] = 0;
  }
  std::set<std::pair<Uuid, int32_t>> taken;
  for (const auto& [id, m] : members) {
    for (const auto& [tid, ps] : m.previous) {
      auto nit = topics.names.find(tid);
      if (nit == topics.names.end() || !m.topics.count(nit->second)) continue;
      const CgTopic& t = topics.by_name.at(nit->second);
      for (int32_t p : ps) {
        if (p < 0 || p >= t.partitions || taken.count({tid, p})) continue;
        taken.insert({tid, p});
        add(out[id], tid, p);
        ++load[id];
      }
    }
  }
  // Subscribers per topic.
  std::map<std::string, std::vector<std::string>> subscribers;
  for (const auto& [id, m] : members)
    for (const auto& t : m.topics)
      if (topics.by_name.count(t)) subscribers[t].push_back(id);
  for (const auto& [name, subs] : subscribers) {
    const CgTopic& t = topics.by_name.at(name);
    for (int32_t p = 0; p < t.partitions; ++p) {
      if (taken.count({t.id, p})) continue;
      const std::string* best = nullptr;
      for (const auto& s : subs)
        if (!best || load[s] < load[*best]) best = &s;
      add(out[*best], t.id, p);
      ++load[*best];
      taken.insert({t.id, p});
    }
  }
  // Balance.
  for (;;) {
    std::vector<std::string> order;
    for (const auto& [id, n] : load) order.push_back(id);
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return load[a] > load[b]; });
    bool moved = false;
    for (const auto& a : order) {
      for (auto bit = order.rbegin(); bit != order.rend() && !moved; ++bit) {
        const std::string& b = *bit;
        if (load[b] + 1 >= load[a]) break;
        // The last partition of `a` (by topic id, partition) that `b` subscribes to.
        const auto& btopics = members.at(b).topics;
        CgAssignment& aa = out[a];
        for (auto tit = aa.rbegin(); tit != aa.rend() && !moved; ++tit) {
          if (tit->second.empty() || !btopics.count(topics.names.at(tit->first))) continue;
          int32_t p = *tit->second.rbegin();
          Uuid tid = tit->first;
          aa[tid].erase(p);
          add(out[b], tid, p);
          --load[a];
          ++load[b];
          moved = true;
        }
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  for (auto& [id, a] : out) drop_empty(a);
  return out;
}

// Sticky range: per topic, its subscribers (by member id) each get
// partitions/subscribers partitions, the first (partitions % subscribers) of
// them one more. A member keeps the partitions of its previous target within
// its share (the lowest first); the partitions left over go, in ascending
// order, to the members short of their share, in member order. Without a
// previous target this is the classic range assignment (contiguous ranges,
// co-partitioned across topics with the same subscribers).
std::map<std::string, CgAssignment> cg_assign_range(const CgAssignorInput& members, const CgTopics& topics) {
  std::map<std::string, CgAssignment> out;
  std::map<std::string, std::vector<std::string>> subscribers;
  for (const auto& [id, m] : members) {
    out[id];
    for (const auto& t : m.topics)
      if (topics.by_name.count(t)) subscribers[t].push_back(id);
  }
  for (const auto& [name, subs] : subscribers) {
    const CgTopic& t = topics.by_name.at(name);
    const int32_t k = static_cast<int32_t>(subs.size());
    const int32_t quota = t.partitions / k;
    int32_t extra = t.partitions % k;
    std::vector<int32_t> share(k, quota);
    std::vector<bool> got_extra(k, false);
    std::set<int32_t> taken;
    for (int32_t i = 0; i < k; ++i) {
      std::vector<int32_t> prev;
      const CgAssignment& pa = members.at(subs[i]).previous;
      if (auto it = pa.find(t.id); it != pa.end())
        for (int32_t p : it->second)
          if (p >= 0 && p < t.partitions && !taken.count(p)) prev.push_back(p);
      size_t keep = std::min<size_t>(prev.size(), static_cast<size_t>(quota));
      if (prev.size() > keep && extra > 0) {
        ++keep;
        --extra;
        got_extra[i] = true;
        ++share[i];
      }
      for (size_t j = 0; j < keep; ++j) {
        add(out[subs[i]], t.id, prev[j]);
        taken.insert(prev[j]);
      }
    }
    for (int32_t i = 0; i < k && extra > 0; ++i)
      if (!got_extra[i]) ++share[i], --extra;
    int32_t next = 0;
    for (int32_t i = 0; i < k; ++i) {
      auto it = out[subs[i]].find(t.id);
      int32_t have = it == out[subs[i]].end() ? 0 : static_cast<int32_t>(it->second.size());
      for (; have < share[i]; ++have) {
        while (taken.count(next)) ++next;
        add(out[subs[i]], t.id, next);
        taken.insert(next);
      }
    }
  }
  return out;
}

}  // namespace flotilla::coordinator
