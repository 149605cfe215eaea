// raft_sim: runs the deterministic Raft simulation for one seed (with a trace
// of every fault, election and truncation under --verbose) or a range of
// seeds, and exits non-zero if any seed violates an invariant.
//
//   raft_sim --seed 1234 --voters 5 [--verbose]
//   raft_sim --seeds 1-5000 [--voters 3|5|mixed] [--expect-violation]
//
// --expect-violation inverts the exit code: used by the planted-bug build
// (raft_sim_planted), which must be caught.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "sim/raft_sim.h"

using namespace flotilla::raft::sim;

int main(int argc, char** argv) {
  uint64_t first = 1, last = 1;
  int voters = 0;  // 0: mixed (odd seeds 3, even seeds 5)
  bool verbose = false, expect_violation = false, observer = true;
  int reconfigure = -1;  // -1: every third seed
  std::string binary = argv[0];
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      first = last = std::stoull(argv[++i]);
    } else if (a == "--seeds" && i + 1 < argc) {
      std::string r = argv[++i];
      auto dash = r.find('-');
      first = std::stoull(r.substr(0, dash));
      last = dash == std::string::npos ? first : std::stoull(r.substr(dash + 1));
    } else if (a == "--voters" && i + 1 < argc) {
      std::string v = argv[++i];
      voters = v == "mixed" ? 0 : std::stoi(v);
    } else if (a == "--reconfigure") {
      reconfigure = 1;
    } else if (a == "--no-reconfigure") {
      reconfigure = 0;
    } else if (a == "--no-observer") {
      observer = false;
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--expect-violation") {
      expect_violation = true;
    } else {
      std::fprintf(stderr, "usage: raft_sim (--seed N | --seeds A-B) [--voters 3|5|mixed] [--no-observer] [--verbose] [--expect-violation]\n");
      return 2;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  uint64_t failed = 0, ran = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.voters = voters ? voters : (seed % 2 ? 3 : 5);
    o.observer = observer;
    o.reconfigure = reconfigure < 0 ? seed % 3 == 0 : reconfigure == 1;
    o.verbose = verbose;
    SimResult r = run_simulation(o);
    ++ran;
    if (!r.ok) {
      ++failed;
      std::printf("seed %llu (%d voters) FAILED: %s\n  replay: %s\n", static_cast<unsigned long long>(seed), o.voters,
                  r.violation.c_str(), replay_command(o, binary).c_str());
      if (expect_violation) break;
    } else if (first == last) {
      std::printf("seed %llu (%d voters) ok: %lld committed batches, %lld elections, last epoch %d\n",
                  static_cast<unsigned long long>(seed), o.voters, static_cast<long long>(r.committed),
                  static_cast<long long>(r.elections), r.max_epoch);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%llu seed(s) run, %llu violated an invariant, %.1f s\n", static_cast<unsigned long long>(ran),
              static_cast<unsigned long long>(failed), secs);
  if (expect_violation) return failed > 0 ? 0 : 1;
  return failed > 0 ? 1 : 0;
}
