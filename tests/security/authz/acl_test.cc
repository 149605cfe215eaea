// The ACL model: Kafka's codes, names, printed forms, filters and the
// CreateAcls / DeleteAcls validation messages.
#include <gtest/gtest.h>

#include "security/acl.h"

using namespace flotilla;
using namespace flotilla::security;

namespace acl_model_test {

AclBinding binding(ResourceType t, std::string name, PatternType pt, std::string principal, std::string host,
                   AclOperation op, AclPermissionType perm) {
  return AclBinding{ResourcePattern{t, std::move(name), pt},
                    AccessControlEntry{std::move(principal), std::move(host), op, perm}};
}

AclBinding good() {
  return binding(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", "*", AclOperation::READ,
                 AclPermissionType::ALLOW);
}

std::string message_of(const AclBinding& b) {
  auto e = validate_new_acl(b);
  if (!e) return "";
  EXPECT_EQ(e->error, ErrorCode::INVALID_REQUEST);
  return e->message;
}

}  // namespace acl_model_test

using namespace acl_model_test;

TEST(AclModel, CodesAreKafkas) {
  EXPECT_EQ(code(ResourceType::UNKNOWN), 0);
  EXPECT_EQ(code(ResourceType::ANY), 1);
  EXPECT_EQ(code(ResourceType::TOPIC), 2);
  EXPECT_EQ(code(ResourceType::GROUP), 3);
  EXPECT_EQ(code(ResourceType::CLUSTER), 4);
  EXPECT_EQ(code(ResourceType::TRANSACTIONAL_ID), 5);
  EXPECT_EQ(code(ResourceType::DELEGATION_TOKEN), 6);
  EXPECT_EQ(code(ResourceType::USER), 7);
  EXPECT_EQ(code(PatternType::MATCH), 2);
  EXPECT_EQ(code(PatternType::LITERAL), 3);
  EXPECT_EQ(code(PatternType::PREFIXED), 4);
  EXPECT_EQ(code(AclOperation::ALL), 2);
  EXPECT_EQ(code(AclOperation::DESCRIBE), 8);
  EXPECT_EQ(code(AclOperation::CLUSTER_ACTION), 9);
  EXPECT_EQ(code(AclOperation::IDEMPOTENT_WRITE), 12);
  EXPECT_EQ(code(AclOperation::DESCRIBE_TOKENS), 14);
  EXPECT_EQ(code(AclPermissionType::DENY), 2);
  EXPECT_EQ(code(AclPermissionType::ALLOW), 3);
}

TEST(AclModel, UnknownCodesDecodeToUnknown) {
  EXPECT_EQ(resource_type_from_code(7), ResourceType::USER);
  EXPECT_EQ(resource_type_from_code(8), ResourceType::UNKNOWN);
  EXPECT_EQ(resource_type_from_code(-1), ResourceType::UNKNOWN);
  EXPECT_EQ(pattern_type_from_code(4), PatternType::PREFIXED);
  EXPECT_EQ(pattern_type_from_code(5), PatternType::UNKNOWN);
  EXPECT_EQ(acl_operation_from_code(14), AclOperation::DESCRIBE_TOKENS);
  EXPECT_EQ(acl_operation_from_code(15), AclOperation::UNKNOWN);
  EXPECT_EQ(acl_operation_from_code(-128), AclOperation::UNKNOWN);
  EXPECT_EQ(permission_type_from_code(3), AclPermissionType::ALLOW);
  EXPECT_EQ(permission_type_from_code(4), AclPermissionType::UNKNOWN);
}

TEST(AclModel, NamesAreTheJavaEnumNames) {
  EXPECT_EQ(resource_type_name(ResourceType::TRANSACTIONAL_ID), "TRANSACTIONAL_ID");
  EXPECT_EQ(resource_type_name(ResourceType::DELEGATION_TOKEN), "DELEGATION_TOKEN");
  EXPECT_EQ(pattern_type_name(PatternType::PREFIXED), "PREFIXED");
  EXPECT_EQ(acl_operation_name(AclOperation::DESCRIBE_CONFIGS), "DESCRIBE_CONFIGS");
  EXPECT_EQ(acl_operation_name(AclOperation::IDEMPOTENT_WRITE), "IDEMPOTENT_WRITE");
  EXPECT_EQ(permission_type_name(AclPermissionType::DENY), "DENY");
  EXPECT_EQ(acl_operation_name(static_cast<AclOperation>(77)), "UNKNOWN");
}

