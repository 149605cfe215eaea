// Fuzz target: the HTTP listener's input paths (src/http) — the REST API v3,
// /metrics and the console — called through Router::dispatch with the plain
// request types (http/router.h), as http_server.cc calls them, against a fake
// NodeView: a small fixed cluster (three brokers, one fenced; topics with
// partitions, one reassigning; __consumer_offsets; groups and configs behind
// kafka_call) whose kafka_call decodes the request and answers a plausible
// response, a Kafka error, a failed call or undecodable bytes, as the input's
// first byte chooses. The route table is built once (LLVMFuzzerInitialize).
//
// Input (request mode, byte 0 < 0xF0):
//   byte 0  flags: bits 0-1 kafka_call mode (0, 1 answer; 2 Kafka error; 3 failed
//           call or garbage), bit 2 an authorizer with ACLs, bits 3-4 the
//           principal, bit 5 a Raft status without replica states (the console
//           asks DescribeQuorum)
//   byte 1  method (GET, POST, PUT, PATCH, DELETE)
//   byte 2  the Kafka error code's index, or (mode 3) garbage vs failed call
//   byte 3  route: < the number of routes, that route's pattern with its groups
//           filled from line 1 ('|'-separated); else line 1 is the raw path
//   then text lines: line 1 path (or group fills), line 2 query "k=v&k=v",
//   "Name: value" header lines up to an empty line, then the body.
// Input (pure functions, byte 0 >= 0xF0, byte 1 chooses): split_records and
// parse_record of each value, parse_record of one JSON value, iso8601_ms and
// back through format_iso8601, format_iso8601 of 8 bytes and back.
//
// Invariants: no crash or sanitizer report; the status is a valid HTTP
// status; a JSON response body parses (the streaming produce answer: one JSON
// value per line), and an error status's JSON body is {"error_code","message"};
// 204 has no body. Only documented exceptions are caught: RestError from the
// pure input functions (their bad input). A handler exception that reaches the
// router's catch-all (its 500 "Internal server error", logged) is a finding:
// the logger's sink aborts on it.
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "broker/broker_metrics.h"
#include "common/bytes.h"
#include "common/error.h"
#include "http/rest_common.h"
#include "http/rest_records_input.h"
#include "http/routes.h"
#include "metadata/delta.h"
#include "protocol/messages.h"
#include "protocol/metadata_record.h"
#include "protocol/record_batch.h"
#include "security/authorizer.h"

using namespace flotilla;
using namespace flotilla::http;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "http_fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// The router logs "[HttpServer] <method> <path> failed: <what>" when a handler
// lets an exception escape (answered 500): a finding.
class AbortOnEscapedException : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    if (msg.level >= spdlog::level::err && text.starts_with("[HttpServer]") && text.find(" failed: ") != text.npos)
      finding("an exception escaped a handler: " + std::string(text));
  }
  void flush_() override {}
};

// What this input chose for the fake node.
struct Context {
  int kafka_mode = 0;     // 0, 1: answer; 2: Kafka error; 3: failed call or garbage
  int16_t error_code = 0;
  bool garbage = false;
  bool with_authorizer = false;
  bool raft_unknown = false;
  std::vector<uint8_t> noise;  // garbage replies, a member's assignment bytes
};
Context g_ctx;

// Kafka errors a call may answer; the group coordinator's retriable ones
// (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR)
// are left out: the routes retry them for 5 s, which is their documented way.
constexpr ErrorCode kErrors[] = {
    ErrorCode::UNKNOWN_SERVER_ERROR,      ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, ErrorCode::TOPIC_AUTHORIZATION_FAILED,
    ErrorCode::GROUP_AUTHORIZATION_FAILED, ErrorCode::CLUSTER_AUTHORIZATION_FAILED, ErrorCode::INVALID_CONFIG,
    ErrorCode::TOPIC_ALREADY_EXISTS,      ErrorCode::INVALID_REPLICATION_FACTOR, ErrorCode::INVALID_PARTITIONS,
    ErrorCode::POLICY_VIOLATION,          ErrorCode::NOT_CONTROLLER,            ErrorCode::REQUEST_TIMED_OUT,
    ErrorCode::NOT_LEADER_OR_FOLLOWER,    ErrorCode::GROUP_ID_NOT_FOUND,        ErrorCode::SECURITY_DISABLED,
    ErrorCode::INVALID_REQUEST,           ErrorCode::BROKER_NOT_AVAILABLE,      ErrorCode::OFFSET_OUT_OF_RANGE,
    ErrorCode::UNSUPPORTED_VERSION,       ErrorCode::SASL_AUTHENTICATION_FAILED, ErrorCode::INVALID_TOPIC_EXCEPTION,
    ErrorCode::NOT_ENOUGH_REPLICAS,       ErrorCode::LEADER_NOT_AVAILABLE,      ErrorCode::UNKNOWN_TOPIC_ID,
};

