// RequestHandler: the API table and the dispatch — which APIs and versions a
// listener serves (ApiVersions answers from the same table), the request
// header version each needs, and the handler each goes to. The handlers live
// in the *_api(s).cc files beside it: produce_api.cc, fetch_apis.cc (Fetch,
// ListOffsets, OffsetForLeaderEpoch), metadata_apis.cc (Metadata,
// DescribeCluster, topic creation and deletion), admin_apis.cc,
// records_api.cc, log_dirs_api.cc, group_apis.cc, consumer_group_apis.cc,
// txn_apis.cc, scram_apis.cc, quota_apis.cc, telemetry_apis.cc,
// delegation_token_apis.cc, describe_topic_partitions_api.cc.
//
// Invariants: a request reaches a handler only at a version this listener
// serves (request_header_version returns -1 for the others, and the
// connection layer closes their connection) — ApiVersions excepted, which
// answers any version (KIP-511); a handler's unexpected exception closes only
// that connection, and the broker goes on serving everyone else.
//
// Threading: the broker's io_context thread (net::Handler contract).
#include "broker/request_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/api_util.h"
#include "broker/client_quotas.h"
#include "broker/client_telemetry.h"
#include "metadata/features.h"
#include "protocol/api.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace flotilla::msg;

constexpr int16_t kProduce = 0, kFetch = 1, kListOffsets = 2, kMetadata = 3, kApiVersions = 18, kCreateTopics = 19, kDeleteTopics = 20,
                  kDescribeConfigs = 32, kCreatePartitions = 37, kDescribeCluster = 60, kOffsetForLeaderEpoch = 23, kDeleteRecords = 21;
constexpr int16_t kDescribeLogDirs = 35, kAlterReplicaLogDirs = 34;  // log_dirs_api.cc
constexpr int16_t kDescribeTopicPartitions = 75;  // describe_topic_partitions_api.cc
constexpr int16_t kSaslHandshake = 17, kSaslAuthenticate = 36;
constexpr int16_t kOffsetCommit = 8, kOffsetFetch = 9, kFindCoordinator = 10, kJoinGroup = 11, kHeartbeat = 12, kLeaveGroup = 13,
                  kSyncGroup = 14, kDescribeGroups = 15, kListGroups = 16, kDeleteGroups = 42, kOffsetDelete = 47;  // group_apis.cc
constexpr int16_t kConsumerGroupHeartbeat = 68, kConsumerGroupDescribe = 69;  // consumer_group_apis.cc
constexpr int16_t kInitProducerId = 22, kAddPartitionsToTxn = 24, kAddOffsetsToTxn = 25, kEndTxn = 26, kWriteTxnMarkers = 27,
                  kTxnOffsetCommit = 28, kDescribeProducers = 61, kDescribeTransactions = 65, kListTransactions = 66;  // txn_apis.cc
constexpr int16_t kAlterConfigs = 33, kElectLeaders = 43, kIncrementalAlterConfigs = 44, kAlterPartitionReassignments = 45,
                  kListPartitionReassignments = 46, kUnregisterBroker = 64;  // admin_apis.cc
constexpr int16_t kDescribeUserScramCredentials = 50, kAlterUserScramCredentials = 51;  // scram_apis.cc
constexpr int16_t kDescribeAcls = 29, kCreateAcls = 30, kDeleteAcls = 31;  // acl_apis.cc
constexpr int16_t kDescribeClientQuotas = 48, kAlterClientQuotas = 49;                   // quota_apis.cc
constexpr int16_t kUpdateFeatures = 57;                                                   // quota_apis.cc
constexpr int16_t kGetTelemetrySubscriptions = 71, kPushTelemetry = 72, kListClientMetricsResources = 74;  // telemetry_apis.cc
constexpr int16_t kCreateDelegationToken = 38, kRenewDelegationToken = 39, kExpireDelegationToken = 40,
                  kDescribeDelegationToken = 41;  // delegation_token_apis.cc

