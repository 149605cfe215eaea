// `flotilla consumer-groups` (Kafka's kafka-consumer-groups.sh): --list,
// --describe (offsets, --members, --state), --reset-offsets, --delete and
// --delete-offsets, with Kafka's option checks, messages and column layout
// ("%-Ns" columns, each table line starting with a newline as
// ConsumerGroupCommand prints them). Exit code 1 when an error was printed.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "server/config.h"
#include "tools/commands.h"
#include "tools/group_client.h"

namespace flotilla::tools {

namespace {

constexpr const char* kMissing = "-";

// Kafka's default message of an error code (Errors.message()).
std::string kafka_message(int16_t c) {
  switch (static_cast<ErrorCode>(c)) {
    case ErrorCode::GROUP_ID_NOT_FOUND: return "The group id does not exist.";
    case ErrorCode::NON_EMPTY_GROUP: return "The group is not empty.";
    case ErrorCode::INVALID_GROUP_ID: return "The configured groupId is invalid.";
    case ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC: return "The consumer group is actively subscribed to the topic.";
    case ErrorCode::GROUP_AUTHORIZATION_FAILED: return "Group authorization failed.";
    case ErrorCode::COORDINATOR_NOT_AVAILABLE: return "The coordinator is not available.";
    case ErrorCode::NOT_COORDINATOR: return "This is not the correct coordinator.";
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS: return "The coordinator is loading and hence can't process requests.";
    default: return error_text(c);
  }
}

// Kafka's exception text (Throwable.toString) for the error codes these commands meet.
std::string java_error(int16_t c) {
  std::string cls;
  switch (static_cast<ErrorCode>(c)) {
    case ErrorCode::GROUP_ID_NOT_FOUND: cls = "GroupIdNotFoundException"; break;
    case ErrorCode::NON_EMPTY_GROUP: cls = "GroupNotEmptyException"; break;
    case ErrorCode::INVALID_GROUP_ID: cls = "InvalidGroupIdException"; break;
    case ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC: cls = "GroupSubscribedToTopicException"; break;
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: cls = "UnknownTopicOrPartitionException"; break;
    case ErrorCode::COORDINATOR_NOT_AVAILABLE: cls = "CoordinatorNotAvailableException"; break;
    case ErrorCode::NOT_COORDINATOR: cls = "NotCoordinatorException"; break;
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS: cls = "CoordinatorLoadInProgressException"; break;
    case ErrorCode::GROUP_AUTHORIZATION_FAILED: cls = "GroupAuthorizationException"; break;
    case ErrorCode::TOPIC_AUTHORIZATION_FAILED: cls = "TopicAuthorizationException"; break;
    default: cls = "KafkaException"; break;
  }
  return "org.apache.kafka.common.errors." + cls + ": " + kafka_message(c);
}

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Utils.getDateTime: yyyy-MM-dd'T'HH:mm:ss.SSS with an optional zone (Z, +hh:mm, +hhmm);
// without a zone the local time zone.
int64_t parse_datetime(const std::string& s_in) {
  std::string s = s_in;
  std::optional<int> offset_minutes;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    offset_minutes = 0;
    s.pop_back();
  } else {
    auto t = s.find('T');
    auto pos = s.find_last_of("+-");
    if (t != std::string::npos && pos != std::string::npos && pos > t) {
      std::string z = s.substr(pos + 1);
      z.erase(std::remove(z.begin(), z.end(), ':'), z.end());
      if (z.size() == 4 && std::all_of(z.begin(), z.end(), ::isdigit)) {
        int m = std::stoi(z.substr(0, 2)) * 60 + std::stoi(z.substr(2));
        offset_minutes = s[pos] == '-' ? -m : m;
        s = s.substr(0, pos);
      }
    }
  }
  int Y, M, D, h, mi, sec, ms = 0;
  char tail[8] = {0};
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%1s", &Y, &M, &D, &h, &mi, &sec, &ms, tail);
  if (n < 6 || n == 8) {
    throw std::runtime_error("Error parsing timestamp. It does not contain a 'T' according to ISO8601 format; or the format is not yyyy-MM-dd'T'HH:mm:ss.SSS: " + s_in);
  }
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t secs;
  if (offset_minutes) {
    secs = static_cast<int64_t>(timegm(&tm)) - static_cast<int64_t>(*offset_minutes) * 60;
  } else {
    tm.tm_isdst = -1;
    secs = static_cast<int64_t>(std::mktime(&tm));
  }
  return secs * 1000 + ms;
}

// java.time.Duration.parse for the common PnDTnHnMn.nS forms; milliseconds.
int64_t parse_duration(const std::string& s_in) {
  std::string s = s_in;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s = s.substr(1);
  }
  if (s.size() < 3 || (s[0] != 'P' && s[0] != 'p')) throw std::runtime_error("Text cannot be parsed to a Duration");
  double total = 0;
  bool in_time = false;
  size_t i = 1;
  while (i < s.size()) {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    if (c == 'T') {
      in_time = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.' || s[j] == '-')) ++j;
    if (j == i || j >= s.size()) throw std::runtime_error("Text cannot be parsed to a Duration");
    double v = std::stod(s.substr(i, j - i));
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(s[j])));
    if (u == 'D' && !in_time) total += v * 86400000.0;
    else if (u == 'H' && in_time) total += v * 3600000.0;
    else if (u == 'M' && in_time) total += v * 60000.0;
    else if (u == 'S' && in_time) total += v * 1000.0;
    else throw std::runtime_error("Text cannot be parsed to a Duration");
    i = j + 1;
  }
  return static_cast<int64_t>(neg ? -total : total);
}

