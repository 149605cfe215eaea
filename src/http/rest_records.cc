// REST API v3 produce (Confluent kafka-rest's openapi.yaml, "Records (v3)"):
//   POST /v3/clusters/{cluster_id}/topics/{topic_name}/records
// The body is one ProduceRequest JSON object, or several concatenated (the
// streaming mode): each record is produced in order and answered by its own
// ProduceResponse object (error_code 200 with partition, offset, timestamp,
// key/value type and size; or the record's error_code and message), the
// answers concatenated in the same order, one per line. A record's error
// (bad base64 400, unknown partition 404/40403, a Kafka error) does not stop
// the others; a value that is not JSON ends the stream with a 400 answer.
// With a single record the HTTP status is that record's (200, 400, 404...);
// with several it is 200 and each answer carries its own error_code, as in
// kafka-rest's streaming responses. Before any record: unknown cluster 404,
// unknown (or not DESCRIBE-able) topic 404/40403, empty body 422.
//
// Placement: partition_id when given; a keyed record goes where Kafka's
// default partitioner puts it (protocol/murmur2.h); unkeyed records go
// round-robin over the partitions. Each record is one record batch v2
// (CreateTime, no producer id) sent with Produce (acks=all) to the
// partition's leader: this node's broker API as the HTTP user, or another
// broker as this node once the HTTP user's WRITE on the topic is authorized.
//
// Threading: HTTP worker threads; the round-robin counter is one relaxed atomic.
#include <atomic>
#include <chrono>

#include "common/error.h"
#include "http/rest_common.h"
#include "http/rest_groups_calls.h"
#include "http/rest_records_input.h"
#include "http/rest_routes.h"
#include "protocol/messages.h"
#include "protocol/murmur2.h"

namespace flotilla::http {

namespace {

using namespace rest;

constexpr int16_t kProduceVersion = 9;  // flexible, by topic name
constexpr int32_t kProduceTimeoutMs = 30000;

std::atomic<uint32_t> g_round_robin{0};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int32_t choose_partition(const ProduceInput& in, int32_t count) {
  if (in.partition_id) {
    if (*in.partition_id >= count) fail(404, kUnknownTopicOrPartitionCode, "Partition not found.");
    return *in.partition_id;
  }
  if (in.key && in.key->bytes) return protocol::partition_for_key(*in.key->bytes, count);
  return static_cast<int32_t>(g_round_robin.fetch_add(1, std::memory_order_relaxed) % static_cast<uint32_t>(count));
}

json part_json(const RecordPart& p) {
  return json{{"type", p.type}, {"size", p.bytes ? static_cast<int64_t>(p.bytes->size()) : int64_t{-1}}};
}

// Produces one record; its ProduceResponse (error_code 200). Throws RestError.
json produce_one(NodeView& node, const HttpRequest& req, const std::string& cluster, const std::string& topic,
                 const json& record) {
  ProduceInput in = parse_record(record);
  auto image = node.image();
  const auto& t = require_topic(node, req, *image, topic);
  if (t.partitions.empty()) unknown_topic_or_partition();
  const int32_t partition = choose_partition(in, static_cast<int32_t>(t.partitions.size()));
  auto pit = t.partitions.find(partition);
  if (pit == t.partitions.end()) fail(404, kUnknownTopicOrPartitionCode, "Partition not found.");
  const int32_t leader = pit->second.leader;
  if (leader < 0) throw kafka_error(code(ErrorCode::LEADER_NOT_AVAILABLE));
  if (remote(node, leader))
    authorize_or_fail(node, req, security::AclOperation::WRITE, security::ResourceType::TOPIC, topic,
                      code(ErrorCode::TOPIC_AUTHORIZATION_FAILED));

  const int64_t timestamp = in.timestamp_ms.value_or(now_ms());
  records::BatchBuilder batch;
  auto span_of = [](const std::optional<RecordPart>& p) -> std::optional<std::span<const uint8_t>> {
    if (!p || !p->bytes) return std::nullopt;
    return std::span<const uint8_t>(*p->bytes);
  };
  batch.add(timestamp, span_of(in.key), span_of(in.value), in.headers);

  msg::ProduceRequest produce;
  produce.acks = -1;
  produce.timeout_ms = kProduceTimeoutMs;
  msg::ProduceRequest::TopicProduceData td;
  td.name = topic;
  msg::ProduceRequest::PartitionProduceData pd;
  pd.index = partition;
  pd.records = Records::of_bytes(batch.build());
  td.partition_data.push_back(std::move(pd));
  produce.topic_data.push_back(std::move(td));

  auto resp = call_at<msg::ProduceResponse>(node, req, produce, kProduceVersion, leader);
  if (resp.responses.empty() || resp.responses.front().partition_responses.empty())
    fail(500, kKafkaErrorCode, "Produce answered no partition");
  const auto& pr = resp.responses.front().partition_responses.front();
  check_kafka(pr.error_code, pr.error_message);

  json out = json::object();
  out["error_code"] = 200;
  out["cluster_id"] = cluster;
  out["topic_name"] = topic;
  out["partition_id"] = partition;
  out["offset"] = pr.base_offset;
  out["timestamp"] = format_iso8601(pr.log_append_time_ms >= 0 ? pr.log_append_time_ms : timestamp);
  if (in.key) out["key"] = part_json(*in.key);
  if (in.value) out["value"] = part_json(*in.value);
  return out;
}

struct Answer {
  int status = 200;
  json body;
};

Answer answer_one(NodeView& node, const HttpRequest& req, const std::string& cluster, const std::string& topic,
                  const BodyValue& v) {
  if (!v.value) return {400, json{{"error_code", kBadRequestCode}, {"message", v.error}}};
  try {
    return {200, produce_one(node, req, cluster, topic, *v.value)};
  } catch (const RestError& e) {
    return {e.status, json{{"error_code", e.error_code}, {"message", e.what()}}};
  }
}

}  // namespace

void add_rest_record_routes(Router& router, NodeView& node, const HttpOptions& /*options*/) {
  router.post("/v3/clusters/([^/]+)/topics/([^/]+)/records",
              rest_handler([&node](const HttpRequest& req, HttpResponse& resp) {
                const std::string& cluster = req.matches.at(1);
                const std::string& topic = req.matches.at(2);
                auto image = require_cluster(node, cluster);
                require_topic(node, req, *image, topic);
                auto values = split_records(req.body);
                if (values.empty()) fail(422, kPayloadErrorCode, "Payload error. Request body is empty. Data is required.");
                if (values.size() == 1) {
                  auto a = answer_one(node, req, cluster, topic, values.front());
                  set_json(resp, a.body, a.status);
                  return;
                }
                std::string body;
                for (const auto& v : values) {
                  body += answer_one(node, req, cluster, topic, v).body.dump(-1, ' ', false, json::error_handler_t::replace);
                  body += '\n';
                }
                resp.status = 200;
                resp.content_type = "application/json";
                resp.body = std::move(body);
              }));
}

}  // namespace flotilla::http
