// ACLs in the metadata image: AccessControlEntryRecord adds, RemoveAccessControlEntryRecord
// removes, the delta's acl_changes() is what an authorizer applies (removed
// ids and added ACLs per delta; everything on a snapshot), snapshots write and
// load them, and DescribeAcls is answered from the image with Kafka's filter.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "metadata/acls.h"
#include "metadata/delta.h"
#include "metadata/snapshot.h"
#include "protocol/metadata_record.h"
#include "security/authorizer.h"

using namespace flotilla;
using namespace flotilla::metadata;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourceType;

namespace {

Uuid id_of(uint64_t n) { return Uuid{0, n}; }

msg::AccessControlEntryRecord acl(uint64_t n, ResourceType type, const std::string& name, PatternType pattern,
                                  const std::string& principal, AclOperation op,
                                  AclPermissionType perm = AclPermissionType::ALLOW) {
  msg::AccessControlEntryRecord r;
  r.id = id_of(n);
  r.resource_type = security::code(type);
  r.resource_name = name;
  r.pattern_type = security::code(pattern);
  r.principal = principal;
  r.host = "*";
  r.operation = security::code(op);
  r.permission_type = security::code(perm);
  return r;
}

msg::RemoveAccessControlEntryRecord removal(uint64_t n) {
  msg::RemoveAccessControlEntryRecord r;
  r.id = id_of(n);
  return r;
}

std::vector<Uuid> ids(const std::vector<security::StandardAcl>& acls) {
  std::vector<Uuid> out;
  for (const auto& a : acls) out.push_back(a.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(MetadataAcls, RecordsAddAndRemove) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(acl(1, ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ));
  d.replay(acl(2, ResourceType::TOPIC, "ord", PatternType::PREFIXED, "User:bob", AclOperation::WRITE, AclPermissionType::DENY));
  d.replay(acl(3, ResourceType::GROUP, "g", PatternType::LITERAL, "User:alice", AclOperation::READ));
  d.replay(removal(3));  // added and removed in the same delta: no trace
  auto img = d.apply();
  ASSERT_EQ(img->acls().size(), 2u);
  const auto& a = img->acls().at(id_of(2));
  EXPECT_EQ(a.id, id_of(2));
  EXPECT_EQ(a.resource_type, ResourceType::TOPIC);
  EXPECT_EQ(a.resource_name, "ord");
  EXPECT_EQ(a.pattern_type, PatternType::PREFIXED);
  EXPECT_EQ(a.principal, "User:bob");
  EXPECT_EQ(a.host, "*");
  EXPECT_EQ(a.operation, AclOperation::WRITE);
  EXPECT_EQ(a.permission_type, AclPermissionType::DENY);
  EXPECT_EQ(d.changed_acls(), (std::set<Uuid>{id_of(1), id_of(2)}));
  auto c = d.acl_changes();
  EXPECT_FALSE(c.snapshot);
  EXPECT_TRUE(c.removed.empty());
  EXPECT_EQ(ids(c.added), (std::vector<Uuid>{id_of(1), id_of(2)}));
  EXPECT_TRUE(c.all.empty());

  // Next delta: one removed, one added; an unknown removal is skipped.
  MetadataDelta d2(img);
  d2.replay(removal(1));
  d2.replay(removal(42));
  d2.replay(acl(4, ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:*", AclOperation::DESCRIBE));
  auto img2 = d2.apply();
  EXPECT_EQ(img2->acls().size(), 2u);
  EXPECT_FALSE(img2->acls().count(id_of(1)));
  auto c2 = d2.acl_changes();
  EXPECT_EQ(c2.removed, (std::vector<Uuid>{id_of(1)}));
  EXPECT_EQ(ids(c2.added), (std::vector<Uuid>{id_of(4)}));
  EXPECT_EQ(img->acls().size(), 2u);  // the base image is untouched
  EXPECT_TRUE(img->acls().count(id_of(1)));

  // A delta without ACL records shares the ACLs.
  MetadataDelta d3(img2);
  d3.replay(msg::NoOpRecord{});
  auto img3 = d3.apply();
  EXPECT_EQ(&img3->acls(), &img2->acls());
  EXPECT_FALSE(d3.acls_changed());
}

TEST(MetadataAcls, UnknownCodesBecomeUnknown) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  auto r = acl(1, ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ);
  r.resource_type = 99;
  r.operation = -3;
  d.replay(r);
  auto img = d.apply();
  EXPECT_EQ(img->acls().at(id_of(1)).resource_type, ResourceType::UNKNOWN);
  EXPECT_EQ(img->acls().at(id_of(1)).operation, AclOperation::UNKNOWN);
}

TEST(MetadataAcls, SnapshotRoundTripAndSnapshotChanges) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  msg::FeatureLevelRecord mv;
  mv.name = kMetadataVersionFeature;
  mv.feature_level = 21;
  d.replay(mv);
  for (uint64_t i = 1; i <= 50; ++i)
    d.replay(acl(i, i % 2 ? ResourceType::TOPIC : ResourceType::GROUP, "r" + std::to_string(i),
                 i % 3 ? PatternType::LITERAL : PatternType::PREFIXED, "User:u" + std::to_string(i), AclOperation::READ));
  d.set_offset(10, 1);
  auto img = d.apply();

  auto recs = image_records(*img);
  size_t acl_records = 0;
  for (const auto& v : recs)
    if (std::holds_alternative<msg::AccessControlEntryRecord>(protocol::decode_metadata_record(v).record)) ++acl_records;
  EXPECT_EQ(acl_records, 50u);
  MetadataDelta load(std::make_shared<const MetadataImage>());
  for (const auto& v : recs) ASSERT_TRUE(load.replay_value(v));
  auto again = load.apply();
  EXPECT_EQ(again->acls(), img->acls());

  // A snapshot replacing an image: `snapshot` set, `all` is the new image's
  // ACLs, removed/added what differs.
  MetadataDelta older(std::make_shared<const MetadataImage>());
  older.replay(acl(1, ResourceType::TOPIC, "r1", PatternType::LITERAL, "User:u1", AclOperation::READ));  // same as in img
  older.replay(acl(99, ResourceType::TOPIC, "gone", PatternType::LITERAL, "User:x", AclOperation::READ));
  auto before = older.apply();
  auto between = MetadataDelta::between(before, again);
  auto c = between.acl_changes();
  EXPECT_TRUE(c.snapshot);
  EXPECT_EQ(c.all.size(), 50u);
  EXPECT_EQ(c.removed, (std::vector<Uuid>{id_of(99)}));
  EXPECT_EQ(c.added.size(), 49u);
  EXPECT_TRUE(between.acls_changed());
  EXPECT_EQ(between.apply()->acls(), again->acls());

  // The same ACLs again: nothing to do.
  EXPECT_FALSE(MetadataDelta::between(again, img).acls_changed());
  // A late publisher's first image.
  auto e = MetadataDelta::everything(img);
  EXPECT_TRUE(e.acl_changes().snapshot);
  EXPECT_EQ(e.acl_changes().all.size(), 50u);
}

// What the authorizer's publisher does with acl_changes(): the authorizer then
// holds exactly the image's ACLs, delta after delta and after a snapshot.
TEST(MetadataAcls, ChangesFeedTheAuthorizer) {
  security::StandardAuthorizer authz;
  auto feed = [&](const MetadataDelta& delta) {
    auto c = delta.acl_changes();
    auto errors = c.snapshot ? authz.load_snapshot(c.all) : authz.apply(c.removed, c.added);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
  };
  auto all_acls = [&] { return ids(authz.acls(security::AclBindingFilter::any())); };

  auto img = std::make_shared<const MetadataImage>();
  MetadataDelta d1(img);
  for (uint64_t i = 1; i <= 5; ++i)
    d1.replay(acl(i, ResourceType::TOPIC, "t" + std::to_string(i), PatternType::LITERAL, "User:a", AclOperation::WRITE));
  feed(d1);
  img = d1.apply();
  EXPECT_EQ(all_acls().size(), 5u);

  MetadataDelta d2(img);
  d2.replay(removal(2));
  d2.replay(acl(6, ResourceType::TOPIC, "t6", PatternType::PREFIXED, "User:b", AclOperation::READ));
  d2.replay(removal(6));
  d2.replay(acl(7, ResourceType::TOPIC, "t7", PatternType::PREFIXED, "User:b", AclOperation::READ));
  feed(d2);
  img = d2.apply();
  EXPECT_EQ(all_acls(), (std::vector<Uuid>{id_of(1), id_of(3), id_of(4), id_of(5), id_of(7)}));

  MetadataDelta snap(std::make_shared<const MetadataImage>());
  snap.replay(acl(8, ResourceType::GROUP, "g", PatternType::LITERAL, "User:c", AclOperation::READ));
  auto snap_img = snap.apply();
  feed(MetadataDelta::between(img, snap_img));
  EXPECT_EQ(all_acls(), (std::vector<Uuid>{id_of(8)}));
}

TEST(MetadataAcls, DescribeFromTheImage) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(acl(1, ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ));
  d.replay(acl(2, ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:bob", AclOperation::WRITE));
  d.replay(acl(3, ResourceType::TOPIC, "ord", PatternType::PREFIXED, "User:bob", AclOperation::DESCRIBE));
  d.replay(acl(4, ResourceType::TOPIC, "*", PatternType::LITERAL, "User:carol", AclOperation::READ));
  d.replay(acl(5, ResourceType::GROUP, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ));
  auto img = d.apply();

  // MATCH on topic "orders": the literal, the wildcard and the prefix.
  msg::DescribeAclsRequest req;
  req.resource_type_filter = security::code(ResourceType::TOPIC);
  req.resource_name_filter = "orders";
  req.pattern_type_filter = security::code(PatternType::MATCH);
  req.principal_filter = std::nullopt;
  req.host_filter = std::nullopt;
  req.operation = security::code(AclOperation::ANY);
  req.permission_type = security::code(AclPermissionType::ANY);
  auto resp = describe_acls_response(matching_acls(img->acls(), describe_acls_filter(req, 3)));
  ASSERT_EQ(resp.resources.size(), 3u);
  EXPECT_EQ(resp.resources[0].resource_name, "orders");
  EXPECT_EQ(resp.resources[0].acls.size(), 2u);
  EXPECT_EQ(resp.resources[1].resource_name, "ord");
  EXPECT_EQ(resp.resources[1].pattern_type, security::code(PatternType::PREFIXED));
  EXPECT_EQ(resp.resources[2].resource_name, "*");

  // By principal, any resource.
  req.resource_type_filter = security::code(ResourceType::ANY);
  req.resource_name_filter = std::nullopt;
  req.pattern_type_filter = security::code(PatternType::ANY);
  req.principal_filter = "User:alice";
  resp = describe_acls_response(matching_acls(img->acls(), describe_acls_filter(req, 3)));
  ASSERT_EQ(resp.resources.size(), 2u);
  EXPECT_EQ(resp.resources[0].acls[0].principal, "User:alice");
  EXPECT_EQ(resp.resources[1].resource_type, security::code(ResourceType::GROUP));

  // v0's ANY pattern type is LITERAL: the prefixed ACL is not listed.
  req.principal_filter = "User:bob";
  resp = describe_acls_response(matching_acls(img->acls(), describe_acls_filter(req, 0)));
  ASSERT_EQ(resp.resources.size(), 1u);
  EXPECT_EQ(resp.resources[0].resource_name, "orders");
}

TEST(MetadataAcls, DescribeRefusesUnknownFilters) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(acl(1, ResourceType::TOPIC, "t", PatternType::LITERAL, "User:a", AclOperation::READ));
  auto img = d.apply();
  msg::DescribeAclsRequest req;
  req.resource_type_filter = security::code(ResourceType::ANY);
  req.resource_name_filter = std::nullopt;
  req.pattern_type_filter = security::code(PatternType::ANY);
  req.principal_filter = std::nullopt;
  req.host_filter = std::nullopt;
  req.operation = security::code(AclOperation::ANY);
  req.permission_type = security::code(AclPermissionType::ANY);
  auto ok = describe_acls(*img, req, 3);
  EXPECT_EQ(ok.error_code, 0);
  EXPECT_EQ(ok.error_message, std::nullopt);
  ASSERT_EQ(ok.resources.size(), 1u);
  for (int field = 0; field < 4; ++field) {
    auto bad = req;
    if (field == 0) bad.resource_type_filter = 0;
    if (field == 1) bad.pattern_type_filter = 77;
    if (field == 2) bad.operation = 0;
    if (field == 3) bad.permission_type = 9;
    auto r = describe_acls(*img, bad, 3);
    EXPECT_EQ(r.error_code, code(ErrorCode::INVALID_REQUEST)) << field;
    EXPECT_EQ(r.error_message, "DescribeAclsRequest contains UNKNOWN elements") << field;
    EXPECT_TRUE(r.resources.empty()) << field;
  }
}

// AclMap: std::map's reads, Uuid order across shards, and a delta that
// changes one ACL among many copies one shard, not the map.
TEST(MetadataAcls, AclMapSharesUntouchedShards) {
  AclMap m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.begin(), m.end());
  std::vector<Uuid> ids;
  for (uint64_t i = 0; i < 2000; ++i) {
    Uuid id{(i * 0x9E3779B97F4A7C15ULL) ^ (i << 56), i};
    ids.push_back(id);
    security::StandardAcl a;
    a.id = id;
    a.resource_name = "r" + std::to_string(i);
    m.put(a);
  }
  EXPECT_EQ(m.size(), 2000u);
  std::sort(ids.begin(), ids.end());
  std::vector<Uuid> seen;
  for (const auto& [id, acl] : m) {
    EXPECT_EQ(id, acl.id);
    seen.push_back(id);
  }
  EXPECT_EQ(seen, ids);  // Uuid order
  EXPECT_EQ(m.at(ids[7]).id, ids[7]);
  EXPECT_EQ(m.find(ids[9])->second.id, ids[9]);
  EXPECT_EQ(m.find(Uuid{1, 1}), m.end());

  AclMap copy = m;
  EXPECT_EQ(copy, m);
  security::StandardAcl changed = m.at(ids[0]);
  changed.resource_name = "other";
  copy.put(changed);  // replaces: same size
  EXPECT_EQ(copy.size(), 2000u);
  EXPECT_EQ(copy.at(ids[0]).resource_name, "other");
  EXPECT_NE(m.at(ids[0]).resource_name, "other");  // the original is untouched
  EXPECT_FALSE(copy == m);
  EXPECT_TRUE(copy.erase(ids[1]));
  EXPECT_FALSE(copy.erase(ids[1]));
  EXPECT_EQ(copy.size(), 1999u);
  EXPECT_TRUE(m.contains(ids[1]));
  // Only the touched shards differ: every other element is the same object.
  size_t same_object = 0;
  for (const auto& [id, acl] : copy)
    if (&acl == &m.at(id)) ++same_object;
  EXPECT_GT(same_object, 1999u - 2 * (2000u / 256 + 40));
}
