#include "client/consumer_protocol.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "common/bytes.h"

namespace flotilla::client {

namespace {

// The topic-partition list of a subscription (owned) or an assignment.
template <class TopicPartitions>
std::vector<TopicPartitions> topic_partitions(const Assignment& a) {
  std::vector<TopicPartitions> out;
  for (const auto& [t, ps] : a) {
    TopicPartitions tp;
    tp.topic = t;
    tp.partitions = ps;
    out.push_back(tp);
  }
  return out;
}

template <class M>
std::vector<uint8_t> encode_versioned(const M& m, int16_t version) {
  ByteWriter w;
  w.put_i16(version);
  m.encode(w, version);
  return std::move(w).take();
}

// At least two bytes: the version prefix, then the struct at min(version, newest known).
template <class M>
M decode_versioned(std::span<const uint8_t> bytes, const char* name) {
  ByteReader r(bytes);
  int16_t v = r.get_i16();
  if (v < 0) throw std::runtime_error(std::string("Invalid ") + name + " version " + std::to_string(v));
  M m;
  m.decode(r, std::min<int16_t>(v, M::kMaxVersion));
  return m;
}

}  // namespace

std::vector<uint8_t> encode_subscription(const std::vector<std::string>& topics, const Assignment& owned, int16_t version) {
  msg::ConsumerProtocolSubscription s;
  s.topics = topics;
  s.owned_partitions = topic_partitions<msg::ConsumerProtocolSubscription::TopicPartition>(owned);
  s.user_data = std::nullopt;
  return encode_versioned(s, version);
}

msg::ConsumerProtocolSubscription decode_subscription(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) return msg::ConsumerProtocolSubscription{};
  return decode_versioned<msg::ConsumerProtocolSubscription>(bytes, "ConsumerProtocolSubscription");
}

std::vector<uint8_t> encode_assignment(const Assignment& a, int16_t version) {
  msg::ConsumerProtocolAssignment m;
  m.assigned_partitions = topic_partitions<msg::ConsumerProtocolAssignment::TopicPartition>(a);
  m.user_data = std::nullopt;
  return encode_versioned(m, version);
}

Assignment decode_assignment(std::span<const uint8_t> bytes) {
  Assignment out;
  if (bytes.empty()) return out;
  if (bytes.size() < 2) throw std::runtime_error("Invalid ConsumerProtocolAssignment: too short");
  auto m = decode_versioned<msg::ConsumerProtocolAssignment>(bytes, "ConsumerProtocolAssignment");
  for (const auto& tp : m.assigned_partitions) {
    auto& ps = out[tp.topic];
    ps.insert(ps.end(), tp.partitions.begin(), tp.partitions.end());
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  }
  return out;
}

std::map<std::string, Assignment> range_assign(const std::map<std::string, std::vector<std::string>>& subscriptions,
                                               const std::map<std::string, int32_t>& partitions) {
  std::map<std::string, Assignment> out;
  std::map<std::string, std::vector<std::string>> members_of;  // topic -> members (sorted: map order)
  for (const auto& [member, topics] : subscriptions) {
    out[member];
    std::set<std::string> uniq(topics.begin(), topics.end());
    for (const auto& t : uniq) members_of[t].push_back(member);
  }
  for (auto& [topic, members] : members_of) {
    auto it = partitions.find(topic);
    if (it == partitions.end() || it->second <= 0) continue;
    std::sort(members.begin(), members.end());
    int32_t n = it->second;
    int32_t m = static_cast<int32_t>(members.size());
    int32_t per = n / m, extra = n % m;
    for (int32_t i = 0; i < m; ++i) {
      int32_t start = per * i + std::min(i, extra);
      int32_t len = per + (i < extra ? 1 : 0);
      if (len == 0) continue;
      auto& ps = out[members[static_cast<size_t>(i)]][topic];
      for (int32_t p = start; p < start + len; ++p) ps.push_back(p);
    }
  }
  return out;
}

}  // namespace flotilla::client