msg::RegisterBrokerRecord broker_record(int32_t id, bool fenced) {
  msg::RegisterBrokerRecord b;
  b.broker_id = id;
  b.broker_epoch = 10 + id;
  b.incarnation_id = Uuid{7, static_cast<uint64_t>(id)};
  msg::RegisterBrokerRecord::BrokerEndpoint e;
  e.name = "PLAINTEXT";
  e.host = "broker" + std::to_string(id);
  e.port = static_cast<uint16_t>(9092 + id);
  b.end_points.push_back(e);
  if (id == 1) b.rack = "r1";
  b.fenced = fenced;
  return b;
}

void add_topic(metadata::MetadataDelta& d, const std::string& name, Uuid id, int partitions,
               std::vector<int32_t> replicas) {
  msg::TopicRecord t;
  t.name = name;
  t.topic_id = id;
  d.replay(t);
  for (int32_t i = 0; i < partitions; ++i) {
    msg::PartitionRecord p;
    p.topic_id = id;
    p.partition_id = i;
    p.replicas = replicas;
    std::rotate(p.replicas.begin(), p.replicas.begin() + (i % p.replicas.size()), p.replicas.end());
    p.isr = {p.replicas.front()};
    p.leader = p.replicas.front();
    if (name == "orders" && i == 1) p.adding_replicas = {3};
    d.replay(p);
  }
}

std::shared_ptr<const metadata::MetadataImage> make_image() {
  metadata::MetadataDelta d(std::make_shared<const metadata::MetadataImage>());
  d.replay(broker_record(1, false));
  d.replay(broker_record(2, false));
  d.replay(broker_record(3, true));
  msg::RegisterControllerRecord c;
  c.controller_id = 9;
  c.incarnation_id = Uuid{9, 9};
  msg::RegisterControllerRecord::ControllerEndpoint ce;
  ce.name = "CONTROLLER";
  ce.host = "controller9";
  ce.port = 9093;
  c.end_points.push_back(ce);
  d.replay(c);
  add_topic(d, "orders", Uuid{1, 1}, 3, {1, 2});
  add_topic(d, "secret", Uuid{1, 2}, 1, {2, 1});
  add_topic(d, "__consumer_offsets", Uuid{1, 3}, 2, {1, 2});
  msg::ConfigRecord cfg;
  cfg.resource_type = 2;
  cfg.resource_name = "orders";
  cfg.name = "cleanup.policy";
  cfg.value = "compact";
  d.replay(cfg);
  d.set_offset(42, 3);
  return d.apply();
}

