// The authorization step of the request path (broker/authorization.h): what
// a Produce or Fetch request pays for it, with the authorizer off and on
// (StandardAuthorizer holding 10,000 ACLs of other principals, mixed LITERAL
// and PREFIXED, plus the producer's PREFIXED WRITE): one ACL snapshot, the
// check for transactional batches, one decision per topic, the audit-log
// level test. Compare with the server's CPU per Produce request
// (bench/authz_bench.py prints CPU ms per GB) to see its share.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/authorization.h"
#include "net/server.h"
#include "protocol/messages.h"
#include "protocol/record_batch.h"
#include "security/authorizer.h"

using namespace flotilla;
using namespace flotilla::broker;
using security::AclPermissionType;
using security::PatternType;

namespace {

std::unique_ptr<security::StandardAuthorizer> make_authorizer(size_t acls) {
  auto a = std::make_unique<security::StandardAuthorizer>(security::AuthorizerConfig{{"User:admin"}, false});
  std::vector<security::StandardAcl> all;
  const AclOperation ops[] = {AclOperation::READ, AclOperation::WRITE, AclOperation::DESCRIBE};
  for (size_t i = 0; i < acls; ++i)
    all.push_back({Uuid{0xbe, i + 1}, i % 5 == 0 ? ResourceType::GROUP : ResourceType::TOPIC,
                   "t" + std::to_string(i % 97) + "-" + std::to_string(i), i % 4 == 0 ? PatternType::PREFIXED : PatternType::LITERAL,
                   "User:user-" + std::to_string(i % 500), "*", ops[i % 3], AclPermissionType::ALLOW});
  all.push_back({Uuid{0xbe, acls + 1}, ResourceType::TOPIC, "bench-", PatternType::PREFIXED, "User:bench", "*", AclOperation::ALL,
                 AclPermissionType::ALLOW});
  a->load_snapshot(all);
  a->complete_initial_load();
  return a;
}

struct Fixture {
  std::unique_ptr<security::StandardAuthorizer> authorizer = make_authorizer(10000);
  std::vector<uint8_t> batch;
  msg::ProduceRequest produce;
  net::Request req;

  explicit Fixture(int partitions) {
    records::BatchBuilder b;
    b.set_producer(7, 0, 0);
    std::vector<uint8_t> v(100, 'x');
    for (int i = 0; i < 100; ++i) b.add(1, std::nullopt, std::span<const uint8_t>(v));
    batch = b.build();
    msg::ProduceRequest::TopicProduceData td;
    td.name = "bench-orders";
    for (int p = 0; p < partitions; ++p) {
      msg::ProduceRequest::PartitionProduceData pd;
      pd.index = p;
      pd.records = Records::of_view(std::span<const uint8_t>(batch));
      td.partition_data.push_back(pd);
    }
    produce.topic_data.push_back(td);
    produce.acks = 1;
    auto s = std::make_shared<security::Session>();
    s->principal = {"User", "bench"};
    s->client_host = "127.0.0.1";
    req.session = s;
    req.api_key = 0;
  }
};

void BM_ProduceAuthorization(benchmark::State& state) {
  const bool on = state.range(0) != 0;
  Fixture f(static_cast<int>(state.range(1)));
  const security::StandardAuthorizer* a = on ? f.authorizer.get() : nullptr;
  for (auto _ : state) {
    Verdict v = authorize_produce(Authz::of(a, f.req), f.produce);
    benchmark::DoNotOptimize(v);
    if (!v.ok() || !v.refused.empty()) state.SkipWithError("refused");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProduceAuthorization)->ArgNames({"on", "partitions"})->Args({0, 1})->Args({1, 1})->Args({0, 8})->Args({1, 8});

void BM_FetchAuthorization(benchmark::State& state) {
  Fixture f(1);
  std::vector<std::string> topics = {"bench-orders"};
  f.req.api_key = 1;
  for (auto _ : state) {
    Verdict v = authorize_fetch(Authz::of(f.authorizer.get(), f.req), false, topics);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchAuthorization);

}  // namespace
