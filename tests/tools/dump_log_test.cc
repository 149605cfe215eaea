// `flotilla dump-log`: its output on segments and snapshots built here, compared
// with what Kafka 3.9's kafka-dump-log.sh prints for the same files (the
// golden texts below were produced by Kafka's own record and JSON-converter
// classes on these exact bytes); the Java/Jackson formatting helpers; the
// metadata-record decoder's error texts; compressed batches; the flags.
//
// Set FLOTILLA_DUMP_LOG_GOLDEN_DIR to keep the files the goldens are made of
// (to re-check them against Kafka's tool).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/dump_log.h"

using namespace flotilla;
using namespace flotilla::tools;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> vec(const std::string& s) { return {s.begin(), s.end()}; }

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/flotilla-dumplog-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::vector<uint8_t>& data) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

void append(std::vector<uint8_t>& out, const std::vector<uint8_t>& batch) { out.insert(out.end(), batch.begin(), batch.end()); }

void keep_for_golden(const fs::path& p) {
  if (const char* d = std::getenv("FLOTILLA_DUMP_LOG_GOLDEN_DIR")) fs::copy_file(p, fs::path(d) / p.filename(), fs::copy_options::overwrite_existing);
}

struct Run {
  int rc;
  std::string out, err;
};

Run dump(const std::vector<std::string>& args) {
  Cli cli;
  std::vector<std::string> a = {"dump-log"};
  a.insert(a.end(), args.begin(), args.end());
  auto rc = cli.parse(a);
  EXPECT_FALSE(rc.has_value());
  std::ostringstream out, err;
  int code = run_dump_log(cli.dump_log, out, err);
  return {code, out.str(), err.str()};
}

template <class T>
std::vector<uint8_t> control_value(const T& m) {
  ByteWriter w;
  m.encode(w, 0);
  return std::move(w).take();
}

// A __cluster_metadata-0 segment as Flotilla writes it: a LeaderChange
// control batch, then batches of framed metadata records.
std::vector<uint8_t> metadata_segment() {
  std::vector<uint8_t> out;
  {
    records::BatchBuilder b(records::Compression::NONE, 0);
    b.set_control(true);
    b.set_partition_leader_epoch(1);
    msg::LeaderChangeMessage lc;
    lc.leader_id = 1;
    msg::LeaderChangeMessage::Voter v;
    v.voter_id = 1;
    lc.voters.push_back(v);
    lc.granting_voters.push_back(v);
    auto key = protocol::control_record_key(protocol::ControlType::LEADER_CHANGE);
    auto value = control_value(lc);
    b.add(1700000000000, key, value);
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 1);
    b.set_partition_leader_epoch(1);
    msg::FeatureLevelRecord f;
    f.name = "metadata.version";
    f.feature_level = 21;
    auto fv = protocol::frame_metadata_record(f, 0);
    b.add(1700000000010, std::nullopt, fv);
    msg::RegisterBrokerRecord r;
    r.broker_id = 1;
    r.incarnation_id = Uuid{0x0123456789abcdefULL, 0x1122334455667788ULL};
    r.broker_epoch = 2;
    msg::RegisterBrokerRecord::BrokerEndpoint ep;
    ep.name = "PLAINTEXT";
    ep.host = "localhost";
    ep.port = 9092;
    r.end_points.push_back(ep);
    msg::RegisterBrokerRecord::BrokerFeature feat;
    feat.name = "metadata.version";
    feat.min_supported_version = 1;
    feat.max_supported_version = 21;
    r.features.push_back(feat);
    r.rack = std::nullopt;
    r.log_dirs = {Uuid{1, 2}};
    auto rv = protocol::frame_metadata_record(r, 3);
    b.add(1700000000010, std::nullopt, rv);
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 3);
    b.set_partition_leader_epoch(1);
    msg::TopicRecord t;
    t.name = "orders \"eu\"";
    t.topic_id = Uuid{0x5555555555555555ULL, 0xaaaaaaaaaaaaaaaaULL};
    b.add(1700000000020, std::nullopt, protocol::frame_metadata_record(t, 0));
    msg::PartitionRecord p;
    p.partition_id = 0;
    p.topic_id = t.topic_id;
    p.replicas = {1, 2};
    p.isr = {1, 2};
    p.leader = 1;
    p.leader_epoch = 0;
    p.partition_epoch = 0;
    p.directories = {Uuid{}, Uuid{}};
    b.add(1700000000020, std::nullopt, protocol::frame_metadata_record(p, 1));
    msg::PartitionChangeRecord c;
    c.partition_id = 0;
    c.topic_id = t.topic_id;
    c.isr = std::vector<int32_t>{1, 2};
    c.leader = 2;
    b.add(1700000000021, std::nullopt, protocol::frame_metadata_record(c, 0));
    msg::ConfigRecord cfg;
    cfg.resource_type = 2;
    cfg.resource_name = t.name;
    cfg.name = "cleanup.policy";
    cfg.value = std::nullopt;
    b.add(1700000000022, std::nullopt, protocol::frame_metadata_record(cfg, 0));
    msg::ClientQuotaRecord q;
    msg::ClientQuotaRecord::EntityData e;
    e.entity_type = "user";
    e.entity_name = std::nullopt;
    q.entity.push_back(e);
    q.key = "producer_byte_rate";
    q.value = 10485760.0;
    b.add(1700000000023, std::nullopt, protocol::frame_metadata_record(q, 0));
    // Not a metadata record: the decoder reports it and goes on.
    b.add(1700000000024, std::nullopt, std::vector<uint8_t>{1, 99, 0});
    b.add(1700000000025, std::nullopt, std::vector<uint8_t>{1, 2, 0, 2, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 7});
    append(out, b.build());
  }
  return out;
}

