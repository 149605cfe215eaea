// DescribeTopicPartitions (API 75, KIP-966): topics and their partitions with
// the eligible leader replicas, paged by a cursor — what Kafka 4.x's
// kafka-topics --describe and Admin.describeTopics use. As Kafka's
// DescribeTopicPartitionsRequestHandler and KRaftMetadataCache:
//  - the topics named (or, with none named, every topic the caller may
//    DESCRIBE), at or after the cursor's topic, in name order; a named topic
//    the caller may not DESCRIBE is answered TOPIC_AUTHORIZATION_FAILED with a
//    zero id (after the others), an unknown one UNKNOWN_TOPIC_OR_PARTITION
//    (INVALID_TOPIC_EXCEPTION for an invalid name);
//  - at most min(ResponsePartitionLimit, max.request.partition.size.limit)
//    partitions (at least 1), from the cursor's partition of its topic; when
//    the limit stops the walk, NextCursor names the first partition left out
//    (partition 0 of the next topic when the limit fell on a topic's end);
//  - a cursor whose topic is not among the named ones, or with a negative
//    partition, fails the request: every named topic gets INVALID_REQUEST.
//
// Threading: the broker's io_context thread; reads one metadata image.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/api_util.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;
using Resp = DescribeTopicPartitionsResponse;

bool dtp_valid_topic_name(const std::string& n) {
  if (n.empty() || n.size() > 249 || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; });
}

bool dtp_internal_topic(const std::string& n) { return n == "__consumer_offsets" || n == "__transaction_state"; }

bool dtp_has_listener(const metadata::BrokerRegistration* b, const std::string& listener) {
  return b && std::any_of(b->listeners.begin(), b->listeners.end(), [&](const auto& ep) { return ep.name == listener; });
}

Resp::DescribeTopicPartitionsResponsePartition dtp_partition_entry(const metadata::MetadataImage& image, const std::string& listener,
                                                              int32_t index, const metadata::PartitionRegistration& p) {
  Resp::DescribeTopicPartitionsResponsePartition e;
  e.partition_index = index;
  // The leader only while it is registered with this listener (Kafka's getAliveEndpoint).
  e.leader_id = dtp_has_listener(image.broker(p.leader), listener) ? p.leader : -1;
  e.leader_epoch = p.leader_epoch;
  e.replica_nodes = p.replicas;
  e.isr_nodes = p.isr;
  e.eligible_leader_replicas = p.elr;
  e.last_known_elr = p.last_known_elr;
  for (int32_t r : p.replicas) {
    const auto* b = image.broker(r);
    if (!b || b->fenced || !dtp_has_listener(b, listener)) e.offline_replicas.push_back(r);
  }
  return e;
}

}  // namespace

void RequestHandler::handle_describe_topic_partitions(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeTopicPartitionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const Authz auth = authz(*req);
  auto image = replicas_.image();
  Resp resp;

  const bool all = request.topics.empty();
  const std::string cursor_topic = request.cursor ? request.cursor->topic_name : "";
  std::set<std::string> names;
  if (all) {
    for (const auto& [name, t] : image->topics_by_name())
      if (name >= cursor_topic) names.insert(name);
  } else {
    for (const auto& t : request.topics)
      if (t.name >= cursor_topic) names.insert(t.name);
  }
  bool invalid = (request.cursor && !all && !names.count(request.cursor->topic_name)) || (request.cursor && request.cursor->partition_index < 0);
  if (invalid) {
    spdlog::info("DescribeTopicPartitions: invalid cursor {}:{} (its topic must be one of those named; its partition >= 0)", cursor_topic,
                 request.cursor->partition_index);
    for (const auto& t : request.topics) {
      Resp::DescribeTopicPartitionsResponseTopic rt;
      rt.name = t.name;
      rt.error_code = code(ErrorCode::INVALID_REQUEST);
      resp.topics.push_back(std::move(rt));
    }
    return send(*req, respond, resp);
  }

  // DESCRIBE on each topic; named topics refused are reported, the others left out.
  std::vector<std::string> authorized;
  std::vector<Resp::DescribeTopicPartitionsResponseTopic> refused;
  for (const auto& name : names) {
    if (describe_topic_partitions_shows(auth, name)) {
      authorized.push_back(name);
    } else if (!all) {
      Resp::DescribeTopicPartitionsResponseTopic rt;
      rt.name = name;
      rt.error_code = code(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
      refused.push_back(std::move(rt));
    }
  }

  int64_t remaining = std::max<int64_t>(std::min<int64_t>(config_.max_request_partition_size_limit, request.response_partition_limit), 1);
  for (const auto& name : authorized) {
    if (remaining == 0) {
      // The limit fell on the previous topic's end: go on from this one.
      resp.next_cursor = Resp::Cursor{name, 0};
      break;
    }
    const metadata::TopicImage* t = image->topic(name);
    if (!t) {
      if (all) continue;
      Resp::DescribeTopicPartitionsResponseTopic rt;
      rt.name = name;
      rt.error_code = code(dtp_valid_topic_name(name) ? ErrorCode::UNKNOWN_TOPIC_OR_PARTITION : ErrorCode::INVALID_TOPIC_EXCEPTION);
      rt.is_internal = dtp_internal_topic(name);
      resp.topics.push_back(std::move(rt));
      continue;
    }
    Resp::DescribeTopicPartitionsResponseTopic rt;
    rt.name = name;
    rt.topic_id = t->id;
    rt.is_internal = dtp_internal_topic(name);
    int64_t start = name == cursor_topic && request.cursor ? request.cursor->partition_index : 0;
    int64_t count = static_cast<int64_t>(t->partitions.size());
    int64_t upper = std::min(count, start + remaining);
    for (int64_t i = start; i < upper; ++i) {
      auto it = t->partitions.find(static_cast<int32_t>(i));
      if (it == t->partitions.end()) continue;
      rt.partitions.push_back(dtp_partition_entry(*image, req->listener, static_cast<int32_t>(i), it->second));
    }
    remaining -= std::max<int64_t>(upper - start, 0);
    rt.topic_authorized_operations = auth.operations(ResourceType::TOPIC, name);
    resp.topics.push_back(std::move(rt));
    if (upper < count) {
      resp.next_cursor = Resp::Cursor{name, static_cast<int32_t>(upper)};
      break;
    }
  }
  for (auto& r : refused) resp.topics.push_back(std::move(r));
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