class Service {
 public:
  Service(const ConsumerGroupsOptions& o, std::ostream& out, std::ostream& err) : o_(o), out_(out), err_(err) {}

  int run();

 private:
  void print_error(const std::string& m) {
    out_ << "\nError: " << m << "\n";
    failed_ = true;
  }
  KafkaClient& client() {
    if (!client_) {
      ClientOptions co;
      co.client_id = "consumer-groups";
      co.request_timeout_ms = static_cast<int>(std::max<int64_t>(o_.timeout_ms, 1000));
      client_ = std::make_unique<KafkaClient>(bootstrap_, co);
    }
    return *client_;
  }
  GroupClient group(const std::string& g) { return GroupClient(client(), g, static_cast<int>(std::max<int64_t>(o_.timeout_ms, 1000))); }

  std::vector<msg::ListGroupsResponse::ListedGroup> list_groups();
  void do_list();
  void do_describe();
  void describe_offsets(const std::string& g);
  void describe_members(const std::string& g);
  void describe_state(const std::string& g);
  bool should_print_member_state(const std::string& g, const std::string& state, std::optional<size_t> rows);
  std::vector<std::string> selected_groups() {
    if (o_.all_groups) {
      std::vector<std::string> v;
      for (const auto& g : list_groups()) v.push_back(g.group_id);
      return v;
    }
    return o_.groups;
  }
  void do_reset();
  std::map<TopicPartition, int64_t> reset_inactive_group(GroupClient& gc);
  std::vector<TopicPartition> parse_topic_partitions(const std::vector<std::string>& args, bool must_exist);
  std::map<TopicPartition, int64_t> log_offsets(const std::vector<TopicPartition>& tps, int64_t ts, bool strict);
  void do_delete();
  void do_delete_offsets();

  const ConsumerGroupsOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  std::string bootstrap_;
  std::unique_ptr<KafkaClient> client_;
  bool failed_ = false;
};

std::vector<msg::ListGroupsResponse::ListedGroup> Service::list_groups() {
  // Admin.listGroups asks every broker (each coordinates some groups).
  ClusterInfo ci = client().metadata(std::vector<std::string>{});
  std::vector<msg::ListGroupsResponse::ListedGroup> out;
  std::set<std::string> seen;
  std::vector<int32_t> ids;
  for (const auto& [id, _] : ci.brokers) ids.push_back(id);
  if (ids.empty()) ids.push_back(-1);
  for (int32_t id : ids) {
    Connection& c = id < 0 ? client().any() : client().broker(id);
    int16_t v = group_api_version(c, msg::ListGroupsRequest::kApiKey);
    msg::ListGroupsRequest req;
    auto resp = c.call(req, v).first;
    if (resp.error_code != 0) throw KafkaError(static_cast<ErrorCode>(resp.error_code), error_text(resp.error_code));
    for (auto& g : resp.groups) {
      // Consumer groups: the classic "consumer" protocol (or none yet).
      if (!g.protocol_type.empty() && g.protocol_type != "consumer") continue;
      if (seen.insert(g.group_id).second) out.push_back(g);
    }
  }
  return out;
}

