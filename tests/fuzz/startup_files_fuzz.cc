// Fuzz target: every file a start-up reads, the first byte choosing which —
// the clean-shutdown summary, quorum-state, leader-epoch-checkpoint, a
// producer `.snapshot`, the offset checkpoint files, meta.properties,
// partition.metadata, a `.txnindex`, and a partition directory whose segment
// (.log) holds the input (recovery walks it, truncating what does not check
// out). A corrupt file must give a clear error (an exception naming it) or be
// rebuilt, never a crash. The files are written under a temporary directory
// of this process.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "raft/quorum_state.h"
#include "storage/checkpoints.h"
#include "storage/clean_shutdown_summary.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log.h"
#include "storage/log_files.h"
#include "storage/meta_properties.h"
#include "storage/producer_state.h"
#include "storage/txn_index.h"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

// This process's directory for the files, removed when it exits.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("flotilla-fuzz-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& scratch() {
  static const Scratch s;
  return s.dir;
}

fs::path write_file(const std::string& name, std::span<const uint8_t> bytes) {
  const fs::path p = scratch() / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // recovery logs every truncation: millions of lines
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data + 1, size - 1);
  const std::string text(in.begin(), in.end());
  try {
    switch (data[0] % 9) {
      case 0:
        (void)storage::decode_log_summaries(in);
        break;
      case 1:
        (void)raft::quorum_state_from_json(text);
        break;
      case 2: {
        storage::LeaderEpochCache cache(scratch() / "epochs", text);
        (void)cache.entries();
        break;
      }
      case 3: {
        storage::ProducerStateManager m;
        (void)m.decode_snapshot(in, 0);
        break;
      }
      case 4:
        (void)storage::read_offset_checkpoint(write_file("recovery-point-offset-checkpoint", in));
        break;
      case 5:
        (void)storage::read_meta_properties(write_file("meta.properties", in));
        break;
      case 6:
        write_file("t-0/partition.metadata", in);
        (void)storage::read_partition_metadata(scratch() / "t-0");
        break;
      case 7: {
        storage::TxnIndex idx(write_file("txn/00000000000000000000.txnindex", in).string());
        (void)idx.entries();
        break;
      }
      default: {
        fs::remove_all(scratch() / "log-0");
        write_file("log-0/00000000000000000000.log", in);
        auto log = storage::Log::open((scratch() / "log-0").string(), storage::LogConfig{}, Uuid{1, 1});
        (void)log->read(0, 1 << 20, INT64_MAX, true);
        break;
      }
    }
  } catch (const std::exception&) {  // a clear error (the start-up names the file and stops or rebuilds)
  }
  return 0;
}
