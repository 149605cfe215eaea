// StandardAuthorizer decisions: each of Kafka's rules as a case.
#include <gtest/gtest.h>

#include "authz_test_util.h"

using namespace authz_test;

namespace authz_rules_test {

class Rules : public ::testing::Test {
 protected:
  Rules() { authz.complete_initial_load(); }

  void add(const StandardAcl& acl) { ASSERT_EQ(authz.add_acl(acl), std::nullopt); }
  AuthorizationResult check(const std::string& who, AclOperation op, const std::string& topic,
                            const std::string& host = "10.0.0.1") {
    return authz.authorize(user(who), host, op, TOPIC, topic);
  }

  StandardAuthorizer authz;
};

}  // namespace authz_rules_test

using namespace authz_rules_test;

TEST_F(Rules, NoAclDeniesByDefault) {
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), DENIED);
  auto d = authz.snapshot()->decide(user("alice"), "10.0.0.1", AclOperation::READ, TOPIC, "orders");
  EXPECT_EQ(d.rule, MatchingRule::DEFAULT_DENY);
  EXPECT_EQ(d.rule_to_string(), "DefaultDeny");
}

TEST_F(Rules, AllowEveryoneIfNoAclFoundOnlyWhenNoAclAppliesToTheResource) {
  authz.configure(AuthorizerConfig{{}, true});
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), ALLOWED);
  EXPECT_EQ(authz.snapshot()->decide(user("a"), "h", AclOperation::READ, TOPIC, "x").rule, MatchingRule::DEFAULT_ALLOW);
  add(topic_acl("payments", "User:bob", AclOperation::READ));  // another resource: no effect
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), ALLOWED);
  add(topic_acl("orders", "User:bob", AclOperation::READ));  // applies to orders, names bob only
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), DENIED);
  EXPECT_EQ(check("bob", AclOperation::READ, "orders"), ALLOWED);
  EXPECT_EQ(check("bob", AclOperation::WRITE, "orders"), DENIED);
  // The same holds for a PREFIXED ACL and for the wildcard.
  add(prefixed_acl("inv", "User:bob", AclOperation::READ));
  EXPECT_EQ(check("alice", AclOperation::READ, "invoices"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::READ, "in"), ALLOWED);
}

TEST_F(Rules, LiteralAclMatchesItsNameOnly) {
  add(topic_acl("orders", "User:alice", AclOperation::READ));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "orders2"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::READ, "order"), DENIED);
  EXPECT_EQ(check("bob", AclOperation::READ, "orders"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::WRITE, "orders"), DENIED);
  EXPECT_EQ(authz.authorize(user("alice"), "10.0.0.1", AclOperation::READ, ResourceType::GROUP, "orders"), DENIED);
}

TEST_F(Rules, PrefixedAclMatchesEveryNameStartingWithIt) {
  add(prefixed_acl("ord", "User:alice", AclOperation::READ));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "ord"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "or"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::READ, "xorders"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::READ, "Orders"), DENIED);
}

TEST_F(Rules, ManyPrefixesOfOneName) {
  add(prefixed_acl("a", "User:alice", AclOperation::READ));
  add(prefixed_acl("ab", "User:bob", AclOperation::READ));
  add(prefixed_acl("abc", "User:carol", AclOperation::READ));
  add(prefixed_acl("abd", "User:dave", AclOperation::READ));
  add(topic_acl("abcd", "User:erin", AclOperation::READ));
  for (std::string who : {"alice", "bob", "carol", "erin"}) EXPECT_EQ(check(who, AclOperation::READ, "abcd"), ALLOWED) << who;
  EXPECT_EQ(check("dave", AclOperation::READ, "abcd"), DENIED);
  EXPECT_EQ(check("dave", AclOperation::READ, "abdd"), ALLOWED);
  EXPECT_EQ(check("erin", AclOperation::READ, "abcde"), DENIED);
}

TEST_F(Rules, WildcardResourceIsLiteralStar) {
  add(topic_acl("*", "User:alice", AclOperation::WRITE));
  EXPECT_EQ(check("alice", AclOperation::WRITE, "anything"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::WRITE, "*"), ALLOWED);
  // A PREFIXED "*" is a prefix like any other: names starting with '*'.
  add(prefixed_acl("*", "User:bob", AclOperation::WRITE));
  EXPECT_EQ(check("bob", AclOperation::WRITE, "anything"), DENIED);
  EXPECT_EQ(check("bob", AclOperation::WRITE, "*x"), ALLOWED);
}

