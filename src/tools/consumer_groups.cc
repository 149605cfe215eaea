// `flotilla consumer-groups` (Kafka's kafka-consumer-groups.sh): the option
// checks (ConsumerGroupCommandOptions.checkArgs), --list, --delete and
// --delete-offsets, and the topic arguments they share with --reset-offsets.
// See tools/consumer_groups.h for how the command is split.
#include "tools/consumer_groups.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "client/admin.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {
namespace consumer_groups {

using client::error_text;

// Admin.listGroups: every broker's consumer groups.
std::vector<msg::ListGroupsResponse::ListedGroup> Service::list_groups() { return client::list_consumer_groups(client()); }

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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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
    apply_client_security(props);
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

}  // namespace consumer_groups

int run_consumer_groups(const ConsumerGroupsOptions& o, std::ostream& out, std::ostream& err) {
  consumer_groups::Service s(o, out, err);
  return s.run();
}

}  // namespace flotilla::tools
