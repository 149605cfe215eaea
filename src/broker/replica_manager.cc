#include "broker/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "broker/replica_fetcher.h"
#include "broker/topic_config.h"
#include "common/clock.h"
#include "storage/checkpoints.h"

namespace flotilla::broker {

namespace {
constexpr const char* kHwCheckpoint = "replication-offset-checkpoint";

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

int32_t int_override(const metadata::ConfigMap& overrides, const char* name, int32_t fallback) {
  auto o = overrides.find(name);
  if (o == overrides.end()) return fallback;
  try {
    return std::stoi(o->second);
  } catch (...) {
    return fallback;
  }
}
}  // namespace

std::vector<int32_t> Partition::maximal_isr() const {
  if (!alter_in_flight) return isr;
  std::vector<int32_t> out = isr;
  for (int32_t r : pending_isr)
    if (!contains(out, r)) out.push_back(r);
  return out;
}

ReplicaManager::ReplicaManager(asio::io_context& io, const BrokerConfig& config, storage::LogManager& logs)
    : io_(io),
      config_(config),
      logs_(logs),
      image_(std::make_shared<metadata::MetadataImage>()),
      delay_timer_(io),
      isr_timer_(io),
      hw_checkpoint_timer_(io) {
  fetchers_ = std::make_unique<ReplicaFetcherManager>(io, *this);
  for (const auto& dir : config_.log_dirs) {
    try {
      for (const auto& [tp, hw] : storage::read_offset_checkpoint(std::filesystem::path(dir) / kHwCheckpoint)) initial_hw_[tp] = hw;
    } catch (const std::exception& e) {
      spdlog::warn("[ReplicaManager broker={}] {}: high watermarks start at 0", config_.node_id, e.what());
    }
  }
  arm_isr_timer();
  arm_hw_checkpoint_timer();
}

ReplicaManager::~ReplicaManager() { *alive_ = false; }

void ReplicaManager::set_controller(ControllerChannel* channel, std::function<int64_t()> broker_epoch) {
  controller_ = channel;
  broker_epoch_ = std::move(broker_epoch);
}

Partition* ReplicaManager::find(const std::string& topic, int32_t index) {
  auto it = partitions_.find(key(topic, index));
  return it == partitions_.end() ? nullptr : it->second.get();
}

Partition* ReplicaManager::find(const Uuid& topic_id, int32_t index) {
  auto it = topic_names_.find(topic_id);
  if (it == topic_names_.end()) return nullptr;
  Partition* p = find(it->second, index);
  return p && p->topic_id == topic_id ? p : nullptr;  // the name may belong to a re-created topic now
}

std::vector<Partition*> ReplicaManager::partitions() {
  std::vector<Partition*> out;
  out.reserve(partitions_.size());
  for (auto& [k, p] : partitions_) out.push_back(p.get());
  return out;
}

// ---------------------------------------------------------------- metadata

void ReplicaManager::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  if (stopped_) return;
  image_ = image;
  apply_image();
}

