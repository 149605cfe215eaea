// metadata_scale: drives a real KRaft cluster to a metadata image of N
// partitions (issue 21's "1,000,000 partitions over 100 brokers") and times a
// CreateTopics of 1,000 partitions from the request until every broker shows
// it. A test tool, not a node: it speaks Kafka's wire protocol through
// client::Connection only.
//
// 1. Registers S simulated brokers (ids --first-id..) with the active
//    controller (BrokerRegistration, as a broker does: this build's supported
//    features, one listener, one log dir) and keeps them unfenced with
//    BrokerHeartbeats every second from a thread of their own. They own no
//    log: they are names in the image that placement can point at.
// 2. Creates topics of --per-topic partitions (explicit assignments, RF
//    --rf, round robin over the simulated brokers) on the active controller,
//    --in-flight requests pipelined, until the image holds --partitions.
// 3. --probes times: CreateTopics of --probe-partitions partitions; prints the
//    commit time (the controller's answer: appended, committed, applied) and
//    the time until Metadata on every --brokers shows all of its partitions.
//
// Prints one JSON object on stdout (the driver, bench/metadata_scale_bench.py,
// reads it). Only 127.0.0.1.
//
//   metadata_scale --controllers 127.0.0.1:9093,... --brokers 127.0.0.1:9092,... --cluster-id ID
//       [--sim-brokers 100] [--first-id 1000] [--partitions 1000000] [--per-topic 1000] [--rf 1]
//       [--in-flight 4] [--probes 5] [--probe-partitions 1000] [--hold-seconds 0]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "common/uuid.h"
#include "metadata/features.h"
#include "protocol/messages.h"

namespace {

using namespace flotilla;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Args {
  std::vector<std::string> controllers, brokers;
  std::string cluster_id;
  int sim_brokers = 100, first_id = 1000, rf = 1, in_flight = 4, probes = 5;
  int64_t partitions = 1000000;
  int per_topic = 1000, probe_partitions = 1000;
  int hold_seconds = 0;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "metadata_scale: %s\n", why.c_str());
  std::exit(2);
}

std::unique_ptr<client::Connection> connect(const std::string& hp) {
  auto [host, port] = client::parse_host_port(hp);
  if (host != "127.0.0.1" && host != "localhost") die("only 127.0.0.1 is allowed: " + hp);
  auto c = std::make_unique<client::Connection>(host, port, "metadata-scale", 60000);
  c->set_timeout_ms(120000);
  return c;
}

// The newest version both sides know (the client library's own table lists
// only the APIs its tools use).
template <class Req>
int16_t version_of(client::Connection& c) {
  auto range = c.broker_versions(Req::kApiKey);
  if (!range) throw std::runtime_error("the node does not serve API " + std::to_string(Req::kApiKey));
  return std::min<int16_t>(range->second, Req::kMaxVersion);
}

template <class Resp, class Req>
Resp call(client::Connection& c, const Req& req) {
  int16_t v = version_of<Req>(c);
  c.send(req, v);
  return c.receive().template decode<Resp>();
}

// The simulated brokers: registration, then heartbeats on their own thread
// (one connection to the active controller; re-found when it moves).
class SimBrokers {
 public:
  SimBrokers(const Args& a) : a_(a) {}

