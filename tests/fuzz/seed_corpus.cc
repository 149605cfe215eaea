// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/seed-*)
// from Flotilla's own encoders — what a real client, a real log and a real
// start-up produce: every request at every supported version (header and a
// default body; Produce also with a real record batch), record batches with
// every codec and legacy message sets, metadata records and a snapshot file,
// and each start-up file as a clean run writes it.
//
//   seed_corpus <corpus dir>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "protocol/api.h"
#include "protocol/compression.h"
#include "protocol/legacy_records.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "protocol/request_dispatch.h"
#include "raft/quorum_state.h"
#include "raft/snapshot.h"
#include "storage/clean_shutdown_summary.h"
#include "storage/producer_state.h"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;
int written = 0;

void seed(const std::string& target, uint8_t selector, const std::vector<uint8_t>& body, bool with_selector = true) {
  std::vector<uint8_t> bytes;
  if (with_selector) bytes.push_back(selector);
  bytes.insert(bytes.end(), body.begin(), body.end());
  fs::create_directories(out_dir / target);
  char name[64];
  std::snprintf(name, sizeof name, "seed-%03d-%04d", selector, written++);
  std::ofstream(out_dir / target / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> a_batch(records::Compression c) {
  records::BatchBuilder b(c);
  const std::string key = "key", value(200, 'v');
  for (int i = 0; i < 5; ++i)
    b.add(1700000000000 + i, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()),
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  return b.build();
}

std::vector<uint8_t> request_frame(int16_t key, int16_t version, const std::vector<uint8_t>& body) {
  ByteWriter w;
  w.put_i16(key);
  w.put_i16(version);
  w.put_i32(7);
  const int16_t hv = protocol::request_header_version(key, version);
  if (hv >= 1) {
    w.put_i16(4);
    w.put_bytes("seed", 4);
  }
  if (hv >= 2) w.put_uvarint(0);
  w.put_bytes(body.data(), body.size());
  return std::move(w).take();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_corpus <corpus dir>\n");
    return 2;
  }
  out_dir = argv[1];

  // request: every API at every version, a default body; Produce with a batch.
  for (const auto& api : protocol::all_apis())
    for (int16_t v = api.min_version; v <= api.max_version; ++v) seed("request", 0, request_frame(api.key, v, protocol::encode_default_request(api.key, v)), false);
  for (int16_t v : {3, 9, 11}) {
    msg::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& t = req.topic_data.emplace_back();
    t.name = "t";
    auto& p = t.partition_data.emplace_back();
    p.index = 0;
    auto batch = std::make_shared<std::vector<uint8_t>>(a_batch(records::Compression::NONE));
    p.records = Records::of_view(*batch);
    ByteWriter w;
    req.encode(w, v);
    seed("request", 0, request_frame(0, v, std::move(w).take()), false);
  }

  // records: batches with every codec, legacy message sets, compressed payloads.
  for (auto c : {records::Compression::NONE, records::Compression::GZIP, records::Compression::SNAPPY, records::Compression::LZ4,
                 records::Compression::ZSTD}) {
    seed("records", 0, a_batch(c));
    if (c != records::Compression::NONE) {
      auto batch = a_batch(c);
      std::vector<uint8_t> payload{static_cast<uint8_t>(static_cast<int>(c) - 1)};
      payload.insert(payload.end(), batch.begin() + records::kHeaderSize, batch.end());
      seed("records", 2, payload);
    }
  }
  const std::vector<uint8_t> k = bytes_of("k"), v = bytes_of("legacy value");
  for (int8_t magic : {0, 1}) {
    auto m = records::legacy_message(magic, 0, 1700000000000, &k, &v);
    auto m2 = records::legacy_message(magic, 1, 1700000000001, nullptr, &v);
    m.insert(m.end(), m2.begin(), m2.end());
    seed("records", 1, m);
  }

  // metadata_records: several record types; a snapshot (.checkpoint) file.
  {
    msg::TopicRecord topic;
    topic.name = "t";
    topic.topic_id = Uuid{1, 2};
    seed("metadata_records", 1, protocol::frame_metadata_record(topic, 0));
    msg::PartitionRecord part;
    part.partition_id = 3;
    part.topic_id = Uuid{1, 2};
    part.replicas = {1, 2, 3};
    part.isr = {1, 2};
    part.leader = 1;
    seed("metadata_records", 1, protocol::frame_metadata_record(part, 1));
    msg::RegisterBrokerRecord broker;
    broker.broker_id = 1;
    broker.incarnation_id = Uuid{3, 4};
    broker.broker_epoch = 5;
    seed("metadata_records", 1, protocol::frame_metadata_record(broker, 3));
    msg::ConfigRecord config;
    config.resource_type = 2;
    config.resource_name = "t";
    config.name = "retention.ms";
    config.value = "1000";
    seed("metadata_records", 1, protocol::frame_metadata_record(config, 0));
    const fs::path tmp = fs::temp_directory_path() / ("flotilla-seed-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    raft::Voter self;
    self.id = 1;
    self.directory_id = Uuid{5, 6};
    self.endpoints.push_back({"CONTROLLER", "127.0.0.1", 9093});
    const fs::path cp = raft::write_standalone_checkpoint(tmp, self, 1700000000000);
    std::ifstream f(cp, std::ios::binary);
    seed("metadata_records", 0, std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()));
    fs::remove_all(tmp);
  }

  // startup_files: each file as a clean run writes it (selector = the target's case).
  {
    storage::LogSummary l;
    l.name = "t-0";
    l.topic_id = Uuid{1, 2};
    l.epoch_checkpoint = "0\n1\n0 0\n";
    storage::SegmentSummary s;
    s.next_offset = 10;
    s.size = 4000;
    s.max_timestamp = 5;
    s.max_timestamp_offset = 9;
    s.first_timestamp = 1;
    s.index = {{5, 2000}};
    s.tindex = {{5, 9}};
    l.segments = {s};
    seed("startup_files", 0, bytes_of(storage::encode_log_summaries({l})));
    raft::ElectionState e;
    e.epoch = 3;
    e.leader_id = 1;
    e.voters = {1, 2, 3};
    seed("startup_files", 1, bytes_of(raft::quorum_state_to_json(e, 0)));
    e.voted_id = 2;
    seed("startup_files", 1, bytes_of(raft::quorum_state_to_json(e, 1)));
    seed("startup_files", 2, bytes_of("0\n2\n0 0\n3 120\n"));
    storage::ProducerStateManager m;
    seed("startup_files", 3, bytes_of(m.encode_snapshot()));
    seed("startup_files", 4, bytes_of("0\n2\nt 0 5\nother-topic 3 12\n"));
    seed("startup_files", 5, bytes_of("#\nversion=1\ncluster.id=AAAAAAAAAAAAAAAAAAAAAA\nnode.id=1\ndirectory.id=BBBBBBBBBBBBBBBBBBBBBB\n"));
    seed("startup_files", 6, bytes_of("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n"));
    std::vector<uint8_t> txn(34, 0);
    txn[1] = 0;  // version 0, producer 0, offsets 0..0, LSO 0
    seed("startup_files", 7, txn);
    auto log = a_batch(records::Compression::NONE);
    auto log2 = a_batch(records::Compression::ZSTD);
    log.insert(log.end(), log2.begin(), log2.end());
    seed("startup_files", 8, log);
  }
  std::printf("wrote %d seed(s) under %s\n", written, out_dir.c_str());
  return 0;
}
