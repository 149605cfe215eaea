// Kafka's ACL model (org.apache.kafka.common.acl / .resource), with Kafka's
// numeric codes, names and printed forms, and the checks a CreateAcls binding
// and a DeleteAcls filter pass before anything reaches the metadata log.
//
// - The enums carry Kafka's wire codes (CreateAcls, DescribeAcls and the
//   AccessControlEntryRecord store them as int8). A code Kafka does not know
//   decodes to UNKNOWN, never to an out-of-range enum value.
// - Names: `*_name` is the Java enum name ("TOPIC", "READ", "ALLOW"), which is
//   what kafka-acls.sh prints inside ResourcePattern(...) and
//   (principal=..., ...); `*_pascal_name` is SecurityUtils' form ("Topic",
//   "ClusterAction") used by the audit log. `parse_*` is Kafka's fromString
//   (case-insensitive; PatternType's is exact); `parse_*_pascal` accepts
//   SecurityUtils' names ("ClusterAction" or "CLUSTERACTION").
// - StandardAcl is one ACL as the metadata image holds it (Kafka's
//   StandardAclWithId: the Uuid the controller gave it plus the seven fields).
// - Filters follow Kafka's matches(): a null name/principal/host (here
//   nullopt) and ANY match everything; MATCH on a resource name matches the
//   LITERAL name, the LITERAL wildcard "*" and every PREFIXED pattern that is a
//   prefix of the name.
//
// Everything here is plain values and pure functions: thread-compatible, no
// shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"
#include "security/principal.h"

namespace flotilla::security {

enum class ResourceType : int8_t {
  UNKNOWN = 0, ANY = 1, TOPIC = 2, GROUP = 3, CLUSTER = 4, TRANSACTIONAL_ID = 5, DELEGATION_TOKEN = 6, USER = 7
};
enum class PatternType : int8_t { UNKNOWN = 0, ANY = 1, MATCH = 2, LITERAL = 3, PREFIXED = 4 };
enum class AclOperation : int8_t {
  UNKNOWN = 0, ANY = 1, ALL = 2, READ = 3, WRITE = 4, CREATE = 5, DELETE = 6, ALTER = 7, DESCRIBE = 8,
  CLUSTER_ACTION = 9, DESCRIBE_CONFIGS = 10, ALTER_CONFIGS = 11, IDEMPOTENT_WRITE = 12, CREATE_TOKENS = 13,
  DESCRIBE_TOKENS = 14
};
enum class AclPermissionType : int8_t { UNKNOWN = 0, ANY = 1, DENY = 2, ALLOW = 3 };

inline constexpr std::string_view kWildcardResource = "*";       // ResourcePattern.WILDCARD_RESOURCE
inline constexpr std::string_view kWildcardHost = "*";           // AclEntry.WILDCARD_HOST
inline constexpr std::string_view kWildcardPrincipal = "User:*";  // AclEntry.WILDCARD_PRINCIPAL_STRING
inline constexpr std::string_view kClusterResourceName = "kafka-cluster";  // Resource.CLUSTER_NAME

// Wire code -> enum; codes Kafka does not define give UNKNOWN.
ResourceType resource_type_from_code(int8_t code);
PatternType pattern_type_from_code(int8_t code);
AclOperation acl_operation_from_code(int8_t code);
AclPermissionType permission_type_from_code(int8_t code);
inline int8_t code(ResourceType t) { return static_cast<int8_t>(t); }
inline int8_t code(PatternType t) { return static_cast<int8_t>(t); }
inline int8_t code(AclOperation t) { return static_cast<int8_t>(t); }
inline int8_t code(AclPermissionType t) { return static_cast<int8_t>(t); }

// The Java enum names: "TRANSACTIONAL_ID", "PREFIXED", "DESCRIBE_CONFIGS", "ALLOW".
std::string_view resource_type_name(ResourceType t);
std::string_view pattern_type_name(PatternType t);
std::string_view acl_operation_name(AclOperation op);
std::string_view permission_type_name(AclPermissionType p);

// Kafka's fromString: case-insensitive enum name, UNKNOWN when it is none
// (PatternType.fromString is case-sensitive in Kafka, and so is this one).
ResourceType parse_resource_type(std::string_view s);
PatternType parse_pattern_type(std::string_view s);
AclOperation parse_acl_operation(std::string_view s);
AclPermissionType parse_permission_type(std::string_view s);

// SecurityUtils' PascalCase names ("TransactionalId", "ClusterAction", "Allow")
// and their parsers, which accept the PascalCase name or its upper case.
std::string resource_type_pascal_name(ResourceType t);
std::string acl_operation_pascal_name(AclOperation op);
std::string permission_type_pascal_name(AclPermissionType p);
ResourceType parse_resource_type_pascal(std::string_view s);
AclOperation parse_acl_operation_pascal(std::string_view s);
AclPermissionType parse_permission_type_pascal(std::string_view s);

// The operations an ACL on a resource type can name (AclEntry.supportedOperations,
// the bits of KIP-430's authorized operations); empty for UNKNOWN/ANY.
std::vector<AclOperation> supported_operations(ResourceType t);
// The error a refused action on a resource of this type answers with
// (AclEntry.authorizationError); UNKNOWN_SERVER_ERROR for USER/UNKNOWN/ANY,
// for which Kafka defines none.
ErrorCode authorization_error(ResourceType t);

// SecurityUtils.parseKafkaPrincipal: "Type:Name", split at the first ':'.
// nullopt for an empty string or one without ':' ("User:" and ":x" parse).
std::optional<KafkaPrincipal> parse_kafka_principal(std::string_view s);
// Its message for a string that does not parse.
std::string principal_parse_error(std::string_view s);

// The canonical text of an IP address (inet_ntop of inet_pton), so that
// "0:0:0:0:0:0:0:1" (how Java prints it) and "::1" compare equal, and an
// IPv4-mapped IPv6 address ("::ffff:10.0.0.1") is its IPv4 address (as Java
// sees it); nullopt when s is not an IPv4 or IPv6 address literal ("*" and
// host names are not). Decisions compare the client's address in this form
// with the ACL's host in this form.
std::optional<std::string> canonical_ip(std::string_view s);

struct StandardAcl;

struct ResourcePattern {
  ResourceType resource_type = ResourceType::UNKNOWN;
  std::string name;
  PatternType pattern_type = PatternType::LITERAL;

