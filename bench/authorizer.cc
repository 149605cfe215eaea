// The StandardAuthorizer's costs (issue 16's goals): decisions against 10,000
// ACLs (≥ 2,000,000/s on one core), the index built from 100,000 ACLs (< 1 s,
// part of loading a metadata snapshot), and one ACL added or removed and
// published on an index of 10,000 or 100,000.
//
// The ACL set looks like a multi-team cluster: topics named
// "team-T.service-S.events-N", LITERAL ACLs per topic and principal, PREFIXED
// ACLs per team ("team-T.") and per service ("team-T.service-S."), a few
// User:* and wildcard-topic ACLs, some DENYs and host-bound ACLs, many
// principals. Queries mix allowed and denied decisions over all of them.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "security/authorizer.h"

using namespace flotilla;
using namespace flotilla::security;

namespace {

struct Workload {
  std::vector<StandardAcl> acls;
  std::vector<std::string> topics;
  std::vector<std::string> sorted_topics;
  std::vector<KafkaPrincipal> principals;
};

std::string topic_name(int team, int service, int n) {
  return "team-" + std::to_string(team) + ".service-" + std::to_string(service) + ".events-" + std::to_string(n);
}

Workload make_workload(size_t count, uint64_t seed = 42) {
  Workload w;
  std::mt19937_64 rng(seed);
  const int teams = static_cast<int>(std::max<size_t>(count / 500, 4));
  const int services = 10;
  const int per_service = 10;
  const int users = static_cast<int>(std::max<size_t>(count / 10, 50));
  for (int u = 0; u < users; ++u) w.principals.push_back(KafkaPrincipal{"User", "svc-" + std::to_string(u)});
  for (int t = 0; t < teams; ++t)
    for (int s = 0; s < services; ++s)
      for (int n = 0; n < per_service; ++n) w.topics.push_back(topic_name(t, s, n));
  w.sorted_topics = w.topics;
  std::sort(w.sorted_topics.begin(), w.sorted_topics.end());
  const AclOperation ops[] = {AclOperation::READ, AclOperation::WRITE, AclOperation::DESCRIBE, AclOperation::ALL,
                              AclOperation::ALTER_CONFIGS};
  uint64_t id = 1;
  auto add = [&](ResourceType type, std::string name, PatternType pattern, std::string principal, AclOperation op,
                 AclPermissionType perm, std::string host) {
    w.acls.push_back(StandardAcl{Uuid{0xac1, id++}, type, std::move(name), pattern, std::move(principal),
                                 std::move(host), op, perm});
  };
  // A few cluster-wide ones.
  add(ResourceType::TOPIC, "*", PatternType::LITERAL, "User:monitor", AclOperation::DESCRIBE, AclPermissionType::ALLOW, "*");
  add(ResourceType::TOPIC, "*", PatternType::LITERAL, "User:*", AclOperation::DELETE, AclPermissionType::DENY, "*");
  add(ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:*", AclOperation::IDEMPOTENT_WRITE,
      AclPermissionType::ALLOW, "*");
  while (w.acls.size() < count) {
    const int kind = static_cast<int>(rng() % 10);
    const int t = static_cast<int>(rng() % static_cast<uint64_t>(teams));
    const int s = static_cast<int>(rng() % services);
    const std::string principal = w.principals[rng() % w.principals.size()].to_string();
    const AclOperation op = ops[rng() % 5];
    const AclPermissionType perm = rng() % 10 == 0 ? AclPermissionType::DENY : AclPermissionType::ALLOW;
    const std::string host = rng() % 8 == 0 ? "10.0." + std::to_string(rng() % 4) + ".1" : "*";
    if (kind < 6) {  // LITERAL topic
      add(ResourceType::TOPIC, topic_name(t, s, static_cast<int>(rng() % per_service)), PatternType::LITERAL, principal,
          op, perm, host);
    } else if (kind < 8) {  // PREFIXED service
      add(ResourceType::TOPIC, "team-" + std::to_string(t) + ".service-" + std::to_string(s) + ".",
          PatternType::PREFIXED, principal, op, perm, host);
    } else if (kind < 9) {  // PREFIXED team
      add(ResourceType::TOPIC, "team-" + std::to_string(t) + ".", PatternType::PREFIXED, principal, op, perm, host);
    } else {  // consumer groups
      add(ResourceType::GROUP, "group-" + std::to_string(rng() % 1000), rng() % 2 ? PatternType::LITERAL : PatternType::PREFIXED,
          principal, AclOperation::READ, AclPermissionType::ALLOW, "*");
    }
  }
  return w;
}

std::unique_ptr<StandardAuthorizer> loaded(const Workload& w) {
  auto a = std::make_unique<StandardAuthorizer>(AuthorizerConfig{{"User:admin"}, false});
  auto errors = a->load_snapshot(w.acls);  // equal ACLs drawn twice are refused: fine
  (void)errors;
  a->complete_initial_load();
  return a;
}

struct Query {
  const KafkaPrincipal* principal;
  std::string host;
  AclOperation op;
  const std::string* topic;
};

std::vector<Query> make_queries(const Workload& w, size_t n) {
  std::mt19937_64 rng(7);
  const AclOperation ops[] = {AclOperation::READ, AclOperation::WRITE, AclOperation::DESCRIBE,
                              AclOperation::DESCRIBE_CONFIGS};
  std::vector<Query> q;
  // Half the queries are about an ACL that exists (its principal, its topic or
  // one under its prefix), half random.
  std::map<std::string, const KafkaPrincipal*> by_name;
  for (const auto& p : w.principals) by_name[p.to_string()] = &p;
  for (size_t i = 0; i < n; ++i) {
    const StandardAcl& a = w.acls[rng() % w.acls.size()];
    const KafkaPrincipal* p = &w.principals[rng() % w.principals.size()];
    const std::string* topic = &w.topics[rng() % w.topics.size()];
    if (i % 2 == 0 && a.resource_type == ResourceType::TOPIC && by_name.count(a.principal)) {
      p = by_name[a.principal];
      // The first topic under the ACL's name (topics are generated in order).
      auto it = std::lower_bound(w.sorted_topics.begin(), w.sorted_topics.end(), a.resource_name);
      if (it != w.sorted_topics.end() && it->starts_with(a.resource_name)) topic = &*it;
    }
    q.push_back(Query{p, rng() % 8 == 0 ? "10.0.1.1" : "10.9.9.9", ops[rng() % 4], topic});
  }
  return q;
}

// Decisions on a snapshot held across them (one per request, as the broker does).
// One loaded authorizer and its queries per ACL count, shared by the runs.
struct Fixture {
  Workload w;
  std::unique_ptr<StandardAuthorizer> authz;
  std::vector<Query> queries;
};
const Fixture& fixture(size_t count) {
  static std::map<size_t, Fixture> cache;
  static std::mutex mu;
  std::lock_guard lock(mu);
  auto it = cache.find(count);
  if (it == cache.end()) {
    Fixture f;
    f.w = make_workload(count);
    f.authz = loaded(f.w);
    f.queries = make_queries(f.w, 1 << 16);
    it = cache.emplace(count, std::move(f)).first;
  }
  return it->second;
}

void BM_Authorize(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  const auto& queries = f.queries;
  auto snapshot = f.authz->snapshot();
  size_t i = 0, allowed = 0;
  for (auto _ : state) {
    const Query& q = queries[i++ & (queries.size() - 1)];
    bool ok = snapshot->authorize(*q.principal, q.host, q.op, ResourceType::TOPIC, *q.topic) == AuthorizationResult::ALLOWED;
    allowed += ok;
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["acls"] = benchmark::Counter(static_cast<double>(snapshot->size()), benchmark::Counter::kAvgThreads);
  state.counters["allowed%"] = benchmark::Counter(
      100.0 * static_cast<double>(allowed) / static_cast<double>(std::max<size_t>(i, 1)), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_Authorize)->Arg(10'000)->Arg(100'000);
BENCHMARK(BM_Authorize)->Arg(10'000)->Threads(2);

// The same, loading the current snapshot for every decision (the worst case:
// a request naming one resource).
void BM_AuthorizeSnapshotPerDecision(benchmark::State& state) {
  const Fixture& f = fixture(10'000);
  const auto& authz = f.authz;
  const auto& queries = f.queries;
  size_t i = 0;
  for (auto _ : state) {
    const Query& q = queries[i++ & (queries.size() - 1)];
    benchmark::DoNotOptimize(authz->authorize(*q.principal, q.host, q.op, ResourceType::TOPIC, *q.topic));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AuthorizeSnapshotPerDecision);

// Building the index from a snapshot's ACLs (StandardAuthorizer::load_snapshot).
void BM_LoadSnapshot(benchmark::State& state) {
  const Workload w = make_workload(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    state.PauseTiming();
    auto a = std::make_unique<StandardAuthorizer>();
    state.ResumeTiming();
    benchmark::DoNotOptimize(a->load_snapshot(w.acls));
    state.PauseTiming();
    a.reset();  // freeing the old index is the last reader's cost, not the load's
    state.ResumeTiming();
  }
  state.counters["acls"] = static_cast<double>(w.acls.size());
}
BENCHMARK(BM_LoadSnapshot)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

// One ACL added and published, then removed and published, on an index of N.
void BM_AddRemovePublish(benchmark::State& state) {
  const Workload w = make_workload(static_cast<size_t>(state.range(0)));
  auto authz = loaded(w);
  StandardAcl extra{Uuid{0xbeef, 1}, ResourceType::TOPIC, "team-1.service-2.events-3", PatternType::LITERAL,
                    "User:newcomer", "*", AclOperation::READ, AclPermissionType::ALLOW};
  for (auto _ : state) {
    benchmark::DoNotOptimize(authz->add_acl(extra));
    benchmark::DoNotOptimize(authz->remove_acl(extra.id));
  }
  state.SetItemsProcessed(2 * static_cast<int64_t>(state.iterations()));
  state.counters["acls"] = static_cast<double>(authz->acl_count());
}
BENCHMARK(BM_AddRemovePublish)->Arg(10'000)->Arg(100'000);

// Kafka's authorizeByResourceType (InitProducerId of an idempotent producer
// without IDEMPOTENT_WRITE): reads the caller's ACLs of the type.
void BM_AuthorizeByResourceType(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  const Workload& w = f.w;
  auto snapshot = f.authz->snapshot();
  size_t i = 0;
  for (auto _ : state) {
    const KafkaPrincipal& p = w.principals[i++ % w.principals.size()];
    benchmark::DoNotOptimize(snapshot->authorize_by_resource_type(p, "10.9.9.9", AclOperation::WRITE, ResourceType::TOPIC));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AuthorizeByResourceType)->Arg(10'000)->Arg(100'000);

}  // namespace
