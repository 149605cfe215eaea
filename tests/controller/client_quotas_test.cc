// AlterClientQuotas on the controller: Kafka's ClientQuotaControlManager
// checks (texts and codes), the ClientQuotaRecords written (sets, removals,
// nothing for unchanged values), one batch per request, nothing for a
// refused entry or ValidateOnly, and the image that results — on a fake Raft
// and a virtual clock, so every run is the same.
#include <gtest/gtest.h>

#include "harness.h"
#include "security/quota_entity.h"

using namespace flotilla;
using namespace flotilla::controller;
using namespace flotilla::controller::testing;
using security::ClientQuotaEntity;

namespace client_quotas_test {

using Name = std::optional<std::string>;
using Entity = std::vector<std::pair<std::string, Name>>;
struct QuotaOp {
  std::string key;
  double value = 0;
  bool remove = false;
};

msg::AlterClientQuotasRequest::EntryData entry(const Entity& entity, std::vector<QuotaOp> ops) {
  msg::AlterClientQuotasRequest::EntryData e;
  for (const auto& [t, n] : entity) e.entity.push_back({t, n});
  for (const auto& o : ops) e.ops.push_back({o.key, o.value, o.remove});
  return e;
}

ClientQuotaEntity ent(const Entity& entries) {
  ClientQuotaEntity e;
  for (const auto& [t, n] : entries) e.entries[t] = n;
  return e;
}

struct Quotas : Harness {
  msg::AlterClientQuotasResponse alter(std::vector<msg::AlterClientQuotasRequest::EntryData> entries, bool validate_only = false) {
    msg::AlterClientQuotasRequest req;
    req.entries = std::move(entries);
    req.validate_only = validate_only;
    return call<msg::AlterClientQuotasResponse>([&](auto done) { controller->alter_client_quotas(req, 1, done); });
  }
  // The (code, message) answered for `entity`.
  static std::pair<int16_t, std::string> result(const msg::AlterClientQuotasResponse& r, const Entity& entity) {
    ClientQuotaEntity want = ent(entity);
    for (const auto& e : r.entries) {
      ClientQuotaEntity got;
      for (const auto& d : e.entity) got.entries[d.entity_type] = d.entity_name;
      if (got == want) return {e.error_code, e.error_message.value_or("<null>")};
    }
    ADD_FAILURE() << "no result for the entity";
    return {-1, ""};
  }
};

constexpr int16_t kQuotaNone = 0;
const int16_t kInvalidRequest = static_cast<int16_t>(ErrorCode::INVALID_REQUEST);
const std::pair<int16_t, std::string> kOk{kQuotaNone, "<null>"};

}  // namespace client_quotas_test

using namespace client_quotas_test;

TEST(ControllerClientQuotas, SetsAndRemovesInOneBatch) {
  Quotas h;
  size_t batches = h.raft.log().size();
  auto r = h.alter({entry({{"user", "alice"}}, {{"producer_byte_rate", 1048576}, {"consumer_byte_rate", 2097152}}),
                    entry({{"user", std::nullopt}, {"client-id", std::nullopt}}, {{"request_percentage", 12.5}}),
                    entry({{"client-id", "app"}}, {{"controller_mutation_rate", 0.5}})});
  ASSERT_EQ(r.entries.size(), 3u);
  for (const auto& e : r.entries) EXPECT_EQ(e.error_code, kQuotaNone);
  ASSERT_EQ(h.raft.log().size(), batches + 1);
  auto recs = records_of<msg::ClientQuotaRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 4u);
  const auto& q = h.image()->client_quotas();
  EXPECT_EQ(q.at(ent({{"user", "alice"}})), (security::ClientQuotaValues{{"consumer_byte_rate", 2097152}, {"producer_byte_rate", 1048576}}));
  EXPECT_EQ(q.at(ent({{"user", std::nullopt}, {"client-id", std::nullopt}})).at("request_percentage"), 12.5);
  EXPECT_EQ(q.at(ent({{"client-id", "app"}})).at("controller_mutation_rate"), 0.5);
  // The user+client-id record names both entries, the defaults with a null name.
  bool found = false;
  for (const auto& rec : recs)
    if (rec.key == "request_percentage") {
      found = true;
      ASSERT_EQ(rec.entity.size(), 2u);
      EXPECT_EQ(rec.entity[0].entity_type, "client-id");
      EXPECT_EQ(rec.entity[0].entity_name, std::nullopt);
      EXPECT_EQ(rec.entity[1].entity_type, "user");
      EXPECT_EQ(rec.entity[1].entity_name, std::nullopt);
      EXPECT_FALSE(rec.remove);
    }
  EXPECT_TRUE(found);

  // An unchanged value writes nothing; a removal of a missing key writes nothing.
  batches = h.raft.log().size();
  r = h.alter({entry({{"user", "alice"}}, {{"producer_byte_rate", 1048576}, {"request_percentage", 0, true}})});
  EXPECT_EQ(Quotas::result(r, {{"user", "alice"}}), kOk);
  EXPECT_EQ(h.raft.log().size(), batches);

  // Removing keys: Remove records; the entity leaves with its last key.
  r = h.alter({entry({{"user", "alice"}}, {{"producer_byte_rate", 0, true}, {"consumer_byte_rate", 0, true}})});
  EXPECT_EQ(Quotas::result(r, {{"user", "alice"}}), kOk);
  recs = records_of<msg::ClientQuotaRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_TRUE(recs[0].remove && recs[1].remove);
  EXPECT_FALSE(h.image()->client_quotas().count(ent({{"user", "alice"}})));
}

