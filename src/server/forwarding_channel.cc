#include "server/forwarding_channel.h"

#include "server/envelope.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "broker/api_util.h"
#include "broker/error_responses.h"
#include "common/clock.h"
#include "protocol/api.h"

namespace flotilla::server {

namespace {

// The whole-request refusals shared with the authorization table.
using broker::error_response;

constexpr int64_t kRetryMs = 10;

int64_t now_ms() { return monotonic_us() / 1000; }

bool is_retriable(ErrorCode e) { return e == ErrorCode::NOT_CONTROLLER || e == ErrorCode::NOT_LEADER_OR_FOLLOWER; }

// Whether any of a response's per-resource results says "not the controller".
template <class Results>
bool any_retriable(const Results& results) {
  for (const auto& x : results)
    if (is_retriable(ec(x.error_code))) return true;
  return false;
}

// Per request type: whether the answer says "not the controller" and what
// the caller gets when the deadline passes.
bool wrong_controller(const msg::CreateTopicsResponse& r) { return any_retriable(r.topics); }
bool wrong_controller(const msg::DeleteTopicsResponse& r) { return any_retriable(r.responses); }
bool wrong_controller(const msg::CreatePartitionsResponse& r) { return any_retriable(r.results); }
bool wrong_controller(const msg::BrokerRegistrationResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::BrokerHeartbeatResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::ControllerRegistrationResponse& r) { return is_retriable(ec(r.error_code)); }
// Only the top-level error: partition errors (FENCED_LEADER_EPOCH, ...) are the leader's to handle.
bool wrong_controller(const msg::AlterPartitionResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::DescribeQuorumResponse& r) {
  if (is_retriable(ec(r.error_code))) return true;
  for (const auto& t : r.topics)
    if (any_retriable(t.partitions)) return true;
  return false;
}

msg::CreateTopicsResponse error_response(const msg::CreateTopicsRequest& req, ErrorCode e) {
  msg::CreateTopicsResponse r;
  r.topics = broker::api::topic_errors<msg::CreateTopicsResponse::CreatableTopicResult>(req.topics, e);
  return r;
}
msg::DeleteTopicsResponse error_response(const msg::DeleteTopicsRequest& req, ErrorCode e) {
  msg::DeleteTopicsResponse r;
  for (const auto& n : req.topic_names) {
    msg::DeleteTopicsResponse::DeletableTopicResult x;
    x.name = n;
    x.error_code = code(e);
    r.responses.push_back(x);
  }
  for (const auto& t : req.topics) {
    msg::DeleteTopicsResponse::DeletableTopicResult x;
    x.name = t.name;
    x.topic_id = t.topic_id;
    x.error_code = code(e);
    r.responses.push_back(x);
  }
  return r;
}
msg::CreatePartitionsResponse error_response(const msg::CreatePartitionsRequest& req, ErrorCode e) {
  msg::CreatePartitionsResponse r;
  r.results = broker::api::topic_errors<msg::CreatePartitionsResponse::CreatePartitionsTopicResult>(req.topics, e);
  return r;
}
// A response with only its top-level error code.
template <class Resp>
Resp top_level_error(ErrorCode e) {
  Resp r;
  r.error_code = code(e);
  return r;
}
// ... and its message.
template <class Resp>
Resp top_level_error_and_message(ErrorCode e) {
  Resp r = top_level_error<Resp>(e);
  r.error_message = std::string(error_message(e));
  return r;
}
msg::BrokerRegistrationResponse error_response(const msg::BrokerRegistrationRequest&, ErrorCode e) {
  return top_level_error<msg::BrokerRegistrationResponse>(e);
}
msg::AlterPartitionResponse error_response(const msg::AlterPartitionRequest&, ErrorCode e) {
  return top_level_error<msg::AlterPartitionResponse>(e);
}
msg::DescribeQuorumResponse error_response(const msg::DescribeQuorumRequest&, ErrorCode e) {
  return top_level_error<msg::DescribeQuorumResponse>(e);
}

// The admin APIs (ElectLeaders, configs, reassignments, UnregisterBroker).
bool wrong_controller(const msg::ElectLeadersResponse& r) {
  if (is_retriable(ec(r.error_code))) return true;
  for (const auto& t : r.replica_election_results)
    if (any_retriable(t.partition_result)) return true;
  return false;
}
bool wrong_controller(const msg::IncrementalAlterConfigsResponse& r) { return any_retriable(r.responses); }
bool wrong_controller(const msg::AlterConfigsResponse& r) { return any_retriable(r.responses); }
bool wrong_controller(const msg::AlterPartitionReassignmentsResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::ListPartitionReassignmentsResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::UnregisterBrokerResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::AllocateProducerIdsResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::AlterUserScramCredentialsResponse& r) { return any_retriable(r.results); }
bool wrong_controller(const msg::CreateAclsResponse& r) { return any_retriable(r.results); }
bool wrong_controller(const msg::DeleteAclsResponse& r) { return any_retriable(r.filter_results); }
bool wrong_controller(const msg::AlterClientQuotasResponse& r) { return any_retriable(r.entries); }
bool wrong_controller(const msg::UpdateFeaturesResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::EnvelopeResponse& r) { return is_retriable(ec(r.error_code)); }
bool wrong_controller(const msg::AssignReplicasToDirsResponse& r) { return is_retriable(ec(r.error_code)); }
msg::AssignReplicasToDirsResponse error_response(const msg::AssignReplicasToDirsRequest&, ErrorCode e) {
  msg::AssignReplicasToDirsResponse r;
  r.error_code = code(e);
  return r;
}
msg::EnvelopeResponse error_response(const msg::EnvelopeRequest&, ErrorCode e) {
  msg::EnvelopeResponse r;
  r.error_code = code(e);
  r.response_data = std::nullopt;
  return r;
}

template <class Resp, class Req>
Resp config_error_response(const Req& req, ErrorCode e) {
  Resp r;
  for (const auto& res : req.resources) {
    typename decltype(r.responses)::value_type x;
    x.resource_type = res.resource_type;
    x.resource_name = res.resource_name;
    x.error_code = code(e);
    x.error_message = std::string(error_message(e));
    r.responses.push_back(std::move(x));
  }
  return r;
}
msg::IncrementalAlterConfigsResponse error_response(const msg::IncrementalAlterConfigsRequest& req, ErrorCode e) {
  return config_error_response<msg::IncrementalAlterConfigsResponse>(req, e);
}
msg::AlterConfigsResponse error_response(const msg::AlterConfigsRequest& req, ErrorCode e) {
  return config_error_response<msg::AlterConfigsResponse>(req, e);
}
msg::ListPartitionReassignmentsResponse error_response(const msg::ListPartitionReassignmentsRequest&, ErrorCode e) {
  return top_level_error_and_message<msg::ListPartitionReassignmentsResponse>(e);
}
msg::UnregisterBrokerResponse error_response(const msg::UnregisterBrokerRequest&, ErrorCode e) {
  return top_level_error_and_message<msg::UnregisterBrokerResponse>(e);
}

// An ACL's seven fields as one comparable value (ids differ between equal ACLs).
using AclKey = std::tuple<int8_t, std::string, int8_t, std::string, std::string, int8_t, int8_t>;
AclKey acl_key(const security::StandardAcl& a) {
  return {security::code(a.resource_type), a.resource_name, security::code(a.pattern_type), a.principal, a.host,
          security::code(a.operation), security::code(a.permission_type)};
}
// Whether every ACL of `present` is in `image` and none of `absent` is.
bool image_shows_acls(const metadata::MetadataImage& image, const std::set<AclKey>& present, const std::set<AclKey>& absent) {
  size_t found = 0;
  for (const auto& [id, acl] : image.acls()) {
    AclKey k = acl_key(acl);
    if (absent.count(k)) return false;
    if (present.count(k)) ++found;
  }
  return found >= present.size();
}

template <class EntityList>
security::ClientQuotaEntity quota_entity_of(const EntityList& entity) {
  security::ClientQuotaEntity e;
  for (const auto& x : entity) e.entries[x.entity_type] = x.entity_name;
  return e;
}

// Whether `image` shows the values the successful entries of an
// AlterClientQuotas asked for: set keys at their value, removed keys gone.
bool image_shows(const metadata::MetadataImage& image, const msg::AlterClientQuotasRequest& req,
                 const std::set<security::ClientQuotaEntity>& ok) {
  for (const auto& entry : req.entries) {
    auto entity = quota_entity_of(entry.entity);
    if (!ok.count(entity)) continue;
    auto it = image.client_quotas().find(entity);
    for (const auto& op : entry.ops) {
      bool present = it != image.client_quotas().end() && it->second.count(op.key);
      if (op.remove ? present : (!present || it->second.at(op.key) != op.value)) return false;
    }
  }
  return true;
}

// Whether `image` shows the levels an UpdateFeatures asked for.
bool image_shows(const metadata::MetadataImage& image, const msg::UpdateFeaturesRequest& req) {
  for (const auto& u : req.feature_updates) {
    if (u.feature == metadata::kMetadataVersionFeature) {
      if (image.metadata_version() != u.max_version_level) return false;
    } else if (u.feature != "kraft.version") {
      auto it = image.features().find(u.feature);
      if ((it == image.features().end() ? 0 : it->second) != u.max_version_level) return false;
    }
  }
  return true;
}

// Whether `image` shows what the successful users of an
// AlterUserScramCredentials asked for: deleted credentials gone, upserted
// ones present with the requested salt and iterations.
bool image_shows(const metadata::MetadataImage& image, const msg::AlterUserScramCredentialsRequest& req,
                 const std::set<std::string>& ok_users) {
  for (const auto& d : req.deletions)
    if (ok_users.count(d.name) && image.scram_credential(d.name, static_cast<security::ScramMechanism>(d.mechanism))) return false;
  for (const auto& u : req.upsertions) {
    if (!ok_users.count(u.name)) continue;
    const auto* c = image.scram_credential(u.name, static_cast<security::ScramMechanism>(u.mechanism));
    if (!c || c->salt != u.salt || c->iterations != u.iterations) return false;
  }
  return true;
}

// Whether `image` shows the configs a successful IncrementalAlterConfigs /
// AlterConfigs resource asked for (APPEND/SUBTRACT results are not predicted).
bool image_shows(const metadata::MetadataImage& image, const msg::IncrementalAlterConfigsRequest::AlterConfigsResource& res) {
  auto cur = image.configs_of(static_cast<metadata::ConfigResourceType>(res.resource_type), res.resource_name);
  for (const auto& c : res.configs) {
    auto it = cur.find(c.name);
    if (c.config_operation == 0 && (it == cur.end() || !c.value || it->second != *c.value)) return false;
    if (c.config_operation == 1 && it != cur.end()) return false;
  }
  return true;
}
bool image_shows(const metadata::MetadataImage& image, const msg::AlterConfigsRequest::AlterConfigsResource& res) {
  metadata::ConfigMap want;
  for (const auto& c : res.configs)
    if (c.value) want[c.name] = *c.value;
  return image.configs_of(static_cast<metadata::ConfigResourceType>(res.resource_type), res.resource_name) == want;
}

}  // namespace

template <class Req, class Resp>
struct ForwardingControllerChannel::Call {
  Req request;
  int16_t version;
  std::function<void(Resp)> done;
  int64_t deadline_ms;
  // Serves the call in-process when this node is the active controller (null: always forward).
  std::function<bool(Call&)> try_local;
};

ForwardingControllerChannel::ForwardingControllerChannel(asio::io_context& io, raft::RaftDriver& raft,
                                                         controller::QuorumController* local, broker::ReplicaManager* replicas,
                                                         std::map<int32_t, raft::PeerAddress> controllers, int32_t node_id,
                                                         int64_t timeout_ms, raft::RaftNetwork* addresses)
    : io_(io),
      raft_(raft),
      local_(local),
      replicas_(replicas),
      controllers_(std::move(controllers)),
      node_id_(node_id),
      timeout_ms_(timeout_ms),
      addresses_(addresses) {}

ForwardingControllerChannel::~ForwardingControllerChannel() {
  *alive_ = false;
  close();
}

void ForwardingControllerChannel::close() {
  for (auto& [id, c] : clients_) c->close();
  clients_.clear();
}

int32_t ForwardingControllerChannel::active_controller_id() const {
  if (local_active()) return node_id_;
  int32_t leader = raft_.leader_and_epoch().leader_id;
  // This node leads but its controller is not active yet (replaying): none yet.
  if (leader == node_id_) return -1;
  return leader;
}

net::Client* ForwardingControllerChannel::client_for(int32_t node) {
  std::optional<raft::PeerAddress> a;
  if (addresses_) a = addresses_->address(node);
  if (!a)
    if (auto it = controllers_.find(node); it != controllers_.end()) a = it->second;
  if (!a) return nullptr;
  auto& c = clients_[node];
  if (c && (c->host() != a->host || c->port() != a->port)) {
    c->close();
    c.reset();
  }
  if (!c) {
    c = net::Client::create(io_, a->host, a->port, "forwarding-" + std::to_string(node_id_));
    c->set_security(security_);
    c->set_request_timeout_ms(timeout_ms_);
  }
  return c.get();
}

template <class Req, class Resp>
void ForwardingControllerChannel::attempt(std::shared_ptr<Call<Req, Resp>> call) {
  if (call->try_local && call->try_local(*call)) return;
  int32_t target = active_controller_id();
  net::Client* client = target >= 0 && target != node_id_ ? client_for(target) : nullptr;
  if (!client) return retry_later(call);
  auto alive = alive_;
  // No attempt outlives its call's deadline: a controller that went silent
  // (a black hole: no reset, so the connection's own timeout is 30 s) must
  // not hold the call, and with it a broker's heartbeats, past the deadline.
  auto settled = std::make_shared<bool>(false);
  auto give_up = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(std::max<int64_t>(0, call->deadline_ms - now_ms())));
  give_up->async_wait([this, alive, call, settled, target](const asio::error_code& ec) {
    if (ec || !*alive || *settled) return;
    *settled = true;
    spdlog::debug("[ForwardingChannel id={}] {} to controller {}: no answer by the deadline", node_id_, Req::kApiKey, target);
    retry_later(call);
  });
  client->send(broker::api::client_request(call->request, call->version), [this, alive, call, target, settled, give_up](net::ClientResponse r) {
    if (!*alive || *settled) return;  // given up: the call was answered or retried already
    *settled = true;
    give_up->cancel();
    if (r.error) {
      spdlog::debug("[ForwardingChannel id={}] {} to controller {} failed: {}", node_id_, Req::kApiKey, target, r.error.message());
      return retry_later(call);
    }
    Resp resp;
    try {
      ByteReader body = r.body();
      resp.decode(body, call->version);
    } catch (const DecodeError& e) {
      spdlog::warn("[ForwardingChannel id={}] Malformed response {} from controller {}: {}", node_id_, Req::kApiKey, target, e.what());
      return retry_later(call);
    }
    if (wrong_controller(resp)) return retry_later(call);
    call->done(std::move(resp));
  });
}

