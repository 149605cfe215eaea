// The authorization table's code (authorization.h says the rules): the
// per-request Authz over one ACL snapshot, the audit log, and one function
// per API.
#include "broker/authorization.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "common/bytes.h"
#include "net/server.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "security/authorizer.h"

namespace flotilla::broker {

namespace {

using security::AclOperation;
using security::ResourceType;

// Kafka's "kafka.authorizer.logger": its own logger (and its own stderr sink:
// a pattern set on a shared sink would change every logger's lines), with
// log4j's "(logger name)" at the end of the line, at the node's level.
spdlog::logger& audit_logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    constexpr const char* kName = "kafka.authorizer.logger";
    if (auto existing = spdlog::get(kName)) return existing;
    auto l = std::make_shared<spdlog::logger>(kName, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    l->set_pattern("[%Y-%m-%d %H:%M:%S,%e] %^%l%$ %v (%n)");
    l->set_level(spdlog::default_logger()->level());
    l->flush_on(spdlog::level::info);
    spdlog::register_logger(l);  // spdlog::set_level and tests reach it by name
    return l;
  }();
  return *logger;
}

// Whether a batch of a partition's records is transactional (magic 2's attribute bit).
bool any_transactional_batch(std::span<const uint8_t> bytes) {
  bool found = false;
  records::for_each_batch(bytes, [&](const records::BatchHeader& h, std::span<const uint8_t>) {
    found = found || (h.magic == 2 && h.is_transactional());
  });
  return found;
}

constexpr int8_t kConfigTopic = 2, kConfigBroker = 4, kConfigBrokerLogger = 8, kConfigClientMetrics = 16, kConfigGroup = 32;

ErrorCode error_of(bool allowed, ErrorCode e) { return allowed ? ErrorCode::NONE : e; }

Verdict topic_verdict(const Authz& a, AclOperation op, std::span<const std::string> topics, AuditLog log = kAudit) {
  Verdict v;
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  v.refused = a.refused(op, ResourceType::TOPIC, topics, [](const std::string& t) -> std::string_view { return t; }, log);
  return v;
}

}  // namespace

// ---------------------------------------------------------------- Refused, Authz

void Refused::add(std::string name) {
  auto it = std::lower_bound(names_.begin(), names_.end(), name);
  if (it == names_.end() || *it != name) names_.insert(it, std::move(name));
}

Authz::Authz(std::shared_ptr<const security::AclIndex> acls, std::shared_ptr<const security::Session> session, std::string_view api_name)
    : acls_(std::move(acls)), session_(std::move(session)), api_name_(api_name) {
  if (!session_) session_ = std::make_shared<security::Session>();
}

Authz Authz::of(const security::StandardAuthorizer* authorizer, const net::Request& req) {
  if (!authorizer) return Authz();
  const protocol::ApiInfo* info = protocol::api_info(req.api_key);
  return Authz(authorizer->snapshot(), req.session, info ? std::string_view(info->name) : std::string_view("Unknown"));
}

const security::KafkaPrincipal& Authz::principal() const {
  static const security::KafkaPrincipal kAnonymous;
  return session_ ? session_->principal : kAnonymous;
}

void Authz::audit(const security::Decision& d, AclOperation op, ResourceType type, std::string_view name, int ref_count,
                  AuditLog log) const {
  spdlog::logger& l = audit_logger();
  spdlog::level::level_enum level = d.allowed() ? (log.if_allowed ? spdlog::level::debug : spdlog::level::trace)
                                                : (log.if_denied ? spdlog::level::info : spdlog::level::trace);
  if (!l.should_log(level)) return;
  l.log(level, security::audit_message(session_->principal, session_->client_host, op, type, name, api_name_, ref_count, d));
}

bool Authz::allowed(AclOperation op, ResourceType type, std::string_view name, AuditLog log, int ref_count) const {
  if (!acls_) return true;
  security::Decision d = acls_->decide(session_->principal, session_->client_host, op, type, name);
  audit(d, op, type, name, ref_count, log);
  return d.allowed();
}

bool Authz::by_resource_type(AclOperation op, ResourceType type) const {
  if (!acls_) return true;
  return acls_->authorize_by_resource_type(session_->principal, session_->client_host, op, type) ==
         security::AuthorizationResult::ALLOWED;
}

