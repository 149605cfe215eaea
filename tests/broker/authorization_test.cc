// The authorization table (broker/authorization.h), API by API: what is
// allowed, what is refused and with which error, against a StandardAuthorizer
// holding ACLs added directly (no metadata log). Also the gates that cut
// refused topics out of forwarded admin requests, the audit log lines, and
// that every API a broker listener serves has its rows in the table.
#include "broker/authorization.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <set>

#include "broker/authorized_admin.h"
#include "broker/request_handler.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "security/authorizer.h"

using namespace flotilla;
using namespace flotilla::broker;
using security::AclPermissionType;
using security::PatternType;

namespace {

constexpr auto ALLOW = AclPermissionType::ALLOW;
constexpr auto DENY = AclPermissionType::DENY;
constexpr auto LITERAL = PatternType::LITERAL;
constexpr auto PREFIXED = PatternType::PREFIXED;
using Op = AclOperation;
using RT = ResourceType;

Uuid next_id() {
  static std::atomic<uint64_t> n{1};
  return Uuid{0x77, n.fetch_add(1)};
}

}  // namespace

struct AuthzTable : ::testing::Test {
  security::StandardAuthorizer authorizer{security::AuthorizerConfig{{"User:admin"}, false}};
  AuthzTable() { authorizer.complete_initial_load(); }

  void acl(RT type, std::string name, Op op, std::string user = "alice", AclPermissionType perm = ALLOW, PatternType pattern = LITERAL,
           std::string host = "*") {
    auto err = authorizer.add_acl(security::StandardAcl{next_id(), type, std::move(name), pattern, "User:" + user, std::move(host), op, perm});
    ASSERT_FALSE(err) << *err;
  }
  Authz as(std::string user, std::string host = "10.0.0.1") const {
    auto s = std::make_shared<security::Session>();
    s->principal = {"User", std::move(user)};
    s->client_host = std::move(host);
    return Authz(authorizer.snapshot(), s, "Test");
  }
};

namespace {

std::vector<uint8_t> batch(bool transactional) {
  records::BatchBuilder b;
  b.set_producer(7, 0, 0);
  b.set_transactional(transactional);
  std::vector<uint8_t> v = {'x'};
  b.add(1, std::nullopt, std::span<const uint8_t>(v));
  return b.build();
}

msg::ProduceRequest produce(std::vector<std::string> topics, const std::vector<uint8_t>* records,
                            std::optional<std::string> txn = std::nullopt) {
  msg::ProduceRequest r;
  r.transactional_id = std::move(txn);
  for (auto& t : topics) {
    msg::ProduceRequest::TopicProduceData td;
    td.name = t;
    msg::ProduceRequest::PartitionProduceData pd;
    pd.index = 0;
    pd.records = Records::of_view(std::span<const uint8_t>(*records));
    td.partition_data.push_back(pd);
    r.topic_data.push_back(td);
  }
  return r;
}

std::vector<std::string> names(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

}  // namespace

// ---------------------------------------------------------------- Authz basics

TEST_F(AuthzTable, WithoutAnAuthorizerEverythingIsAllowedAndEveryOperationReported) {
  Authz off;
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.allowed(Op::WRITE, RT::TOPIC, "orders"));
  EXPECT_TRUE(off.cluster(Op::ALTER));
  EXPECT_TRUE(off.by_resource_type(Op::WRITE, RT::TOPIC));
  auto bytes = batch(true);
  EXPECT_TRUE(authorize_produce(off, produce(names({"orders"}), &bytes, "t1")).ok());
  // KIP-430 without an authorizer: every supported operation.
  int32_t ops = off.operations(RT::TOPIC, "orders");
  for (Op op : security::supported_operations(RT::TOPIC)) EXPECT_TRUE(ops & (1 << security::code(op)));
}

