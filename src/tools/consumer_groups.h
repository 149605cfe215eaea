// The pieces of `flotilla consumer-groups` (Kafka's kafka-consumer-groups.sh)
// that its three files share: consumer_groups.cc (option checks, --list,
// --delete, --delete-offsets), consumer_groups_describe.cc (--describe:
// offsets, --members, --state) and consumer_groups_reset.cc
// (--reset-offsets). Messages and column layout are Kafka's ("%-Ns" columns,
// each table line starting with a newline as ConsumerGroupCommand prints
// them); the requests are client/'s (admin.h, group_client.h).
//
// Invariants: an error printed through print_error makes the exit code 1;
// a Usage error ends the run with its message alone on stderr.
// Threading: one thread; the Service owns its KafkaClient, made on first use.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/group_client.h"
#include "tools/commands.h"

namespace flotilla::tools::consumer_groups {

using client::ClientOptions;
using client::ClusterInfo;
using client::GroupClient;
using client::KafkaClient;
using client::KafkaError;
using client::PartitionInfo;
using client::TopicPartition;

constexpr const char* kMissing = "-";

// Kafka's default message of an error code (Errors.message()).
std::string kafka_message(int16_t c);
// Kafka's exception text (Throwable.toString) for the error codes these commands meet.
std::string java_error(int16_t c);

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string lower(std::string s);

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
  // ListOffsets for many partitions: ts -2 earliest, -1 latest, else by time
  // (-1 answers, "no such offset", fall back to the latest as Kafka does).
  // strict: throw for partitions without an answer; else leave them out.
  std::map<TopicPartition, int64_t> log_offsets(const std::vector<TopicPartition>& tps, int64_t ts, bool strict) {
    return client().offsets_for(tps, ts, strict);
  }
  void do_delete();
  void do_delete_offsets();

  const ConsumerGroupsOptions& o_;
  std::ostream& out_;
  std::ostream& err_;
  std::string bootstrap_;
  std::unique_ptr<KafkaClient> client_;
  bool failed_ = false;
};

}  // namespace flotilla::tools::consumer_groups