// The console's metadata log: one segment with a few records.
void write_metadata_log(const fs::path& dir) {
  fs::create_directories(dir);
  records::BatchBuilder b(records::Compression::NONE, 0);
  b.set_partition_leader_epoch(3);
  msg::TopicRecord t;
  t.name = "orders";
  t.topic_id = Uuid{1, 1};
  b.add(1700000000000, std::nullopt, protocol::frame_metadata_record(t, 0));
  msg::PartitionChangeRecord pc;
  pc.topic_id = Uuid{1, 1};
  pc.partition_id = 0;
  pc.leader = 2;
  b.add(1700000000001, std::nullopt, protocol::frame_metadata_record(pc, 0));
  b.add(1700000000002, std::nullopt, protocol::frame_metadata_record(msg::NoOpRecord{}, 0));
  auto bytes = b.build();
  std::ofstream(dir / "00000000000000000000.log", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
std::vector<uint8_t> encode(const T& m, int16_t version) {
  ByteWriter w;
  m.encode(w, version);
  return std::move(w.buffer());
}

template <class T>
T decode(const std::vector<uint8_t>& body, int16_t version) {
  T m;
  ByteReader r(body);
  m.decode(r, version);
  return m;
}

std::vector<uint8_t> assignment_bytes(const std::vector<std::pair<std::string, std::vector<int32_t>>>& tps) {
  msg::ConsumerProtocolAssignment a;
  for (const auto& [t, ps] : tps) {
    msg::ConsumerProtocolAssignment::TopicPartition tp;
    tp.topic = t;
    tp.partitions = ps;
    a.assigned_partitions.push_back(tp);
  }
  ByteWriter w;
  w.put_i16(1);
  a.encode(w, 1);
  return std::move(w.buffer());
}

class FakeNode : public NodeView {
 public:
  explicit FakeNode(std::string dir) : dir_(std::move(dir)) {
    authorizer_.complete_initial_load();
    auto acl = [&](security::ResourceType type, const std::string& name, security::PatternType pattern,
                   const std::string& principal, security::AclOperation op, security::AclPermissionType perm) {
      security::StandardAcl a;
      a.id = Uuid{5, ++acl_ids_};
      a.resource_type = type;
      a.resource_name = name;
      a.pattern_type = pattern;
      a.principal = principal;
      a.host = "*";
      a.operation = op;
      a.permission_type = perm;
      authorizer_.add_acl(a);
    };
    using security::AclOperation;
    using security::AclPermissionType;
    using security::PatternType;
    using security::ResourceType;
    acl(ResourceType::TOPIC, "orders", PatternType::LITERAL, "User:alice", AclOperation::ALL, AclPermissionType::ALLOW);
    acl(ResourceType::TOPIC, "o", PatternType::PREFIXED, "User:bob", AclOperation::DESCRIBE, AclPermissionType::ALLOW);
    acl(ResourceType::TOPIC, "secret", PatternType::LITERAL, "User:*", AclOperation::DESCRIBE, AclPermissionType::DENY);
    acl(ResourceType::GROUP, "g", PatternType::PREFIXED, "User:alice", AclOperation::DESCRIBE, AclPermissionType::ALLOW);
    acl(ResourceType::CLUSTER, "kafka-cluster", PatternType::LITERAL, "User:bob", AclOperation::DESCRIBE,
        AclPermissionType::ALLOW);
    auto snap = std::make_shared<broker::BrokerSnapshot>();
    auto names = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"orders", "we\"ird\\topic\n"});
    for (int i = 0; i < 3; ++i) {
      broker::PartitionStat p;
      p.topic = &(*names)[i == 2 ? 1 : 0];
      p.partition = i;
      p.size = 1000 * i;
      p.log_end_offset = 10 * i;
      p.segments = 1;
      p.leader = i != 1;
      p.replicas = 2;
      p.isr = i == 0 ? 2 : 1;
      p.min_isr = 2;
      snap->partitions.push_back(p);
    }
    snap->names = names;
    snap->has_groups = true;
    snap->groups.groups = 2;
    snapshot_ = snap;
  }

  int32_t node_id() const override { return 1; }
  const std::string& cluster_id() const override { return cluster_; }
  bool broker_role() const override { return true; }
  bool controller_role() const override { return true; }
  std::string metadata_log_dir() const override { return dir_; }
  std::string metadata_partition_dir() const override { return dir_; }
  int64_t start_time_ms() const override { return 1700000000000; }
  std::shared_ptr<const metadata::MetadataImage> image() const override { return image_; }
  RaftStatus raft_status() const override {
    RaftStatus s;
    s.node_id = 1;
    s.state = "leader";
    s.leader_id = 1;
    s.epoch = 3;
    s.high_watermark = 40;
    s.log_end_offset = 43;
    s.voters = {{1, "", g_ctx.raft_unknown ? -1 : 43, 100, 100}, {9, "", g_ctx.raft_unknown ? -1 : 30, 90, 80}};
    s.observers = {{2, "", -1, -1, -1}};
    return s;
  }
  const security::StandardAuthorizer* authorizer() const override {
    return g_ctx.with_authorizer ? &authorizer_ : nullptr;
  }
  std::shared_ptr<const broker::BrokerSnapshot> broker_snapshot() override { return snapshot_; }

  KafkaReply kafka_call(int16_t api_key, int16_t version, std::vector<uint8_t> body,
                        std::shared_ptr<const security::Session>, std::chrono::milliseconds, int32_t) override {
    if (g_ctx.kafka_mode == 3) {
      if (g_ctx.garbage) return KafkaReply{true, "", g_ctx.noise};
      return KafkaReply{false, g_ctx.noise.empty() ? "" : "The request timed out", {}};
    }
    const int16_t err = g_ctx.kafka_mode == 2 ? g_ctx.error_code : 0;
    return KafkaReply{true, "", answer(api_key, version, body, err)};
  }

 private:
  // A plausible response to the request, with `err` where the response has a
  // per-resource error code.
  std::vector<uint8_t> answer(int16_t api_key, int16_t v, const std::vector<uint8_t>& body, int16_t err) {
    const std::optional<std::string> msg = err ? std::optional<std::string>("an error") : std::nullopt;
    switch (api_key) {
      case msg::ProduceRequest::kApiKey: {
        auto req = decode<msg::ProduceRequest>(body, v);
        msg::ProduceResponse resp;
        for (const auto& t : req.topic_data) {
          auto& tr = resp.responses.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partition_data) {
            auto& pr = tr.partition_responses.emplace_back();
            pr.index = p.index;
            pr.error_code = err;
            pr.error_message = msg;
            pr.base_offset = 100 + p.index;
            pr.log_append_time_ms = p.index == 2 ? 1700000000123 : -1;
          }
        }
        return encode(resp, v);
      }
      case msg::ListOffsetsRequest::kApiKey: {
        auto req = decode<msg::ListOffsetsRequest>(body, v);
        msg::ListOffsetsResponse resp;
        for (const auto& t : req.topics) {
          auto& tr = resp.topics.emplace_back();
          tr.name = t.name;
          for (const auto& p : t.partitions) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = p.partition_index;
            pr.error_code = err;
            pr.offset = 50 + 7 * p.partition_index;
            pr.timestamp = -1;
          }
        }
        return encode(resp, v);
      }
      case msg::OffsetFetchRequest::kApiKey: {
        auto req = decode<msg::OffsetFetchRequest>(body, v);
        msg::OffsetFetchResponse resp;
        resp.error_code = err;
        if (req.group_id.starts_with("g") || req.group_id.starts_with("k")) {
          for (const char* topic : {"orders", "secret", "gone"}) {
            auto& t = resp.topics.emplace_back();
            t.name = topic;
            for (int32_t i = 0; i < 3; ++i) {
              auto& p = t.partitions.emplace_back();
              p.partition_index = i;
              p.committed_offset = i == 2 ? -1 : 20 + 30 * i;
            }
          }
        }
        return encode(resp, v);
      }
      case msg::ListGroupsRequest::kApiKey: {
        msg::ListGroupsResponse resp;
        resp.error_code = err;
        for (auto [id, type, state] : {std::tuple{"g1", "consumer", "Stable"}, std::tuple{"k2", "consumer", "Stable"},
                                       std::tuple{"simple", "", "Empty"}, std::tuple{"conn", "connect", "Stable"}}) {
          auto& g = resp.groups.emplace_back();
          g.group_id = id;
          g.protocol_type = type;
          g.group_state = state;
        }
        return encode(resp, v);
      }
      case msg::DescribeGroupsRequest::kApiKey: {
        auto req = decode<msg::DescribeGroupsRequest>(body, v);
        msg::DescribeGroupsResponse resp;
        for (const auto& id : req.groups) {
          auto& g = resp.groups.emplace_back();
          g.group_id = id;
          g.error_code = err;
          g.error_message = msg;
          if (id.starts_with("g") || id == "simple") {
            g.group_state = id == "simple" ? "Empty" : "PreparingRebalance";
            g.protocol_type = id == "simple" ? "" : "consumer";
            g.protocol_data = "range";
            for (int i = 0; i < 3; ++i) {
              auto& m = g.members.emplace_back();
              m.member_id = "consumer-" + std::to_string(3 - i);
              m.client_id = "client-" + std::to_string(i);
              if (i == 1) m.group_instance_id = "static-1";
              if (i == 0) m.member_assignment = assignment_bytes({{"orders", {0, 1}}, {"secret", {0}}});
              else if (i == 1) m.member_assignment = g_ctx.noise;
            }
          } else {
            g.group_state = "Dead";
          }
        }
        return encode(resp, v);
      }
      case msg::ConsumerGroupDescribeRequest::kApiKey: {
        auto req = decode<msg::ConsumerGroupDescribeRequest>(body, v);
        msg::ConsumerGroupDescribeResponse resp;
        for (const auto& id : req.group_ids) {
          auto& g = resp.groups.emplace_back();
          g.group_id = id;
          g.error_code = err;
          if (!id.starts_with("k")) {
            g.error_code = code(ErrorCode::GROUP_ID_NOT_FOUND);
            continue;
          }
          g.group_state = "Reconciling";
          g.assignor_name = "uniform";
          for (int i = 0; i < 2; ++i) {
            auto& m = g.members.emplace_back();
            m.member_id = "m" + std::to_string(i);
            m.client_id = "c" + std::to_string(i);
            m.member_type = static_cast<int8_t>(i == 0 ? 0 : 1);
            auto& tp = m.assignment.topic_partitions.emplace_back();
            tp.topic_id = Uuid{1, 1};
            tp.topic_name = "orders";
            tp.partitions = {i, 2};
          }
        }
        return encode(resp, v);
      }
      case msg::DescribeConfigsRequest::kApiKey: {
        auto req = decode<msg::DescribeConfigsRequest>(body, v);
        msg::DescribeConfigsResponse resp;
        for (const auto& r : req.resources) {
          auto& res = resp.results.emplace_back();
          res.error_code = err;
          res.error_message = msg;
          res.resource_type = r.resource_type;
          res.resource_name = r.resource_name;
          std::vector<std::string> names = {"cleanup.policy", "retention.ms", "ssl.key.password", "log.cleaner.backoff.ms"};
          if (r.configuration_keys) names = *r.configuration_keys;
          int8_t source = 1;
          for (const auto& n : names) {
            auto& c = res.configs.emplace_back();
            c.name = n;
            c.value = n == "retention.ms" ? std::optional<std::string>() : std::optional<std::string>("v-" + n);
            c.is_sensitive = n.find("password") != std::string::npos;
            c.config_source = source;
            source = static_cast<int8_t>(source % 7 + 1);
            c.read_only = n.starts_with("log.");
            auto& s = c.synonyms.emplace_back();
            s.name = n;
            s.value = c.value;
            s.source = static_cast<int8_t>(c.config_source == 3 ? 3 : 5);
          }
        }
        return encode(resp, v);
      }
      case msg::IncrementalAlterConfigsRequest::kApiKey: {
        auto req = decode<msg::IncrementalAlterConfigsRequest>(body, v);
        msg::IncrementalAlterConfigsResponse resp;
        for (const auto& r : req.resources) {
          auto& res = resp.responses.emplace_back();
          res.error_code = err;
          res.error_message = msg;
          res.resource_type = r.resource_type;
          res.resource_name = r.resource_name;
        }
        return encode(resp, v);
      }
      case msg::CreateTopicsRequest::kApiKey: {
        auto req = decode<msg::CreateTopicsRequest>(body, v);
        msg::CreateTopicsResponse resp;
        for (const auto& t : req.topics) {
          auto& r = resp.topics.emplace_back();
          r.name = t.name;
          r.error_code = err;
          r.error_message = msg;
          r.num_partitions = t.num_partitions < 0 ? 1 : t.num_partitions;
          r.replication_factor = t.replication_factor < 0 ? 1 : t.replication_factor;
        }
        return encode(resp, v);
      }
      case msg::CreatePartitionsRequest::kApiKey: {
        auto req = decode<msg::CreatePartitionsRequest>(body, v);
        msg::CreatePartitionsResponse resp;
        for (const auto& t : req.topics) {
          auto& r = resp.results.emplace_back();
          r.name = t.name;
          r.error_code = err;
          r.error_message = msg;
        }
        return encode(resp, v);
      }
      case msg::DeleteTopicsRequest::kApiKey: {
        auto req = decode<msg::DeleteTopicsRequest>(body, v);
        msg::DeleteTopicsResponse resp;
        for (const auto& n : req.topic_names) {
          auto& r = resp.responses.emplace_back();
          r.name = n;
          r.error_code = err;
          r.error_message = msg;
        }
        return encode(resp, v);
      }
      case msg::DescribeAclsRequest::kApiKey: {
        // The ACLs that match: the filter's own values echoed (as a broker
        // answers an exact filter), and one with values this build never writes.
        auto req = decode<msg::DescribeAclsRequest>(body, v);
        msg::DescribeAclsResponse resp;
        resp.error_code = err;
        resp.error_message = msg;
        auto& r = resp.resources.emplace_back();
        r.resource_type = req.resource_type_filter;
        r.resource_name = req.resource_name_filter.value_or("orders");
        r.pattern_type = req.pattern_type_filter;
        auto& a = r.acls.emplace_back();
        a.principal = req.principal_filter.value_or("User:alice");
        a.host = req.host_filter.value_or("*");
        a.operation = req.operation;
        a.permission_type = req.permission_type;
        auto& odd = resp.resources.emplace_back();
        odd.resource_type = 42;
        odd.resource_name = "x";
        odd.pattern_type = -1;
        auto& oa = odd.acls.emplace_back();
        oa.operation = 99;
        oa.permission_type = -7;
        return encode(resp, v);
      }
      case msg::CreateAclsRequest::kApiKey: {
        auto req = decode<msg::CreateAclsRequest>(body, v);
        msg::CreateAclsResponse resp;
        for (size_t i = 0; i < req.creations.size(); ++i) {
          auto& r = resp.results.emplace_back();
          r.error_code = err;
          r.error_message = msg;
        }
        return encode(resp, v);
      }
      case msg::DeleteAclsRequest::kApiKey: {
        auto req = decode<msg::DeleteAclsRequest>(body, v);
        msg::DeleteAclsResponse resp;
        for (const auto& f : req.filters) {
          auto& fr = resp.filter_results.emplace_back();
          fr.error_code = err;
          fr.error_message = msg;
          auto& m = fr.matching_acls.emplace_back();
          m.resource_type = f.resource_type_filter;
          m.resource_name = f.resource_name_filter.value_or("orders");
          m.pattern_type = f.pattern_type_filter;
          m.principal = f.principal_filter.value_or("User:alice");
          m.host = f.host_filter.value_or("*");
          m.operation = f.operation;
          m.permission_type = f.permission_type;
        }
        return encode(resp, v);
      }
      case msg::DescribeQuorumRequest::kApiKey: {
        msg::DescribeQuorumResponse resp;
        resp.error_code = err;
        auto& t = resp.topics.emplace_back();
        t.topic_name = "__cluster_metadata";
        auto& p = t.partitions.emplace_back();
        p.leader_id = 9;
        p.leader_epoch = 3;
        p.high_watermark = 40;
        for (int32_t id : {9, 1}) {
          auto& r = p.current_voters.emplace_back();
          r.replica_id = id;
          r.replica_directory_id = Uuid{3, static_cast<uint64_t>(id)};
          r.log_end_offset = id == 9 ? 43 : 41;
        }
        auto& o = p.observers.emplace_back();
        o.replica_id = 2;
        o.log_end_offset = 50;  // ahead of the leader
        return encode(resp, v);
      }
      default:
        return {};
    }
  }

  std::string cluster_ = "c1";
  std::string dir_;
  std::shared_ptr<const metadata::MetadataImage> image_ = make_image();
  security::StandardAuthorizer authorizer_{security::AuthorizerConfig{{"User:admin"}, false}};
  uint64_t acl_ids_ = 0;
  std::shared_ptr<const broker::BrokerSnapshot> snapshot_;
};

