// How the broker reaches the active controller: the admin writes clients send
// (forwarded), and the broker's own registration and heartbeats (KIP-631).
// A node's implementation calls its local QuorumController when that is the
// active one and otherwise forwards over the controller listener to the
// active controller (server/forwarding_channel.h), retrying on
// NOT_CONTROLLER until the request's deadline.
//
// Threading: callbacks run on the broker's io_context thread, never inside the call.
#pragma once

#include <functional>

#include "common/error.h"
#include "protocol/messages.h"
#include "security/principal.h"

namespace flotilla::broker {

class ControllerChannel {
 public:
  virtual ~ControllerChannel() = default;
  virtual void create_topics(msg::CreateTopicsRequest req, int16_t version, std::function<void(msg::CreateTopicsResponse)> done) = 0;
  virtual void delete_topics(msg::DeleteTopicsRequest req, int16_t version, std::function<void(msg::DeleteTopicsResponse)> done) = 0;
  virtual void create_partitions(msg::CreatePartitionsRequest req, int16_t version,
                                 std::function<void(msg::CreatePartitionsResponse)> done) = 0;
  virtual void register_broker(msg::BrokerRegistrationRequest req, int16_t version,
                               std::function<void(msg::BrokerRegistrationResponse)> done) = 0;
  virtual void broker_heartbeat(msg::BrokerHeartbeatRequest req, int16_t version,
                                std::function<void(msg::BrokerHeartbeatResponse)> done) = 0;
  // The partition leader's ISR changes (KIP-497). The response carries, per
  // partition, the new state as committed (or an error such as
  // FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA).
  virtual void alter_partition(msg::AlterPartitionRequest req, int16_t version, std::function<void(msg::AlterPartitionResponse)> done) = 0;
  virtual void describe_quorum(msg::DescribeQuorumRequest req, int16_t version,
                               std::function<void(msg::DescribeQuorumResponse)> done) = 0;
  // Admin writes forwarded to the active controller (KIP-590): leader
  // elections, dynamic configs (TOPIC and BROKER resources, already screened
  // by the broker), partition reassignments, broker unregistration. Each
  // answers once the controller's records are committed.
  virtual void elect_leaders(msg::ElectLeadersRequest req, int16_t version, std::function<void(msg::ElectLeadersResponse)> done) = 0;
  virtual void incremental_alter_configs(msg::IncrementalAlterConfigsRequest req, int16_t version,
                                         std::function<void(msg::IncrementalAlterConfigsResponse)> done) = 0;
  virtual void alter_configs(msg::AlterConfigsRequest req, int16_t version, std::function<void(msg::AlterConfigsResponse)> done) = 0;
  virtual void alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest req, int16_t version,
                                             std::function<void(msg::AlterPartitionReassignmentsResponse)> done) = 0;
  virtual void list_partition_reassignments(msg::ListPartitionReassignmentsRequest req, int16_t version,
                                            std::function<void(msg::ListPartitionReassignmentsResponse)> done) = 0;
  virtual void unregister_broker(msg::UnregisterBrokerRequest req, int16_t version, std::function<void(msg::UnregisterBrokerResponse)> done) = 0;
  // AllocateProducerIds (KIP-730): a block of producer ids for this broker
  // (InitProducerId). The default (channels of tests) answers UNKNOWN_SERVER_ERROR.
  virtual void allocate_producer_ids(msg::AllocateProducerIdsRequest, int16_t, std::function<void(msg::AllocateProducerIdsResponse)> done) {
    msg::AllocateProducerIdsResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  // AssignReplicasToDirs (KIP-858): the log dirs of this broker's replicas.
  // The default (channels of tests) answers UNKNOWN_SERVER_ERROR.
  virtual void assign_replicas_to_dirs(msg::AssignReplicasToDirsRequest, int16_t,
                                       std::function<void(msg::AssignReplicasToDirsResponse)> done) {
    msg::AssignReplicasToDirsResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  // AlterUserScramCredentials (KIP-554): SCRAM credential records, answered
  // once committed. The default (channels of tests) answers
  // UNKNOWN_SERVER_ERROR for every user named.
  virtual void alter_user_scram_credentials(msg::AlterUserScramCredentialsRequest req, int16_t,
                                            std::function<void(msg::AlterUserScramCredentialsResponse)> done) {
    msg::AlterUserScramCredentialsResponse r;
    for (const auto& d : req.deletions) r.results.push_back({d.name, static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR), std::nullopt});
    for (const auto& u : req.upsertions) r.results.push_back({u.name, static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR), std::nullopt});
    done(std::move(r));
  }
  // CreateAcls / DeleteAcls (forwarded as Kafka's brokers do), answered once
  // committed. The defaults (channels of tests) answer UNKNOWN_SERVER_ERROR
  // for every binding or filter.
  virtual void create_acls(msg::CreateAclsRequest req, int16_t, std::function<void(msg::CreateAclsResponse)> done) {
    msg::CreateAclsResponse r;
    for (size_t i = 0; i < req.creations.size(); ++i) r.results.push_back({static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR), std::nullopt});
    done(std::move(r));
  }
  virtual void delete_acls(msg::DeleteAclsRequest req, int16_t, std::function<void(msg::DeleteAclsResponse)> done) {
    msg::DeleteAclsResponse r;
    for (size_t i = 0; i < req.filters.size(); ++i) {
      msg::DeleteAclsResponse::DeleteAclsFilterResult x;
      x.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
      x.error_message = std::nullopt;
      r.filter_results.push_back(std::move(x));
    }
    done(std::move(r));
  }
  // AlterClientQuotas (KIP-546): ClientQuotaRecords, answered once committed.
  // The default (channels of tests) answers UNKNOWN_SERVER_ERROR for every entry.
  virtual void alter_client_quotas(msg::AlterClientQuotasRequest req, int16_t, std::function<void(msg::AlterClientQuotasResponse)> done) {
    msg::AlterClientQuotasResponse r;
    for (const auto& e : req.entries) {
      msg::AlterClientQuotasResponse::EntryData d;
      d.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
      d.error_message = std::nullopt;
      for (const auto& x : e.entity) d.entity.push_back({x.entity_type, x.entity_name});
      r.entries.push_back(std::move(d));
    }
    done(std::move(r));
  }
  // ControllerRegistration (KIP-919): a controller node's own registration,
  // answered once committed. The default (channels of tests) answers
  // UNKNOWN_SERVER_ERROR.
  virtual void register_controller(msg::ControllerRegistrationRequest, int16_t,
                                   std::function<void(msg::ControllerRegistrationResponse)> done) {
    msg::ControllerRegistrationResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  // UpdateFeatures (KIP-584): FeatureLevelRecords, answered once committed
  // (and visible in this broker's image). The default (channels of tests)
  // answers UNKNOWN_SERVER_ERROR.
  virtual void update_features(msg::UpdateFeaturesRequest req, int16_t, std::function<void(msg::UpdateFeaturesResponse)> done) {
    msg::UpdateFeaturesResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    r.error_message = std::nullopt;
    for (const auto& u : req.feature_updates) {
      msg::UpdateFeaturesResponse::UpdatableFeatureResult x;
      x.feature = u.feature;
      x.error_code = r.error_code;
      x.error_message = std::nullopt;
      r.results.push_back(std::move(x));
    }
    done(std::move(r));
  }
  // Create/Renew/ExpireDelegationToken (KIP-48), answered once committed (and
  // visible in this broker's image). `caller`: the client's principal, which
  // the controller needs (owner, requester, renewer checks); forwarded in an
  // Envelope (KIP-590). The defaults (channels of tests) answer UNKNOWN_SERVER_ERROR.
  virtual void create_delegation_token(msg::CreateDelegationTokenRequest, int16_t, security::KafkaPrincipal,
                                       std::function<void(msg::CreateDelegationTokenResponse)> done) {
    msg::CreateDelegationTokenResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  virtual void renew_delegation_token(msg::RenewDelegationTokenRequest, int16_t, security::KafkaPrincipal,
                                      std::function<void(msg::RenewDelegationTokenResponse)> done) {
    msg::RenewDelegationTokenResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  virtual void expire_delegation_token(msg::ExpireDelegationTokenRequest, int16_t, security::KafkaPrincipal,
                                       std::function<void(msg::ExpireDelegationTokenResponse)> done) {
    msg::ExpireDelegationTokenResponse r;
    r.error_code = static_cast<int16_t>(ErrorCode::UNKNOWN_SERVER_ERROR);
    done(std::move(r));
  }
  // The id of the active controller, -1 if none is known.
  virtual int32_t active_controller_id() const = 0;
};

}  // namespace flotilla::broker