TEST(ControllerClientQuotas, RefusedEntriesWriteNothing) {
  Quotas h;
  size_t batches = h.raft.log().size();
  auto r = h.alter({
      entry({{"user", "bob"}}, {{"producer_byte_rate", 100}, {"bogus_rate", 5}}),
      entry({{"user", "carol"}}, {{"producer_byte_rate", 0}}),
      entry({{"user", "dave"}}, {{"consumer_byte_rate", 10.5}}),
      entry({{"user", "erin"}}, {{"producer_byte_rate", 1e19}}),
      entry({{"client-id", "c1"}}, {{"connection_creation_rate", 5}}),
      entry({{"group", "g"}}, {{"producer_byte_rate", 1}}),
      entry({{"user", ""}}, {{"producer_byte_rate", 1}}),
      entry({}, {{"producer_byte_rate", 1}}),
      entry({{"ip", "10.0.0.1"}, {"user", "x"}}, {{"connection_creation_rate", 1}}),
      entry({{"ip", "not an ip"}}, {{"connection_creation_rate", 1}}),
      entry({{"ip", "10.0.0.2"}}, {{"producer_byte_rate", 1}}),
      entry({{"ip", "10.0.0.3"}}, {{"connection_creation_rate", 3e9}}),
      entry({{"user", "nan"}}, {{"request_percentage", std::nan("")}}),
      entry({{"user", "ok"}}, {{"request_percentage", 0.25}}),
  });
  EXPECT_EQ(Quotas::result(r, {{"user", "bob"}}), std::make_pair(kInvalidRequest, std::string("Invalid configuration key bogus_rate")));
  EXPECT_EQ(Quotas::result(r, {{"user", "carol"}}), std::make_pair(kInvalidRequest, std::string("Quota producer_byte_rate must be greater than 0")));
  EXPECT_EQ(Quotas::result(r, {{"user", "dave"}}), std::make_pair(kInvalidRequest, std::string("consumer_byte_rate cannot be a fractional value.")));
  EXPECT_EQ(Quotas::result(r, {{"user", "erin"}}),
            std::make_pair(kInvalidRequest, std::string("Proposed value for producer_byte_rate is too large for a LONG.")));
  EXPECT_EQ(Quotas::result(r, {{"client-id", "c1"}}), std::make_pair(kInvalidRequest, std::string("Invalid configuration key connection_creation_rate")));
  EXPECT_EQ(Quotas::result(r, {{"group", "g"}}), std::make_pair(kInvalidRequest, std::string("Unhandled client quota entity type: group")));
  EXPECT_EQ(Quotas::result(r, {{"user", ""}}), std::make_pair(kInvalidRequest, std::string("Empty user not supported")));
  EXPECT_EQ(Quotas::result(r, {}), std::make_pair(kInvalidRequest, std::string("Invalid empty client quota entity")));
  EXPECT_EQ(Quotas::result(r, {{"ip", "10.0.0.1"}, {"user", "x"}}),
            std::make_pair(kInvalidRequest, std::string("Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId")));
  EXPECT_EQ(Quotas::result(r, {{"ip", "not an ip"}}), std::make_pair(kInvalidRequest, std::string("not an ip is not a valid IP or resolvable host.")));
  EXPECT_EQ(Quotas::result(r, {{"ip", "10.0.0.2"}}), std::make_pair(kInvalidRequest, std::string("Invalid configuration key producer_byte_rate")));
  EXPECT_EQ(Quotas::result(r, {{"ip", "10.0.0.3"}}),
            std::make_pair(kInvalidRequest, std::string("Proposed value for connection_creation_rate is too large for an INT.")));
  EXPECT_EQ(Quotas::result(r, {{"user", "nan"}}), std::make_pair(kInvalidRequest, std::string("Quota request_percentage must be greater than 0")));
  EXPECT_EQ(Quotas::result(r, {{"user", "ok"}}), kOk);
  // Only the valid entry was written: one batch, one record.
  ASSERT_EQ(h.raft.log().size(), batches + 1);
  auto recs = records_of<msg::ClientQuotaRecord>(decode_batch(h.raft.log().back()));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].key, "request_percentage");
  EXPECT_EQ(h.image()->client_quotas().size(), 1u);

  // Nothing valid at all: no batch.
  batches = h.raft.log().size();
  h.alter({entry({{"user", "z"}}, {{"nope", 1}})});
  EXPECT_EQ(h.raft.log().size(), batches);
}