// A KRaft snapshot: SnapshotHeader, KRaftVersion + Voters, records, SnapshotFooter.
std::vector<uint8_t> snapshot_file() {
  std::vector<uint8_t> out;
  {
    records::BatchBuilder b(records::Compression::NONE, 0);
    b.set_control(true);
    msg::SnapshotHeaderRecord h;
    h.last_contained_log_timestamp = 1700000000999;
    b.add(1700000001000, protocol::control_record_key(protocol::ControlType::SNAPSHOT_HEADER), control_value(h));
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 1);
    b.set_control(true);
    msg::KRaftVersionRecord k;
    k.k_raft_version = 1;
    b.add(1700000001000, protocol::control_record_key(protocol::ControlType::KRAFT_VERSION), control_value(k));
    msg::VotersRecord v;
    msg::VotersRecord::Voter voter;
    voter.voter_id = 1;
    voter.voter_directory_id = Uuid{7, 8};
    msg::VotersRecord::Endpoint ep;
    ep.name = "CONTROLLER";
    ep.host = "localhost";
    ep.port = 9093;
    voter.endpoints.push_back(ep);
    voter.k_raft_version_feature.min_supported_version = 0;
    voter.k_raft_version_feature.max_supported_version = 1;
    v.voters.push_back(voter);
    b.add(1700000001000, protocol::control_record_key(protocol::ControlType::KRAFT_VOTERS), control_value(v));
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 3);
    msg::FeatureLevelRecord f;
    f.name = "metadata.version";
    f.feature_level = 21;
    b.add(1700000001000, std::nullopt, protocol::frame_metadata_record(f, 0));
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 4);
    b.set_control(true);
    msg::SnapshotFooterRecord f;
    b.add(1700000001000, protocol::control_record_key(protocol::ControlType::SNAPSHOT_FOOTER), control_value(f));
    append(out, b.build());
  }
  return out;
}