TEST_F(Rules, WildcardPrincipalMatchesEveryPrincipal) {
  add(topic_acl("orders", "User:*", AclOperation::READ));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), ALLOWED);
  EXPECT_EQ(check("bob", AclOperation::READ, "orders"), ALLOWED);
  // As in Kafka, User:* is in every caller's matching set, whatever its type.
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"Group", "ops"}, "10.0.0.1", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  // Only User:* is a wildcard: Group:* names the principal Group:* itself.
  add(topic_acl("payments", "Group:*", AclOperation::READ));
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"Group", "ops"}, "h", AclOperation::READ, TOPIC, "payments"), DENIED);
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"Group", "*"}, "h", AclOperation::READ, TOPIC, "payments"), ALLOWED);
}

TEST_F(Rules, PrincipalsCompareTypeAndNameExactly) {
  add(topic_acl("orders", "User:alice", AclOperation::READ));
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"Group", "alice"}, "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"User", "Alice"}, "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"User", "alic"}, "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  add(topic_acl("dn", "User:CN=client,O=Acme", AclOperation::READ));
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"User", "CN=client,O=Acme"}, "h", AclOperation::READ, TOPIC, "dn"), ALLOWED);
}

TEST_F(Rules, HostMatchesExactlyOrStar) {
  add(topic_acl("orders", "User:alice", AclOperation::READ, ALLOW, "10.0.0.1"));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders", "10.0.0.1"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "orders", "10.0.0.2"), DENIED);
  add(topic_acl("v6", "User:alice", AclOperation::READ, ALLOW, "0:0:0:0:0:0:0:1"));
  EXPECT_EQ(check("alice", AclOperation::READ, "v6", "::1"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "v6", "10.0.0.1"), DENIED);
  add(topic_acl("any", "User:alice", AclOperation::READ, ALLOW, "*"));
  EXPECT_EQ(check("alice", AclOperation::READ, "any", "192.168.1.1"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "any", "::1"), ALLOWED);
}

TEST_F(Rules, DenyBeatsAllow) {
  add(topic_acl("orders", "User:alice", AclOperation::READ));
  add(prefixed_acl("ord", "User:alice", AclOperation::READ, DENY));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), DENIED);
  auto d = authz.snapshot()->decide(user("alice"), "10.0.0.1", AclOperation::READ, TOPIC, "orders");
  ASSERT_EQ(d.rule, MatchingRule::MATCHING_ACL);
  EXPECT_EQ(d.acl->permission_type, DENY);
  EXPECT_EQ(d.acl->resource_name, "ord");

  add(topic_acl("payments", "User:alice", AclOperation::WRITE));
  add(topic_acl("*", "User:*", AclOperation::WRITE, DENY));
  EXPECT_EQ(check("alice", AclOperation::WRITE, "payments"), DENIED);

  add(topic_acl("invoices", "User:alice", AclOperation::READ));
  add(topic_acl("invoices", "User:alice", AclOperation::READ, DENY, "10.0.0.9"));
  EXPECT_EQ(check("alice", AclOperation::READ, "invoices", "10.0.0.1"), ALLOWED);  // the DENY is for another host
  EXPECT_EQ(check("alice", AclOperation::READ, "invoices", "10.0.0.9"), DENIED);
}

TEST_F(Rules, AllMatchesEveryOperation) {
  add(topic_acl("orders", "User:alice", AclOperation::ALL));
  for (AclOperation op : supported_operations(TOPIC)) EXPECT_EQ(check("alice", op, "orders"), ALLOWED);
  add(topic_acl("orders", "User:alice", AclOperation::DESCRIBE, ALLOW));
  add(topic_acl("payments", "User:alice", AclOperation::DESCRIBE));
  add(topic_acl("payments", "User:alice", AclOperation::ALL, DENY));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE, "payments"), DENIED);
  EXPECT_EQ(check("alice", AclOperation::READ, "payments"), DENIED);
}