TEST(AclModel, PascalNamesAsSecurityUtils) {
  EXPECT_EQ(resource_type_pascal_name(ResourceType::TOPIC), "Topic");
  EXPECT_EQ(resource_type_pascal_name(ResourceType::TRANSACTIONAL_ID), "TransactionalId");
  EXPECT_EQ(acl_operation_pascal_name(AclOperation::CLUSTER_ACTION), "ClusterAction");
  EXPECT_EQ(acl_operation_pascal_name(AclOperation::DESCRIBE_CONFIGS), "DescribeConfigs");
  EXPECT_EQ(permission_type_pascal_name(AclPermissionType::ALLOW), "Allow");
  EXPECT_EQ(parse_acl_operation_pascal("ClusterAction"), AclOperation::CLUSTER_ACTION);
  EXPECT_EQ(parse_acl_operation_pascal("CLUSTERACTION"), AclOperation::CLUSTER_ACTION);
  EXPECT_EQ(parse_acl_operation_pascal("CLUSTER_ACTION"), AclOperation::UNKNOWN);  // not in SecurityUtils' map
  EXPECT_EQ(parse_acl_operation_pascal("clusteraction"), AclOperation::UNKNOWN);
  EXPECT_EQ(parse_resource_type_pascal("TransactionalId"), ResourceType::TRANSACTIONAL_ID);
  EXPECT_EQ(parse_permission_type_pascal("DENY"), AclPermissionType::DENY);
}

TEST(AclModel, FromStringIsCaseInsensitiveExceptPatternType) {
  EXPECT_EQ(parse_acl_operation("read"), AclOperation::READ);
  EXPECT_EQ(parse_acl_operation("Describe_Configs"), AclOperation::DESCRIBE_CONFIGS);
  EXPECT_EQ(parse_acl_operation("DescribeConfigs"), AclOperation::UNKNOWN);
  EXPECT_EQ(parse_acl_operation(""), AclOperation::UNKNOWN);
  EXPECT_EQ(parse_resource_type("topic"), ResourceType::TOPIC);
  EXPECT_EQ(parse_resource_type("transactional_id"), ResourceType::TRANSACTIONAL_ID);
  EXPECT_EQ(parse_resource_type("bogus"), ResourceType::UNKNOWN);
  EXPECT_EQ(parse_permission_type("allow"), AclPermissionType::ALLOW);
  EXPECT_EQ(parse_pattern_type("PREFIXED"), PatternType::PREFIXED);
  EXPECT_EQ(parse_pattern_type("prefixed"), PatternType::UNKNOWN);
}

TEST(AclModel, PrintedFormsAsKafkaAclsPrintsThem) {
  AclBinding b = good();
  EXPECT_EQ(b.pattern.to_string(), "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)");
  EXPECT_EQ(b.entry.to_string(), "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)");
  EXPECT_EQ(b.to_string(),
            "(pattern=ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL), "
            "entry=(principal=User:alice, host=*, operation=READ, permissionType=ALLOW))");
  AclBindingFilter f;
  EXPECT_EQ(f.to_string(),
            "(patternFilter=ResourcePattern(resourceType=ANY, name=<any>, patternType=ANY), "
            "entryFilter=(principal=<any>, host=<any>, operation=ANY, permissionType=ANY))");
  StandardAcl acl = StandardAcl::from_binding(Uuid{1, 2}, b);
  EXPECT_EQ(acl.to_string(),
            "StandardAcl(resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, "
            "host=*, operation=READ, permissionType=ALLOW)");
  EXPECT_EQ(acl.to_binding(), b);
  EXPECT_EQ(acl.id, (Uuid{1, 2}));
}

