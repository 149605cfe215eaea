// `flotilla console-consumer` (Kafka's kafka-console-consumer.sh): fetches
// every partition of a topic (or one with --partition) from their leaders,
// decodes records of every codec and prints them with DefaultMessageFormatter's
// layout. Stops after --max-messages, after --timeout-ms without a record, or
// on SIGINT/SIGTERM, then reports "Processed a total of N messages" on stderr.
// With --group (or group.id in the consumer properties) and no --partition it
// is a member of that consumer group (client/group_client.h): it joins with the
// range assignor, consumes only its assignment from the committed offsets
// (else auto.offset.reset / --from-beginning), heartbeats every
// heartbeat.interval.ms (3 s), rejoins on a rebalance, commits its positions
// every auto.commit.interval.ms (5 s, if enable.auto.commit) and at exit, and
// leaves the group at exit. The fetching and the group protocol are
// client/'s (fetcher.h, group_client.h); this file maps Kafka's flags and
// properties, schedules heartbeats and commits, and prints.
// Threading: one thread; SIGINT/SIGTERM only set a flag.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "client/fetcher.h"
#include "client/group_client.h"
#include "common/clock.h"
#include "protocol/record_batch.h"
#include "server/config.h"
#include "tools/client_security.h"
#include "tools/commands.h"
#include "tools/console.h"
#include "tools/stop_signal.h"

