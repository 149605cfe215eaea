// `flotilla consumer-groups --describe`: the offsets and lag of each
// partition (the default), --members or --state of each group, in Kafka's
// column layout and with its messages for empty, rebalancing and missing
// groups. See tools/consumer_groups.h for how the command is split.
#include <algorithm>
#include <set>

#include "tools/consumer_groups.h"
#include "tools/kafka_output.h"

namespace flotilla::tools::consumer_groups {

using client::BrokerInfo;
using client::decode_assignment;
using client::error_text;

bool Service::should_print_member_state(const std::string& g, const std::string& state, std::optional<size_t> rows) {
  if (!rows) {
    print_error("The consumer group '" + g + "' does not exist.");
    return false;
  }
  if (state == "Dead") {
    print_error("Consumer group '" + g + "' does not exist.");
    return false;
  }
  if (state == "Empty") {
    err_ << "\nConsumer group '" << g << "' has no active members.\n";
  } else if (state == "PreparingRebalance" || state == "CompletingRebalance" || state == "Assigning" || state == "Reconciling") {
    err_ << "\nWarning: Consumer group '" << g << "' is rebalancing.\n";
  } else if (state != "Stable") {
    throw std::runtime_error("Expected a valid consumer group state, but found '" + state + "'.");
  }
  return *rows > 0;
}

// The described group, or nullopt (with Kafka's message) when it does not exist.
std::optional<msg::DescribeGroupsResponse::DescribedGroup> describe_or_report(GroupClient& gc, std::string& state) {
  auto d = gc.describe();
  if (d.error_code == code(ErrorCode::GROUP_ID_NOT_FOUND)) {
    state = "Dead";
    return d;
  }
  if (d.error_code != 0) throw KafkaError(static_cast<ErrorCode>(d.error_code), error_text(d.error_code));
  state = d.group_state;
  return d;
}

void Service::do_describe() {
  std::vector<std::string> groups = selected_groups();
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  int sub = (o_.members ? 1 : 0) + (o_.offsets ? 1 : 0) + (o_.state ? 1 : 0);
  for (const auto& g : groups) {
    if (sub == 0 || o_.offsets) describe_offsets(g);
    else if (o_.members) describe_members(g);
    else describe_state(g);
  }
}

struct OffsetRow {
  std::string group, topic, partition, offset, leo, lag, consumer, host, client;
};

void Service::describe_offsets(const std::string& g) {
  GroupClient gc = group(g);
  std::string state;
  auto d = describe_or_report(gc, state);
  if (state == "Dead") {
    should_print_member_state(g, state, 0);
    return;
  }
  std::map<TopicPartition, int64_t> committed = gc.fetch_offsets();
  struct Member {
    const msg::DescribeGroupsResponse::DescribedGroupMember* m;
    std::vector<TopicPartition> tps;
  };
  std::vector<Member> members;
  for (const auto& m : d->members) {
    Member mm{&m, {}};
    if (d->protocol_type == "consumer" || d->protocol_type.empty()) {
      try {
        for (const auto& [t, ps] : decode_assignment(m.member_assignment))
          for (int32_t p : ps) mm.tps.emplace_back(t, p);
      } catch (const std::exception&) {
      }
    }
    if (!mm.tps.empty()) members.push_back(std::move(mm));
  }
  std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.tps.size() > b.tps.size(); });
  std::set<TopicPartition> assigned;
  std::vector<TopicPartition> all;
  for (const auto& m : members)
    for (const auto& tp : m.tps) {
      assigned.insert(tp);
      all.push_back(tp);
    }
  std::vector<TopicPartition> unassigned;
  for (const auto& [tp, _] : committed)
    if (!assigned.count(tp)) {
      unassigned.push_back(tp);
      all.push_back(tp);
    }
  std::map<TopicPartition, int64_t> leo = log_offsets(all, -1, false);
  auto make_rows = [&](std::vector<TopicPartition> tps, const std::string& consumer, const std::string& host, const std::string& cid,
                       std::vector<OffsetRow>& rows) {
    std::sort(tps.begin(), tps.end());
    for (const auto& tp : tps) {
      OffsetRow r;
      r.group = g;
      r.topic = tp.first;
      r.partition = std::to_string(tp.second);
      auto c = committed.find(tp);
      auto e = leo.find(tp);
      r.offset = c != committed.end() ? std::to_string(c->second) : kMissing;
      r.leo = e != leo.end() ? std::to_string(e->second) : kMissing;
      r.lag = (c != committed.end() && e != leo.end()) ? std::to_string(e->second - c->second) : kMissing;
      r.consumer = consumer;
      r.host = host;
      r.client = cid;
      rows.push_back(r);
    }
  };
  std::vector<OffsetRow> rows;
  for (const auto& m : members) make_rows(m.tps, m.m->member_id, m.m->client_host, m.m->client_id, rows);
  make_rows(unassigned, kMissing, kMissing, kMissing, rows);
  if (!should_print_member_state(g, state, rows.size())) return;
  size_t wg = 15, wt = 15, wc = 15, wh = 15;
  for (const auto& r : rows) {
    wg = std::max(wg, r.group.size());
    wt = std::max(wt, r.topic.size());
    wc = std::max(wc, r.consumer.size());
    wh = std::max(wh, r.host.size());
  }
  auto line = [&](const OffsetRow& r) {
    out_ << "\n"
         << kafka_columns({{r.group, wg}, {r.topic, wt}, {r.partition, 10}, {r.offset, 15}, {r.leo, 15}, {r.lag, 15}, {r.consumer, wc},
                           {r.host, wh}, {r.client, 0}});
  };
  line(OffsetRow{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"});
  for (const auto& r : rows) line(r);
  out_ << "\n";
}

void Service::describe_members(const std::string& g) {
  GroupClient gc = group(g);
  std::string state;
  auto d = describe_or_report(gc, state);
  size_t wg = 15, wc = 15, wi = 17, wh = 15, wcl = 15;
  bool with_instance = false;
  bool show = should_print_member_state(g, state, state == "Dead" ? 0 : d->members.size());
  if (show) {
    for (const auto& m : d->members) {
      wg = std::max(wg, g.size());
      wc = std::max(wc, m.member_id.size());
      wi = std::max(wi, m.group_instance_id.value_or("").size());
      wh = std::max(wh, m.client_host.size());
      wcl = std::max(wcl, m.client_id.size());
      with_instance = with_instance || !m.group_instance_id.value_or("").empty();
    }
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& inst, const std::string& c, const std::string& e,
                  const std::string& f) {
    if (with_instance) out_ << kafka_columns({{a, wg}, {b, wc}, {inst, wi}, {c, wh}, {e, wcl}, {f, 15}}) << " ";
    else out_ << kafka_columns({{a, wg}, {b, wc}, {c, wh}, {e, wcl}, {f, 15}}) << " ";
  };
  out_ << "\n";
  line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
  out_ << "\n";
  if (state == "Dead") return;
  for (const auto& m : d->members) {
    size_t n = 0;
    try {
      for (const auto& [_, ps] : decode_assignment(m.member_assignment)) n += ps.size();
    } catch (const std::exception&) {
    }
    line(g, m.member_id, m.group_instance_id.value_or(""), m.client_host, m.client_id, std::to_string(n));
    out_ << "\n";
  }
}

void Service::describe_state(const std::string& g) {
  GroupClient gc = group(g);
  std::string state;
  auto d = describe_or_report(gc, state);
  if (!should_print_member_state(g, state, 1)) return;
  const BrokerInfo& co = gc.coordinator_info();
  std::string coordinator = co.host + ":" + std::to_string(co.port) + "  (" + std::to_string(co.id) + ")";
  size_t wc = std::max<size_t>(25, coordinator.size());
  size_t wg = std::max<size_t>(15, g.size());
  std::string strategy = d->protocol_data.empty() ? kMissing : d->protocol_data;
  out_ << "\n" << kafka_columns({{"GROUP", wg}, {"COORDINATOR (ID)", wc}, {"ASSIGNMENT-STRATEGY", 20}, {"STATE", 20}, {"#MEMBERS", 0}});
  out_ << "\n"
       << kafka_columns({{g, wg}, {coordinator, wc}, {strategy, 20}, {state, 20}, {std::to_string(d->members.size()), 0}});
  out_ << "\n";
}

}  // namespace flotilla::tools::consumer_groups