// A data partition: keys, null values, headers, a non-UTF-8 value, an
// idempotent batch, a transaction's COMMIT marker, a LogAppendTime batch, a
// gap in the offsets, and a torn tail.
std::vector<uint8_t> data_segment(size_t* torn = nullptr) {
  std::vector<uint8_t> out;
  {
    records::BatchBuilder b(records::Compression::NONE, 100);
    b.set_partition_leader_epoch(0);
    b.add(1700000000000, vec("k1"), vec("hello"));
    b.add(1700000000005, std::nullopt, vec("tab\there"), {{"trace", vec("x")}, {"h2", std::nullopt}});
    b.add(1700000000003, vec("k3"), std::nullopt);
    b.add(1700000000004, std::nullopt, std::vector<uint8_t>{'a', 0xC3, 0x28, 0xED, 0xA0, 0x80, 'z', 0xE2, 0x82});
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 104);
    b.set_partition_leader_epoch(3);
    b.set_producer(4000, 2, 2147483646);  // the sequence wraps past INT32_MAX
    b.set_transactional(true);
    b.add(1700000000100, vec("tx"), vec("a"));
    b.add(1700000000101, vec("tx"), vec("b"));
    b.add(1700000000102, vec("tx"), vec("c"));
    append(out, b.build());
  }
  {
    records::BatchBuilder b(records::Compression::NONE, 107);
    b.set_partition_leader_epoch(3);
    b.set_producer(4000, 2, -1);
    b.set_transactional(true);
    b.set_control(true);
    ByteWriter v;
    v.put_i16(0);
    v.put_i32(5);  // coordinator epoch
    b.add(1700000000103, protocol::control_record_key(protocol::ControlType::COMMIT), std::move(v).take());
    append(out, b.build());
  }
  {
    // Offsets 120.. after a gap (compaction), LogAppendTime.
    records::BatchBuilder b(records::Compression::NONE, 120);
    b.set_partition_leader_epoch(4);
    b.add(1700000000200, vec("late"), vec("x"));
    b.add(1700000000201, vec("late"), vec("y"));
    auto batch = b.build();
    auto val = records::validate_batches(batch, 1 << 20);
    EXPECT_EQ(val.error, ErrorCode::NONE);
    records::set_log_append_time(batch, val, 1700000009999);
    append(out, batch);
  }
  if (torn) {
    records::BatchBuilder b(records::Compression::NONE, 122);
    b.add(1700000000300, std::nullopt, vec("cut"));
    auto batch = b.build();
    *torn = batch.size() - 5;
    out.insert(out.end(), batch.begin(), batch.end() - 5);
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------ Java/Jackson formatting

TEST(DumpLogFormat, JavaDoubleToString) {
  // Each as Java's Double.toString prints it (checked with JDK 17 and 25).
  EXPECT_EQ(java_double_to_string(1.0), "1.0");
  EXPECT_EQ(java_double_to_string(0.001), "0.001");
  EXPECT_EQ(java_double_to_string(1.0E-4), "1.0E-4");
  EXPECT_EQ(java_double_to_string(1.0E7), "1.0E7");
  EXPECT_EQ(java_double_to_string(1234567.0), "1234567.0");
  EXPECT_EQ(java_double_to_string(1.23456789E7), "1.23456789E7");
  EXPECT_EQ(java_double_to_string(0.1), "0.1");
  EXPECT_EQ(java_double_to_string(-2.5), "-2.5");
  EXPECT_EQ(java_double_to_string(4.9E-324), "4.9E-324");
  EXPECT_EQ(java_double_to_string(100.0), "100.0");
  EXPECT_EQ(java_double_to_string(1048576.0), "1048576.0");
  EXPECT_EQ(java_double_to_string(10485760.0), "1.048576E7");
  EXPECT_EQ(java_double_to_string(2.0 / 3), "0.6666666666666666");
  EXPECT_EQ(java_double_to_string(1e21), "1.0E21");
  EXPECT_EQ(java_double_to_string(123.456), "123.456");
  EXPECT_EQ(java_double_to_string(std::numeric_limits<double>::max()), "1.7976931348623157E308");
  EXPECT_EQ(java_double_to_string(9999999.999), "9999999.999");
  EXPECT_EQ(java_double_to_string(0.00099), "9.9E-4");
  EXPECT_EQ(java_double_to_string(0.0), "0.0");
  EXPECT_EQ(java_double_to_string(-0.0), "-0.0");
  EXPECT_EQ(java_double_to_string(std::nan("")), "NaN");
  EXPECT_EQ(java_double_to_string(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(DumpLogFormat, JavaUtf8Replacement) {
  // As new String(bytes, UTF_8) decodes them (checked against JDK 17 and 25
  // on every sequence of up to four bytes of an alphabet of boundary bytes).
  auto j = [](std::vector<uint8_t> b) { return java_utf8(b); };
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(j({'a', 'b'}), "ab");
  EXPECT_EQ(j({0xC3, 0xA9}), "\xC3\xA9");
  EXPECT_EQ(j({0xF0, 0x9F, 0x98, 0x80}), "\xF0\x9F\x98\x80");
  EXPECT_EQ(j({0xC3, 0x28}), R + "(");
  EXPECT_EQ(j({0xED, 0xA0, 0x80}), R);              // a surrogate: one replacement for three bytes
  EXPECT_EQ(j({0xE0, 0x80, 0x80}), R + R + R);      // overlong: each byte alone
  EXPECT_EQ(j({0xE2, 0x82}), R);                    // truncated at the end
  EXPECT_EQ(j({0xE2, 0x82, 'a'}), R + "a");
  EXPECT_EQ(j({0xF0, 0x9F, 0x98}), R);              // truncated four-byte sequence
  EXPECT_EQ(j({0xF0, 0x9F, 'a', 'b'}), R + "ab");
  EXPECT_EQ(j({0xF5, 0x80, 0x80, 0x80}), R + R + R + R);
  EXPECT_EQ(j({0x80, 0xC0, 0xC1, 0xFF}), R + R + R + R);
  EXPECT_EQ(j({0xC2}), R);
}

TEST(DumpLogFormat, JacksonJson) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["s"] = std::string("a\"b\\c\b\t\n\f\r\x01\x1f\x7f/\xC3\xA9");
  j["d"] = 1e7;
  j["n"] = std::nan("");
  j["z"] = nullptr;
  j["a"] = nlohmann::ordered_json::array({1, -2, true});
  j["o"] = nlohmann::ordered_json::object();
  // Jackson's ObjectNode.toString for the same nodes (insertion order kept).
  EXPECT_EQ(jackson_json(j), "{\"s\":\"a\\\"b\\\\c\\b\\t\\n\\f\\r\\u0001\\u001F\x7f/\xC3\xA9\",\"d\":1.0E7,\"n\":\"NaN\",\"z\":null,"
                             "\"a\":[1,-2,true],\"o\":{}}");
  // Invalid UTF-8 in a string is shown as Java holds it (replaced).
  EXPECT_EQ(jackson_json(nlohmann::ordered_json(std::string("x\xFFy"))), "\"x\xEF\xBF\xBDy\"");
}

// ------------------------------------------------------------ metadata records

TEST(DumpLogMetadata, RecordsAsKafkasJsonConverters) {
  msg::PartitionChangeRecord c;
  c.partition_id = 3;
  c.topic_id = Uuid{0, 1};
  c.isr = std::vector<int32_t>{1, 2};
  c.leader = 2;
  // Tagged fields at their defaults (replicas, removing/adding, recovery state) are left out.
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(c, 0), 7),
            "{\"type\":\"PARTITION_CHANGE_RECORD\",\"version\":0,\"data\":{\"partitionId\":3,\"topicId\":\"AAAAAAAAAAAAAAAAAAAAAQ\","
            "\"isr\":[1,2],\"leader\":2}}");
  c.leader = -2;
  c.leader_recovery_state = 1;
  c.directories = std::vector<Uuid>{Uuid{0, 2}};
  // Version 0 has no directories: not written even though set.
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(c, 0), 7),
            "{\"type\":\"PARTITION_CHANGE_RECORD\",\"version\":0,\"data\":{\"partitionId\":3,\"topicId\":\"AAAAAAAAAAAAAAAAAAAAAQ\","
            "\"isr\":[1,2],\"leaderRecoveryState\":1}}");

  msg::BrokerRegistrationChangeRecord b;
  b.broker_id = 1;
  b.broker_epoch = 5;
  b.fenced = -1;
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(b, 2), 0),
            "{\"type\":\"BROKER_REGISTRATION_CHANGE_RECORD\",\"version\":2,\"data\":{\"brokerId\":1,\"brokerEpoch\":5,\"fenced\":-1}}");

  msg::UserScramCredentialRecord u;
  u.name = "alice";
  u.mechanism = 1;
  u.salt = {1, 2, 3, 4};
  u.stored_key = {0xff};
  u.server_key = {};
  u.iterations = 4096;
  EXPECT_EQ(format_metadata_record(protocol::frame_metadata_record(u, 0), 0),
            "{\"type\":\"USER_SCRAM_CREDENTIAL_RECORD\",\"version\":0,\"data\":{\"name\":\"alice\",\"mechanism\":1,"
            "\"salt\":\"AQIDBA==\",\"storedKey\":\"/w==\",\"serverKey\":\"\",\"iterations\":4096}}");
}

