#include "server/controller_apis.h"

#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/authorized_admin.h"
#include "broker/error_responses.h"
#include "protocol/api.h"
#include "broker/authorization.h"
#include "raft/rpc.h"
#include "server/envelope.h"

namespace flotilla::server {

namespace {

struct Served {
  int16_t key, min, max;
};
constexpr int16_t kFetch = 1, kCreateTopics = 19, kDeleteTopics = 20, kCreatePartitions = 37, kVote = 52, kBeginQuorumEpoch = 53,
                  kEndQuorumEpoch = 54, kDescribeQuorum = 55, kFetchSnapshot = 59, kDescribeCluster = 60, kBrokerRegistration = 62,
                  kBrokerHeartbeat = 63, kAlterPartition = 56, kAddRaftVoter = 80, kRemoveRaftVoter = 81, kUpdateRaftVoter = 82;
// The admin APIs brokers forward (and --bootstrap-controller tools send).
constexpr int16_t kAlterConfigs = 33, kElectLeaders = 43, kIncrementalAlterConfigs = 44, kAlterPartitionReassignments = 45,
                  kListPartitionReassignments = 46, kUnregisterBroker = 64;
constexpr int16_t kAllocateProducerIds = 67;  // brokers' InitProducerId (KIP-730)
constexpr int16_t kAssignReplicasToDirs = 73;  // brokers' log dirs (KIP-858)
constexpr int16_t kAlterUserScramCredentials = 51;  // forwarded by brokers (KIP-554)
constexpr int16_t kDescribeAcls = 29, kCreateAcls = 30, kDeleteAcls = 31;  // create/delete forwarded by brokers
constexpr int16_t kAlterClientQuotas = 49;          // forwarded by brokers (KIP-546)
constexpr int16_t kUpdateFeatures = 57;             // forwarded by brokers (KIP-584)
constexpr int16_t kControllerRegistration = 70;     // controllers register with the active one (KIP-919)
// Delegation tokens (KIP-48): sent directly, or in an Envelope (58) by brokers.
constexpr int16_t kCreateDelegationToken = 38, kRenewDelegationToken = 39, kExpireDelegationToken = 40, kEnvelope = 58;
constexpr Served kControllerApis[] = {
    {kFetch, 13, 17},         {kVote, 0, 2},           {kBeginQuorumEpoch, 0, 1}, {kEndQuorumEpoch, 0, 1},
    {kDescribeQuorum, 0, 2},  {kFetchSnapshot, 0, 1},  {kDescribeCluster, 0, 2},  {kBrokerRegistration, 0, 4},
    {kBrokerHeartbeat, 0, 1}, {kAlterPartition, 0, 3}, {kCreateTopics, 0, 7},   {kDeleteTopics, 0, 6},     {kCreatePartitions, 0, 3},
    {kAddRaftVoter, 0, 0},    {kRemoveRaftVoter, 0, 0}, {kUpdateRaftVoter, 0, 0},
    {kElectLeaders, 0, 2},    {kIncrementalAlterConfigs, 0, 1}, {kAlterConfigs, 0, 2}, {kAlterPartitionReassignments, 0, 1},
    {kListPartitionReassignments, 0, 0}, {kUnregisterBroker, 0, 0},
    {kAllocateProducerIds, 0, 0}, {kAssignReplicasToDirs, 0, 0}, {kAlterUserScramCredentials, 0, 0},
    {kDescribeAcls, 0, 3}, {kCreateAcls, 0, 3}, {kDeleteAcls, 0, 3}, {kAlterClientQuotas, 0, 1}, {kUpdateFeatures, 0, 2},
    {kControllerRegistration, 0, 0},
    {kCreateDelegationToken, 0, 3}, {kRenewDelegationToken, 0, 2}, {kExpireDelegationToken, 0, 2}, {kEnvelope, 0, 0},
};

const Served* find(int16_t key) {
  for (const auto& s : kControllerApis)
    if (s.key == key) return &s;
  return nullptr;
}

using broker::api::send;
using broker::AclOperation;
using broker::Authz;
using controller::QuorumController;

// The answer of a request refused as a whole.
template <class Request, class Response>
Response refusal(const Request& request, ErrorCode e) {
  if constexpr (requires { broker::error_response(request, e); }) return broker::error_response(request, e);
  else return broker::top_level_error<Response>(e);
}

// A sender that holds CLUSTER_ACTION — what Kafka requires of an Envelope's
// sender — is a broker forwarding a request it authorized with its client's
// principal (or a controller): trusted as such (checked quietly).
bool is_forwarder(const Authz& auth) { return auth.cluster(AclOperation::CLUSTER_ACTION, broker::kAuditNoDenial); }

// Whether `auth` may send an API checked by one operation on the cluster;
// `forwarded`: an admin write brokers forward (a forwarder passes).
bool cluster_allowed(const Authz& auth, AclOperation op, bool forwarded) {
  if (!auth.enabled()) return true;
  if (forwarded && is_forwarder(auth)) return true;
  return auth.cluster(op);
}

void close_connection(net::Respond& respond, const net::Request& req, const char* why) {
  spdlog::warn("[ControllerApis] Closing connection {} from {}: {} (api key {} v{})", req.connection_id, req.peer, why, req.api_key,
               req.api_version);
  broker::api::close_connection(respond);
}

template <class Msg>
bool decode(const net::Request& req, net::Respond& respond, Msg& out) {
  if (broker::api::decode(req, out)) return true;
  broker::api::close_connection(respond);
  return false;
}

// The APIs the quorum controller serves: the request decoded (or the
// connection closed), handed to `serve`, its answer sent back when it comes.
// Authorized first: `op` on the cluster (`forwarded`: an admin write brokers
// forward, see is_forwarder); refused: the API's error response.
template <class Request, class Response>
void serve_with(QuorumController& controller, const Authz& auth, AclOperation op, bool forwarded, std::shared_ptr<net::Request> req,
                net::Respond respond, void (QuorumController::*serve)(Request, int16_t, std::function<void(Response)>)) {
  Request request;
  if (!decode(*req, respond, request)) return;
  if (!cluster_allowed(auth, op, forwarded))
    return send(*req, respond, refusal<Request, Response>(request, ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
  int16_t version = req->api_version;
  (controller.*serve)(std::move(request), version, [req, respond](Response r) mutable { send(*req, respond, r); });
}

}  // namespace

ControllerApis::ControllerApis(raft::RaftDriver& raft, controller::QuorumController* controller, std::string cluster_id,
                               std::map<int32_t, raft::PeerAddress> controllers, raft::RaftNetwork* network)
    : raft_(raft), controller_(controller), cluster_id_(std::move(cluster_id)), controllers_(std::move(controllers)), network_(network) {}

int16_t ControllerApis::max_version(int16_t key) const {
  const Served* s = find(key);
  if (!s) return -1;
  bool needs_controller = key == kCreateTopics || key == kDeleteTopics || key == kCreatePartitions || key == kBrokerRegistration ||
                          key == kBrokerHeartbeat || key == kAlterPartition || key == kElectLeaders || key == kIncrementalAlterConfigs ||
                          key == kAlterConfigs || key == kAlterPartitionReassignments || key == kListPartitionReassignments ||
                          key == kUnregisterBroker || key == kAllocateProducerIds || key == kAssignReplicasToDirs || key == kAlterUserScramCredentials ||
                          key == kDescribeAcls || key == kCreateAcls || key == kDeleteAcls || key == kAlterClientQuotas || key == kUpdateFeatures ||
                          key == kCreateDelegationToken || key == kRenewDelegationToken || key == kExpireDelegationToken ||
                          key == kEnvelope || key == kControllerRegistration;
  if (needs_controller && !controller_) return -1;
  return s->max;
}

int16_t ControllerApis::min_version(int16_t key) const {
  const Served* s = find(key);
  return s ? s->min : -1;
}

void ControllerApis::handle(std::shared_ptr<net::Request> req, net::Respond respond) {
  const Authz auth = Authz::of(authorizer_, *req);
  constexpr AclOperation kClusterAction = AclOperation::CLUSTER_ACTION, kAlter = AclOperation::ALTER, kDescribe = AclOperation::DESCRIBE;
  // The RPCs refused as a whole by an operation on the cluster before they are read.
  auto refused = [&](AclOperation op) {
    if (cluster_allowed(auth, op, false)) return false;
    net::Response r;
    r.header_version = static_cast<int16_t>(protocol::response_header_version(req->api_key, req->api_version));
    auto encode = [&](auto m) {
      m.error_code = code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
      if constexpr (requires { m.error_message; }) m.error_message = std::string(error_message(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
      m.encode(r.body, req->api_version);
    };
    switch (req->api_key) {
      case kVote: encode(msg::VoteResponse{}); break;
      case kBeginQuorumEpoch: encode(msg::BeginQuorumEpochResponse{}); break;
      case kEndQuorumEpoch: encode(msg::EndQuorumEpochResponse{}); break;
      case kFetch: encode(msg::FetchResponse{}); break;
      case kFetchSnapshot: encode(msg::FetchSnapshotResponse{}); break;
      case kDescribeQuorum: encode(msg::DescribeQuorumResponse{}); break;
      case kDescribeCluster: encode(msg::DescribeClusterResponse{}); break;
      case kAddRaftVoter: encode(msg::AddRaftVoterResponse{}); break;
      case kRemoveRaftVoter: encode(msg::RemoveRaftVoterResponse{}); break;
      default: encode(msg::UpdateRaftVoterResponse{}); break;
    }
    respond(std::move(r));
    return true;
  };
  switch (req->api_key) {
    case kVote:
    case kBeginQuorumEpoch:
    case kEndQuorumEpoch:
    case kFetch:
    case kFetchSnapshot:
      if (refused(kClusterAction)) return;
      return handle_raft(std::move(req), std::move(respond));
    case kDescribeQuorum: {
      msg::DescribeQuorumRequest request;
      if (!decode(*req, respond, request)) return;
      if (refused(kDescribe)) return;
      return send(*req, respond, raft_.describe_quorum());
    }
    case kDescribeCluster:
      // Unlike a broker's, the controllers' DescribeCluster needs ALTER on the cluster (KIP-919).
      if (refused(kAlter)) return;
      return handle_describe_cluster(std::move(req), std::move(respond));
    case kAddRaftVoter:
    case kRemoveRaftVoter:
    case kUpdateRaftVoter:
      if (refused(req->api_key == kUpdateRaftVoter ? kClusterAction : kAlter)) return;
      return handle_voter_change(std::move(req), std::move(respond));
    case kControllerRegistration:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond),
                        &QuorumController::register_controller);
    case kBrokerRegistration:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond), &QuorumController::register_broker);
    case kBrokerHeartbeat:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond), &QuorumController::broker_heartbeat);
    case kAlterPartition:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond), &QuorumController::alter_partition);
    case kAllocateProducerIds:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond),
                        &QuorumController::allocate_producer_ids);
    case kAssignReplicasToDirs:
      return serve_with(*controller_, auth, kClusterAction, false, std::move(req), std::move(respond),
                        &QuorumController::assign_replicas_to_dirs);
    case kCreateTopics:
    case kDeleteTopics:
    case kCreatePartitions:
    case kIncrementalAlterConfigs:
    case kAlterConfigs:
      return handle_gated(auth, std::move(req), std::move(respond));
    case kElectLeaders:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond), &QuorumController::elect_leaders);
    case kAlterPartitionReassignments:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond),
                        &QuorumController::alter_partition_reassignments);
    case kListPartitionReassignments:
      return serve_with(*controller_, auth, kDescribe, true, std::move(req), std::move(respond),
                        &QuorumController::list_partition_reassignments);
    case kUnregisterBroker:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond), &QuorumController::unregister_broker);
    case kAlterUserScramCredentials:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond),
                        &QuorumController::alter_user_scram_credentials);
    // The ACL APIs: DESCRIBE / ALTER on the cluster (CreateAcls and DeleteAcls are forwarded by brokers).
    case kDescribeAcls:
      return serve_with(*controller_, auth, kDescribe, false, std::move(req), std::move(respond), &QuorumController::describe_acls);
    case kCreateAcls:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond), &QuorumController::create_acls);
    case kDeleteAcls:
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond), &QuorumController::delete_acls);
    case kAlterClientQuotas:  // ALTER_CONFIGS on the cluster, as Kafka's ControllerApis
      return serve_with(*controller_, auth, AclOperation::ALTER_CONFIGS, true, std::move(req), std::move(respond),
                        &QuorumController::alter_client_quotas);
    case kUpdateFeatures:  // ALTER on the cluster, as Kafka's ControllerApis
      return serve_with(*controller_, auth, kAlter, true, std::move(req), std::move(respond), &QuorumController::update_features);
    case kCreateDelegationToken:
    case kRenewDelegationToken:
    case kExpireDelegationToken:
      return handle_token_api(auth, std::move(req), std::move(respond));
    case kEnvelope:
      return handle_envelope(auth, std::move(req), std::move(respond));
    default:
      return close_connection(respond, *req, "unsupported API on the controller listener");
  }
}

