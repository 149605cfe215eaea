// CreateAcls / DeleteAcls on the controller, as Kafka's AclControlManager:
// per-binding validation (INVALID_REQUEST with Kafka's texts, nothing written
// for a refused binding), an ACL equal to an existing one (or to an earlier
// binding) succeeds without a record, a fresh Uuid per new ACL, deletion by
// filter with the matches answered and each removed once, SECURITY_DISABLED
// without an authorizer, NOT_CONTROLLER on a standby, and the image after.
#include <gtest/gtest.h>

#include <set>

#include "harness.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourceType;

namespace {

using AclCreationReq = msg::CreateAclsRequest::AclCreation;
using AclFilterReq = msg::DeleteAclsRequest::DeleteAclsFilter;

AclCreationReq acl_creation(ResourceType type, const std::string& name, PatternType pattern, const std::string& principal, AclOperation op,
                  AclPermissionType perm = AclPermissionType::ALLOW, const std::string& host = "*") {
  AclCreationReq c;
  c.resource_type = security::code(type);
  c.resource_name = name;
  c.resource_pattern_type = security::code(pattern);
  c.principal = principal;
  c.host = host;
  c.operation = security::code(op);
  c.permission_type = security::code(perm);
  return c;
}

// Matches everything unless narrowed.
AclFilterReq acl_filter(ResourceType type = ResourceType::ANY, std::optional<std::string> name = std::nullopt,
              PatternType pattern = PatternType::ANY, std::optional<std::string> principal = std::nullopt,
              AclOperation op = AclOperation::ANY) {
  AclFilterReq f;
  f.resource_type_filter = security::code(type);
  f.resource_name_filter = std::move(name);
  f.pattern_type_filter = security::code(pattern);
  f.principal_filter = std::move(principal);
  f.host_filter = std::nullopt;
  f.operation = security::code(op);
  f.permission_type = security::code(AclPermissionType::ANY);
  return f;
}

ControllerConfig acl_authorizer_config() {
  ControllerConfig c;
  c.authorizer_configured = true;
  return c;
}

struct AclHarness : Harness {
  AclHarness() : Harness(metadata::kLatestProductionMetadataVersion, acl_authorizer_config()) {}
  explicit AclHarness(ControllerConfig cc) : Harness(metadata::kLatestProductionMetadataVersion, std::move(cc)) {}
  msg::CreateAclsResponse create_acls(std::vector<AclCreationReq> cs, int16_t version = 3) {
    msg::CreateAclsRequest req;
    req.creations = std::move(cs);
    return call<msg::CreateAclsResponse>([&](auto done) { controller->create_acls(req, version, done); });
  }
  msg::DeleteAclsResponse delete_acls(std::vector<AclFilterReq> fs, int16_t version = 3) {
    msg::DeleteAclsRequest req;
    req.filters = std::move(fs);
    return call<msg::DeleteAclsResponse>([&](auto done) { controller->delete_acls(req, version, done); });
  }
  size_t acl_count() const { return image()->acls().size(); }
};

const int16_t kAclOk = 0;
const int16_t kAclInvalid = code(ErrorCode::INVALID_REQUEST);

}  // namespace

