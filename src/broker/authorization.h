// Authorization of the Kafka APIs: which resources and operations each API
// checks, in which order, and the error a refusal answers with — Kafka 3.9's
// rules ("Operations and Resources on Protocols", checked against its
// KafkaApis and ControllerApis, where the documentation is out of date).
// This file and authorization.cc are the one place that says it; the
// handlers call the function of their API and answer with what it returns.
//
// - Authz is one request's view of the authorizer: the ACL snapshot taken
//   once when the request arrives (StandardAuthorizer::snapshot()), the
//   connection's Session, the API's name for the audit log. Every decision
//   of the request reads that one snapshot; a decision is a lookup in the
//   AclIndex (never a scan). Without an authorizer (authorizer.class.name
//   empty) an Authz allows everything and costs nothing.
// - Audit (Kafka's "kafka.authorizer.logger"): a denial the client asked
//   about explicitly is logged at INFO, an allowed action at DEBUG, the
//   quiet checks (filters such as Metadata of all topics, KIP-430's
//   authorized operations) at TRACE; the logger is named
//   kafka.authorizer.logger and its lines end with "(kafka.authorizer.logger)".
// - A refused client is answered with the error, never disconnected for it
//   (Produce with acks=0 excepted: Kafka closes the connection on any error
//   there, the only way to tell such a client).
//
// Threading: an Authz belongs to one request; it may be copied into the
// request's callbacks (it keeps its snapshot alive). The audit logger is
// thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "security/acl.h"
#include "security/acl_index.h"
#include "security/principal.h"

namespace flotilla::security {
class StandardAuthorizer;
}
namespace flotilla::net {
struct Request;
}
namespace flotilla::msg {
struct ProduceRequest;
struct OffsetCommitRequest;
struct TxnOffsetCommitRequest;
struct OffsetDeleteRequest;
struct AddPartitionsToTxnRequest;
}  // namespace flotilla::msg

namespace flotilla::broker {

using security::AclOperation;
using security::ResourceType;

// Kafka's Action.logIfAllowed / logIfDenied.
struct AuditLog {
  bool if_allowed = true;
  bool if_denied = true;
};
inline constexpr AuditLog kAudit{};                    // an action the client asked for
inline constexpr AuditLog kAuditNoDenial{true, false};  // a probe with a fallback (CREATE on the cluster, ...)
inline constexpr AuditLog kAuditQuiet{false, false};    // a filter of what the client may see

// The distinct names a check refused, sorted (empty on the hot path: no allocation).
class Refused {
 public:
  bool has(std::string_view name) const { return std::binary_search(names_.begin(), names_.end(), name, std::less<>()); }
  bool empty() const { return names_.empty(); }
  size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  void add(std::string name);  // keeps the order; ignores a repeat

 private:
  std::vector<std::string> names_;
};

class Authz {
 public:
  // No authorizer: everything is allowed.
  Authz() = default;
  Authz(std::shared_ptr<const security::AclIndex> acls, std::shared_ptr<const security::Session> session, std::string_view api_name);
  // The request's view: `authorizer` null (authorization off) allows everything.
  static Authz of(const security::StandardAuthorizer* authorizer, const net::Request& req);

  bool enabled() const { return acls_ != nullptr; }
  const security::KafkaPrincipal& principal() const;

  // Kafka's AuthHelper.authorize: `op` on the LITERAL resource `name`.
  bool allowed(AclOperation op, ResourceType type, std::string_view name, AuditLog log = kAudit, int ref_count = 1) const;
  bool cluster(AclOperation op, AuditLog log = kAudit) const {
    return allowed(op, ResourceType::CLUSTER, security::kClusterResourceName, log);
  }
  // Kafka's authorizeByResourceType (KIP-679): may `op` be done on some
  // resource of `type`?
  bool by_resource_type(AclOperation op, ResourceType type) const;
  // KIP-430: the operations allowed on a resource, as a bit field (every
  // supported operation when authorization is off).
  int32_t operations(ResourceType type, std::string_view name) const;

  // Kafka's filterByAuthorized, returning the refused names: `op` on each
  // distinct name among `items` (its resourceRefCount the times it occurs).
  template <class Range, class NameOf>
  Refused refused(AclOperation op, ResourceType type, const Range& items, NameOf name_of, AuditLog log = kAudit) const {
    Refused out;
    if (!enabled()) return out;
    std::vector<std::string_view> names;
    for (const auto& item : items) names.emplace_back(name_of(item));
    refuse_sorted(op, type, names, log, out);
    return out;
  }