void Service::do_list() {
  auto groups = list_groups();
  if (!o_.state) {
    for (const auto& g : groups) out_ << g.group_id << "\n";
    return;
  }
  std::set<std::string> states;
  if (o_.state_value && !o_.state_value->empty()) {
    std::stringstream ss(*o_.state_value);
    std::string s;
    static const std::set<std::string> valid = {"preparingrebalance", "completingrebalance", "stable", "dead", "empty",
                                                "assigning", "reconciling"};
    while (std::getline(ss, s, ',')) {
      while (!s.empty() && s.front() == ' ') s.erase(s.begin());
      while (!s.empty() && s.back() == ' ') s.pop_back();
      if (!valid.count(lower(s)))
        throw Usage("Invalid state list '" + *o_.state_value +
                    "'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty, Assigning, Reconciling");
      states.insert(lower(s));
    }
  }
  std::vector<msg::ListGroupsResponse::ListedGroup> shown;
  for (const auto& g : groups)
    if (states.empty() || states.count(lower(g.group_state))) shown.push_back(g);
  size_t w = 15;
  for (const auto& g : shown) w = std::max(w, g.group_id.size());
  w += 10;
  out_ << kafka_columns({{"GROUP", w}, {"STATE", 20}}) << "\n";
  for (const auto& g : shown) out_ << kafka_columns({{g.group_id, w}, {g.group_state.empty() ? "Unknown" : g.group_state, 20}}) << "\n";
}

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

// ListOffsets for many partitions: ts -2 earliest, -1 latest, else by time
// (-1 answers, "no such offset", fall back to the latest as Kafka does).
// strict: throw for partitions without an answer; else leave them out.
std::map<TopicPartition, int64_t> Service::log_offsets(const std::vector<TopicPartition>& tps, int64_t ts, bool strict) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& [t, p] : tps) by_topic[t].push_back(p);
  std::map<TopicPartition, int64_t> out;
  for (auto& [t, ps] : by_topic) {
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    try {
      for (const auto& [p, off] : client().list_offsets(t, ps, ts)) out[{t, p}] = off;
    } catch (const std::exception&) {
      // One partition at a time, so that one without a leader does not hide the others.
      for (int32_t p : ps) {
        try {
          out[{t, p}] = client().list_offset(t, p, ts).first;
        } catch (const std::exception&) {
          if (strict) throw;
        }
      }
    }
  }
  return out;
}

std::vector<TopicPartition> Service::parse_topic_partitions(const std::vector<std::string>& args, bool) {
  std::vector<TopicPartition> out;
  std::vector<std::string> plain;
  for (const auto& a : args) {
    if (a.find(':') == std::string::npos) {
      plain.push_back(a);
      continue;
    }
    auto colon = a.find(':');
    if (a.find(':', colon + 1) != std::string::npos || colon + 1 >= a.size())
      throw Usage("Invalid topic arg '" + a + "', expected topic name and partitions");
    std::string topic = a.substr(0, colon);
    std::stringstream ss(a.substr(colon + 1));
    std::string p;
    while (std::getline(ss, p, ',')) {
      try {
        size_t used = 0;
        int v = std::stoi(p, &used);
        if (used != p.size()) throw std::invalid_argument("");
        out.emplace_back(topic, v);
      } catch (const std::logic_error&) {
        throw Usage("Invalid partition '" + p + "' specified in topic arg '" + a + "''");
      }
    }
  }
  if (!plain.empty()) {
    ClusterInfo ci = client().metadata(plain);
    for (const auto& t : plain) {
      auto it = ci.topics.find(t);
      if (it == ci.topics.end() || it->second.error != 0)
        throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, error_text(code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)));
      for (const auto& p : it->second.partitions) out.emplace_back(t, p.partition);
    }
  }
  return out;
}

