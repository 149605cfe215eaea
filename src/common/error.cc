#include "common/error.h"

namespace flotilla {

std::string_view error_name(int16_t c) {
  switch (c) {
    case -1: return "UNKNOWN_SERVER_ERROR";
    case 0: return "NONE";
    case 1: return "OFFSET_OUT_OF_RANGE";
    case 2: return "CORRUPT_MESSAGE";
    case 3: return "UNKNOWN_TOPIC_OR_PARTITION";
    case 4: return "INVALID_FETCH_SIZE";
    case 5: return "LEADER_NOT_AVAILABLE";
    case 6: return "NOT_LEADER_OR_FOLLOWER";
    case 7: return "REQUEST_TIMED_OUT";
    case 8: return "BROKER_NOT_AVAILABLE";
    case 9: return "REPLICA_NOT_AVAILABLE";
    case 10: return "MESSAGE_TOO_LARGE";
    case 11: return "STALE_CONTROLLER_EPOCH";
    case 12: return "OFFSET_METADATA_TOO_LARGE";
    case 13: return "NETWORK_EXCEPTION";
    case 14: return "COORDINATOR_LOAD_IN_PROGRESS";
    case 15: return "COORDINATOR_NOT_AVAILABLE";
    case 16: return "NOT_COORDINATOR";
    case 17: return "INVALID_TOPIC_EXCEPTION";
    case 18: return "RECORD_LIST_TOO_LARGE";
    case 19: return "NOT_ENOUGH_REPLICAS";
    case 20: return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
    case 21: return "INVALID_REQUIRED_ACKS";
    case 22: return "ILLEGAL_GENERATION";
    case 23: return "INCONSISTENT_GROUP_PROTOCOL";
    case 24: return "INVALID_GROUP_ID";
    case 25: return "UNKNOWN_MEMBER_ID";
    case 26: return "INVALID_SESSION_TIMEOUT";
    case 27: return "REBALANCE_IN_PROGRESS";
    case 28: return "INVALID_COMMIT_OFFSET_SIZE";
    case 29: return "TOPIC_AUTHORIZATION_FAILED";
    case 30: return "GROUP_AUTHORIZATION_FAILED";
    case 31: return "CLUSTER_AUTHORIZATION_FAILED";
    case 32: return "INVALID_TIMESTAMP";
    case 33: return "UNSUPPORTED_SASL_MECHANISM";
    case 34: return "ILLEGAL_SASL_STATE";
    case 35: return "UNSUPPORTED_VERSION";
    case 36: return "TOPIC_ALREADY_EXISTS";
    case 37: return "INVALID_PARTITIONS";
    case 38: return "INVALID_REPLICATION_FACTOR";
    case 39: return "INVALID_REPLICA_ASSIGNMENT";
    case 40: return "INVALID_CONFIG";
    case 41: return "NOT_CONTROLLER";
    case 42: return "INVALID_REQUEST";
    case 43: return "UNSUPPORTED_FOR_MESSAGE_FORMAT";
    case 44: return "POLICY_VIOLATION";
    case 45: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case 46: return "DUPLICATE_SEQUENCE_NUMBER";
    case 47: return "INVALID_PRODUCER_EPOCH";
    case 48: return "INVALID_TXN_STATE";
    case 49: return "INVALID_PRODUCER_ID_MAPPING";
    case 50: return "INVALID_TRANSACTION_TIMEOUT";
    case 51: return "CONCURRENT_TRANSACTIONS";
    case 52: return "TRANSACTION_COORDINATOR_FENCED";
    case 53: return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    case 54: return "SECURITY_DISABLED";
    case 55: return "OPERATION_NOT_ATTEMPTED";
    case 56: return "KAFKA_STORAGE_ERROR";
    case 57: return "LOG_DIR_NOT_FOUND";
    case 58: return "SASL_AUTHENTICATION_FAILED";
    case 59: return "UNKNOWN_PRODUCER_ID";
    case 60: return "REASSIGNMENT_IN_PROGRESS";
    case 61: return "DELEGATION_TOKEN_AUTH_DISABLED";
    case 62: return "DELEGATION_TOKEN_NOT_FOUND";
    case 63: return "DELEGATION_TOKEN_OWNER_MISMATCH";
    case 64: return "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED";
    case 65: return "DELEGATION_TOKEN_AUTHORIZATION_FAILED";
    case 66: return "DELEGATION_TOKEN_EXPIRED";
    case 67: return "INVALID_PRINCIPAL_TYPE";
    case 68: return "NON_EMPTY_GROUP";
    case 69: return "GROUP_ID_NOT_FOUND";
    case 70: return "FETCH_SESSION_ID_NOT_FOUND";
    case 71: return "INVALID_FETCH_SESSION_EPOCH";
    case 72: return "LISTENER_NOT_FOUND";
    case 73: return "TOPIC_DELETION_DISABLED";
    case 74: return "FENCED_LEADER_EPOCH";
    case 75: return "UNKNOWN_LEADER_EPOCH";
    case 76: return "UNSUPPORTED_COMPRESSION_TYPE";
    case 77: return "STALE_BROKER_EPOCH";
    case 78: return "OFFSET_NOT_AVAILABLE";
    case 79: return "MEMBER_ID_REQUIRED";
    case 80: return "PREFERRED_LEADER_NOT_AVAILABLE";
    case 81: return "GROUP_MAX_SIZE_REACHED";
    case 82: return "FENCED_INSTANCE_ID";
    case 83: return "ELIGIBLE_LEADERS_NOT_AVAILABLE";
    case 84: return "ELECTION_NOT_NEEDED";
    case 85: return "NO_REASSIGNMENT_IN_PROGRESS";
    case 86: return "GROUP_SUBSCRIBED_TO_TOPIC";
    case 87: return "INVALID_RECORD";
    case 88: return "UNSTABLE_OFFSET_COMMIT";
    case 89: return "THROTTLING_QUOTA_EXCEEDED";
    case 90: return "PRODUCER_FENCED";
    case 91: return "RESOURCE_NOT_FOUND";
    case 92: return "DUPLICATE_RESOURCE";
    case 93: return "UNACCEPTABLE_CREDENTIAL";
    case 94: return "INCONSISTENT_VOTER_SET";
    case 95: return "INVALID_UPDATE_VERSION";
    case 96: return "FEATURE_UPDATE_FAILED";
    case 97: return "PRINCIPAL_DESERIALIZATION_FAILURE";
    case 98: return "SNAPSHOT_NOT_FOUND";
    case 99: return "POSITION_OUT_OF_RANGE";
    case 100: return "UNKNOWN_TOPIC_ID";
    case 101: return "DUPLICATE_BROKER_REGISTRATION";
    case 102: return "BROKER_ID_NOT_REGISTERED";
    case 103: return "INCONSISTENT_TOPIC_ID";
    case 104: return "INCONSISTENT_CLUSTER_ID";
    case 105: return "TRANSACTIONAL_ID_NOT_FOUND";
    case 106: return "FETCH_SESSION_TOPIC_ID_ERROR";
    case 107: return "INELIGIBLE_REPLICA";
    case 108: return "NEW_LEADER_ELECTED";
    case 109: return "OFFSET_MOVED_TO_TIERED_STORAGE";
    case 110: return "FENCED_MEMBER_EPOCH";
    case 111: return "UNRELEASED_INSTANCE_ID";
    case 112: return "UNSUPPORTED_ASSIGNOR";
    case 113: return "STALE_MEMBER_EPOCH";
    case 114: return "MISMATCHED_ENDPOINT_TYPE";
    case 115: return "UNSUPPORTED_ENDPOINT_TYPE";
    case 116: return "UNKNOWN_CONTROLLER_ID";
    case 117: return "UNKNOWN_SUBSCRIPTION_ID";
    case 118: return "TELEMETRY_TOO_LARGE";
    case 119: return "INVALID_REGISTRATION";
    case 120: return "TRANSACTION_ABORTABLE";
    case 121: return "INVALID_RECORD_STATE";
    case 122: return "SHARE_SESSION_NOT_FOUND";
    case 123: return "INVALID_SHARE_SESSION_EPOCH";
    case 124: return "FENCED_STATE_EPOCH";
    case 125: return "INVALID_VOTER_KEY";
    case 126: return "DUPLICATE_VOTER";
    case 127: return "VOTER_NOT_FOUND";
    case 128: return "INVALID_REGULAR_EXPRESSION";
    default: return "UNKNOWN";
  }
}

std::string_view error_message(ErrorCode e) {
  switch (e) {
    case ErrorCode::NONE: return "";
    case ErrorCode::CORRUPT_MESSAGE: return "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.";
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: return "This server does not host this topic-partition.";
    case ErrorCode::UNSUPPORTED_VERSION: return "The version of API is not supported.";
    case ErrorCode::TOPIC_ALREADY_EXISTS: return "Topic already exists.";
    case ErrorCode::INVALID_TOPIC_EXCEPTION: return "The request attempted to perform an operation on an invalid topic.";
    case ErrorCode::INVALID_PARTITIONS: return "Number of partitions is below 1.";
    case ErrorCode::INVALID_REPLICATION_FACTOR: return "Replication factor is below 1 or larger than the number of available brokers.";
    case ErrorCode::MESSAGE_TOO_LARGE: return "The request included a message larger than the max message size the server will accept.";
    case ErrorCode::NOT_CONTROLLER: return "This is not the correct controller for this cluster.";
    case ErrorCode::INVALID_REQUEST: return "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker.";
    case ErrorCode::OFFSET_OUT_OF_RANGE: return "The requested offset is not within the range of offsets maintained by the server.";
    default: return error_name(e);
  }
}

}  // namespace flotilla