template <class Req, class Resp>
void ForwardingControllerChannel::retry_later(std::shared_ptr<Call<Req, Resp>> call) {
  if (now_ms() >= call->deadline_ms) {
    ErrorCode e = active_controller_id() < 0 ? ErrorCode::NOT_CONTROLLER : ErrorCode::REQUEST_TIMED_OUT;
    call->done(error_response(call->request, e));
    return;
  }
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kRetryMs));
  auto alive = alive_;
  t->async_wait([this, alive, t, call](const asio::error_code&) {
    if (*alive) attempt(call);
  });
}

int64_t ForwardingControllerChannel::deadline_for(int32_t request_timeout_ms) const {
  return now_ms() + (request_timeout_ms > 0 ? request_timeout_ms : timeout_ms_);
}

// A forwarded CreateTopics is answered once this broker's image has the new
// topics, so that a client's next Metadata request here sees them (the
// combined-node path waits for its own image the same way).
void ForwardingControllerChannel::create_topics(msg::CreateTopicsRequest req, int16_t v, std::function<void(msg::CreateTopicsResponse)> done) {
  auto alive = alive_;
  bool validate_only = req.validate_only;
  auto wrapped = [this, alive, done = std::move(done), validate_only](msg::CreateTopicsResponse r) {
    if (!*alive) return;
    std::vector<std::string> created;
    if (!validate_only)
      for (const auto& t : r.topics)
        if (t.error_code == 0) created.push_back(t.name);
    after_image_satisfies(
        [created](const metadata::MetadataImage& image) {
          for (const auto& n : created)
            if (!image.topic(n)) return false;
          return true;
        },
        now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::CreateTopicsRequest, msg::CreateTopicsResponse>(std::move(req), v, deadline, std::move(wrapped),
                                                               &controller::QuorumController::create_topics);
}

void ForwardingControllerChannel::delete_topics(msg::DeleteTopicsRequest req, int16_t v, std::function<void(msg::DeleteTopicsResponse)> done) {
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::DeleteTopicsRequest, msg::DeleteTopicsResponse>(std::move(req), v, deadline, std::move(done),
                                                               &controller::QuorumController::delete_topics);
}

void ForwardingControllerChannel::create_partitions(msg::CreatePartitionsRequest req, int16_t v,
                                                    std::function<void(msg::CreatePartitionsResponse)> done) {
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::CreatePartitionsRequest, msg::CreatePartitionsResponse>(std::move(req), v, deadline, std::move(done),
                                                                       &controller::QuorumController::create_partitions);
}

// The lifecycle retries registrations and heartbeats on its own: each gets
// half a broker session (lifecycle_timeout_ms_), so that one sent to a leader
// that went silent is given up, and the next sent to its successor, before a
// new active controller's first session of this broker ends.
void ForwardingControllerChannel::register_broker(msg::BrokerRegistrationRequest req, int16_t v,
                                                  std::function<void(msg::BrokerRegistrationResponse)> done) {
  forward<msg::BrokerRegistrationRequest, msg::BrokerRegistrationResponse>(std::move(req), v, now_ms() + lifecycle_timeout_ms_, std::move(done),
                                                                           &controller::QuorumController::register_broker);
}

void ForwardingControllerChannel::register_controller(msg::ControllerRegistrationRequest req, int16_t v,
                                                      std::function<void(msg::ControllerRegistrationResponse)> done) {
  forward<msg::ControllerRegistrationRequest, msg::ControllerRegistrationResponse>(
      std::move(req), v, now_ms() + 5000, std::move(done), &controller::QuorumController::register_controller);
}

void ForwardingControllerChannel::broker_heartbeat(msg::BrokerHeartbeatRequest req, int16_t v,
                                                   std::function<void(msg::BrokerHeartbeatResponse)> done) {
  forward<msg::BrokerHeartbeatRequest, msg::BrokerHeartbeatResponse>(std::move(req), v, now_ms() + lifecycle_timeout_ms_, std::move(done),
                                                                     &controller::QuorumController::broker_heartbeat);
}

void ForwardingControllerChannel::alter_partition(msg::AlterPartitionRequest req, int16_t v,
                                                  std::function<void(msg::AlterPartitionResponse)> done) {
  forward<msg::AlterPartitionRequest, msg::AlterPartitionResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(done),
                                                                   &controller::QuorumController::alter_partition);
}

void ForwardingControllerChannel::describe_quorum(msg::DescribeQuorumRequest req, int16_t v,
                                                  std::function<void(msg::DescribeQuorumResponse)> done) {
  using C = Call<msg::DescribeQuorumRequest, msg::DescribeQuorumResponse>;
  auto call = std::make_shared<C>(C{std::move(req), v, std::move(done), now_ms() + timeout_ms_, nullptr});
  call->try_local = [this](C& c) {
    if (!raft_.is_leader()) return false;
    auto resp = raft_.describe_quorum();
    asio::post(io_, [done = c.done, resp = std::move(resp)]() mutable { done(std::move(resp)); });
    return true;
  };
  attempt(call);
}

template <class Req, class Resp, class Local>
void ForwardingControllerChannel::forward(Req req, int16_t v, int64_t deadline_ms, std::function<void(Resp)> done, Local local) {
  using C = Call<Req, Resp>;
  auto call = std::make_shared<C>(C{std::move(req), v, std::move(done), deadline_ms, nullptr});
  call->try_local = [this, local](C& c) {
    if (!local_active()) return false;
    (local_->*local)(c.request, c.version, c.done);
    return true;
  };
  attempt(call);
}

void ForwardingControllerChannel::after_image_satisfies(std::function<bool(const metadata::MetadataImage&)> pred, int64_t deadline_ms,
                                                        std::function<void()> fn) {
  auto image = replicas_ ? replicas_->image() : nullptr;
  if (!image || pred(*image) || now_ms() >= deadline_ms) return fn();
  auto alive = alive_;
  auto once = std::make_shared<bool>(false);
  auto again = [this, alive, once, pred, deadline_ms, fn]() mutable {
    if (!*alive || *once) return;
    *once = true;
    after_image_satisfies(std::move(pred), deadline_ms, std::move(fn));
  };
  replicas_->when_image_reaches(image->offset() + 1, again);
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(std::max<int64_t>(1, deadline_ms - now_ms())));
  t->async_wait([t, again](const asio::error_code&) mutable { again(); });
}

