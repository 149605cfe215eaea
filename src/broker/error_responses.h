// The answer of a request refused as a whole (Kafka's AbstractRequest.getErrorResponse):
// the top-level error, and for the APIs whose response lists the request's
// items, each item with that error. Used for the refusals of the
// authorization table (CLUSTER_AUTHORIZATION_FAILED, ...) on the broker and
// controller listeners.
//
// Pure functions of the request; thread-compatible.
#pragma once

#include <set>
#include <string>

#include "common/error.h"
#include "protocol/messages.h"

namespace flotilla::broker {

// A response with its top-level error (and Kafka's message for it, where the
// response has an error message).
template <class Resp>
Resp top_level_error(ErrorCode e) {
  Resp r;
  r.error_code = static_cast<int16_t>(e);
  if constexpr (requires { r.error_message; }) r.error_message = std::string(error_message(e));
  return r;
}

inline msg::ElectLeadersResponse error_response(const msg::ElectLeadersRequest& req, ErrorCode e) {
  auto r = top_level_error<msg::ElectLeadersResponse>(e);
  if (req.topic_partitions)
    for (const auto& t : *req.topic_partitions) {
      msg::ElectLeadersResponse::ReplicaElectionResult x;
      x.topic = t.topic;
      for (int32_t p : t.partitions) {
        msg::ElectLeadersResponse::PartitionResult pr;
        pr.partition_id = p;
        pr.error_code = static_cast<int16_t>(e);
        pr.error_message = std::string(error_message(e));
        x.partition_result.push_back(pr);
      }
      r.replica_election_results.push_back(std::move(x));
    }
  return r;
}

inline msg::AlterPartitionReassignmentsResponse error_response(const msg::AlterPartitionReassignmentsRequest& req, ErrorCode e) {
  auto r = top_level_error<msg::AlterPartitionReassignmentsResponse>(e);
  for (const auto& t : req.topics) {
    msg::AlterPartitionReassignmentsResponse::ReassignableTopicResponse x;
    x.name = t.name;
    for (const auto& p : t.partitions) {
      msg::AlterPartitionReassignmentsResponse::ReassignablePartitionResponse pr;
      pr.partition_index = p.partition_index;
      pr.error_code = static_cast<int16_t>(e);
      pr.error_message = std::string(error_message(e));
      x.partitions.push_back(pr);
    }
    r.responses.push_back(std::move(x));
  }
  return r;
}

inline msg::AlterUserScramCredentialsResponse error_response(const msg::AlterUserScramCredentialsRequest& req, ErrorCode e) {
  msg::AlterUserScramCredentialsResponse r;
  std::set<std::string> users;
  for (const auto& d : req.deletions) users.insert(d.name);
  for (const auto& u : req.upsertions) users.insert(u.name);
  for (const auto& user : users) {
    msg::AlterUserScramCredentialsResponse::AlterUserScramCredentialsResult x;
    x.user = user;
    x.error_code = static_cast<int16_t>(e);
    x.error_message = std::string(error_message(e));
    r.results.push_back(std::move(x));
  }
  return r;
}

inline msg::AllocateProducerIdsResponse error_response(const msg::AllocateProducerIdsRequest&, ErrorCode e) {
  msg::AllocateProducerIdsResponse r;
  r.error_code = static_cast<int16_t>(e);
  r.producer_id_start = -1;
  r.producer_id_len = -1;
  return r;
}

inline msg::ControllerRegistrationResponse error_response(const msg::ControllerRegistrationRequest&, ErrorCode e) {
  msg::ControllerRegistrationResponse r;
  r.error_code = static_cast<int16_t>(e);
  r.error_message = std::nullopt;
  return r;
}

inline msg::BrokerHeartbeatResponse error_response(const msg::BrokerHeartbeatRequest&, ErrorCode e) {
  msg::BrokerHeartbeatResponse r;
  r.error_code = static_cast<int16_t>(e);
  r.is_fenced = true;
  return r;
}

inline msg::CreateAclsResponse error_response(const msg::CreateAclsRequest& req, ErrorCode e) {
  msg::CreateAclsResponse r;
  for (size_t i = 0; i < req.creations.size(); ++i) r.results.push_back({static_cast<int16_t>(e), std::string(error_message(e))});
  return r;
}

inline msg::DeleteAclsResponse error_response(const msg::DeleteAclsRequest& req, ErrorCode e) {
  msg::DeleteAclsResponse r;
  for (size_t i = 0; i < req.filters.size(); ++i) {
    msg::DeleteAclsResponse::DeleteAclsFilterResult x;
    x.error_code = static_cast<int16_t>(e);
    x.error_message = std::string(error_message(e));
    r.filter_results.push_back(std::move(x));
  }
  return r;
}

// AlterClientQuotasRequest.getErrorResponse: every entry with the error and its message.
inline msg::AlterClientQuotasResponse error_response(const msg::AlterClientQuotasRequest& req, ErrorCode e) {
  msg::AlterClientQuotasResponse r;
  for (const auto& entry : req.entries) {
    msg::AlterClientQuotasResponse::EntryData d;
    d.error_code = static_cast<int16_t>(e);
    d.error_message = std::string(error_message(e));
    for (const auto& x : entry.entity) d.entity.push_back({x.entity_type, x.entity_name});
    r.entries.push_back(std::move(d));
  }
  return r;
}

// UpdateFeaturesRequest.getErrorResponse: the top-level error and, for
// versions 0-1 (the field is not written at v2), every feature with it.
inline msg::UpdateFeaturesResponse error_response(const msg::UpdateFeaturesRequest& req, ErrorCode e) {
  msg::UpdateFeaturesResponse r;
  r.error_code = static_cast<int16_t>(e);
  r.error_message = std::string(error_message(e));
  for (const auto& u : req.feature_updates) {
    msg::UpdateFeaturesResponse::UpdatableFeatureResult x;
    x.feature = u.feature;
    x.error_code = static_cast<int16_t>(e);
    x.error_message = std::string(error_message(e));
    r.results.push_back(std::move(x));
  }
  return r;
}

}  // namespace flotilla::broker
