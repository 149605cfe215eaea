// The authorization settings of server.properties (authorizer.class.name,
// super.users, allow.everyone.if.no.acl.found, early.start.listeners) and the
// AclPublisher that feeds the node's StandardAuthorizer from metadata deltas.
#include <gtest/gtest.h>

#include "metadata/delta.h"
#include "server/acl_publisher.h"
#include "server/config.h"
#include "test_props.h"

using namespace flotilla;
using namespace flotilla::server;
using flotilla::server::testing::config_error;
using flotilla::server::testing::props;

TEST(AuthorizationConfig, OffByDefaultControllerListenersStartEarly) {
  auto c = KafkaConfig::from_properties(props());
  EXPECT_FALSE(c.authorizer_enabled());
  EXPECT_TRUE(c.super_users.empty());
  EXPECT_FALSE(c.allow_everyone_if_no_acl_found);
  EXPECT_EQ(c.early_start_listeners, std::vector<std::string>{"CONTROLLER"});
  EXPECT_TRUE(c.is_early_start_listener("CONTROLLER"));
  EXPECT_FALSE(c.is_early_start_listener("PLAINTEXT"));
}

TEST(AuthorizationConfig, StandardAuthorizerWithSuperUsers) {
  auto c = KafkaConfig::from_properties(props({{"authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"},
                                               {"super.users", " User:admin ; User:CN=broker1,O=example;;"},
                                               {"allow.everyone.if.no.acl.found", "true"},
                                               {"early.start.listeners", "CONTROLLER,PLAINTEXT"}}));
  EXPECT_TRUE(c.authorizer_enabled());
  EXPECT_EQ(c.super_users, (std::vector<std::string>{"User:admin", "User:CN=broker1,O=example"}));
  EXPECT_TRUE(c.allow_everyone_if_no_acl_found);
  EXPECT_TRUE(c.is_early_start_listener("PLAINTEXT"));
  EXPECT_TRUE(KafkaConfig::from_properties(props({{"authorizer.class.name", ""}})).super_users.empty());
}

TEST(AuthorizationConfig, BadValuesRefuseToStartNamingTheProperty) {
  std::string e = config_error(props({{"authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"}}));
  EXPECT_NE(e.find("authorizer.class.name"), std::string::npos) << e;
  EXPECT_NE(e.find("StandardAuthorizer"), std::string::npos) << e;
  e = config_error(props({{"super.users", "User:admin;admin"}}));
  EXPECT_NE(e.find("super.users"), std::string::npos) << e;
  EXPECT_NE(e.find("principalType:principalName"), std::string::npos) << e;
  e = config_error(props({{"allow.everyone.if.no.acl.found", "maybe"}}));
  EXPECT_NE(e.find("allow.everyone.if.no.acl.found"), std::string::npos) << e;
  e = config_error(props({{"early.start.listeners", "NOPE"}}));
  EXPECT_EQ(e, "early.start.listeners contains listener NOPE, but this is not contained in listeners or controller.listener.names");
}

namespace {

msg::AccessControlEntryRecord record(Uuid id, std::string topic, std::string user) {
  msg::AccessControlEntryRecord r;
  r.id = id;
  r.resource_type = security::code(security::ResourceType::TOPIC);
  r.resource_name = std::move(topic);
  r.pattern_type = security::code(security::PatternType::LITERAL);
  r.principal = "User:" + user;
  r.host = "*";
  r.operation = security::code(security::AclOperation::READ);
  r.permission_type = security::code(security::AclPermissionType::ALLOW);
  return r;
}

bool reads(const security::StandardAuthorizer& a, const std::string& user, const std::string& topic) {
  return a.authorize({"User", user}, "10.0.0.1", security::AclOperation::READ, security::ResourceType::TOPIC, topic) ==
         security::AuthorizationResult::ALLOWED;
}

}  // namespace

TEST(AclPublisher, AppliesEachDeltaAndReloadsOnSnapshots) {
  security::StandardAuthorizer authorizer;
  authorizer.complete_initial_load();
  AclPublisher publisher(authorizer);
  auto image = std::make_shared<const metadata::MetadataImage>();
  const Uuid a{1, 1}, b{1, 2};

  metadata::MetadataDelta d1(image);
  d1.replay(record(a, "orders", "alice"));
  d1.replay(record(b, "audit", "bob"));
  auto i1 = d1.apply();
  publisher.publish(d1, i1);
  EXPECT_TRUE(reads(authorizer, "alice", "orders"));
  EXPECT_TRUE(reads(authorizer, "bob", "audit"));
  EXPECT_EQ(authorizer.acl_count(), 2u);

  metadata::MetadataDelta d2(i1);
  msg::RemoveAccessControlEntryRecord rm;
  rm.id = a;
  d2.replay(rm);
  auto i2 = d2.apply();
  publisher.publish(d2, i2);
  EXPECT_FALSE(reads(authorizer, "alice", "orders"));
  EXPECT_TRUE(reads(authorizer, "bob", "audit"));

  // A snapshot replaces the image: the authorizer holds exactly its ACLs.
  metadata::MetadataDelta s(image);
  s.replay(record(Uuid{1, 3}, "payments", "carol"));
  auto snap = s.apply();
  metadata::MetadataDelta between = metadata::MetadataDelta::between(i2, snap);
  publisher.publish(between, between.apply());
  EXPECT_TRUE(reads(authorizer, "carol", "payments"));
  EXPECT_FALSE(reads(authorizer, "bob", "audit"));
  EXPECT_EQ(authorizer.acl_count(), 1u);
}