TEST(DumpLogMetadata, UndecodableValuesAreReportedAsKafkaReportsThem) {
  auto f = [](std::vector<uint8_t> v) { return format_metadata_record(v, 42); };
  EXPECT_EQ(f({0, 2, 0}),
            "Error at 42, skipping. Could not deserialize metadata record with frame version 0. Note that upgrades from the "
            "preview release of KRaft in 2.8 to newer versions are not supported.");
  EXPECT_EQ(f({2, 2, 0}),
            "Error at 42, skipping. Could not deserialize metadata record due to unknown frame version 2(only frame version 1 "
            "is supported)");
  EXPECT_EQ(f({1, 99, 0}),
            "Error at 42, skipping. org.apache.kafka.common.errors.UnsupportedVersionException: Unknown metadata id 99");
  EXPECT_EQ(f({1, 2, 9}), "Error at 42, skipping. Failed to deserialize record with type 2");
  EXPECT_EQ(f({1, 2}), "Error at 42, skipping. Error while reading version");
  EXPECT_EQ(f({1, 0xff, 0xff, 0x03}), "Error at 42, skipping. Value for type was too large.");
  EXPECT_EQ(f({}), "Error at 42, skipping. Error while reading frame version");
  EXPECT_EQ(format_metadata_record(std::nullopt, 42), "Error at 42, skipping. Error while reading frame version");
  auto t = protocol::frame_metadata_record(msg::TopicRecord{}, 0);
  t.push_back(0);
  t.push_back(0);
  EXPECT_EQ(f(t), "Error at 42, skipping. Found 2 byte(s) of garbage after 2");
}

// ------------------------------------------------------------ whole files (goldens)

