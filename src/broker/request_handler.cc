#include "broker/request_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/api_util.h"
#include "broker/topic_config.h"
#include "common/clock.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "storage/log.h"

namespace flotilla::broker {
namespace {

using namespace flotilla::msg;

constexpr int16_t kProduce = 0, kFetch = 1, kListOffsets = 2, kMetadata = 3, kApiVersions = 18, kCreateTopics = 19, kDeleteTopics = 20,
                  kDescribeConfigs = 32, kCreatePartitions = 37, kDescribeCluster = 60, kOffsetForLeaderEpoch = 23, kDeleteRecords = 21;
constexpr int16_t kDescribeLogDirs = 35;
constexpr int16_t kOffsetCommit = 8, kOffsetFetch = 9, kFindCoordinator = 10, kJoinGroup = 11, kHeartbeat = 12, kLeaveGroup = 13,
                  kSyncGroup = 14, kDescribeGroups = 15, kListGroups = 16, kDeleteGroups = 42, kOffsetDelete = 47;  // group_apis.cc
constexpr int16_t kConsumerGroupHeartbeat = 68, kConsumerGroupDescribe = 69;  // consumer_group_apis.cc
constexpr int16_t kInitProducerId = 22, kAddPartitionsToTxn = 24, kAddOffsetsToTxn = 25, kEndTxn = 26, kWriteTxnMarkers = 27,
                  kTxnOffsetCommit = 28, kDescribeProducers = 61, kDescribeTransactions = 65, kListTransactions = 66;  // txn_apis.cc
constexpr int16_t kAlterConfigs = 33, kElectLeaders = 43, kIncrementalAlterConfigs = 44, kAlterPartitionReassignments = 45,
                  kListPartitionReassignments = 46, kUnregisterBroker = 64;  // admin_apis.cc

// The client APIs a broker listener serves, with the versions we serve. Fetch
// starts at 4 because older versions need message-format down-conversion.
struct Served {
  int16_t key, min, max;
};
constexpr Served kBrokerApis[] = {
    {kProduce, 0, 11},       {kFetch, 4, 17},         {kListOffsets, 0, 10},       {kMetadata, 0, 12},       {kApiVersions, 0, 4},
    {kCreateTopics, 0, 7},   {kDeleteTopics, 0, 6},   {kDescribeConfigs, 0, 4},    {kCreatePartitions, 0, 3}, {kDescribeCluster, 0, 1},
    {kOffsetForLeaderEpoch, 0, 4}, {kDeleteRecords, 0, 2},
    {kDescribeLogDirs, 0, 4},
    {kOffsetCommit, 0, 9}, {kOffsetFetch, 0, 9}, {kFindCoordinator, 0, 5}, {kJoinGroup, 0, 9}, {kHeartbeat, 0, 4}, {kLeaveGroup, 0, 5},
    {kSyncGroup, 0, 5}, {kDescribeGroups, 0, 5}, {kListGroups, 0, 5}, {kDeleteGroups, 0, 2}, {kOffsetDelete, 0, 0},  // group_apis.cc
    {kConsumerGroupHeartbeat, 0, 1}, {kConsumerGroupDescribe, 0, 0},  // consumer_group_apis.cc
    // Transactions as Kafka 3.9 serves them to clients (transaction.version 0:
    // no KIP-890 part 2 versions); AddPartitionsToTxn v4+ is broker-to-broker verification (not used).
    {kInitProducerId, 0, 5}, {kAddPartitionsToTxn, 0, 3}, {kAddOffsetsToTxn, 0, 3}, {kEndTxn, 0, 3}, {kWriteTxnMarkers, 0, 1},
    {kTxnOffsetCommit, 0, 3}, {kDescribeProducers, 0, 0}, {kDescribeTransactions, 0, 0}, {kListTransactions, 0, 1},
    {kAlterConfigs, 0, 2}, {kElectLeaders, 0, 2}, {kIncrementalAlterConfigs, 0, 1}, {kAlterPartitionReassignments, 0, 0},
    {kListPartitionReassignments, 0, 0}, {kUnregisterBroker, 0, 0},
};

using api::close_connection;
using api::decode;
using api::send;

bool valid_topic_name(const std::string& n) {
  if (n.empty() || n.size() > 249 || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; });
}

// The first record with timestamp >= ts, as Kafka answers ListOffsets: the
// log finds the batch (by its time index), then that batch's records decide.
std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(storage::Log& log, int64_t ts, int64_t hw) {
  auto found = log.offset_for_timestamp(ts);
  while (found && found->first < hw) {
    storage::ReadResult rr = log.read(found->first, 1, hw, true);
    ByteWriter w;
    w.put_records_payload(rr.records);
    std::vector<uint8_t> bytes = w.flatten();
    int64_t next = -1;
    bool any = false;
    records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
      if (any) return;
      any = true;
      next = h.last_offset() + 1;
      if (h.max_timestamp < ts) return;
      for (const auto& r : records::decode_records(batch)) {
        if (r.offset >= found->first && r.timestamp >= ts) {
          found = std::make_pair(r.offset, r.timestamp);
          next = -2;
          return;
        }
      }
    });
    if (next == -2) return found;
    if (!any || next < 0 || next >= hw) return std::nullopt;
    found = std::make_pair(next, int64_t{-1});  // the batch held nothing late enough: look further
  }
  return std::nullopt;
}

}  // namespace