  bool is_unknown() const { return resource_type == ResourceType::UNKNOWN || pattern_type == PatternType::UNKNOWN; }
  // "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)"
  std::string to_string() const;
  bool operator==(const ResourcePattern&) const = default;
};

struct AccessControlEntry {
  std::string principal;  // "User:alice"
  std::string host;       // "*" or an IP address
  AclOperation operation = AclOperation::UNKNOWN;
  AclPermissionType permission_type = AclPermissionType::UNKNOWN;

  bool is_unknown() const { return operation == AclOperation::UNKNOWN || permission_type == AclPermissionType::UNKNOWN; }
  // "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"
  std::string to_string() const;
  bool operator==(const AccessControlEntry&) const = default;
};

struct AclBinding {
  ResourcePattern pattern;
  AccessControlEntry entry;

  bool is_unknown() const { return pattern.is_unknown() || entry.is_unknown(); }
  std::string to_string() const;  // "(pattern=ResourcePattern(...), entry=(principal=...))"
  bool operator==(const AclBinding&) const = default;
};

struct ResourcePatternFilter {
  ResourceType resource_type = ResourceType::ANY;
  std::optional<std::string> name;  // nullopt: any name
  PatternType pattern_type = PatternType::ANY;

  bool is_unknown() const { return resource_type == ResourceType::UNKNOWN || pattern_type == PatternType::UNKNOWN; }
  bool matches(const ResourcePattern& p) const { return matches(p.resource_type, p.name, p.pattern_type); }
  bool matches(ResourceType type, std::string_view name, PatternType pattern) const;
  // Kafka's findIndefiniteField: why the filter may match more than one
  // pattern ("Resource name is NULL."), or nullopt.
  std::optional<std::string> find_indefinite_field() const;
  bool matches_at_most_one() const { return !find_indefinite_field(); }
  std::string to_string() const;  // name nullopt prints as "<any>"
  bool operator==(const ResourcePatternFilter&) const = default;
};

struct AccessControlEntryFilter {
  std::optional<std::string> principal;  // nullopt: any
  std::optional<std::string> host;       // nullopt: any
  AclOperation operation = AclOperation::ANY;
  AclPermissionType permission_type = AclPermissionType::ANY;