 private:
  void refuse_sorted(AclOperation op, ResourceType type, std::vector<std::string_view>& names, AuditLog log, Refused& out) const;
  void audit(const security::Decision& d, AclOperation op, ResourceType type, std::string_view name, int ref_count,
             AuditLog log) const;

  std::shared_ptr<const security::AclIndex> acls_;  // null: authorization off
  std::shared_ptr<const security::Session> session_;
  std::string_view api_name_;  // a static string (protocol::ApiInfo::name)
};

// What an API's check decided: the whole request refused (`error`), or the
// resources refused one by one (`refused`, each answered with `item_error`).
struct Verdict {
  ErrorCode error = ErrorCode::NONE;
  Refused refused;
  ErrorCode item_error = ErrorCode::NONE;

  bool ok() const { return error == ErrorCode::NONE; }
  bool refuses(std::string_view name) const { return refused.has(name); }
};

// ---------------------------------------------------------------- the table, one function per API
// (named after Kafka's API; the comment is the rule, in Kafka's order)

// PRODUCE (0): a request holding a transactional batch needs WRITE on its
// TRANSACTIONAL_ID (none, or refused: every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
// then WRITE on each TOPIC (TOPIC_AUTHORIZATION_FAILED, before UNKNOWN_TOPIC_OR_PARTITION).
// Idempotent batches need nothing more: InitProducerId checked it (KIP-679).
Verdict authorize_produce(const Authz& a, const msg::ProduceRequest& req);
// Whether a batch of the request is transactional (Kafka's RequestUtils.hasTransactionalRecords).
bool has_transactional_batches(const msg::ProduceRequest& req);

// FETCH (1): a follower (replica id >= 0) needs CLUSTER_ACTION on the CLUSTER,
// else every partition is TOPIC_AUTHORIZATION_FAILED (`error`); a consumer needs READ on
// each TOPIC (TOPIC_AUTHORIZATION_FAILED). `topics`: the names (ids resolved).
Verdict authorize_fetch(const Authz& a, bool from_follower, std::span<const std::string> topics);

// LIST_OFFSETS (2): DESCRIBE on each TOPIC. DELETE_RECORDS (21): DELETE.
// CREATE_PARTITIONS (37): ALTER. DESCRIBE_PRODUCERS (61): READ. Each refused
// topic is TOPIC_AUTHORIZATION_FAILED.
Verdict authorize_topics(const Authz& a, AclOperation op, std::span<const std::string> topics);

// METADATA (3): DESCRIBE on each TOPIC. Named topics refused are answered
// TOPIC_AUTHORIZATION_FAILED (with no id), all-topics requests leave them out
// silently (logged at TRACE). Auto-creation of a DESCRIBE-able topic that does
// not exist needs CREATE on the CLUSTER or else on the TOPIC
// (TOPIC_AUTHORIZATION_FAILED). Authorized operations (KIP-430) are filled
// when asked: the cluster's only with DESCRIBE on the CLUSTER (else 0).
Refused authorize_metadata(const Authz& a, std::span<const std::string> topics, bool all_topics);
// One topic of an all-topics Metadata (no copy of the names): DESCRIBE, a denial logged at TRACE.
bool metadata_shows(const Authz& a, const std::string& topic);
// DescribeTopicPartitions (KIP-966): DESCRIBE on the topic, named or listed, every decision logged.
bool describe_topic_partitions_shows(const Authz& a, const std::string& topic);
Refused authorize_auto_create(const Authz& a, std::span<const std::string> missing_topics);

// OFFSET_COMMIT (8): READ on the GROUP (every partition GROUP_AUTHORIZATION_FAILED),
// then READ on each TOPIC (TOPIC_AUTHORIZATION_FAILED).
Verdict authorize_offset_commit(const Authz& a, const msg::OffsetCommitRequest& req);
// OFFSET_FETCH (9), per group: DESCRIBE on the GROUP (GROUP_AUTHORIZATION_FAILED),
// then DESCRIBE on each TOPIC named (its partitions TOPIC_AUTHORIZATION_FAILED,
// offset -1); with all topics, those not DESCRIBE-able are left out (kAudit).
ErrorCode authorize_offset_fetch_group(const Authz& a, const std::string& group);
Verdict authorize_offset_fetch_topics(const Authz& a, std::span<const std::string> topics);

// FIND_COORDINATOR (10), per key: DESCRIBE on the GROUP (key type 0,
// GROUP_AUTHORIZATION_FAILED) or the TRANSACTIONAL_ID (key type 1,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED); checked before anything else.
ErrorCode authorize_find_coordinator(const Authz& a, int8_t key_type, const std::string& key);

// JOIN_GROUP (11), HEARTBEAT (12), LEAVE_GROUP (13), SYNC_GROUP (14),
// CONSUMER_GROUP_HEARTBEAT (68): READ on the GROUP (GROUP_AUTHORIZATION_FAILED).
ErrorCode authorize_group_member(const Authz& a, const std::string& group);
// DESCRIBE_GROUPS (15), CONSUMER_GROUP_DESCRIBE (69), per group: DESCRIBE on
// the GROUP (GROUP_AUTHORIZATION_FAILED); authorized operations when asked.
ErrorCode authorize_describe_group(const Authz& a, const std::string& group);
// LIST_GROUPS (16): DESCRIBE on the CLUSTER lists every group; without it, the
// groups with DESCRIBE on the GROUP (no error, both checks quiet on denial).
bool list_groups_all(const Authz& a);
bool list_groups_shows(const Authz& a, const std::string& group);
// DELETE_GROUPS (42): DELETE on each GROUP (GROUP_AUTHORIZATION_FAILED).
Verdict authorize_delete_groups(const Authz& a, std::span<const std::string> groups);
// OFFSET_DELETE (47): DELETE on the GROUP (GROUP_AUTHORIZATION_FAILED), then
// READ on each TOPIC (TOPIC_AUTHORIZATION_FAILED).
Verdict authorize_offset_delete(const Authz& a, const msg::OffsetDeleteRequest& req);

// CREATE_TOPICS (19): CREATE on the CLUSTER (quiet if denied), else CREATE on
// each TOPIC (TOPIC_AUTHORIZATION_FAILED, "Authorization failed."); a created
// topic's configs, partitions and replication factor are returned only with
// DESCRIBE_CONFIGS on it (else topic_config_error_code TOPIC_AUTHORIZATION_FAILED).
struct CreateTopicsAuth {
  Refused create;    // may not be created
  Refused describe;  // created, but configs not returned
};
CreateTopicsAuth authorize_create_topics(const Authz& a, std::span<const std::string> topics);
// DELETE_TOPICS (20): DELETE on the CLUSTER (quiet if denied), else DELETE on
// each TOPIC (TOPIC_AUTHORIZATION_FAILED). A topic named by id whose name the
// caller may not DESCRIBE is answered without its name.
struct DeleteTopicsAuth {
  Refused remove;    // may not be deleted
  Refused describe;  // may not be described (a refused topic named by id: no name in the answer)
};
DeleteTopicsAuth authorize_delete_topics(const Authz& a, std::span<const std::string> topics);

// INIT_PRODUCER_ID (22): with a transactional id, WRITE on that
// TRANSACTIONAL_ID (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); without one,
// IDEMPOTENT_WRITE on the CLUSTER (quiet if denied) or — KIP-679 — WRITE on
// some TOPIC (authorizeByResourceType), else CLUSTER_AUTHORIZATION_FAILED.
ErrorCode authorize_init_producer_id(const Authz& a, const std::optional<std::string>& transactional_id);
// OFFSET_FOR_LEADER_EPOCH (23): CLUSTER_ACTION on the CLUSTER (quiet if
// denied) allows every topic; else DESCRIBE on each TOPIC (TOPIC_AUTHORIZATION_FAILED).
Verdict authorize_offset_for_leader_epoch(const Authz& a, std::span<const std::string> topics);
// ADD_PARTITIONS_TO_TXN (24, v0-3): WRITE on the TRANSACTIONAL_ID (every
// partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then WRITE on each TOPIC —
// internal topics are always refused — (TOPIC_AUTHORIZATION_FAILED; the other
// partitions OPERATION_NOT_ATTEMPTED).
Verdict authorize_add_partitions_to_txn(const Authz& a, const msg::AddPartitionsToTxnRequest& req);
// AddPartitionsToTxn v4+: CLUSTER_ACTION on the cluster (sent by brokers).
ErrorCode authorize_add_partitions_to_txn_batched(const Authz& a);
// ADD_OFFSETS_TO_TXN (25): WRITE on the TRANSACTIONAL_ID, then READ on the GROUP.
ErrorCode authorize_add_offsets_to_txn(const Authz& a, const std::string& transactional_id, const std::string& group);
// END_TXN (26): WRITE on the TRANSACTIONAL_ID.
ErrorCode authorize_end_txn(const Authz& a, const std::string& transactional_id);
// WRITE_TXN_MARKERS (27): ALTER on the CLUSTER (quiet if denied) or
// CLUSTER_ACTION (every partition CLUSTER_AUTHORIZATION_FAILED).
ErrorCode authorize_write_txn_markers(const Authz& a);
// TXN_OFFSET_COMMIT (28): WRITE on the TRANSACTIONAL_ID, READ on the GROUP
// (every partition gets the error), then READ on each TOPIC.
Verdict authorize_txn_offset_commit(const Authz& a, const msg::TxnOffsetCommitRequest& req);

// DESCRIBE_CONFIGS (32), per resource: DESCRIBE_CONFIGS on the CLUSTER for a
// BROKER, BROKER_LOGGER or CLIENT_METRICS (CLUSTER_AUTHORIZATION_FAILED), on the TOPIC
// (TOPIC_AUTHORIZATION_FAILED), on the GROUP (GROUP_AUTHORIZATION_FAILED).
// ALTER_CONFIGS (33), INCREMENTAL_ALTER_CONFIGS (44): ALTER_CONFIGS likewise.
// NONE for other resource types (the API's own validation answers them).
ErrorCode authorize_config_resource(const Authz& a, AclOperation op, int8_t config_resource_type, const std::string& name);

// DESCRIBE_TRANSACTIONS (65), per id: DESCRIBE on the TRANSACTIONAL_ID
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); its topics only with DESCRIBE on
// each TOPIC. LIST_TRANSACTIONS (66): the ids with DESCRIBE, silently.
ErrorCode authorize_describe_transaction(const Authz& a, const std::string& transactional_id);
bool shows_topic(const Authz& a, const std::string& topic);  // DESCRIBE on the TOPIC
bool list_transactions_shows(const Authz& a, const std::string& transactional_id);