TEST(DumpLogGolden, MetadataSegmentWithClusterMetadataDecoder) {
  TempDir dir;
  auto file = dir.path() / "00000000000000000000.log";
  write_file(file, metadata_segment());
  keep_for_golden(file);
  auto r = dump({"--cluster-metadata-decoder", "--files", file.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string golden =
      R"GOLDEN(Log starting offset: 0)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 0 lastOffset: 0 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: true deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000000 size: 91 magic: 2 compresscodec: none crc: 290777849 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: 19 sequence: -1 headerKeys: [] controlType: LEADER_CHANGE(2))GOLDEN" "\n"
      R"GOLDEN(baseOffset: 1 lastOffset: 2 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 91 CreateTime: 1700000000010 size: 204 magic: 2 compresscodec: none crc: 2633684448 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 1 CreateTime: 1700000000010 keySize: -1 valueSize: 23 sequence: -1 headerKeys: [] payload: {"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}})GOLDEN" "\n"
      R"GOLDEN(| offset: 2 CreateTime: 1700000000010 keySize: -1 valueSize: 104 sequence: -1 headerKeys: [] payload: {"type":"REGISTER_BROKER_RECORD","version":3,"data":{"brokerId":1,"isMigratingZkBroker":false,"incarnationId":"ASNFZ4mrze8RIjNEVWZ3iA","brokerEpoch":2,"endPoints":[{"name":"PLAINTEXT","host":"localhost","port":9092,"securityProtocol":0}],"features":[{"name":"metadata.version","minSupportedVersion":1,"maxSupportedVersion":21}],"rack":null,"fenced":true,"inControlledShutdown":false,"logDirs":["AAAAAAAAAAEAAAAAAAAAAg"]}})GOLDEN" "\n"
      R"GOLDEN(baseOffset: 3 lastOffset: 9 count: 7 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 295 CreateTime: 1700000000025 size: 373 magic: 2 compresscodec: none crc: 699787947 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 3 CreateTime: 1700000000020 keySize: -1 valueSize: 32 sequence: -1 headerKeys: [] payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders \"eu\"","topicId":"VVVVVVVVVVWqqqqqqqqqqg"}})GOLDEN" "\n"
      R"GOLDEN(| offset: 4 CreateTime: 1700000000020 keySize: -1 valueSize: 89 sequence: -1 headerKeys: [] payload: {"type":"PARTITION_RECORD","version":1,"data":{"partitionId":0,"topicId":"VVVVVVVVVVWqqqqqqqqqqg","replicas":[1,2],"isr":[1,2],"removingReplicas":[],"addingReplicas":[],"leader":1,"leaderEpoch":0,"partitionEpoch":0,"directories":["AAAAAAAAAAAAAAAAAAAAAA","AAAAAAAAAAAAAAAAAAAAAA"]}})GOLDEN" "\n"
      R"GOLDEN(| offset: 5 CreateTime: 1700000000021 keySize: -1 valueSize: 41 sequence: -1 headerKeys: [] payload: {"type":"PARTITION_CHANGE_RECORD","version":0,"data":{"partitionId":0,"topicId":"VVVVVVVVVVWqqqqqqqqqqg","isr":[1,2],"leader":2}})GOLDEN" "\n"
      R"GOLDEN(| offset: 6 CreateTime: 1700000000022 keySize: -1 valueSize: 33 sequence: -1 headerKeys: [] payload: {"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"orders \"eu\"","name":"cleanup.policy","value":null}})GOLDEN" "\n"
      R"GOLDEN(| offset: 7 CreateTime: 1700000000023 keySize: -1 valueSize: 40 sequence: -1 headerKeys: [] payload: {"type":"CLIENT_QUOTA_RECORD","version":0,"data":{"entity":[{"entityType":"user","entityName":null}],"key":"producer_byte_rate","value":1.048576E7,"remove":false}})GOLDEN" "\n"
      R"GOLDEN(| offset: 8 CreateTime: 1700000000024 keySize: -1 valueSize: 3 sequence: -1 headerKeys: [] payload: Error at 8, skipping. org.apache.kafka.common.errors.UnsupportedVersionException: Unknown metadata id 99)GOLDEN" "\n"
      R"GOLDEN(| offset: 9 CreateTime: 1700000000025 keySize: -1 valueSize: 23 sequence: -1 headerKeys: [] payload: Error at 9, skipping. Found 1 byte(s) of garbage after 2)GOLDEN" "\n";
  EXPECT_EQ(r.out, "Dumping " + file.string() + "\n" + golden);
}