int32_t Authz::operations(ResourceType type, std::string_view name) const {
  if (acls_) return acls_->authorized_operations(session_->principal, session_->client_host, type, name);
  int32_t bits = 0;
  for (AclOperation op : security::supported_operations(type)) bits |= int32_t{1} << security::code(op);
  return bits;
}

void Authz::refuse_sorted(AclOperation op, ResourceType type, std::vector<std::string_view>& names, AuditLog log, Refused& out) const {
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size();) {
    size_t j = i + 1;
    while (j < names.size() && names[j] == names[i]) ++j;
    if (!allowed(op, type, names[i], log, static_cast<int>(j - i))) out.add(std::string(names[i]));
    i = j;
  }
}

// ---------------------------------------------------------------- per API

bool has_transactional_batches(const msg::ProduceRequest& req) {
  for (const auto& t : req.topic_data)
    for (const auto& p : t.partition_data)
      if (!p.records.is_null && any_transactional_batch(p.records.view)) return true;
  return false;
}

Verdict authorize_produce(const Authz& a, const msg::ProduceRequest& req) {
  Verdict v;
  if (!a.enabled()) return v;
  if (has_transactional_batches(req) &&
      !(req.transactional_id && a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, *req.transactional_id))) {
    v.error = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return v;
  }
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  v.refused = a.refused(AclOperation::WRITE, ResourceType::TOPIC, req.topic_data,
                        [](const auto& t) -> std::string_view { return t.name; });
  return v;
}

Verdict authorize_fetch(const Authz& a, bool from_follower, std::span<const std::string> topics) {
  if (!from_follower) return topic_verdict(a, AclOperation::READ, topics);
  Verdict v;
  if (!a.cluster(AclOperation::CLUSTER_ACTION)) v.error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  return v;
}

Verdict authorize_topics(const Authz& a, AclOperation op, std::span<const std::string> topics) { return topic_verdict(a, op, topics); }

Refused authorize_metadata(const Authz& a, std::span<const std::string> topics, bool all_topics) {
  return topic_verdict(a, AclOperation::DESCRIBE, topics, all_topics ? AuditLog{true, false} : kAudit).refused;
}

bool metadata_shows(const Authz& a, const std::string& topic) {
  return a.allowed(AclOperation::DESCRIBE, ResourceType::TOPIC, topic, AuditLog{true, false});
}

bool describe_topic_partitions_shows(const Authz& a, const std::string& topic) {
  return a.allowed(AclOperation::DESCRIBE, ResourceType::TOPIC, topic, kAudit);
}

Refused authorize_auto_create(const Authz& a, std::span<const std::string> missing_topics) {
  if (missing_topics.empty() || a.cluster(AclOperation::CREATE, kAuditNoDenial)) return {};
  return topic_verdict(a, AclOperation::CREATE, missing_topics).refused;
}

Verdict authorize_offset_commit(const Authz& a, const msg::OffsetCommitRequest& req) {
  Verdict v;
  if (!a.allowed(AclOperation::READ, ResourceType::GROUP, req.group_id)) {
    v.error = ErrorCode::GROUP_AUTHORIZATION_FAILED;
    return v;
  }
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  v.refused = a.refused(AclOperation::READ, ResourceType::TOPIC, req.topics, [](const auto& t) -> std::string_view { return t.name; });
  return v;
}

ErrorCode authorize_offset_fetch_group(const Authz& a, const std::string& group) {
  return error_of(a.allowed(AclOperation::DESCRIBE, ResourceType::GROUP, group), ErrorCode::GROUP_AUTHORIZATION_FAILED);
}

Verdict authorize_offset_fetch_topics(const Authz& a, std::span<const std::string> topics) {
  return topic_verdict(a, AclOperation::DESCRIBE, topics);
}

