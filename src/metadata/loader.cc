#include "metadata/loader.h"

#include <algorithm>
#include <spdlog/spdlog.h>

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
  auto pubs = publishers_;  // a publisher may add/remove publishers
  for (Publisher* p : pubs) p->publish(delta, image_);
}

void MetadataLoader::handle_commit(const raft::CommittedBatch& batch) {
  MetadataDelta delta(image_);
  if (!batch.is_control) {
    for (const auto& v : batch.records) delta.replay_value(v);
  }
  for (const auto& v : batch.records) committed_record_bytes_ += static_cast<int64_t>(v.size());
  last_append_timestamp_ = batch.append_timestamp;
  delta.set_offset(batch.last_offset, batch.epoch);
  publish(delta);
}

void MetadataLoader::handle_leader_change(raft::LeaderAndEpoch leader) {
  leader_ = leader;
  auto pubs = publishers_;
  for (Publisher* p : pubs) p->handle_leader_change(leader);
}

void MetadataLoader::load_batches(const std::vector<raft::CommittedBatch>& batches, int64_t end_offset, int32_t epoch) {
  MetadataDelta delta(image_);
  for (const auto& b : batches)
    if (!b.is_control)
      for (const auto& v : b.records) delta.replay_value(v);
  delta.set_offset(end_offset, epoch);
  publish(delta);
}

}  // namespace flotilla::metadata
