// The ACL index: incremental add/remove, published snapshots that never
// change, describe filters, a randomized comparison with a brute-force
// reference of Kafka's rules, and readers racing a writer.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "authz_test_util.h"

using namespace authz_test;

TEST(AclIndex, AddThenRemove) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  StandardAcl a = topic_acl("orders", "User:alice", AclOperation::READ);
  StandardAcl b = prefixed_acl("ord", "User:bob", AclOperation::READ);
  ASSERT_EQ(authz.add_acl(a), std::nullopt);
  ASSERT_EQ(authz.add_acl(b), std::nullopt);
  EXPECT_EQ(authz.acl_count(), 2u);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("bob"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  ASSERT_EQ(authz.remove_acl(a.id), std::nullopt);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  ASSERT_EQ(authz.remove_acl(b.id), std::nullopt);
  EXPECT_EQ(authz.acl_count(), 0u);
  EXPECT_EQ(authz.authorize(user("bob"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  // Nothing applies any more: the default rule decides again.
  authz.configure(AuthorizerConfig{{}, true});
  EXPECT_EQ(authz.authorize(user("carol"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  // And the same name can come back.
  ASSERT_EQ(authz.add_acl(topic_acl("orders", "User:alice", AclOperation::READ)), std::nullopt);
  EXPECT_EQ(authz.authorize(user("carol"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
}

TEST(AclIndex, RefusedChangesLeaveTheIndexAlone) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  StandardAcl a = topic_acl("orders", "User:alice", AclOperation::READ);
  ASSERT_EQ(authz.add_acl(a), std::nullopt);
  EXPECT_EQ(authz.add_acl(a), "An ACL with ID " + a.id.to_string() + " already exists.");
  StandardAcl same = a;
  same.id = next_id();
  EXPECT_EQ(authz.add_acl(same), "Unable to add the ACL with ID " + same.id.to_string() + " to aclsByResource");
  Uuid missing{9, 9};
  EXPECT_EQ(authz.remove_acl(missing), "ID " + missing.to_string() + " not found in aclsById.");
  StandardAcl bad = make_acl(ResourceType::ANY, "x", PatternType::LITERAL, "User:a", AclOperation::READ);
  EXPECT_TRUE(authz.add_acl(bad));
  StandardAcl bad_pattern = make_acl(TOPIC, "x", PatternType::MATCH, "User:a", AclOperation::READ);
  EXPECT_TRUE(authz.add_acl(bad_pattern));
  EXPECT_EQ(authz.acl_count(), 1u);
  // A batch applies what it can and reports the rest.
  StandardAcl c = topic_acl("payments", "User:alice", AclOperation::READ);
  std::vector<Uuid> removed{missing};
  std::vector<StandardAcl> added{c, a};
  auto errors = authz.apply(removed, added);
  EXPECT_EQ(errors.size(), 2u);
  EXPECT_EQ(authz.acl_count(), 2u);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "payments"), ALLOWED);
}

TEST(AclIndex, PrefixLengthsFollowRemovals) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  StandardAcl ab = prefixed_acl("ab", "User:a", AclOperation::READ);
  StandardAcl cd = prefixed_acl("cd", "User:a", AclOperation::READ);
  StandardAcl ab2 = prefixed_acl("ab", "User:b", AclOperation::READ);
  for (const auto& acl : {ab, cd, ab2}) ASSERT_EQ(authz.add_acl(acl), std::nullopt);
  ASSERT_EQ(authz.remove_acl(ab.id), std::nullopt);
  EXPECT_EQ(authz.authorize(user("a"), "h", AclOperation::READ, TOPIC, "cdx"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("b"), "h", AclOperation::READ, TOPIC, "abx"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("a"), "h", AclOperation::READ, TOPIC, "abx"), DENIED);
  ASSERT_EQ(authz.remove_acl(ab2.id), std::nullopt);
  ASSERT_EQ(authz.remove_acl(cd.id), std::nullopt);
  authz.configure(AuthorizerConfig{{}, true});
  EXPECT_EQ(authz.authorize(user("x"), "h", AclOperation::READ, TOPIC, "abx"), ALLOWED);
}

TEST(AclIndex, EmptyPrefixAppliesToEveryName) {
  // CreateAcls refuses an empty name; an index fed such a record still
  // answers as Kafka's would, and the other prefixes keep working.
  StandardAuthorizer authz;
  authz.complete_initial_load();
  ASSERT_EQ(authz.add_acl(prefixed_acl("", "User:alice", AclOperation::READ)), std::nullopt);
  ASSERT_EQ(authz.add_acl(prefixed_acl("ab", "User:bob", AclOperation::READ)), std::nullopt);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "xyz"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, ""), ALLOWED);
  EXPECT_EQ(authz.authorize(user("bob"), "h", AclOperation::READ, TOPIC, "abc"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("bob"), "h", AclOperation::READ, TOPIC, "xyz"), DENIED);
}

TEST(AclIndex, PublishedSnapshotsNeverChange) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  StandardAcl a = topic_acl("orders", "User:alice", AclOperation::READ);
  ASSERT_EQ(authz.add_acl(a), std::nullopt);
  auto before = authz.snapshot();
  ASSERT_EQ(authz.add_acl(topic_acl("orders", "User:alice", AclOperation::READ, AclPermissionType::DENY)), std::nullopt);
  ASSERT_EQ(authz.remove_acl(a.id), std::nullopt);
  ASSERT_EQ(authz.add_acl(topic_acl("orders", "User:bob", AclOperation::READ)), std::nullopt);
  EXPECT_EQ(before->size(), 1u);
  EXPECT_EQ(before->authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  EXPECT_EQ(before->authorize(user("bob"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  auto after = authz.snapshot();
  EXPECT_EQ(after->authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  EXPECT_EQ(after->authorize(user("bob"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
}

TEST(AclIndex, LoadSnapshotReplacesEverything) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  ASSERT_EQ(authz.add_acl(topic_acl("old", "User:alice", AclOperation::READ)), std::nullopt);
  std::vector<StandardAcl> image{topic_acl("new", "User:alice", AclOperation::READ),
                                 prefixed_acl("n", "User:bob", AclOperation::WRITE)};
  EXPECT_TRUE(authz.load_snapshot(image).empty());
  EXPECT_EQ(authz.acl_count(), 2u);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "old"), DENIED);
  EXPECT_EQ(authz.authorize(user("alice"), "h", AclOperation::READ, TOPIC, "new"), ALLOWED);
  EXPECT_EQ(authz.authorize(user("bob"), "h", AclOperation::WRITE, TOPIC, "new"), ALLOWED);
}

TEST(AclIndex, WriterFromABaseSnapshot) {
  AclIndexWriter first(nullptr);
  StandardAcl a = topic_acl("orders", "User:alice", AclOperation::READ);
  ASSERT_EQ(first.add(a), std::nullopt);
  first.set_settings(AuthorizerSettings{});
  auto base = first.publish();
  AclIndexWriter second(base);
  EXPECT_EQ(second.size(), 1u);
  ASSERT_NE(second.find(a.id), nullptr);
  EXPECT_EQ(second.find(a.id)->resource_name, "orders");
  ASSERT_EQ(second.remove(a.id), std::nullopt);
  ASSERT_EQ(second.add(topic_acl("orders", "User:bob", AclOperation::READ)), std::nullopt);
  auto next = second.publish();
  EXPECT_EQ(base->authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
  EXPECT_EQ(next->authorize(user("alice"), "h", AclOperation::READ, TOPIC, "orders"), DENIED);
  EXPECT_EQ(next->authorize(user("bob"), "h", AclOperation::READ, TOPIC, "orders"), ALLOWED);
}

TEST(AclIndex, DescribeWithFilters) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  StandardAcl lit = topic_acl("orders", "User:alice", AclOperation::READ);
  StandardAcl star = topic_acl("*", "User:bob", AclOperation::WRITE);
  StandardAcl pre = prefixed_acl("ord", "User:alice", AclOperation::DESCRIBE);
  StandardAcl other = prefixed_acl("pay", "User:alice", AclOperation::READ);
  StandardAcl group = make_acl(ResourceType::GROUP, "orders", PatternType::LITERAL, "User:alice", AclOperation::READ);
  for (const auto& acl : {lit, star, pre, other, group}) ASSERT_EQ(authz.add_acl(acl), std::nullopt);

  auto ids = [](const std::vector<StandardAcl>& v) {
    std::vector<Uuid> out;
    for (const auto& a : v) out.push_back(a.id);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto sorted = [](std::vector<Uuid> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(authz.acls(AclBindingFilter::any()).size(), 5u);
  AclBindingFilter match{ResourcePatternFilter{TOPIC, "orders", PatternType::MATCH}, AccessControlEntryFilter{}};
  EXPECT_EQ(ids(authz.acls(match)), sorted({lit.id, star.id, pre.id}));
  AclBindingFilter literal{ResourcePatternFilter{TOPIC, "orders", PatternType::LITERAL}, AccessControlEntryFilter{}};
  EXPECT_EQ(ids(authz.acls(literal)), sorted({lit.id}));
  AclBindingFilter alice{ResourcePatternFilter{},
                         AccessControlEntryFilter{"User:alice", std::nullopt, AclOperation::ANY, AclPermissionType::ANY}};
  EXPECT_EQ(ids(authz.acls(alice)), sorted({lit.id, pre.id, other.id, group.id}));
  AclBindingFilter groups{ResourcePatternFilter{ResourceType::GROUP, std::nullopt, PatternType::ANY},
                          AccessControlEntryFilter{}};
  EXPECT_EQ(ids(authz.acls(groups)), sorted({group.id}));
  size_t seen = 0;
  authz.snapshot()->for_each([&](const StandardAcl&) { ++seen; });
  EXPECT_EQ(seen, 5u);
}

// Random ACLs over a small alphabet (so that names, prefixes, principals and
// hosts collide a lot), random adds/removes published at random points, and
// every published snapshot checked against the reference on random queries —
// including old snapshots after later changes.
TEST(AclIndex, MatchesTheReferenceOnRandomWorkloads) {
  std::mt19937_64 rng(20240611);
  auto pick = [&](auto const& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> names{"a", "ab", "abc", "abd", "b", "ba", "bab", "*", "abcd", "x", ""};
  const std::vector<std::string> principals{"User:alice", "User:bob", "User:*", "Group:ops", "User:carol"};
  const std::vector<std::string> hosts{"*", "10.0.0.1", "10.0.0.2", "0:0:0:0:0:0:0:1"};
  const std::vector<ResourceType> types{TOPIC, ResourceType::GROUP};
  const std::vector<PatternType> patterns{PatternType::LITERAL, PatternType::PREFIXED};
  std::vector<AclOperation> ops;
  for (int c = 2; c <= 14; ++c) ops.push_back(acl_operation_from_code(static_cast<int8_t>(c)));
  const std::vector<AclPermissionType> perms{AclPermissionType::ALLOW, AclPermissionType::DENY};
  const std::vector<KafkaPrincipal> callers{user("alice"), user("bob"), user("carol"), KafkaPrincipal{"Group", "ops"},
                                            user("*")};
  const std::vector<std::string> caller_hosts{"10.0.0.1", "10.0.0.2", "::1"};
  const std::vector<std::string> query_names{"a", "ab", "abc", "abcd", "abcde", "abd", "b", "bab", "babx", "x", "*", "",
                                             "zz"};

  for (int round = 0; round < 4; ++round) {
    AuthorizerConfig config;
    config.allow_everyone_if_no_acl_found = round % 2 == 1;
    if (round >= 2) config.super_users = {"User:carol"};
    StandardAuthorizer authz(config);
    authz.complete_initial_load();
    AuthorizerSettings settings{config.super_users, config.allow_everyone_if_no_acl_found, true};

    std::map<Uuid, StandardAcl> live;
    std::vector<std::pair<std::shared_ptr<const AclIndex>, std::vector<StandardAcl>>> published;
    std::vector<StandardAcl> batch_add;
    std::vector<Uuid> batch_remove;
    auto check = [&](const AclIndex& snap, const std::vector<StandardAcl>& acls, int queries) {
      for (int q = 0; q < queries; ++q) {
        KafkaPrincipal p = pick(callers);
        std::string host = pick(caller_hosts);
        AclOperation op = pick(ops);
        ResourceType t = pick(types);
        std::string name = pick(query_names);
        ASSERT_EQ(snap.authorize(p, host, op, t, name), reference_decision(acls, settings, p, host, op, t, name))
            << p.to_string() << " " << host << " " << acl_operation_name(op) << " " << resource_type_name(t) << " '"
            << name << "' with " << acls.size() << " ACLs";
        if (t == TOPIC || q % 4 == 0) {
          ASSERT_EQ(snap.authorize_by_resource_type(p, host, op, t),
                    reference_by_resource_type(acls, settings, p, host, op, t))
              << "by type: " << p.to_string() << " " << host << " " << acl_operation_name(op) << " "
              << resource_type_name(t) << " with " << acls.size() << " ACLs";
        }
      }
    };
    for (int step = 0; step < 600; ++step) {
      if (!live.empty() && rng() % 3 == 0) {
        auto it = live.begin();
        std::advance(it, static_cast<long>(rng() % live.size()));
        batch_remove.push_back(it->first);
        live.erase(it);
      } else {
        StandardAcl acl = make_acl(pick(types), pick(names), pick(patterns), pick(principals), pick(ops), pick(perms),
                                   pick(hosts));
        bool duplicate = false;
        for (const auto& [id, other] : live) duplicate = duplicate || other.same_acl(acl);
        for (const auto& other : batch_add) duplicate = duplicate || other.same_acl(acl);
        if (duplicate) continue;
        live.emplace(acl.id, acl);
        batch_add.push_back(acl);
      }
      if (rng() % 5 == 0) {
        // Removals first, as apply() does: drop adds removed within the batch.
        std::vector<Uuid> removes;
        std::vector<StandardAcl> adds;
        for (const Uuid& id : batch_remove) {
          bool added_here = std::any_of(batch_add.begin(), batch_add.end(), [&](const auto& a) { return a.id == id; });
          if (!added_here) removes.push_back(id);
        }
        for (const auto& a : batch_add)
          if (live.count(a.id)) adds.push_back(a);
        ASSERT_TRUE(authz.apply(removes, adds).empty());
        batch_add.clear();
        batch_remove.clear();
        std::vector<StandardAcl> now;
        for (const auto& [id, acl] : live) now.push_back(acl);
        ASSERT_EQ(authz.acl_count(), now.size());
        published.emplace_back(authz.snapshot(), now);
        check(*published.back().first, now, 40);
      }
    }
    // Old snapshots still answer as they did.
    for (const auto& [snap, acls] : published) check(*snap, acls, 20);
  }
}

// Readers decide while the metadata thread flips between two ACL sets: every
// decision must agree with the snapshot it was made on.
TEST(AclIndex, ReadersRaceTheWriter) {
  StandardAuthorizer authz;
  authz.complete_initial_load();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(authz.add_acl(topic_acl("background-" + std::to_string(i), "User:u" + std::to_string(i % 50),
                                      AclOperation::READ)),
              std::nullopt);
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0}, saw_allowed{0}, saw_denied{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto snap = authz.snapshot();
        bool present = snap->size() == 1002;  // state B: the ALLOW and a DENY for another host
        auto res = snap->authorize(user("alice"), "10.0.0.1", AclOperation::READ, TOPIC, "orders-1");
        if ((res == ALLOWED) != present) mismatches.fetch_add(1);
        (res == ALLOWED ? saw_allowed : saw_denied).fetch_add(1);
      }
    });
  for (int i = 0; i < 2000; ++i) {
    StandardAcl allow = prefixed_acl("orders-", "User:alice", AclOperation::READ);
    StandardAcl deny = topic_acl("orders-1", "User:alice", AclOperation::READ, AclPermissionType::DENY, "10.0.0.2");
    std::vector<StandardAcl> added{allow, deny};
    ASSERT_TRUE(authz.apply({}, added).empty());
    std::vector<Uuid> removed{allow.id, deny.id};
    ASSERT_TRUE(authz.apply(removed, {}).empty());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(saw_allowed.load() + saw_denied.load(), 0);
  EXPECT_EQ(authz.acl_count(), 1000u);
}
