// MetadataLoader: a RaftListener that decodes committed batches of
// __cluster_metadata into MetadataDeltas and publishes a new MetadataImage to
// every Publisher at each batch boundary (control batches too: they advance
// the image's offset). A restart rebuilds the image by replaying the log
// (RaftDriver::register_listener replays the committed history).
//
// Threading: the io_context thread of the RaftDriver only.
// Invariant: image()->offset() is the last offset of the last batch applied;
// publishers see every image in order, each exactly once.
#pragma once

#include <memory>
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
  int64_t committed_record_bytes() const { return committed_record_bytes_; }
  // The append timestamp of the last batch applied (a snapshot's LastContainedLogTimestamp).
  int64_t last_append_timestamp() const { return last_append_timestamp_; }

  void handle_commit(const raft::CommittedBatch& batch) override;
  void handle_leader_change(raft::LeaderAndEpoch leader) override;

  // Loads data batches outside Raft (a snapshot), publishing once at the end.
  void load_batches(const std::vector<raft::CommittedBatch>& batches, int64_t end_offset, int32_t epoch);

 private:
  void publish(const MetadataDelta& delta);

  std::string cluster_id_;
  std::shared_ptr<const MetadataImage> image_;
  raft::LeaderAndEpoch leader_;
  std::vector<Publisher*> publishers_;
  int64_t committed_record_bytes_ = 0;
  int64_t last_append_timestamp_ = 0;
};

}  // namespace flotilla::metadata