namespace {

template <class Response>
Response token_refusal(ErrorCode ec) {
  Response r;
  r.error_code = code(ec);
  return r;
}

// One delegation token API for `session` (the connection's, or an Envelope's
// forwarded one): Kafka's ControllerApis checks, then the controller. `answer`
// gets the response. `forwarded`: from an Envelope (see handle_envelope).
template <class Request, class Response, class Answer>
void serve_token_api(QuorumController& controller, const Authz& auth, const security::Session& session, Request request, int16_t version,
                     void (QuorumController::*serve)(Request, int16_t, security::KafkaPrincipal, std::function<void(Response)>),
                     Answer answer, bool forwarded = false) {
  // A forwarding broker checked its client's connection; its session is known here only as tokenAuthenticated.
  if (forwarded ? session.token_authenticated : !broker::token_requests_allowed(session))
    return answer(token_refusal<Response>(ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED));
  if constexpr (std::is_same_v<Request, msg::CreateDelegationTokenRequest>) {
    security::KafkaPrincipal owner = session.principal;
    if (request.owner_principal_name && !request.owner_principal_name->empty())
      owner = {request.owner_principal_type.value_or("User"), *request.owner_principal_name};
    if (ErrorCode ec = broker::authorize_create_token(auth, owner); ec != ErrorCode::NONE) {
      auto r = token_refusal<Response>(ec);
      r.principal_type = owner.type;
      r.principal_name = owner.name;
      r.token_requester_principal_type = session.principal.type;
      r.token_requester_principal_name = session.principal.name;
      return answer(std::move(r));
    }
  }
  (controller.*serve)(std::move(request), version, session.principal, std::function<void(Response)>(std::move(answer)));
}

}  // namespace

