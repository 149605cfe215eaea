// Client quotas in the metadata image: ClientQuotaRecords set and remove keys
// per entity (an entity without keys leaves), deltas report the entities
// they touched, snapshots write and load them, and DescribeClientQuotas is
// answered from the image with Kafka's filter semantics and errors.
#include <gtest/gtest.h>

#include "common/error.h"
#include "metadata/client_quota_describe.h"
#include "metadata/delta.h"
#include "metadata/snapshot.h"
#include "protocol/metadata_record.h"

using namespace flotilla;
using namespace flotilla::metadata;
using security::ClientQuotaEntity;

namespace {

using Name = std::optional<std::string>;

msg::ClientQuotaRecord quota(std::vector<std::pair<std::string, Name>> entity, const std::string& key, double value, bool remove = false) {
  msg::ClientQuotaRecord r;
  for (auto& [t, n] : entity) r.entity.push_back({t, n});
  r.key = key;
  r.value = value;
  r.remove = remove;
  return r;
}

ClientQuotaEntity ent(std::vector<std::pair<std::string, Name>> entries) {
  ClientQuotaEntity e;
  for (auto& [t, n] : entries) e.entries[t] = n;
  return e;
}

std::shared_ptr<const MetadataImage> sample_image() {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.replay(quota({{"user", "alice"}}, "producer_byte_rate", 1048576));
  d.replay(quota({{"user", "alice"}}, "consumer_byte_rate", 2097152));
  d.replay(quota({{"user", std::nullopt}}, "producer_byte_rate", 100));
  d.replay(quota({{"user", "alice"}, {"client-id", "app"}}, "request_percentage", 50));
  d.replay(quota({{"user", std::nullopt}, {"client-id", std::nullopt}}, "producer_byte_rate", 7));
  d.replay(quota({{"client-id", "app"}}, "controller_mutation_rate", 10));
  d.replay(quota({{"client-id", std::nullopt}}, "consumer_byte_rate", 5));
  d.replay(quota({{"ip", "10.0.0.1"}}, "connection_creation_rate", 3));
  d.set_offset(10, 1);
  return d.apply();
}

msg::DescribeClientQuotasRequest filter(std::vector<std::tuple<std::string, int8_t, Name>> components, bool strict) {
  msg::DescribeClientQuotasRequest r;
  for (auto& [t, m, n] : components) r.components.push_back({t, m, n});
  r.strict = strict;
  return r;
}

std::set<ClientQuotaEntity> entities_of(const msg::DescribeClientQuotasResponse& r) {
  std::set<ClientQuotaEntity> out;
  if (!r.entries) return out;
  for (const auto& e : *r.entries) {
    ClientQuotaEntity x;
    for (const auto& d : e.entity) x.entries[d.entity_type] = d.entity_name;
    out.insert(x);
  }
  return out;
}

}  // namespace

TEST(MetadataClientQuotas, RecordsSetAndRemoveKeys) {
  auto img = sample_image();
  ASSERT_EQ(img->client_quotas().size(), 7u);
  const auto& alice = img->client_quotas().at(ent({{"user", "alice"}}));
  EXPECT_EQ(alice.at("producer_byte_rate"), 1048576);
  EXPECT_EQ(alice.at("consumer_byte_rate"), 2097152);
  // A default entity is the type with a null name, distinct from any named one.
  EXPECT_EQ(img->client_quotas().at(ent({{"user", std::nullopt}})).at("producer_byte_rate"), 100);

  MetadataDelta d(img);
  d.replay(quota({{"user", "alice"}}, "producer_byte_rate", 0, true));
  d.replay(quota({{"user", std::nullopt}}, "producer_byte_rate", 0, true));  // its last key: the entity goes
  d.replay(quota({{"user", "bob"}}, "producer_byte_rate", 0, true));         // nothing to remove
  d.replay(quota({{"client-id", "app"}}, "controller_mutation_rate", 20));   // replaced
  auto next = d.apply();
  EXPECT_EQ(next->client_quotas().at(ent({{"user", "alice"}})), (security::ClientQuotaValues{{"consumer_byte_rate", 2097152}}));
  EXPECT_FALSE(next->client_quotas().count(ent({{"user", std::nullopt}})));
  EXPECT_FALSE(next->client_quotas().count(ent({{"user", "bob"}})));
  EXPECT_EQ(next->client_quotas().at(ent({{"client-id", "app"}})).at("controller_mutation_rate"), 20);
  EXPECT_EQ(d.changed_client_quotas().size(), 4u);
  EXPECT_FALSE(d.empty());
  // The base image is untouched.
  EXPECT_EQ(img->client_quotas().size(), 7u);
  EXPECT_EQ(img->client_quotas().at(ent({{"client-id", "app"}})).at("controller_mutation_rate"), 10);
}

TEST(MetadataClientQuotas, DeltasBetweenImagesAndEverything) {
  auto a = sample_image();
  MetadataDelta d(a);
  d.replay(quota({{"user", "alice"}}, "producer_byte_rate", 5));
  d.replay(quota({{"ip", "10.0.0.1"}}, "connection_creation_rate", 0, true));
  auto b = d.apply();
  auto between = MetadataDelta::between(a, b);
  EXPECT_EQ(between.changed_client_quotas(), (std::set<ClientQuotaEntity>{ent({{"user", "alice"}}), ent({{"ip", "10.0.0.1"}})}));
  EXPECT_EQ(MetadataDelta::everything(b).changed_client_quotas().size(), b->client_quotas().size());
  // An unrelated change shares the quota map.
  MetadataDelta d2(b);
  msg::ProducerIdsRecord p;
  p.next_producer_id = 1000;
  d2.replay(p);
  auto c = d2.apply();
  EXPECT_EQ(&c->client_quotas(), &b->client_quotas());
  EXPECT_TRUE(d2.changed_client_quotas().empty());
}

