#include <gtest/gtest.h>

#include "golden.h"

#include "protocol/api.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "roundtrip_cases.h"

using namespace flotilla;

TEST(Messages, EveryMessageRoundTripsAtEveryVersion) {
  auto cases = test::all_roundtrip_cases();
  ASSERT_GT(cases.size(), 200u);
  int checked = 0;
  for (const auto& c : cases) {
    for (int v = c.min_version; v <= c.max_version; ++v) {
      // Several seeds: nullable fields are null for some and set for others.
      for (uint32_t seed : {1u, 2u, 3u, 4u}) {
        std::string err = c.run(static_cast<int16_t>(v), seed);
        ASSERT_EQ(err, "") << c.name << " v" << v << " seed " << seed;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 2000);
}

namespace {
}  // namespace

// Byte-exact goldens: the expected bytes are laid out by hand from the schemas.
TEST(Golden, RequestHeaderV1AndV2) {
  msg::RequestHeader h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 7;
  h.client_id = "ab";
  EXPECT_EQ(golden::encode_of(h, 1), (std::vector<uint8_t>{0, 18, 0, 3, 0, 0, 0, 7, 0, 2, 'a', 'b'}));
  // v2: client id stays an int16-length string (flexibleVersions "none"), then empty tagged fields.
  EXPECT_EQ(golden::encode_of(h, 2), (std::vector<uint8_t>{0, 18, 0, 3, 0, 0, 0, 7, 0, 2, 'a', 'b', 0}));
  h.client_id.reset();
  EXPECT_EQ(golden::encode_of(h, 1), (std::vector<uint8_t>{0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff}));
}

TEST(Golden, ApiVersionsRequestV3) {
  msg::ApiVersionsRequest r;
  r.client_software_name = "k";
  r.client_software_version = "1.0";
  // compact strings: length+1 as uvarint; then empty tagged fields.
  EXPECT_EQ(golden::encode_of(r, 3), (std::vector<uint8_t>{2, 'k', 4, '1', '.', '0', 0}));
  EXPECT_TRUE(golden::encode_of(r, 0).empty());
}

TEST(Golden, ApiVersionsResponseV0AndV3) {
  msg::ApiVersionsResponse r;
  r.error_code = 35;
  msg::ApiVersionsResponse::ApiVersion a;
  a.api_key = 18;
  a.min_version = 0;
  a.max_version = 4;
  r.api_keys.push_back(a);
  EXPECT_EQ(golden::encode_of(r, 0), (std::vector<uint8_t>{0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4}));
  r.throttle_time_ms = 1;
  msg::ApiVersionsResponse::FinalizedFeatureKey f;
  f.name = "m";
  f.max_version_level = 21;
  f.min_version_level = 21;
  r.finalized_features.push_back(f);
  r.finalized_features_epoch = 5;
  std::vector<uint8_t> want = {0, 35,                     // error
                               2,                         // compact array: 1 element
                               0, 18, 0, 0, 0, 4, 0,      // element + its empty tags
                               0, 0, 0, 1,                // throttle
                               2,                         // two tagged fields (1, 2)
                               1, 8, 0, 0, 0, 0, 0, 0, 0, 5,  // tag 1: FinalizedFeaturesEpoch int64
                               2, 8, 2, 2, 'm', 0, 21, 0, 21, 0};  // tag 2 (8 bytes): array of 1 {name, max, min, tags}
  golden::expect_golden(r, 3, want);
}

TEST(Golden, MetadataRequestV1AndV12) {
  msg::MetadataRequest m;
  m.topics.emplace();
  msg::MetadataRequest::MetadataRequestTopic t;
  t.name = "t";
  m.topics->push_back(t);
  EXPECT_EQ(golden::encode_of(m, 1), (std::vector<uint8_t>{0, 0, 0, 1, 0, 1, 't'}));
  m.allow_auto_topic_creation = false;
  std::vector<uint8_t> v12 = {2};                       // compact array of 1
  for (int i = 0; i < 16; ++i) v12.push_back(0);        // topic id (zero uuid)
  v12.insert(v12.end(), {2, 't', 0});                   // compact nullable string + element tags
  v12.insert(v12.end(), {0, 0, 0});                     // allow auto create=false, include topic ops=false, tags
  EXPECT_EQ(golden::encode_of(m, 12), v12);
  m.topics.reset();
  EXPECT_EQ(golden::encode_of(m, 1), (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff}));
}

TEST(Golden, ProduceRequestV3AndV9) {
  msg::ProduceRequest p;
  p.acks = -1;
  p.timeout_ms = 1000;
  msg::ProduceRequest::TopicProduceData td;
  td.name = "t";
  msg::ProduceRequest::PartitionProduceData pd;
  pd.index = 2;
  std::vector<uint8_t> rec = {9, 8, 7};
  pd.records = Records::of_view(rec);
  td.partition_data.push_back(pd);
  p.topic_data.push_back(td);
  std::vector<uint8_t> v3 = {0xff, 0xff, 0xff, 0xfe, 0, 0, 3, 0xe8, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 8, 7};
  v3.insert(v3.begin(), {0xff, 0xff});  // transactional id null
  v3.erase(v3.begin() + 2, v3.begin() + 4);
  std::vector<uint8_t> want3 = {0xff, 0xff, 0xff, 0xff, 0, 0, 3, 0xe8, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 8, 7};
  EXPECT_EQ(golden::encode_of(p, 3), want3);
  std::vector<uint8_t> want9 = {0, 0xff, 0xff, 0, 0, 3, 0xe8, 2, 2, 't', 2, 0, 0, 0, 2, 4, 9, 8, 7, 0, 0, 0};
  golden::expect_golden(p, 9, want9);
}

TEST(Golden, FetchResponseV4AndV12WithTaggedField) {
  msg::FetchResponse f;
  msg::FetchResponse::FetchableTopicResponse t;
  t.topic = "t";
  msg::FetchResponse::PartitionData p;
  p.partition_index = 0;
  p.high_watermark = 5;
  p.records = Records::of_view({});
  t.partitions.push_back(p);
  f.responses.push_back(t);
  std::vector<uint8_t> want4 = {0, 0, 0, 0,                      // throttle
                                0, 0, 0, 1, 0, 1, 't',           // topics
                                0, 0, 0, 1, 0, 0, 0, 0, 0, 0,    // partitions, index, error
                                0, 0, 0, 0, 0, 0, 0, 5,          // hw
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // lso -1
                                0xff, 0xff, 0xff, 0xff,          // aborted txns: null
                                0, 0, 0, 0};                     // records: empty
  EXPECT_EQ(golden::encode_of(f, 4), want4);
  f.responses[0].partitions[0].current_leader.leader_id = 1;
  f.responses[0].partitions[0].current_leader.leader_epoch = 2;
  auto b = golden::encode_of(f, 12);
  // ... partition tail: preferred read replica -1, records (compact, empty = 1), then tags:
  // one tagged field, tag 1, size 9: leader id, leader epoch, empty tags.
  std::vector<uint8_t> tail = {0xff, 0xff, 0xff, 0xff, 1, 1, 1, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
  ASSERT_GT(b.size(), tail.size());
  EXPECT_EQ(std::vector<uint8_t>(b.end() - static_cast<long>(tail.size()), b.end()), tail);
  msg::FetchResponse back;
  ByteReader rd(b);
  back.decode(rd, 12);
  EXPECT_EQ(back.responses[0].partitions[0].current_leader.leader_epoch, 2);
}

TEST(Golden, CreateTopicsRequestV5) {
  msg::CreateTopicsRequest c;
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = "a";
  t.num_partitions = 3;
  t.replication_factor = 1;
  c.topics.push_back(t);
  c.timeout_ms = 1;
  EXPECT_EQ(golden::encode_of(c, 5), (std::vector<uint8_t>{2, 2, 'a', 0, 0, 0, 3, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(Golden, MetadataRecordFraming) {
  msg::TopicRecord t;
  t.name = "a";
  t.topic_id = Uuid{0, 1};
  auto v = protocol::frame_metadata_record(t, 0);
  std::vector<uint8_t> want = {1, 2, 0, 2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  EXPECT_EQ(v, want);
  auto any = protocol::decode_metadata_record(v);
  EXPECT_EQ(any.api_key, 2);
  EXPECT_EQ(std::get<msg::TopicRecord>(any.record), t);
  auto j = protocol::metadata_record_to_json(any);
  EXPECT_EQ(j["type"], "TOPIC_RECORD");
  EXPECT_EQ(j["data"]["name"], "a");
  EXPECT_EQ(j["data"]["topicId"], "AAAAAAAAAAAAAAAAAAAAAQ");

  msg::PartitionRecord p;
  p.partition_id = 1;
  p.topic_id = Uuid{0, 1};
  p.replicas = {1};
  p.isr = {1};
  p.leader = 1;
  p.leader_epoch = 0;
  p.partition_epoch = 0;
  auto pv = protocol::frame_metadata_record(p, 0);
  std::vector<uint8_t> pwant = {1, 3, 0, 0, 0, 0, 1};
  for (int i = 0; i < 15; ++i) pwant.push_back(0);
  pwant.push_back(1);
  pwant.insert(pwant.end(), {2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(pv, pwant);
  EXPECT_THROW(protocol::decode_metadata_record(std::vector<uint8_t>{1, 99, 0}), DecodeError);
  EXPECT_THROW(protocol::decode_metadata_record(std::vector<uint8_t>{2, 2, 0}), DecodeError);
}

TEST(Golden, LeaderChangeMessageV0) {
  msg::LeaderChangeMessage l;
  l.version = 0;
  l.leader_id = 1;
  msg::LeaderChangeMessage::Voter v;
  v.voter_id = 1;
  l.voters.push_back(v);
  l.granting_voters.push_back(v);
  EXPECT_EQ(golden::encode_of(l, 0), (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(protocol::control_record_key(protocol::ControlType::LEADER_CHANGE), (std::vector<uint8_t>{0, 0, 0, 2}));
}

TEST(Golden, QuorumStateDataV0) {
  msg::QuorumStateData q;
  q.cluster_id = "";
  q.leader_id = 1;
  q.leader_epoch = 2;
  q.voted_id = -1;
  q.applied_offset = 0;
  auto b = golden::encode_of(q, 0);
  ASSERT_GE(b.size(), 9u);
  EXPECT_EQ(b[0], 1);  // compact empty string
  EXPECT_EQ((std::vector<uint8_t>(b.begin() + 1, b.begin() + 9)), (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 2}));
}

TEST(Api, HeaderVersionRules) {
  EXPECT_EQ(protocol::request_header_version(0, 8), 1);
  EXPECT_EQ(protocol::request_header_version(0, 9), 2);
  EXPECT_EQ(protocol::request_header_version(7, 0), 0);
  EXPECT_EQ(protocol::response_header_version(18, 3), 0);  // KIP-511
  EXPECT_EQ(protocol::response_header_version(3, 9), 1);
  EXPECT_EQ(protocol::response_header_version(3, 8), 0);
  const auto* p = protocol::api_info(0);
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(p->name, "Produce");
  EXPECT_EQ(p->max_version, 13);  // Kafka 4.1 (v13: topic ids, KIP-516)
  EXPECT_EQ(protocol::api_info(999), nullptr);
}

// Java decodes protocol strings with replacement, so a config name of raw
// 0xFF bytes reaches Kafka's controller as U+FFFD text, never as bytes that
// would break a JSON body, a metric label or a tool's output later.
TEST(Messages, IllFormedUtf8InAStringDecodesAsJavaDoesWithReplacementCharacters) {
  msg::IncrementalAlterConfigsRequest m;
  auto& res = m.resources.emplace_back();
  res.resource_type = 4;
  res.resource_name = "\xC3";
  auto& c = res.configs.emplace_back();
  c.name = "max.messag\xFF\xFF" "es";
  c.value = std::string("gz\x80ip");
  for (int16_t v : {0, 1}) {
    auto bytes = golden::encode_of(m, v);
    msg::IncrementalAlterConfigsRequest back;
    ByteReader rd(bytes);
    back.decode(rd, v);
    EXPECT_EQ(back.resources[0].resource_name, "\xEF\xBF\xBD");
    EXPECT_EQ(back.resources[0].configs[0].name, "max.messag\xEF\xBF\xBD\xEF\xBF\xBD" "es");
    EXPECT_EQ(back.resources[0].configs[0].value, "gz\xEF\xBF\xBDip");
  }
}
