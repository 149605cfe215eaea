// KRaft snapshot files (KIP-630): `<20-digit endOffset>-<10-digit epoch>.checkpoint`
// holding record batches: a control batch with a SnapshotHeaderRecord (plus,
// for kraft.version >= 1, KRaftVersionRecord and VotersRecord), data batches
// of framed metadata records, and a control batch with a SnapshotFooterRecord.
// The same format serves `bootstrap.checkpoint` (storage format) and the
// `--standalone` bootstrap snapshot `00000000000000000000-0000000000.checkpoint`.
//
// Writers and readers are plain values; file writes are atomic (tmp, fsync,
// rename) and blocking (start-up, tools, or an I/O thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/uuid.h"
#include "protocol/messages.h"
#include "raft/types.h"

namespace flotilla::records {
struct BatchHeader;
}

namespace flotilla::raft {

struct SnapshotId {
  int64_t end_offset = 0;
  int32_t epoch = 0;
  bool operator==(const SnapshotId&) const = default;
};

// "00000000000000000042-0000000003.checkpoint"
std::string snapshot_file_name(SnapshotId id);
std::optional<SnapshotId> parse_snapshot_file_name(std::string_view file_name);

struct VoterEndpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
  bool operator==(const VoterEndpoint&) const = default;
};
struct Voter {
  int32_t id = -1;
  Uuid directory_id;
  std::vector<VoterEndpoint> endpoints;
  int16_t min_kraft_version = 0;
  int16_t max_kraft_version = 1;
  bool operator==(const Voter&) const = default;
};

class SnapshotWriter {
 public:
  // `now_ms` is the timestamp of the batches.
  SnapshotWriter(SnapshotId id, int64_t last_contained_log_timestamp, int64_t now_ms);
  // Adds KRaftVersionRecord (and VotersRecord if voters is non-empty) to the header batch.
  void set_kraft_version(int16_t kraft_version, std::vector<Voter> voters);
  // One data batch of record values (framed metadata records).
  void append(const std::vector<std::vector<uint8_t>>& record_values);
  // The whole file.
  std::vector<uint8_t> finish() const;
  // Writes `<dir>/<snapshot_file_name(id)>` atomically; returns the path.
  std::filesystem::path write(const std::filesystem::path& dir) const;
  // Writes to an explicit file name (bootstrap.checkpoint).
  void write_file(const std::filesystem::path& file) const;
  // KIP-630 snapshots: `<dir>/<name>.checkpoint.part`, fsync, rename to
  // `<name>.checkpoint`, fsync of the directory. Returns the final path.
  std::filesystem::path write_snapshot(const std::filesystem::path& dir) const;
  SnapshotId id() const { return id_; }

 private:
  SnapshotId id_;
  int64_t last_contained_log_timestamp_;
  int64_t now_ms_;
  std::optional<int16_t> kraft_version_;
  std::vector<Voter> voters_;
  std::vector<std::vector<std::vector<uint8_t>>> batches_;
};

struct SnapshotContents {
  int64_t last_contained_log_timestamp = 0;
  std::optional<int16_t> kraft_version;
  std::optional<std::vector<Voter>> voters;
  std::vector<CommittedBatch> batches;  // data batches only, in order
  bool has_header = false;
  bool has_footer = false;
};

// A data batch as listeners get it, from the log (the driver) or a snapshot:
// the header's offsets, epoch and timestamp, and its size as stored (what the
// snapshot trigger counts); the caller adds the record values.
CommittedBatch committed_batch(const records::BatchHeader& h, size_t stored_bytes);

// Throws DecodeError on a malformed file (bad batches, CRC mismatch, missing header).
SnapshotContents parse_snapshot(std::span<const uint8_t> bytes);
SnapshotContents read_snapshot(const std::filesystem::path& file);
// The snapshot in `file` if it is complete and well-formed (parses, CRCs,
// header first, footer present); else nullopt with the reason in `why`.
std::optional<SnapshotContents> read_complete_snapshot(const std::filesystem::path& file, std::string& why);
// Deletes the `*.checkpoint.part` leftovers of interrupted snapshot writes or
// downloads in a partition directory (start-up only: never while one is written).
void remove_partial_snapshots(const std::filesystem::path& partition_dir);
// The SnapshotHeaderRecord's LastContainedLogTimestamp, reading only the
// first batch (the metadata log cleaner's age of a snapshot). Throws DecodeError.
int64_t read_snapshot_timestamp(const std::filesystem::path& file);

// The snapshot files (`*.checkpoint`, not `.part`) of a partition directory, by id ascending.
std::vector<SnapshotId> list_snapshots(const std::filesystem::path& partition_dir);

// `storage format --standalone`: the bootstrap snapshot 0-0 in the partition
// directory with kraft.version 1 and this node as the only voter.
std::filesystem::path write_standalone_checkpoint(const std::filesystem::path& partition_dir, const Voter& self, int64_t now_ms);
// The voters of the bootstrap snapshot 0-0 in `partition_dir`, if it exists and has a VotersRecord.
std::optional<std::vector<Voter>> read_bootstrap_voters(const std::filesystem::path& partition_dir);

// A VotersRecord (the control record of KIP-853) from voters, and back.
msg::VotersRecord to_voters_record(const std::vector<Voter>& voters);
std::vector<Voter> from_voters_record(const msg::VotersRecord& record);

}  // namespace flotilla::raft
