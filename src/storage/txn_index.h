// The aborted-transaction index of a segment, Kafka's `.txnindex`
// (`<20-digit base offset>.txnindex` next to the segment's .log): one entry
// per ABORT marker in the segment, appended when the marker is applied, in
// marker (last offset) order. Entry layout (34 bytes, big-endian, Kafka's
// AbortedTxn):
//   version int16 (0) | producerId int64 | firstOffset int64 |
//   lastOffset int64 (the marker's offset) | lastStableOffset int64
// lastStableOffset is the LSO right after the transaction completed; a fetch
// that ends below it needs no entry of a later segment (collect's `complete`).
//
// The file is created on the first append (Kafka also creates it lazily and
// accepts a missing or empty one). Entries are kept in memory too.
//
// The file is reached through the fd cache (storage/fd_cache.h): no
// descriptor is held between operations.
//
// Threading: a mutex guards the entries, so the log cleaner's thread may copy
// them while the owning thread appends to the active segment's index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "storage/fd_cache.h"

namespace flotilla::storage {

struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;  // the ABORT marker's offset
  int64_t last_stable_offset = -1;
  bool operator==(const AbortedTxn&) const = default;
};

class TxnIndex {
 public:
  static constexpr size_t kEntrySize = 34;
  static constexpr int16_t kVersion = 0;

  // Reads the file if it exists (a trailing partial entry is dropped and cut off).
  // `listed`: false when the caller's directory listing shows no such file
  // (a start-up lists each partition once; this saves a stat per segment).
  explicit TxnIndex(std::string path, bool listed = true);
  ~TxnIndex();
  TxnIndex(const TxnIndex&) = delete;
  TxnIndex& operator=(const TxnIndex&) = delete;

  const std::string& path() const { return path_; }

  // Appends an entry (creating the file). Invariant: last offsets strictly
  // increase; an entry at or below the last one is ignored (a replay of an
  // already indexed marker), so appends are idempotent.
  void append(const AbortedTxn& t);
  // Drops the entries with last_offset >= offset (truncation, replay).
  void truncate_to(int64_t offset);
  // Replaces every entry (the cleaner's merged index); writes the file atomically.
  void reset(std::vector<AbortedTxn> entries);
  // fdatasync if entries were written since the last sync.
  void flush();
  // Deletes the file (segment deletion); entries are forgotten.
  void remove_file();

  std::vector<AbortedTxn> entries() const;
  bool empty() const;

  struct SearchResult {
    std::vector<AbortedTxn> aborted;
    bool complete = false;  // an entry's LSO >= upper bound: later segments add nothing
  };
  // Kafka's collectAbortedTxns: entries with last_offset >= fetch_offset and
  // first_offset < upper_bound, stopping after the first whose
  // last_stable_offset >= upper_bound.
  SearchResult collect(int64_t fetch_offset, int64_t upper_bound) const;

  static void encode(const AbortedTxn& t, uint8_t* out);
  static AbortedTxn decode(const uint8_t* in);
  // Every whole entry of an index file's bytes.
  static std::vector<AbortedTxn> decode_all(std::span<const uint8_t> data);
  static std::vector<AbortedTxn> read_file(const std::filesystem::path& path);

 private:
  std::string path_;  // not a std::filesystem::path: see Segment::path
  mutable std::mutex mu_;
  std::vector<AbortedTxn> entries_;
  CachedFile file_;  // opened O_RDWR | O_CREAT when first needed
  bool dirty_ = false;
};

}  // namespace flotilla::storage