// A route pattern as text to fill: literal pieces and groups (a group of
// alternatives "(a|b)" defaults to its first).
struct Template {
  struct Piece {
    bool group = false;
    std::string text;  // literal, or the group's default
  };
  std::vector<Piece> pieces;

  static Template of(const std::string& pattern) {
    Template t;
    for (size_t i = 0; i < pattern.size(); ++i) {
      char c = pattern[i];
      if (c == '(') {
        size_t end = pattern.find(')', i);
        std::string inner = pattern.substr(i + 1, end - i - 1);
        Piece p{true, ""};
        if (inner.find('[') == std::string::npos) p.text = inner.substr(0, inner.find('|'));
        t.pieces.push_back(p);
        i = end;
      } else if (c == '?') {
        // the preceding character is optional: keep it
      } else if (c == '\\' && i + 1 < pattern.size()) {
        t.pieces.push_back({false, std::string(1, pattern[++i])});
      } else {
        t.pieces.push_back({false, std::string(1, c)});
      }
    }
    return t;
  }

  std::string fill(std::string_view fills) const {
    std::vector<std::string> parts;
    if (!fills.empty()) {
      size_t start = 0;
      while (true) {
        size_t bar = fills.find('|', start);
        parts.emplace_back(fills.substr(start, bar == fills.npos ? fills.npos : bar - start));
        if (bar == fills.npos) break;
        start = bar + 1;
      }
    }
    std::string out;
    size_t g = 0;
    for (const auto& p : pieces) {
      if (!p.group) {
        out += p.text;
        continue;
      }
      if (g < parts.size()) out += parts[g];
      else out += g == 0 ? "c1" : (p.text.empty() ? "orders" : p.text);
      ++g;
    }
    return out;
  }
};

