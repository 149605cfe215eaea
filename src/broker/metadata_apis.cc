// The cluster as clients see and change it: Metadata (brokers on the
// request's listener, topics and partitions, and auto-creation of unknown
// topics), DescribeCluster, and the topic changes a broker forwards to the
// active controller (CreateTopics, DeleteTopics, CreatePartitions).
//
// Invariants: answers come from this broker's current metadata image; a
// CreateTopics is answered only once the image holds what the controller
// committed (a Metadata request right after sees the topic and its logs
// exist); without a controller channel, each topic is answered
// NOT_CONTROLLER. KRaft brokers name themselves as the "controller" to
// clients: admin requests sent there are forwarded to the active controller.
//
// Threading: the broker's io_context thread.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/api_util.h"
#include "broker/authorized_admin.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"

namespace flotilla::broker {
namespace {

using namespace api::prelude;

bool valid_topic_name(const std::string& n) {
  if (n.empty() || n.size() > 249 || n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; });
}

// The brokers a client on `listener` can reach — each unfenced broker's
// endpoint of that name — as a response's broker entries (`id`: the field
// that holds the node id). Fenced brokers only with `include_fenced`
// (DescribeCluster v2, KIP-1073).
template <class Entry>
std::vector<Entry> reachable_brokers(const metadata::MetadataImage& image, const std::string& listener, int32_t Entry::*id,
                                     bool include_fenced = false) {
  std::vector<Entry> out;
  for (const auto& [node, b] : image.brokers()) {
    if (b.fenced && !include_fenced) continue;
    for (const auto& ep : b.listeners) {
      if (ep.name != listener) continue;
      Entry e;
      e.*id = node;
      e.host = ep.host;
      e.port = ep.port;
      e.rack = b.rack;
      out.push_back(e);
    }
  }
  return out;
}

}  // namespace

int32_t RequestHandler::controller_id_for_clients() const {
  // KRaft brokers tell clients a live broker as "controller": admin requests
  // sent there are forwarded to the active controller.
  return config_.node_id;
}