std::map<TopicPartition, int64_t> Service::reset_inactive_group(GroupClient& gc) {
  std::vector<TopicPartition> tps;
  std::map<TopicPartition, int64_t> current;
  bool have_current = false;
  auto committed = [&]() -> const std::map<TopicPartition, int64_t>& {
    if (!have_current) {
      current = gc.fetch_offsets();
      have_current = true;
    }
    return current;
  };
  if (o_.all_topics) {
    for (const auto& [tp, _] : committed()) tps.push_back(tp);
  } else if (!o_.topics.empty()) {
    tps = parse_topic_partitions(o_.topics, true);
  } else if (!o_.from_file) {
    throw Usage("One of the reset scopes should be defined: --all-topics, --topic.");
  }
  std::sort(tps.begin(), tps.end());
  tps.erase(std::unique(tps.begin(), tps.end()), tps.end());
  // checkAllTopicPartitionsValid
  if (!tps.empty()) {
    std::set<std::string> topics;
    for (const auto& tp : tps) topics.insert(tp.first);
    ClusterInfo ci = client().metadata(std::vector<std::string>(topics.begin(), topics.end()));
    std::string missing, leaderless;
    for (const auto& tp : tps) {
      auto it = ci.topics.find(tp.first);
      const PartitionInfo* pi = (it == ci.topics.end() || it->second.error) ? nullptr : it->second.partition(tp.second);
      std::string name = tp.first + "-" + std::to_string(tp.second);
      if (!pi) missing += (missing.empty() ? "" : ",") + name;
      else if (pi->leader < 0) leaderless += (leaderless.empty() ? "" : ",") + name;
    }
    if (!missing.empty()) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "The partitions \"" + missing + "\" do not exist");
    if (!leaderless.empty()) throw KafkaError(ErrorCode::LEADER_NOT_AVAILABLE, "The partitions \"" + leaderless + "\" have no leader");
  }
  auto clamp = [&](std::map<TopicPartition, int64_t> requested) {
    std::vector<TopicPartition> keys;
    for (const auto& [tp, _] : requested) keys.push_back(tp);
    auto starts = log_offsets(keys, -2, false);
    auto ends = log_offsets(keys, -1, false);
    for (auto& [tp, off] : requested) {
      auto e = ends.find(tp);
      auto s = starts.find(tp);
      if (e != ends.end() && off > e->second) {
        err_ << "WARN New offset (" << off << ") is higher than latest offset for topic partition " << tp.first << "-" << tp.second
             << ". Value will be set to " << e->second << "\n";
        off = e->second;
      } else if (s != starts.end() && off < s->second) {
        err_ << "WARN New offset (" << off << ") is lower than earliest offset for topic partition " << tp.first << "-" << tp.second
             << ". Value will be set to " << s->second << "\n";
        off = s->second;
      }
    }
    return requested;
  };
  std::map<TopicPartition, int64_t> prepared;
  auto by_log = [&](int64_t ts, const char* what) {
    auto offs = log_offsets(tps, ts, false);
    for (const auto& tp : tps) {
      auto it = offs.find(tp);
      if (it == offs.end()) throw Usage(std::string("Error getting ") + what + " of topic partition: " + tp.first + "-" + std::to_string(tp.second));
      prepared[tp] = it->second;
    }
  };
  auto by_time = [&](int64_t ts) {
    auto offs = log_offsets(tps, ts, false);
    std::vector<TopicPartition> fallback;
    for (const auto& tp : tps) {
      auto it = offs.find(tp);
      if (it != offs.end() && it->second >= 0) {
        prepared[tp] = it->second;
      } else {
        out_ << "\nWarn: Partition " << tp.second << " from topic " << tp.first << " is empty. Falling back to latest known offset.\n";
        fallback.push_back(tp);
      }
    }
    auto ends = log_offsets(fallback, -1, false);
    for (const auto& tp : fallback) {
      auto it = ends.find(tp);
      if (it == ends.end()) throw Usage("Error getting offset by timestamp of topic partition: " + tp.first + "-" + std::to_string(tp.second));
      prepared[tp] = it->second;
    }
  };
  if (o_.to_offset) {
    std::map<TopicPartition, int64_t> req;
    for (const auto& tp : tps) req[tp] = *o_.to_offset;
    prepared = clamp(req);
  } else if (o_.to_earliest) {
    by_log(-2, "starting offset");
  } else if (o_.to_latest) {
    by_log(-1, "ending offset");
  } else if (o_.shift_by) {
    std::map<TopicPartition, int64_t> req;
    for (const auto& tp : tps) {
      auto it = committed().find(tp);
      if (it == committed().end())
        throw Usage("Cannot shift offset for partition " + tp.first + "-" + std::to_string(tp.second) + " since there is no current committed offset");
      req[tp] = it->second + *o_.shift_by;
    }
    prepared = clamp(req);
  } else if (o_.to_datetime) {
    by_time(parse_datetime(*o_.to_datetime));
  } else if (o_.by_duration) {
    by_time(wall_clock_ms() - parse_duration(*o_.by_duration));
  } else if (o_.to_current) {
    std::vector<TopicPartition> without;
    for (const auto& tp : tps) {
      auto it = committed().find(tp);
      if (it != committed().end()) prepared[tp] = it->second;
      else without.push_back(tp);
    }
    auto ends = log_offsets(without, -1, true);
    for (const auto& tp : without) prepared[tp] = ends.at(tp);
  } else if (o_.from_file) {
    std::ifstream f(*o_.from_file);
    if (!f) throw std::runtime_error(*o_.from_file + " (No such file or directory)");
    std::map<TopicPartition, int64_t> req;
    std::string line;
    while (std::getline(f, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      std::vector<std::string> cells;
      std::stringstream ss(line);
      std::string c;
      while (std::getline(ss, c, ',')) cells.push_back(c);
      try {
        if (cells.size() == 3) req[{cells[0], std::stoi(cells[1])}] = std::stoll(cells[2]);
        else if (cells.size() == 4 && cells[0] == gc.group_id()) req[{cells[1], std::stoi(cells[2])}] = std::stoll(cells[3]);
        else if (cells.size() != 4) throw std::invalid_argument("");
      } catch (const std::logic_error&) {
        throw std::runtime_error("Invalid line in " + *o_.from_file + ": " + line);
      }
    }
    if (req.empty()) {
      print_error("No reset plan for group " + gc.group_id() + " found.");
      return {};
    }
    prepared = clamp(req);
  }
  if (o_.execute) {
    auto errors = gc.commit_offsets(prepared, -1, "");
    for (const auto& [tp, e] : errors)
      if (e != 0) throw KafkaError(static_cast<ErrorCode>(e), error_text(e));
  }
  return prepared;
}