TEST_F(AuthzTable, SuperUserPassesDenyBeatsAllowPrefixedMatchesAndHostsCount) {
  acl(RT::TOPIC, "orders", Op::READ);
  acl(RT::TOPIC, "orders", Op::READ, "alice", DENY, LITERAL, "10.0.0.9");
  acl(RT::TOPIC, "pay-", Op::WRITE, "alice", ALLOW, PREFIXED);
  acl(RT::TOPIC, "pay-secret", Op::WRITE, "alice", DENY);
  EXPECT_TRUE(as("alice").allowed(Op::READ, RT::TOPIC, "orders"));
  EXPECT_FALSE(as("alice", "10.0.0.9").allowed(Op::READ, RT::TOPIC, "orders"));  // DENY from that host wins
  EXPECT_TRUE(as("alice").allowed(Op::DESCRIBE, RT::TOPIC, "orders"));           // READ implies DESCRIBE
  EXPECT_TRUE(as("alice").allowed(Op::WRITE, RT::TOPIC, "pay-eu"));
  EXPECT_FALSE(as("alice").allowed(Op::WRITE, RT::TOPIC, "pay-secret"));
  EXPECT_FALSE(as("bob").allowed(Op::READ, RT::TOPIC, "orders"));
  EXPECT_TRUE(as("admin").allowed(Op::ALTER, RT::CLUSTER, "kafka-cluster"));
}

TEST_F(AuthzTable, BeforeTheInitialLoadOnlySuperUsersPass) {
  security::StandardAuthorizer fresh{security::AuthorizerConfig{{"User:admin"}, true}};
  auto s = std::make_shared<security::Session>();
  s->principal = {"User", "alice"};
  EXPECT_FALSE(Authz(fresh.snapshot(), s, "Test").allowed(Op::READ, RT::TOPIC, "orders"));
  s->principal = {"User", "admin"};
  EXPECT_TRUE(Authz(fresh.snapshot(), s, "Test").allowed(Op::READ, RT::TOPIC, "orders"));
  fresh.complete_initial_load();
  s->principal = {"User", "alice"};  // allow.everyone.if.no.acl.found=true and no ACL on orders
  EXPECT_TRUE(Authz(fresh.snapshot(), s, "Test").allowed(Op::READ, RT::TOPIC, "orders"));
}

TEST_F(AuthzTable, OneSnapshotPerRequestIgnoresLaterChanges) {
  Authz before = as("alice");
  acl(RT::TOPIC, "orders", Op::READ);
  EXPECT_FALSE(before.allowed(Op::READ, RT::TOPIC, "orders"));
  EXPECT_TRUE(as("alice").allowed(Op::READ, RT::TOPIC, "orders"));
}

// ---------------------------------------------------------------- per API

