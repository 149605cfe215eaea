// The client quota APIs of KIP-546 on a broker listener.
// - DescribeClientQuotas (48): answered from this broker's metadata image
//   (metadata/client_quota_describe.h) with Kafka's filter semantics.
// - AlterClientQuotas (49): forwarded to the active controller
//   (ControllerChannel), which validates it and writes the ClientQuotaRecords;
//   the answer comes once they are committed (and, through the forwarding
//   channel, visible in this broker's image).
// Also here: the controller mutation quota (KIP-599) of CreateTopics,
// CreatePartitions and DeleteTopics, charged on this broker before the
// request is forwarded (see broker/client_quotas.h): charge_* takes the
// refused topics out of the request, settle_* refunds the topics the
// controller refused, answers the refused ones with THROTTLING_QUOTA_EXCEEDED
// and throttles the response.
//
// Kafka authorizes these with DESCRIBE_CONFIGS and ALTER_CONFIGS on the
// CLUSTER resource (authorization.h); a refused caller gets
// CLUSTER_AUTHORIZATION_FAILED (every entry of an AlterClientQuotas).
//
// Threading: the broker's io_context thread.
#include "broker/api_util.h"
#include "broker/authorization.h"
#include "broker/error_responses.h"
#include "broker/client_quotas.h"
#include "common/clock.h"
#include "broker/request_handler.h"
#include "metadata/client_quota_describe.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using namespace api::prelude;

void RequestHandler::handle_describe_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond) {
  DescribeClientQuotasRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::DESCRIBE_CONFIGS) != ErrorCode::NONE) {
    DescribeClientQuotasResponse resp;
    resp.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    resp.error_message = std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
    resp.entries = std::nullopt;
    return send(*req, respond, resp);
  }
  auto image = replicas_.image();
  metadata::MetadataImage empty;
  auto resp = metadata::describe_client_quotas(image ? *image : empty, request);
  send(*req, respond, resp);
}

void RequestHandler::handle_alter_client_quotas(std::shared_ptr<net::Request> req, net::Respond respond) {
  AlterClientQuotasRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::ALTER_CONFIGS) != ErrorCode::NONE) {
    auto resp = error_response(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    return send(*req, respond, resp);
  }
  if (!controller_) {
    auto resp = error_response(request, ErrorCode::NOT_CONTROLLER);
    return send(*req, respond, resp);
  }
  controller_->alter_client_quotas(std::move(request), req->api_version,
                                   [req, respond](AlterClientQuotasResponse r) mutable { send(*req, respond, r); });
}

