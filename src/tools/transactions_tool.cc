// `flotilla transactions` (Kafka's kafka-transactions.sh):
//   list                                  ListTransactions to every broker
//   describe --transactional-id ID        DescribeTransactions to its coordinator
//   describe-producers --topic T --partition P [--broker-id B]
//                                         DescribeProducers to the leader (or B)
// Tables as Kafka's ToolsUtils.prettyPrintTable prints them (pretty_print_table).
// The requests are client/admin.h's. Exit code 1 on an error.
#include <ostream>

#include "client/admin.h"
#include "common/clock.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

using client::ClusterInfo;
using client::GroupClient;
using client::KafkaClient;
using client::PartitionInfo;
using client::TopicInfo;

namespace {

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  out << pretty_print_table(headers, rows);
}

int list(KafkaClient& client, std::ostream& out, std::ostream& err) {
  ClusterInfo info = client.metadata(std::vector<std::string>{});
  std::vector<std::vector<std::string>> rows;
  int rc = 0;
  for (const auto& [id, b] : info.brokers) {
    try {
      auto resp = client::list_transactions(client.broker(id));
      if (resp.error_code != 0) {
        err << "Failed to list transactions of broker " << id << ": " << kafka_exception(resp.error_code, std::nullopt) << "\n";
        rc = 1;
        continue;
      }
      for (const auto& t : resp.transaction_states)
        rows.push_back({t.transactional_id, std::to_string(id), std::to_string(t.producer_id), t.transaction_state});
    } catch (const std::exception& e) {
      err << "Failed to list transactions of broker " << id << ": " << e.what() << "\n";
      rc = 1;
    }
  }
  print_table({"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}, rows, out);
  return rc;
}

int describe(KafkaClient& client, const std::string& id, std::ostream& out, std::ostream& err) {
  GroupClient coordinator(client, id, 30000, /*key_type=*/1);
  msg::DescribeTransactionsResponse resp = client::describe_transactions(coordinator, id);
  if (resp.transaction_states.empty()) {
    err << "No answer for transactional id " << id << "\n";
    return 1;
  }
  const auto& t = resp.transaction_states.front();
  if (t.error_code != 0) {
    err << "Failed to describe transactional id " << id << ": " << kafka_exception(t.error_code, std::nullopt) << "\n";
    return 1;
  }
  std::string parts;
  for (const auto& tp : t.topics)
    for (int32_t p : tp.partitions) parts += (parts.empty() ? "" : ",") + tp.topic + "-" + std::to_string(p);
  const bool running = t.transaction_start_time_ms >= 0;
  print_table({"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs",
               "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"},
              {{std::to_string(coordinator.coordinator_info().id), t.transactional_id, std::to_string(t.producer_id),
                std::to_string(t.producer_epoch), t.transaction_state, std::to_string(t.transaction_timeout_ms),
                running ? std::to_string(t.transaction_start_time_ms) : "None",
                running ? std::to_string(wall_clock_ms() - t.transaction_start_time_ms) : "None", parts}},
              out);
  return 0;
}

int describe_producers(KafkaClient& client, const TransactionsOptions& o, std::ostream& out, std::ostream& err) {
  int32_t broker = -1;
  if (o.broker_id) {
    client.metadata(std::vector<std::string>{});
    broker = *o.broker_id;
  } else {
    TopicInfo t = client.wait_for_topic(o.topic, 10000);
    const PartitionInfo* p = t.partition(o.partition);
    if (!p) {
      err << "Topic partition " << o.topic << "-" << o.partition << " does not exist\n";
      return 1;
    }
    broker = p->leader;
  }
  auto resp = client::describe_producers(client.broker(broker), o.topic, o.partition);
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : resp.topics)
    for (const auto& p : t.partitions) {
      if (p.error_code != 0) {
        err << "Failed to describe producers of " << o.topic << "-" << o.partition << ": " << kafka_exception(p.error_code, p.error_message)
            << "\n";
        return 1;
      }
      for (const auto& s : p.active_producers)
        rows.push_back({std::to_string(s.producer_id), std::to_string(s.producer_epoch), std::to_string(s.coordinator_epoch),
                        std::to_string(s.last_sequence), std::to_string(s.last_timestamp),
                        s.current_txn_start_offset >= 0 ? std::to_string(s.current_txn_start_offset) : "None"});
    }
  print_table({"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"}, rows,
              out);
  return 0;
}

}  // namespace

int run_transactions(const TransactionsOptions& o, std::ostream& out, std::ostream& err) {
  try {
    if (o.command_config) apply_client_security(server::load_properties_file(*o.command_config));
    KafkaClient client(o.bootstrap_server);
    if (o.command == "list") return list(client, out, err);
    if (o.command == "describe") return describe(client, o.transactional_id, out, err);
    return describe_producers(client, o, out, err);
  } catch (const std::exception& e) {
    err << "Error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace flotilla::tools