TEST(AclModel, SameAclIgnoresTheId) {
  StandardAcl a = StandardAcl::from_binding(Uuid{1, 1}, good());
  StandardAcl b = StandardAcl::from_binding(Uuid{2, 2}, good());
  EXPECT_TRUE(a.same_acl(b));
  EXPECT_NE(a, b);
  b.host = "10.0.0.1";
  EXPECT_FALSE(a.same_acl(b));
}

TEST(AclModel, ParseKafkaPrincipalSplitsAtTheFirstColon) {
  auto p = parse_kafka_principal("User:CN=broker1,O=Acme:x");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "User");
  EXPECT_EQ(p->name, "CN=broker1,O=Acme:x");
  auto empty_name = parse_kafka_principal("User:");
  ASSERT_TRUE(empty_name);
  EXPECT_EQ(empty_name->name, "");
  EXPECT_FALSE(parse_kafka_principal("alice"));
  EXPECT_FALSE(parse_kafka_principal(""));
  EXPECT_EQ(principal_parse_error("alice"), "expected a string in format principalType:principalName but got alice");
}

TEST(AclModel, CanonicalIp) {
  EXPECT_EQ(canonical_ip("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(canonical_ip("0:0:0:0:0:0:0:1"), "::1");
  EXPECT_EQ(canonical_ip("FE80:0:0:0:0:0:0:1"), "fe80::1");
  EXPECT_EQ(canonical_ip("::ffff:10.0.0.1"), "10.0.0.1");
  EXPECT_FALSE(canonical_ip("*"));
  EXPECT_FALSE(canonical_ip(""));
  EXPECT_FALSE(canonical_ip("broker1.example.com"));
  EXPECT_FALSE(canonical_ip("10.0.0"));
  EXPECT_FALSE(canonical_ip("10.0.0.256"));
  EXPECT_FALSE(canonical_ip(std::string(100, '1')));
}

TEST(AclModel, ResourcePatternFilterMatchesAsKafka) {
  ResourcePattern literal{ResourceType::TOPIC, "orders", PatternType::LITERAL};
  ResourcePattern wildcard{ResourceType::TOPIC, "*", PatternType::LITERAL};
  ResourcePattern prefixed{ResourceType::TOPIC, "ord", PatternType::PREFIXED};
  ResourcePattern group{ResourceType::GROUP, "orders", PatternType::LITERAL};

  ResourcePatternFilter any;
  for (const auto& p : {literal, wildcard, prefixed, group}) EXPECT_TRUE(any.matches(p));

  ResourcePatternFilter topics{ResourceType::TOPIC, std::nullopt, PatternType::ANY};
  EXPECT_TRUE(topics.matches(prefixed));
  EXPECT_FALSE(topics.matches(group));

  // ANY with a name: that exact name, whatever the pattern type.
  ResourcePatternFilter any_ord{ResourceType::TOPIC, "ord", PatternType::ANY};
  EXPECT_TRUE(any_ord.matches(prefixed));
  EXPECT_FALSE(any_ord.matches(literal));

  // A specific pattern type: that type and that name.
  ResourcePatternFilter lit{ResourceType::TOPIC, "orders", PatternType::LITERAL};
  EXPECT_TRUE(lit.matches(literal));
  EXPECT_FALSE(lit.matches(wildcard));
  EXPECT_FALSE(lit.matches(prefixed));

  // MATCH: everything that would apply to the literal resource.
  ResourcePatternFilter match{ResourceType::TOPIC, "orders", PatternType::MATCH};
  EXPECT_TRUE(match.matches(literal));
  EXPECT_TRUE(match.matches(wildcard));
  EXPECT_TRUE(match.matches(prefixed));
  EXPECT_FALSE(match.matches(group));
  EXPECT_FALSE(match.matches(ResourcePattern{ResourceType::TOPIC, "orders-eu", PatternType::PREFIXED}));
  EXPECT_FALSE(match.matches(ResourcePattern{ResourceType::TOPIC, "order", PatternType::LITERAL}));
  // MATCH without a name matches every pattern of the type.
  ResourcePatternFilter match_all{ResourceType::TOPIC, std::nullopt, PatternType::MATCH};
  EXPECT_TRUE(match_all.matches(prefixed));
}

TEST(AclModel, EntryFilterMatchesAsKafka) {
  AccessControlEntry e{"User:alice", "10.0.0.1", AclOperation::READ, AclPermissionType::ALLOW};
  EXPECT_TRUE(AccessControlEntryFilter{}.matches(e));
  EXPECT_TRUE((AccessControlEntryFilter{"User:alice", std::nullopt, AclOperation::ANY, AclPermissionType::ANY}.matches(e)));
  EXPECT_FALSE((AccessControlEntryFilter{"User:bob", std::nullopt, AclOperation::ANY, AclPermissionType::ANY}.matches(e)));
  EXPECT_FALSE((AccessControlEntryFilter{"User:*", std::nullopt, AclOperation::ANY, AclPermissionType::ANY}.matches(e)));
  EXPECT_TRUE((AccessControlEntryFilter{std::nullopt, "10.0.0.1", AclOperation::READ, AclPermissionType::ALLOW}.matches(e)));
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, "*", AclOperation::ANY, AclPermissionType::ANY}.matches(e)));
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, std::nullopt, AclOperation::WRITE, AclPermissionType::ANY}.matches(e)));
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, std::nullopt, AclOperation::ANY, AclPermissionType::DENY}.matches(e)));
  // ALL in a filter is the operation ALL, not a wildcard.
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, std::nullopt, AclOperation::ALL, AclPermissionType::ANY}.matches(e)));

  AclBindingFilter f{ResourcePatternFilter{ResourceType::TOPIC, "orders", PatternType::MATCH},
                     AccessControlEntryFilter{"User:alice", std::nullopt, AclOperation::ANY, AclPermissionType::ANY}};
  EXPECT_TRUE(f.matches(good()));
  EXPECT_TRUE(f.matches(StandardAcl::from_binding(Uuid{1, 1}, good())));
  AclBinding other = good();
  other.pattern.name = "payments";
  EXPECT_FALSE(f.matches(other));
  EXPECT_FALSE(f.matches(StandardAcl::from_binding(Uuid{1, 1}, other)));
}