struct State {
  fs::path dir = fs::temp_directory_path() / ("flotilla-http-fuzz-" + std::to_string(::getpid()));
  std::unique_ptr<FakeNode> node;
  Router router;
  std::vector<Template> templates;
  State() {
    write_metadata_log(dir);
    node = std::make_unique<FakeNode>(dir.string());
    HttpOptions options;
    add_metrics_routes(router, *node, options);
    add_rest_routes(router, *node, options);
    add_console_routes(router, *node, options);
    for (const auto& r : router.routes()) templates.push_back(Template::of(r.pattern));
  }
  ~State() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

State* g_state = nullptr;

bool is_json_type(const std::string& content_type) { return content_type.starts_with("application/json"); }

// Every whitespace-separated top-level JSON value of `text` (at least one).
bool parses_as_json_values(const std::string& text) {
  size_t n = 0;
  std::istringstream in(text);
  while (true) {
    while (in && std::isspace(in.peek())) in.get();
    if (in.peek() == std::char_traits<char>::eof()) break;
    try {
      json j;
      in >> j;
    } catch (const json::exception&) {
      return false;
    }
    ++n;
  }
  return n > 0;
}

void check_response(const HttpRequest& req, const HttpResponse& resp, bool produce) {
  auto where = [&] { return req.method + " " + req.path + " -> " + std::to_string(resp.status) + " " + resp.body.substr(0, 300); };
  if (resp.status < 100 || resp.status > 599) finding("invalid HTTP status: " + where());
  if (resp.status == 204 && !resp.body.empty()) finding("204 with a body: " + where());
  if (!is_json_type(resp.content_type) || resp.body.empty()) return;
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded()) {
    // The streaming produce answer: one JSON object per record, a line each.
    if (!(produce && resp.status == 200 && parses_as_json_values(resp.body)))
      finding("a JSON response body does not parse: " + where());
    return;
  }
  if (resp.status >= 400) {
    if (!j.is_object() || !j.contains("error_code") || !j["error_code"].is_number_integer() || !j.contains("message") ||
        !j["message"].is_string())
      finding("an error body is not {error_code, message}: " + where());
  }
}