namespace flotilla::tools {

using client::Assignment;
using client::ClientOptions;
using client::error_text;
using client::FetchPartitionResult;
using client::FetchRound;
using client::FetchSettings;
using client::GroupClient;
using client::KafkaClient;
using client::KafkaError;
using client::TopicFetcher;
using client::TopicInfo;
using client::TopicPartition;

namespace {

}  // namespace

int run_console_consumer(const ConsoleConsumerOptions& o) {
  // Option checks, as Kafka's ConsoleConsumerOptions.
  if (o.offset && !o.partition) {
    std::cerr << "The partition is required when offset is specified.\n";
    return 1;
  }
  if (o.offset && o.from_beginning) {
    std::cerr << "Options from-beginning and offset cannot be specified together.\n";
    return 1;
  }
  std::optional<int64_t> start_at;  // -2 earliest, -1 latest, else an offset
  if (o.offset) {
    if (*o.offset == "earliest") start_at = -2;
    else if (*o.offset == "latest") start_at = -1;
    else {
      try {
        size_t used = 0;
        long long v = std::stoll(*o.offset, &used);
        if (used != o.offset->size() || v < 0) throw std::invalid_argument("");
        start_at = v;
      } catch (const std::logic_error&) {
        std::cerr << "The provided offset value '" << *o.offset << "' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.\n";
        return 1;
      }
    }
  }
  FormatterOptions fo;
  std::map<std::string, std::string> cprops;
  std::string bootstrap = o.bootstrap_server;
  std::optional<std::string> group_id;
  try {
    fo = formatter_options(parse_key_values(o.properties));
    if (o.consumer_config) cprops = server::load_properties_file(*o.consumer_config);
    for (const auto& [k, v] : parse_key_values(o.consumer_properties)) cprops[k] = v;
    apply_client_security(cprops);
    if (bootstrap.empty() && cprops.count("bootstrap.servers")) bootstrap = cprops["bootstrap.servers"];
    if (bootstrap.empty()) throw std::invalid_argument("Missing required argument \"[bootstrap-server]\"");
    if (o.group) {
      if (auto it = cprops.find("group.id"); it != cprops.end() && it->second != *o.group)
        throw std::invalid_argument(
            "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') "
            "do not match. Detected group ids: '" + *o.group + "', '" + it->second + "'");
      group_id = *o.group;
    } else if (auto it = cprops.find("group.id"); it != cprops.end() && !it->second.empty()) {
      group_id = it->second;
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  auto cprop_int = [&](const char* k, int64_t d) -> int64_t {
    auto it = cprops.find(k);
    if (it == cprops.end()) return d;
    try {
      return std::stoll(it->second);
    } catch (const std::logic_error&) {
      return d;
    }
  };
  int32_t fetch_max_bytes = static_cast<int32_t>(cprop_int("fetch.max.bytes", 52428800));
  int32_t partition_max_bytes = static_cast<int32_t>(cprop_int("max.partition.fetch.bytes", 1048576));
  int32_t fetch_max_wait = static_cast<int32_t>(cprop_int("fetch.max.wait.ms", 500));
  int64_t reset = o.from_beginning ? -2 : -1;
  if (auto it = cprops.find("auto.offset.reset"); it != cprops.end() && !o.from_beginning) reset = it->second == "earliest" ? -2 : -1;

  stop_on_signals();
  std::signal(SIGPIPE, SIG_IGN);

  int64_t processed = 0;
  int rc = 0;
  try {
    ClientOptions copts;
    copts.client_id = "console-consumer";
    KafkaClient client(bootstrap, copts);
    TopicFetcher fetcher(client, o.topic,
                         FetchSettings{.partition_max_bytes = partition_max_bytes, .max_bytes = fetch_max_bytes, .reset_timestamp = reset});
    int64_t meta_wait = cprop_int("default.api.timeout.ms", 60000);
    if (o.timeout_ms) meta_wait = std::min<int64_t>(meta_wait, std::max<int64_t>(*o.timeout_ms, 1));
    TopicInfo info;
    try {
      info = client.wait_for_topic(o.topic, static_cast<int>(meta_wait), property_true(cprops, "allow.auto.create.topics", true));
    } catch (const KafkaError& e) {
      if (!o.timeout_ms) throw;
      // No such topic within --timeout-ms: the consumer times out like Kafka's.
      std::cerr << "ERROR Error processing message, terminating consumer process:  (org.apache.kafka.common.errors.TimeoutException: "
                << e.what() << ")\n";
      std::cerr << "Processed a total of 0 messages\n";
      return 0;
    }
    std::vector<int32_t> parts;
    std::map<int32_t, int64_t> positions;
    // Group membership (nullptr: no group, every partition or --partition).
    std::unique_ptr<GroupClient> gc;
    GroupClient::MemberConfig mcfg;
    bool need_join = false;
    int64_t hb_interval = cprop_int("heartbeat.interval.ms", 3000);
    bool auto_commit = property_true(cprops, "enable.auto.commit", true);
    int64_t commit_interval = cprop_int("auto.commit.interval.ms", 5000);
    int64_t last_hb = 0, last_commit = monotonic_ms();
    if (group_id && !o.partition) {
      gc = std::make_unique<GroupClient>(client, *group_id, static_cast<int>(cprop_int("default.api.timeout.ms", 60000)));
      mcfg.topics = {o.topic};
      mcfg.session_timeout_ms = static_cast<int32_t>(cprop_int("session.timeout.ms", 45000));
      mcfg.rebalance_timeout_ms = static_cast<int32_t>(cprop_int("max.poll.interval.ms", 300000));
      if (auto it = cprops.find("group.instance.id"); it != cprops.end() && !it->second.empty()) mcfg.group_instance_id = it->second;
      need_join = true;
    } else {
      if (o.partition) {
        if (!info.partition(*o.partition)) throw KafkaError(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "Partition " + std::to_string(*o.partition) + " of topic " + o.topic + " does not exist");
        parts.push_back(*o.partition);
      } else {
        for (const auto& p : info.partitions) parts.push_back(p.partition);
      }
      int64_t ts = start_at.value_or(reset);
      if (ts >= 0) {
        for (int32_t p : parts) positions[p] = ts;
      } else {
        auto offs = client.list_offsets(o.topic, parts, ts);
        for (int32_t p : parts) positions[p] = offs[p];
      }
    }
    // Commits the positions of the assigned partitions (as the generation's member).
    auto commit = [&]() {
      if (!gc || gc->generation() < 0 || positions.empty()) return;
      std::map<TopicPartition, int64_t> offs;
      for (const auto& [p, offset] : positions) offs[{o.topic, p}] = offset;
      if (int16_t e = gc->commit_as_member(offs)) {
        std::cerr << "WARN Offset commit failed: " << error_text(e) << "\n";
        need_join = true;
        return;
      }
      last_commit = monotonic_ms();
    };
    // (Re)joins and starts each newly assigned partition at its committed offset.
    auto join = [&](int64_t deadline) {
      Assignment a = gc->join(mcfg, deadline);
      parts = a[o.topic];
      positions.clear();
      std::vector<TopicPartition> tps;
      for (int32_t p : parts) tps.emplace_back(o.topic, p);
      auto committed = tps.empty() ? std::map<TopicPartition, int64_t>{} : gc->fetch_offsets(tps);
      std::vector<int32_t> unknown;
      for (int32_t p : parts) {
        auto it = committed.find({o.topic, p});
        if (it != committed.end()) positions[p] = it->second;
        else unknown.push_back(p);
      }
      if (!unknown.empty()) {
        info = client.wait_for_topic(o.topic, 30000);
        auto offs = client.list_offsets(o.topic, unknown, reset);
        for (int32_t p : unknown) positions[p] = offs[p];
      }
      last_hb = monotonic_ms();
    };
    int64_t max_messages = o.max_messages.value_or(-1);
    int64_t last_data = monotonic_ms();
    std::string out;
    bool done = max_messages == 0;
    while (!done && !stop_requested()) {
      if (o.timeout_ms && monotonic_ms() - last_data >= *o.timeout_ms) break;
      if (gc) {
        if (need_join) {
          int64_t deadline = o.timeout_ms ? last_data + *o.timeout_ms : monotonic_ms() + mcfg.rebalance_timeout_ms;
          try {
            join(deadline);
          } catch (const KafkaError& e) {
            if (e.code() == ErrorCode::REQUEST_TIMED_OUT && o.timeout_ms) break;
            throw;
          }
          need_join = false;
          continue;
        }
        int64_t now = monotonic_ms();
        if (now - last_hb >= hb_interval) {
          last_hb = now;
          switch (gc->member_heartbeat()) {
            case GroupClient::HeartbeatAction::kCommitAndRejoin:
              if (auto_commit) commit();
              need_join = true;
              break;
            case GroupClient::HeartbeatAction::kRejoin: need_join = true; break;
            case GroupClient::HeartbeatAction::kNone: break;
          }
          if (need_join) continue;
        }
        if (auto_commit && now - last_commit >= commit_interval) {
          commit();
          if (need_join) continue;
        }
        if (parts.empty()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
      }
      int32_t wait = fetch_max_wait;
      if (o.timeout_ms) wait = static_cast<int32_t>(std::max<int64_t>(0, std::min<int64_t>(wait, *o.timeout_ms - (monotonic_ms() - last_data))));
      FetchRound round = fetcher.round(info, parts, positions, wait, [&](const FetchPartitionResult& r, int64_t& position) {
        records::for_each_batch(r.records, [&](const records::BatchHeader& h, std::span<const uint8_t> batch) {
          if (done) return;
          if (h.last_offset() < position) return;
          if (h.is_control()) {
            position = h.last_offset() + 1;
            return;
          }
          std::vector<records::Record> recs;
          try {
            recs = records::decode_records(batch);
          } catch (const std::exception& e) {
            if (!o.skip_message_on_error) throw;
            std::cerr << "ERROR Error processing message, skipping this message: " << e.what() << "\n";
            position = h.last_offset() + 1;
            return;
          }
          for (const auto& rec : recs) {
            if (rec.offset < position) continue;
            format_record(out, fo, r.partition, rec, h.log_append_time());
            ++processed;
            position = rec.offset + 1;
            last_data = monotonic_ms();
            if (max_messages >= 0 && processed >= max_messages) {
              done = true;
              return;
            }
          }
          if (!done) position = std::max(position, h.last_offset() + 1);
        });
        if (!out.empty()) {
          std::fwrite(out.data(), 1, out.size(), stdout);
          std::fflush(stdout);
          out.clear();
          if (std::ferror(stdout)) {
            std::cerr << "Unable to write to standard out, closing consumer.\n";
            done = true;
          }
        }
        return !done;
      });
      if (round.no_leader) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        info = client.wait_for_topic(o.topic, 60000);
        continue;
      }
      if (done) {
        // Any fetch answers still in flight are dropped with the connections.
        break;
      }
      bool refresh = round.refresh;
      if (refresh) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        try {
          info = client.wait_for_topic(o.topic, 30000);
        } catch (const KafkaError&) {
        }
      }
    }
    if (o.timeout_ms && !done && !stop_requested() && monotonic_ms() - last_data >= *o.timeout_ms)
      std::cerr << "ERROR Error processing message, terminating consumer process:  (org.apache.kafka.common.errors.TimeoutException)\n";
    if (gc) {
      // At close: commit the positions (auto commit) and leave the group.
      std::fflush(stdout);
      try {
        if (auto_commit && !need_join) commit();
      } catch (const std::exception& e) {
        std::cerr << "WARN Offset commit at close failed: " << e.what() << "\n";
      }
      gc->leave();
    }
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "ERROR Error processing message, terminating consumer process: " << e.what() << "\n";
    rc = 1;
  }
  std::fflush(stdout);
  std::cerr << "Processed a total of " << processed << " messages\n";
  return rc;
}

}  // namespace flotilla::tools
