// `flotilla perf produce` and `flotilla perf consume`: Kafka's
// kafka-producer-perf-test and kafka-consumer-perf-test, built so that the
// client is not the bottleneck.
//
// Producer: one batch per partition is built once (one payload, as the Java
// tool reuses its random payload) and the encoded Produce request per group
// of partitions is built once too; every send only patches the correlation id
// (the broker rewrites baseOffset in place, outside the CRC). Up to
// max.in.flight requests per leader connection; each request's latency counts
// for each of its records.
//
// Consumer: fetches every partition (client/fetcher.h) with a large
// fetch.max.bytes and counts records and bytes by walking batch headers only
// (no decompression); bytes are whole batch sizes.
#include <poll.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "client/fetcher.h"
#include "client/kafka_client.h"
#include "common/clock.h"
#include "protocol/compression.h"
#include "protocol/record_batch.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/console.h"
#include "tools/perf_stats.h"

namespace flotilla::tools {

using client::ClientOptions;
using client::Connection;
using client::error_text;
using client::FetchPartitionResult;
using client::FetchSettings;
using client::KafkaClient;
using client::make_produce_request;
using client::NetworkError;
using client::PartitionInfo;
using client::ResponseFrame;
using client::TopicFetcher;
using client::TopicInfo;

namespace {

// A pre-encoded Produce request for a group of partitions on one leader.
struct RequestTemplate {
  Connection* conn = nullptr;
  int16_t version = 0;
  std::vector<uint8_t> frame;
  int64_t records = 0;
};

struct InFlightReq {
  int64_t sent_us = 0;
  int64_t records = 0;
};

}  // namespace

int run_perf_produce(const PerfProduceOptions& o) {
  std::ostream& progress = o.json ? std::cerr : std::cout;
  std::map<std::string, std::string> props;
  int16_t acks = 1;
  records::Compression compression = records::Compression::NONE;
  int32_t batch_size = 16384, max_request_size = 1048576, max_in_flight = 5, request_timeout_ms = 30000;
  std::string bootstrap = o.bootstrap_server;
  try {
    if (o.num_records <= 0) throw std::invalid_argument("--num-records must be positive");
    if (o.producer_config) props = server::load_properties_file(*o.producer_config);
    for (const auto& [k, v] : parse_key_values(o.producer_props)) props[k] = v;
    apply_client_security(props);
    if (bootstrap.empty() && props.count("bootstrap.servers")) bootstrap = props["bootstrap.servers"];
    if (bootstrap.empty()) throw std::invalid_argument("Missing required argument \"[bootstrap-server]\"");
    if (!o.payload_file && o.record_size <= 0) throw std::invalid_argument("Either --record-size or --payload-file must be specified but not both.");
    auto get = [&](const char* k, const char* d) { return props.count(k) ? props[k] : std::string(d); };
    acks = parse_acks(get("acks", "all"));
    auto c = parse_compression(get("compression.type", "none"));
    if (!c) throw std::invalid_argument("Invalid value " + get("compression.type", "") + " for configuration compression.type");
    compression = *c;
    batch_size = static_cast<int32_t>(parse_long_property("batch.size", get("batch.size", "16384")));
    max_request_size = static_cast<int32_t>(parse_long_property("max.request.size", get("max.request.size", "1048576")));
    max_in_flight = static_cast<int32_t>(
        parse_long_property("max.in.flight.requests.per.connection", get("max.in.flight.requests.per.connection", "5")));
    request_timeout_ms = static_cast<int32_t>(parse_long_property("request.timeout.ms", get("request.timeout.ms", "30000")));
    if (max_in_flight < 1) max_in_flight = 1;
    if (batch_size < 1) batch_size = 1;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }

  // Payloads: one random payload of --record-size (A-Z), or the payload file's entries.
  std::vector<std::string> payloads;
  if (o.payload_file) {
    std::ifstream f(*o.payload_file, std::ios::binary);
    if (!f) {
      std::cerr << "File " << *o.payload_file << " does not exist or is not readable\n";
      return 1;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    std::string all = ss.str();
    std::string delim = o.payload_delimiter == "\\n" ? "\n" : o.payload_delimiter;
    size_t start = 0;
    while (start < all.size()) {
      size_t e = all.find(delim, start);
      std::string item = all.substr(start, e == std::string::npos ? std::string::npos : e - start);
      if (!item.empty()) payloads.push_back(item);
      if (e == std::string::npos) break;
      start = e + delim.size();
    }
    if (payloads.empty()) {
      std::cerr << "No payloads in " << *o.payload_file << "\n";
      return 1;
    }
    progress << "Number of messages read: " << payloads.size() << "\n";
  } else {
    std::mt19937_64 rng(std::random_device{}());
    std::string p(static_cast<size_t>(o.record_size), 'A');
    for (auto& ch : p) ch = static_cast<char>('A' + rng() % 26);
    payloads.push_back(std::move(p));
  }

  try {
    ClientOptions copts;
    copts.client_id = "perf-producer-client";
    copts.request_timeout_ms = std::max(request_timeout_ms + 5000, 30000);
    KafkaClient client(bootstrap, copts);
    TopicInfo info = client.wait_for_topic(o.topic, 60000, true);

    // One batch per partition (same records for every partition).
    auto build_batch = [&](int64_t max_records) {
      records::BatchBuilder b(compression);
      int64_t n = 0;
      size_t pi = 0;
      int64_t now = wall_clock_ms();
      while (n < max_records) {
        const std::string& p = payloads[pi];
        auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(p.data()), p.size());
        if (n > 0 && b.estimated_size() + p.size() + 12 > static_cast<size_t>(batch_size)) break;
        b.add(now, std::nullopt, span);
        ++n;
        pi = (pi + 1) % payloads.size();
      }
      int64_t bytes = 0;
      for (size_t i = 0; i < static_cast<size_t>(n); ++i) bytes += static_cast<int64_t>(payloads[i % payloads.size()].size());
      return std::make_tuple(b.build(), n, bytes);
    };

    // Templates: partitions grouped by leader, split at max.request.size.
    auto make_templates = [&](int64_t records_per_partition, std::vector<RequestTemplate>& out, int64_t& bytes_per_record_total,
                              int64_t& records_per_round) {
      auto [batch, n, payload_bytes] = build_batch(records_per_partition);
      std::map<int32_t, std::vector<int32_t>> by_leader;
      for (const auto& p : info.partitions) by_leader[p.leader].push_back(p.partition);
      records_per_round = 0;
      bytes_per_record_total = payload_bytes;
      auto shared = std::make_shared<std::vector<uint8_t>>(std::move(batch));
      for (auto& [leader, parts] : by_leader) {
        Connection& c = client.broker(leader);
        int16_t v = c.version_for(msg::ProduceRequest::kApiKey);
        size_t i = 0;
        while (i < parts.size()) {
          // As many partitions as fit in max.request.size (at least one).
          std::vector<std::pair<int32_t, std::span<const uint8_t>>> group;
          size_t total = 0;
          for (; i < parts.size(); ++i) {
            if (!group.empty() && total + shared->size() + 64 > static_cast<size_t>(max_request_size)) break;
            group.emplace_back(parts[i], *shared);
            total += shared->size() + 64;
          }
          RequestTemplate t;
          t.conn = &c;
          t.version = v;
          t.records = n * static_cast<int64_t>(group.size());
          t.frame = c.encode_request(make_produce_request(o.topic, acks, request_timeout_ms, group), v);
          records_per_round += t.records;
          out.push_back(std::move(t));
        }
      }
      return n;
    };

    std::vector<RequestTemplate> templates;
    int64_t payload_bytes_per_batch = 0, records_per_round = 0;
    int64_t per_batch = make_templates(INT64_MAX, templates, payload_bytes_per_batch, records_per_round);
    double avg_record_bytes = per_batch > 0 ? static_cast<double>(payload_bytes_per_batch) / static_cast<double>(per_batch) : 0;

    LatencyStats stats;
    std::map<Connection*, std::deque<InFlightReq>> inflight;
    int64_t errors = 0;
    std::string first_error;
    int64_t start_ms = wall_clock_ms();
    int64_t start_us = monotonic_us();
    stats.start_window(start_ms);
    int64_t remaining = o.num_records;
    int64_t sent_records = 0;
    size_t next_template = 0;
    int64_t last_report = start_ms;

    auto handle_response = [&](Connection* c) {
      ResponseFrame f = c->receive();
      InFlightReq r = inflight[c].front();
      inflight[c].pop_front();
      int64_t lat = monotonic_us() - r.sent_us;
      auto resp = f.decode<msg::ProduceResponse>();
      for (const auto& t : resp.responses)
        for (const auto& p : t.partition_responses)
          if (p.error_code != 0) {
            ++errors;
            if (first_error.empty()) first_error = error_text(p.error_code, p.error_message);
          }
      stats.record(lat, r.records, static_cast<int64_t>(std::llround(avg_record_bytes * static_cast<double>(r.records))));
    };
    auto total_inflight = [&]() {
      size_t n = 0;
      for (const auto& [c, q] : inflight) n += q.size();
      return n;
    };
    // Reads the responses that are (or within timeout_ms become) readable;
    // returns how many were handled. Responses are read as soon as they come
    // so that latencies are not inflated by the sender.
    auto wait_some = [&](int timeout_ms) -> int {
      std::vector<pollfd> fds;
      std::vector<Connection*> conns;
      for (auto& [c, q] : inflight)
        if (!q.empty()) {
          fds.push_back(pollfd{c->fd(), POLLIN, 0});
          conns.push_back(c);
        }
      if (fds.empty()) return 0;
      int r = ::poll(fds.data(), fds.size(), timeout_ms);
      if (r == 0 && timeout_ms >= copts.request_timeout_ms) throw NetworkError("Timed out waiting for produce responses");
      int handled = 0;
      for (size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          handle_response(conns[i]);
          ++handled;
        }
      return handled;
    };

    auto send_template = [&](RequestTemplate& t) {
      while (acks != 0 && inflight[t.conn].size() >= static_cast<size_t>(max_in_flight)) wait_some(copts.request_timeout_ms);
      t.conn->send_frame(t.frame, msg::ProduceRequest::kApiKey, t.version, acks != 0);
      if (acks != 0) {
        inflight[t.conn].push_back(InFlightReq{monotonic_us(), t.records});
        while (wait_some(0) > 0) {
        }
      } else {
        stats.record(0, t.records, static_cast<int64_t>(std::llround(avg_record_bytes * static_cast<double>(t.records))));
      }
      remaining -= t.records;
      sent_records += t.records;
    };

    while (remaining > 0) {
      RequestTemplate& t = templates[next_template];
      if (remaining < t.records) {
        // The tail: spread what remains evenly, then single batches for the rest.
        int64_t per = remaining / static_cast<int64_t>(info.partitions.size());
        if (per > 0) {
          std::vector<RequestTemplate> tail;
          int64_t d1 = 0, d2 = 0;
          make_templates(per, tail, d1, d2);
          for (auto& tt : tail) send_template(tt);
        }
        size_t pi = 0;
        while (remaining > 0) {
          const PartitionInfo& part = info.partitions[pi++ % info.partitions.size()];
          auto [batch, n, pb] = build_batch(remaining);
          (void)pb;
          msg::ProduceRequest req = make_produce_request(o.topic, acks, request_timeout_ms, {{part.partition, batch}});
          RequestTemplate one;
          one.conn = &client.broker(part.leader);
          one.version = one.conn->version_for(msg::ProduceRequest::kApiKey);
          one.frame = one.conn->encode_request(req, one.version);
          one.records = n;
          send_template(one);
        }
        break;
      }
      // Throughput throttle (records/sec).
      if (o.throughput > 0) {
        double due_s = static_cast<double>(sent_records) / o.throughput;
        int64_t due_us = start_us + static_cast<int64_t>(due_s * 1e6);
        int64_t now_us = monotonic_us();
        while (due_us > now_us) {
          int ms = static_cast<int>((due_us - now_us + 999) / 1000);
          if (total_inflight() > 0) wait_some(ms);
          else std::this_thread::sleep_for(std::chrono::microseconds(due_us - now_us));
          now_us = monotonic_us();
        }
      }
      send_template(t);
      next_template = (next_template + 1) % templates.size();
      int64_t now = wall_clock_ms();
      if (now - last_report >= o.reporting_interval_ms) {
        progress << stats.window_line(now) << "\n" << std::flush;
        last_report = now;
      }
    }
    while (total_inflight() > 0) wait_some(copts.request_timeout_ms);
    int64_t elapsed = wall_clock_ms() - start_ms;
    progress << stats.total_line(elapsed) << "\n";
    if (errors > 0) std::cerr << "ERROR " << errors << " partition batches failed; first error: " << first_error << "\n";
    if (o.json) {
      nlohmann::json j = stats.to_json(elapsed);
      j["topic"] = o.topic;
      j["partitions"] = info.partitions.size();
      j["record_size"] = o.record_size;
      j["acks"] = acks;
      j["compression"] = static_cast<int>(compression);
      j["errors"] = errors;
      std::cout << j.dump() << "\n";
    }
    std::cout << std::flush;
    return errors > 0 ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "ERROR " << e.what() << "\n";
    return 1;
  }
}

int run_perf_consume(const PerfConsumeOptions& o) {
  std::map<std::string, std::string> props;
  std::string bootstrap = o.bootstrap_server;
  try {
    if (o.consumer_config) props = server::load_properties_file(*o.consumer_config);
    apply_client_security(props);
    if (bootstrap.empty() && props.count("bootstrap.servers")) bootstrap = props["bootstrap.servers"];
    if (bootstrap.empty()) throw std::invalid_argument("Missing required argument \"[bootstrap-server]\"");
    if (o.messages <= 0) throw std::invalid_argument("--messages must be positive");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  int32_t fetch_max_bytes =
      props.count("fetch.max.bytes") ? static_cast<int32_t>(parse_long_property("fetch.max.bytes", props["fetch.max.bytes"])) : 52428800;
  int32_t partition_max = o.fetch_size;
  if (props.count("max.partition.fetch.bytes"))
    partition_max = static_cast<int32_t>(parse_long_property("max.partition.fetch.bytes", props["max.partition.fetch.bytes"]));
  std::ostream& text = o.json ? std::cerr : std::cout;

  try {
    ClientOptions copts;
    copts.client_id = "perf-consumer-client";
    KafkaClient client(bootstrap, copts);
    // A benchmark stops at the first network failure.
    TopicFetcher fetcher(client, o.topic,
                         FetchSettings{.partition_max_bytes = partition_max, .max_bytes = fetch_max_bytes,
                                       .reset_timestamp = o.from_latest ? -1 : -2, .rethrow_network_errors = true});
    int64_t start_ms = wall_clock_ms();
    TopicInfo info = client.wait_for_topic(o.topic, 60000);
    std::vector<int32_t> parts;
    for (const auto& p : info.partitions) parts.push_back(p.partition);
    auto start_offsets = client.list_offsets(o.topic, parts, o.from_latest ? -1 : -2);
    std::map<int32_t, int64_t> offsets(start_offsets.begin(), start_offsets.end());
    int64_t join_ms = wall_clock_ms() - start_ms;  // "rebalance" time: metadata + offsets

    int64_t records = 0, bytes = 0;
    int64_t last_consumed = wall_clock_ms();
    int64_t last_report = last_consumed;
    int64_t last_report_records = 0, last_report_bytes = 0;
    if (!o.hide_header) {
      if (o.show_detailed_stats)
        text << "time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n";
      else
        text << "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n";
    }
    while (records < o.messages && wall_clock_ms() - last_consumed <= o.timeout_ms) {
      std::vector<int32_t> ids;
      for (const auto& p : info.partitions) ids.push_back(p.partition);
      // Counts records and bytes from the batch headers alone.
      auto round = fetcher.round(info, ids, offsets, 500, [&](const FetchPartitionResult& r, int64_t& off) {
        int64_t before = records;
        records::for_each_batch(r.records, [&](const records::BatchHeader& h, std::span<const uint8_t>) {
          if (h.last_offset() < off) return;
          if (!h.is_control()) {
            int64_t n = h.records_count;
            if (h.base_offset < off) n = std::max<int64_t>(0, h.last_offset() - off + 1);
            records += n;
            bytes += h.total_size();
          }
          off = h.last_offset() + 1;
        });
        if (records > before) last_consumed = wall_clock_ms();
        return true;
      });
      bool refresh = round.refresh;
      if (o.show_detailed_stats) {
        int64_t now = wall_clock_ms();
        if (now - last_report >= o.reporting_interval_ms) {
          double el = static_cast<double>(now - last_report) / 1000.0;
          double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
          double dmb = static_cast<double>(bytes - last_report_bytes) / (1024.0 * 1024.0);
          char buf[256];
          std::snprintf(buf, sizeof(buf), "%s, %d, %.4f, %.4f, %lld, %.4f, %d, %lld, %.4f, %.4f", java_date(now, o.date_format).c_str(), 0, mb,
                        dmb / el, static_cast<long long>(records), static_cast<double>(records - last_report_records) / el, 0,
                        static_cast<long long>(now - last_report), dmb / el, static_cast<double>(records - last_report_records) / el);
          text << buf << "\n";
          last_report = now;
          last_report_bytes = bytes;
          last_report_records = records;
        }
      }
      if (refresh) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        info = client.wait_for_topic(o.topic, 30000);
      }
    }
    int64_t end_ms = wall_clock_ms();
    if (records < o.messages)
      text << "WARNING: Exiting before consuming the expected number of messages: timeout (" << o.timeout_ms
           << " ms) exceeded. You can use the --timeout option to increase the timeout.\n";
    double elapsed_s = static_cast<double>(std::max<int64_t>(1, end_ms - start_ms)) / 1000.0;
    int64_t fetch_ms = std::max<int64_t>(1, end_ms - start_ms - join_ms);
    double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
    if (!o.show_detailed_stats) {
      char buf[512];
      std::snprintf(buf, sizeof(buf), "%s, %s, %.4f, %.4f, %lld, %.4f, %lld, %lld, %.4f, %.4f", java_date(start_ms, o.date_format).c_str(),
                    java_date(end_ms, o.date_format).c_str(), mb, mb / elapsed_s, static_cast<long long>(records),
                    static_cast<double>(records) / elapsed_s, static_cast<long long>(join_ms), static_cast<long long>(fetch_ms),
                    mb / (static_cast<double>(fetch_ms) / 1000.0), static_cast<double>(records) / (static_cast<double>(fetch_ms) / 1000.0));
      text << buf << "\n";
    }
    if (o.json) {
      nlohmann::json j;
      j["topic"] = o.topic;
      j["records"] = records;
      j["bytes"] = bytes;
      j["mb"] = mb;
      j["elapsed_ms"] = end_ms - start_ms;
      j["fetch_time_ms"] = fetch_ms;
      j["mb_per_sec"] = mb / (static_cast<double>(fetch_ms) / 1000.0);
      j["records_per_sec"] = static_cast<double>(records) / (static_cast<double>(fetch_ms) / 1000.0);
      j["total_mb_per_sec"] = mb / elapsed_s;
      j["complete"] = records >= o.messages;
      std::cout << j.dump() << "\n";
    }
    std::cout << std::flush;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ERROR " << e.what() << "\n";
    return 1;
  }
}

}  // namespace flotilla::tools