TEST(ControllerClientQuotas, DuplicatesAreRefused) {
  Quotas h;
  size_t batches = h.raft.log().size();
  // A key named twice in one entry, and an entity named in two entries.
  auto r = h.alter({entry({{"user", "a"}}, {{"producer_byte_rate", 1}, {"producer_byte_rate", 2}}),
                    entry({{"client-id", "c"}}, {{"producer_byte_rate", 1}}), entry({{"client-id", "c"}}, {{"consumer_byte_rate", 1}})});
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(Quotas::result(r, {{"user", "a"}}),
            std::make_pair(kInvalidRequest, std::string("Ignoring duplicate entity ClientQuotaEntity(entries={user=a})")));
  EXPECT_EQ(Quotas::result(r, {{"client-id", "c"}}),
            std::make_pair(kInvalidRequest, std::string("Ignoring duplicate entity ClientQuotaEntity(entries={client-id=c})")));
  EXPECT_EQ(h.raft.log().size(), batches);
  EXPECT_TRUE(h.image()->client_quotas().empty());
}

TEST(ControllerClientQuotas, IpQuotasAndValidateOnly) {
  Quotas h;
  size_t batches = h.raft.log().size();
  auto r = h.alter({entry({{"ip", "192.168.0.1"}}, {{"connection_creation_rate", 10}}), entry({{"ip", std::nullopt}}, {{"connection_creation_rate", 20}}),
                    entry({{"ip", "::1"}}, {{"connection_creation_rate", 30}})},
                   true);
  for (const auto& e : r.entries) EXPECT_EQ(e.error_code, kQuotaNone);
  EXPECT_EQ(h.raft.log().size(), batches);  // validate only: nothing written
  EXPECT_TRUE(h.image()->client_quotas().empty());
  r = h.alter({entry({{"ip", "192.168.0.1"}}, {{"connection_creation_rate", 10}})});
  EXPECT_EQ(Quotas::result(r, {{"ip", "192.168.0.1"}}), kOk);
  EXPECT_EQ(h.image()->client_quotas().at(ent({{"ip", "192.168.0.1"}})).at("connection_creation_rate"), 10);
}

TEST(ControllerClientQuotas, RequestsInFlightSeeEachOther) {
  Quotas h;
  // Two requests before anything commits: the second sees the first's value
  // (latest_), so setting the same value again writes nothing.
  msg::AlterClientQuotasRequest a, b;
  a.entries.push_back(entry({{"user", "u"}}, {{"producer_byte_rate", 5}}));
  b.entries.push_back(entry({{"user", "u"}}, {{"producer_byte_rate", 5}}));
  size_t batches = h.raft.log().size();
  std::optional<msg::AlterClientQuotasResponse> ra, rb;
  h.controller->alter_client_quotas(a, 1, [&](auto r) { ra = r; });
  h.controller->alter_client_quotas(b, 1, [&](auto r) { rb = r; });
  h.settle();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->entries.at(0).error_code, kQuotaNone);
  EXPECT_EQ(rb->entries.at(0).error_code, kQuotaNone);
  EXPECT_EQ(h.raft.log().size(), batches + 1);
}

TEST(ControllerClientQuotas, StandbyAnswersNotController) {
  Harness h(metadata::kLatestProductionMetadataVersion, {}, false);
  msg::AlterClientQuotasRequest req;
  req.entries.push_back(entry({{"user", "u"}}, {{"producer_byte_rate", 5}}));
  auto r = h.call<msg::AlterClientQuotasResponse>([&](auto done) { h.controller->alter_client_quotas(req, 1, done); });
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].error_code, static_cast<int16_t>(ErrorCode::NOT_CONTROLLER));
}

TEST(ControllerClientQuotas, AnswerOrderIsKafkasHashMapOrder) {
  // Kafka answers from a HashMap<ClientQuotaEntity, ApiError>: the order of
  // the entities' hashes, not of the request.
  auto img = std::make_shared<const metadata::MetadataImage>();
  msg::AlterClientQuotasRequest req;
  req.entries.push_back(entry({{"user", "alice"}}, {{"producer_byte_rate", 1}}));
  req.entries.push_back(entry({{"client-id", "app"}}, {{"producer_byte_rate", 1}}));
  req.entries.push_back(entry({{"user", "alice"}, {"client-id", "app"}}, {{"producer_byte_rate", 1}}));
  auto plan = plan_client_quota_alteration(*img, req);
  ASSERT_EQ(plan.response.entries.size(), 3u);
  std::vector<int32_t> hashes;
  for (const auto& e : req.entries) {
    ClientQuotaEntity x;
    for (const auto& d : e.entity) x.entries[d.entity_type] = d.entity_name;
    hashes.push_back(security::java_entity_hash(x));
  }
  auto order = security::java_hash_map_order(hashes, -1);
  for (size_t i = 0; i < order.size(); ++i) {
    ClientQuotaEntity got;
    for (const auto& d : plan.response.entries[i].entity) got.entries[d.entity_type] = d.entity_name;
    ClientQuotaEntity want;
    for (const auto& d : req.entries[order[i]].entity) want.entries[d.entity_type] = d.entity_name;
    EXPECT_EQ(got, want);
  }
  EXPECT_EQ(plan.records.size(), 3u);
}
