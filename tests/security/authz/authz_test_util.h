// Helpers of the authorizer tests: ACL builders and a brute-force reference
// of Kafka's StandardAuthorizerData rules (a scan of every ACL, written from
// the rules' text, independent of the index).
#pragma once

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "security/acl.h"
#include "security/acl_index.h"
#include "security/authorizer.h"

namespace authz_test {

using namespace flotilla;
using namespace flotilla::security;

constexpr auto ALLOWED = AuthorizationResult::ALLOWED;
constexpr auto DENIED = AuthorizationResult::DENIED;
constexpr auto ALLOW = AclPermissionType::ALLOW;
constexpr auto DENY = AclPermissionType::DENY;
constexpr auto TOPIC = ResourceType::TOPIC;

inline Uuid next_id() {
  static std::atomic<uint64_t> n{1};
  return Uuid{0x1234, n.fetch_add(1)};
}

inline StandardAcl make_acl(ResourceType t, std::string name, PatternType pt, std::string principal, AclOperation op,
                            AclPermissionType perm = AclPermissionType::ALLOW, std::string host = "*") {
  return StandardAcl{next_id(), t, std::move(name), pt, std::move(principal), std::move(host), op, perm};
}
inline StandardAcl topic_acl(std::string name, std::string principal, AclOperation op,
                             AclPermissionType perm = AclPermissionType::ALLOW, std::string host = "*") {
  return make_acl(ResourceType::TOPIC, std::move(name), PatternType::LITERAL, std::move(principal), op, perm,
                  std::move(host));
}
inline StandardAcl prefixed_acl(std::string name, std::string principal, AclOperation op,
                                AclPermissionType perm = AclPermissionType::ALLOW, std::string host = "*") {
  return make_acl(ResourceType::TOPIC, std::move(name), PatternType::PREFIXED, std::move(principal), op, perm,
                  std::move(host));
}

inline KafkaPrincipal user(std::string name) { return KafkaPrincipal{"User", std::move(name)}; }

// Kafka's rules, by scanning every ACL.
inline AuthorizationResult reference_decision(const std::vector<StandardAcl>& acls, const AuthorizerSettings& s,
                                              const KafkaPrincipal& p, const std::string& host, AclOperation op,
                                              ResourceType type, const std::string& name) {
  for (const auto& su : s.super_users)
    if (su == p.to_string()) return AuthorizationResult::ALLOWED;
  bool applies = false, allow = false, deny = false;
  for (const auto& a : acls) {
    if (a.resource_type != type) continue;
    bool on_resource = (a.pattern_type == PatternType::LITERAL && (a.resource_name == name || a.resource_name == "*")) ||
                       (a.pattern_type == PatternType::PREFIXED && name.starts_with(a.resource_name));
    if (!on_resource) continue;
    applies = true;
    if (a.principal != p.to_string() && a.principal != "User:*") continue;
    std::string acl_host = a.host == "*" ? "*" : canonical_ip(a.host).value_or(a.host);
    if (acl_host != "*" && acl_host != host) continue;
    bool op_ok;
    if (a.operation == AclOperation::ALL) {
      op_ok = true;
    } else if (a.permission_type == AclPermissionType::ALLOW) {
      if (op == AclOperation::DESCRIBE)
        op_ok = a.operation == AclOperation::DESCRIBE || a.operation == AclOperation::READ ||
                a.operation == AclOperation::WRITE || a.operation == AclOperation::DELETE ||
                a.operation == AclOperation::ALTER;
      else if (op == AclOperation::DESCRIBE_CONFIGS)
        op_ok = a.operation == AclOperation::DESCRIBE_CONFIGS || a.operation == AclOperation::ALTER_CONFIGS;
      else
        op_ok = a.operation == op;
    } else {
      op_ok = a.operation == op;
    }
    if (!op_ok) continue;
    if (a.permission_type == AclPermissionType::DENY) deny = true;
    if (a.permission_type == AclPermissionType::ALLOW) allow = true;
  }
  if (deny) return AuthorizationResult::DENIED;
  if (allow) return AuthorizationResult::ALLOWED;
  if (applies) return AuthorizationResult::DENIED;
  return s.allow_everyone_if_no_acl_found ? AuthorizationResult::ALLOWED : AuthorizationResult::DENIED;
}

// Kafka's Authorizer.authorizeByResourceType default, over every ACL.
inline AuthorizationResult reference_by_resource_type(const std::vector<StandardAcl>& acls, const AuthorizerSettings& s,
                                                      const KafkaPrincipal& p, const std::string& host, AclOperation op,
                                                      ResourceType type) {
  if (reference_decision(acls, s, p, host, op, type, "hardcode") == AuthorizationResult::ALLOWED)
    return AuthorizationResult::ALLOWED;
  std::set<std::string> deny_literal, deny_prefixed, allow_literal, allow_prefixed;
  bool wildcard_allow = false;
  for (const auto& a : acls) {
    if (a.resource_type != type) continue;
    std::string acl_host = a.host == "*" ? "*" : canonical_ip(a.host).value_or(a.host);
    if (acl_host != "*" && acl_host != host) continue;
    if (a.principal != p.to_string() && a.principal != "User:*") continue;
    if (a.operation != op && a.operation != AclOperation::ALL) continue;
    if (a.permission_type == AclPermissionType::DENY) {
      if (a.pattern_type == PatternType::LITERAL && a.resource_name == "*") return AuthorizationResult::DENIED;
      (a.pattern_type == PatternType::LITERAL ? deny_literal : deny_prefixed).insert(a.resource_name);
    } else if (a.pattern_type == PatternType::LITERAL && a.resource_name == "*") {
      wildcard_allow = true;
    } else {
      (a.pattern_type == PatternType::LITERAL ? allow_literal : allow_prefixed).insert(a.resource_name);
    }
  }
  if (wildcard_allow) return AuthorizationResult::ALLOWED;
  auto dominated = [&](const std::string& name) {
    for (size_t len = 1; len <= name.size(); ++len)
      if (deny_prefixed.count(name.substr(0, len))) return true;
    return false;
  };
  for (const auto& n : allow_literal)
    if (!deny_literal.count(n) && !dominated(n)) return AuthorizationResult::ALLOWED;
  for (const auto& n : allow_prefixed)
    if (!dominated(n)) return AuthorizationResult::ALLOWED;
  return AuthorizationResult::DENIED;
}

}  // namespace authz_test
