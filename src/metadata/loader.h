// MetadataLoader: a RaftListener that decodes committed batches of
// __cluster_metadata into MetadataDeltas and publishes a new MetadataImage to
// every Publisher at each batch boundary (control batches too: they advance
// the image's offset). A restart rebuilds the image by replaying the log
// (RaftDriver::register_listener replays the committed history). A snapshot
// from Raft (handle_load_snapshot) replaces the image; publishers get it as
// the delta between the image they had and the snapshot's, so that they need
// no separate path for it.
//
// Batches delivered together (CommittedBatch::more_follow: a restart replaying
// the log, a lagging node catching up) are applied as one delta and published
// once, at the last: publishers act on the final state of a partition, not on
// every leader change of its history (each of which would rewrite its
// leader-epoch-checkpoint), so start-up does not slow down as the log grows.
//
// Threading: the io_context thread of the RaftDriver only.
// Invariant: image()->offset() is the last offset of the last batch (or
// snapshot) published; publishers see every image in order, each exactly once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metadata/delta.h"
#include "metadata/image.h"
#include "metadata/publisher.h"
#include "raft/client.h"

namespace flotilla::metadata {

class MetadataLoader : public raft::RaftListener {
 public:
  explicit MetadataLoader(std::string cluster_id = {});

  // A publisher added late first gets the current image (as a delta of everything).
  void add_publisher(Publisher* publisher);
  void remove_publisher(Publisher* publisher);

  std::shared_ptr<const MetadataImage> image() const { return image_; }
  raft::LeaderAndEpoch leader() const { return leader_; }
  // Bytes of record values committed through handle_commit since start (the
  // snapshot generator's measure; a loaded snapshot does not count).
  // Bytes of whole committed batches as stored (Kafka's measure for
  // metadata.log.max.record.bytes.between.snapshots).
  int64_t committed_batch_bytes() const { return committed_batch_bytes_; }
  int64_t committed_record_bytes() const { return committed_record_bytes_; }
  // The append timestamp of the last batch applied (a snapshot's LastContainedLogTimestamp).
  int64_t last_append_timestamp() const { return last_append_timestamp_; }

  void handle_commit(const raft::CommittedBatch& batch) override;
  void handle_leader_change(raft::LeaderAndEpoch leader) override;
  // Replaces the image with the snapshot's (built on an empty image, not on the
  // current one) and publishes MetadataDelta::between(old, new).
  void handle_load_snapshot(const raft::SnapshotId& id, const raft::SnapshotContents& contents) override;

 private:
  void publish(const MetadataDelta& delta);
  // Replays the records of the data batches (control batches carry no metadata).
  static void replay_batches(MetadataDelta& delta, const std::vector<raft::CommittedBatch>& batches);

  std::string cluster_id_;
  std::shared_ptr<const MetadataImage> image_;
  // Batches applied but not yet published (more_follow).
  std::optional<MetadataDelta> pending_;
  raft::LeaderAndEpoch leader_;
  std::vector<Publisher*> publishers_;
  int64_t committed_record_bytes_ = 0;
  int64_t committed_batch_bytes_ = 0;
  int64_t last_append_timestamp_ = 0;
};

}  // namespace flotilla::metadata