// ---------------------------------------------------------------- admin APIs

void ForwardingControllerChannel::elect_leaders(msg::ElectLeadersRequest req, int16_t v, std::function<void(msg::ElectLeadersResponse)> done) {
  // Forwarded at the newest version: its top-level error code tells NOT_CONTROLLER
  // even when no partitions are named (v0 has no top-level error).
  (void)v;
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::ElectLeadersRequest, msg::ElectLeadersResponse>(std::move(req), msg::ElectLeadersRequest::kMaxVersion, deadline,
                                                               std::move(done), &controller::QuorumController::elect_leaders);
}

// Config changes are answered once this broker's image shows the new values,
// so that a DescribeConfigs here right after sees them.
template <class Req, class Resp, class Local>
void ForwardingControllerChannel::forward_config_change(Req req, int16_t v, std::function<void(Resp)> done, Local local) {
  auto alive = alive_;
  auto resources = req.validate_only ? decltype(req.resources){} : req.resources;
  auto wrapped = [this, alive, done = std::move(done), resources](Resp r) mutable {
    if (!*alive) return;
    std::vector<typename decltype(resources)::value_type> ok;
    for (const auto& res : resources)
      for (const auto& x : r.responses)
        if (x.error_code == 0 && x.resource_type == res.resource_type && x.resource_name == res.resource_name) ok.push_back(res);
    after_image_satisfies(
        [ok](const metadata::MetadataImage& image) {
          for (const auto& res : ok)
            if (!image_shows(image, res)) return false;
          return true;
        },
        now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<Req, Resp>(std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped), local);
}

void ForwardingControllerChannel::incremental_alter_configs(msg::IncrementalAlterConfigsRequest req, int16_t v,
                                                            std::function<void(msg::IncrementalAlterConfigsResponse)> done) {
  forward_config_change<msg::IncrementalAlterConfigsRequest, msg::IncrementalAlterConfigsResponse>(
      std::move(req), v, std::move(done), &controller::QuorumController::incremental_alter_configs);
}

void ForwardingControllerChannel::alter_configs(msg::AlterConfigsRequest req, int16_t v, std::function<void(msg::AlterConfigsResponse)> done) {
  forward_config_change<msg::AlterConfigsRequest, msg::AlterConfigsResponse>(std::move(req), v, std::move(done),
                                                                              &controller::QuorumController::alter_configs);
}

void ForwardingControllerChannel::alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest req, int16_t v,
                                                                std::function<void(msg::AlterPartitionReassignmentsResponse)> done) {
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::AlterPartitionReassignmentsRequest, msg::AlterPartitionReassignmentsResponse>(
      std::move(req), v, deadline, std::move(done), &controller::QuorumController::alter_partition_reassignments);
}

