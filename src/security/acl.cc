#include "security/acl.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace flotilla::security {

namespace acl_names {

// Each enum's Java names, indexed by code.
constexpr std::array<std::string_view, 8> kResourceTypes = {
    "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
constexpr std::array<std::string_view, 5> kPatternTypes = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
constexpr std::array<std::string_view, 15> kOperations = {
    "UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
    "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"};
constexpr std::array<std::string_view, 4> kPermissions = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

template <size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, int8_t code) {
  return code >= 0 && static_cast<size_t>(code) < N ? names[static_cast<size_t>(code)] : names[0];
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The code whose name equals s (case-insensitively when asked), else 0 (UNKNOWN).
template <size_t N>
int8_t code_of(const std::array<std::string_view, N>& names, std::string_view s, bool ignore_case) {
  for (size_t i = 0; i < N; ++i)
    if (ignore_case ? iequals(names[i], s) : names[i] == s) return static_cast<int8_t>(i);
  return 0;
}

// SecurityUtils.toPascalCase: "CLUSTER_ACTION" -> "ClusterAction".
std::string pascal(std::string_view upper) {
  std::string out;
  bool capitalize = true;
  for (char c : upper) {
    if (c == '_') {
      capitalize = true;
    } else {
      out += capitalize ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                        : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      capitalize = false;
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// SecurityUtils' maps hold the PascalCase name and its upper case (both exact).
template <size_t N>
int8_t code_of_pascal(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    std::string p = pascal(names[i]);
    if (s == p || s == upper(p)) return static_cast<int8_t>(i);
  }
  return 0;
}

}  // namespace acl_names

ResourceType resource_type_from_code(int8_t c) {
  return c >= 0 && c < 8 ? static_cast<ResourceType>(c) : ResourceType::UNKNOWN;
}
PatternType pattern_type_from_code(int8_t c) { return c >= 0 && c < 5 ? static_cast<PatternType>(c) : PatternType::UNKNOWN; }
AclOperation acl_operation_from_code(int8_t c) {
  return c >= 0 && c < 15 ? static_cast<AclOperation>(c) : AclOperation::UNKNOWN;
}
AclPermissionType permission_type_from_code(int8_t c) {
  return c >= 0 && c < 4 ? static_cast<AclPermissionType>(c) : AclPermissionType::UNKNOWN;
}

std::string_view resource_type_name(ResourceType t) { return acl_names::name_of(acl_names::kResourceTypes, code(t)); }
std::string_view pattern_type_name(PatternType t) { return acl_names::name_of(acl_names::kPatternTypes, code(t)); }
std::string_view acl_operation_name(AclOperation op) { return acl_names::name_of(acl_names::kOperations, code(op)); }
std::string_view permission_type_name(AclPermissionType p) { return acl_names::name_of(acl_names::kPermissions, code(p)); }

ResourceType parse_resource_type(std::string_view s) { return static_cast<ResourceType>(acl_names::code_of(acl_names::kResourceTypes, s, true)); }
PatternType parse_pattern_type(std::string_view s) { return static_cast<PatternType>(acl_names::code_of(acl_names::kPatternTypes, s, false)); }
AclOperation parse_acl_operation(std::string_view s) { return static_cast<AclOperation>(acl_names::code_of(acl_names::kOperations, s, true)); }
AclPermissionType parse_permission_type(std::string_view s) {
  return static_cast<AclPermissionType>(acl_names::code_of(acl_names::kPermissions, s, true));
}

std::string resource_type_pascal_name(ResourceType t) { return acl_names::pascal(resource_type_name(t)); }
std::string acl_operation_pascal_name(AclOperation op) { return acl_names::pascal(acl_operation_name(op)); }
std::string permission_type_pascal_name(AclPermissionType p) { return acl_names::pascal(permission_type_name(p)); }
ResourceType parse_resource_type_pascal(std::string_view s) {
  return static_cast<ResourceType>(acl_names::code_of_pascal(acl_names::kResourceTypes, s));
}
AclOperation parse_acl_operation_pascal(std::string_view s) {
  return static_cast<AclOperation>(acl_names::code_of_pascal(acl_names::kOperations, s));
}
AclPermissionType parse_permission_type_pascal(std::string_view s) {
  return static_cast<AclPermissionType>(acl_names::code_of_pascal(acl_names::kPermissions, s));
}

std::vector<AclOperation> supported_operations(ResourceType t) {
  using O = AclOperation;
  switch (t) {
    case ResourceType::TOPIC:
      return {O::READ, O::WRITE, O::CREATE, O::DESCRIBE, O::DELETE, O::ALTER, O::DESCRIBE_CONFIGS, O::ALTER_CONFIGS};
    case ResourceType::GROUP: return {O::READ, O::DESCRIBE, O::DELETE, O::DESCRIBE_CONFIGS, O::ALTER_CONFIGS};
    case ResourceType::CLUSTER:
      return {O::CREATE, O::CLUSTER_ACTION, O::DESCRIBE_CONFIGS, O::ALTER_CONFIGS, O::IDEMPOTENT_WRITE, O::ALTER,
              O::DESCRIBE};
    case ResourceType::TRANSACTIONAL_ID: return {O::DESCRIBE, O::WRITE};
    case ResourceType::DELEGATION_TOKEN: return {O::DESCRIBE};
    case ResourceType::USER: return {O::CREATE_TOKENS, O::DESCRIBE_TOKENS};
    default: return {};
  }
}

ErrorCode authorization_error(ResourceType t) {
  switch (t) {
    case ResourceType::TOPIC: return ErrorCode::TOPIC_AUTHORIZATION_FAILED;
    case ResourceType::GROUP: return ErrorCode::GROUP_AUTHORIZATION_FAILED;
    case ResourceType::CLUSTER: return ErrorCode::CLUSTER_AUTHORIZATION_FAILED;
    case ResourceType::TRANSACTIONAL_ID: return ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    case ResourceType::DELEGATION_TOKEN: return ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED;
    default: return ErrorCode::UNKNOWN_SERVER_ERROR;
  }
}

std::optional<KafkaPrincipal> parse_kafka_principal(std::string_view s) {
  size_t colon = s.find(':');
  if (s.empty() || colon == std::string_view::npos) return std::nullopt;
  return KafkaPrincipal{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
}

std::string principal_parse_error(std::string_view s) {
  return "expected a string in format principalType:principalName but got " + std::string(s);
}

std::optional<std::string> canonical_ip(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string z(s);  // inet_pton wants a NUL-terminated string
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  int family = z.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(family, z.c_str(), buf) != 1) return std::nullopt;
  // An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4
  // client) is the IPv4 address, as Java's InetAddress makes it.
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == AF_INET6 && std::equal(kMapped, kMapped + 12, buf)) {
    family = AF_INET;
    std::copy(buf + 12, buf + 16, buf);
  }
  if (!inet_ntop(family, buf, out, sizeof out)) return std::nullopt;
  return std::string(out);
}

std::string ResourcePattern::to_string() const {
  return "ResourcePattern(resourceType=" + std::string(resource_type_name(resource_type)) + ", name=" + name +
         ", patternType=" + std::string(pattern_type_name(pattern_type)) + ")";
}

std::string AccessControlEntry::to_string() const {
  return "(principal=" + principal + ", host=" + host + ", operation=" + std::string(acl_operation_name(operation)) +
         ", permissionType=" + std::string(permission_type_name(permission_type)) + ")";
}

std::string AclBinding::to_string() const { return "(pattern=" + pattern.to_string() + ", entry=" + entry.to_string() + ")"; }

bool ResourcePatternFilter::matches(ResourceType p_type, std::string_view p_name, PatternType p_pattern) const {
  if (resource_type != ResourceType::ANY && resource_type != p_type) return false;
  if (pattern_type != PatternType::ANY && pattern_type != PatternType::MATCH && pattern_type != p_pattern) return false;
  if (!name) return true;
  if (pattern_type == PatternType::ANY || pattern_type == p_pattern) return *name == p_name;
  // MATCH against a stored pattern.
  switch (p_pattern) {
    case PatternType::LITERAL: return *name == p_name || p_name == kWildcardResource;
    case PatternType::PREFIXED: return name->starts_with(p_name);
    default: return false;  // Kafka throws "Unsupported PatternType"; a stored pattern is never another type
  }
}

std::optional<std::string> ResourcePatternFilter::find_indefinite_field() const {
  if (resource_type == ResourceType::ANY) return "Resource type is ANY.";
  if (resource_type == ResourceType::UNKNOWN) return "Resource type is UNKNOWN.";
  if (!name) return "Resource name is NULL.";
  if (pattern_type == PatternType::MATCH) return "Resource pattern type is MATCH.";
  if (pattern_type == PatternType::UNKNOWN) return "Resource pattern type is UNKNOWN.";
  return std::nullopt;
}

std::string ResourcePatternFilter::to_string() const {
  return "ResourcePattern(resourceType=" + std::string(resource_type_name(resource_type)) +
         ", name=" + (name ? *name : std::string("<any>")) +
         ", patternType=" + std::string(pattern_type_name(pattern_type)) + ")";
}

bool AccessControlEntryFilter::matches(std::string_view e_principal, std::string_view e_host, AclOperation op,
                                       AclPermissionType perm) const {
  if (principal && *principal != e_principal) return false;
  if (host && *host != e_host) return false;
  if (operation != AclOperation::ANY && operation != op) return false;
  return permission_type == AclPermissionType::ANY || permission_type == perm;
}

bool AclBindingFilter::matches(const StandardAcl& a) const {
  return pattern_filter.matches(a.resource_type, a.resource_name, a.pattern_type) &&
         entry_filter.matches(a.principal, a.host, a.operation, a.permission_type);
}

std::optional<std::string> AccessControlEntryFilter::find_indefinite_field() const {
  if (!principal) return "Principal is NULL";
  if (!host) return "Host is NULL";
  if (operation == AclOperation::ANY) return "Operation is ANY";
  if (operation == AclOperation::UNKNOWN) return "Operation is UNKNOWN";
  if (permission_type == AclPermissionType::ANY) return "Permission type is ANY";
  if (permission_type == AclPermissionType::UNKNOWN) return "Permission type is UNKNOWN";
  return std::nullopt;
}

std::string AccessControlEntryFilter::to_string() const {
  return "(principal=" + (principal ? *principal : std::string("<any>")) +
         ", host=" + (host ? *host : std::string("<any>")) +
         ", operation=" + std::string(acl_operation_name(operation)) +
         ", permissionType=" + std::string(permission_type_name(permission_type)) + ")";
}

std::optional<std::string> AclBindingFilter::find_indefinite_field() const {
  if (auto f = pattern_filter.find_indefinite_field()) return f;
  return entry_filter.find_indefinite_field();
}

std::string AclBindingFilter::to_string() const {
  return "(patternFilter=" + pattern_filter.to_string() + ", entryFilter=" + entry_filter.to_string() + ")";
}

StandardAcl StandardAcl::from_binding(Uuid id, const AclBinding& b) {
  return StandardAcl{id,           b.pattern.resource_type, b.pattern.name,       b.pattern.pattern_type,
                     b.entry.principal, b.entry.host,       b.entry.operation,    b.entry.permission_type};
}

AclBinding StandardAcl::to_binding() const {
  return AclBinding{ResourcePattern{resource_type, resource_name, pattern_type},
                    AccessControlEntry{principal, host, operation, permission_type}};
}

bool StandardAcl::same_acl(const StandardAcl& o) const {
  return resource_type == o.resource_type && resource_name == o.resource_name && pattern_type == o.pattern_type &&
         principal == o.principal && host == o.host && operation == o.operation &&
         permission_type == o.permission_type;
}

std::string StandardAcl::to_string() const {
  return "StandardAcl(resourceType=" + std::string(resource_type_name(resource_type)) +
         ", resourceName=" + resource_name + ", patternType=" + std::string(pattern_type_name(pattern_type)) +
         ", principal=" + principal + ", host=" + host + ", operation=" + std::string(acl_operation_name(operation)) +
         ", permissionType=" + std::string(permission_type_name(permission_type)) + ")";
}

namespace acl_names {
AclError invalid(std::string message) { return AclError{ErrorCode::INVALID_REQUEST, std::move(message)}; }
}  // namespace acl_names

std::optional<AclError> validate_new_acl(const AclBinding& b) {
  const ResourcePattern& p = b.pattern;
  const AccessControlEntry& e = b.entry;
  // The broker's checks (AclApis.handleCreateAcls) come first.
  if (p.resource_type == ResourceType::CLUSTER && p.name != kClusterResourceName)
    return acl_names::invalid("The only valid name for the CLUSTER resource is " + std::string(kClusterResourceName));
  if (p.name.empty()) return acl_names::invalid("Invalid empty resource name");
  // Then the controller's (AclControlManager.validateNewAcl).
  if (p.resource_type == ResourceType::UNKNOWN || p.resource_type == ResourceType::ANY ||
      resource_type_from_code(code(p.resource_type)) != p.resource_type)
    return acl_names::invalid("Invalid resourceType " + std::string(resource_type_name(p.resource_type)));
  if (p.pattern_type != PatternType::LITERAL && p.pattern_type != PatternType::PREFIXED)
    return acl_names::invalid("Invalid patternType " + std::string(pattern_type_name(p.pattern_type)));
  if (e.operation == AclOperation::UNKNOWN || e.operation == AclOperation::ANY ||
      acl_operation_from_code(code(e.operation)) != e.operation)
    return acl_names::invalid("Invalid operation " + std::string(acl_operation_name(e.operation)));
  if (e.permission_type != AclPermissionType::ALLOW && e.permission_type != AclPermissionType::DENY)
    return acl_names::invalid("Invalid permissionType " + std::string(permission_type_name(e.permission_type)));
  // Flotilla's own: an ACL that could never match is refused, not stored.
  if (!parse_kafka_principal(e.principal)) return acl_names::invalid(principal_parse_error(e.principal));
  if (e.host != kWildcardHost && !canonical_ip(e.host))
    return acl_names::invalid("Invalid host " + e.host + ": expected * or an IPv4 or IPv6 address");
  return std::nullopt;
}

std::optional<AclError> validate_acl_filter(const AclBindingFilter& f) {
  if (f.pattern_filter.is_unknown()) return acl_names::invalid("Unknown patternFilter.");
  if (f.entry_filter.is_unknown()) return acl_names::invalid("Unknown entryFilter.");
  return std::nullopt;
}

}  // namespace flotilla::security