// The delegation token APIs (KIP-48): CREATE (38), RENEW (39), EXPIRE (40) and
// DESCRIBE (41) are refused with DELEGATION_TOKEN_REQUEST_NOT_ALLOWED on a
// PLAINTEXT connection, an SSL one without a client certificate (ANONYMOUS)
// or a session authenticated with a delegation token (Kafka's allowTokenRequests).
bool token_requests_allowed(const security::Session& session);
// CREATE_DELEGATION_TOKEN (38): a token for an owner other than the caller
// needs CREATE_TOKENS on the USER "<Type>:<name>" of the owner
// (DELEGATION_TOKEN_AUTHORIZATION_FAILED). RENEW/EXPIRE (39, 40) check no ACL:
// only the owner or a renewer may (the controller's DELEGATION_TOKEN_OWNER_MISMATCH).
ErrorCode authorize_create_token(const Authz& a, const security::KafkaPrincipal& owner);
// DESCRIBE_DELEGATION_TOKEN (41), per token: its owner and renewers see it;
// others with DESCRIBE on the DELEGATION_TOKEN <id> or DESCRIBE_TOKENS on the
// USER "<Type>:<name>" of its owner (quiet: a filter).
bool describe_token_shows(const Authz& a, const security::KafkaPrincipal& caller, const std::string& token_id,
                          const security::KafkaPrincipal& owner, const std::vector<security::KafkaPrincipal>& renewers);