TEST_F(Rules, AllowOfReadWriteDeleteAlterImpliesDescribe) {
  const AclOperation implying[] = {AclOperation::READ, AclOperation::WRITE, AclOperation::DELETE, AclOperation::ALTER};
  for (AclOperation op : implying) {
    std::string topic = "t-" + std::string(acl_operation_name(op));
    add(topic_acl(topic, "User:alice", op));
    EXPECT_EQ(check("alice", AclOperation::DESCRIBE, topic), ALLOWED) << topic;
    EXPECT_EQ(check("alice", AclOperation::DESCRIBE_CONFIGS, topic), DENIED) << topic;
  }
  const AclOperation not_implying[] = {AclOperation::CREATE, AclOperation::DESCRIBE_CONFIGS, AclOperation::ALTER_CONFIGS,
                                       AclOperation::CLUSTER_ACTION, AclOperation::IDEMPOTENT_WRITE};
  for (AclOperation op : not_implying) {
    std::string topic = "u-" + std::string(acl_operation_name(op));
    add(topic_acl(topic, "User:alice", op));
    EXPECT_EQ(check("alice", AclOperation::DESCRIBE, topic), DENIED) << topic;
  }
  // Implication goes one way only.
  add(topic_acl("d", "User:alice", AclOperation::DESCRIBE));
  EXPECT_EQ(check("alice", AclOperation::READ, "d"), DENIED);
}

TEST_F(Rules, AllowOfAlterConfigsImpliesDescribeConfigs) {
  add(topic_acl("orders", "User:alice", AclOperation::ALTER_CONFIGS));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE_CONFIGS, "orders"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE, "orders"), DENIED);
  add(topic_acl("p", "User:alice", AclOperation::DESCRIBE_CONFIGS));
  EXPECT_EQ(check("alice", AclOperation::ALTER_CONFIGS, "p"), DENIED);
}

TEST_F(Rules, ImplicationsHoldForAllowOnly) {
  // A DENY of READ does not deny DESCRIBE.
  add(topic_acl("orders", "User:alice", AclOperation::DESCRIBE));
  add(topic_acl("orders", "User:alice", AclOperation::READ, DENY));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE, "orders"), ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), DENIED);
  // An ALLOW of WRITE still implies DESCRIBE next to a DENY of WRITE.
  add(topic_acl("payments", "User:alice", AclOperation::WRITE));
  add(topic_acl("payments", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE, "payments"), ALLOWED);
  // A DENY of ALTER_CONFIGS does not deny DESCRIBE_CONFIGS; a DENY of DESCRIBE does.
  add(topic_acl("c", "User:alice", AclOperation::ALTER_CONFIGS));
  add(topic_acl("c", "User:alice", AclOperation::ALTER_CONFIGS, DENY));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE_CONFIGS, "c"), ALLOWED);
  add(topic_acl("c", "User:alice", AclOperation::DESCRIBE_CONFIGS, DENY));
  EXPECT_EQ(check("alice", AclOperation::DESCRIBE_CONFIGS, "c"), DENIED);
}

TEST_F(Rules, SuperUsersAreAlwaysAllowed) {
  authz.configure(AuthorizerConfig{{"User:admin", "User:CN=broker1,O=Acme"}, false});
  add(topic_acl("*", "User:*", AclOperation::ALL, DENY));
  EXPECT_EQ(check("admin", AclOperation::WRITE, "orders"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("CN=broker1,O=Acme"), "h", AclOperation::CLUSTER_ACTION, ResourceType::CLUSTER,
                            "kafka-cluster"),
            ALLOWED);
  EXPECT_EQ(check("alice", AclOperation::WRITE, "orders"), DENIED);
  EXPECT_EQ(authz.authorize(KafkaPrincipal{"Group", "admin"}, "h", AclOperation::READ, TOPIC, "x"), DENIED);
  auto d = authz.snapshot()->decide(user("admin"), "h", AclOperation::READ, TOPIC, "x");
  EXPECT_EQ(d.rule, MatchingRule::SUPER_USER);
  EXPECT_EQ(d.rule_to_string(), "SuperUser");
}