TEST(MetadataClientQuotas, SnapshotRecordsRecreateTheImage) {
  auto img = sample_image();
  auto records = image_records(*img);
  size_t quota_records = 0;
  MetadataDelta d(std::make_shared<const MetadataImage>());
  for (const auto& r : records) {
    auto any = protocol::decode_metadata_record(r);
    if (any.api_key == msg::ClientQuotaRecord::kApiKey) ++quota_records;
    d.replay(any);
  }
  EXPECT_EQ(quota_records, 8u);  // one per key
  EXPECT_EQ(d.apply()->client_quotas(), img->client_quotas());
}

TEST(MetadataClientQuotas, DescribeMatchesExactDefaultAndAny) {
  auto img = sample_image();
  // Exact user, not strict: every entity naming alice as user.
  auto r = describe_client_quotas(*img, filter({{"user", kMatchTypeExact, "alice"}}, false));
  EXPECT_EQ(r.error_code, 0);
  EXPECT_EQ(entities_of(r), (std::set<ClientQuotaEntity>{ent({{"user", "alice"}}), ent({{"user", "alice"}, {"client-id", "app"}})}));
  // ... strict: the user-only entity.
  r = describe_client_quotas(*img, filter({{"user", kMatchTypeExact, "alice"}}, true));
  EXPECT_EQ(entities_of(r), (std::set<ClientQuotaEntity>{ent({{"user", "alice"}})}));
  ASSERT_TRUE(r.entries);
  ASSERT_EQ((*r.entries)[0].values.size(), 2u);
  // Default user, strict.
  r = describe_client_quotas(*img, filter({{"user", kMatchTypeDefault, std::nullopt}}, true));
  EXPECT_EQ(entities_of(r), (std::set<ClientQuotaEntity>{ent({{"user", std::nullopt}})}));
  // Any user, strict: user-only entities, named and default.
  r = describe_client_quotas(*img, filter({{"user", kMatchTypeSpecified, std::nullopt}}, true));
  EXPECT_EQ(entities_of(r), (std::set<ClientQuotaEntity>{ent({{"user", "alice"}}), ent({{"user", std::nullopt}})}));
  // Any user with any client-id (kafka-configs --entity-type users --entity-type clients).
  r = describe_client_quotas(*img, filter({{"user", kMatchTypeSpecified, std::nullopt}, {"client-id", kMatchTypeSpecified, std::nullopt}}, true));
  EXPECT_EQ(entities_of(r), (std::set<ClientQuotaEntity>{ent({{"user", "alice"}, {"client-id", "app"}}),
                                                         ent({{"user", std::nullopt}, {"client-id", std::nullopt}})}));
  // No components, not strict: everything.
  r = describe_client_quotas(*img, filter({}, false));
  EXPECT_EQ(entities_of(r).size(), 7u);
  // No components, strict: nothing (no entity is empty).
  r = describe_client_quotas(*img, filter({}, true));
  ASSERT_TRUE(r.entries);
  EXPECT_TRUE(r.entries->empty());
  // Nothing matches a name without quotas.
  r = describe_client_quotas(*img, filter({{"client-id", kMatchTypeExact, "nobody"}}, false));
  EXPECT_TRUE(r.entries && r.entries->empty());
}

TEST(MetadataClientQuotas, DescribeRefusesBadFilters) {
  auto img = sample_image();
  struct Case {
    msg::DescribeClientQuotasRequest req;
    ErrorCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {filter({{"", kMatchTypeExact, "x"}}, false), ErrorCode::INVALID_REQUEST, "Invalid empty entity type."},
      {filter({{"user", kMatchTypeExact, "a"}, {"user", kMatchTypeSpecified, std::nullopt}}, false), ErrorCode::INVALID_REQUEST,
       "Entity type user cannot appear more than once in the filter."},
      {filter({{"group", kMatchTypeExact, "g"}}, false), ErrorCode::UNSUPPORTED_VERSION, "Unsupported entity type group"},
      {filter({{"user", kMatchTypeExact, std::nullopt}}, false), ErrorCode::INVALID_REQUEST,
       "Request specified MATCH_TYPE_EXACT, but set match string to null."},
      {filter({{"user", kMatchTypeDefault, "a"}}, false), ErrorCode::INVALID_REQUEST,
       "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."},
      {filter({{"user", kMatchTypeSpecified, "a"}}, false), ErrorCode::INVALID_REQUEST,
       "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."},
      {filter({{"user", 7, std::nullopt}}, false), ErrorCode::INVALID_REQUEST, "Unknown match type 7"},
      {filter({{"ip", kMatchTypeSpecified, std::nullopt}, {"client-id", kMatchTypeExact, "c"}}, false), ErrorCode::INVALID_REQUEST,
       "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."},
  };
  for (const auto& c : cases) {
    auto r = describe_client_quotas(*img, c.req);
    EXPECT_EQ(r.error_code, code(c.code)) << c.message;
    EXPECT_EQ(r.error_message, c.message);
    EXPECT_FALSE(r.entries.has_value());
  }
}