TEST(ControllerAcls, CreateWritesOneRecordPerNewAclWithFreshIds) {
  AclHarness h;
  size_t batches = h.raft.log().size();
  auto r = h.create_acls({acl_creation(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ),
                          acl_creation(ResourceType::TOPIC, "ord", PatternType::PREFIXED, "User:bob", AclOperation::WRITE,
                                   AclPermissionType::DENY, "10.0.0.1"),
                          acl_creation(ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:*", AclOperation::IDEMPOTENT_WRITE)});
  ASSERT_EQ(r.results.size(), 3u);
  for (const auto& x : r.results) {
    EXPECT_EQ(x.error_code, kAclOk);
    EXPECT_EQ(x.error_message, std::nullopt);
  }
  ASSERT_EQ(h.raft.log().size(), batches + 1);  // one batch
  auto recs = records_of<msg::AccessControlEntryRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 3u);
  std::set<Uuid> ids;
  for (const auto& rec : recs) {
    EXPECT_FALSE(rec.id.is_zero());
    ids.insert(rec.id);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(recs[1].resource_type, security::code(ResourceType::TOPIC));
  EXPECT_EQ(recs[1].resource_name, "ord");
  EXPECT_EQ(recs[1].pattern_type, security::code(PatternType::PREFIXED));
  EXPECT_EQ(recs[1].principal, "User:bob");
  EXPECT_EQ(recs[1].host, "10.0.0.1");
  EXPECT_EQ(recs[1].operation, security::code(AclOperation::WRITE));
  EXPECT_EQ(recs[1].permission_type, security::code(AclPermissionType::DENY));

  ASSERT_EQ(h.acl_count(), 3u);
  const auto& acl = h.image()->acls().at(recs[0].id);
  EXPECT_EQ(acl.resource_name, "orders");
  EXPECT_EQ(acl.principal, "User:alice");
}

TEST(ControllerAcls, ExistingAndRepeatedAclsSucceedWithoutRecords) {
  AclHarness h;
  auto alice = acl_creation(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ);
  h.create_acls({alice});
  size_t batches = h.raft.log().size();
  // The same ACL again: success, nothing written.
  auto r = h.create_acls({alice});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error_code, kAclOk);
  EXPECT_EQ(h.raft.log().size(), batches);
  // Twice in one request, plus one that differs in its host only: two records.
  auto bob = acl_creation(ResourceType::GROUP, "g", PatternType::LITERAL, "User:bob", AclOperation::READ);
  auto bob_host = acl_creation(ResourceType::GROUP, "g", PatternType::LITERAL, "User:bob", AclOperation::READ, AclPermissionType::ALLOW,
                           "192.168.0.1");
  r = h.create_acls({bob, alice, bob, bob_host});
  ASSERT_EQ(r.results.size(), 4u);
  for (const auto& x : r.results) EXPECT_EQ(x.error_code, kAclOk);
  ASSERT_EQ(h.raft.log().size(), batches + 1);
  EXPECT_EQ(records_of<msg::AccessControlEntryRecord>(decode_batch(h.raft.log().back())).size(), 2u);
  EXPECT_EQ(h.acl_count(), 3u);
}

TEST(ControllerAcls, BadBindingsFailAloneWithKafkasMessages) {
  AclHarness h;
  auto good = acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:alice", AclOperation::WRITE);
  auto bad_type = good;
  bad_type.resource_type = security::code(ResourceType::ANY);
  auto unknown_type = good;
  unknown_type.resource_type = 42;
  auto bad_pattern = good;
  bad_pattern.resource_pattern_type = security::code(PatternType::MATCH);
  auto bad_op = good;
  bad_op.operation = security::code(AclOperation::ANY);
  auto bad_perm = good;
  bad_perm.permission_type = security::code(AclPermissionType::ANY);
  auto empty_name = good;
  empty_name.resource_name = "";
  auto cluster_name = acl_creation(ResourceType::CLUSTER, "my-cluster", PatternType::LITERAL, "User:a", AclOperation::ALTER);
  auto bad_principal = good;
  bad_principal.principal = "alice";
  auto bad_host = good;
  bad_host.host = "not-an-ip";
  auto r = h.create_acls({bad_type, unknown_type, good, bad_pattern, bad_op, bad_perm, empty_name, cluster_name, bad_principal, bad_host});
  ASSERT_EQ(r.results.size(), 10u);
  auto expect = [&](size_t i, const std::string& message) {
    EXPECT_EQ(r.results[i].error_code, kAclInvalid) << i;
    EXPECT_EQ(r.results[i].error_message.value_or("<null>"), message) << i;
  };
  expect(0, "Invalid resourceType ANY");
  expect(1, "Invalid resourceType UNKNOWN");
  EXPECT_EQ(r.results[2].error_code, kAclOk);
  expect(3, "Invalid patternType MATCH");
  expect(4, "Invalid operation ANY");
  expect(5, "Invalid permissionType ANY");
  expect(6, "Invalid empty resource name");
  expect(7, "The only valid name for the CLUSTER resource is kafka-cluster");
  expect(8, "expected a string in format principalType:principalName but got alice");
  expect(9, "Invalid host not-an-ip: expected * or an IPv4 or IPv6 address");
  // Only the good one was written.
  ASSERT_EQ(h.acl_count(), 1u);
  EXPECT_EQ(h.image()->acls().begin()->second.resource_name, "t");

  // All bad: no batch at all.
  size_t batches = h.raft.log().size();
  r = h.create_acls({bad_type, bad_op});
  EXPECT_EQ(r.results[0].error_code, kAclInvalid);
  EXPECT_EQ(r.results[1].error_code, kAclInvalid);
  EXPECT_EQ(h.raft.log().size(), batches);
}

TEST(ControllerAcls, DeleteByFilterAnswersMatchesAndRemovesEachOnce) {
  AclHarness h;
  h.create_acls({acl_creation(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ),
                 acl_creation(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:bob", AclOperation::WRITE),
                 acl_creation(ResourceType::TOPIC, "ord", PatternType::PREFIXED, "User:alice", AclOperation::DESCRIBE),
                 acl_creation(ResourceType::GROUP, "g", PatternType::LITERAL, "User:alice", AclOperation::READ)});
  ASSERT_EQ(h.acl_count(), 4u);
  size_t batches = h.raft.log().size();

  auto bad = acl_filter();
  bad.resource_type_filter = 0;  // UNKNOWN
  auto bad_entry = acl_filter();
  bad_entry.operation = 0;
  // Alice's ACLs matching topic "orders" (MATCH: the literal and the prefix),
  // and every ACL of topic "orders" (the literal alice one again, bob's).
  auto r = h.delete_acls({acl_filter(ResourceType::TOPIC, "orders", PatternType::MATCH, "User:alice"), bad,
                          acl_filter(ResourceType::TOPIC, "orders", PatternType::LITERAL), bad_entry,
                          acl_filter(ResourceType::TOPIC, "nothing", PatternType::LITERAL)});
  ASSERT_EQ(r.filter_results.size(), 5u);
  EXPECT_EQ(r.filter_results[0].error_code, kAclOk);
  EXPECT_EQ(r.filter_results[0].error_message, std::nullopt);
  ASSERT_EQ(r.filter_results[0].matching_acls.size(), 2u);
  for (const auto& m : r.filter_results[0].matching_acls) {
    EXPECT_EQ(m.principal, "User:alice");
    EXPECT_EQ(m.error_code, kAclOk);
    EXPECT_EQ(m.error_message, std::nullopt);
  }
  EXPECT_EQ(r.filter_results[1].error_code, kAclInvalid);
  EXPECT_EQ(r.filter_results[1].error_message, "Unknown patternFilter.");
  EXPECT_TRUE(r.filter_results[1].matching_acls.empty());
  ASSERT_EQ(r.filter_results[2].matching_acls.size(), 2u);
  EXPECT_EQ(r.filter_results[3].error_message, "Unknown entryFilter.");
  EXPECT_EQ(r.filter_results[4].error_code, kAclOk);
  EXPECT_TRUE(r.filter_results[4].matching_acls.empty());

  ASSERT_EQ(h.raft.log().size(), batches + 1);
  auto removals = records_of<msg::RemoveAccessControlEntryRecord>(decode_batch(h.raft.log().back()));
  EXPECT_EQ(removals.size(), 3u);  // the literal alice ACL once, though two filters matched it
  ASSERT_EQ(h.acl_count(), 1u);
  EXPECT_EQ(h.image()->acls().begin()->second.resource_type, ResourceType::GROUP);

  // Nothing matches: no batch.
  batches = h.raft.log().size();
  r = h.delete_acls({acl_filter(ResourceType::TOPIC)});
  EXPECT_TRUE(r.filter_results[0].matching_acls.empty());
  EXPECT_EQ(h.raft.log().size(), batches);
}

TEST(ControllerAcls, DeleteV0ReadsAnyAsLiteral) {
  AclHarness h;
  h.create_acls({acl_creation(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:a", AclOperation::READ),
                 acl_creation(ResourceType::TOPIC, "orders", PatternType::PREFIXED, "User:a", AclOperation::READ)});
  auto r = h.delete_acls({acl_filter(ResourceType::TOPIC, "orders", PatternType::ANY)}, 0);
  ASSERT_EQ(r.filter_results[0].matching_acls.size(), 1u);
  EXPECT_EQ(r.filter_results[0].matching_acls[0].pattern_type, security::code(PatternType::LITERAL));
  ASSERT_EQ(h.acl_count(), 1u);
  EXPECT_EQ(h.image()->acls().begin()->second.pattern_type, PatternType::PREFIXED);
}

TEST(ControllerAcls, WithoutAuthorizerEverythingIsSecurityDisabled) {
  AclHarness h{ControllerConfig{}};
  size_t batches = h.raft.log().size();
  auto c = h.create_acls({acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ),
                          acl_creation(ResourceType::TOPIC, "u", PatternType::LITERAL, "User:a", AclOperation::READ)});
  ASSERT_EQ(c.results.size(), 2u);
  for (const auto& x : c.results) {
    EXPECT_EQ(x.error_code, code(ErrorCode::SECURITY_DISABLED));
    EXPECT_EQ(x.error_message, "No Authorizer is configured.");
  }
  auto d = h.delete_acls({acl_filter()});
  ASSERT_EQ(d.filter_results.size(), 1u);
  EXPECT_EQ(d.filter_results[0].error_code, code(ErrorCode::SECURITY_DISABLED));
  EXPECT_EQ(d.filter_results[0].error_message, "No Authorizer is configured.");
  EXPECT_EQ(h.raft.log().size(), batches);
}

TEST(ControllerAcls, StandbyAnswersNotControllerAndFailoverKeepsAcls) {
  AclHarness h;
  h.create_acls({acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ)});
  // A new controller replays the log: it knows the ACL (equal -> no record; delete finds it).
  h.fail_over(2, false);
  h.settle();
  ASSERT_TRUE(h.controller->is_active());
  size_t batches = h.raft.log().size();
  auto r = h.create_acls({acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ)});
  EXPECT_EQ(r.results[0].error_code, kAclOk);
  EXPECT_EQ(h.raft.log().size(), batches);
  auto d = h.delete_acls({acl_filter(ResourceType::TOPIC, "t", PatternType::LITERAL)});
  EXPECT_EQ(d.filter_results[0].matching_acls.size(), 1u);
  EXPECT_EQ(h.acl_count(), 0u);

  h.raft.resign();
  h.poll();
  EXPECT_FALSE(h.controller->is_active());
  r = h.create_acls({acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ)});
  EXPECT_EQ(r.results[0].error_code, code(ErrorCode::NOT_CONTROLLER));
  d = h.delete_acls({acl_filter()});
  EXPECT_EQ(d.filter_results[0].error_code, code(ErrorCode::NOT_CONTROLLER));
}