// The client APIs a broker listener serves, with the versions we serve. Fetch
// starts at 4 because older versions need message-format down-conversion.
struct Served {
  int16_t key, min, max;
};
constexpr Served kBrokerApis[] = {
    {kProduce, 0, 13},       {kFetch, 4, 18},         {kListOffsets, 0, 10},       {kMetadata, 0, 13},       {kApiVersions, 0, 4},
    {kCreateTopics, 0, 7},   {kDeleteTopics, 0, 6},   {kDescribeConfigs, 0, 4},    {kCreatePartitions, 0, 3}, {kDescribeCluster, 0, 2},
    {kOffsetForLeaderEpoch, 0, 4}, {kDeleteRecords, 0, 2},
    {kDescribeLogDirs, 0, 4}, {kAlterReplicaLogDirs, 0, 2},
    {kOffsetCommit, 0, 9}, {kOffsetFetch, 0, 9}, {kFindCoordinator, 0, 6}, {kJoinGroup, 0, 9}, {kHeartbeat, 0, 4}, {kLeaveGroup, 0, 5},
    {kSyncGroup, 0, 5}, {kDescribeGroups, 0, 6}, {kListGroups, 0, 5}, {kDeleteGroups, 0, 2}, {kOffsetDelete, 0, 0},  // group_apis.cc
    {kConsumerGroupHeartbeat, 0, 1}, {kConsumerGroupDescribe, 0, 1},  // consumer_group_apis.cc
    // Transactions: the versions Kafka 4.1 serves. AddPartitionsToTxn v4-5 are
    // the batched broker-to-broker form (KIP-890 part 1, CLUSTER_ACTION);
    // EndTxn v5 / TxnOffsetCommit v5 / Produce v12 are the KIP-890 part 2
    // (transaction.version 2) versions — txn_apis.cc.
    {kInitProducerId, 0, 5}, {kAddPartitionsToTxn, 0, 5}, {kAddOffsetsToTxn, 0, 4}, {kEndTxn, 0, 5}, {kWriteTxnMarkers, 0, 1},
    {kTxnOffsetCommit, 0, 5}, {kDescribeProducers, 0, 0}, {kDescribeTransactions, 0, 0}, {kListTransactions, 0, 2},
    {kAlterConfigs, 0, 2}, {kElectLeaders, 0, 2}, {kIncrementalAlterConfigs, 0, 1}, {kAlterPartitionReassignments, 0, 1},
    {kListPartitionReassignments, 0, 0}, {kUnregisterBroker, 0, 0},
    {kDescribeUserScramCredentials, 0, 0}, {kAlterUserScramCredentials, 0, 0},
    {kDescribeAcls, 0, 3}, {kCreateAcls, 0, 3}, {kDeleteAcls, 0, 3},
    {kDescribeClientQuotas, 0, 1}, {kAlterClientQuotas, 0, 1}, {kUpdateFeatures, 0, 2},
    // KIP-714; 71 and 72 only with a ClientTelemetry (served_range).
    {kGetTelemetrySubscriptions, 0, 0}, {kPushTelemetry, 0, 0}, {kListClientMetricsResources, 0, 1},
    {kCreateDelegationToken, 0, 3}, {kRenewDelegationToken, 0, 2}, {kExpireDelegationToken, 0, 2}, {kDescribeDelegationToken, 0, 3},
    {kDescribeTopicPartitions, 0, 0},
};

using api::close_connection;
using api::decode;
using api::send;

}  // namespace

RequestHandler::RequestHandler(const BrokerConfig& config, ReplicaManager& replicas, ControllerChannel* controller, ExtraApis* extra,
                               bool broker_apis)
    : config_(config), replicas_(replicas), controller_(controller), extra_(extra), broker_apis_(broker_apis) {}

std::vector<RequestHandler::ServedApi> RequestHandler::broker_apis() {
  std::vector<ServedApi> out;
  for (const auto& s : kBrokerApis) out.push_back({s.key, s.min, s.max});
  return out;
}

const std::vector<FeatureRange>& RequestHandler::supported_features() {
  // metadata/features.h: metadata.version 1 (3.0-IV1) .. 25 (4.0-IV3); kraft.version 0..1 (KIP-853);
  // eligible.leader.replicas.version 0..1 (KIP-966).
  static const std::vector<FeatureRange> f = [] {
    std::vector<FeatureRange> v;
    for (const auto& s : metadata::supported_features()) v.push_back({s.name, s.min_level, s.max_level});
    return v;
  }();
  return f;
}

std::pair<int16_t, int16_t> RequestHandler::served_range(int16_t key) const {
  if (extra_) {
    int16_t mx = extra_->max_version(key);
    if (mx >= 0) return {extra_->min_version(key), mx};
  }
  if (key == kApiVersions) return {0, 4};
  // SaslHandshake and SaslAuthenticate: served on every listener by the
  // connection layer (net/sasl_session.h), which answers them before they
  // reach a handler; listed here so that ApiVersions names them.
  if (key == kSaslHandshake) return {0, 1};
  if (key == kSaslAuthenticate) return {0, 2};
  if (!broker_apis_) return {-1, -1};
  if ((key == kGetTelemetrySubscriptions || key == kPushTelemetry) && !telemetry_) return {-1, -1};
  for (const auto& s : kBrokerApis)
    if (s.key == key) return {s.min, s.max};
  return {-1, -1};
}