void RequestHandler::handle_metadata(std::shared_ptr<net::Request> req, net::Respond respond) {
  MetadataRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  const Authz auth = authz(*req);
  const int16_t v = req->api_version;
  auto image = replicas_.image();
  MetadataResponse resp;
  resp.brokers = reachable_brokers(*image, req->listener, &MetadataResponse::MetadataResponseBroker::node_id);
  resp.cluster_id = config_.cluster_id;
  resp.controller_id = controller_id_for_clients();
  // KIP-430: the cluster's authorized operations (v8-10), only with DESCRIBE on it.
  if (v >= 8 && v <= 10 && request.include_cluster_authorized_operations)
    resp.cluster_authorized_operations =
        auth.cluster(AclOperation::DESCRIBE) ? auth.operations(ResourceType::CLUSTER, security::kClusterResourceName) : 0;
  const bool topic_operations = v >= 8 && request.include_topic_authorized_operations;

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
    if (topic_operations) mt.topic_authorized_operations = auth.operations(ResourceType::TOPIC, t.name);
    return mt;
  };
  // A topic the caller may not DESCRIBE: its name (or, asked by id, its id) and the error only.
  auto refused = [](std::optional<std::string> name, Uuid id) {
    MetadataResponse::MetadataResponseTopic mt;
    mt.name = std::move(name);
    mt.topic_id = id;
    mt.error_code = code(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    return mt;
  };

  bool all = !request.topics.has_value() || (v == 0 && request.topics->empty());
  // Before v12 a topic is asked for by name only (v10-11 carry the id field
  // but no response can name a topic asked by id): as Kafka, an id or a null
  // name fails the request, every topic answered INVALID_REQUEST ("" for null).
  if (!all && v < 12) {
    bool by_id = false;
    for (const auto& rt : *request.topics) by_id = by_id || !rt.name || !rt.topic_id.is_zero();
    if (by_id) {
      for (const auto& rt : *request.topics) {
        MetadataResponse::MetadataResponseTopic mt;
        mt.name = rt.name.value_or("");
        mt.topic_id = rt.topic_id;
        mt.error_code = code(ErrorCode::INVALID_REQUEST);
        resp.topics.push_back(std::move(mt));
      }
      return send(*req, respond, resp);
    }
  }
  if (all) {
    // Topics the caller may not DESCRIBE are left out, without a word.
    for (const auto& [name, t] : image->topics_by_name())
      if (metadata_shows(auth, name)) resp.topics.push_back(describe(t));
  } else {
    // The names asked for (ids resolved), checked for DESCRIBE at once.
    std::vector<std::string> names;
    if (auth.enabled())
      for (const auto& rt : *request.topics) {
        if (rt.name) names.push_back(*rt.name);
        else if (const metadata::TopicImage* t = image->topic(rt.topic_id)) names.push_back(t->name);
      }
    const Refused undescribable = authorize_metadata(auth, names, false);
    const bool auto_create = config_.auto_create_topics_enable && request.allow_auto_topic_creation && controller_;
    Refused uncreatable;
    if (auto_create && auth.enabled()) {
      std::vector<std::string> missing;
      for (const auto& rt : *request.topics)
        if (rt.name && !undescribable.has(*rt.name) && !image->topic(*rt.name)) missing.push_back(*rt.name);
      uncreatable = authorize_auto_create(auth, missing);
    }
    std::vector<std::string> to_create;
    for (const auto& rt : *request.topics) {
      if (!rt.name.has_value()) {
        const metadata::TopicImage* t = image->topic(rt.topic_id);
        if (t && undescribable.has(t->name)) {
          resp.topics.push_back(refused(std::nullopt, rt.topic_id));  // ids are not secret; names are
        } else if (t) {
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
      if (undescribable.has(name)) {
        resp.topics.push_back(refused(name, Uuid{}));
        continue;
      }
      if (const metadata::TopicImage* t = image->topic(name)) {
        resp.topics.push_back(describe(*t));
        continue;
      }
      if (uncreatable.has(name)) {
        resp.topics.push_back(refused(name, Uuid{}));
        continue;
      }
      MetadataResponse::MetadataResponseTopic mt;
      mt.name = name;
      if (!valid_topic_name(name)) {
        mt.error_code = code(ErrorCode::INVALID_TOPIC_EXCEPTION);
      } else if (auto_create) {
        mt.error_code = code(ErrorCode::LEADER_NOT_AVAILABLE);
        to_create.push_back(name);
      } else {
        mt.error_code = code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
      }
      if (topic_operations) mt.topic_authorized_operations = auth.operations(ResourceType::TOPIC, name);
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

void RequestHandler::handle_create_topics(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreateTopicsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!controller_) {
    CreateTopicsResponse resp;
    resp.topics = topic_errors<CreateTopicsResponse::CreatableTopicResult>(request.topics, ErrorCode::NOT_CONTROLLER);
    return send(*req, respond, resp);
  }
  // Authorized here with the caller's principal, as Kafka's controller does
  // with the forwarded one: refused topics are answered here, not forwarded.
  // Then the controller mutation quota (quota_apis.cc) charges the authorized ones.
  auto gate = std::make_shared<const CreateTopicsGate>(authz(*req), request);
  auto charge = charge_create_topics(*req, request);
  auto finish = [this, req, respond, gate, charge](CreateTopicsResponse resp) mutable {
    settle_create_topics(*req, charge, resp);
    gate->complete(resp);
    send(*req, respond, resp);
  };
  if (request.topics.empty()) return finish(CreateTopicsResponse{});
  controller_->create_topics(std::move(request), req->api_version, [this, finish](CreateTopicsResponse resp) mutable {
    // Answer once this broker's image holds what the controller committed, so
    // a Metadata request right after sees the topic and its logs exist.
    replicas_.when_image_reaches(replicas_.image()->offset(), [finish, resp]() mutable { finish(std::move(resp)); });
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
  auto gate = std::make_shared<const DeleteTopicsGate>(authz(*req), request, *replicas_.image());
  auto charge = charge_delete_topics(*req, request);  // controller mutation quota (quota_apis.cc)
  auto finish = [this, req, respond, gate, charge](DeleteTopicsResponse resp) mutable {
    settle_delete_topics(*req, charge, resp);
    gate->complete(resp);
    send(*req, respond, resp);
  };
  if (DeleteTopicsGate::empty(request)) return finish(DeleteTopicsResponse{});
  controller_->delete_topics(std::move(request), req->api_version, [finish](DeleteTopicsResponse resp) mutable { finish(std::move(resp)); });
}

void RequestHandler::handle_create_partitions(std::shared_ptr<net::Request> req, net::Respond respond) {
  CreatePartitionsRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (!controller_) {
    CreatePartitionsResponse resp;
    resp.results = topic_errors<CreatePartitionsResponse::CreatePartitionsTopicResult>(request.topics, ErrorCode::NOT_CONTROLLER);
    return send(*req, respond, resp);
  }
  auto gate = std::make_shared<const CreatePartitionsGate>(authz(*req), request);
  auto charge = charge_create_partitions(*req, request);  // controller mutation quota (quota_apis.cc)
  auto finish = [this, req, respond, gate, charge](CreatePartitionsResponse resp) mutable {
    settle_create_partitions(*req, charge, resp);
    gate->complete(resp);
    send(*req, respond, resp);
  };
  if (request.topics.empty()) return finish(CreatePartitionsResponse{});
  controller_->create_partitions(std::move(request), req->api_version, [finish](CreatePartitionsResponse resp) mutable { finish(std::move(resp)); });
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
  const bool fenced = req->api_version >= 2 && request.include_fenced_brokers;
  resp.brokers = reachable_brokers(*image, req->listener, &DescribeClusterResponse::DescribeClusterBroker::broker_id, fenced);
  for (auto& b : resp.brokers)
    if (const metadata::BrokerRegistration* r = image->broker(b.broker_id)) b.is_fenced = r->fenced;
  // KIP-430: the cluster's authorized operations, only with DESCRIBE on it (else 0).
  if (request.include_cluster_authorized_operations) {
    const Authz auth = authz(*req);
    resp.cluster_authorized_operations =
        auth.cluster(AclOperation::DESCRIBE) ? auth.operations(ResourceType::CLUSTER, security::kClusterResourceName) : 0;
  }
  send(*req, respond, resp);
}

}  // namespace flotilla::broker
