// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/seed-*)
// from Flotilla's own encoders — what a real client, a real log and a real
// start-up produce: every request at every supported version (header and a
// default body; Produce also with a real record batch), record batches with
// every codec and legacy message sets, metadata records and a snapshot file,
// and each start-up file as a clean run writes it.
//
//   seed_corpus <corpus dir>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
#include "security/oauthbearer.h"
#include "security/sasl_mechanisms.h"
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

// Tokens as sasl_fuzz.cc reads them: each behind a 2-byte big-endian length.
std::vector<uint8_t> sasl_input(uint8_t which, uint8_t sub, const std::vector<std::vector<uint8_t>>& tokens) {
  std::vector<uint8_t> out{which, sub};
  for (const auto& t : tokens) {
    out.push_back(static_cast<uint8_t>(t.size() >> 8));
    out.push_back(static_cast<uint8_t>(t.size()));
    out.insert(out.end(), t.begin(), t.end());
  }
  return out;
}

// sasl: a valid exchange for each mechanism with sasl_fuzz.cc's fixed user,
// password and nonces (so mutations of the client-final message reach the
// proof check), the server's side of it for the client case, and one text for
// each parser.
void sasl_seeds() {
  using namespace flotilla::security;
  const std::string user = "alice", password = "fuzz-secret-password";
  const std::string server_nonce = "fuzzservernonce0123456789", client_nonce = "fuzzclientnonce";
  SaslServerConfig config;
  config.enabled_mechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"};
  const Bytes salt = {'f', 'u', 'z', 'z', '-', 's', 'a', 'l', 't'};
  CredentialCache::Map creds;
  for (auto m : {ScramMechanism::SCRAM_SHA_256, ScramMechanism::SCRAM_SHA_512})
    creds[{user, m}] = scram_credential(m, password, salt, kScramMinIterations);
  auto cache = std::make_shared<CredentialCache>();
  cache->publish(std::move(creds));
  config.scram = cache;
  for (uint8_t sub : {1, 2}) {
    auto m = sub == 1 ? ScramMechanism::SCRAM_SHA_256 : ScramMechanism::SCRAM_SHA_512;
    auto server = make_scram_server(m, config, [&] { return server_nonce; });
    auto client = make_scram_client(m, user, password, [&] { return client_nonce; });
    std::vector<std::vector<uint8_t>> sent, answered;
    Bytes token = client->initial();
    bool authenticated = false;
    for (int step = 0; step < 3; ++step) {
      sent.push_back(token);
      SaslStep r = server->evaluate(token);
      answered.push_back(r.challenge);
      authenticated = r.complete && !r.failed;
      if (r.complete || r.failed) break;
      auto next = client->evaluate(r.challenge);
      if (!next) break;
      token = *next;
    }
    if (!authenticated) {
      std::fprintf(stderr, "seed_corpus: the SCRAM seed exchange did not authenticate\n");
      std::exit(1);
    }
    seed("sasl", 0, sasl_input(0, sub, sent), false);
    seed("sasl", 5, sasl_input(5, sub == 1 ? 0 : 1, answered), false);
    const auto text = [](const std::vector<uint8_t>& b) { return std::vector<uint8_t>(b.begin(), b.end()); };
    auto parser_seed = [&](uint8_t which, const std::vector<uint8_t>& msg) {
      std::vector<uint8_t> in{1, which};
      in.insert(in.end(), msg.begin(), msg.end());
      seed("sasl", 1, in, false);
    };
    parser_seed(0, text(sent[0]));
    if (sent.size() > 1) parser_seed(1, text(sent[1]));
    parser_seed(2, text(answered[0]));
    if (answered.size() > 1) parser_seed(3, text(answered[1]));
  }
  // tokenauth=true: a delegation token's id as the user name.
  auto token_client = make_scram_client(ScramMechanism::SCRAM_SHA_256, "tokenid", "hmac", [&] { return client_nonce; }, true);
  seed("sasl", 0, sasl_input(0, 1, {token_client->initial()}), false);
  std::string nul(1, '\0');
  seed("sasl", 0, sasl_input(0, 0, {bytes_of(nul + user + nul + password)}), false);
  seed("sasl", 0, sasl_input(0, 0, {bytes_of(user + nul + user + nul + "wrong")}), false);
  // OAUTHBEARER: an unsecured JWS ({"alg":"none"}; sub=alice, far-off expiry).
  const std::string jws = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.";
  OAuthBearerInitialResponse ir;
  ir.token = jws;
  ir.extensions["traceId"] = "123";
  seed("sasl", 0, sasl_input(0, 3, {bytes_of(format_oauthbearer_initial_response(ir)), bytes_of("\x01")}), false);
  auto with = [](uint8_t which, const std::string& t) {
    std::vector<uint8_t> in{which, 0};
    in.insert(in.end(), t.begin(), t.end());
    return in;
  };
  seed("sasl", 1, with(1, "n=a=3Dlice=2Cx"), false);
  std::vector<uint8_t> saslname{1, 4};
  for (char c : std::string("a=3Db=2Cc")) saslname.push_back(static_cast<uint8_t>(c));
  seed("sasl", 1, saslname, false);
  seed("sasl", 2, with(2, "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"x\";"), false);
  seed("sasl", 2, with(2, "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"a\" user_bob='b' debug=true;"), false);
  seed("sasl", 3, with(3, jws), false);
  seed("sasl", 3, with(3, format_oauthbearer_initial_response(ir)), false);
  seed("sasl", 4, with(4, "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/U,DEFAULT\nCN=Alice,OU=ServiceUsers,O=fuzz"), false);
}

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