TEST(ControllerAcls, InFlightRequestsSeeEachOther) {
  AclHarness h;
  auto a = acl_creation(ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ);
  msg::CreateAclsRequest req;
  req.creations = {a};
  std::optional<msg::CreateAclsResponse> r1, r2;
  size_t batches = h.raft.log().size();
  h.controller->create_acls(req, 3, [&](msg::CreateAclsResponse r) { r1 = r; });
  h.controller->create_acls(req, 3, [&](msg::CreateAclsResponse r) { r2 = r; });
  EXPECT_EQ(h.raft.log().size(), batches + 1);  // the second saw the first's uncommitted ACL
  h.settle();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->results[0].error_code, kAclOk);
  EXPECT_EQ(r2->results[0].error_code, kAclOk);
  EXPECT_EQ(h.acl_count(), 1u);
}

TEST(ControllerAcls, TooManyAclsInOneRequestIsAPolicyViolation) {
  metadata::MetadataImage empty;
  msg::CreateAclsRequest req;
  for (int i = 0; i < 10001; ++i)
    req.creations.push_back(acl_creation(ResourceType::TOPIC, "t" + std::to_string(i), PatternType::LITERAL, "User:a", AclOperation::READ));
  uint64_t n = 0;
  auto plan = plan_acl_creation(empty, req, [&] { return Uuid{1, ++n}; });
  EXPECT_TRUE(plan.records.empty());
  ASSERT_EQ(plan.response.results.size(), 10001u);
  EXPECT_EQ(plan.response.results[0].error_code, code(ErrorCode::POLICY_VIOLATION));
  EXPECT_EQ(plan.response.results[0].error_message, "Unable to perform excessively large batch operation.");
  req.creations.pop_back();
  plan = plan_acl_creation(empty, req, [&] { return Uuid{1, ++n}; });
  EXPECT_EQ(plan.records.size(), 10000u);
}