void run_request(const uint8_t* data, size_t size) {
  if (size < 4) return;
  static const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  const uint8_t flags = data[0];
  g_ctx = Context{};
  g_ctx.kafka_mode = flags & 3;
  g_ctx.with_authorizer = flags & 4;
  g_ctx.raft_unknown = flags & 32;
  g_ctx.error_code = code(kErrors[data[2] % std::size(kErrors)]);
  g_ctx.garbage = data[2] & 0x80;

  std::string_view text(reinterpret_cast<const char*>(data + 4), size - 4);
  auto next_line = [&]() {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == text.npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };

  HttpRequest req;
  req.method = kMethods[data[1] % std::size(kMethods)];
  std::string_view first = next_line();
  const size_t route = data[3];
  const bool templated = route < g_state->templates.size();
  req.path = templated ? g_state->templates[route].fill(first) : std::string(first);
  std::string_view query = next_line();
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    req.query.emplace(std::string(kv.substr(0, eq)), eq == kv.npos ? std::string() : std::string(kv.substr(eq + 1)));
    query = amp == query.npos ? std::string_view{} : query.substr(amp + 1);
  }
  while (!text.empty()) {
    std::string_view h = next_line();
    if (h.empty()) break;
    size_t colon = h.find(':');
    std::string_view value = colon == h.npos ? std::string_view{} : h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.emplace(std::string(h.substr(0, colon)), std::string(value));
  }
  req.body = std::string(text);
  // The garbage replies and one member's assignment: the body's bytes.
  g_ctx.noise.assign(text.begin(), text.begin() + std::min<size_t>(text.size(), 64));

  // As http_server.cc: the Host header makes the base URL; the session is the HTTP user's.
  auto host = req.header("Host");
  req.base_url = "http://" + (host ? *host : std::string("127.0.0.1:8090"));
  auto session = std::make_shared<security::Session>();
  session->listener = "HTTP";
  session->client_host = "10.0.0.7";
  static const char* kUsers[] = {"ANONYMOUS", "alice", "bob", "admin"};
  session->principal.name = kUsers[(flags >> 3) & 3];
  if (session->principal.name != "ANONYMOUS") session->sasl_mechanism = "BASIC";
  req.session = std::move(session);

  HttpResponse resp;
  g_state->router.dispatch(req, resp);
  const bool produce = req.method == "POST" && req.path.ends_with("/records");
  check_response(req, resp, produce);
}

