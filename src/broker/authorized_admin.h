// The topic and config changes a caller may make, cut out of a request before
// it goes to the controller — shared by the broker listener (which forwards
// them) and the controller listener (which serves them to callers that are
// not brokers): the rules are Kafka's ControllerApis ones (authorization.h),
// applied with the principal of whoever sent the request to Flotilla.
//
// A gate is built from the request (removing what is refused from it), and
// complete() then adds the refusals to the controller's answer (and hides what
// the caller may not see). A request left empty need not be forwarded: its
// answer is complete() of an empty response.
//
// Threading: a gate belongs to one request (it may be copied into its callback).
#pragma once

#include <string>
#include <vector>

#include "broker/authorization.h"
#include "metadata/image.h"
#include "protocol/messages.h"

namespace flotilla::broker {

// CREATE_TOPICS: topics refused CREATE answered TOPIC_AUTHORIZATION_FAILED
// ("Authorization failed."); the configs, partition count and replication
// factor of a created topic only with DESCRIBE_CONFIGS on it. Names listed
// twice and __cluster_metadata are left to the controller (INVALID_REQUEST).
class CreateTopicsGate {
 public:
  CreateTopicsGate() = default;
  CreateTopicsGate(const Authz& a, msg::CreateTopicsRequest& req);
  void complete(msg::CreateTopicsResponse& resp) const;

 private:
  std::vector<msg::CreateTopicsResponse::CreatableTopicResult> refused_;
  Refused no_configs_;
};

// DELETE_TOPICS (names resolved through `image` for topics named by id).
class DeleteTopicsGate {
 public:
  DeleteTopicsGate() = default;
  DeleteTopicsGate(const Authz& a, msg::DeleteTopicsRequest& req, const metadata::MetadataImage& image);
  void complete(msg::DeleteTopicsResponse& resp) const;
  static bool empty(const msg::DeleteTopicsRequest& req) { return req.topic_names.empty() && req.topics.empty(); }

 private:
  std::vector<msg::DeleteTopicsResponse::DeletableTopicResult> refused_;
};

// CREATE_PARTITIONS: ALTER on each topic (names listed twice left to the controller).
class CreatePartitionsGate {
 public:
  CreatePartitionsGate() = default;
  CreatePartitionsGate(const Authz& a, msg::CreatePartitionsRequest& req);
  void complete(msg::CreatePartitionsResponse& resp) const;

 private:
  std::vector<msg::CreatePartitionsResponse::CreatePartitionsTopicResult> refused_;
};

// INCREMENTAL_ALTER_CONFIGS / ALTER_CONFIGS: ALTER_CONFIGS per resource (the
// controller listener's; the broker screens its own in admin_apis.cc).
template <class Req, class Resp>
class AlterConfigsGate {
 public:
  AlterConfigsGate() = default;
  AlterConfigsGate(const Authz& a, Req& req) {
    std::erase_if(req.resources, [&](const auto& res) {
      ErrorCode e = authorize_config_resource(a, AclOperation::ALTER_CONFIGS, res.resource_type, res.resource_name);
      if (e == ErrorCode::NONE) return false;
      typename decltype(Resp{}.responses)::value_type x;
      x.resource_type = res.resource_type;
      x.resource_name = res.resource_name;
      x.error_code = static_cast<int16_t>(e);
      x.error_message = std::nullopt;
      refused_.push_back(std::move(x));
      return true;
    });
  }
  void complete(Resp& resp) const { resp.responses.insert(resp.responses.end(), refused_.begin(), refused_.end()); }

 private:
  std::vector<typename decltype(Resp{}.responses)::value_type> refused_;
};

}  // namespace flotilla::broker
