// raft_bench: the raw Raft append path of Flotilla's metadata quorum on three
// voters in one process — real RaftDrivers, real TCP on 127.0.0.1 (the
// controller listener's wire RPCs), real fsync of the log on every voter.
// Each of W writers appends one record on the leader, waits until it is
// committed (below the high watermark), and appends the next. Prints
// commits/s and commit latency p50/p99/p99.9 for every W given.
//
//   build/bench/raft_bench [--writers 1,100] [--seconds 3] [--dir /tmp] [--json]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/server.h"
#include "protocol/api.h"
#include "raft/driver.h"
#include "raft/network.h"
#include "raft/snapshot.h"
#include "server/controller_apis.h"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

int free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// A controller listener that serves only the Raft RPCs.
class RaftOnlyHandler : public net::Handler {
 public:
  RaftOnlyHandler(raft::RaftDriver& d, std::map<int32_t, raft::PeerAddress> eps) : apis_(d, nullptr, "bench", std::move(eps)) {}
  int request_header_version(int16_t k, int16_t v) const override {
    if (apis_.max_version(k) < 0 && k != 18) return -1;
    return protocol::request_header_version(k, v);
  }
  void handle(std::shared_ptr<net::Request> req, net::Respond respond) override { apis_.handle(std::move(req), std::move(respond)); }

 private:
  server::ControllerApis apis_;
};

// Completes waiting writers as batches commit.
class CommitWaiter : public raft::RaftListener {
 public:
  std::multimap<int64_t, std::function<void()>> waiting;
  void handle_commit(const raft::CommittedBatch& b) override {
    while (!waiting.empty() && waiting.begin()->first <= b.last_offset) {
      auto fn = std::move(waiting.begin()->second);
      waiting.erase(waiting.begin());
      fn();
    }
  }
  void handle_leader_change(raft::LeaderAndEpoch) override {}
  // Commits continue at id.end_offset: writers waiting below it are done.
  void handle_load_snapshot(const raft::SnapshotId& id, const raft::SnapshotContents&) override {
    while (!waiting.empty() && waiting.begin()->first < id.end_offset) {
      auto fn = std::move(waiting.begin()->second);
      waiting.erase(waiting.begin());
      fn();
    }
  }
};

struct Voter {
  asio::io_context io;
  std::unique_ptr<raft::RaftDriver> driver;
  std::unique_ptr<raft::RaftNetwork> network;
  std::unique_ptr<RaftOnlyHandler> handler;
  std::unique_ptr<net::Listener> listener;
  CommitWaiter waiter;
  std::thread thread;
};

struct Result {
  int writers;
  double commits_per_s;
  double p50_ms, p99_ms, p999_ms;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

Result run(Voter& leader, int writers, double seconds) {
  std::vector<double> lat;
  lat.reserve(1 << 20);
  int64_t commits = 0;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  int active = writers;
  std::vector<uint8_t> value(64, 'x');
  std::function<void()> write_one;
  // All writers run on the leader's io thread (the driver's contract).
  std::promise<void> finished;
  std::function<void(int)> next = [&](int) {};
  next = [&](int w) {
    if (std::chrono::steady_clock::now() >= end) {
      if (--active == 0) finished.set_value();
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto off = leader.driver->append({value}, leader.driver->leader_and_epoch().epoch);
    if (!off) {
      if (--active == 0) finished.set_value();
      return;
    }
    leader.waiter.waiting.emplace(*off, [&, w, t0] {
      lat.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      ++commits;
      asio::post(leader.io, [&, w] { next(w); });
    });
  };
  auto fut = finished.get_future();
  asio::post(leader.io, [&] {
    for (int w = 0; w < writers; ++w) next(w);
  });
  fut.wait();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Result r{writers, commits / secs, 0, 0, 0};
  r.p50_ms = pct(lat, 0.50);
  r.p99_ms = pct(lat, 0.99);
  r.p999_ms = pct(lat, 0.999);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> writer_counts{1, 100};
  double seconds = 3;
  std::string base = fs::temp_directory_path();
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--writers" && i + 1 < argc) {
      writer_counts.clear();
      std::string s = argv[++i];
      size_t p = 0;
      while (p < s.size()) {
        size_t q = s.find(',', p);
        writer_counts.push_back(std::stoi(s.substr(p, q - p)));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: raft_bench [--writers 1,100] [--seconds 3] [--dir D] [--json]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  fs::path dir = fs::path(base) / ("flotilla-raft-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);

  std::map<int32_t, raft::PeerAddress> eps;
  for (int id = 1; id <= 3; ++id) eps[id] = {"127.0.0.1", free_port()};
  std::vector<std::unique_ptr<Voter>> voters;
  for (int id = 1; id <= 3; ++id) {
    auto v = std::make_unique<Voter>();
    raft::RaftConfig rc;
    rc.node_id = id;
    rc.voters = {1, 2, 3};
    rc.cluster_id = "bench";
    fs::path md = dir / ("node-" + std::to_string(id));
    v->driver = std::make_unique<raft::RaftDriver>(v->io, rc, raft::RaftDriver::open_metadata_log(md), md);
    v->network = std::make_unique<raft::RaftNetwork>(v->io, *v->driver, id, eps, rc.request_timeout_ms);
    v->network->attach();
    v->handler = std::make_unique<RaftOnlyHandler>(*v->driver, eps);
    v->listener = std::make_unique<net::Listener>(v->io, "CONTROLLER", "127.0.0.1", eps[id].port, *v->handler, net::Limits{});
    v->listener->start();
    v->driver->register_listener(&v->waiter);
    v->driver->start();
    voters.push_back(std::move(v));
  }
  for (auto& v : voters) {
    Voter* p = v.get();
    v->thread = std::thread([p] {
      auto guard = asio::make_work_guard(p->io);
      p->io.run();
    });
  }
  // Wait for a leader with a committed entry of its epoch.
  Voter* leader = nullptr;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!leader && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& v : voters) {
      std::promise<bool> p;
      asio::post(v->io, [&] { p.set_value(v->driver->is_leader() && v->driver->high_watermark() > 0); });
      if (p.get_future().get()) leader = v.get();
    }
  }
  if (!leader) {
    std::fprintf(stderr, "no leader elected\n");
    return 1;
  }
  std::vector<Result> results;
  for (int w : writer_counts) results.push_back(run(*leader, w, seconds));
  for (auto& v : voters) {
    std::promise<void> p;
    asio::post(v->io, [&] {
      v->listener->stop();
      v->driver->shutdown();
      v->network->close();
      p.set_value();
    });
    p.get_future().wait();
    v->io.stop();
    v->thread.join();
  }
  fs::remove_all(dir);
  for (const auto& r : results) {
    if (json) {
      std::printf("{\"writers\": %d, \"commits_per_s\": %.0f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f}\n", r.writers,
                  r.commits_per_s, r.p50_ms, r.p99_ms, r.p999_ms);
    } else {
      std::printf("raft append, 3 voters, fsync: %3d writer(s): %8.0f commits/s, latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms\n",
                  r.writers, r.commits_per_s, r.p50_ms, r.p99_ms, r.p999_ms);
    }
  }
  return 0;
}