void ForwardingControllerChannel::list_partition_reassignments(msg::ListPartitionReassignmentsRequest req, int16_t v,
                                                               std::function<void(msg::ListPartitionReassignmentsResponse)> done) {
  int64_t deadline = deadline_for(req.timeout_ms);
  forward<msg::ListPartitionReassignmentsRequest, msg::ListPartitionReassignmentsResponse>(
      std::move(req), v, deadline, std::move(done), &controller::QuorumController::list_partition_reassignments);
}

void ForwardingControllerChannel::unregister_broker(msg::UnregisterBrokerRequest req, int16_t v,
                                                    std::function<void(msg::UnregisterBrokerResponse)> done) {
  forward<msg::UnregisterBrokerRequest, msg::UnregisterBrokerResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(done),
                                                                       &controller::QuorumController::unregister_broker);
}

void ForwardingControllerChannel::allocate_producer_ids(msg::AllocateProducerIdsRequest req, int16_t v,
                                                        std::function<void(msg::AllocateProducerIdsResponse)> done) {
  forward<msg::AllocateProducerIdsRequest, msg::AllocateProducerIdsResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(done),
                                                                             &controller::QuorumController::allocate_producer_ids);
}

// The AssignmentsManager retries on its own: give up after one request timeout.
void ForwardingControllerChannel::assign_replicas_to_dirs(msg::AssignReplicasToDirsRequest req, int16_t v,
                                                          std::function<void(msg::AssignReplicasToDirsResponse)> done) {
  forward<msg::AssignReplicasToDirsRequest, msg::AssignReplicasToDirsResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(done),
                                                                               &controller::QuorumController::assign_replicas_to_dirs);
}