TEST(AclModel, IndefiniteFields) {
  AclBindingFilter f;
  EXPECT_EQ(f.find_indefinite_field(), "Resource type is ANY.");
  f.pattern_filter.resource_type = ResourceType::TOPIC;
  EXPECT_EQ(f.find_indefinite_field(), "Resource name is NULL.");
  f.pattern_filter.name = "orders";
  // Kafka does not count pattern type ANY as indefinite: the entry filter is next.
  EXPECT_EQ(f.find_indefinite_field(), "Principal is NULL");
  f.pattern_filter.pattern_type = PatternType::MATCH;
  EXPECT_EQ(f.find_indefinite_field(), "Resource pattern type is MATCH.");
  f.pattern_filter.pattern_type = PatternType::LITERAL;
  f.entry_filter.principal = "User:alice";
  EXPECT_EQ(f.find_indefinite_field(), "Host is NULL");
  f.entry_filter.host = "*";
  EXPECT_EQ(f.find_indefinite_field(), "Operation is ANY");
  f.entry_filter.operation = AclOperation::READ;
  EXPECT_EQ(f.find_indefinite_field(), "Permission type is ANY");
  f.entry_filter.permission_type = AclPermissionType::ALLOW;
  EXPECT_TRUE(f.matches_at_most_one());
}