int RequestHandler::request_header_version(int16_t api_key, int16_t api_version) const {
  auto [mn, mx] = served_range(api_key);
  if (mx < 0) return -1;
  const protocol::ApiInfo* info = protocol::api_info(api_key);
  if (!info) return -1;
  // ApiVersions of any version is answered (KIP-511); its header is parsed as
  // v1 or v2 by the flexible rule even for versions we don't know.
  if (api_key == kApiVersions) return api_version >= info->flexible_min ? 2 : 1;
  if (api_version < mn || api_version > mx) return -1;
  return protocol::request_header_version(api_key, api_version);
}

void RequestHandler::handle(std::shared_ptr<net::Request> req, net::Respond respond) {
  if (extra_ && extra_->max_version(req->api_key) >= 0) {
    extra_->handle(std::move(req), std::move(respond));
    return;
  }
  // Client quotas: the request-time clock starts here; the handler's
  // synchronous time is noted when it returns (the guard's destructor).
  struct QuotaScope {
    ClientQuotas* quotas;
    std::shared_ptr<net::Request> req;
    ~QuotaScope() {
      if (quotas && req) quotas->end(*req);
    }
  } scope{quotas_, nullptr};
  if (quotas_) {
    quotas_->begin(*req);
    if (req->api_key == kWriteTxnMarkers) ClientQuotas::exempt(*req);  // a cluster action, exempt as in Kafka
    scope.req = req;
  }
  // The handlers take req and respond (moved): the catch below must not touch them.
  const int16_t api_key = req->api_key, api_version = req->api_version;
  std::weak_ptr<net::Connection> connection = req->connection;
  try {
    switch (req->api_key) {
      case kApiVersions: return handle_api_versions(std::move(req), std::move(respond));
      case kMetadata: return handle_metadata(std::move(req), std::move(respond));
      case kProduce: return handle_produce(std::move(req), std::move(respond));
      case kFetch: return handle_fetch(std::move(req), std::move(respond));
      case kDeleteRecords: return handle_delete_records(std::move(req), std::move(respond));
      case kOffsetForLeaderEpoch: return handle_offset_for_leader_epoch(std::move(req), std::move(respond));
      case kListOffsets: return handle_list_offsets(std::move(req), std::move(respond));
      case kCreateTopics: return handle_create_topics(std::move(req), std::move(respond));
      case kDeleteTopics: return handle_delete_topics(std::move(req), std::move(respond));
      case kCreatePartitions: return handle_create_partitions(std::move(req), std::move(respond));
      case kDescribeCluster: return handle_describe_cluster(std::move(req), std::move(respond));
      case kDescribeConfigs: return handle_describe_configs(std::move(req), std::move(respond));
      case kDescribeLogDirs: return handle_describe_log_dirs(std::move(req), std::move(respond));
      case kAlterReplicaLogDirs: return handle_alter_replica_log_dirs(std::move(req), std::move(respond));
      case kFindCoordinator: return handle_find_coordinator(std::move(req), std::move(respond));
      case kJoinGroup: return handle_join_group(std::move(req), std::move(respond));
      case kSyncGroup: return handle_sync_group(std::move(req), std::move(respond));
      case kHeartbeat: return handle_heartbeat(std::move(req), std::move(respond));
      case kLeaveGroup: return handle_leave_group(std::move(req), std::move(respond));
      case kOffsetCommit: return handle_offset_commit(std::move(req), std::move(respond));
      case kOffsetFetch: return handle_offset_fetch(std::move(req), std::move(respond));
      case kListGroups: return handle_list_groups(std::move(req), std::move(respond));
      case kDescribeGroups: return handle_describe_groups(std::move(req), std::move(respond));
      case kDeleteGroups: return handle_delete_groups(std::move(req), std::move(respond));
      case kOffsetDelete: return handle_offset_delete(std::move(req), std::move(respond));
      case kConsumerGroupHeartbeat: return handle_consumer_group_heartbeat(std::move(req), std::move(respond));
      case kConsumerGroupDescribe: return handle_consumer_group_describe(std::move(req), std::move(respond));
      case kInitProducerId: return handle_init_producer_id(std::move(req), std::move(respond));
      case kAddPartitionsToTxn: return handle_add_partitions_to_txn(std::move(req), std::move(respond));
      case kAddOffsetsToTxn: return handle_add_offsets_to_txn(std::move(req), std::move(respond));
      case kEndTxn: return handle_end_txn(std::move(req), std::move(respond));
      case kTxnOffsetCommit: return handle_txn_offset_commit(std::move(req), std::move(respond));
      case kWriteTxnMarkers: return handle_write_txn_markers(std::move(req), std::move(respond));
      case kDescribeTransactions: return handle_describe_transactions(std::move(req), std::move(respond));
      case kListTransactions: return handle_list_transactions(std::move(req), std::move(respond));
      case kDescribeProducers: return handle_describe_producers(std::move(req), std::move(respond));
      case kElectLeaders: return handle_elect_leaders(std::move(req), std::move(respond));
      case kIncrementalAlterConfigs: return handle_incremental_alter_configs(std::move(req), std::move(respond));
      case kAlterConfigs: return handle_alter_configs(std::move(req), std::move(respond));
      case kAlterPartitionReassignments: return handle_alter_partition_reassignments(std::move(req), std::move(respond));
      case kListPartitionReassignments: return handle_list_partition_reassignments(std::move(req), std::move(respond));
      case kUnregisterBroker: return handle_unregister_broker(std::move(req), std::move(respond));
      case kDescribeUserScramCredentials: return handle_describe_user_scram_credentials(std::move(req), std::move(respond));
      case kAlterUserScramCredentials: return handle_alter_user_scram_credentials(std::move(req), std::move(respond));
      case kDescribeAcls: return handle_describe_acls(std::move(req), std::move(respond));
      case kCreateAcls: return handle_create_acls(std::move(req), std::move(respond));
      case kDeleteAcls: return handle_delete_acls(std::move(req), std::move(respond));
      case kDescribeClientQuotas: return handle_describe_client_quotas(std::move(req), std::move(respond));
      case kAlterClientQuotas: return handle_alter_client_quotas(std::move(req), std::move(respond));
      case kUpdateFeatures: return handle_update_features(std::move(req), std::move(respond));
      case kGetTelemetrySubscriptions: return handle_get_telemetry_subscriptions(std::move(req), std::move(respond));
      case kPushTelemetry: return handle_push_telemetry(std::move(req), std::move(respond));
      case kListClientMetricsResources: return handle_list_client_metrics_resources(std::move(req), std::move(respond));
      case kCreateDelegationToken: return handle_create_delegation_token(std::move(req), std::move(respond));
      case kRenewDelegationToken: return handle_renew_delegation_token(std::move(req), std::move(respond));
      case kExpireDelegationToken: return handle_expire_delegation_token(std::move(req), std::move(respond));
      case kDescribeDelegationToken: return handle_describe_delegation_token(std::move(req), std::move(respond));
      case kDescribeTopicPartitions: return handle_describe_topic_partitions(std::move(req), std::move(respond));
      default: break;
    }
  } catch (const std::exception& e) {
    // A bug, not bad input (decoding errors are handled per API): keep serving
    // everyone else, drop this connection so the client retries cleanly. req
    // and respond were moved into the handler, which will never answer: the
    // connection is closed through the handle taken before.
    spdlog::error("[KafkaApi] Unexpected error handling API key {} v{}: {}", api_key, api_version, e.what());
    if (!respond) {
      net::close_connection(connection);
      return;
    }
  }
  close_connection(respond);
}