// Brings the partitions in line with image_. Creating a log costs a few file
// creations (milliseconds each on a busy file system): an image with
// thousands of new partitions is worked off in slices of kCreateSliceMs, the
// event loop serving heartbeats and requests in between (a partition not
// created yet answers UNKNOWN_TOPIC_OR_PARTITION, which clients retry).
// Waiters on the image run once every partition it lists exists.
void ReplicaManager::apply_image() {
  constexpr int64_t kCreateSliceMs = 20;
  const std::shared_ptr<const metadata::MetadataImage> image = image_;
  const int32_t self = config_.node_id;
  const int64_t slice_end = monotonic_ms() + kCreateSliceMs;
  bool more = false;

  // Topics gone from the image (or re-created under a new id): drop their logs.
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    Partition& p = *it->second;
    const metadata::TopicImage* t = image->topic(p.topic);
    bool keep = t && t->id == p.topic_id;
    if (keep) {
      auto pit = t->partitions.find(p.index);
      keep = pit != t->partitions.end() && contains(pit->second.replicas, self);
    }
    if (keep) {
      ++it;
      continue;
    }
    spdlog::info("[ReplicaManager broker={}] Deleting log for {}-{} (topic removed or replica moved)", self, p.topic, p.index);
    fetchers_->unfollow(p.topic, p.index);
    if (p.is_leader(self)) notify_leadership(p.topic, p.index, p.leader_epoch, false);
    std::string k = it->first;
    logs_.remove(p.topic, p.index);
    // topic_names_ keeps the id: other partitions of the topic may stay here.
    it = partitions_.erase(it);
    wake(k);
  }

  // Dynamic broker configs (KIP-226: this broker's, over the cluster default)
  // stand in for server.properties under each topic's own overrides.
  metadata::ConfigMap defaults;
  {
    metadata::ConfigMap dyn = image->configs_of(metadata::ConfigResourceType::BROKER, "");
    for (const auto& [k, v] : image->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(self))) dyn[k] = v;
    static const std::pair<const char*, const char*> kTopicNameOf[] = {
        {"log.retention.ms", "retention.ms"},         {"log.retention.bytes", "retention.bytes"},
        {"log.segment.bytes", "segment.bytes"},       {"log.roll.ms", "segment.ms"},
        {"message.max.bytes", "max.message.bytes"},   {"min.insync.replicas", "min.insync.replicas"},
        {"log.message.timestamp.type", "message.timestamp.type"}, {"log.index.interval.bytes", "index.interval.bytes"},
        {"log.flush.interval.messages", "flush.messages"},        {"log.segment.delete.delay.ms", "file.delete.delay.ms"},
    };
    for (const auto& [broker_name, topic_name] : kTopicNameOf)
      if (auto it = dyn.find(broker_name); it != dyn.end()) defaults[topic_name] = it->second;
  }
  for (const auto& [name, t] : image->topics_by_name()) {
    metadata::ConfigMap overrides = defaults;
    for (const auto& [k, v] : image->topic_configs(name)) overrides[k] = v;
    storage::LogConfig lc = log_config_for(config_, overrides);
    int32_t max_bytes = int_override(overrides, "max.message.bytes", config_.message_max_bytes);
    int32_t min_isr = int_override(overrides, "min.insync.replicas", config_.min_insync_replicas);
    std::string ts_type = config_.log_message_timestamp_type;
    if (auto o = overrides.find("message.timestamp.type"); o != overrides.end()) ts_type = o->second;
    for (const auto& [idx, reg] : t.partitions) {
      if (!contains(reg.replicas, self)) continue;
      const std::string k = key(name, idx);
      auto found = partitions_.find(k);
      bool created = false;
      if (found == partitions_.end() && monotonic_ms() > slice_end) {
        more = true;
        continue;
      }
      auto& slot = partitions_[k];
      if (!slot) {
        created = true;
        slot = std::make_unique<Partition>();
        slot->topic = name;
        slot->index = idx;
        slot->topic_id = t.id;
        slot->log = logs_.get_or_create(name, idx, t.id, lc);
        slot->epochs = std::make_unique<storage::LeaderEpochCache>(slot->log->dir());
        // Recovery may have cut the log under epochs the cache still lists.
        slot->epochs->truncate_from_end(slot->log->log_end_offset());
        auto hw = initial_hw_.find({name, idx});
        slot->hw = std::min(hw == initial_hw_.end() ? 0 : hw->second, slot->log->log_end_offset());
        slot->hw = std::max(slot->hw, slot->log->log_start_offset());
        topic_names_[t.id] = name;
        spdlog::info("[ReplicaManager broker={}] Created log for partition {}-{} with leader epoch {}, log end offset {}, high watermark {}",
                     self, name, idx, reg.leader_epoch, slot->log->log_end_offset(), slot->hw);
      }
      Partition& p = *slot;
      if (!created) p.log->set_config(lc);  // a topic or broker config changed since
      p.replicas = reg.replicas;
      p.max_message_bytes = max_bytes;
      p.min_insync_replicas = min_isr;
      p.log_append_time = ts_type == "LogAppendTime";
      bool role_change = created || reg.leader != p.leader_id || reg.leader_epoch != p.leader_epoch;
      if (role_change && reg.leader_epoch < p.leader_epoch && !created) {
        // An image never goes back; a newer epoch learned from an AlterPartition
        // response stays (the image will catch up).
        continue;
      }
      if (role_change) {
        p.leader_id = reg.leader;
        p.leader_epoch = reg.leader_epoch;
        p.partition_epoch = reg.partition_epoch;
        p.isr = reg.isr;
        p.alter_in_flight = false;
        // The new role starts from the whole log: its epoch start offset, or
        // the offset its fetcher asks for, must count the writes in flight.
        p.log->drain();
        if (p.log->failed()) spdlog::error("[ReplicaManager broker={}] The log of {}-{} failed a write; restart to recover it", self, p.topic, p.index);
        if (reg.leader == self) {
          become_leader(p);
        } else {
          become_follower(p);
        }
        wake(k);
        notify_leadership(p.topic, p.index, p.leader_epoch, reg.leader == self);
      } else if (reg.partition_epoch > p.partition_epoch) {
        if (p.is_leader(self)) {
          // Reassignment may add replicas (new followers to track) or remove some.
          for (int32_t r : reg.replicas)
            if (r != self && !p.followers.count(r)) p.followers[r] = FollowerState{};
          std::erase_if(p.followers, [&](const auto& f) { return !contains(reg.replicas, f.first); });
        }
        adopt_partition_state(p, reg.isr, reg.partition_epoch);
      }
    }
  }

  if (more) {
    if (!apply_posted_) {
      apply_posted_ = true;
      auto alive = alive_;
      asio::post(io_, [this, alive] {
        if (!*alive) return;
        apply_posted_ = false;
        if (!stopped_) apply_image();
      });
    }
    return;
  }
  int64_t offset = image->offset();
  while (!image_waiters_.empty() && image_waiters_.begin()->first <= offset) {
    auto fn = std::move(image_waiters_.begin()->second);
    image_waiters_.erase(image_waiters_.begin());
    fn();
  }
}