RequestHandler::RequestHandler(const BrokerConfig& config, ReplicaManager& replicas, ControllerChannel* controller, ExtraApis* extra,
                               bool broker_apis)
    : config_(config), replicas_(replicas), controller_(controller), extra_(extra), broker_apis_(broker_apis) {}

const std::vector<FeatureRange>& RequestHandler::supported_features() {
  // metadata.version 1 (3.0-IV1) .. 21 (3.9-IV0); kraft.version 0..1 (KIP-853).
  static const std::vector<FeatureRange> f = {{"kraft.version", 0, 1}, {"metadata.version", 1, 21}};
  return f;
}

std::pair<int16_t, int16_t> RequestHandler::served_range(int16_t key) const {
  if (extra_) {
    int16_t mx = extra_->max_version(key);
    if (mx >= 0) return {extra_->min_version(key), mx};
  }
  if (key == kApiVersions) return {0, 4};
  if (!broker_apis_) return {-1, -1};
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
      default: break;
    }
  } catch (const std::exception& e) {
    // A bug, not bad input (decoding errors are handled per API): keep serving
    // everyone else, drop this connection so the client retries cleanly.
    spdlog::error("[KafkaApi] Unexpected error handling API key {} v{} from {}: {}", req->api_key, req->api_version, req->peer, e.what());
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

int32_t RequestHandler::controller_id_for_clients() const {
  // KRaft brokers tell clients a live broker as "controller": admin requests
  // sent there are forwarded to the active controller.
  return config_.node_id;
}

void RequestHandler::handle_metadata(std::shared_ptr<net::Request> req, net::Respond respond) {
  MetadataRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto image = replicas_.image();
  MetadataResponse resp;
  for (const auto& [id, b] : image->brokers()) {
    if (b.fenced) continue;
    for (const auto& ep : b.listeners) {
      if (ep.name != req->listener) continue;
      MetadataResponse::MetadataResponseBroker mb;
      mb.node_id = id;
      mb.host = ep.host;
      mb.port = ep.port;
      mb.rack = b.rack;
      resp.brokers.push_back(mb);
    }
  }
  resp.cluster_id = config_.cluster_id;
  resp.controller_id = controller_id_for_clients();

  auto describe = [&](const metadata::TopicImage& t) {
    MetadataResponse::MetadataResponseTopic mt;
    mt.name = t.name;
    mt.topic_id = t.id;
    mt.is_internal = false;
    if (t.name == "__consumer_offsets") mt.is_internal = true;  // the group coordinator's topic, internal as in Kafka
    for (const auto& [idx, p] : t.partitions) {
      MetadataResponse::MetadataResponsePartition mp;
      mp.partition_index = idx;
      mp.leader_id = p.leader;
      mp.leader_epoch = p.leader_epoch;
      mp.replica_nodes = p.replicas;
      mp.isr_nodes = p.isr;
      for (int32_t r : p.replicas) {
        auto bit = image->brokers().find(r);
        if (bit == image->brokers().end() || bit->second.fenced) mp.offline_replicas.push_back(r);
      }
      mp.error_code = code(p.leader < 0 ? ErrorCode::LEADER_NOT_AVAILABLE : ErrorCode::NONE);
      mt.partitions.push_back(mp);
    }
    return mt;
  };

  bool all = !request.topics.has_value() || (req->api_version == 0 && request.topics->empty());
  if (all) {
    for (const auto& [name, t] : image->topics_by_name()) resp.topics.push_back(describe(t));
  } else {
    std::vector<std::string> to_create;
    for (const auto& rt : *request.topics) {
      if (!rt.name.has_value()) {
        const metadata::TopicImage* t = image->topic(rt.topic_id);
        if (t) {
          resp.topics.push_back(describe(*t));
        } else {
          MetadataResponse::MetadataResponseTopic mt;
          mt.name = std::nullopt;
          mt.topic_id = rt.topic_id;
          mt.error_code = code(ErrorCode::UNKNOWN_TOPIC_ID);
          resp.topics.push_back(mt);
        }
        continue;
      }
      const std::string& name = *rt.name;
      if (const metadata::TopicImage* t = image->topic(name)) {
        resp.topics.push_back(describe(*t));
        continue;
      }
      MetadataResponse::MetadataResponseTopic mt;
      mt.name = name;
      if (!valid_topic_name(name)) {
        mt.error_code = code(ErrorCode::INVALID_TOPIC_EXCEPTION);
      } else if (config_.auto_create_topics_enable && request.allow_auto_topic_creation && controller_) {
        mt.error_code = code(ErrorCode::LEADER_NOT_AVAILABLE);
        to_create.push_back(name);
      } else {
        mt.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      }
      resp.topics.push_back(mt);
    }
    if (!to_create.empty()) {
      CreateTopicsRequest create;
      for (const auto& n : to_create) {
        CreateTopicsRequest::CreatableTopic ct;
        ct.name = n;
        ct.num_partitions = config_.num_partitions;
        ct.replication_factor = config_.default_replication_factor;
        create.topics.push_back(ct);
      }
      spdlog::info("[KafkaApi] Auto-creating topics {}", fmt::join(to_create, ","));
      controller_->create_topics(std::move(create), 7, [](CreateTopicsResponse r) {
        for (const auto& t : r.topics)
          if (t.error_code != 0 && t.error_code != code(ErrorCode::TOPIC_ALREADY_EXISTS))
            spdlog::warn("[KafkaApi] Auto-creation of topic {} failed: {}", t.name, error_name(t.error_code));
      });
    }
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_produce(std::shared_ptr<net::Request> req, net::Respond respond) {
  ProduceRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto resp = std::make_shared<ProduceResponse>();
  bool any_error = false;
  const bool acks_ok = request.acks == 0 || request.acks == 1 || request.acks == -1;
  auto waiting = std::make_shared<std::vector<ProduceWaiting>>();
  // Appends whose write went to the AppendWriter: answered once it is done.
  struct Deferred {
    size_t topic, partition;  // indexes into resp
    std::string topic_name;
    int32_t index;
    size_t first_write, end_write;  // their writes in `batch`
  };
  auto batch = std::make_shared<storage::WriteBatch>();
  auto deferred = std::make_shared<std::vector<Deferred>>();
  uint8_t* frame_base = req->frame->data();
  for (auto& td : request.topic_data) {
    ProduceResponse::TopicProduceResponse tr;
    tr.name = td.name;
    for (auto& pd : td.partition_data) {
      ProduceResponse::PartitionProduceResponse pr;
      pr.index = pd.index;
      Partition* p = replicas_.find(td.name, pd.index);
      if (!acks_ok) {
        pr.error_code = code(ErrorCode::INVALID_REQUIRED_ACKS);
      } else if (!p) {
        pr.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (!p->is_leader(config_.node_id)) {
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        pr.current_leader.leader_id = p->leader_id;
        pr.current_leader.leader_epoch = p->leader_epoch;
      } else if (pd.records.is_null || pd.records.view.empty()) {
        pr.error_code = code(ErrorCode::CORRUPT_MESSAGE);
        pr.error_message = "Produce request contained no record batches";
      } else if (request.acks == -1 && static_cast<int32_t>(p->isr.size()) < p->min_insync_replicas) {
        // Kafka refuses before appending: the write could not become durable as asked.
        pr.error_code = code(ErrorCode::NOT_ENOUGH_REPLICAS);
        pr.error_message = "The size of the current ISR " + std::to_string(p->isr.size()) + " is insufficient to satisfy the min.isr requirement of " +
                           std::to_string(p->min_insync_replicas) + " for partition " + td.name + "-" + std::to_string(pd.index);
      } else {
        // The records view points into this request's own frame, which we own:
        // offsets are assigned in place, nothing is copied.
        size_t off = static_cast<size_t>(pd.records.view.data() - frame_base);
        std::span<uint8_t> payload(frame_base + off, pd.records.view.size());
        const size_t writes_before = batch->writes.size();
        AppendResult ar = replicas_.append(*p, payload, AppendOrigin::Client, batch.get());
        pr.error_code = code(ar.error);
        if (batch->writes.size() > writes_before)
          deferred->push_back(Deferred{resp->responses.size(), tr.partition_responses.size(), td.name, pd.index, writes_before, batch->writes.size()});
        if (ar.error == ErrorCode::NONE) {
          pr.base_offset = ar.base_offset;
          pr.log_append_time_ms = ar.log_append_time;
          pr.log_start_offset = ar.log_start_offset;
          if (request.acks == -1 && p->high_watermark() <= ar.last_offset)
            waiting->push_back(ProduceWaiting{resp->responses.size(), tr.partition_responses.size(), td.name, pd.index, p->leader_epoch,
                                       ar.last_offset + 1});
        } else if (!ar.message.empty()) {
          pr.error_message = ar.message;
        }
      }
      if (pr.error_code != 0) any_error = true;
      tr.partition_responses.push_back(std::move(pr));
    }
    resp->responses.push_back(std::move(tr));
  }
  if (deferred->empty()) return finish_produce(std::move(req), std::move(respond), request.acks, request.timeout_ms, any_error, resp, waiting);
  // The request's frame holds the bytes being written.
  batch->keepalive = req;
  replicas_.submit_writes(batch, [this, req = std::move(req), respond = std::move(respond), acks = request.acks, timeout_ms = request.timeout_ms,
                                  any_error, resp, waiting, batch, deferred]() mutable {
    for (const auto& d : *deferred) {
      auto& pr = resp->responses[d.topic].partition_responses[d.partition];
      Partition* p = replicas_.find(d.topic_name, d.index);
      if (p) replicas_.after_written(*p);
      // Failed: its own write, or one before it (then nothing after that hole is visible).
      bool failed = p && p->log->failed() && p->log->log_end_offset() < batch->writes[d.end_write - 1]->end_offset;
      for (size_t i = d.first_write; i < d.end_write; ++i) failed = failed || batch->writes[i]->error != 0;
      if (failed) {
        pr.error_code = code(ErrorCode::KAFKA_STORAGE_ERROR);
        pr.error_message = "the write to the log failed";
        pr.base_offset = -1;
        any_error = true;
      }
    }
    finish_produce(std::move(req), std::move(respond), acks, timeout_ms, any_error, resp, waiting);
  });
}

// The part of a Produce after its appends are written: the answer, at once or
// (acks=all) from the produce purgatory.
void RequestHandler::finish_produce(std::shared_ptr<net::Request> req, net::Respond respond, int16_t acks, int32_t timeout_ms, bool any_error,
                                    std::shared_ptr<ProduceResponse> resp, std::shared_ptr<std::vector<ProduceWaiting>> waiting) {
  if (acks == 0) {
    // No response is expected; on error Kafka closes the connection so the
    // producer notices and refreshes its metadata.
    net::Response r;
    r.send = false;
    r.close_after = any_error;
    respond(std::move(r));
    return;
  }
  if (waiting->empty()) return send(*req, respond, *resp);

  // The produce purgatory: done when every partition's high watermark passed
  // its records, or the partition stopped being led here, or timeout_ms.
  auto check = [this, resp, waiting]() {
    bool all = true;
    for (auto& w : *waiting) {
      if (w.done) continue;
      auto& pr = resp->responses[w.topic].partition_responses[w.partition];
      if (pr.error_code != 0) {  // its write failed
        w.done = true;
        continue;
      }
      Partition* p = replicas_.find(w.topic_name, w.index);
      if (!p || !p->is_leader(config_.node_id) || p->leader_epoch != w.leader_epoch) {
        // The records may or may not survive the new leader: the producer retries.
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        pr.base_offset = -1;
        if (p) {
          pr.current_leader.leader_id = p->leader_id;
          pr.current_leader.leader_epoch = p->leader_epoch;
        }
        w.done = true;
      } else if (p->high_watermark() >= w.required_offset) {
        if (static_cast<int32_t>(p->isr.size()) < p->min_insync_replicas) {
          pr.error_code = code(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
          pr.base_offset = -1;
        }
        w.done = true;
      } else {
        all = false;
      }
    }
    return all;
  };
  if (check()) return send(*req, respond, *resp);
  std::vector<std::string> keys;
  for (const auto& w : *waiting) keys.push_back(ReplicaManager::key(w.topic_name, w.index));
  auto shared_respond = std::make_shared<net::Respond>(std::move(respond));
  replicas_.delay(
      monotonic_ms() + std::max<int32_t>(timeout_ms, 0), std::move(keys),
      [req, resp, check, shared_respond]() {
        if (!check()) return false;
        send(*req, *shared_respond, *resp);
        return true;
      },
      [req, resp, waiting, check, shared_respond]() {
        check();
        for (auto& w : *waiting) {
          if (w.done) continue;
          auto& pr = resp->responses[w.topic].partition_responses[w.partition];
          pr.error_code = code(ErrorCode::REQUEST_TIMED_OUT);
          pr.base_offset = -1;
        }
        send(*req, *shared_respond, *resp);
      });
}

void RequestHandler::handle_fetch(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto request = std::make_shared<FetchRequest>();
  if (!decode(*req, *request)) return close_connection(respond);
  const int16_t v = req->api_version;
  const int32_t replica_id = v >= 15 ? request->replica_state.replica_id : request->replica_id;

  // One evaluation of the fetch against the logs' current state. Returns the
  // bytes found and fills `out`; `has_error` reports a partition-level error
  // (which answers at once, as Kafka does).
  auto evaluate = [this, request, v, replica_id](FetchResponse& out, bool& has_error) -> int64_t {
    out = FetchResponse();
    out.session_id = 0;
    has_error = false;
    int64_t total = 0;
    int64_t budget = v >= 3 ? std::min<int64_t>(request->max_bytes, config_.fetch_max_bytes) : INT32_MAX;
    for (const auto& ft : request->topics) {
      FetchResponse::FetchableTopicResponse tr;
      tr.topic = ft.topic;
      tr.topic_id = ft.topic_id;
      std::string name = ft.topic;
      bool unknown_id = false;
      if (v >= 13) {
        const metadata::TopicImage* t = replicas_.image()->topic(ft.topic_id);
        if (t) name = t->name;
        else unknown_id = true;
      }
      for (const auto& fp : ft.partitions) {
        FetchResponse::PartitionData pd;
        pd.partition_index = fp.partition;
        pd.records = Records::of_view({});
        Partition* p = unknown_id ? nullptr : replicas_.find(name, fp.partition);
        if (unknown_id) {
          pd.error_code = code(ErrorCode::UNKNOWN_TOPIC_ID);
        } else if (!p) {
          pd.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        } else if (!p->is_leader(config_.node_id) && (replica_id >= 0 || v < 11)) {
          // Followers serve consumers (KIP-392, Fetch v11+), never other replicas.
          pd.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
          pd.current_leader.leader_id = p->leader_id;
          pd.current_leader.leader_epoch = p->leader_epoch;
        } else if (fp.current_leader_epoch >= 0 && fp.current_leader_epoch < p->leader_epoch) {
          pd.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
        } else if (fp.current_leader_epoch > p->leader_epoch) {
          pd.error_code = code(ErrorCode::UNKNOWN_LEADER_EPOCH);
        } else {
          int64_t hw = p->high_watermark();
          const int64_t lso = replicas_.last_stable_offset(*p);
          const bool read_committed = replica_id < 0 && request->isolation_level == 1;
          pd.high_watermark = hw;
          pd.last_stable_offset = lso;
          pd.log_start_offset = p->log->log_start_offset();
          // Replicas read everything the leader has; consumers what is
          // committed, read_committed ones only below the last stable offset.
          int64_t max_offset = replica_id >= 0 ? p->log->log_end_offset() : read_committed ? lso : hw;
          int32_t preferred = replica_id < 0 && v >= 11 && p->is_leader(config_.node_id) ? preferred_read_replica(*p, request->rack_id) : -1;
          if (preferred >= 0) {
            // KIP-392: no data; the consumer fetches from the replica in its rack.
            pd.preferred_read_replica = preferred;
            tr.partitions.push_back(std::move(pd));
            continue;
          }
          if (read_committed) {
            // The aborted transactions overlapping what can be returned: the consumer drops their records.
            pd.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{};
            if (fp.fetch_offset < lso)
              for (const storage::AbortedTxn& a : p->log->collect_aborted_transactions(fp.fetch_offset, lso))
                pd.aborted_transactions->push_back({a.producer_id, a.first_offset});
          }
          try {
            int64_t limit = std::min<int64_t>(fp.partition_max_bytes, std::max<int64_t>(budget, 0));
            bool min_one = v >= 3 && total == 0;
            if (limit > 0 || min_one) {
              storage::ReadResult rr = p->log->read(fp.fetch_offset, static_cast<int32_t>(std::max<int64_t>(limit, 0)), max_offset, min_one);
              pd.records = std::move(rr.records);
              pd.records.is_null = false;
              int64_t n = pd.records.size();
              total += n;
              budget -= n;
            }
          } catch (const storage::OffsetOutOfRange&) {
            pd.error_code = code(ErrorCode::OFFSET_OUT_OF_RANGE);
          }
        }
        if (pd.error_code != 0) has_error = true;
        tr.partitions.push_back(std::move(pd));
      }
      out.responses.push_back(std::move(tr));
    }
    return total;
  };

  if (replica_id >= 0) {
    // A follower's FetchOffset is its log end offset: what the leader's high
    // watermark and ISR decisions go by. Recorded once, at arrival.
    const int64_t replica_epoch = v >= 15 ? request->replica_state.replica_epoch : -1;
    for (const auto& ft : request->topics) {
      const metadata::TopicImage* t = v >= 13 ? replicas_.image()->topic(ft.topic_id) : replicas_.image()->topic(ft.topic);
      if (!t) continue;
      for (const auto& fp : ft.partitions) {
        Partition* p = replicas_.find(t->name, fp.partition);
        if (p && p->is_leader(config_.node_id) && (fp.current_leader_epoch < 0 || fp.current_leader_epoch == p->leader_epoch))
          replicas_.on_follower_fetch(*p, replica_id, replica_epoch, fp.fetch_offset, v >= 5 ? fp.log_start_offset : -1);
      }
    }
  }

  auto resp = std::make_shared<FetchResponse>();
  bool has_error = false;
  int64_t bytes = evaluate(*resp, has_error);
  if (has_error || bytes >= std::max(1, request->min_bytes) || request->max_wait_ms <= 0 || request->topics.empty()) {
    send(*req, respond, *resp);
    return;
  }
  // Wait in purgatory until enough data arrives or max.wait.ms passes.
  auto shared_respond = std::make_shared<net::Respond>(std::move(respond));
  auto done = std::make_shared<bool>(false);
  int64_t deadline = monotonic_ms() + request->max_wait_ms;
  std::vector<std::string> keys;
  for (const auto& ft : request->topics) {
    std::string name = ft.topic;
    if (v >= 13) {
      const metadata::TopicImage* t = replicas_.image()->topic(ft.topic_id);
      if (!t) continue;
      name = t->name;
    }
    for (const auto& fp : ft.partitions) keys.push_back(ReplicaManager::key(name, fp.partition));
  }
  replicas_.delay(
      deadline, std::move(keys),
      [req, request, evaluate, shared_respond, done]() {
        if (*done) return true;
        FetchResponse r;
        bool err = false;
        int64_t n = evaluate(r, err);
        if (!err && n < std::max(1, request->min_bytes)) return false;
        *done = true;
        send(*req, *shared_respond, r);
        return true;
      },
      [req, evaluate, shared_respond, done]() {
        if (*done) return;
        *done = true;
        FetchResponse r;
        bool err = false;
        evaluate(r, err);
        send(*req, *shared_respond, r);
      });
}

int32_t RequestHandler::preferred_read_replica(const Partition& p, const std::string& client_rack) const {
  if (!config_.rack_aware_replica_selector || client_rack.empty()) return -1;
  auto image = replicas_.image();
  auto rack_of = [&](int32_t id) -> const std::optional<std::string>* {
    const metadata::BrokerRegistration* b = image->broker(id);
    return b && !b->fenced ? &b->rack : nullptr;
  };
  if (auto r = rack_of(config_.node_id); r && *r && **r == client_rack) return -1;  // the leader is in the rack already
  for (int32_t id : p.isr) {
    if (id == config_.node_id) continue;
    if (auto r = rack_of(id); r && *r && **r == client_rack) return id;
  }
  return -1;
}

void RequestHandler::handle_offset_for_leader_epoch(std::shared_ptr<net::Request> req, net::Respond respond) {
  OffsetForLeaderEpochRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  OffsetForLeaderEpochResponse resp;
  for (const auto& t : request.topics) {
    OffsetForLeaderEpochResponse::OffsetForLeaderTopicResult tr;
    tr.topic = t.topic;
    for (const auto& op : t.partitions) {
      OffsetForLeaderEpochResponse::EpochEndOffset eo;
      eo.partition = op.partition;
      Partition* p = replicas_.find(t.topic, op.partition);
      // Only the leader answers (a follower's log may still be behind or diverged);
      // the debugging replica id -2 may ask any replica, as in Kafka.
      bool leader_only = request.replica_id != -2;
      if (!p) {
        eo.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (op.current_leader_epoch >= 0 && op.current_leader_epoch < p->leader_epoch) {
        eo.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
      } else if (op.current_leader_epoch > p->leader_epoch) {
        eo.error_code = code(ErrorCode::UNKNOWN_LEADER_EPOCH);
      } else if (leader_only && !p->is_leader(config_.node_id)) {
        eo.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else {
        auto [epoch, end] = replicas_.end_offset_for_epoch(*p, op.leader_epoch);
        eo.leader_epoch = epoch;
        eo.end_offset = end;
      }
      tr.partitions.push_back(eo);
    }
    resp.topics.push_back(std::move(tr));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_list_offsets(std::shared_ptr<net::Request> req, net::Respond respond) {
  ListOffsetsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  ListOffsetsResponse resp;
  for (const auto& t : request.topics) {
    ListOffsetsResponse::ListOffsetsTopicResponse tr;
    tr.name = t.name;
    for (const auto& pr : t.partitions) {
      ListOffsetsResponse::ListOffsetsPartitionResponse out;
      out.partition_index = pr.partition_index;
      Partition* p = replicas_.find(t.name, pr.partition_index);
      if (!p) {
        out.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (!p->is_leader(config_.node_id)) {
        out.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else if (pr.current_leader_epoch >= 0 && pr.current_leader_epoch < p->leader_epoch) {
        out.error_code = code(ErrorCode::FENCED_LEADER_EPOCH);
      } else {
        // read_committed consumers (v2+) see the log up to the last stable offset.
        int64_t hw = req->api_version >= 2 && request.isolation_level == 1 ? replicas_.last_stable_offset(*p) : p->high_watermark();
        int64_t offset = -1, ts = -1;
        if (pr.timestamp == -2 || pr.timestamp == -4) {  // EARLIEST, EARLIEST_LOCAL
          offset = p->log->log_start_offset();
        } else if (pr.timestamp == -1 || pr.timestamp == -5) {  // LATEST, LATEST_TIERED
          offset = hw;
        } else if (pr.timestamp == -3) {  // MAX_TIMESTAMP (KIP-734)
          if (auto m = p->log->max_timestamp_and_offset()) {
            ts = m->first;
            offset = m->second;
          }
        } else if (pr.timestamp >= 0) {
          if (auto found = offset_for_timestamp(*p->log, pr.timestamp, hw)) {
            offset = found->first;
            ts = found->second;
          }
        } else {
          out.error_code = code(ErrorCode::INVALID_REQUEST);
        }
        out.offset = offset;
        out.timestamp = ts;
        out.leader_epoch = p->leader_epoch;
        if (req->api_version == 0) out.old_style_offsets = {offset};
      }
      tr.partitions.push_back(out);
    }
    resp.topics.push_back(std::move(tr));
  }
  send(*req, respond, resp);
}

void RequestHandler::handle_create_topics(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreateTopicsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!controller_) {
    CreateTopicsResponse resp;
    for (const auto& t : request.topics) {
      CreateTopicsResponse::CreatableTopicResult r;
      r.name = t.name;
      r.error_code = code(ErrorCode::NOT_CONTROLLER);
      resp.topics.push_back(r);
    }
    return send(*req, respond, resp);
  }
  controller_->create_topics(std::move(request), req->api_version, [this, req, respond](CreateTopicsResponse resp) mutable {
    // Answer once this broker's image holds what the controller committed, so
    // a Metadata request right after sees the topic and its logs exist.
    replicas_.when_image_reaches(replicas_.image()->offset(), [req, respond, resp]() mutable { send(*req, respond, resp); });
  });
}

void RequestHandler::handle_delete_topics(std::shared_ptr<net::Request> req, net::Respond respond) {
  DeleteTopicsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!config_.delete_topic_enable || !controller_) {
    DeleteTopicsResponse resp;
    auto err = code(!controller_ ? ErrorCode::NOT_CONTROLLER : ErrorCode::TOPIC_DELETION_DISABLED);
    for (const auto& n : request.topic_names) {
      DeleteTopicsResponse::DeletableTopicResult r;
      r.name = n;
      r.error_code = err;
      resp.responses.push_back(r);
    }
    for (const auto& t : request.topics) {
      DeleteTopicsResponse::DeletableTopicResult r;
      r.name = t.name;
      r.topic_id = t.topic_id;
      r.error_code = err;
      resp.responses.push_back(r);
    }
    return send(*req, respond, resp);
  }
  controller_->delete_topics(std::move(request), req->api_version, [req, respond](DeleteTopicsResponse resp) mutable { send(*req, respond, resp); });
}

void RequestHandler::handle_create_partitions(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreatePartitionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!controller_) {
    CreatePartitionsResponse resp;
    for (const auto& t : request.topics) {
      CreatePartitionsResponse::CreatePartitionsTopicResult r;
      r.name = t.name;
      r.error_code = code(ErrorCode::NOT_CONTROLLER);
      resp.results.push_back(r);
    }
    return send(*req, respond, resp);
  }
  controller_->create_partitions(std::move(request), req->api_version,
                                 [req, respond](CreatePartitionsResponse resp) mutable { send(*req, respond, resp); });
}

void RequestHandler::handle_describe_cluster(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeClusterRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  DescribeClusterResponse resp;
  resp.cluster_id = config_.cluster_id;
  resp.controller_id = controller_id_for_clients();
  if (request.endpoint_type != 1) {
    resp.error_code = code(ErrorCode::UNSUPPORTED_ENDPOINT_TYPE);
    resp.error_message = "Only brokers are described on a broker listener";
    return send(*req, respond, resp);
  }
  auto image = replicas_.image();
  for (const auto& [id, b] : image->brokers()) {
    if (b.fenced) continue;
    for (const auto& ep : b.listeners) {
      if (ep.name != req->listener) continue;
      DescribeClusterResponse::DescribeClusterBroker db;
      db.broker_id = id;
      db.host = ep.host;
      db.port = ep.port;
      db.rack = b.rack;
      resp.brokers.push_back(db);
    }
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
