// A partition's leader epochs: for each leader epoch, the first offset written
// in it (Kafka's `leader-epoch-checkpoint` in the partition directory:
// "0\n<count>\n<epoch> <start offset>\n..."). It answers OffsetForLeaderEpoch —
// "where does epoch E end in this log?" — which is how a returning replica
// finds the point where its log diverged from the leader's (KIP-101, KIP-279).
//
// Invariants: entries are strictly increasing in epoch and non-decreasing in
// start offset; every start offset is < the log end offset once truncate_from_end
// has been applied for a truncation. The file is rewritten on every change
// (changes come with leader elections and truncations: rare, but a start-up
// elects every partition's leader at once): at once, or, for an election with
// a BackgroundFileWriter set, on its thread — written before the first batch
// of that epoch is appended (ensure_written), so a crash never leaves a batch
// whose epoch the file lacks (an entry without batches is harmless to lose: a
// log's epochs are told by its batches).
//
// Threading: the owning partition's thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace flotilla::storage {

class BackgroundFileWriter;

struct EpochEntry {
  int32_t epoch = -1;
  int64_t start_offset = 0;
  bool operator==(const EpochEntry&) const = default;
};

class LeaderEpochCache {
 public:
  // Loads `dir/leader-epoch-checkpoint` if present (a malformed file is logged
  // and treated as empty: the replica then truncates to its high watermark).
  explicit LeaderEpochCache(std::filesystem::path dir);
  // The same from the file's content as already read ("": no file;
  // Log::take_loaded_epoch_checkpoint); nullopt reads the file.
  LeaderEpochCache(std::filesystem::path dir, std::optional<std::string> content);

  // Epoch `epoch` starts at `start_offset`. Ignored if not newer than the
  // latest epoch. Entries at or after `start_offset` (from a log that was
  // truncated under them) are dropped first.
  void assign(int32_t epoch, int64_t start_offset);
  // The same with the file written by `writer` (null: now); ensure_written()
  // before appending a batch of that epoch.
  void assign_deferred(int32_t epoch, int64_t start_offset, BackgroundFileWriter* writer);
  // A deferred write still queued is written now. Inline: called before every
  // leader append, almost always with nothing queued.
  void ensure_written() {
    if (queued_on_) write_queued();
  }
  // A deferred write still queued is dropped: the log's directory goes away
  // (a re-created topic's log could get it otherwise).
  void discard_queued();
  ~LeaderEpochCache();  // writes a queued write now (unless discarded)
  LeaderEpochCache(const LeaderEpochCache&) = delete;
  LeaderEpochCache& operator=(const LeaderEpochCache&) = delete;
  // The log was truncated to end at `end_offset`: entries starting at or after it go.
  // `write` false leaves the file as it is: at a log's load the same cut is
  // made again from the file each time, so only the next change need write it
  // (a start-up of 100,000 partitions skips as many file writes).
  void truncate_from_end(int64_t end_offset, bool write = true);
  // The log now starts at `start_offset` (retention, DeleteRecords): earlier
  // entries collapse into one starting there.
  void truncate_from_start(int64_t start_offset);
  void clear();

  std::optional<EpochEntry> latest() const;
  int32_t latest_epoch() const { return entries_.empty() ? -1 : entries_.back().epoch; }
  // OffsetForLeaderEpoch's answer for `epoch` on a log ending at `log_end_offset`:
  // (the largest epoch <= `epoch`, the start offset of the first epoch after
  // it) — the log end for the latest epoch; `epoch` itself if it precedes every
  // entry; (-1, -1) if it is newer than every entry or there are none.
  std::pair<int32_t, int64_t> end_offset_for(int32_t epoch, int64_t log_end_offset) const;

  const std::vector<EpochEntry>& entries() const { return entries_; }
  static constexpr const char* kFileName = "leader-epoch-checkpoint";

 private:
  bool add_entry(int32_t epoch, int64_t start_offset);
  void write_queued();  // false: not newer, ignored
  void persist();
  std::string content() const;
  void parse(const std::string& content);

  std::string path_;  // not a std::filesystem::path (~600 bytes each, one per partition)
  std::vector<EpochEntry> entries_;
  int64_t file_size_ = -1;  // the file's size as last read or written (-1: unknown)
  BackgroundFileWriter* queued_on_ = nullptr;  // a write of ours may be queued there
};

}  // namespace flotilla::storage
