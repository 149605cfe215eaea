// DeleteRecords (KIP-107): the leader moves its log start offset, followers
// follow through their fetches; the answer waits (up to TimeoutMs) until every
// in-sync replica's log starts there too — the "low watermark".
#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/delayed_response.h"
#include "broker/request_handler.h"
#include "common/clock.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using namespace api::prelude;

void RequestHandler::handle_delete_records(std::shared_ptr<net::Request> req, net::Respond respond) {
  DeleteRecordsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  auto resp = std::make_shared<DeleteRecordsResponse>();
  struct Waiting {
    size_t topic, partition;
    std::string name;
    int32_t index;
    int64_t offset;
  };
  auto waiting = std::make_shared<std::vector<Waiting>>();
  std::vector<std::string> names;
  if (authorizer_)
    for (const auto& t : request.topics) names.push_back(t.name);
  const Verdict verdict = authorize_topics(authz(*req), AclOperation::DELETE, names);
  for (const auto& t : request.topics) {
    DeleteRecordsResponse::DeleteRecordsTopicResult tr;
    tr.name = t.name;
    for (const auto& dp : t.partitions) {
      DeleteRecordsResponse::DeleteRecordsPartitionResult pr;
      pr.partition_index = dp.partition_index;
      pr.low_watermark = -1;
      Partition* p = replicas_.find(t.name, dp.partition_index);
      if (verdict.refuses(t.name)) {
        pr.error_code = code(verdict.item_error);
      } else if (!p) {
        pr.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      } else if (!p->is_leader(config_.node_id)) {
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
      } else {
        // -1: everything committed (Kafka's DeleteRecordsRequest.HIGH_WATERMARK).
        int64_t offset = dp.offset == -1 ? p->high_watermark() : dp.offset;
        if (offset < 0 || offset > p->high_watermark()) {
          pr.error_code = code(ErrorCode::OFFSET_OUT_OF_RANGE);
        } else {
          replicas_.delete_records_before(*p, offset);
          waiting->push_back(Waiting{resp->topics.size(), tr.partitions.size(), t.name, dp.partition_index, offset});
        }
      }
      tr.partitions.push_back(pr);
    }
    resp->topics.push_back(std::move(tr));
  }
  // Done when each partition's low watermark passed its offset (or it moved away).
  auto check = [this, resp, waiting](bool final) {
    bool all = true;
    for (const auto& w : *waiting) {
      auto& pr = resp->topics[w.topic].partitions[w.partition];
      if (pr.low_watermark >= w.offset || pr.error_code != 0) continue;
      Partition* p = replicas_.find(w.name, w.index);
      if (!p || !p->is_leader(config_.node_id)) {
        pr.error_code = code(ErrorCode::NOT_LEADER_OR_FOLLOWER);
        continue;
      }
      int64_t low = replicas_.low_watermark(*p);
      if (low >= w.offset) {
        pr.low_watermark = low;
      } else if (final) {
        pr.error_code = code(ErrorCode::REQUEST_TIMED_OUT);
      } else {
        all = false;
      }
    }
    return all;
  };
  if (check(false)) return send(*req, respond, *resp);
  std::vector<std::string> keys;
  for (const auto& w : *waiting) keys.push_back(ReplicaManager::key(w.name, w.index));
  respond_when_settled(
      replicas_, std::move(req), std::move(respond), resp, monotonic_ms() + std::max<int32_t>(request.timeout_ms, 0), std::move(keys),
      [check]() { return check(false); }, [check]() { check(true); });
}

}  // namespace flotilla::broker