ErrorCode authorize_find_coordinator(const Authz& a, int8_t key_type, const std::string& key) {
  if (key_type == 0) return error_of(a.allowed(AclOperation::DESCRIBE, ResourceType::GROUP, key), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  if (key_type == 1)
    return error_of(a.allowed(AclOperation::DESCRIBE, ResourceType::TRANSACTIONAL_ID, key), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  return ErrorCode::NONE;
}

ErrorCode authorize_group_member(const Authz& a, const std::string& group) {
  return error_of(a.allowed(AclOperation::READ, ResourceType::GROUP, group), ErrorCode::GROUP_AUTHORIZATION_FAILED);
}

ErrorCode authorize_describe_group(const Authz& a, const std::string& group) {
  return error_of(a.allowed(AclOperation::DESCRIBE, ResourceType::GROUP, group), ErrorCode::GROUP_AUTHORIZATION_FAILED);
}

bool list_groups_all(const Authz& a) { return a.cluster(AclOperation::DESCRIBE, kAuditNoDenial); }
bool list_groups_shows(const Authz& a, const std::string& group) {
  return a.allowed(AclOperation::DESCRIBE, ResourceType::GROUP, group, kAuditNoDenial);
}

Verdict authorize_delete_groups(const Authz& a, std::span<const std::string> groups) {
  Verdict v;
  v.item_error = ErrorCode::GROUP_AUTHORIZATION_FAILED;
  v.refused = a.refused(AclOperation::DELETE, ResourceType::GROUP, groups, [](const std::string& g) -> std::string_view { return g; });
  return v;
}

Verdict authorize_offset_delete(const Authz& a, const msg::OffsetDeleteRequest& req) {
  Verdict v;
  if (!a.allowed(AclOperation::DELETE, ResourceType::GROUP, req.group_id)) {
    v.error = ErrorCode::GROUP_AUTHORIZATION_FAILED;
    return v;
  }
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  v.refused = a.refused(AclOperation::READ, ResourceType::TOPIC, req.topics, [](const auto& t) -> std::string_view { return t.name; });
  return v;
}

CreateTopicsAuth authorize_create_topics(const Authz& a, std::span<const std::string> topics) {
  CreateTopicsAuth out;
  if (!a.enabled()) return out;
  if (!a.cluster(AclOperation::CREATE, kAuditNoDenial)) out.create = topic_verdict(a, AclOperation::CREATE, topics).refused;
  out.describe = topic_verdict(a, AclOperation::DESCRIBE_CONFIGS, topics, kAuditNoDenial).refused;
  return out;
}

DeleteTopicsAuth authorize_delete_topics(const Authz& a, std::span<const std::string> topics) {
  DeleteTopicsAuth out;
  if (!a.enabled() || a.cluster(AclOperation::DELETE, kAuditNoDenial)) return out;
  out.describe = topic_verdict(a, AclOperation::DESCRIBE, topics).refused;
  out.remove = topic_verdict(a, AclOperation::DELETE, topics).refused;
  return out;
}

ErrorCode authorize_init_producer_id(const Authz& a, const std::optional<std::string>& transactional_id) {
  if (transactional_id)
    return error_of(a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, *transactional_id),
                    ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  bool ok = a.cluster(AclOperation::IDEMPOTENT_WRITE, kAuditNoDenial) || a.by_resource_type(AclOperation::WRITE, ResourceType::TOPIC);
  return error_of(ok, ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
}

Verdict authorize_offset_for_leader_epoch(const Authz& a, std::span<const std::string> topics) {
  if (!a.enabled() || a.cluster(AclOperation::CLUSTER_ACTION, kAuditNoDenial)) return {};
  return topic_verdict(a, AclOperation::DESCRIBE, topics);
}

Verdict authorize_add_partitions_to_txn(const Authz& a, const msg::AddPartitionsToTxnRequest& req) {
  Verdict v;
  if (!a.enabled()) return v;
  if (!a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, req.v3_and_below_transactional_id)) {
    v.error = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return v;
  }
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  // Kafka filters the internal topics out before authorizing, so they are never among the allowed.
  std::vector<std::string> external;
  for (const auto& t : req.v3_and_below_topics) {
    if (t.name == "__consumer_offsets" || t.name == "__transaction_state") v.refused.add(t.name);
    else external.push_back(t.name);
  }
  const Verdict topics = topic_verdict(a, AclOperation::WRITE, external);
  for (const auto& n : topics.refused.names()) v.refused.add(n);
  return v;
}

ErrorCode authorize_add_partitions_to_txn_batched(const Authz& a) { return authorize_cluster(a, AclOperation::CLUSTER_ACTION); }

ErrorCode authorize_add_offsets_to_txn(const Authz& a, const std::string& transactional_id, const std::string& group) {
  if (!a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, transactional_id)) return ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  return error_of(a.allowed(AclOperation::READ, ResourceType::GROUP, group), ErrorCode::GROUP_AUTHORIZATION_FAILED);
}

ErrorCode authorize_end_txn(const Authz& a, const std::string& transactional_id) {
  return error_of(a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, transactional_id),
                  ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

ErrorCode authorize_write_txn_markers(const Authz& a) {
  if (a.cluster(AclOperation::ALTER, kAuditNoDenial)) return ErrorCode::NONE;
  return authorize_cluster(a, AclOperation::CLUSTER_ACTION);
}

Verdict authorize_txn_offset_commit(const Authz& a, const msg::TxnOffsetCommitRequest& req) {
  Verdict v;
  if (!a.allowed(AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, req.transactional_id)) {
    v.error = ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return v;
  }
  if (!a.allowed(AclOperation::READ, ResourceType::GROUP, req.group_id)) {
    v.error = ErrorCode::GROUP_AUTHORIZATION_FAILED;
    return v;
  }
  v.item_error = ErrorCode::TOPIC_AUTHORIZATION_FAILED;
  v.refused = a.refused(AclOperation::READ, ResourceType::TOPIC, req.topics, [](const auto& t) -> std::string_view { return t.name; });
  return v;
}

ErrorCode authorize_config_resource(const Authz& a, AclOperation op, int8_t config_resource_type, const std::string& name) {
  switch (config_resource_type) {
    case kConfigBroker:
    case kConfigBrokerLogger:
    case kConfigClientMetrics:
      return error_of(a.cluster(op), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
    case kConfigTopic:
      return error_of(a.allowed(op, ResourceType::TOPIC, name), ErrorCode::TOPIC_AUTHORIZATION_FAILED);
    case kConfigGroup:
      return error_of(a.allowed(op, ResourceType::GROUP, name), ErrorCode::GROUP_AUTHORIZATION_FAILED);
    default:
      return ErrorCode::NONE;
  }
}

ErrorCode authorize_describe_transaction(const Authz& a, const std::string& transactional_id) {
  return error_of(a.allowed(AclOperation::DESCRIBE, ResourceType::TRANSACTIONAL_ID, transactional_id),
                  ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

bool shows_topic(const Authz& a, const std::string& topic) { return a.allowed(AclOperation::DESCRIBE, ResourceType::TOPIC, topic); }

bool list_transactions_shows(const Authz& a, const std::string& transactional_id) {
  return a.allowed(AclOperation::DESCRIBE, ResourceType::TRANSACTIONAL_ID, transactional_id);
}

ErrorCode authorize_cluster(const Authz& a, AclOperation op) { return error_of(a.cluster(op), ErrorCode::CLUSTER_AUTHORIZATION_FAILED); }

ErrorCode authorize_client_telemetry(const Authz&) { return ErrorCode::NONE; }

ErrorCode authorize_list_client_metrics_resources(const Authz& a) { return authorize_cluster(a, AclOperation::DESCRIBE_CONFIGS); }
bool token_requests_allowed(const security::Session& s) {
  if (s.token_authenticated || s.protocol == security::SecurityProtocol::PLAINTEXT) return false;
  return !(s.protocol == security::SecurityProtocol::SSL && s.principal == security::KafkaPrincipal{});
}

ErrorCode authorize_create_token(const Authz& a, const security::KafkaPrincipal& owner) {
  if (owner == a.principal()) return ErrorCode::NONE;
  return error_of(a.allowed(AclOperation::CREATE_TOKENS, ResourceType::USER, owner.to_string()),
                  ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED);
}

bool describe_token_shows(const Authz& a, const security::KafkaPrincipal& caller, const std::string& token_id,
                          const security::KafkaPrincipal& owner, const std::vector<security::KafkaPrincipal>& renewers) {
  if (caller == owner || std::find(renewers.begin(), renewers.end(), caller) != renewers.end()) return true;
  return a.allowed(AclOperation::DESCRIBE, ResourceType::DELEGATION_TOKEN, token_id, kAuditQuiet) ||
         a.allowed(AclOperation::DESCRIBE_TOKENS, ResourceType::USER, owner.to_string(), kAuditQuiet);
}

// ---------------------------------------------------------------- the table as data

namespace {
constexpr std::string_view kTopicAuth = "TOPIC_AUTHORIZATION_FAILED", kGroupAuth = "GROUP_AUTHORIZATION_FAILED",
                           kTxnAuth = "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", kClusterAuth = "CLUSTER_AUTHORIZATION_FAILED",
                           kTokenAuth = "DELEGATION_TOKEN_AUTHORIZATION_FAILED";
constexpr ApiCheck kApiChecks[] = {
    {0, "PRODUCE", "Write", "TransactionalId", kTxnAuth, "only when a batch is transactional; every partition gets the error"},
    {0, "PRODUCE", "Write", "Topic", kTopicAuth, "per topic; idempotent batches need nothing more (KIP-679)"},
    {1, "FETCH", "ClusterAction", "Cluster", kTopicAuth, "a follower (replica id >= 0); every partition gets the error"},
    {1, "FETCH", "Read", "Topic", kTopicAuth, "a consumer, per topic"},
    {2, "LIST_OFFSETS", "Describe", "Topic", kTopicAuth, "per topic"},
    {3, "METADATA", "Describe", "Topic", kTopicAuth, "named topics refused are reported by name without id; all-topics lists leave them out"},
    {3, "METADATA", "Create", "Cluster", "", "auto-creation; if refused, Create on the topic decides"},
    {3, "METADATA", "Create", "Topic", kTopicAuth, "auto-creation of a missing topic without Create on the cluster"},
    {3, "METADATA", "Describe", "Cluster", "", "cluster authorized operations (KIP-430, v8-10) are 0 without it"},
    {8, "OFFSET_COMMIT", "Read", "Group", kGroupAuth, "checked first; every partition gets the error"},
    {8, "OFFSET_COMMIT", "Read", "Topic", kTopicAuth, "per topic"},
    {9, "OFFSET_FETCH", "Describe", "Group", kGroupAuth, "per group"},
    {9, "OFFSET_FETCH", "Describe", "Topic", kTopicAuth, "named topics; with all topics, the others are left out"},
    {10, "FIND_COORDINATOR", "Describe", "Group", kGroupAuth, "key type 0, per key"},
    {10, "FIND_COORDINATOR", "Describe", "TransactionalId", kTxnAuth, "key type 1, per key"},
    {11, "JOIN_GROUP", "Read", "Group", kGroupAuth, ""},
    {12, "HEARTBEAT", "Read", "Group", kGroupAuth, ""},
    {13, "LEAVE_GROUP", "Read", "Group", kGroupAuth, ""},
    {14, "SYNC_GROUP", "Read", "Group", kGroupAuth, ""},
    {15, "DESCRIBE_GROUPS", "Describe", "Group", kGroupAuth, "per group; authorized operations (v3+) when asked"},
    {16, "LIST_GROUPS", "Describe", "Cluster", "", "lists every group; never an error"},
    {16, "LIST_GROUPS", "Describe", "Group", "", "without Describe on the cluster: only these groups are listed"},
    {17, "SASL_HANDSHAKE", "", "", "", "authentication: no authorization"},
    {18, "API_VERSIONS", "", "", "", "before authentication: no authorization"},
    {19, "CREATE_TOPICS", "Create", "Cluster", "", "allows every topic; if refused, Create on the topic decides"},
    {19, "CREATE_TOPICS", "Create", "Topic", kTopicAuth, "per topic"},
    {19, "CREATE_TOPICS", "DescribeConfigs", "Topic", kTopicAuth, "in topic_config_error_code: the created topic's configs are not returned"},
    {20, "DELETE_TOPICS", "Delete", "Cluster", "", "allows every topic; if refused, Delete on the topic decides"},
    {20, "DELETE_TOPICS", "Delete", "Topic", kTopicAuth, "per topic (a topic named by id without Describe: no name in the answer)"},
    {21, "DELETE_RECORDS", "Delete", "Topic", kTopicAuth, "per topic"},
    {22, "INIT_PRODUCER_ID", "Write", "TransactionalId", kTxnAuth, "with a transactional id"},
    {22, "INIT_PRODUCER_ID", "IdempotentWrite", "Cluster", kClusterAuth, "without one, or else Write on any topic (KIP-679)"},
    {23, "OFFSET_FOR_LEADER_EPOCH", "ClusterAction", "Cluster", "", "allows every topic; if refused, Describe on the topic decides"},
    {23, "OFFSET_FOR_LEADER_EPOCH", "Describe", "Topic", kTopicAuth, "per topic"},
    {24, "ADD_PARTITIONS_TO_TXN", "Write", "TransactionalId", kTxnAuth, "v0-3 (clients): every partition gets the error"},
    {24, "ADD_PARTITIONS_TO_TXN", "Write", "Topic", kTopicAuth, "v0-3: per topic (internal topics always refused); the others OPERATION_NOT_ATTEMPTED"},
    {24, "ADD_PARTITIONS_TO_TXN", "ClusterAction", "Cluster", kClusterAuth, "v4-5 (from brokers): the only check, answered as the top-level error"},
    {25, "ADD_OFFSETS_TO_TXN", "Write", "TransactionalId", kTxnAuth, "checked first"},
    {25, "ADD_OFFSETS_TO_TXN", "Read", "Group", kGroupAuth, ""},
    {26, "END_TXN", "Write", "TransactionalId", kTxnAuth, ""},
    {27, "WRITE_TXN_MARKERS", "Alter", "Cluster", "", "allows; if refused, ClusterAction decides"},
    {27, "WRITE_TXN_MARKERS", "ClusterAction", "Cluster", kClusterAuth, "every partition gets the error"},
    {28, "TXN_OFFSET_COMMIT", "Write", "TransactionalId", kTxnAuth, "checked first; every partition gets the error"},
    {28, "TXN_OFFSET_COMMIT", "Read", "Group", kGroupAuth, "every partition gets the error"},
    {28, "TXN_OFFSET_COMMIT", "Read", "Topic", kTopicAuth, "per topic"},
    {29, "DESCRIBE_ACLS", "Describe", "Cluster", kClusterAuth, ""},
    {30, "CREATE_ACLS", "Alter", "Cluster", kClusterAuth, "every binding gets the error"},
    {31, "DELETE_ACLS", "Alter", "Cluster", kClusterAuth, "every filter gets the error"},
    {32, "DESCRIBE_CONFIGS", "DescribeConfigs", "Cluster", kClusterAuth, "BROKER, BROKER_LOGGER and CLIENT_METRICS resources"},
    {32, "DESCRIBE_CONFIGS", "DescribeConfigs", "Topic", kTopicAuth, "TOPIC resources"},
    {33, "ALTER_CONFIGS", "AlterConfigs", "Cluster", kClusterAuth, "BROKER and CLIENT_METRICS resources"},
    {33, "ALTER_CONFIGS", "AlterConfigs", "Topic", kTopicAuth, "TOPIC resources"},
    {34, "ALTER_REPLICA_LOG_DIRS", "Alter", "Cluster", kClusterAuth, "every partition gets the error"},
    {35, "DESCRIBE_LOG_DIRS", "Describe", "Cluster", kClusterAuth, "top-level error, no results"},
    {36, "SASL_AUTHENTICATE", "", "", "", "authentication: no authorization"},
    {37, "CREATE_PARTITIONS", "Alter", "Topic", kTopicAuth, "per topic"},
    {38, "CREATE_DELEGATION_TOKEN", "CreateTokens", "User", kTokenAuth, "only for another owner (USER <Type>:<name>); NOT_ALLOWED on PLAINTEXT, anonymous SSL or a token session"},
    {39, "RENEW_DELEGATION_TOKEN", "", "", "", "the token's owner or a renewer (DELEGATION_TOKEN_OWNER_MISMATCH); NOT_ALLOWED as for 38"},
    {40, "EXPIRE_DELEGATION_TOKEN", "", "", "", "the token's owner or a renewer (DELEGATION_TOKEN_OWNER_MISMATCH); NOT_ALLOWED as for 38"},
    {41, "DESCRIBE_DELEGATION_TOKEN", "Describe", "DelegationToken", "", "tokens the caller neither owns nor renews: only these are shown"},
    {41, "DESCRIBE_DELEGATION_TOKEN", "DescribeTokens", "User", "", "or those of owners (USER <Type>:<name>) it may describe; NOT_ALLOWED as for 38"},
    {42, "DELETE_GROUPS", "Delete", "Group", kGroupAuth, "per group"},
    {43, "ELECT_LEADERS", "Alter", "Cluster", kClusterAuth, "top-level and every partition (the docs' ClusterAction is outdated)"},
    {44, "INCREMENTAL_ALTER_CONFIGS", "AlterConfigs", "Cluster", kClusterAuth, "BROKER, BROKER_LOGGER and CLIENT_METRICS resources"},
    {44, "INCREMENTAL_ALTER_CONFIGS", "AlterConfigs", "Topic", kTopicAuth, "TOPIC resources"},
    {45, "ALTER_PARTITION_REASSIGNMENTS", "Alter", "Cluster", kClusterAuth, ""},
    {46, "LIST_PARTITION_REASSIGNMENTS", "Describe", "Cluster", kClusterAuth, ""},
    {47, "OFFSET_DELETE", "Delete", "Group", kGroupAuth, "checked first"},
    {47, "OFFSET_DELETE", "Read", "Topic", kTopicAuth, "per topic"},
    {48, "DESCRIBE_CLIENT_QUOTAS", "DescribeConfigs", "Cluster", kClusterAuth, ""},
    {49, "ALTER_CLIENT_QUOTAS", "AlterConfigs", "Cluster", kClusterAuth, "every entry gets the error"},
    {50, "DESCRIBE_USER_SCRAM_CREDENTIALS", "Describe", "Cluster", kClusterAuth, ""},
    {51, "ALTER_USER_SCRAM_CREDENTIALS", "Alter", "Cluster", kClusterAuth, "every user gets the error"},
    {52, "VOTE", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {53, "BEGIN_QUORUM_EPOCH", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {54, "END_QUORUM_EPOCH", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {55, "DESCRIBE_QUORUM", "Describe", "Cluster", kClusterAuth, "controller listener, or a broker's (which forwards it)"},
    {56, "ALTER_PARTITION", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {57, "UPDATE_FEATURES", "Alter", "Cluster", kClusterAuth, "forwarded to the controller; every feature gets the error"},
    {58, "ENVELOPE", "ClusterAction", "Cluster", kClusterAuth, "controller listener: brokers forwarding the delegation token APIs"},
    {59, "FETCH_SNAPSHOT", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {60, "DESCRIBE_CLUSTER", "Describe", "Cluster", "", "broker listener: cluster authorized operations are 0 without it; fenced brokers (v2) need nothing more"},
    {60, "DESCRIBE_CLUSTER", "Alter", "Cluster", kClusterAuth, "controller listener (KIP-919)"},
    {61, "DESCRIBE_PRODUCERS", "Read", "Topic", kTopicAuth, "per topic"},
    {62, "BROKER_REGISTRATION", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {63, "BROKER_HEARTBEAT", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {64, "UNREGISTER_BROKER", "Alter", "Cluster", kClusterAuth, ""},
    {65, "DESCRIBE_TRANSACTIONS", "Describe", "TransactionalId", kTxnAuth, "per id; its topics only with Describe on each"},
    {66, "LIST_TRANSACTIONS", "Describe", "TransactionalId", "", "only these ids are listed (after the v2 pattern filter)"},
    {67, "ALLOCATE_PRODUCER_IDS", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {68, "CONSUMER_GROUP_HEARTBEAT", "Read", "Group", kGroupAuth, ""},
    {69, "CONSUMER_GROUP_DESCRIBE", "Describe", "Group", kGroupAuth, "per group; authorized operations when asked"},
    {70, "CONTROLLER_REGISTRATION", "ClusterAction", "Cluster", kClusterAuth, "controller listener (KIP-919)"},
    {71, "GET_TELEMETRY_SUBSCRIPTIONS", "", "", "", "none (KIP-714)"},
    {72, "PUSH_TELEMETRY", "", "", "", "none (KIP-714)"},
    {73, "ASSIGN_REPLICAS_TO_DIRS", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
    {74, "LIST_CLIENT_METRICS_RESOURCES", "DescribeConfigs", "Cluster", kClusterAuth, "every version and resource type (v1: Kafka 4.1 ListConfigResources)"},
    {75, "DESCRIBE_TOPIC_PARTITIONS", "Describe", "Topic", kTopicAuth, "named topics refused are reported with a zero id; all-topics lists leave them out"},
    {80, "ADD_RAFT_VOTER", "Alter", "Cluster", kClusterAuth, "controller listener"},
    {81, "REMOVE_RAFT_VOTER", "Alter", "Cluster", kClusterAuth, "controller listener"},
    {82, "UPDATE_RAFT_VOTER", "ClusterAction", "Cluster", kClusterAuth, "controller listener"},
};
}  // namespace

std::span<const ApiCheck> api_checks() { return kApiChecks; }

}  // namespace flotilla::broker
