// The broker's Kafka API: decodes each request, serves it from the replica
// manager and the metadata image (or forwards it to the controller), encodes
// the response. Bad input becomes a Kafka error code, never a crash.
//
// Threading: runs on the broker's io_context thread (net::Handler contract).
//
// request_handler.cc holds the API table and the dispatch; each group of
// handlers has its own file (named beside its declarations below, and listed
// in request_handler.cc).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/authorization.h"
#include "broker/broker_config.h"
#include "broker/controller_channel.h"
#include "broker/replica_manager.h"
#include "net/server.h"

namespace flotilla::msg {
struct ProduceResponse;
struct FetchResponse;
struct CreateTopicsRequest;
struct CreateTopicsResponse;
struct CreatePartitionsRequest;
struct CreatePartitionsResponse;
struct DeleteTopicsRequest;
struct DeleteTopicsResponse;
}

namespace flotilla::coordinator {
class GroupCoordinatorService;  // coordinator/group_service.h
class TxnCoordinatorService;    // coordinator/txn_service.h
}  // namespace flotilla::coordinator

namespace flotilla::broker {

class ClientQuotas;    // broker/client_quotas.h
class ClientTelemetry;  // broker/client_telemetry.h
struct MutationCharge;  // quota_apis.cc

// acks=all: a partition appended to, and the offset it must see under its
// high watermark before the Produce is answered.
struct ProduceWaiting {
  size_t topic, partition;  // indexes into the response
  std::string topic_name;
  int32_t index;
  int32_t leader_epoch;
  int64_t required_offset;
  bool done = false;
};

// Extra handlers a node adds on a listener (e.g. the controller's RPCs on the
// controller listener, DescribeQuorum); consulted before the broker's own APIs.
class ExtraApis {
 public:
  virtual ~ExtraApis() = default;
  // Max version served for the key, or -1 if this provider doesn't serve it.
  virtual int16_t max_version(int16_t api_key) const = 0;
  virtual int16_t min_version(int16_t api_key) const = 0;
  virtual void handle(std::shared_ptr<net::Request> req, net::Respond respond) = 0;
};

struct FeatureRange {
  std::string name;
  int16_t min_version;
  int16_t max_version;
};

class RequestHandler : public net::Handler {
 public:
  // `broker_apis`: whether this listener serves the broker's client APIs
  // (false on a controller listener, which only serves `extra`).
  RequestHandler(const BrokerConfig& config, ReplicaManager& replicas, ControllerChannel* controller, ExtraApis* extra, bool broker_apis);

  int request_header_version(int16_t api_key, int16_t api_version) const override;
  void handle(std::shared_ptr<net::Request> req, net::Respond respond) override;

  static const std::vector<FeatureRange>& supported_features();
  // The group coordinator serving the group APIs (group_apis.cc); none: NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE.
  void set_group_coordinator(coordinator::GroupCoordinatorService* groups) { groups_ = groups; }
  // The transaction coordinator and producer ids (txn_apis.cc); none: COORDINATOR_NOT_AVAILABLE.
  void set_txn_coordinator(coordinator::TxnCoordinatorService* txns) { txns_ = txns; }
  // The node's authorizer (authorizer.class.name); none: everything is allowed.
  // Every API checks what Kafka checks for it (authorization.h).
  void set_authorizer(const security::StandardAuthorizer* authorizer) { authorizer_ = authorizer; }
  // The API keys and version ranges a broker listener serves (tests, docs).
  struct ServedApi {
    int16_t key, min, max;
  };
  static std::vector<ServedApi> broker_apis();
  // The client quotas enforced on this listener's requests (none: no quotas).
  void set_client_quotas(ClientQuotas* quotas) { quotas_ = quotas; }
  // The node's client telemetry (KIP-714); none: GetTelemetrySubscriptions and
  // PushTelemetry are not served (as Kafka without a telemetry receiver).
  void set_client_telemetry(ClientTelemetry* telemetry) { telemetry_ = telemetry; }