void ReplicaManager::become_leader(Partition& p) {
  // Now, not the start of publish(): creating thousands of logs takes a while,
  // and ISR members must get a whole lag window from the moment they could
  // start fetching from this leader.
  const int64_t now = monotonic_ms();
  fetchers_->unfollow(p.topic, p.index);
  int64_t leo = p.log->log_end_offset();
  p.epochs->assign(p.leader_epoch, leo);
  p.leader_epoch_start_offset = leo;
  p.followers.clear();
  for (int32_t r : p.replicas) {
    if (r == config_.node_id) continue;
    FollowerState f;
    // ISR members get a full lag window to show up before they are shrunk away.
    f.last_caught_up_ms = contains(p.isr, r) ? now : 0;
    p.followers[r] = f;
  }
  spdlog::info("[ReplicaManager broker={}] Leader of {}-{} at epoch {} from offset {} (high watermark {}, ISR [{}])", config_.node_id,
               p.topic, p.index, p.leader_epoch, leo, p.hw, fmt::join(p.isr, ","));
  maybe_advance_hw(p);
}

void ReplicaManager::become_follower(Partition& p) {
  p.followers.clear();
  if (p.leader_id < 0) {
    fetchers_->unfollow(p.topic, p.index);
    spdlog::info("[ReplicaManager broker={}] {}-{} has no leader (epoch {})", config_.node_id, p.topic, p.index, p.leader_epoch);
    return;
  }
  const metadata::BrokerRegistration* leader = image_->broker(p.leader_id);
  const metadata::BrokerEndpoint* ep = nullptr;
  if (leader) {
    for (const auto& l : leader->listeners)
      if (l.name == config_.inter_broker_listener_name) ep = &l;
    if (!ep && !leader->listeners.empty()) ep = &leader->listeners.front();
  }
  if (!ep) {
    spdlog::warn("[ReplicaManager broker={}] No endpoint for broker {}, the leader of {}-{}", config_.node_id, p.leader_id, p.topic, p.index);
    fetchers_->unfollow(p.topic, p.index);
    return;
  }
  spdlog::info("[ReplicaManager broker={}] Follower of {}-{} at epoch {}: leader {} ({}:{}), log end offset {}", config_.node_id, p.topic,
               p.index, p.leader_epoch, p.leader_id, ep->host, ep->port, p.log->log_end_offset());
  fetchers_->follow(p.topic, p.index, p.leader_id, p.leader_epoch, ep->host, ep->port);
}

void ReplicaManager::adopt_partition_state(Partition& p, const std::vector<int32_t>& isr, int32_t partition_epoch) {
  if (partition_epoch <= p.partition_epoch) return;
  p.isr = isr;
  p.partition_epoch = partition_epoch;
  p.alter_in_flight = false;
  if (p.is_leader(config_.node_id)) {
    maybe_advance_hw(p);
    wake(key(p.topic, p.index));  // acks=all waits re-check min.insync.replicas
  }
}

void ReplicaManager::when_image_reaches(int64_t offset, std::function<void()> fn) {
  if (image_->offset() >= offset) {
    fn();
    return;
  }
  image_waiters_.emplace(offset, std::move(fn));
}

// ---------------------------------------------------------------- leader

void ReplicaManager::notify_leadership(const std::string& topic, int32_t index, int32_t leader_epoch, bool leader) {
  for (const auto& fn : leadership_listeners_) fn(topic, index, leader_epoch, leader);
}

