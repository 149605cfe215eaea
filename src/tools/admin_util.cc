#include "tools/admin_util.h"

#include <algorithm>

namespace flotilla::tools {

int16_t admin_version(const Connection& c, int16_t api_key, int16_t client_max) {
  auto b = c.broker_versions(api_key);
  const auto* info = protocol::api_info(api_key);
  std::string name = info ? info->name : std::to_string(api_key);
  if (!b) throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support " + name);
  int16_t v = std::min(b->second, client_max);
  if (v < b->first) throw KafkaError(ErrorCode::UNSUPPORTED_VERSION, "The broker does not support a version of " + name + " this tool supports");
  return v;
}

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
    case ErrorCode::UNKNOWN_TOPIC_ID: return "UnknownTopicIdException";
    case ErrorCode::BROKER_ID_NOT_REGISTERED: return "BrokerIdNotRegisteredException";
    case ErrorCode::THROTTLING_QUOTA_EXCEEDED: return "ThrottlingQuotaExceededException";
    default: return "ApiException";
  }
}

}  // namespace

std::string kafka_exception(int16_t code, const std::optional<std::string>& message) {
  return std::string("org.apache.kafka.common.errors.") + exception_name(code) + ": " + error_text(code, message);
}

}  // namespace flotilla::tools