  void register_all() {
    for (int i = 0; i < a_.sim_brokers; ++i) {
      msg::BrokerRegistrationRequest r;
      r.broker_id = a_.first_id + i;
      r.cluster_id = a_.cluster_id;
      r.incarnation_id = Uuid::random();
      r.listeners.push_back({"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(1 + i), 0});
      for (const auto& f : metadata::supported_features()) r.features.push_back({f.name, f.min_level, f.max_level});
      r.rack = std::nullopt;
      r.log_dirs.push_back(Uuid::random());
      for (int attempt = 0;; ++attempt) {
        auto resp = call<msg::BrokerRegistrationResponse>(active(), r);
        if (resp.error_code == 0) {
          epochs_.push_back(resp.broker_epoch);
          break;
        }
        if (attempt > 50) die("registration of broker " + std::to_string(r.broker_id) + " failed: " + std::to_string(resp.error_code));
        ctrl_.reset();  // NOT_CONTROLLER: look again
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    heartbeat_round();  // unfences them (caught up: any offset past their epoch)
    thread_ = std::thread([this] {
      while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        try {
          heartbeat_round();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "heartbeat round failed (%s); retrying\n", e.what());
          std::lock_guard lock(mu_);
          ctrl_.reset();
        }
      }
    });
  }

  ~SimBrokers() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void reset_active() { ctrl_.reset(); }

  // The active controller's connection (the caller holds no lock: the
  // heartbeat thread uses its own).
  client::Connection& active() {
    if (ctrl_) return *ctrl_;
    for (int round = 0; round < 300; ++round) {  // an election may be under way: 30 s
      for (const auto& hp : a_.controllers) {
        try {
          auto c = connect(hp);
          msg::BrokerHeartbeatRequest probe;
          probe.broker_id = -1;
          auto r = call<msg::BrokerHeartbeatResponse>(*c, probe);
          if (r.error_code != 41 /* NOT_CONTROLLER */) {
            ctrl_ = std::move(c);
            return *ctrl_;
          }
        } catch (const std::exception& e) {
          if (round == 299) std::fprintf(stderr, "%s: %s\n", hp.c_str(), e.what());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    die("no active controller among --controllers");
  }

 private:
  void heartbeat_round() {
    std::lock_guard lock(mu_);
    if (!hb_) {
      for (const auto& hp : a_.controllers) {
        auto c = connect(hp);
        msg::BrokerHeartbeatRequest probe;
        probe.broker_id = -1;
        if (call<msg::BrokerHeartbeatResponse>(*c, probe).error_code != 41) {
          hb_ = std::move(c);
          break;
        }
      }
      if (!hb_) throw std::runtime_error("no active controller");
    }
    int16_t v = version_of<msg::BrokerHeartbeatRequest>(*hb_);
    for (int i = 0; i < a_.sim_brokers; ++i) {
      msg::BrokerHeartbeatRequest h;
      h.broker_id = a_.first_id + i;
      h.broker_epoch = epochs_[static_cast<size_t>(i)];
      h.current_metadata_offset = INT64_C(1) << 60;
      hb_->send(h, v);
    }
    bool lost = false;
    for (int i = 0; i < a_.sim_brokers; ++i)
      if (hb_->receive().decode<msg::BrokerHeartbeatResponse>().error_code == 41) lost = true;
    if (lost) hb_.reset();
  }

  const Args& a_;
  std::unique_ptr<client::Connection> ctrl_;
  std::unique_ptr<client::Connection> hb_;
  std::mutex mu_;
  std::vector<int64_t> epochs_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

msg::CreateTopicsRequest::CreatableTopic topic_of(const Args& a, const std::string& name, int partitions, int64_t& cursor) {
  msg::CreateTopicsRequest::CreatableTopic t;
  t.name = name;
  t.num_partitions = -1;
  t.replication_factor = -1;
  for (int p = 0; p < partitions; ++p) {
    msg::CreateTopicsRequest::CreatableReplicaAssignment as;
    as.partition_index = p;
    for (int r = 0; r < a.rf; ++r) as.broker_ids.push_back(a.first_id + static_cast<int>((cursor + r) % a.sim_brokers));
    ++cursor;
    t.assignments.push_back(std::move(as));
  }
  return t;
}

// Creates topics until the image holds a.partitions; returns the seconds taken.
// A controller that loses leadership meanwhile (NOT_CONTROLLER) is left: the
// unanswered topics go again to the new one (TOPIC_ALREADY_EXISTS is then fine).
double fill(const Args& a, SimBrokers& sims) {
  auto t0 = Clock::now();
  int topics = static_cast<int>((a.partitions + a.per_topic - 1) / a.per_topic);
  int next = 0, done = 0;
  std::deque<int> in_flight;
  int failovers = 0;
  while (done < topics) {
    client::Connection& c = sims.active();
    int16_t v = version_of<msg::CreateTopicsRequest>(c);
    bool moved = false;
    try {
      while (next < topics && static_cast<int>(in_flight.size()) < a.in_flight) {
        msg::CreateTopicsRequest req;
        char name[32];
        std::snprintf(name, sizeof name, "scale-%06d", next);
        int64_t cursor = static_cast<int64_t>(next) * a.per_topic;
        req.topics.push_back(topic_of(a, name, a.per_topic, cursor));
        c.send(req, v);
        in_flight.push_back(next++);
      }
      auto resp = c.receive().decode<msg::CreateTopicsResponse>();
      int index = in_flight.front();
      in_flight.pop_front();
      for (const auto& t : resp.topics) {
        if (t.error_code == 41 /* NOT_CONTROLLER */) {
          moved = true;
          in_flight.push_front(index);
        } else if (t.error_code != 0 && t.error_code != 36 /* TOPIC_ALREADY_EXISTS */) {
          die("CreateTopics " + t.name + ": error " + std::to_string(t.error_code) + " " + t.error_message.value_or(""));
        } else {
          ++done;
          if (done % 100 == 0) std::fprintf(stderr, "  %d/%d topics (%.0f s)\n", done, topics, ms_since(t0) / 1000);
        }
      }
    } catch (const client::NetworkError& e) {
      moved = true;
    }
    if (moved) {
      if (++failovers > 20) die("the active controller moved more than 20 times");
      std::fprintf(stderr, "  the active controller moved (%d): resending %zu topic(s)\n", failovers, in_flight.size());
      next = in_flight.empty() ? next : *std::min_element(in_flight.begin(), in_flight.end());
      in_flight.clear();
      sims.reset_active();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return ms_since(t0) / 1000;
}

// Until every broker's Metadata shows `name` with all `partitions`.
void wait_visible(const std::vector<std::unique_ptr<client::Connection>>& brokers, const std::string& name, int partitions) {
  for (const auto& b : brokers) {
    msg::MetadataRequest m;
    m.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{Uuid{}, name}};
    m.allow_auto_topic_creation = false;
    for (int tries = 0;; ++tries) {
      auto r = call<msg::MetadataResponse>(*b, m);
      if (!r.topics.empty() && r.topics[0].error_code == 0 && static_cast<int>(r.topics[0].partitions.size()) == partitions) break;
      if (tries > 200000) die("topic " + name + " never became visible");
    }
  }
}

Args parse(int argc, char** argv) {
  Args a;
  auto list = [](const std::string& s) {
    std::vector<std::string> v;
    for (auto& x : client::split_list(s))
      if (!x.empty()) v.push_back(x);
    return v;
  };
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) die("missing value for " + k);
    std::string v = argv[++i];
    if (k == "--controllers") a.controllers = list(v);
    else if (k == "--brokers") a.brokers = list(v);
    else if (k == "--cluster-id") a.cluster_id = v;
    else if (k == "--sim-brokers") a.sim_brokers = std::stoi(v);
    else if (k == "--first-id") a.first_id = std::stoi(v);
    else if (k == "--partitions") a.partitions = std::stoll(v);
    else if (k == "--per-topic") a.per_topic = std::stoi(v);
    else if (k == "--rf") a.rf = std::stoi(v);
    else if (k == "--in-flight") a.in_flight = std::stoi(v);
    else if (k == "--probes") a.probes = std::stoi(v);
    else if (k == "--probe-partitions") a.probe_partitions = std::stoi(v);
    else if (k == "--hold-seconds") a.hold_seconds = std::stoi(v);
    else die("unknown option " + k);
  }
  if (a.controllers.empty() || a.cluster_id.empty()) die("--controllers and --cluster-id are required");
  if (a.sim_brokers < a.rf || a.rf < 1 || a.per_topic < 1) die("need --sim-brokers >= --rf >= 1 and --per-topic >= 1");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  try {
    SimBrokers sims(a);
    auto t0 = Clock::now();
    sims.register_all();
    double register_ms = ms_since(t0);
    std::fprintf(stderr, "registered %d simulated brokers in %.0f ms\n", a.sim_brokers, register_ms);
    double fill_s = fill(a, sims);
    std::fprintf(stderr, "image holds %lld partitions after %.1f s\n", static_cast<long long>(a.partitions), fill_s);

    std::vector<std::unique_ptr<client::Connection>> brokers;
    for (const auto& hp : a.brokers) brokers.push_back(connect(hp));
    // The brokers applied everything before the probes start.
    if (!brokers.empty()) {
      char last[32];
      std::snprintf(last, sizeof last, "scale-%06d", static_cast<int>((a.partitions + a.per_topic - 1) / a.per_topic) - 1);
      wait_visible(brokers, last, a.per_topic);
    }
    std::vector<double> commit_ms, visible_ms;
    int64_t cursor = 0;
    for (int i = 0; i < a.probes; ++i) {
      msg::CreateTopicsRequest req;
      std::string name = "probe-" + std::to_string(i) + "-" + Uuid::random().to_string().substr(0, 8);
      req.topics.push_back(topic_of(a, name, a.probe_partitions, cursor));
      auto p0 = Clock::now();
      auto resp = call<msg::CreateTopicsResponse>(sims.active(), req);
      for (int retry = 0; retry < 10 && !resp.topics.empty() && resp.topics[0].error_code == 41; ++retry) {
        sims.reset_active();  // the controller moved: time the probe on the new one
        p0 = Clock::now();
        resp = call<msg::CreateTopicsResponse>(sims.active(), req);
      }
      double committed = ms_since(p0);
      if (resp.topics.empty() || resp.topics[0].error_code != 0)
        die("probe CreateTopics failed: " + std::to_string(resp.topics.empty() ? -1 : resp.topics[0].error_code));
      wait_visible(brokers, name, a.probe_partitions);
      double visible = ms_since(p0);
      commit_ms.push_back(committed);
      visible_ms.push_back(visible);
      std::fprintf(stderr, "probe %d: committed in %.1f ms, on every broker in %.1f ms\n", i, committed, visible);
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    auto maxv = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); };
    std::printf(
        "{\"partitions\": %lld, \"sim_brokers\": %d, \"register_ms\": %.1f, \"fill_seconds\": %.1f, "
        "\"probe_partitions\": %d, \"commit_ms_median\": %.1f, \"commit_ms_max\": %.1f, "
        "\"visible_ms_median\": %.1f, \"visible_ms_max\": %.1f}\n",
        static_cast<long long>(a.partitions), a.sim_brokers, register_ms, fill_s, a.probe_partitions, median(commit_ms), maxv(commit_ms),
        median(visible_ms), maxv(visible_ms));
    std::fflush(stdout);
    // The driver measures the nodes (RSS, restarts) while the simulated brokers stay unfenced.
    if (a.hold_seconds > 0) std::this_thread::sleep_for(std::chrono::seconds(a.hold_seconds));
  } catch (const std::exception& e) {
    die(e.what());
  }
  return 0;
}