 private:
  void handle_api_versions(std::shared_ptr<net::Request> req, net::Respond respond);
  // AddPartitionsToTxn v4+ (txn_apis.cc).
  void add_partitions_to_txn_batched(std::shared_ptr<net::Request> req, net::Respond respond, msg::AddPartitionsToTxnRequest request);
  // The finalized transaction.version (0 if none).
  int16_t transaction_version() const;
  void handle_metadata(std::shared_ptr<net::Request> req, net::Respond respond);  // metadata_apis.cc
  void handle_describe_topic_partitions(std::shared_ptr<net::Request> req, net::Respond respond);  // describe_topic_partitions_api.cc
  void handle_produce(std::shared_ptr<net::Request> req, net::Respond respond);   // produce_api.cc
  void finish_produce(std::shared_ptr<net::Request> req, net::Respond respond, int16_t acks, int32_t timeout_ms, bool any_error,
                      std::shared_ptr<msg::ProduceResponse> resp, std::shared_ptr<std::vector<ProduceWaiting>> waiting);
  void handle_fetch(std::shared_ptr<net::Request> req, net::Respond respond);  // fetch_apis.cc, as the next three
  void handle_list_offsets(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_offset_for_leader_epoch(std::shared_ptr<net::Request> req, net::Respond respond);
  // KIP-392's RackAwareReplicaSelector: an in-sync follower in the client's rack, or -1.
  int32_t preferred_read_replica(const Partition& p, const std::string& client_rack) const;
  void handle_delete_records(std::shared_ptr<net::Request> req, net::Respond respond);  // records_api.cc
  void handle_create_topics(std::shared_ptr<net::Request> req, net::Respond respond);  // metadata_apis.cc, as the next three
  void handle_delete_topics(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_create_partitions(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_cluster(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_configs(std::shared_ptr<net::Request> req, net::Respond respond);  // admin_apis.cc
  // Forwarded to the active controller (admin_apis.cc).
  void handle_elect_leaders(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_incremental_alter_configs(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_alter_configs(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_alter_partition_reassignments(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_list_partition_reassignments(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_unregister_broker(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_log_dirs(std::shared_ptr<net::Request> req, net::Respond respond);  // log_dirs_api.cc
  void handle_alter_replica_log_dirs(std::shared_ptr<net::Request> req, net::Respond respond);  // log_dirs_api.cc
  // SCRAM credentials, KIP-554 (scram_apis.cc): described from the image, altered through the controller.
  void handle_describe_user_scram_credentials(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_alter_user_scram_credentials(std::shared_ptr<net::Request> req, net::Respond respond);
  // ACLs (acl_apis.cc): described from the image, created and deleted through the controller.
  void handle_describe_acls(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_create_acls(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_delete_acls(std::shared_ptr<net::Request> req, net::Respond respond);
  // Client quotas, KIP-546 (quota_apis.cc): described from the image, altered through the controller.
  void handle_describe_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_alter_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond);
  // UpdateFeatures, KIP-584 (quota_apis.cc): through the controller.
  void handle_update_features(std::shared_ptr<net::Request> req, net::Respond respond);
  // Delegation tokens, KIP-48 (delegation_token_apis.cc): Create/Renew/Expire
  // through the controller, Describe from the image.
  void handle_create_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_renew_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_expire_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_delegation_token(std::shared_ptr<net::Request> req, net::Respond respond);
  // The controller mutation quota of topic creation/deletion (quota_apis.cc):
  // charge_* before forwarding (refused topics leave the request; null when
  // the quota is off), settle_* on the controller's answer.
  bool mutation_quota_on() const;
  std::shared_ptr<MutationCharge> charge_create_topics(const net::Request& req, msg::CreateTopicsRequest& request);
  void settle_create_topics(const net::Request& req, const std::shared_ptr<MutationCharge>& charge, msg::CreateTopicsResponse& resp);
  std::shared_ptr<MutationCharge> charge_create_partitions(const net::Request& req, msg::CreatePartitionsRequest& request);
  void settle_create_partitions(const net::Request& req, const std::shared_ptr<MutationCharge>& charge, msg::CreatePartitionsResponse& resp);
  std::shared_ptr<MutationCharge> charge_delete_topics(const net::Request& req, msg::DeleteTopicsRequest& request);
  void settle_delete_topics(const net::Request& req, const std::shared_ptr<MutationCharge>& charge, msg::DeleteTopicsResponse& resp);
  // A Fetch response, after the consumer's fetch and request quotas (fetch_apis.cc).
  void send_fetch(const std::shared_ptr<net::Request>& req, net::Respond& respond, msg::FetchResponse& resp, bool follower);
  // Transactions and producers (txn_apis.cc).
  void handle_init_producer_id(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_add_partitions_to_txn(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_add_offsets_to_txn(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_end_txn(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_txn_offset_commit(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_write_txn_markers(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_transactions(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_list_transactions(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_producers(std::shared_ptr<net::Request> req, net::Respond respond);
  // FindCoordinator's way to the internal topics: creates one through the controller (once at a time, per `in_flight`).
  void create_internal_topic(const std::string& name, int32_t partitions, int16_t replication_factor,
                             std::vector<std::pair<std::string, std::string>> configs, bool* in_flight);

  // The classic group coordinator's APIs (group_apis.cc).
  void handle_find_coordinator(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_join_group(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_sync_group(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_heartbeat(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_leave_group(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_offset_commit(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_offset_fetch(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_list_groups(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_groups(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_delete_groups(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_offset_delete(std::shared_ptr<net::Request> req, net::Respond respond);
  // The new consumer group protocol, KIP-848 (consumer_group_apis.cc).
  void handle_consumer_group_heartbeat(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_consumer_group_describe(std::shared_ptr<net::Request> req, net::Respond respond);
  // Client telemetry, KIP-714 (telemetry_apis.cc).
  void handle_get_telemetry_subscriptions(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_push_telemetry(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_list_client_metrics_resources(std::shared_ptr<net::Request> req, net::Respond respond);
  // The version range this listener serves for `key`; {-1,-1} if none.
  std::pair<int16_t, int16_t> served_range(int16_t key) const;
  int32_t controller_id_for_clients() const;
  // The request's view of the authorizer: one ACL snapshot for all its decisions.
  Authz authz(const net::Request& req) const { return Authz::of(authorizer_, req); }

  BrokerConfig config_;
  ReplicaManager& replicas_;
  ControllerChannel* controller_;
  ExtraApis* extra_;
  bool broker_apis_;
  coordinator::GroupCoordinatorService* groups_ = nullptr;  // group_apis.cc
  coordinator::TxnCoordinatorService* txns_ = nullptr;      // txn_apis.cc
  const security::StandardAuthorizer* authorizer_ = nullptr;  // authorization.h
  ClientQuotas* quotas_ = nullptr;                          // client_quotas.h
  ClientTelemetry* telemetry_ = nullptr;                    // client_telemetry.h
};

}  // namespace flotilla::broker