void Service::do_reset() {
  std::vector<std::string> groups = selected_groups();
  std::map<std::string, std::map<TopicPartition, int64_t>> result;
  for (const auto& g : groups) {
    GroupClient gc = group(g);
    auto d = gc.describe();
    std::string state = d.error_code == code(ErrorCode::GROUP_ID_NOT_FOUND) ? "Dead" : d.group_state;
    if (d.error_code != 0 && d.error_code != code(ErrorCode::GROUP_ID_NOT_FOUND))
      throw KafkaError(static_cast<ErrorCode>(d.error_code), error_text(d.error_code));
    if (state == "Empty" || state == "Dead") {
      result[g] = reset_inactive_group(gc);
    } else {
      print_error("Assignments can only be reset if the group '" + g + "' is inactive, but the current state is " + state + ".");
      result[g] = {};
    }
  }
  if (o_.export_) {
    bool single = o_.groups.size() == 1;
    for (const auto& [g, offs] : result)
      for (const auto& [tp, off] : offs) {
        if (!single) out_ << g << ",";
        out_ << tp.first << "," << tp.second << "," << off << "\n";
      }
    out_ << "\n";
    return;
  }
  size_t wg = 15, wt = 15;
  for (const auto& [g, offs] : result) {
    wg = std::max(wg, g.size());
    for (const auto& [tp, _] : offs) wt = std::max(wt, tp.first.size());
  }
  if (!result.empty()) out_ << "\n" << kafka_columns({{"GROUP", wg}, {"TOPIC", wt}, {"PARTITION", 10}, {"NEW-OFFSET", 0}});
  for (const auto& [g, offs] : result)
    for (const auto& [tp, off] : offs)
      out_ << "\n" << kafka_columns({{g, wg}, {tp.first, wt}, {std::to_string(tp.second), 10}, {std::to_string(off), 0}});
  out_ << "\n";
}