// The APIs that check one operation on the CLUSTER and refuse the whole
// request with CLUSTER_AUTHORIZATION_FAILED (DESCRIBE_LOG_DIRS,
// ELECT_LEADERS, the reassignments, UNREGISTER_BROKER, the SCRAM APIs,
// DESCRIBE_QUORUM, the ACL APIs, the controller's RPCs: see api_checks()).
ErrorCode authorize_cluster(const Authz& a, AclOperation op);

// GET_TELEMETRY_SUBSCRIPTIONS (71), PUSH_TELEMETRY (72): nothing (KIP-714:
// any client may ask for its subscription and push its metrics).
ErrorCode authorize_client_telemetry(const Authz& a);
// LIST_CLIENT_METRICS_RESOURCES (74): DESCRIBE_CONFIGS on the CLUSTER
// (CLUSTER_AUTHORIZATION_FAILED, no resources).
ErrorCode authorize_list_client_metrics_resources(const Authz& a);

// ---------------------------------------------------------------- the table as data

// One row of Kafka's "Operations and Resources on Protocols", as Flotilla
// serves it: docs, and the tests that check every served API has its rows.
struct ApiCheck {
  int16_t api_key;
  std::string_view api;        // Kafka's ApiKeys name, "PRODUCE"
  std::string_view operation;  // "Write", "" for none
  std::string_view resource;   // "Topic", "" for none
  std::string_view error;      // the error a refusal answers with
  std::string_view note;
};
std::span<const ApiCheck> api_checks();

}  // namespace flotilla::broker
