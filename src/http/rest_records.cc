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
// round-robin over the partitions. The body's records are sent as Kafka's
// producer batches them: one Produce (acks=all) per leader, one record batch
// v2 per partition (CreateTime, no producer id; closed at 512 KiB), the
// records in body order (so their offsets follow that order); a partition's
// error answers each of its records. A leader is this node (its broker API,
// as the HTTP user) or another broker (as this node, once the HTTP user's
// WRITE on the topic is authorized here).
//
// Threading: HTTP worker threads; the round-robin counter is one relaxed atomic.
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <span>

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
constexpr int32_t kProduceTimeoutMs = 25000;  // answered before kafka_call gives up (30 s)

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

json error_json(int code, std::string_view message) { return json{{"error_code", code}, {"message", message}}; }

// One record of the body, parsed and placed (or answered already).
struct Slot {
  int status = 200;
  json answer;  // set once answered
  ProduceInput in;
  int32_t partition = -1;
  int32_t leader = -1;
  int64_t timestamp = 0;
};

// Parses and places one record: partition, leader, WRITE checked for another broker. Throws RestError.
void prepare(NodeView& node, const HttpRequest& req, const std::string& topic, const metadata::TopicImage& t,
             const json& record, Slot& slot) {
  slot.in = parse_record(record);
  if (t.partitions.empty()) unknown_topic_or_partition();
  slot.partition = choose_partition(slot.in, static_cast<int32_t>(t.partitions.size()));
  auto pit = t.partitions.find(slot.partition);
  if (pit == t.partitions.end()) fail(404, kUnknownTopicOrPartitionCode, "Partition not found.");
  slot.leader = pit->second.leader;
  if (slot.leader < 0) throw kafka_error(code(ErrorCode::LEADER_NOT_AVAILABLE));
  if (remote(node, slot.leader))
    authorize_or_fail(node, req, security::AclOperation::WRITE, security::ResourceType::TOPIC, topic,
                      code(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
  slot.timestamp = slot.in.timestamp_ms.value_or(now_ms());
}

std::optional<std::span<const uint8_t>> bytes_of(const std::optional<RecordPart>& p) {
  if (!p || !p->bytes) return std::nullopt;
  return std::span<const uint8_t>(*p->bytes);
}

// The placed records, sent as few Produce requests as Kafka's producer would:
// per leader one request, per partition one batch (records in body order),
// a batch closed at kMaxBatchBytes (under Kafka's default max.message.bytes).
class Sender {
 public:
  Sender(NodeView& node, const HttpRequest& req, std::string cluster, std::string topic, std::vector<Slot>& slots)
      : node_(node), req_(req), cluster_(std::move(cluster)), topic_(std::move(topic)), slots_(slots) {}

  void add(size_t index) {
    Slot& s = slots_[index];
    auto& pending = pending_[s.leader];
    auto& batch = pending[s.partition];
    size_t size = (s.in.key && s.in.key->bytes ? s.in.key->bytes->size() : 0) +
                  (s.in.value && s.in.value->bytes ? s.in.value->bytes->size() : 0);
    for (const auto& h : s.in.headers) size += h.key.size() + (h.value ? h.value->size() : 0);
    if (!batch.slots.empty() && batch.builder.estimated_size() + size > kMaxBatchBytes) {
      flush(s.leader);
      add(index);
      return;
    }
    batch.builder.add(s.timestamp, bytes_of(s.in.key), bytes_of(s.in.value), s.in.headers);
    batch.slots.push_back(index);
  }

  void flush_all() {
    while (!pending_.empty()) flush(pending_.begin()->first);
  }

 private:
  static constexpr size_t kMaxBatchBytes = 512 * 1024;
  struct Batch {
    records::BatchBuilder builder;
    std::vector<size_t> slots;  // indexes into slots_, in record order
  };

  void flush(int32_t leader) {
    auto node = pending_.extract(leader);
    auto& batches = node.mapped();
    msg::ProduceRequest produce;
    produce.acks = -1;
    produce.timeout_ms = kProduceTimeoutMs;
    msg::ProduceRequest::TopicProduceData td;
    td.name = topic_;
    for (auto& [partition, batch] : batches) {
      msg::ProduceRequest::PartitionProduceData pd;
      pd.index = partition;
      pd.records = Records::of_bytes(batch.builder.build());
      td.partition_data.push_back(std::move(pd));
    }
    produce.topic_data.push_back(std::move(td));
    try {
      auto resp = kafka_call<msg::ProduceResponse>(node_, req_, produce, kProduceVersion, kKafkaCallTimeout, leader);
      for (const auto& t : resp.responses)
        for (const auto& pr : t.partition_responses) {
          auto it = batches.find(pr.index);
          if (it == batches.end()) continue;
          answer(it->second, pr);
          batches.erase(it);
        }
      for (auto& [_, batch] : batches)  // partitions the broker did not answer
        fail_batch(batch, RestError(500, kKafkaErrorCode, "Produce answered no such partition"));
    } catch (const RestError& e) {
      for (auto& [_, batch] : batches) fail_batch(batch, e);
    }
  }

  void answer(const Batch& batch, const msg::ProduceResponse::PartitionProduceResponse& pr) {
    if (pr.error_code != 0) return fail_batch(batch, kafka_error(pr.error_code, pr.error_message.value_or("")));
    for (size_t i = 0; i < batch.slots.size(); ++i) {
      Slot& s = slots_[batch.slots[i]];
      json out = json::object();
      out["error_code"] = 200;
      out["cluster_id"] = cluster_;
      out["topic_name"] = topic_;
      out["partition_id"] = s.partition;
      out["offset"] = pr.base_offset + static_cast<int64_t>(i);
      out["timestamp"] = format_iso8601(pr.log_append_time_ms >= 0 ? pr.log_append_time_ms : s.timestamp);
      if (s.in.key) out["key"] = part_json(*s.in.key);
      if (s.in.value) out["value"] = part_json(*s.in.value);
      s.status = 200;
      s.answer = std::move(out);
    }
  }

  void fail_batch(const Batch& batch, const RestError& e) {
    for (size_t i : batch.slots) {
      slots_[i].status = e.status;
      slots_[i].answer = error_json(e.error_code, e.what());
    }
  }

  NodeView& node_;
  const HttpRequest& req_;
  std::string cluster_;
  std::string topic_;
  std::vector<Slot>& slots_;
  std::map<int32_t, std::map<int32_t, Batch>> pending_;  // leader -> partition -> batch
};

// Every record of the body answered, in order.
std::vector<Slot> produce_all(NodeView& node, const HttpRequest& req, const std::string& cluster,
                              const std::string& topic, const std::vector<BodyValue>& values) {
  auto image = node.image();
  const auto& t = require_topic(node, req, *image, topic);
  std::vector<Slot> slots(values.size());
  Sender sender(node, req, cluster, topic, slots);
  for (size_t i = 0; i < values.size(); ++i) {
    Slot& s = slots[i];
    if (!values[i].value) {
      s.status = 400;
      s.answer = error_json(kBadRequestCode, values[i].error);
      continue;
    }
    try {
      prepare(node, req, topic, t, *values[i].value, s);
    } catch (const RestError& e) {
      s.status = e.status;
      s.answer = error_json(e.error_code, e.what());
      continue;
    }
    sender.add(i);
  }
  sender.flush_all();
  return slots;
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
                if (values.empty())
                  fail(422, kPayloadErrorCode, "Payload error. Request body is empty. Data is required.");
                auto slots = produce_all(node, req, cluster, topic, values);
                if (slots.size() == 1) {
                  set_json(resp, slots.front().answer, slots.front().status);
                  return;
                }
                std::string body;
                for (const auto& s : slots) {
                  body += s.answer.dump(-1, ' ', false, json::error_handler_t::replace);
                  body += '\n';
                }
                resp.status = 200;
                resp.content_type = "application/json";
                resp.body = std::move(body);
              }));
}

}  // namespace flotilla::http