AppendResult ReplicaManager::append_marker(Partition& p, int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit) {
  AppendResult r;
  try {
    storage::AppendInfo info = p.log->append_marker(producer_id, producer_epoch, coordinator_epoch, commit, p.leader_epoch, wall_clock_ms());
    if (info.error != ErrorCode::NONE) {
      r.error = info.error;
      r.message = info.error_message;
      spdlog::info("[ReplicaManager broker={}] Rejected a transaction marker for producer {} on {}-{}: {} ({})", config_.node_id, producer_id,
                   p.topic, p.index, error_name(info.error), info.error_message);
      return r;
    }
    r.base_offset = info.first_offset;
    r.last_offset = info.last_offset;
    r.log_start_offset = p.log->log_start_offset();
  } catch (const std::exception& e) {
    spdlog::error("[ReplicaManager broker={}] Marker append to {}-{} failed: {}", config_.node_id, p.topic, p.index, e.what());
    r.error = ErrorCode::KAFKA_STORAGE_ERROR;
    r.message = e.what();
    return r;
  }
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
  return r;
}

int64_t ReplicaManager::last_stable_offset(Partition& p) { return p.log->last_stable_offset(p.hw); }

AppendResult ReplicaManager::append(Partition& p, std::span<uint8_t> payload, AppendOrigin origin, storage::WriteBatch* deferred) {
  AppendResult r;
  records::Validation v = records::validate_batches(payload, p.max_message_bytes);
  if (v.error != ErrorCode::NONE) {
    r.error = v.error;
    r.message = v.message;
    spdlog::info("[ReplicaManager broker={}] Rejected produce to {}-{}: {} ({})", config_.node_id, p.topic, p.index, error_name(v.error),
                 v.message);
    return r;
  }
  if (p.log->config().cleanup_compact) {
    bool keyless = true;
    try {
      keyless = storage::has_record_without_key(payload);
    } catch (const std::exception&) {
    }
    if (keyless) {
      r.error = ErrorCode::INVALID_RECORD;
      r.message = "Compacted topic cannot accept message without key in topic partition " + p.topic + "-" + std::to_string(p.index) + ".";
      spdlog::info("[ReplicaManager broker={}] Rejected produce to {}-{}: {} ({})", config_.node_id, p.topic, p.index, error_name(r.error), r.message);
      return r;
    }
  }
  try {
    const size_t deferred_before = deferred ? deferred->writes.size() : 0;
    storage::AppendInfo info = p.log->append(payload, v, p.leader_epoch, origin == AppendOrigin::Coordinator, deferred);
    if (info.error != ErrorCode::NONE) {  // idempotent producer: INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER, ...
      r.error = info.error;
      r.message = info.error_message;
      spdlog::info("[ReplicaManager broker={}] Rejected produce to {}-{}: {} ({})", config_.node_id, p.topic, p.index, error_name(info.error),
                   info.error_message);
      return r;
    }
    r.base_offset = info.first_offset;
    r.last_offset = info.last_offset;
    r.log_append_time = info.log_append_time;
    r.log_start_offset = p.log->log_start_offset();
    if (deferred && deferred->writes.size() > deferred_before) return r;  // nothing visible until after_written
  } catch (const std::exception& e) {
    spdlog::error("[ReplicaManager broker={}] Append to {}-{} failed: {}", config_.node_id, p.topic, p.index, e.what());
    r.error = ErrorCode::KAFKA_STORAGE_ERROR;
    r.message = e.what();
    return r;
  }
  // Followers waiting for data (and consumers, if the HW moved) re-check once.
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
  return r;
}

void ReplicaManager::after_written(Partition& p) {
  p.log->apply_written();
  if (!maybe_advance_hw(p)) wake(key(p.topic, p.index));
}

void ReplicaManager::submit_writes(std::shared_ptr<storage::WriteBatch> batch, std::function<void()> done) {
  auto alive = alive_;
  // Runs on the writer thread: touches only the io_context (which outlives the LogManager and its writer).
  logs_.writer().submit(std::move(batch), [&io = io_, alive, done = std::move(done)]() mutable {
    asio::post(io, [alive, done = std::move(done)] {
      if (*alive) done();
    });
  });
}