TEST(AclModel, ValidateNewAclMessages) {
  EXPECT_EQ(message_of(good()), "");
  AclBinding b = good();
  b.pattern.pattern_type = PatternType::PREFIXED;
  EXPECT_EQ(message_of(b), "");
  b = good();
  b.entry.host = "0:0:0:0:0:0:0:1";
  EXPECT_EQ(message_of(b), "");
  b.entry.principal = "User:*";
  EXPECT_EQ(message_of(b), "");

  b = good();
  b.pattern = ResourcePattern{ResourceType::CLUSTER, "my-cluster", PatternType::LITERAL};
  EXPECT_EQ(message_of(b), "The only valid name for the CLUSTER resource is kafka-cluster");
  b.pattern.name = "kafka-cluster";
  EXPECT_EQ(message_of(b), "");
  b = good();
  b.pattern.name = "";
  EXPECT_EQ(message_of(b), "Invalid empty resource name");
  b = good();
  b.pattern.resource_type = ResourceType::ANY;
  EXPECT_EQ(message_of(b), "Invalid resourceType ANY");
  b.pattern.resource_type = ResourceType::UNKNOWN;
  EXPECT_EQ(message_of(b), "Invalid resourceType UNKNOWN");
  b = good();
  b.pattern.pattern_type = PatternType::MATCH;
  EXPECT_EQ(message_of(b), "Invalid patternType MATCH");
  b.pattern.pattern_type = PatternType::ANY;
  EXPECT_EQ(message_of(b), "Invalid patternType ANY");
  b.pattern.pattern_type = PatternType::UNKNOWN;
  EXPECT_EQ(message_of(b), "Invalid patternType UNKNOWN");
  b = good();
  b.entry.operation = AclOperation::ANY;
  EXPECT_EQ(message_of(b), "Invalid operation ANY");
  b.entry.operation = AclOperation::UNKNOWN;
  EXPECT_EQ(message_of(b), "Invalid operation UNKNOWN");
  b = good();
  b.entry.permission_type = AclPermissionType::ANY;
  EXPECT_EQ(message_of(b), "Invalid permissionType ANY");
  b = good();
  b.entry.principal = "";
  EXPECT_EQ(message_of(b), "expected a string in format principalType:principalName but got ");
  b.entry.principal = "alice";
  EXPECT_EQ(message_of(b), "expected a string in format principalType:principalName but got alice");
  b = good();
  b.entry.host = "broker1.example.com";
  EXPECT_EQ(message_of(b), "Invalid host broker1.example.com: expected * or an IPv4 or IPv6 address");
  b.entry.host = "";
  EXPECT_EQ(message_of(b), "Invalid host : expected * or an IPv4 or IPv6 address");
}

TEST(AclModel, ValidateFilter) {
  EXPECT_FALSE(validate_acl_filter(AclBindingFilter{}));
  AclBindingFilter f;
  f.pattern_filter.pattern_type = PatternType::UNKNOWN;
  EXPECT_EQ(validate_acl_filter(f)->message, "Unknown patternFilter.");
  f = AclBindingFilter{};
  f.pattern_filter.resource_type = ResourceType::UNKNOWN;
  EXPECT_EQ(validate_acl_filter(f)->message, "Unknown patternFilter.");
  f = AclBindingFilter{};
  f.entry_filter.operation = AclOperation::UNKNOWN;
  EXPECT_EQ(validate_acl_filter(f)->message, "Unknown entryFilter.");
  EXPECT_EQ(validate_acl_filter(f)->error, ErrorCode::INVALID_REQUEST);
}

TEST(AclModel, SupportedOperationsAndErrors) {
  auto topic = supported_operations(ResourceType::TOPIC);
  EXPECT_EQ(topic.size(), 8u);
  EXPECT_NE(std::find(topic.begin(), topic.end(), AclOperation::ALTER_CONFIGS), topic.end());
  EXPECT_EQ(std::find(topic.begin(), topic.end(), AclOperation::IDEMPOTENT_WRITE), topic.end());
  EXPECT_EQ(supported_operations(ResourceType::TRANSACTIONAL_ID),
            (std::vector<AclOperation>{AclOperation::DESCRIBE, AclOperation::WRITE}));
  EXPECT_TRUE(supported_operations(ResourceType::ANY).empty());
  EXPECT_EQ(authorization_error(ResourceType::TOPIC), ErrorCode::TOPIC_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorization_error(ResourceType::GROUP), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorization_error(ResourceType::CLUSTER), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorization_error(ResourceType::TRANSACTIONAL_ID), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorization_error(ResourceType::DELEGATION_TOKEN), ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED);
}