TEST(SuperUsersConfig, ParsedAsKafka) {
  std::vector<std::string> out;
  EXPECT_EQ(parse_super_users(" User:admin ; User:CN=broker1,O=Acme;;  ", out), std::nullopt);
  EXPECT_EQ(out, (std::vector<std::string>{"User:admin", "User:CN=broker1,O=Acme"}));
  EXPECT_EQ(parse_super_users("", out), std::nullopt);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parse_super_users("User:admin;bob", out),
            "expected a string in format principalType:principalName but got bob");
}

TEST(NotReady, OnlySuperUsersBeforeTheInitialLoad) {
  StandardAuthorizer authz(AuthorizerConfig{{"User:admin"}, true});
  EXPECT_FALSE(authz.initial_load_complete());
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "x"), AuthorizationResult::DENIED);
  EXPECT_EQ(authz.snapshot()->decide(user("alice"), "h", AclOperation::READ, TOPIC, "x").rule, MatchingRule::NOT_READY);
  EXPECT_EQ(authz.authorize(user("admin"), "h", AclOperation::READ, TOPIC, "x"), AuthorizationResult::ALLOWED);
  ASSERT_EQ(authz.add_acl(topic_acl("x", "User:alice", AclOperation::WRITE)), std::nullopt);
  EXPECT_EQ(authz.authorize_by_resource_type(user("alice"), "h", AclOperation::WRITE, TOPIC), AuthorizationResult::DENIED);
  EXPECT_EQ(authz.authorize_by_resource_type(user("admin"), "h", AclOperation::WRITE, TOPIC), AuthorizationResult::ALLOWED);
  authz.complete_initial_load();
  EXPECT_EQ(authz.authorize_by_resource_type(user("alice"), "h", AclOperation::WRITE, TOPIC), AuthorizationResult::ALLOWED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "x"), AuthorizationResult::DENIED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "y"), AuthorizationResult::ALLOWED);
  EXPECT_TRUE(authz.initial_load_complete());
}

TEST_F(Rules, ResourceTypesAreSeparate) {
  add(make_acl(ResourceType::GROUP, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ));
  add(make_acl(ResourceType::TRANSACTIONAL_ID, "tx-", PatternType::PREFIXED, "User:alice", AclOperation::WRITE));
  add(make_acl(ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:alice", AclOperation::IDEMPOTENT_WRITE));
  EXPECT_EQ(check("alice", AclOperation::READ, "orders"), DENIED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, ResourceType::GROUP, "orders"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, "tx-1"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::WRITE, ResourceType::TRANSACTIONAL_ID, "t"), DENIED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::IDEMPOTENT_WRITE, ResourceType::CLUSTER, "kafka-cluster"),
            ALLOWED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, ResourceType::ANY, "orders"), DENIED);
}

TEST_F(Rules, AuditMessageAsKafkasAuthorizerLogger) {
  StandardAcl deny = topic_acl("orders", "User:alice", AclOperation::READ, DENY);
  add(deny);
  auto snap = authz.snapshot();
  auto d = snap->decide(user("alice"), "10.0.0.1", AclOperation::READ, TOPIC, "orders");
  EXPECT_EQ(audit_message(user("alice"), "10.0.0.1", AclOperation::READ, TOPIC, "orders", "Fetch", 1, d),
            "Principal = User:alice is Denied operation = READ from host = 10.0.0.1 on resource = Topic:LITERAL:orders "
            "for request = Fetch with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl(resourceType=TOPIC, "
            "resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=READ, "
            "permissionType=DENY))");
  ASSERT_NE(d.acl, nullptr);
  EXPECT_EQ(d.acl->id, deny.id);
}

TEST_F(Rules, AuthorizedOperationsBits) {
  add(topic_acl("orders", "User:alice", AclOperation::READ));
  add(topic_acl("orders", "User:alice", AclOperation::ALTER_CONFIGS));
  int32_t bits = authz.snapshot()->authorized_operations(user("alice"), "h", TOPIC, "orders");
  int32_t want = (1 << code(AclOperation::READ)) | (1 << code(AclOperation::DESCRIBE)) |
                 (1 << code(AclOperation::ALTER_CONFIGS)) | (1 << code(AclOperation::DESCRIBE_CONFIGS));
  EXPECT_EQ(bits, want);
  EXPECT_EQ(authz.snapshot()->authorized_operations(user("bob"), "h", TOPIC, "orders"), 0);
}

