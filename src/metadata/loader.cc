#include "metadata/loader.h"

#include <algorithm>
#include <spdlog/spdlog.h>

#include "metadata/snapshot_metrics.h"
#include "raft/snapshot.h"

namespace flotilla::metadata {

MetadataLoader::MetadataLoader(std::string cluster_id) : cluster_id_(std::move(cluster_id)) {
  MetadataDelta d(std::make_shared<const MetadataImage>());
  d.set_cluster_id(cluster_id_);
  image_ = d.apply();
}

void MetadataLoader::add_publisher(Publisher* publisher) {
  publishers_.push_back(publisher);
  if (!image_->empty()) publisher->publish(MetadataDelta::everything(image_), image_);
  if (leader_.epoch > 0 || leader_.leader_id >= 0) publisher->handle_leader_change(leader_);
}

void MetadataLoader::remove_publisher(Publisher* publisher) {
  publishers_.erase(std::remove(publishers_.begin(), publishers_.end(), publisher), publishers_.end());
}

void MetadataLoader::publish(const MetadataDelta& delta) {
  image_ = delta.apply();
  auto& m = metadata_metrics();
  m.last_applied_offset.store(image_->offset(), std::memory_order_relaxed);
  m.last_applied_timestamp.store(last_append_timestamp_, std::memory_order_relaxed);
  m.current_metadata_version.store(image_->metadata_version(), std::memory_order_relaxed);
  auto pubs = publishers_;  // a publisher may add/remove publishers
  for (Publisher* p : pubs) p->publish(delta, image_);
}

void MetadataLoader::handle_commit(const raft::CommittedBatch& batch) {
  if (!pending_) pending_.emplace(image_);
  MetadataDelta& delta = *pending_;
  if (!batch.is_control) {
    for (const auto& v : batch.records) delta.replay_value(v);
  }
  for (const auto& v : batch.records) committed_record_bytes_ += static_cast<int64_t>(v.size());
  committed_batch_bytes_ += batch.size_in_bytes;
  last_append_timestamp_ = batch.append_timestamp;
  delta.set_offset(batch.last_offset, batch.epoch);
  if (batch.more_follow) return;
  MetadataDelta ready = std::move(*pending_);
  pending_.reset();
  publish(ready);
}

void MetadataLoader::handle_leader_change(raft::LeaderAndEpoch leader) {
  leader_ = leader;
  auto pubs = publishers_;
  for (Publisher* p : pubs) p->handle_leader_change(leader);
}

void MetadataLoader::replay_batches(MetadataDelta& delta, const std::vector<raft::CommittedBatch>& batches) {
  for (const auto& b : batches)
    if (!b.is_control)
      for (const auto& v : b.records) delta.replay_value(v);
}

void MetadataLoader::handle_load_snapshot(const raft::SnapshotId& id, const raft::SnapshotContents& contents) {
  // The snapshot is the whole state below its end offset: built from nothing,
  // so that what the current image holds and the snapshot does not (a topic
  // deleted, a broker unregistered meanwhile) is gone.
  if (pending_) {  // batches before the snapshot: published first, so that images stay in order
    MetadataDelta ready = std::move(*pending_);
    pending_.reset();
    publish(ready);
  }
  MetadataDelta build(std::make_shared<const MetadataImage>());
  build.track_changes(false);  // publishers get between(image_, next)
  build.set_cluster_id(cluster_id_);
  replay_batches(build, contents.batches);
  build.set_offset(id.end_offset - 1, id.epoch);
  auto next = build.apply();
  if (next->offset() < image_->offset())
    spdlog::warn("[MetadataLoader] Loading snapshot {} below the image at offset {}: the image goes back", raft::snapshot_file_name(id),
                 image_->offset());
  int64_t before = image_->offset();
  // committed_record_bytes_ stays: it counts what came through handle_commit,
  // and a snapshot brings no new records to snapshot.
  last_append_timestamp_ = contents.last_contained_log_timestamp;
  metadata_metrics().handle_load_snapshot_count.fetch_add(1, std::memory_order_relaxed);
  publish(MetadataDelta::between(image_, next));
  spdlog::info("[MetadataLoader] Loaded snapshot {} ({} batches): image at offset {} (was {})", raft::snapshot_file_name(id),
               contents.batches.size(), image_->offset(), before);
}

}  // namespace flotilla::metadata