void ControllerApis::handle_token_api(const Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond) {
  auto reply = [req, respond](auto r) mutable { send(*req, respond, r); };
  int16_t v = req->api_version;
  switch (req->api_key) {
    case kCreateDelegationToken: {
      msg::CreateDelegationTokenRequest r;
      if (!decode(*req, respond, r)) return;
      return serve_token_api(*controller_, auth, *req->session, std::move(r), v, &QuorumController::create_delegation_token,
                             [reply](msg::CreateDelegationTokenResponse x) mutable { reply(x); });
    }
    case kRenewDelegationToken: {
      msg::RenewDelegationTokenRequest r;
      if (!decode(*req, respond, r)) return;
      return serve_token_api(*controller_, auth, *req->session, std::move(r), v, &QuorumController::renew_delegation_token,
                             [reply](msg::RenewDelegationTokenResponse x) mutable { reply(x); });
    }
    default: {
      msg::ExpireDelegationTokenRequest r;
      if (!decode(*req, respond, r)) return;
      return serve_token_api(*controller_, auth, *req->session, std::move(r), v, &QuorumController::expire_delegation_token,
                             [reply](msg::ExpireDelegationTokenResponse x) mutable { reply(x); });
    }
  }
}

// KIP-590's Envelope, as Flotilla's brokers send it: only for the delegation
// token APIs, only from a forwarder (CLUSTER_ACTION on the cluster); the inner
// request is served as the forwarded principal's, its answer wrapped.
void ControllerApis::handle_envelope(const Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::EnvelopeRequest envelope;
  if (!decode(*req, respond, envelope)) return;
  auto fail = [&](ErrorCode ec) {
    msg::EnvelopeResponse r;
    r.error_code = code(ec);
    r.response_data = std::nullopt;
    send(*req, respond, r);
  };
  if (auth.enabled() && !is_forwarder(auth)) return fail(ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  OpenedEnvelope inner;
  try {
    inner = open_envelope(envelope);
  } catch (const DecodeError&) {
    return close_connection(respond, *req, "malformed Envelope");
  }
  security::Session session = *req->session;
  session.principal = inner.principal;
  session.token_authenticated = inner.token_authenticated;
  const Authz forwarded;  // the broker authorized the inner request already
  int16_t key = inner.header.request_api_key, v = inner.header.request_api_version;
  int32_t corr = inner.header.correlation_id;
  auto wrap = [req, respond, key, v, corr](const auto& r) mutable {
    msg::EnvelopeResponse e;
    e.error_code = 0;
    e.response_data = envelope_response_data(r, key, v, corr);
    send(*req, respond, e);
  };
  try {
    ByteReader body(inner.body.data(), inner.body.size());
    switch (key) {
      case kCreateDelegationToken: {
        msg::CreateDelegationTokenRequest r;
        r.decode(body, v);
        return serve_token_api(*controller_, forwarded, session, std::move(r), v, &QuorumController::create_delegation_token,
                               [wrap](msg::CreateDelegationTokenResponse x) mutable { wrap(x); }, true);
      }
      case kRenewDelegationToken: {
        msg::RenewDelegationTokenRequest r;
        r.decode(body, v);
        return serve_token_api(*controller_, forwarded, session, std::move(r), v, &QuorumController::renew_delegation_token,
                               [wrap](msg::RenewDelegationTokenResponse x) mutable { wrap(x); }, true);
      }
      case kExpireDelegationToken: {
        msg::ExpireDelegationTokenRequest r;
        r.decode(body, v);
        return serve_token_api(*controller_, forwarded, session, std::move(r), v, &QuorumController::expire_delegation_token,
                               [wrap](msg::ExpireDelegationTokenResponse x) mutable { wrap(x); }, true);
      }
      default:
        return fail(ErrorCode::INVALID_REQUEST);
    }
  } catch (const DecodeError&) {
    return close_connection(respond, *req, "malformed request in an Envelope");
  }
}

namespace {

// Decodes, cuts out of the request what `auth` may not do (a Gate of
// broker/authorized_admin.h), serves the rest, completes the answer.
template <class Request, class Response, class MakeGate>
void serve_gated(QuorumController& controller, std::shared_ptr<net::Request> req, net::Respond respond,
                 void (QuorumController::*serve)(Request, int16_t, std::function<void(Response)>), MakeGate make_gate) {
  Request request;
  if (!decode(*req, respond, request)) return;
  auto gate = std::make_shared<const decltype(make_gate(request))>(make_gate(request));
  (controller.*serve)(std::move(request), req->api_version, [req, respond, gate](Response r) mutable {
    gate->complete(r);
    send(*req, respond, r);
  });
}

}  // namespace

void ControllerApis::handle_gated(const Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond) {
  // A forwarding broker authorized these already (is_forwarder).
  const Authz direct = auth.enabled() && !is_forwarder(auth) ? auth : Authz();
  switch (req->api_key) {
    case kCreateTopics:
      return serve_gated(*controller_, std::move(req), std::move(respond), &QuorumController::create_topics,
                         [&](msg::CreateTopicsRequest& r) { return broker::CreateTopicsGate(direct, r); });
    case kDeleteTopics: {
      auto image = controller_->committed_image();
      metadata::MetadataImage empty;
      return serve_gated(*controller_, std::move(req), std::move(respond), &QuorumController::delete_topics,
                         [&](msg::DeleteTopicsRequest& r) { return broker::DeleteTopicsGate(direct, r, image ? *image : empty); });
    }
    case kCreatePartitions:
      return serve_gated(*controller_, std::move(req), std::move(respond), &QuorumController::create_partitions,
                         [&](msg::CreatePartitionsRequest& r) { return broker::CreatePartitionsGate(direct, r); });
    case kIncrementalAlterConfigs:
      return serve_gated(*controller_, std::move(req), std::move(respond), &QuorumController::incremental_alter_configs,
                         [&](msg::IncrementalAlterConfigsRequest& r) {
                           return broker::AlterConfigsGate<msg::IncrementalAlterConfigsRequest, msg::IncrementalAlterConfigsResponse>(direct, r);
                         });
    default:
      return serve_gated(*controller_, std::move(req), std::move(respond), &QuorumController::alter_configs,
                         [&](msg::AlterConfigsRequest& r) {
                           return broker::AlterConfigsGate<msg::AlterConfigsRequest, msg::AlterConfigsResponse>(direct, r);
                         });
  }
}

void ControllerApis::handle_raft(std::shared_ptr<net::Request> req, net::Respond respond) {
  std::optional<raft::rpc::InboundRequest> in;
  try {
    ByteReader body = req->body();
    in = raft::rpc::decode_request(req->api_key, req->api_version, body);
  } catch (const DecodeError& e) {
    return close_connection(respond, *req, e.what());
  }
  int16_t key = req->api_key, version = req->api_version;
  int16_t header_version = static_cast<int16_t>(protocol::response_header_version(key, version));
  if (!in) {
    // Well formed but not about __cluster_metadata-0: the only partition a controller serves.
    net::Response r;
    r.header_version = header_version;
    raft::rpc::encode_error_response(key, version, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, r.body);
    return respond(std::move(r));
  }
  raft_.handle_request(in->source, std::move(in->request), [this, respond, key, version, header_version](raft::RaftResponse resp) mutable {
    net::Response r;
    r.header_version = header_version;
    // Fetch answers name the leader's address: an observer that only knew a
    // bootstrap server can then reach it (Fetch v16+ NodeEndpoints).
    std::vector<raft::rpc::NodeAddress> endpoints;
    if (auto* f = std::get_if<raft::FetchResponse>(&resp); f && f->leader_id >= 0 && network_) {
      if (auto a = network_->address(f->leader_id)) endpoints.push_back({f->leader_id, a->host, a->port});
    }
    raft::rpc::encode_response(resp, key, version, r.body, endpoints);
    respond(std::move(r));
  });
}

void ControllerApis::handle_voter_change(std::shared_ptr<net::Request> req, net::Respond respond) {
  auto reply = [req, respond](ErrorCode e, const std::string& message) mutable {
    switch (req->api_key) {
      case kAddRaftVoter: {
        msg::AddRaftVoterResponse r;
        r.error_code = code(e);
        if (e != ErrorCode::NONE) r.error_message = message;
        return send(*req, respond, r);
      }
      case kRemoveRaftVoter: {
        msg::RemoveRaftVoterResponse r;
        r.error_code = code(e);
        if (e != ErrorCode::NONE) r.error_message = message;
        return send(*req, respond, r);
      }
      default: {
        msg::UpdateRaftVoterResponse r;
        r.error_code = code(e);
        return send(*req, respond, r);
      }
    }
  };
  auto check_cluster = [&](const std::optional<std::string>& id) {
    if (id && !id->empty() && *id != cluster_id_) {
      reply(ErrorCode::INCONSISTENT_CLUSTER_ID, "cluster id " + *id + " is not " + cluster_id_);
      return false;
    }
    return true;
  };
  auto voter_of = [](int32_t id, const Uuid& dir, const auto& listeners) {
    raft::Voter v;
    v.id = id;
    v.directory_id = dir;
    for (const auto& l : listeners) v.endpoints.push_back(raft::VoterEndpoint{l.name, l.host, l.port});
    return v;
  };
  switch (req->api_key) {
    case kAddRaftVoter: {
      msg::AddRaftVoterRequest r;
      if (!decode(*req, respond, r) || !check_cluster(r.cluster_id)) return;
      return raft_.add_voter(voter_of(r.voter_id, r.voter_directory_id, r.listeners), r.timeout_ms > 0 ? r.timeout_ms : 30000, reply);
    }
    case kRemoveRaftVoter: {
      msg::RemoveRaftVoterRequest r;
      if (!decode(*req, respond, r) || !check_cluster(r.cluster_id)) return;
      return raft_.remove_voter(r.voter_id, r.voter_directory_id, 30000, reply);
    }
    default: {
      msg::UpdateRaftVoterRequest r;
      if (!decode(*req, respond, r) || !check_cluster(r.cluster_id)) return;
      return raft_.update_voter(voter_of(r.voter_id, r.voter_directory_id, r.listeners), 30000, reply);
    }
  }
}

void ControllerApis::handle_describe_cluster(std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::DescribeClusterRequest request;
  if (!decode(*req, respond, request)) return;
  msg::DescribeClusterResponse resp;
  resp.cluster_id = cluster_id_;
  resp.controller_id = raft_.leader_and_epoch().leader_id;
  resp.endpoint_type = 2;  // controllers (KIP-919)
  for (int32_t id : raft_.core().config().voters) {
    std::optional<raft::PeerAddress> a;
    if (network_) a = network_->address(id);
    if (!a)
      if (auto it = controllers_.find(id); it != controllers_.end()) a = it->second;
    if (!a) continue;
    msg::DescribeClusterResponse::DescribeClusterBroker b;
    b.broker_id = id;
    b.host = a->host;
    b.port = a->port;
    resp.brokers.push_back(b);
  }
  send(*req, respond, resp);
}

int16_t BrokerExtraApis::max_version(int16_t key) const { return key == kDescribeQuorum ? 2 : -1; }
int16_t BrokerExtraApis::min_version(int16_t key) const { return key == kDescribeQuorum ? 0 : -1; }

void BrokerExtraApis::handle(std::shared_ptr<net::Request> req, net::Respond respond) {
  msg::DescribeQuorumRequest request;
  if (!decode(*req, respond, request)) return;
  // DESCRIBE on the cluster, with the caller's principal (Kafka's controller checks the forwarded one).
  if (ErrorCode e = broker::authorize_cluster(Authz::of(authorizer_, *req), AclOperation::DESCRIBE); e != ErrorCode::NONE)
    return send(*req, respond, broker::top_level_error<msg::DescribeQuorumResponse>(e));
  channel_.describe_quorum(std::move(request), req->api_version,
                           [req, respond](msg::DescribeQuorumResponse r) mutable { send(*req, respond, r); });
}

}  // namespace flotilla::server