void Service::do_delete() {
  std::vector<std::string> groups = selected_groups();
  std::vector<std::string> ok;
  std::vector<std::pair<std::string, std::string>> failed;
  for (const auto& g : groups) {
    int16_t e;
    std::string why;
    try {
      GroupClient gc = group(g);
      e = gc.delete_group();
      why = java_error(e);
    } catch (const KafkaError& ke) {
      e = code(ke.code());
      why = java_error(e);
    }
    if (e == 0) ok.push_back(g);
    else failed.emplace_back(g, why);
  }
  auto quoted = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& g : v) s += (s.empty() ? "'" : ", '") + g + "'";
    return s;
  };
  if (failed.empty()) {
    out_ << "Deletion of requested consumer groups (" << quoted(ok) << ") was successful.\n";
    return;
  }
  print_error("Deletion of some consumer groups failed:");
  for (const auto& [g, why] : failed) out_ << "* Group '" << g << "' could not be deleted due to: " << why << "\n";
  if (!ok.empty()) out_ << "\nThese consumer groups were deleted successfully: " << quoted(ok) << "\n";
}

void Service::do_delete_offsets() {
  const std::string& g = o_.groups.front();
  std::vector<std::string> with_parts, plain;
  for (const auto& t : o_.topics) (t.find(':') != std::string::npos ? with_parts : plain).push_back(t);
  std::vector<TopicPartition> tps = parse_topic_partitions(with_parts, false);
  std::map<TopicPartition, std::optional<std::string>> results;  // nullopt: success
  if (!plain.empty()) {
    ClusterInfo ci = client().metadata(plain);
    for (const auto& t : plain) {
      auto it = ci.topics.find(t);
      if (it == ci.topics.end() || it->second.error != 0) {
        int16_t e = it == ci.topics.end() ? code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) : it->second.error;
        results[{t, -1}] = java_error(e);
        continue;
      }
      for (const auto& p : it->second.partitions) tps.emplace_back(t, p.partition);
    }
  }
  std::sort(tps.begin(), tps.end());
  tps.erase(std::unique(tps.begin(), tps.end()), tps.end());
  int16_t server_err = 0;
  std::map<TopicPartition, int16_t> perr;
  if (!tps.empty()) {
    GroupClient gc = group(g);
    auto r = gc.delete_offsets(tps);
    server_err = r.first;
    perr = r.second;
  }
  // Admin's all(): the group-level error, else the first partition-level one.
  int16_t top = server_err;
  for (const auto& tp : tps) {
    int16_t e = server_err;
    if (e == 0) e = perr.count(tp) ? perr[tp] : code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    if (top == 0) top = e;
    results[tp] = e == 0 ? std::nullopt : std::optional<std::string>(java_error(e));
  }
  if (top == 0)
    for (const auto& [tp, r] : results)
      if (r && tp.second < 0) top = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  switch (static_cast<ErrorCode>(top)) {
    case ErrorCode::NONE: out_ << "Request succeeded for deleting offsets from group " << g << ".\n"; break;
    case ErrorCode::INVALID_GROUP_ID:
    case ErrorCode::GROUP_ID_NOT_FOUND:
    case ErrorCode::GROUP_AUTHORIZATION_FAILED:
    case ErrorCode::NON_EMPTY_GROUP: print_error(kafka_message(top)); break;
    case ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC:
    case ErrorCode::TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: print_error("Encountered some partition-level error, see the follow-up details."); break;
    default: print_error("Encountered some unknown error: " + std::string(error_name(top))); break;
  }
  size_t wt = 15;
  for (const auto& [tp, _] : results) wt = std::max(wt, tp.first.size());
  out_ << "\n" << kafka_columns({{"TOPIC", wt}, {"PARTITION", 10}, {"STATUS", 15}});
  std::vector<std::pair<std::string, TopicPartition>> order;
  for (const auto& [tp, _] : results) order.emplace_back(tp.first + std::to_string(tp.second), tp);
  std::sort(order.begin(), order.end());
  for (const auto& [_, tp] : order) {
    const auto& r = results[tp];
    out_ << "\n"
         << kafka_columns({{tp.first, wt}, {tp.second >= 0 ? std::to_string(tp.second) : kMissing, 10},
                           {r ? "Error: " + *r : "Successful", 15}});
  }
  out_ << "\n";
}