// Kafka's Authorizer.authorizeByResourceType (the default StandardAuthorizer keeps).
class ByResourceType : public Rules {
 protected:
  AuthorizationResult by_type(const std::string& who = "alice", AclOperation op = AclOperation::WRITE,
                              const std::string& host = "10.0.0.1") {
    return authz.authorize_by_resource_type(user(who), host, op, TOPIC);
  }
};

TEST_F(ByResourceType, NoAclIsDeniedUnlessEveryoneIsAllowed) {
  EXPECT_EQ(by_type(), DENIED);
  authz.configure(AuthorizerConfig{{}, true});
  EXPECT_EQ(by_type(), ALLOWED);
}

TEST_F(ByResourceType, AnyAllowedTopicSuffices) {
  add(topic_acl("orders", "User:alice", AclOperation::WRITE));
  EXPECT_EQ(by_type(), ALLOWED);
  EXPECT_EQ(by_type("bob"), DENIED);
  EXPECT_EQ(by_type("alice", AclOperation::READ), DENIED);
}

TEST_F(ByResourceType, DominatingDenies) {
  add(topic_acl("orders", "User:alice", AclOperation::WRITE));
  add(topic_acl("orders", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type(), DENIED);  // a LITERAL deny of the same name
  add(prefixed_acl("foo", "User:alice", AclOperation::WRITE));
  add(prefixed_acl("fo", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type(), DENIED);  // a PREFIXED deny of a prefix
  add(prefixed_acl("ba", "User:alice", AclOperation::WRITE));
  add(prefixed_acl("bar", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type(), ALLOWED);  // "ba..." is not all denied
}

TEST_F(ByResourceType, LiteralAllowUnderPrefixedDenyAndTheReverse) {
  add(topic_acl("foobar", "User:alice", AclOperation::WRITE));
  add(prefixed_acl("foo", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type(), DENIED);
  add(prefixed_acl("baz", "User:alice", AclOperation::WRITE));
  add(topic_acl("baz", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type(), ALLOWED);  // a LITERAL deny does not dominate a PREFIXED allow
}

TEST_F(ByResourceType, Wildcards) {
  add(topic_acl("*", "User:*", AclOperation::WRITE));
  EXPECT_EQ(by_type("anyone"), ALLOWED);
  add(topic_acl("*", "User:alice", AclOperation::WRITE, DENY));
  EXPECT_EQ(by_type("alice"), DENIED);
  EXPECT_EQ(by_type("bob"), ALLOWED);
}

TEST_F(ByResourceType, AllCountsButImplicationsDoNot) {
  add(topic_acl("orders", "User:alice", AclOperation::ALL));
  EXPECT_EQ(by_type("alice", AclOperation::IDEMPOTENT_WRITE), ALLOWED);
  add(topic_acl("payments", "User:bob", AclOperation::READ));
  EXPECT_EQ(by_type("bob", AclOperation::DESCRIBE), DENIED);
}

TEST_F(ByResourceType, HostsAndSuperUsers) {
  add(topic_acl("orders", "User:alice", AclOperation::WRITE, ALLOW, "10.0.0.7"));
  EXPECT_EQ(by_type("alice", AclOperation::WRITE, "10.0.0.1"), DENIED);
  EXPECT_EQ(by_type("alice", AclOperation::WRITE, "10.0.0.7"), ALLOWED);
  authz.configure(AuthorizerConfig{{"User:admin"}, false});
  add(topic_acl("*", "User:*", AclOperation::ALL, DENY));
  EXPECT_EQ(by_type("admin"), ALLOWED);
  EXPECT_EQ(by_type("alice", AclOperation::WRITE, "10.0.0.7"), DENIED);
}

TEST_F(ByResourceType, FilterTypesAreRefused) {
  authz.configure(AuthorizerConfig{{}, true});
  EXPECT_EQ(authz.authorize_by_resource_type(user("a"), "h", AclOperation::WRITE, ResourceType::ANY), DENIED);
  EXPECT_EQ(authz.authorize_by_resource_type(user("a"), "h", AclOperation::ANY, TOPIC), DENIED);
  EXPECT_EQ(authz.authorize_by_resource_type(user("a"), "h", AclOperation::UNKNOWN, TOPIC), DENIED);
}