// tls: a real ClientHello (OpenSSL's defaults, as librdkafka sends one), and
// request frames as the plaintext of an established connection, whole and
// with a byte of their ciphertext to flip.
void tls_seeds() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  std::vector<uint8_t> hello{0, 0};
  std::vector<uint8_t> flight(static_cast<size_t>(BIO_ctrl_pending(out)));
  BIO_read(out, flight.data(), static_cast<int>(flight.size()));
  hello.insert(hello.end(), flight.begin(), flight.end());
  seed("tls", 0, hello, false);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  for (auto [key, version] : {std::pair<int16_t, int16_t>{18, 3}, {3, 12}, {1, 13}, {0, 9}}) {
    auto frame = request_frame(key, version, protocol::encode_default_request(key, version));
    for (uint8_t mode : {1, 2}) {
      std::vector<uint8_t> bytes{mode, static_cast<uint8_t>(7 * key + 3)};
      const uint32_t n = static_cast<uint32_t>(frame.size());
      for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<uint8_t>(n >> shift));
      bytes.insert(bytes.end(), frame.begin(), frame.end());
      seed("tls", mode, bytes, false);
    }
  }
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

  // request: a Produce of a transaction's COMMIT marker batch (as the log
  // writes one), a JoinGroup with a consumer's subscription and a SyncGroup
  // with its assignment (ConsumerProtocol v3 and v0).
  {
    records::BatchBuilder b(records::Compression::NONE, 0);
    b.set_producer(4000, 1, -1);
    b.set_control(true);
    b.set_transactional(true);
    const auto key = storage::end_txn_marker_key(true), value = storage::end_txn_marker_value(5);
    b.add(1700000000000, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
    auto marker = std::make_shared<std::vector<uint8_t>>(b.build());
    msg::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& p = req.topic_data.emplace_back().partition_data.emplace_back();
    req.topic_data[0].name = "t";
    p.records = Records::of_view(*marker);
    ByteWriter w;
    req.encode(w, 9);
    seed("request", 0, request_frame(0, 9, std::move(w).take()), false);
  }
  for (int16_t cp : {0, 3}) {
    msg::ConsumerProtocolSubscription sub;
    sub.topics = {"orders", "payments"};
    auto& owned = sub.owned_partitions.emplace_back();
    owned.topic = "orders";
    owned.partitions = {0, 2};
    sub.generation_id = 4;
    sub.rack_id = std::string("rack-a");
    ByteWriter sw;
    sw.put_i16(cp);
    sub.encode(sw, cp);
    msg::JoinGroupRequest join;
    join.group_id = "g";
    join.session_timeout_ms = 45000;
    join.rebalance_timeout_ms = 300000;
    join.member_id = "";
    join.protocol_type = "consumer";
    auto& proto = join.protocols.emplace_back();
    proto.name = "range";
    proto.metadata = std::move(sw).take();
    ByteWriter jw;
    join.encode(jw, 9);
    seed("request", 0, request_frame(11, 9, std::move(jw).take()), false);
    msg::ConsumerProtocolAssignment a;
    auto& ap = a.assigned_partitions.emplace_back();
    ap.topic = "orders";
    ap.partitions = {0, 1};
    ByteWriter aw;
    aw.put_i16(cp);
    a.encode(aw, cp);
    msg::SyncGroupRequest sync;
    sync.group_id = "g";
    sync.generation_id = 1;
    sync.member_id = "m-1";
    sync.protocol_type = std::string("consumer");
    sync.protocol_name = std::string("range");
    auto& sa = sync.assignments.emplace_back();
    sa.member_id = "m-1";
    sa.assignment = std::move(aw).take();
    ByteWriter yw;
    sync.encode(yw, 5);
    seed("request", 0, request_frame(14, 5, std::move(yw).take()), false);
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
  sasl_seeds();
  tls_seeds();
  std::printf("wrote %d seed(s) under %s\n", written, out_dir.c_str());
  return 0;
}