void RequestHandler::handle_api_versions(std::shared_ptr<net::Request> req, net::Respond respond) {
  ApiVersionsResponse resp;
  for (const auto& info : protocol::all_apis()) {
    auto [mn, mx] = served_range(info.key);
    if (mx < 0) continue;
    ApiVersionsResponse::ApiVersion v;
    v.api_key = info.key;
    v.min_version = mn;
    v.max_version = mx;
    resp.api_keys.push_back(v);
  }
  if (req->api_version > 4 || req->api_version < 0) {
    // KIP-511: answer an unknown version with a v0 response carrying the error
    // and our ranges, so the client can pick a version and retry.
    resp.error_code = code(ErrorCode::UNSUPPORTED_VERSION);
    net::Response r;
    r.header_version = 0;
    resp.encode(r.body, 0);
    respond(std::move(r));
    return;
  }
  ApiVersionsRequest request;
  if (!decode(*req, request)) {
    resp.error_code = code(ErrorCode::INVALID_REQUEST);
  } else if (telemetry_ && !request.client_software_name.empty()) {
    // KIP-714's client_software_name/version selectors.
    telemetry_->note_client_software(req->connection_id, request.client_software_name, request.client_software_version);
  }
  for (const auto& f : supported_features()) {
    ApiVersionsResponse::SupportedFeatureKey k;
    k.name = f.name;
    k.min_version = f.min_version;
    k.max_version = f.max_version;
    resp.supported_features.push_back(k);
  }
  auto image = replicas_.image();
  for (const auto& [name, level] : image->features()) {
    ApiVersionsResponse::FinalizedFeatureKey k;
    k.name = name;
    k.min_version_level = level;
    k.max_version_level = level;
    resp.finalized_features.push_back(k);
  }
  resp.finalized_features_epoch = image->offset();
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