void ForwardingControllerChannel::alter_user_scram_credentials(msg::AlterUserScramCredentialsRequest req, int16_t v,
                                                               std::function<void(msg::AlterUserScramCredentialsResponse)> done) {
  auto alive = alive_;
  auto shape = std::make_shared<msg::AlterUserScramCredentialsRequest>();
  for (const auto& d : req.deletions) shape->deletions.push_back(d);
  for (const auto& u : req.upsertions) {
    auto x = u;
    x.salted_password.clear();  // only the salt and iterations are compared
    shape->upsertions.push_back(std::move(x));
  }
  auto wrapped = [this, alive, done = std::move(done), shape](msg::AlterUserScramCredentialsResponse r) mutable {
    if (!*alive) return;
    std::set<std::string> ok;
    for (const auto& x : r.results)
      if (x.error_code == 0) ok.insert(x.user);
    after_image_satisfies([shape, ok](const metadata::MetadataImage& image) { return image_shows(image, *shape, ok); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<msg::AlterUserScramCredentialsRequest, msg::AlterUserScramCredentialsResponse>(
      std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped), &controller::QuorumController::alter_user_scram_credentials);
}

void ForwardingControllerChannel::create_acls(msg::CreateAclsRequest req, int16_t v, std::function<void(msg::CreateAclsResponse)> done) {
  auto alive = alive_;
  std::vector<AclKey> wanted;
  for (const auto& c : req.creations) wanted.push_back(acl_key(security::StandardAcl::from_binding(Uuid{}, controller::acl_binding(c))));
  auto wrapped = [this, alive, done = std::move(done), wanted = std::move(wanted)](msg::CreateAclsResponse r) mutable {
    if (!*alive) return;
    std::set<AclKey> present;
    for (size_t i = 0; i < r.results.size() && i < wanted.size(); ++i)
      if (r.results[i].error_code == 0) present.insert(wanted[i]);
    after_image_satisfies([present](const metadata::MetadataImage& image) { return image_shows_acls(image, present, {}); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<msg::CreateAclsRequest, msg::CreateAclsResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped),
                                                           &controller::QuorumController::create_acls);
}

void ForwardingControllerChannel::delete_acls(msg::DeleteAclsRequest req, int16_t v, std::function<void(msg::DeleteAclsResponse)> done) {
  auto alive = alive_;
  auto wrapped = [this, alive, done = std::move(done)](msg::DeleteAclsResponse r) mutable {
    if (!*alive) return;
    std::set<AclKey> absent;
    for (const auto& f : r.filter_results)
      for (const auto& m : f.matching_acls) {
        security::StandardAcl a;
        a.resource_type = security::resource_type_from_code(m.resource_type);
        a.resource_name = m.resource_name;
        a.pattern_type = security::pattern_type_from_code(m.pattern_type);
        a.principal = m.principal;
        a.host = m.host;
        a.operation = security::acl_operation_from_code(m.operation);
        a.permission_type = security::permission_type_from_code(m.permission_type);
        absent.insert(acl_key(a));
      }
    after_image_satisfies([absent](const metadata::MetadataImage& image) { return image_shows_acls(image, {}, absent); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<msg::DeleteAclsRequest, msg::DeleteAclsResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped),
                                                           &controller::QuorumController::delete_acls);
}

void ForwardingControllerChannel::alter_client_quotas(msg::AlterClientQuotasRequest req, int16_t v,
                                                      std::function<void(msg::AlterClientQuotasResponse)> done) {
  auto alive = alive_;
  auto shape = std::make_shared<msg::AlterClientQuotasRequest>(req);
  auto wrapped = [this, alive, done = std::move(done), shape](msg::AlterClientQuotasResponse r) mutable {
    if (!*alive) return;
    std::set<security::ClientQuotaEntity> ok;
    if (!shape->validate_only)
      for (const auto& e : r.entries)
        if (e.error_code == 0) ok.insert(quota_entity_of(e.entity));
    after_image_satisfies([shape, ok](const metadata::MetadataImage& image) { return image_shows(image, *shape, ok); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<msg::AlterClientQuotasRequest, msg::AlterClientQuotasResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped),
                                                                         &controller::QuorumController::alter_client_quotas);
}

void ForwardingControllerChannel::update_features(msg::UpdateFeaturesRequest req, int16_t v,
                                                  std::function<void(msg::UpdateFeaturesResponse)> done) {
  auto alive = alive_;
  auto shape = std::make_shared<msg::UpdateFeaturesRequest>(req);
  auto wrapped = [this, alive, done = std::move(done), shape](msg::UpdateFeaturesResponse r) mutable {
    if (!*alive) return;
    const bool wait = r.error_code == 0 && !shape->validate_only;
    after_image_satisfies([shape, wait](const metadata::MetadataImage& image) { return !wait || image_shows(image, *shape); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward<msg::UpdateFeaturesRequest, msg::UpdateFeaturesResponse>(std::move(req), v, now_ms() + timeout_ms_, std::move(wrapped),
                                                                   &controller::QuorumController::update_features);
}

template <class Req, class Resp, class Local>
void ForwardingControllerChannel::forward_as(Req req, int16_t v, security::KafkaPrincipal caller, std::function<void(Resp)> done,
                                             Local local) {
  using C = Call<msg::EnvelopeRequest, msg::EnvelopeResponse>;
  security::Session session;
  session.principal = caller;
  auto inner = std::make_shared<Req>(std::move(req));
  // The envelope's answer, opened; an envelope-level error becomes the inner response's.
  auto unwrap = [done, v](msg::EnvelopeResponse e) {
    Resp r;
    if (e.error_code == 0 && e.response_data) {
      try {
        r = open_envelope_response<Resp>(*e.response_data, v);
        return done(std::move(r));
      } catch (const DecodeError&) {
        e.error_code = code(ErrorCode::UNKNOWN_SERVER_ERROR);
      }
    }
    r.error_code = e.error_code ? e.error_code : code(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  };
  auto call = std::make_shared<C>(C{make_envelope(*inner, v, session), 0, std::move(unwrap), now_ms() + timeout_ms_, nullptr});
  call->try_local = [this, local, inner, v, caller, done](C&) {
    if (!local_active()) return false;
    (local_->*local)(*inner, v, caller, done);
    return true;
  };
  attempt(call);
}

void ForwardingControllerChannel::create_delegation_token(msg::CreateDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                                                          std::function<void(msg::CreateDelegationTokenResponse)> done) {
  auto alive = alive_;
  auto wrapped = [this, alive, done = std::move(done)](msg::CreateDelegationTokenResponse r) mutable {
    if (!*alive) return;
    std::string id = r.error_code == 0 ? r.token_id : "";
    after_image_satisfies([id](const metadata::MetadataImage& image) { return id.empty() || image.delegation_tokens().count(id) > 0; },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward_as<msg::CreateDelegationTokenRequest, msg::CreateDelegationTokenResponse>(std::move(req), v, std::move(caller), std::move(wrapped),
                                                                                    &controller::QuorumController::create_delegation_token);
}

namespace {
// Some token of `image` expires at `expiry` (what a renewal or expiry wrote).
bool image_has_expiry(const metadata::MetadataImage& image, int64_t expiry) {
  for (const auto& [id, t] : image.delegation_tokens())
    if (t.expiry_timestamp_ms == expiry) return true;
  return false;
}
}  // namespace

void ForwardingControllerChannel::renew_delegation_token(msg::RenewDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                                                         std::function<void(msg::RenewDelegationTokenResponse)> done) {
  auto alive = alive_;
  auto wrapped = [this, alive, done = std::move(done)](msg::RenewDelegationTokenResponse r) mutable {
    if (!*alive) return;
    bool ok = r.error_code == 0;
    int64_t expiry = r.expiry_timestamp_ms;
    after_image_satisfies([ok, expiry](const metadata::MetadataImage& image) { return !ok || image_has_expiry(image, expiry); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward_as<msg::RenewDelegationTokenRequest, msg::RenewDelegationTokenResponse>(std::move(req), v, std::move(caller), std::move(wrapped),
                                                                                  &controller::QuorumController::renew_delegation_token);
}

void ForwardingControllerChannel::expire_delegation_token(msg::ExpireDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                                                          std::function<void(msg::ExpireDelegationTokenResponse)> done) {
  auto alive = alive_;
  auto wrapped = [this, alive, done = std::move(done)](msg::ExpireDelegationTokenResponse r) mutable {
    if (!*alive) return;
    bool wait = r.error_code == 0 && r.expiry_timestamp_ms >= 0;  // a removal cannot be matched without the HMAC
    int64_t expiry = r.expiry_timestamp_ms;
    after_image_satisfies([wait, expiry](const metadata::MetadataImage& image) { return !wait || image_has_expiry(image, expiry); },
                          now_ms() + timeout_ms_, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  forward_as<msg::ExpireDelegationTokenRequest, msg::ExpireDelegationTokenResponse>(std::move(req), v, std::move(caller), std::move(wrapped),
                                                                                    &controller::QuorumController::expire_delegation_token);
}

}  // namespace flotilla::server