TEST_F(AuthzTable, ProduceNeedsWriteOnEachTopic) {
  acl(RT::TOPIC, "orders", Op::WRITE);
  auto bytes = batch(false);
  Verdict v = authorize_produce(as("alice"), produce(names({"orders", "audit", "orders2"}), &bytes));
  EXPECT_TRUE(v.ok());
  EXPECT_FALSE(v.refuses("orders"));
  EXPECT_TRUE(v.refuses("audit"));
  EXPECT_TRUE(v.refuses("orders2"));
  EXPECT_EQ(v.item_error, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
  // An idempotent batch (producer id set, not transactional) needs nothing more.
  EXPECT_FALSE(has_transactional_batches(produce(names({"orders"}), &bytes)));
}

TEST_F(AuthzTable, TransactionalProduceNeedsWriteOnTheTransactionalId) {
  acl(RT::TOPIC, "orders", Op::WRITE);
  auto bytes = batch(true);
  auto req = produce(names({"orders"}), &bytes, "tx-1");
  ASSERT_TRUE(has_transactional_batches(req));
  Verdict v = authorize_produce(as("alice"), req);
  EXPECT_EQ(v.error, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  acl(RT::TRANSACTIONAL_ID, "tx-1", Op::WRITE);
  EXPECT_TRUE(authorize_produce(as("alice"), req).ok());
  EXPECT_TRUE(authorize_produce(as("alice"), req).refused.empty());
  // Transactional batches without a transactional id: refused as Kafka refuses them.
  EXPECT_EQ(authorize_produce(as("alice"), produce(names({"orders"}), &bytes)).error, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
}

TEST_F(AuthzTable, FetchConsumerReadsFollowerNeedsClusterAction) {
  acl(RT::TOPIC, "orders", Op::READ);
  auto topics = names({"orders", "audit"});
  Verdict c = authorize_fetch(as("alice"), false, topics);
  EXPECT_TRUE(c.ok());
  EXPECT_FALSE(c.refuses("orders"));
  EXPECT_TRUE(c.refuses("audit"));
  Verdict f = authorize_fetch(as("alice"), true, topics);
  EXPECT_EQ(f.error, ErrorCode::TOPIC_AUTHORIZATION_FAILED);  // every partition
  acl(RT::CLUSTER, "kafka-cluster", Op::CLUSTER_ACTION, "broker");
  EXPECT_TRUE(authorize_fetch(as("broker"), true, topics).ok());
  EXPECT_TRUE(authorize_fetch(as("admin"), true, topics).ok());
}

TEST_F(AuthzTable, TopicOperationsOfListOffsetsDeleteRecordsCreatePartitionsDescribeProducers) {
  acl(RT::TOPIC, "orders", Op::READ);  // implies DESCRIBE, not DELETE or ALTER
  auto topics = names({"orders"});
  EXPECT_FALSE(authorize_topics(as("alice"), Op::DESCRIBE, topics).refuses("orders"));  // ListOffsets
  EXPECT_FALSE(authorize_topics(as("alice"), Op::READ, topics).refuses("orders"));      // DescribeProducers
  EXPECT_TRUE(authorize_topics(as("alice"), Op::DELETE, topics).refuses("orders"));     // DeleteRecords
  EXPECT_TRUE(authorize_topics(as("alice"), Op::ALTER, topics).refuses("orders"));      // CreatePartitions
  EXPECT_EQ(authorize_topics(as("alice"), Op::ALTER, topics).item_error, ErrorCode::TOPIC_AUTHORIZATION_FAILED);
}

TEST_F(AuthzTable, MetadataShowsDescribableTopicsAndAutoCreationNeedsCreate) {
  acl(RT::TOPIC, "orders", Op::DESCRIBE);
  acl(RT::TOPIC, "new-", Op::DESCRIBE, "alice", ALLOW, PREFIXED);
  Refused r = authorize_metadata(as("alice"), names({"orders", "secret", "new-a"}), false);
  EXPECT_FALSE(r.has("orders"));
  EXPECT_TRUE(r.has("secret"));
  EXPECT_FALSE(r.has("new-a"));
  // Auto-creation: CREATE on the cluster, or else on the topic.
  EXPECT_TRUE(authorize_auto_create(as("alice"), names({"new-a"})).has("new-a"));
  acl(RT::TOPIC, "new-a", Op::CREATE);
  EXPECT_FALSE(authorize_auto_create(as("alice"), names({"new-a"})).has("new-a"));
  EXPECT_TRUE(authorize_auto_create(as("alice"), names({"new-b"})).has("new-b"));
  acl(RT::CLUSTER, "kafka-cluster", Op::CREATE);
  EXPECT_TRUE(authorize_auto_create(as("alice"), names({"new-b"})).empty());
  // A principal with no ACL at all sees nothing and is not refused the request.
  EXPECT_EQ(authorize_metadata(as("nobody"), names({"orders", "secret"}), true).size(), 2u);
  EXPECT_TRUE(metadata_shows(as("alice"), "orders"));
  EXPECT_FALSE(metadata_shows(as("alice"), "secret"));
  EXPECT_TRUE(metadata_shows(Authz(), "secret"));
}

TEST_F(AuthzTable, GroupApis) {
  acl(RT::GROUP, "g1", Op::READ);
  acl(RT::TOPIC, "orders", Op::READ);
  msg::OffsetCommitRequest oc;
  oc.group_id = "g2";
  oc.topics.push_back({"orders", {}});
  oc.topics.push_back({"audit", {}});
  EXPECT_EQ(authorize_offset_commit(as("alice"), oc).error, ErrorCode::GROUP_AUTHORIZATION_FAILED);
  oc.group_id = "g1";
  Verdict v = authorize_offset_commit(as("alice"), oc);
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(v.refuses("audit"));
  EXPECT_FALSE(v.refuses("orders"));
  // READ on the group implies DESCRIBE: OffsetFetch, FindCoordinator, DescribeGroups.
  EXPECT_EQ(authorize_offset_fetch_group(as("alice"), "g1"), ErrorCode::NONE);
  EXPECT_EQ(authorize_offset_fetch_group(as("alice"), "g2"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  EXPECT_TRUE(authorize_offset_fetch_topics(as("alice"), names({"audit"})).refuses("audit"));
  EXPECT_EQ(authorize_find_coordinator(as("alice"), 0, "g1"), ErrorCode::NONE);
  EXPECT_EQ(authorize_find_coordinator(as("alice"), 0, "g2"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_find_coordinator(as("alice"), 1, "tx"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_group_member(as("alice"), "g1"), ErrorCode::NONE);  // Join/Sync/Heartbeat/Leave/ConsumerGroupHeartbeat
  EXPECT_EQ(authorize_group_member(as("alice"), "g2"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_describe_group(as("alice"), "g1"), ErrorCode::NONE);
  EXPECT_EQ(authorize_describe_group(as("bob"), "g1"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  // ListGroups: the cluster's DESCRIBE lists all, else the describable groups.
  EXPECT_FALSE(list_groups_all(as("alice")));
  EXPECT_TRUE(list_groups_shows(as("alice"), "g1"));
  EXPECT_FALSE(list_groups_shows(as("alice"), "g2"));
  acl(RT::CLUSTER, "kafka-cluster", Op::DESCRIBE, "ops");
  EXPECT_TRUE(list_groups_all(as("ops")));
  // DeleteGroups and OffsetDelete need DELETE on the group.
  Verdict d = authorize_delete_groups(as("alice"), names({"g1"}));
  EXPECT_TRUE(d.refuses("g1"));
  EXPECT_EQ(d.item_error, ErrorCode::GROUP_AUTHORIZATION_FAILED);
  msg::OffsetDeleteRequest od;
  od.group_id = "g1";
  od.topics.push_back({"orders", {}});
  EXPECT_EQ(authorize_offset_delete(as("alice"), od).error, ErrorCode::GROUP_AUTHORIZATION_FAILED);
  acl(RT::GROUP, "g1", Op::DELETE);
  EXPECT_TRUE(authorize_offset_delete(as("alice"), od).ok());
  EXPECT_FALSE(authorize_delete_groups(as("alice"), names({"g1"})).refuses("g1"));
}

TEST_F(AuthzTable, ClientTelemetryApis) {
  // KIP-714: any client may get its subscription and push; listing the
  // subscriptions and their configs needs the cluster's DESCRIBE_CONFIGS.
  EXPECT_EQ(authorize_client_telemetry(as("nobody")), ErrorCode::NONE);
  EXPECT_EQ(authorize_list_client_metrics_resources(as("alice")), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::DESCRIBE_CONFIGS, 16, "sub"), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  acl(RT::CLUSTER, "kafka-cluster", Op::ALTER_CONFIGS, "alice");  // implies DESCRIBE_CONFIGS
  EXPECT_EQ(authorize_list_client_metrics_resources(as("alice")), ErrorCode::NONE);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::ALTER_CONFIGS, 16, "sub"), ErrorCode::NONE);
}

TEST_F(AuthzTable, CreateAndDeleteTopics) {
  acl(RT::TOPIC, "team-", Op::CREATE, "alice", ALLOW, PREFIXED);
  CreateTopicsAuth c = authorize_create_topics(as("alice"), names({"team-a", "other"}));
  EXPECT_FALSE(c.create.has("team-a"));
  EXPECT_TRUE(c.create.has("other"));
  EXPECT_TRUE(c.describe.has("team-a"));  // no DESCRIBE_CONFIGS: configs not returned
  acl(RT::TOPIC, "team-a", Op::ALTER_CONFIGS);  // implies DESCRIBE_CONFIGS
  EXPECT_FALSE(authorize_create_topics(as("alice"), names({"team-a"})).describe.has("team-a"));
  acl(RT::CLUSTER, "kafka-cluster", Op::CREATE, "ops");
  EXPECT_TRUE(authorize_create_topics(as("ops"), names({"other"})).create.empty());

  acl(RT::TOPIC, "old", Op::DELETE);
  DeleteTopicsAuth d = authorize_delete_topics(as("alice"), names({"old", "team-a"}));
  EXPECT_FALSE(d.remove.has("old"));
  EXPECT_FALSE(d.describe.has("old"));  // DELETE implies DESCRIBE
  EXPECT_TRUE(d.remove.has("team-a"));
  acl(RT::CLUSTER, "kafka-cluster", Op::DELETE, "ops");
  EXPECT_TRUE(authorize_delete_topics(as("ops"), names({"team-a"})).remove.empty());
}

TEST_F(AuthzTable, InitProducerIdIdempotentAndTransactional) {
  EXPECT_EQ(authorize_init_producer_id(as("alice"), "tx"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_init_producer_id(as("alice"), std::nullopt), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  // KIP-679: WRITE on any topic implies idempotent writes.
  acl(RT::TOPIC, "orders", Op::WRITE);
  EXPECT_EQ(authorize_init_producer_id(as("alice"), std::nullopt), ErrorCode::NONE);
  // Or IDEMPOTENT_WRITE on the cluster.
  acl(RT::CLUSTER, "kafka-cluster", Op::IDEMPOTENT_WRITE, "bob");
  EXPECT_EQ(authorize_init_producer_id(as("bob"), std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(authorize_init_producer_id(as("bob"), "tx"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  acl(RT::TRANSACTIONAL_ID, "tx", Op::WRITE, "bob");
  EXPECT_EQ(authorize_init_producer_id(as("bob"), "tx"), ErrorCode::NONE);
  // A DENY of WRITE on the topic takes KIP-679's implication away.
  acl(RT::TOPIC, "orders", Op::WRITE, "alice", DENY);
  EXPECT_EQ(authorize_init_producer_id(as("alice"), std::nullopt), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
}

TEST_F(AuthzTable, TransactionApis) {
  acl(RT::TRANSACTIONAL_ID, "tx", Op::WRITE);
  acl(RT::TOPIC, "orders", Op::WRITE);
  msg::AddPartitionsToTxnRequest ap;
  ap.v3_and_below_transactional_id = "tx";
  ap.v3_and_below_topics.push_back({"orders", {0}});
  ap.v3_and_below_topics.push_back({"audit", {0}});
  ap.v3_and_below_topics.push_back({"__consumer_offsets", {0}});
  Verdict v = authorize_add_partitions_to_txn(as("alice"), ap);
  EXPECT_TRUE(v.ok());
  EXPECT_FALSE(v.refuses("orders"));
  EXPECT_TRUE(v.refuses("audit"));
  EXPECT_TRUE(v.refuses("__consumer_offsets"));  // internal topics: always refused, as in Kafka
  EXPECT_TRUE(authorize_add_partitions_to_txn(as("admin"), ap).refuses("__consumer_offsets"));
  ap.v3_and_below_transactional_id = "other";
  EXPECT_EQ(authorize_add_partitions_to_txn(as("alice"), ap).error, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

  EXPECT_EQ(authorize_add_offsets_to_txn(as("alice"), "other", "g"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_add_offsets_to_txn(as("alice"), "tx", "g"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  acl(RT::GROUP, "g", Op::READ);
  EXPECT_EQ(authorize_add_offsets_to_txn(as("alice"), "tx", "g"), ErrorCode::NONE);
  EXPECT_EQ(authorize_end_txn(as("alice"), "tx"), ErrorCode::NONE);
  EXPECT_EQ(authorize_end_txn(as("bob"), "tx"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

  msg::TxnOffsetCommitRequest tc;
  tc.transactional_id = "tx";
  tc.group_id = "g2";
  tc.topics.push_back({"orders", {}});
  EXPECT_EQ(authorize_txn_offset_commit(as("alice"), tc).error, ErrorCode::GROUP_AUTHORIZATION_FAILED);
  tc.group_id = "g";
  Verdict t = authorize_txn_offset_commit(as("alice"), tc);
  EXPECT_TRUE(t.ok());
  EXPECT_TRUE(t.refuses("orders"));  // WRITE does not imply READ
  tc.transactional_id = "nope";
  EXPECT_EQ(authorize_txn_offset_commit(as("alice"), tc).error, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

  // WriteTxnMarkers: ALTER or CLUSTER_ACTION on the cluster.
  EXPECT_EQ(authorize_write_txn_markers(as("alice")), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  acl(RT::CLUSTER, "kafka-cluster", Op::ALTER, "ops");
  EXPECT_EQ(authorize_write_txn_markers(as("ops")), ErrorCode::NONE);
  EXPECT_EQ(authorize_write_txn_markers(as("admin")), ErrorCode::NONE);

  // DescribeTransactions / ListTransactions: DESCRIBE on the id (WRITE implies it).
  EXPECT_EQ(authorize_describe_transaction(as("alice"), "tx"), ErrorCode::NONE);
  EXPECT_EQ(authorize_describe_transaction(as("bob"), "tx"), ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  EXPECT_TRUE(list_transactions_shows(as("alice"), "tx"));
  EXPECT_FALSE(list_transactions_shows(as("bob"), "tx"));
  EXPECT_TRUE(shows_topic(as("alice"), "orders"));
  EXPECT_FALSE(shows_topic(as("alice"), "audit"));
}

TEST_F(AuthzTable, BatchedAddPartitionsToTxnNeedsClusterAction) {
  // AddPartitionsToTxn v4+ comes from partition leaders (KIP-890): CLUSTER_ACTION
  // on the cluster, whatever the caller may do on the transactional ids or topics.
  acl(RT::TRANSACTIONAL_ID, "tx", Op::WRITE);
  acl(RT::TOPIC, "orders", Op::WRITE);
  EXPECT_EQ(authorize_add_partitions_to_txn_batched(as("alice")), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  acl(RT::CLUSTER, "kafka-cluster", Op::CLUSTER_ACTION, "broker");
  EXPECT_EQ(authorize_add_partitions_to_txn_batched(as("broker")), ErrorCode::NONE);
  EXPECT_EQ(authorize_add_partitions_to_txn_batched(as("admin")), ErrorCode::NONE);  // super user
  acl(RT::CLUSTER, "kafka-cluster", Op::ALTER, "ops");
  EXPECT_EQ(authorize_add_partitions_to_txn_batched(as("ops")), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);  // ALTER is not enough
}

TEST_F(AuthzTable, OffsetForLeaderEpochClusterActionOrDescribe) {
  acl(RT::TOPIC, "orders", Op::DESCRIBE);
  Verdict v = authorize_offset_for_leader_epoch(as("alice"), names({"orders", "audit"}));
  EXPECT_FALSE(v.refuses("orders"));
  EXPECT_TRUE(v.refuses("audit"));
  acl(RT::CLUSTER, "kafka-cluster", Op::CLUSTER_ACTION, "broker");
  EXPECT_TRUE(authorize_offset_for_leader_epoch(as("broker"), names({"audit"})).refused.empty());
}

TEST_F(AuthzTable, ConfigResources) {
  constexpr int8_t kTopic = 2, kBroker = 4, kBrokerLogger = 8, kGroup = 32;
  acl(RT::TOPIC, "orders", Op::ALTER_CONFIGS);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::DESCRIBE_CONFIGS, kTopic, "orders"), ErrorCode::NONE);  // implied
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::ALTER_CONFIGS, kTopic, "audit"), ErrorCode::TOPIC_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::DESCRIBE_CONFIGS, kBroker, "1"), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::ALTER_CONFIGS, kBrokerLogger, "1"), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::ALTER_CONFIGS, kGroup, "g"), ErrorCode::GROUP_AUTHORIZATION_FAILED);
  acl(RT::CLUSTER, "kafka-cluster", Op::DESCRIBE_CONFIGS, "ops");
  EXPECT_EQ(authorize_config_resource(as("ops"), Op::DESCRIBE_CONFIGS, kBroker, ""), ErrorCode::NONE);
  EXPECT_EQ(authorize_config_resource(as("ops"), Op::ALTER_CONFIGS, kBroker, ""), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_config_resource(as("alice"), Op::ALTER_CONFIGS, 99, "x"), ErrorCode::NONE);  // left to the API's validation
}

TEST_F(AuthzTable, ClusterOperations) {
  acl(RT::CLUSTER, "kafka-cluster", Op::ALTER, "ops");
  EXPECT_EQ(authorize_cluster(as("ops"), Op::ALTER), ErrorCode::NONE);     // ElectLeaders, reassignments, UnregisterBroker, SCRAM
  EXPECT_EQ(authorize_cluster(as("ops"), Op::DESCRIBE), ErrorCode::NONE);  // ALTER implies DESCRIBE (DescribeLogDirs, DescribeQuorum)
  EXPECT_EQ(authorize_cluster(as("ops"), Op::CLUSTER_ACTION), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);  // Raft, registration
  EXPECT_EQ(authorize_cluster(as("alice"), Op::DESCRIBE), ErrorCode::CLUSTER_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_cluster(as("admin"), Op::CLUSTER_ACTION), ErrorCode::NONE);
  // KIP-430: the bits of the allowed operations.
  int32_t ops = as("ops").operations(RT::CLUSTER, "kafka-cluster");
  EXPECT_TRUE(ops & (1 << security::code(Op::ALTER)));
  EXPECT_TRUE(ops & (1 << security::code(Op::DESCRIBE)));
  EXPECT_FALSE(ops & (1 << security::code(Op::CLUSTER_ACTION)));
}

TEST_F(AuthzTable, DelegationTokens) {
  // Kafka's allowTokenRequests: SASL, or SSL with a client certificate; never a token session.
  security::Session s;
  s.principal = {"User", "alice"};
  s.protocol = security::SecurityProtocol::SASL_SSL;
  EXPECT_TRUE(token_requests_allowed(s));
  s.token_authenticated = true;
  EXPECT_FALSE(token_requests_allowed(s));
  s.token_authenticated = false;
  s.protocol = security::SecurityProtocol::PLAINTEXT;
  EXPECT_FALSE(token_requests_allowed(s));
  s.protocol = security::SecurityProtocol::SSL;
  EXPECT_TRUE(token_requests_allowed(s));  // a certificate's principal
  s.principal = security::KafkaPrincipal{};
  EXPECT_FALSE(token_requests_allowed(s));  // one-way SSL: ANONYMOUS
  // CREATE_TOKENS on USER:<owner> for another owner.
  acl(RT::USER, "User:carol", Op::CREATE_TOKENS, "ops");
  EXPECT_EQ(authorize_create_token(as("alice"), {"User", "alice"}), ErrorCode::NONE);
  EXPECT_EQ(authorize_create_token(as("alice"), {"User", "carol"}), ErrorCode::DELEGATION_TOKEN_AUTHORIZATION_FAILED);
  EXPECT_EQ(authorize_create_token(as("ops"), {"User", "carol"}), ErrorCode::NONE);
  // Describe: owner, renewer, DESCRIBE on the token, DESCRIBE_TOKENS on the owner.
  acl(RT::DELEGATION_TOKEN, "tok1", Op::DESCRIBE, "dave");
  acl(RT::USER, "User:alice", Op::DESCRIBE_TOKENS, "erin");
  std::vector<security::KafkaPrincipal> renewers = {{"User", "bob"}};
  security::KafkaPrincipal alice{"User", "alice"};
  for (const char* who : {"alice", "bob", "dave", "erin"})
    EXPECT_TRUE(describe_token_shows(as(who), {"User", who}, "tok1", alice, renewers)) << who;
  EXPECT_FALSE(describe_token_shows(as("dave"), {"User", "dave"}, "tok2", alice, renewers));
  EXPECT_FALSE(describe_token_shows(as("frank"), {"User", "frank"}, "tok1", alice, renewers));
}

// ---------------------------------------------------------------- gates of forwarded requests

TEST_F(AuthzTable, CreateTopicsGateCutsRefusedTopicsAndHidesConfigs) {
  acl(RT::TOPIC, "ok", Op::CREATE);
  msg::CreateTopicsRequest req;
  for (const char* n : {"ok", "no", "dup", "dup"}) {
    msg::CreateTopicsRequest::CreatableTopic t;
    t.name = n;
    req.topics.push_back(t);
  }
  CreateTopicsGate gate(as("alice"), req);
  ASSERT_EQ(req.topics.size(), 3u);  // "no" cut; the duplicates are the controller's (INVALID_REQUEST)
  EXPECT_EQ(req.topics[0].name, "ok");
  msg::CreateTopicsResponse resp;
  msg::CreateTopicsResponse::CreatableTopicResult created;
  created.name = "ok";
  created.num_partitions = 3;
  created.replication_factor = 1;
  created.configs = std::vector<msg::CreateTopicsResponse::CreatableTopicConfigs>(2);
  resp.topics.push_back(created);
  gate.complete(resp);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].topic_config_error_code, code(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
  EXPECT_EQ(resp.topics[0].num_partitions, -1);
  EXPECT_TRUE(resp.topics[0].configs && resp.topics[0].configs->empty());
  EXPECT_EQ(resp.topics[1].name, "no");
  EXPECT_EQ(resp.topics[1].error_code, code(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
  EXPECT_EQ(resp.topics[1].error_message, "Authorization failed.");
}

TEST_F(AuthzTable, DeleteTopicsGateHidesNamesOfUndescribableTopics) {
  metadata::MetadataImage empty;
  acl(RT::TOPIC, "visible", Op::DESCRIBE);
  msg::DeleteTopicsRequest req;
  req.topic_names = names({"visible", "hidden"});
  DeleteTopicsGate gate(as("alice"), req, empty);
  // "hidden" may not be described: refused whether it exists or not; "visible"
  // may be described but not deleted, and does not exist: the controller says so.
  EXPECT_EQ(req.topic_names, names({"visible"}));
  msg::DeleteTopicsResponse resp;
  gate.complete(resp);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].name, "hidden");
  EXPECT_EQ(resp.responses[0].error_code, code(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
}

TEST_F(AuthzTable, CreatePartitionsAndAlterConfigsGates) {
  acl(RT::TOPIC, "a", Op::ALTER);
  msg::CreatePartitionsRequest cp;
  cp.topics.push_back({"a", 2, std::nullopt});
  cp.topics.push_back({"b", 2, std::nullopt});
  CreatePartitionsGate g(as("alice"), cp);
  ASSERT_EQ(cp.topics.size(), 1u);
  msg::CreatePartitionsResponse r;
  g.complete(r);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].name, "b");

  msg::IncrementalAlterConfigsRequest ia;
  msg::IncrementalAlterConfigsRequest::AlterConfigsResource res;
  res.resource_type = 4;  // BROKER: ALTER_CONFIGS on the cluster
  res.resource_name = "";
  ia.resources.push_back(res);
  AlterConfigsGate<msg::IncrementalAlterConfigsRequest, msg::IncrementalAlterConfigsResponse> ag(as("alice"), ia);
  EXPECT_TRUE(ia.resources.empty());
  msg::IncrementalAlterConfigsResponse ir;
  ag.complete(ir);
  ASSERT_EQ(ir.responses.size(), 1u);
  EXPECT_EQ(ir.responses[0].error_code, code(ErrorCode::CLUSTER_AUTHORIZATION_FAILED));
}

// ---------------------------------------------------------------- audit log and the table as data

TEST_F(AuthzTable, AuditLogDenialsAtInfoAllowedAtDebugFiltersQuiet) {
  acl(RT::TOPIC, "orders", Op::READ);
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  sink->set_pattern("%l|%v|%n");
  {
    Authz warm;  // the logger exists once an Authz decided something
    as("alice").allowed(Op::READ, RT::TOPIC, "x", kAuditQuiet);
  }
  auto logger = spdlog::get("kafka.authorizer.logger");
  ASSERT_TRUE(logger);
  logger->sinks().push_back(sink);
  auto old_level = logger->level();
  logger->set_level(spdlog::level::debug);
  auto s = std::make_shared<security::Session>();
  s->principal = {"User", "alice"};
  s->client_host = "10.0.0.1";
  Authz a(authorizer.snapshot(), s, "Fetch");
  a.allowed(Op::READ, RT::TOPIC, "audit");
  a.allowed(Op::READ, RT::TOPIC, "orders");
  a.allowed(Op::READ, RT::TOPIC, "quiet", kAuditQuiet);  // TRACE: not at DEBUG
  logger->sinks().pop_back();
  logger->set_level(old_level);
  auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("info|Principal = User:alice is Denied operation = READ from host = 10.0.0.1 on resource = Topic:LITERAL:audit "
                           "for request = Fetch with resourceRefCount = 1 based on rule DefaultDeny|kafka.authorizer.logger",
                           0),
            0u)
      << lines[0];
  EXPECT_NE(lines[1].find("debug|Principal = User:alice is Allowed operation = READ"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("MatchingAcl"), std::string::npos) << lines[1];
}

TEST(AuthorizationTable, EveryApiABrokerServesHasItsRows) {
  std::set<int16_t> in_table;
  for (const ApiCheck& c : api_checks()) in_table.insert(c.api_key);
  for (const auto& s : RequestHandler::broker_apis()) EXPECT_TRUE(in_table.count(s.key)) << "API key " << s.key;
  // and the controller listener's (server/controller_apis.cc)
  for (int16_t key : {1, 19, 20, 33, 37, 38, 39, 40, 43, 44, 45, 46, 51, 52, 53, 54, 55, 56, 58, 59, 60, 62, 63, 64, 67, 80, 81, 82})
    EXPECT_TRUE(in_table.count(key)) << "API key " << key;
  for (const ApiCheck& c : api_checks()) {
    EXPECT_FALSE(c.api.empty());
    if (!c.operation.empty()) {
      EXPECT_FALSE(c.resource.empty()) << c.api;
    }
  }
}