bool ReplicaManager::maybe_advance_hw(Partition& p) {
  if (!p.is_leader(config_.node_id)) return false;
  int64_t hw = p.log->log_end_offset();
  for (int32_t r : p.maximal_isr()) {
    if (r == config_.node_id) continue;
    auto f = p.followers.find(r);
    // A member not heard from since this node became leader holds the HW back.
    int64_t leo = f == p.followers.end() ? -1 : f->second.log_end_offset;
    hw = std::min(hw, leo);
  }
  if (hw <= p.hw) return false;
  p.hw = hw;
  p.log->set_cleanable_limit(hw);  // the log cleaner stays below the high watermark
  wake(key(p.topic, p.index));
  return true;
}

void ReplicaManager::on_follower_fetch(Partition& p, int32_t replica_id, int64_t replica_epoch, int64_t fetch_offset,
                                       int64_t log_start_offset) {
  auto it = p.followers.find(replica_id);
  if (it == p.followers.end()) return;  // not a replica of this partition
  int64_t now = monotonic_ms();
  FollowerState& f = it->second;
  int64_t leo = p.log->log_end_offset();
  // Caught up: it has everything the leader had now, or everything the
  // leader had at its previous fetch (Kafka's rule: a steady stream of
  // appends must not make a fast follower look lagging).
  if (fetch_offset >= leo) f.last_caught_up_ms = now;
  else if (f.last_fetch_leader_leo >= 0 && fetch_offset >= f.last_fetch_leader_leo) f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
  f.log_end_offset = std::min(fetch_offset, leo);
  f.last_fetch_leader_leo = leo;
  f.last_fetch_ms = now;
  if (replica_epoch >= 0) f.broker_epoch = replica_epoch;
  if (log_start_offset > f.log_start_offset) {
    f.log_start_offset = log_start_offset;
    wake(key(p.topic, p.index));  // DeleteRecords waits on it
  }
  maybe_expand_isr(p, replica_id);
  maybe_advance_hw(p);
}

void ReplicaManager::maybe_expand_isr(Partition& p, int32_t replica_id) {
  if (p.alter_in_flight || contains(p.isr, replica_id)) return;
  const FollowerState& f = p.followers[replica_id];
  // It has everything committed, including this leader's own epoch start:
  // as a member it can then never hold back an HW below what was committed.
  if (f.log_end_offset < p.hw || f.log_end_offset < p.leader_epoch_start_offset) return;
  const metadata::BrokerRegistration* b = image_->broker(replica_id);
  if (!b || b->fenced || b->in_controlled_shutdown) return;
  std::vector<int32_t> isr = p.isr;
  isr.push_back(replica_id);
  spdlog::info("[ReplicaManager broker={}] ISR of {}-{} expands: [{}] -> [{}] (replica {} caught up to {})", config_.node_id, p.topic, p.index,
               fmt::join(p.isr, ","), fmt::join(isr, ","), replica_id, f.log_end_offset);
  alter_isr(p, std::move(isr));
}

void ReplicaManager::arm_isr_timer() {
  auto alive = alive_;
  isr_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(config_.replica_lag_time_max_ms / 2, 10)));
  isr_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    check_isr_shrink();
    arm_isr_timer();
  });
}

void ReplicaManager::arm_hw_checkpoint_timer() {
  auto alive = alive_;
  hw_checkpoint_timer_.expires_after(std::chrono::milliseconds(config_.replica_high_watermark_checkpoint_interval_ms));
  hw_checkpoint_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    if (!partitions_.empty()) write_hw_checkpoints();
    arm_hw_checkpoint_timer();
  });
}

void ReplicaManager::check_isr_shrink() {
  int64_t now = monotonic_ms();
  for (auto& [k, pp] : partitions_) {
    Partition& p = *pp;
    if (!p.is_leader(config_.node_id) || p.alter_in_flight) continue;
    std::vector<int32_t> isr;
    for (int32_t r : p.isr) {
      if (r == config_.node_id) {
        isr.push_back(r);
        continue;
      }
      auto f = p.followers.find(r);
      bool lagging = f == p.followers.end() || now - f->second.last_caught_up_ms > config_.replica_lag_time_max_ms;
      if (!lagging) isr.push_back(r);
    }
    if (isr.size() == p.isr.size()) continue;
    spdlog::info("[ReplicaManager broker={}] ISR of {}-{} shrinks: [{}] -> [{}] (out of sync for {} ms, high watermark {}, log end {})",
                 config_.node_id, p.topic, p.index, fmt::join(p.isr, ","), fmt::join(isr, ","), config_.replica_lag_time_max_ms, p.hw,
                 p.log->log_end_offset());
    alter_isr(p, std::move(isr));
  }
}

