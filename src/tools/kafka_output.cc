#include "tools/kafka_output.h"

#include <algorithm>

#include "client/connection.h"

namespace flotilla::tools {

namespace {

const char* exception_name(int16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::UNKNOWN_SERVER_ERROR: return "UnknownServerException";
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: return "UnknownTopicOrPartitionException";
    case ErrorCode::LEADER_NOT_AVAILABLE: return "LeaderNotAvailableException";
    case ErrorCode::REQUEST_TIMED_OUT: return "TimeoutException";
    case ErrorCode::INVALID_TOPIC_EXCEPTION: return "InvalidTopicException";
    case ErrorCode::TOPIC_AUTHORIZATION_FAILED: return "TopicAuthorizationException";
    case ErrorCode::CLUSTER_AUTHORIZATION_FAILED: return "ClusterAuthorizationException";
    case ErrorCode::UNSUPPORTED_VERSION: return "UnsupportedVersionException";
    case ErrorCode::INVALID_REPLICA_ASSIGNMENT: return "InvalidReplicaAssignmentException";
    case ErrorCode::INVALID_CONFIG: return "InvalidConfigurationException";
    case ErrorCode::NOT_CONTROLLER: return "NotControllerException";
    case ErrorCode::INVALID_REQUEST: return "InvalidRequestException";
    case ErrorCode::POLICY_VIOLATION: return "PolicyViolationException";
    case ErrorCode::REASSIGNMENT_IN_PROGRESS: return "ReassignmentInProgressException";
    case ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE: return "PreferredLeaderNotAvailableException";
    case ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE: return "EligibleLeadersNotAvailableException";
    case ErrorCode::ELECTION_NOT_NEEDED: return "ElectionNotNeededException";
    case ErrorCode::NO_REASSIGNMENT_IN_PROGRESS: return "NoReassignmentInProgressException";
    case ErrorCode::RESOURCE_NOT_FOUND: return "ResourceNotFoundException";
    case ErrorCode::DUPLICATE_RESOURCE: return "DuplicateResourceException";
    case ErrorCode::UNACCEPTABLE_CREDENTIAL: return "UnacceptableCredentialException";
    case ErrorCode::UNSUPPORTED_SASL_MECHANISM: return "UnsupportedSaslMechanismException";
    case ErrorCode::UNKNOWN_TOPIC_ID: return "UnknownTopicIdException";
    case ErrorCode::BROKER_ID_NOT_REGISTERED: return "BrokerIdNotRegisteredException";
    case ErrorCode::KAFKA_STORAGE_ERROR: return "KafkaStorageException";
    case ErrorCode::LOG_DIR_NOT_FOUND: return "LogDirNotFoundException";
    case ErrorCode::THROTTLING_QUOTA_EXCEEDED: return "ThrottlingQuotaExceededException";
    case ErrorCode::SECURITY_DISABLED: return "SecurityDisabledException";
    case ErrorCode::DELEGATION_TOKEN_AUTH_DISABLED: return "DelegationTokenDisabledException";
    case ErrorCode::DELEGATION_TOKEN_NOT_FOUND: return "DelegationTokenNotFoundException";
    case ErrorCode::DELEGATION_TOKEN_OWNER_MISMATCH: return "DelegationTokenOwnerMismatchException";
    case ErrorCode::DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: return "UnsupportedByAuthenticationException";
    case ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED: return "DelegationTokenAuthorizationException";
    case ErrorCode::DELEGATION_TOKEN_EXPIRED: return "DelegationTokenExpiredException";
    default: return "ApiException";
  }
}

}  // namespace

std::string kafka_exception(int16_t code, const std::optional<std::string>& message) {
  return std::string("org.apache.kafka.common.errors.") + exception_name(code) + ": " + client::error_text(code, message);
}

std::string kafka_columns(const std::vector<std::pair<std::string, size_t>>& cols) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (i) out += ' ';
    out += cols[i].first;
    if (cols[i].first.size() < cols[i].second) out.append(cols[i].second - cols[i].first.size(), ' ');
  }
  return out;
}

std::string pretty_print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& h : headers) width.push_back(h.size());
  for (const auto& r : rows)
    for (size_t i = 0; i < width.size() && i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  auto print_row = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i < width.size() && r[i].size() < width[i]) out.append(width[i] - r[i].size(), ' ');
      out += '\t';
    }
    out += '\n';
  };
  print_row(headers);
  for (const auto& r : rows) print_row(r);
  return out;
}

}  // namespace flotilla::tools