void run_pure(const uint8_t* data, size_t size) {
  if (size < 2) return;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  switch (data[1] % 4) {
    case 0: {
      auto values = rest::split_records(text);
      for (size_t i = 0; i < values.size(); ++i) {
        if (!values[i].value) {
          if (i + 1 != values.size()) finding("split_records: a value after an error");
          if (values[i].error.empty()) finding("split_records: an error without a message");
          continue;
        }
        try {
          auto in = rest::parse_record(*values[i].value);
          if (in.partition_id && *in.partition_id < 0) finding("parse_record: a negative partition");
        } catch (const rest::RestError&) {  // bad input: answered 400/404
        }
      }
      break;
    }
    case 1: {
      json j = json::parse(text, nullptr, false);
      if (j.is_discarded()) break;
      try {
        auto in = rest::parse_record(j);
        for (const auto* part : {&in.key, &in.value})
          if (*part && (*part)->type != "BINARY" && (*part)->type != "JSON" && (*part)->type != "STRING")
            finding("parse_record: type " + (*part)->type);
      } catch (const rest::RestError&) {
      }
      break;
    }
    case 2: {
      auto ms = rest::iso8601_ms(text);
      if (!ms) break;
      std::string shown = rest::format_iso8601(*ms);
      auto again = rest::iso8601_ms(shown);
      if (!again || *again != *ms)
        finding("iso8601_ms(\"" + std::string(text) + "\") = " + std::to_string(*ms) + " formats as " + shown +
                " which reads back differently");
      break;
    }
    default: {
      if (text.size() < 8) break;
      uint64_t u = 0;
      for (int i = 0; i < 8; ++i) u = u << 8 | static_cast<uint8_t>(text[i]);
      const auto ms = static_cast<int64_t>(u);
      std::string shown = rest::format_iso8601(ms);
      // Years 0000..9999 are what iso8601_ms reads.
      constexpr int64_t kMin = -62167219200000, kMax = 253402300799999;
      if (ms >= kMin && ms <= kMax) {
        auto back = rest::iso8601_ms(shown);
        if (!back || *back != ms)
          finding("format_iso8601(" + std::to_string(ms) + ") = " + shown + " does not read back");
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto logger = std::make_shared<spdlog::logger>("http_fuzz", std::make_shared<AbortOnEscapedException>());
  logger->set_level(spdlog::level::err);
  spdlog::set_default_logger(logger);
  static State state;
  g_state = &state;
  if (std::getenv("HTTP_FUZZ_ROUTES"))  // the route table, for writing seeds (byte 3 is the index)
    for (size_t i = 0; i < state.router.routes().size(); ++i)
      std::printf("%zu %s %s\n", i, state.router.routes()[i].method.c_str(), state.router.routes()[i].pattern.c_str());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!g_state) LLVMFuzzerInitialize(nullptr, nullptr);
  if (size == 0) return 0;
  if (data[0] >= 0xF0) run_pure(data, size);
  else run_request(data, size);
  return 0;
}