int Service::run() {
  // ConsumerGroupCommandOptions.checkArgs
  int actions = o_.list + o_.describe + o_.delete_ + o_.reset_offsets + o_.delete_offsets;
  try {
    if (actions != 1) throw Usage("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets");
    std::map<std::string, std::string> props;
    if (o_.command_config) props = server::load_properties_file(*o_.command_config);
    bootstrap_ = o_.bootstrap_server;
    if (bootstrap_.empty()) throw Usage("Missing required argument \"[bootstrap-server]\"");
    bool group_scope = !o_.groups.empty() || o_.all_groups;
    if (!o_.groups.empty() && o_.all_groups) throw Usage("Option \"[group]\" can't be used with option \"[all-groups]\"");
    if ((o_.members || o_.verbose || o_.offsets) && !o_.describe)
      throw Usage(std::string("Option ") + (o_.members ? "members" : o_.offsets ? "offsets" : "verbose") + " is unavailable without option describe");
    if (o_.state && !(o_.describe || o_.list)) throw Usage("Option state is unavailable without options describe or list");
    if (o_.describe) {
      if (!group_scope) throw Usage("Option [describe] takes one of these options: [all-groups], [group]");
      if (o_.members + o_.offsets + o_.state > 1) throw Usage("Option [describe] takes at most one of these options: [members], [offsets], [state]");
      if (o_.state && o_.state_value) throw Usage("Option [describe] does not take a value for [state]");
    }
    if (o_.delete_) {
      if (!group_scope) throw Usage("Option [delete] takes one of these options: [all-groups], [group]");
      if (!o_.topics.empty()) throw Usage("The consumer does not support topic-specific offset deletion from a consumer group.");
    }
    if (o_.delete_offsets) {
      if (o_.groups.empty() || o_.topics.empty()) throw Usage("Option [delete-offsets] takes the following options: [topic], [group]");
    }
    if (o_.reset_offsets) {
      if (o_.dry_run && o_.execute) throw Usage("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
      if (!o_.dry_run && !o_.execute)
        err_ << "WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior "
                "of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the "
                "--dry-run option explicitly if you are scripting this command and want to keep the current default behavior without "
                "prompting.\n";
      if (!group_scope) throw Usage("Option [reset-offsets] takes one of these options: [all-groups], [group]");
      std::vector<std::string> scen;
      if (o_.to_offset) scen.push_back("to-offset");
      if (o_.shift_by) scen.push_back("shift-by");
      if (o_.to_datetime) scen.push_back("to-datetime");
      if (o_.by_duration) scen.push_back("by-duration");
      if (o_.to_earliest) scen.push_back("to-earliest");
      if (o_.to_latest) scen.push_back("to-latest");
      if (o_.to_current) scen.push_back("to-current");
      if (o_.from_file) scen.push_back("from-file");
      if (scen.size() > 1) throw Usage("Option \"[" + scen[0] + "]\" can't be used with option \"[" + scen[1] + "]\"");
      if (scen.empty())
        throw Usage("Option '[reset-offsets]' requires one of the following scenarios: [to-offset], [shift-by], [to-datetime], "
                    "[by-duration], [to-earliest], [to-latest], [to-current], [from-file]");
      if (o_.all_topics && !o_.topics.empty()) throw Usage("Option \"[all-topics]\" can't be used with option \"[topic]\"");
    }
    if (!o_.groups.empty() && o_.list) throw Usage("Option \"[group]\" can't be used with option \"[list]\"");
    if (!o_.topics.empty() && (o_.list || o_.describe)) throw Usage(std::string("Option \"[topic]\" can't be used with option \"[") + (o_.list ? "list" : "describe") + "]\"");
  } catch (const Usage& u) {
    err_ << u.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err_ << e.what() << "\n";
    return 1;
  }
  try {
    if (o_.list) do_list();
    else if (o_.describe) do_describe();
    else if (o_.delete_) do_delete();
    else if (o_.reset_offsets) do_reset();
    else do_delete_offsets();
  } catch (const Usage& u) {
    out_.flush();
    err_ << u.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    print_error(std::string("Executing consumer group command failed due to ") + e.what());
  }
  out_.flush();
  return failed_ ? 1 : 0;
}

}  // namespace

int run_consumer_groups(const ConsumerGroupsOptions& o, std::ostream& out, std::ostream& err) {
  Service s(o, out, err);
  return s.run();
}

}  // namespace flotilla::tools
