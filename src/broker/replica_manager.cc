#include "broker/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/topic_config.h"
#include "common/clock.h"

namespace flotilla::broker {

ReplicaManager::ReplicaManager(asio::io_context& io, const BrokerConfig& config, storage::LogManager& logs)
    : io_(io), config_(config), logs_(logs), image_(std::make_shared<metadata::MetadataImage>()), fetch_timer_(io) {}

Partition* ReplicaManager::find(const std::string& topic, int32_t index) {
  auto it = partitions_.find(key(topic, index));
  return it == partitions_.end() ? nullptr : it->second.get();
}

Partition* ReplicaManager::find(const Uuid& topic_id, int32_t index) {
  auto it = topic_names_.find(topic_id);
  return it == topic_names_.end() ? nullptr : find(it->second, index);
}

void ReplicaManager::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  auto old = image_;
  image_ = image;
  const int32_t self = config_.node_id;

  // Topics gone from the image (or re-created under a new id): drop their logs.
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    Partition& p = *it->second;
    const metadata::TopicImage* t = image->topic(p.topic);
    bool keep = t && t->id == p.topic_id;
    if (keep) {
      auto pit = t->partitions.find(p.index);
      keep = pit != t->partitions.end() &&
             std::find(pit->second.replicas.begin(), pit->second.replicas.end(), self) != pit->second.replicas.end();
    }
    if (keep) {
      ++it;
      continue;
    }
    spdlog::info("[ReplicaManager broker={}] Deleting log for {}-{} (topic removed or replica moved)", self, p.topic, p.index);
    logs_.remove(p.topic, p.index);
    topic_names_.erase(p.topic_id);
    it = partitions_.erase(it);
  }

  for (const auto& [name, t] : image->topics_by_name()) {
    std::map<std::string, std::string> overrides = image->topic_configs(name);
    storage::LogConfig lc = log_config_for(config_, overrides);
    int32_t max_bytes = config_.message_max_bytes;
    if (auto o = overrides.find("max.message.bytes"); o != overrides.end()) {
      try {
        max_bytes = std::stoi(o->second);
      } catch (...) {
      }
    }
    std::string ts_type = config_.log_message_timestamp_type;
    if (auto o = overrides.find("message.timestamp.type"); o != overrides.end()) ts_type = o->second;
    for (const auto& [idx, reg] : t.partitions) {
      if (std::find(reg.replicas.begin(), reg.replicas.end(), self) == reg.replicas.end()) continue;
      auto& slot = partitions_[key(name, idx)];
      if (!slot) {
        slot = std::make_unique<Partition>();
        slot->topic = name;
        slot->index = idx;
        slot->topic_id = t.id;
        slot->log = logs_.get_or_create(name, idx, t.id, lc);
        topic_names_[t.id] = name;
        spdlog::info("[ReplicaManager broker={}] Created log for partition {}-{} with leader epoch {}, log end offset {}", self, name,
                     idx, reg.leader_epoch, slot->log->log_end_offset());
      }
      slot->leader_id = reg.leader;
      slot->leader_epoch = reg.leader_epoch;
      slot->replicas = reg.replicas;
      slot->isr = reg.isr;
      slot->max_message_bytes = max_bytes;
      slot->log_append_time = ts_type == "LogAppendTime";
    }
  }

  int64_t offset = image->offset();
  while (!image_waiters_.empty() && image_waiters_.begin()->first <= offset) {
    auto fn = std::move(image_waiters_.begin()->second);
    image_waiters_.erase(image_waiters_.begin());
    fn();
  }
  (void)old;
}

void ReplicaManager::when_image_reaches(int64_t offset, std::function<void()> fn) {
  if (image_->offset() >= offset) {
    fn();
    return;
  }
  image_waiters_.emplace(offset, std::move(fn));
}

AppendResult ReplicaManager::append(Partition& p, std::span<uint8_t> payload) {
  AppendResult r;
  records::Validation v = records::validate_batches(payload, p.max_message_bytes);
  if (v.error != ErrorCode::NONE) {
    r.error = v.error;
    r.message = v.message;
    spdlog::info("[ReplicaManager broker={}] Rejected produce to {}-{}: {} ({})", config_.node_id, p.topic, p.index, error_name(v.error),
                 v.message);
    return r;
  }
  try {
    storage::AppendInfo info = p.log->append(payload, v, p.leader_epoch);
    r.base_offset = info.first_offset;
    r.log_append_time = info.log_append_time;
    r.log_start_offset = p.log->log_start_offset();
  } catch (const std::exception& e) {
    spdlog::error("[ReplicaManager broker={}] Append to {}-{} failed: {}", config_.node_id, p.topic, p.index, e.what());
    r.error = ErrorCode::KAFKA_STORAGE_ERROR;
    r.message = e.what();
    return r;
  }
  if (!delayed_.empty()) wake_fetches();
  return r;
}

void ReplicaManager::delay_fetch(int64_t deadline_ms, std::function<bool()> try_complete, std::function<void()> expire) {
  delayed_.push_back(DelayedFetch{deadline_ms, std::move(try_complete), std::move(expire)});
  arm_fetch_timer();
}

void ReplicaManager::wake_fetches() {
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->try_complete()) {
      it = delayed_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaManager::arm_fetch_timer() {
  if (delayed_.empty()) return;
  int64_t earliest = INT64_MAX;
  for (const auto& d : delayed_) earliest = std::min(earliest, d.deadline_ms);
  fetch_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, earliest - monotonic_ms())));
  fetch_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec) return;
    int64_t now = monotonic_ms();
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->deadline_ms <= now) {
        auto expire = std::move(it->expire);
        it = delayed_.erase(it);
        expire();
      } else {
        ++it;
      }
    }
    arm_fetch_timer();
  });
}

void ReplicaManager::housekeeping() {
  int64_t now = wall_clock_ms();
  for (auto& [k, p] : partitions_) {
    try {
      p->log->roll_if_needed(now);
      int n = p->log->apply_retention(now);
      if (n > 0)
        spdlog::info("[ReplicaManager broker={}] Retention deleted {} segment(s) of {}; log start offset is now {}", config_.node_id, n, k,
                     p->log->log_start_offset());
    } catch (const std::exception& e) {
      spdlog::error("[ReplicaManager broker={}] Housekeeping of {} failed: {}", config_.node_id, k, e.what());
    }
  }
  logs_.checkpoint_recovery_points();
}

void ReplicaManager::shutdown() {
  for (auto& d : delayed_) d.expire();
  delayed_.clear();
  fetch_timer_.cancel();
  for (auto& [k, p] : partitions_) {
    try {
      p->log->flush(p->log->log_end_offset());
    } catch (const std::exception& e) {
      spdlog::error("flush of {} failed at shutdown: {}", k, e.what());
    }
  }
  logs_.checkpoint_recovery_points();
}

}  // namespace flotilla::broker