void ReplicaManager::alter_isr(Partition& p, std::vector<int32_t> new_isr) {
  if (!controller_ || !broker_epoch_ || stopped_) return;
  p.alter_in_flight = true;
  p.pending_isr = std::move(new_isr);
  isr_queue_.emplace_back(p.topic, p.index);
  send_isr_changes();
}

// One AlterPartition in flight per broker, carrying every queued change (as
// Kafka's AlterPartitionManager does): a leader taking over thousands of
// partitions sends a handful of requests, not thousands.
void ReplicaManager::send_isr_changes() {
  if (isr_request_in_flight_ || isr_queue_.empty() || stopped_) return;
  msg::AlterPartitionRequest req;
  req.broker_id = config_.node_id;
  req.broker_epoch = broker_epoch_();
  std::map<std::string, size_t> topic_at;
  auto sent = std::make_shared<std::map<std::pair<std::string, int32_t>, int32_t>>();  // -> leader epoch asked at
  for (const auto& [topic, index] : isr_queue_) {
    Partition* p = find(topic, index);
    if (!p || !p->alter_in_flight || !p->is_leader(config_.node_id) || sent->count({topic, index})) continue;
    auto [it, fresh] = topic_at.emplace(topic, req.topics.size());
    if (fresh) {
      msg::AlterPartitionRequest::TopicData td;
      td.topic_name = topic;
      td.topic_id = p->topic_id;
      req.topics.push_back(std::move(td));
    }
    msg::AlterPartitionRequest::PartitionData pd;
    pd.partition_index = index;
    pd.leader_epoch = p->leader_epoch;
    pd.partition_epoch = p->partition_epoch;
    for (int32_t r : p->pending_isr) {
      pd.new_isr.push_back(r);
      msg::AlterPartitionRequest::BrokerState bs;
      bs.broker_id = r;
      if (r == config_.node_id) {
        bs.broker_epoch = req.broker_epoch;
      } else {
        auto f = p->followers.find(r);
        bs.broker_epoch = f == p->followers.end() ? -1 : f->second.broker_epoch;
      }
      pd.new_isr_with_epochs.push_back(bs);
    }
    req.topics[it->second].partitions.push_back(std::move(pd));
    (*sent)[{topic, index}] = p->leader_epoch;
  }
  isr_queue_.clear();
  if (sent->empty()) return;
  isr_request_in_flight_ = true;
  auto alive = alive_;
  controller_->alter_partition(std::move(req), 3, [this, alive, sent](msg::AlterPartitionResponse resp) {
    if (!*alive) return;
    isr_request_in_flight_ = false;
    ErrorCode top = ec(resp.error_code);
    std::map<std::pair<std::string, int32_t>, ErrorCode> errors;
    for (const auto& t : resp.topics) {
      // v2+ names topics by id only.
      auto name_it = topic_names_.find(t.topic_id);
      const std::string name = t.topic_name.empty() && name_it != topic_names_.end() ? name_it->second : t.topic_name;
      for (const auto& pd : t.partitions) {
        auto s = sent->find({name, pd.partition_index});
        if (s == sent->end()) continue;
        Partition* p = find(name, pd.partition_index);
        if (!p || p->leader_epoch != s->second) continue;  // moved on; the image has the truth
        ErrorCode e = top != ErrorCode::NONE ? top : ec(pd.error_code);
        if (e == ErrorCode::NONE && pd.leader_epoch == p->leader_epoch) adopt_partition_state(*p, pd.isr, pd.partition_epoch);
        else errors[{name, pd.partition_index}] = e;
        p->alter_in_flight = false;
        sent->erase(s);
      }
    }
    // Unanswered ones (a top-level error, a timeout) and rejected ones
    // (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH, INELIGIBLE_REPLICA, ...):
    // the next image or the next check tries again.
    for (const auto& [k, epoch] : *sent) {
      Partition* p = find(k.first, k.second);
      if (p && p->leader_epoch == epoch) p->alter_in_flight = false;
      errors[k] = top;
    }
    if (!errors.empty())
      spdlog::info("[ReplicaManager broker={}] AlterPartition failed for {} partition(s), e.g. {}-{}: {}", config_.node_id, errors.size(),
                   errors.begin()->first.first, errors.begin()->first.second, error_name(errors.begin()->second));
    send_isr_changes();
  });
}

