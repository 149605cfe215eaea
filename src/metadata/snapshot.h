// Metadata snapshots (KIP-630): the committed MetadataImage written as a
// `<20-digit endOffset>-<10-digit epoch>.checkpoint` file in
// `__cluster_metadata-0`, and read back at start-up.
//
// - image_records(): the records that re-create an image, in the order of
//   Kafka's image writers (features, brokers, topics with their partitions,
//   configs, client quotas, SCRAM credentials, producer ids, ACLs, delegation tokens), at the record versions of the
//   metadata.version
//   in force.
// - SnapshotGenerator: a Publisher on the MetadataLoader. After
//   `metadata.log.max.record.bytes.between.snapshots` bytes of committed
//   batches (their size as stored, as Kafka counts them), or
//   `metadata.log.max.snapshot.interval.ms` with new records (checked at each
//   published image and by a steady_timer, so an idle log is snapshotted too),
//   it hands the (immutable) image to its own thread, which encodes it and
//   writes the file (`.part`, fsync, rename); completion is posted back to the
//   io_context. One write at a time; an image already snapshotted is never
//   written again.
// - read_latest_snapshot(): the newest snapshot that parses (CRC, header,
//   footer); corrupt ones and `.checkpoint.part` leftovers are skipped (and
//   logged), never loaded.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "metadata/image.h"
#include "metadata/loader.h"
#include "metadata/publisher.h"
#include "raft/snapshot.h"

namespace flotilla::metadata {

// The framed metadata records that re-create `image` (replayed on an empty image).
std::vector<std::vector<uint8_t>> image_records(const MetadataImage& image);

// kraft.version and voters for the snapshot's header batch (dynamic quorums only).
using KraftState = std::optional<std::pair<int16_t, std::vector<raft::Voter>>>;

// Encodes `image` as snapshot id {image.offset() + 1, image.epoch()} and writes it
// into `partition_dir` (blocking). `last_contained_log_timestamp`: the append
// time of the image's last batch (the SnapshotHeaderRecord's). Returns the file's path.
std::filesystem::path write_image_snapshot(const std::filesystem::path& partition_dir, const MetadataImage& image,
                                           const KraftState& kraft, int64_t now_ms, int64_t last_contained_log_timestamp = -1);

struct LoadedSnapshot {
  raft::SnapshotId id;
  std::filesystem::path path;
  raft::SnapshotContents contents;
};
// The newest valid snapshot with 0 < end offset <= max_end_offset (the 0-0
// bootstrap checkpoint holds no metadata). Removes `*.checkpoint.part` files.
std::optional<LoadedSnapshot> read_latest_snapshot(const std::filesystem::path& partition_dir, int64_t max_end_offset = INT64_MAX);

// Applies a loaded snapshot to the loader, as the Raft driver does at start-up
// (tools, tests and the load benchmark).
void load_snapshot(MetadataLoader& loader, const LoadedSnapshot& snapshot);

struct SnapshotGeneratorConfig {
  int64_t max_bytes_between_snapshots = 20971520;  // metadata.log.max.record.bytes.between.snapshots
  int64_t max_interval_ms = 3600000;               // metadata.log.max.snapshot.interval.ms (0: time never triggers)
  std::function<int64_t()> clock;                  // wall clock ms (default: the system clock)
  // Called on the io_context when a snapshot ending at `end_offset` starts:
  // the voters in force before that offset (dynamic quorums).
  std::function<KraftState(int64_t end_offset)> kraft_state;
  // A running total of committed bytes, read on the io_context; the byte
  // trigger counts its growth since the last snapshot. Kafka counts the sizes
  // of the committed batches as stored (raft::CommittedBatch::size_in_bytes).
  // Default: the loader's committed_record_bytes() (record values only).
  std::function<int64_t()> committed_bytes;
};

class SnapshotGenerator : public Publisher {
 public:
  SnapshotGenerator(asio::io_context& io, std::filesystem::path partition_dir, const MetadataLoader& loader,
                    SnapshotGeneratorConfig config);
  ~SnapshotGenerator() override;
  SnapshotGenerator(const SnapshotGenerator&) = delete;
  SnapshotGenerator& operator=(const SnapshotGenerator&) = delete;

  void publish(const MetadataDelta& delta, std::shared_ptr<const MetadataImage> image) override;

  // The snapshot loaded at start-up (nothing to write until the image passes it).
  void set_latest(raft::SnapshotId id);
  std::optional<raft::SnapshotId> latest() const { return latest_; }
  int64_t snapshots_written() const { return written_; }
  bool writing() const { return writing_; }
  // Called on the io_context after each snapshot written (tests, the cleaner).
  void set_on_written(std::function<void(raft::SnapshotId)> fn) { on_written_ = std::move(fn); }
  // Cancels the interval timer and waits for a write in flight (blocking;
  // shutdown). Call on the io_context thread (or with it stopped).
  void stop();

 private:
  int64_t now_ms() const;
  int64_t committed_bytes() const;
  // `image` is newer than the latest snapshot and bytes were committed since it.
  bool has_new_records(const std::shared_ptr<const MetadataImage>& image) const;
  // Returns true when a write started.
  bool maybe_start(const std::shared_ptr<const MetadataImage>& image);
  // Arms the interval timer for when metadata.log.max.snapshot.interval.ms
  // since the last snapshot will have passed (no-op if armed or interval 0).
  void arm_timer();
  void on_timer();

  asio::io_context& io_;
  std::filesystem::path dir_;
  const MetadataLoader& loader_;
  SnapshotGeneratorConfig config_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::unique_ptr<asio::thread_pool> thread_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::optional<raft::SnapshotId> latest_;
  int64_t bytes_at_last_ = 0;
  int64_t last_time_ms_ = 0;
  bool writing_ = false;
  bool stopped_ = false;
  int64_t written_ = 0;
  std::shared_ptr<const MetadataImage> last_image_;
  std::function<void(raft::SnapshotId)> on_written_;
};

}  // namespace flotilla::metadata