TEST(ControllerAcls, IdsInUseAreNeverReused) {
  // An id generator that repeats: the plan skips ids in the image and in the request.
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  msg::AccessControlEntryRecord existing;
  existing.id = Uuid{0, 1};
  existing.resource_type = security::code(ResourceType::TOPIC);
  existing.resource_name = "x";
  existing.pattern_type = security::code(PatternType::LITERAL);
  existing.principal = "User:x";
  existing.host = "*";
  existing.operation = security::code(AclOperation::READ);
  existing.permission_type = security::code(AclPermissionType::ALLOW);
  d.replay(existing);
  auto image = d.apply();
  std::vector<Uuid> seq = {Uuid{0, 1}, Uuid{0, 2}, Uuid{0, 2}, Uuid{}, Uuid{0, 3}};
  size_t i = 0;
  msg::CreateAclsRequest req;
  req.creations = {acl_creation(ResourceType::TOPIC, "a", PatternType::LITERAL, "User:a", AclOperation::READ),
                   acl_creation(ResourceType::TOPIC, "b", PatternType::LITERAL, "User:a", AclOperation::READ)};
  auto plan = plan_acl_creation(*image, req, [&] { return seq[i++]; });
  ASSERT_EQ(plan.acls.size(), 2u);
  EXPECT_EQ(plan.acls[0].id, (Uuid{0, 2}));
  EXPECT_EQ(plan.acls[1].id, (Uuid{0, 3}));
}