// UpdateFeatures (57, KIP-584): ALTER on the cluster, then forwarded to the
// active controller (which validates it: controller/features.cc); answered
// once this broker's image shows the new levels.
void RequestHandler::handle_update_features(std::shared_ptr<net::Request> req, net::Respond respond) {
  UpdateFeaturesRequest request;
  if (!decode(*req, request)) return close_connection(respond);
  if (authorize_cluster(authz(*req), AclOperation::ALTER) != ErrorCode::NONE) {
    auto resp = error_response(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    return send(*req, respond, resp);
  }
  if (!controller_) {
    auto resp = error_response(request, ErrorCode::NOT_CONTROLLER);
    return send(*req, respond, resp);
  }
  controller_->update_features(std::move(request), req->api_version,
                               [req, respond](UpdateFeaturesResponse r) mutable { send(*req, respond, r); });
}

// ---------------------------------------------------------------- controller mutation quota

namespace {
constexpr const char* kThrottlingQuotaExceeded = "The throttling quota has been exceeded.";  // Errors.THROTTLING_QUOTA_EXCEEDED
}

// What one request's mutations cost: the permits charged per topic (refunded
// if the controller refuses the topic), the topics refused here, and the
// largest throttle earned and when (Kafka's ControllerMutationQuota.throttleTime
// counts down from then).
struct MutationCharge {
  std::map<std::string, int32_t> charged;  // by topic name, or topic id for DeleteTopics by id
  std::vector<std::string> refused;
  std::vector<DeleteTopicsRequest::DeleteTopicState> refused_states;  // DeleteTopics v6+
  int32_t throttle_ms = 0;
  int64_t at_ms = 0;

  void note(int32_t ms) {
    if (ms <= 0) return;
    throttle_ms = ms;
    at_ms = monotonic_ms();
  }
  int32_t remaining_ms() const { return static_cast<int32_t>(std::max<int64_t>(0, throttle_ms - (monotonic_ms() - at_ms))); }
};

bool RequestHandler::mutation_quota_on() const { return quotas_ && quotas_->managers().controller_mutation.quotas_enabled(); }

std::shared_ptr<MutationCharge> RequestHandler::charge_create_topics(const net::Request& req, CreateTopicsRequest& request) {
  if (!mutation_quota_on()) return nullptr;
  auto charge = std::make_shared<MutationCharge>();
  const bool strict = req.api_version >= 6;
  std::vector<CreateTopicsRequest::CreatableTopic> kept;
  for (auto& t : request.topics) {
    int32_t partitions = !t.assignments.empty() ? static_cast<int32_t>(t.assignments.size())
                         : t.num_partitions == -1 ? config_.num_partitions
                                                  : t.num_partitions;
    auto o = quotas_->record_mutation(req, strict, partitions);
    charge->note(o.throttle_ms);
    if (!o.accepted) {
      charge->refused.push_back(t.name);
      continue;
    }
    if (partitions > 0) charge->charged[t.name] += partitions;
    kept.push_back(std::move(t));
  }
  request.topics = std::move(kept);
  return charge;
}

void RequestHandler::settle_create_topics(const net::Request& req, const std::shared_ptr<MutationCharge>& charge, CreateTopicsResponse& resp) {
  if (!charge) return;
  for (const auto& t : resp.topics)
    if (t.error_code != 0)
      if (auto it = charge->charged.find(t.name); it != charge->charged.end()) quotas_->refund_mutation(req, it->second);
  for (const auto& name : charge->refused) {
    CreateTopicsResponse::CreatableTopicResult r;
    r.name = name;
    r.error_code = code(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
    r.error_message = std::string(kThrottlingQuotaExceeded);
    resp.topics.push_back(std::move(r));
  }
  ClientQuotas::throttle(req, charge->remaining_ms());
}

std::shared_ptr<MutationCharge> RequestHandler::charge_create_partitions(const net::Request& req, CreatePartitionsRequest& request) {
  if (!mutation_quota_on()) return nullptr;
  auto charge = std::make_shared<MutationCharge>();
  const bool strict = req.api_version >= 3;
  auto image = replicas_.image();
  std::vector<CreatePartitionsRequest::CreatePartitionsTopic> kept;
  for (auto& t : request.topics) {
    const metadata::TopicImage* ti = image->topic(t.name);
    int32_t additional = ti ? t.count - static_cast<int32_t>(ti->partitions.size()) : 0;
    auto o = quotas_->record_mutation(req, strict, additional);
    charge->note(o.throttle_ms);
    if (!o.accepted) {
      charge->refused.push_back(t.name);
      continue;
    }
    if (additional > 0) charge->charged[t.name] += additional;
    kept.push_back(std::move(t));
  }
  request.topics = std::move(kept);
  return charge;
}

void RequestHandler::settle_create_partitions(const net::Request& req, const std::shared_ptr<MutationCharge>& charge,
                                              CreatePartitionsResponse& resp) {
  if (!charge) return;
  for (const auto& t : resp.results)
    if (t.error_code != 0)
      if (auto it = charge->charged.find(t.name); it != charge->charged.end()) quotas_->refund_mutation(req, it->second);
  for (const auto& name : charge->refused) {
    CreatePartitionsResponse::CreatePartitionsTopicResult r;
    r.name = name;
    r.error_code = code(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
    r.error_message = std::string(kThrottlingQuotaExceeded);
    resp.results.push_back(std::move(r));
  }
  ClientQuotas::throttle(req, charge->remaining_ms());
}

std::shared_ptr<MutationCharge> RequestHandler::charge_delete_topics(const net::Request& req, DeleteTopicsRequest& request) {
  if (!mutation_quota_on()) return nullptr;
  auto charge = std::make_shared<MutationCharge>();
  const bool strict = req.api_version >= 5;
  auto image = replicas_.image();
  auto partitions_of = [](const metadata::TopicImage* t) { return t ? static_cast<int32_t>(t->partitions.size()) : 0; };
  std::vector<std::string> kept_names;
  for (auto& name : request.topic_names) {
    int32_t n = partitions_of(image->topic(name));
    auto o = quotas_->record_mutation(req, strict, n);
    charge->note(o.throttle_ms);
    if (!o.accepted) {
      charge->refused.push_back(name);
      continue;
    }
    if (n > 0) charge->charged[name] += n;
    kept_names.push_back(std::move(name));
  }
  request.topic_names = std::move(kept_names);
  std::vector<DeleteTopicsRequest::DeleteTopicState> kept;
  for (auto& t : request.topics) {
    const metadata::TopicImage* ti = t.name ? image->topic(*t.name) : image->topic(t.topic_id);
    int32_t n = partitions_of(ti);
    auto o = quotas_->record_mutation(req, strict, n);
    charge->note(o.throttle_ms);
    if (!o.accepted) {
      charge->refused_states.push_back(t);
      continue;
    }
    if (n > 0 && ti) charge->charged[ti->name] += n;
    kept.push_back(std::move(t));
  }
  request.topics = std::move(kept);
  return charge;
}

void RequestHandler::settle_delete_topics(const net::Request& req, const std::shared_ptr<MutationCharge>& charge, DeleteTopicsResponse& resp) {
  if (!charge) return;
  for (const auto& t : resp.responses)
    if (t.error_code != 0 && t.name)
      if (auto it = charge->charged.find(*t.name); it != charge->charged.end()) quotas_->refund_mutation(req, it->second);
  auto refused = [&](std::optional<std::string> name, Uuid id) {
    DeleteTopicsResponse::DeletableTopicResult r;
    r.name = std::move(name);
    r.topic_id = id;
    r.error_code = code(ErrorCode::THROTTLING_QUOTA_EXCEEDED);
    r.error_message = std::string(kThrottlingQuotaExceeded);
    resp.responses.push_back(std::move(r));
  };
  for (const auto& name : charge->refused) refused(name, Uuid{});
  for (const auto& t : charge->refused_states) refused(t.name, t.topic_id);
  ClientQuotas::throttle(req, charge->remaining_ms());
}

}  // namespace flotilla::broker