  bool is_unknown() const { return operation == AclOperation::UNKNOWN || permission_type == AclPermissionType::UNKNOWN; }
  bool matches(const AccessControlEntry& e) const { return matches(e.principal, e.host, e.operation, e.permission_type); }
  bool matches(std::string_view principal, std::string_view host, AclOperation op, AclPermissionType perm) const;
  std::optional<std::string> find_indefinite_field() const;
  bool matches_at_most_one() const { return !find_indefinite_field(); }
  std::string to_string() const;
  bool operator==(const AccessControlEntryFilter&) const = default;
};

struct AclBindingFilter {
  ResourcePatternFilter pattern_filter;
  AccessControlEntryFilter entry_filter;

  static AclBindingFilter any() { return {}; }
  bool is_unknown() const { return pattern_filter.is_unknown() || entry_filter.is_unknown(); }
  bool matches(const AclBinding& b) const { return pattern_filter.matches(b.pattern) && entry_filter.matches(b.entry); }
  bool matches(const StandardAcl& acl) const;
  std::optional<std::string> find_indefinite_field() const;
  bool matches_at_most_one() const { return !find_indefinite_field(); }
  std::string to_string() const;
  bool operator==(const AclBindingFilter&) const = default;
};

// One ACL of the metadata image: AccessControlEntryRecord's fields.
struct StandardAcl {
  Uuid id;
  ResourceType resource_type = ResourceType::UNKNOWN;
  std::string resource_name;
  PatternType pattern_type = PatternType::LITERAL;
  std::string principal;  // "User:alice"
  std::string host;       // "*" or an IP address
  AclOperation operation = AclOperation::UNKNOWN;
  AclPermissionType permission_type = AclPermissionType::UNKNOWN;

  static StandardAcl from_binding(Uuid id, const AclBinding& b);
  AclBinding to_binding() const;
  // Same seven fields, ignoring the id (Kafka's StandardAcl.equals: the
  // controller refuses to store two ACLs that are equal in this sense).
  bool same_acl(const StandardAcl& o) const;
  // "StandardAcl(resourceType=TOPIC, resourceName=orders, patternType=LITERAL,
  //  principal=User:alice, host=*, operation=READ, permissionType=ALLOW)"
  std::string to_string() const;
  bool operator==(const StandardAcl&) const = default;
};

// Why a binding or filter is refused: always INVALID_REQUEST, with the message
// the client sees in its per-binding result.
struct AclError {
  ErrorCode error = ErrorCode::INVALID_REQUEST;
  std::string message;
};

// Checks a CreateAcls binding in the order Kafka's broker (AclApis) and then
// its controller (AclControlManager.validateNewAcl) do:
//   CLUSTER with a name other than kafka-cluster -> "The only valid name for the CLUSTER resource is kafka-cluster"
//   empty resource name              -> "Invalid empty resource name"
//   resource type UNKNOWN/ANY        -> "Invalid resourceType ANY"
//   pattern type not LITERAL/PREFIXED -> "Invalid patternType MATCH"
//   operation UNKNOWN/ANY            -> "Invalid operation ANY"
//   permission not ALLOW/DENY        -> "Invalid permissionType UNKNOWN"
// and then two checks Kafka leaves to its tools, which Flotilla makes on the
// server so that an ACL that can never match is refused rather than stored:
//   principal not "Type:Name"        -> "expected a string in format principalType:principalName but got x"
//   host neither "*" nor an IP address -> "Invalid host x: expected * or an IPv4 or IPv6 address"
std::optional<AclError> validate_new_acl(const AclBinding& b);

// A DeleteAcls filter (AclControlManager.validateFilter):
// "Unknown patternFilter." / "Unknown entryFilter.".
std::optional<AclError> validate_acl_filter(const AclBindingFilter& f);

}  // namespace flotilla::security