TEST(DumpLogGolden, SnapshotWithClusterMetadataDecoder) {
  TempDir dir;
  auto file = dir.path() / "00000000000000000005-0000000002.checkpoint";
  write_file(file, snapshot_file());
  keep_for_golden(file);
  auto r = dump({"--cluster-metadata-decoder", "--files", file.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string golden =
      R"GOLDEN(Snapshot end offset: 5, epoch: 2)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 0 lastOffset: 0 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: true deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000001000 size: 83 magic: 2 compresscodec: none crc: 1572019853 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 0 CreateTime: 1700000001000 keySize: 4 valueSize: 11 sequence: -1 headerKeys: [] SnapshotHeader {"version":0,"lastContainedLogTimestamp":1700000000999})GOLDEN" "\n"
      R"GOLDEN(baseOffset: 1 lastOffset: 2 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: true deleteHorizonMs: OptionalLong.empty position: 83 CreateTime: 1700000001000 size: 144 magic: 2 compresscodec: none crc: 2904586648 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 1 CreateTime: 1700000001000 keySize: 4 valueSize: 5 sequence: -1 headerKeys: [] KRaftVersion {"version":0,"kRaftVersion":1})GOLDEN" "\n"
      R"GOLDEN(| offset: 2 CreateTime: 1700000001000 keySize: 4 valueSize: 55 sequence: -1 headerKeys: [] KRaftVoters {"version":0,"voters":[{"voterId":1,"voterDirectoryId":"AAAAAAAAAAcAAAAAAAAACA","endpoints":[{"name":"CONTROLLER","host":"localhost","port":9093}],"kRaftVersionFeature":{"minSupportedVersion":0,"maxSupportedVersion":1}}]})GOLDEN" "\n"
      R"GOLDEN(baseOffset: 3 lastOffset: 3 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 227 CreateTime: 1700000001000 size: 91 magic: 2 compresscodec: none crc: 879363939 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 3 CreateTime: 1700000001000 keySize: -1 valueSize: 23 sequence: -1 headerKeys: [] payload: {"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":21}})GOLDEN" "\n"
      R"GOLDEN(baseOffset: 4 lastOffset: 4 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: true deleteHorizonMs: OptionalLong.empty position: 318 CreateTime: 1700000001000 size: 75 magic: 2 compresscodec: none crc: 1321882831 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 4 CreateTime: 1700000001000 keySize: 4 valueSize: 3 sequence: -1 headerKeys: [] SnapshotFooter {"version":0})GOLDEN" "\n";
  EXPECT_EQ(r.out, "Dumping " + file.string() + "\n" + golden);
}

TEST(DumpLogGolden, DataSegmentWithPrintDataLog) {
  TempDir dir;
  auto file = dir.path() / "00000000000000000100.log";
  write_file(file, data_segment());
  keep_for_golden(file);
  auto r = dump({"--print-data-log", "--files", file.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string golden =
      R"GOLDEN(Log starting offset: 100)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 100 lastOffset: 103 count: 4 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000005 size: 127 magic: 2 compresscodec: none crc: 2541700784 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 100 CreateTime: 1700000000000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: [] key: k1 payload: hello)GOLDEN" "\n"
      R"GOLDEN(| offset: 101 CreateTime: 1700000000005 keySize: -1 valueSize: 8 sequence: -1 headerKeys: [trace,h2] payload: tab	here)GOLDEN" "\n"
      R"GOLDEN(| offset: 102 CreateTime: 1700000000003 keySize: 2 valueSize: -1 sequence: -1 headerKeys: [] key: k3)GOLDEN" "\n"
      R"GOLDEN(| offset: 103 CreateTime: 1700000000004 keySize: -1 valueSize: 9 sequence: -1 headerKeys: [] payload: a�(�z�)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 104 lastOffset: 106 count: 3 baseSequence: 2147483646 lastSequence: 0 producerId: 4000 producerEpoch: 2 partitionLeaderEpoch: 3 isTransactional: true isControl: false deleteHorizonMs: OptionalLong.empty position: 127 CreateTime: 1700000000102 size: 91 magic: 2 compresscodec: none crc: 3537911922 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 104 CreateTime: 1700000000100 keySize: 2 valueSize: 1 sequence: 2147483646 headerKeys: [] key: tx payload: a)GOLDEN" "\n"
      R"GOLDEN(| offset: 105 CreateTime: 1700000000101 keySize: 2 valueSize: 1 sequence: 2147483647 headerKeys: [] key: tx payload: b)GOLDEN" "\n"
      R"GOLDEN(| offset: 106 CreateTime: 1700000000102 keySize: 2 valueSize: 1 sequence: 0 headerKeys: [] key: tx payload: c)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 107 lastOffset: 107 count: 1 baseSequence: -1 lastSequence: -1 producerId: 4000 producerEpoch: 2 partitionLeaderEpoch: 3 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty position: 218 CreateTime: 1700000000103 size: 78 magic: 2 compresscodec: none crc: 2189561865 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 107 CreateTime: 1700000000103 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 5)GOLDEN" "\n"
      R"GOLDEN(baseOffset: 120 lastOffset: 121 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 4 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 296 LogAppendTime: 1700000009999 size: 85 magic: 2 compresscodec: none crc: 1603356909 isvalid: true)GOLDEN" "\n"
      R"GOLDEN(| offset: 120 LogAppendTime: 1700000009999 keySize: 4 valueSize: 1 sequence: -1 headerKeys: [] key: late payload: x)GOLDEN" "\n"
      R"GOLDEN(| offset: 121 LogAppendTime: 1700000009999 keySize: 4 valueSize: 1 sequence: -1 headerKeys: [] key: late payload: y)GOLDEN" "\n";
  EXPECT_EQ(r.out, "Dumping " + file.string() + "\n" + golden);
  // Offsets 107 -> 120 skip: reported on stderr after the dump, as Kafka does.
  EXPECT_EQ(r.err, "Non-consecutive offsets in " + file.string() + "\n  107 is followed by 120\n");
}

TEST(DumpLogGolden, BatchesOnlyAndTornTail) {
  TempDir dir;
  auto file = dir.path() / "00000000000000000100.log";
  size_t torn = 0;
  write_file(file, data_segment(&torn));
  auto r = dump({"--files", file.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  // No record lines without --deep-iteration; the torn batch is counted.
  EXPECT_EQ(r.out.find("| offset"), std::string::npos);
  EXPECT_NE(r.out.find("Found " + std::to_string(torn) + " invalid bytes at the end of 00000000000000000100.log\n"), std::string::npos);
  // --max-bytes stops early and says nothing about the rest.
  auto m = dump({"--max-bytes", "200", "--files", file.string()});
  EXPECT_EQ(m.rc, 0);
  EXPECT_EQ(m.out.find("invalid bytes"), std::string::npos);
  EXPECT_EQ(std::count(m.out.begin(), m.out.end(), '\n'), 3);  // Dumping, starting offset, one batch
}

// ------------------------------------------------------------ behaviours

TEST(DumpLog, CompressedBatchesPrintTheirRecords) {
  TempDir dir;
  for (auto c : {records::Compression::GZIP, records::Compression::SNAPPY, records::Compression::LZ4, records::Compression::ZSTD}) {
    records::BatchBuilder plain(records::Compression::NONE, 0), packed(c, 0);
    for (int i = 0; i < 20; ++i) {
      std::string v = "value-" + std::to_string(i) + std::string(50, 'x');
      plain.add(1700000000000 + i, vec("k" + std::to_string(i)), vec(v), {{"h", vec("v")}});
      packed.add(1700000000000 + i, vec("k" + std::to_string(i)), vec(v), {{"h", vec("v")}});
    }
    auto a = dir.path() / "00000000000000000000.log";
    auto b = dir.path() / "00000000000000000001.log";  // (any name: only the starting offset differs)
    write_file(a, plain.build());
    write_file(b, packed.build());
    auto ra = dump({"--print-data-log", "--files", a.string()});
    auto rb = dump({"--print-data-log", "--files", b.string()});
    ASSERT_EQ(rb.rc, 0) << rb.err;
    const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    EXPECT_NE(rb.out.find(std::string("compresscodec: ") + names[static_cast<int>(c)] + " crc: "), std::string::npos);
    EXPECT_NE(rb.out.find("isvalid: true"), std::string::npos);
    // The record lines are those of the same records uncompressed.
    auto records_of = [](const std::string& s) { return s.substr(s.find("\n| ")); };
    EXPECT_EQ(records_of(ra.out), records_of(rb.out)) << names[static_cast<int>(c)];
  }
}

TEST(DumpLog, CorruptBatchIsMarkedInvalid) {
  TempDir dir;
  records::BatchBuilder b(records::Compression::NONE, 0);
  b.add(1, std::nullopt, vec("abc"));
  auto batch = b.build();
  batch[batch.size() - 2] ^= 0x01;  // the value's last byte (before the header count): the CRC no longer matches
  auto file = dir.path() / "00000000000000000000.log";
  write_file(file, batch);
  auto r = dump({"--print-data-log", "--files", file.string()});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("isvalid: false"), std::string::npos);
  EXPECT_NE(r.out.find("payload: abb"), std::string::npos);
}

TEST(DumpLog, PreallocatedZeroTailEndsTheLogQuietly) {
  TempDir dir;
  auto data = metadata_segment();
  size_t size = data.size();
  data.resize(size + 256 * 1024, 0);
  auto file = dir.path() / "00000000000000000000.log";
  write_file(file, data);
  auto r = dump({"--cluster-metadata-decoder", "--files", file.string()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("invalid bytes"), std::string::npos);
  EXPECT_NE(r.out.find("TOPIC_RECORD"), std::string::npos);
}

TEST(DumpLog, BadBatchSizeStopsWithAnError) {
  TempDir dir;
  auto data = metadata_segment();
  std::vector<uint8_t> junk(40, 0);
  junk[11] = 3;  // batch length 3: below Kafka's minimum record overhead
  junk[20] = 1;
  data.insert(data.end(), junk.begin(), junk.end());
  auto file = dir.path() / "00000000000000000000.log";
  write_file(file, data);
  auto r = dump({"--files", file.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("baseOffset: 3 "), std::string::npos);  // what came before is printed
  EXPECT_NE(r.err.find("Found record size 3 smaller than minimum record overhead (14) in file " + file.string()), std::string::npos)
      << r.err;
}

TEST(DumpLog, FilesDecodersAndSkipRecordMetadata) {
  TempDir dir;
  records::BatchBuilder b(records::Compression::NONE, 0);
  ByteWriter k, v;
  k.put_i64(-5);
  v.put_i32(258);
  b.add(1, std::move(k).take(), std::move(v).take());
  auto file = dir.path() / "00000000000000000000.log";
  write_file(file, b.build());
  auto other = dir.path() / "notes.txt";
  write_file(other, vec("x"));
  auto r = dump({"--key-decoder-class", "kafka.serializer.LongDecoder", "--value-decoder-class", "org.apache.kafka.tools.api.IntegerDecoder",
                 "--skip-record-metadata", "--files", file.string() + "," + other.string() + ","});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("baseOffset")),
            "Dumping " + file.string() + "\n" +
                "kafka.serializer.LongDecoder is deprecated. Please use org.apache.kafka.tools.api.LongDecoder instead\n"
                "Log starting offset: 0\n");
  EXPECT_NE(r.out.find("\n| key: -5 payload: 258\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Dumping " + other.string() + "\n"), std::string::npos);
  EXPECT_EQ(r.err, "Ignoring unknown file " + other.string() + "\n");

  auto bad = dump({"--value-decoder-class", "com.example.Foo", "--files", file.string()});
  EXPECT_EQ(bad.rc, 1);
  auto missing = dump({"--files", (dir.path() / "00000000000000000099.log").string()});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("No such file"), std::string::npos);
}

TEST(DumpLog, IndexFiles) {
  TempDir dir;
  std::vector<uint8_t> log;
  std::vector<uint8_t> index, timeindex;
  int64_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    records::BatchBuilder b(records::Compression::NONE, 10 + i * 2);
    b.add(1000 + i * 10, std::nullopt, vec("a"));
    b.add(1005 + i * 10, std::nullopt, vec("b"));
    auto batch = b.build();
    ByteWriter ie, te;
    ie.put_i32(i * 2 + 1);  // relative last offset of the batch
    ie.put_i32(static_cast<int32_t>(pos));
    te.put_i64(1005 + i * 10);
    te.put_i32(i * 2 + 1);
    auto ib = std::move(ie).take();
    auto tb = std::move(te).take();
    index.insert(index.end(), ib.begin(), ib.end());
    timeindex.insert(timeindex.end(), tb.begin(), tb.end());
    pos += static_cast<int64_t>(batch.size());
    append(log, batch);
  }
  index.resize(index.size() + 16, 0);  // a preallocated tail
  write_file(dir.path() / "00000000000000000010.log", log);
  write_file(dir.path() / "00000000000000000010.index", index);
  write_file(dir.path() / "00000000000000000010.timeindex", timeindex);
  auto idx = (dir.path() / "00000000000000000010.index").string();
  auto tix = (dir.path() / "00000000000000000010.timeindex").string();
  auto r = dump({"--files", idx + "," + tix});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Dumping " + idx + "\noffset: 11 position: 0\noffset: 13 position: " + std::to_string(log.size() / 3) +
                       "\noffset: 15 position: " + std::to_string(2 * log.size() / 3) + "\nDumping " + tix +
                       "\ntimestamp: 1005 offset: 11\ntimestamp: 1015 offset: 13\ntimestamp: 1025 offset: 15\n");
  EXPECT_EQ(r.err, "");
  auto s = dump({"--index-sanity-check", "--files", idx});
  EXPECT_EQ(s.out, "Dumping " + idx + "\n" + idx + " passed sanity check.\n");
  auto v = dump({"--verify-index-only", "--files", idx});
  EXPECT_EQ(v.out, "Dumping " + idx + "\n");
}

TEST(DumpLog, CliFlags) {
  Cli cli;
  ASSERT_FALSE(cli.parse({"dump-log", "--files", "a.log,b.log", "--deep-iteration", "--cluster-metadata-decoder", "--max-bytes", "10",
                          "--value-decoder-class"})
                   .has_value());
  EXPECT_EQ(cli.selected(), "dump-log");
  EXPECT_EQ(cli.dump_log.files, "a.log,b.log");
  EXPECT_TRUE(cli.dump_log.deep_iteration);
  EXPECT_TRUE(cli.dump_log.cluster_metadata_decoder);
  EXPECT_FALSE(cli.dump_log.print_data_log);
  EXPECT_EQ(cli.dump_log.max_bytes, 10);
  ASSERT_TRUE(cli.dump_log.value_decoder_class.has_value());
  EXPECT_EQ(*cli.dump_log.value_decoder_class, "");  // given without a class: the default StringDecoder
  EXPECT_FALSE(cli.dump_log.key_decoder_class.has_value());
  Cli missing;
  EXPECT_EQ(missing.parse({"dump-log"}), std::optional<int>(1));  // --files is required
}