void ReplicaManager::delete_records_before(Partition& p, int64_t offset) {
  if (offset <= p.log->log_start_offset()) return;
  p.log->set_log_start_offset(offset);
  p.epochs->truncate_from_start(p.log->log_start_offset());
  spdlog::info("[ReplicaManager broker={}] Log start offset of {}-{} is now {} (DeleteRecords)", config_.node_id, p.topic, p.index,
               p.log->log_start_offset());
  wake(key(p.topic, p.index));
}

int64_t ReplicaManager::low_watermark(const Partition& p) const {
  int64_t low = p.log->log_start_offset();
  for (int32_t r : p.isr) {
    if (r == config_.node_id) continue;
    auto f = p.followers.find(r);
    low = std::min(low, f == p.followers.end() ? -1 : f->second.log_start_offset);
  }
  return low;
}

std::pair<int32_t, int64_t> ReplicaManager::end_offset_for_epoch(Partition& p, int32_t epoch) const {
  return p.epochs->end_offset_for(epoch, p.log->log_end_offset());
}

// ---------------------------------------------------------------- follower

void ReplicaManager::append_as_follower(Partition& p, std::span<const uint8_t> batches, int64_t leader_hw, int64_t leader_log_start) {
  if (!batches.empty()) {
    // Batches the leader sent whole; a partial one at the end (a size limit)
    // is dropped and fetched again.
    size_t pos = 0, whole = 0;
    std::vector<std::pair<int32_t, int64_t>> epochs;  // (epoch, base offset) of each batch
    while (pos < batches.size()) {
      records::BatchHeader h;
      if (!records::parse_header(batches.subspan(pos), h) || h.total_size() > static_cast<int64_t>(batches.size() - pos)) break;
      epochs.emplace_back(h.partition_leader_epoch, h.base_offset);
      pos += static_cast<size_t>(h.total_size());
      whole = pos;
    }
    if (whole > 0) {
      p.log->append_as_follower(batches.first(whole));
      for (const auto& [e, off] : epochs)
        if (e > p.epochs->latest_epoch()) p.epochs->assign(e, off);
    }
  }
  if (leader_log_start > p.log->log_start_offset() && leader_log_start <= p.log->log_end_offset()) {
    p.log->set_log_start_offset(leader_log_start);
    p.epochs->truncate_from_start(leader_log_start);
  }
  int64_t hw = std::min(leader_hw, p.log->log_end_offset());
  if (hw > p.hw) {
    p.hw = hw;
    wake(key(p.topic, p.index));  // consumers reading from this follower (KIP-392)
  }
}

void ReplicaManager::truncate_to(Partition& p, int64_t offset) {
  if (offset >= p.log->log_end_offset()) return;
  spdlog::info("[ReplicaManager broker={}] Truncating {}-{} from {} to {}", config_.node_id, p.topic, p.index, p.log->log_end_offset(), offset);
  p.log->truncate_to(offset);
  // At batch boundaries: the log may now end a little before `offset`.
  int64_t leo = p.log->log_end_offset();
  p.epochs->truncate_from_end(leo);
  p.hw = std::min(p.hw, leo);
}

void ReplicaManager::truncate_fully_and_start_at(Partition& p, int64_t offset) {
  spdlog::info("[ReplicaManager broker={}] {}-{} starts over at {} (the leader's log starts there)", config_.node_id, p.topic, p.index, offset);
  p.log->truncate_fully_and_start_at(offset);
  p.epochs->clear();
  p.hw = offset;
}

// ---------------------------------------------------------------- purgatory

void ReplicaManager::delay(int64_t deadline_ms, std::vector<std::string> keys, std::function<bool()> try_complete,
                           std::function<void()> expire) {
  if (stopped_) {
    expire();
    return;
  }
  auto d = std::make_shared<Delayed>(Delayed{deadline_ms, std::move(try_complete), std::move(expire)});
  for (auto& k : keys) watchers_[k].push_back(d);
  delayed_.emplace(deadline_ms, d);
  if (deadline_ms < delay_timer_at_) arm_delay_timer();
}

void ReplicaManager::wake(const std::string& k) {
  auto it = watchers_.find(k);
  if (it == watchers_.end()) return;
  std::vector<std::weak_ptr<Delayed>> list = std::move(it->second);
  watchers_.erase(it);
  std::vector<std::weak_ptr<Delayed>> keep;
  for (auto& w : list) {
    auto d = w.lock();
    if (!d || d->done) continue;
    if (d->try_complete()) {
      d->done = true;
      continue;
    }
    keep.push_back(std::move(w));
  }
  if (!keep.empty()) {
    auto& slot = watchers_[k];
    slot.insert(slot.end(), std::make_move_iterator(keep.begin()), std::make_move_iterator(keep.end()));
  }
}

void ReplicaManager::arm_delay_timer() {
  while (!delayed_.empty() && delayed_.begin()->second->done) delayed_.erase(delayed_.begin());
  if (delayed_.empty()) {
    delay_timer_at_ = INT64_MAX;
    delay_timer_.cancel();
    return;
  }
  int64_t at = delayed_.begin()->first;
  delay_timer_at_ = at;
  delay_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at - monotonic_ms())));
  auto alive = alive_;
  delay_timer_.async_wait([this, alive, at](const asio::error_code& ec) {
    if (ec || !*alive || at != delay_timer_at_) return;
    on_delay_timer();
  });
}

void ReplicaManager::on_delay_timer() {
  int64_t now = monotonic_ms();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    auto d = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    if (d->done) continue;
    d->done = true;
    d->expire();
  }
  // Drop finished entries so the map and the watcher lists don't grow.
  for (auto it = delayed_.begin(); it != delayed_.end();) it = it->second->done ? delayed_.erase(it) : std::next(it);
  if (watchers_.size() > 4 * (delayed_.size() + 16)) {
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(), [](const std::weak_ptr<Delayed>& w) { auto d = w.lock(); return !d || d->done; }), v.end());
      it = v.empty() ? watchers_.erase(it) : std::next(it);
    }
  }
  delay_timer_at_ = INT64_MAX;
  arm_delay_timer();
}

// ---------------------------------------------------------------- housekeeping

void ReplicaManager::write_hw_checkpoints() {
  std::map<std::string, storage::TopicPartitionOffsets> by_dir;
  for (const auto& dir : config_.log_dirs) by_dir[std::filesystem::path(dir).lexically_normal().string()];
  for (auto& [k, p] : partitions_) {
    std::string dir = p->log->dir().parent_path().lexically_normal().string();
    by_dir[dir][{p->topic, p->index}] = p->hw;
  }
  for (const auto& [dir, offsets] : by_dir) {
    try {
      storage::write_offset_checkpoint(std::filesystem::path(dir) / kHwCheckpoint, offsets);
    } catch (const std::exception& e) {
      spdlog::error("[ReplicaManager broker={}] Cannot write {} in {}: {}", config_.node_id, kHwCheckpoint, dir, e.what());
    }
  }
}

void ReplicaManager::housekeeping() {
  if (stopped_) return;
  int64_t now = wall_clock_ms();
  for (auto& [k, p] : partitions_) {
    try {
      p->log->roll_if_needed(now);
      p->log->set_cleanable_limit(p->hw);
      int n = p->log->apply_retention(now);
      if (n > 0) {
        p->epochs->truncate_from_start(p->log->log_start_offset());
        spdlog::info("[ReplicaManager broker={}] Retention deleted {} segment(s) of {}; log start offset is now {}", config_.node_id, n, k,
                     p->log->log_start_offset());
      }
    } catch (const std::exception& e) {
      spdlog::error("[ReplicaManager broker={}] Housekeeping of {} failed: {}", config_.node_id, k, e.what());
    }
  }
  if (now - last_producer_expiry_check_ms_ >= config_.producer_id_expiration_check_interval_ms) {
    last_producer_expiry_check_ms_ = now;
    for (auto& [k, p] : partitions_)
      if (size_t n = p->log->remove_expired_producers(now, config_.producer_id_expiration_ms); n > 0)
        spdlog::info("[ReplicaManager broker={}] Removed {} expired producer id(s) of {}", config_.node_id, n, k);
  }
  logs_.checkpoint_recovery_points();
  write_hw_checkpoints();
}

void ReplicaManager::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  fetchers_->shutdown();
  isr_timer_.cancel();
  hw_checkpoint_timer_.cancel();
  delay_timer_.cancel();
  auto pending = std::move(delayed_);
  delayed_.clear();
  watchers_.clear();
  for (auto& [at, d] : pending)
    if (!d->done) {
      d->done = true;
      d->expire();
    }
  for (auto& [k, p] : partitions_) {
    try {
      p->log->flush(p->log->log_end_offset());
    } catch (const std::exception& e) {
      spdlog::error("flush of {} failed at shutdown: {}", k, e.what());
    }
  }
  logs_.checkpoint_recovery_points();
  write_hw_checkpoints();
  // The logs close after this: nothing may reach them through a partition
  // any more (a request still in a connection's pipeline finds no partition).
  partitions_.clear();
  topic_names_.clear();
}

}  // namespace flotilla::broker
