// ReplicaManager: construction, partition lookup, bringing the partitions in
// line with each published metadata image (creating and deleting logs, role
// changes to leader or follower), and housekeeping (retention, producer
// expiry, recovery-point and high-watermark checkpoints) and shutdown. The
// other parts live beside it: replica_append.cc (appends to partition logs,
// leader and follower), replica_isr.cc (high watermark, ISR, AlterPartition),
// purgatory.cc (requests waiting on partitions).
//
// Invariants (broker/replica_manager.h): a Partition exists exactly while the
// current image lists this node among its replicas, and its log is open while
// it exists; a role change starts from the whole log (pending writes drained).
//
// Threading: the broker's io_context thread; posted continuations and timer
// callbacks check `alive_` first.
#include "broker/replica_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "broker/broker_metrics.h"
#include "broker/replica_fetcher.h"
#include "broker/topic_config.h"
#include "common/clock.h"
#include "storage/checkpoints.h"
#include "storage/log_files.h"

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

ReplicaManager::ReplicaManager(asio::io_context& io, const BrokerConfig& config, storage::LogManager& logs)
    : io_(io),
      config_(config),
      logs_(logs),
      image_(std::make_shared<metadata::MetadataImage>()),
      delay_timer_(io),
      isr_timer_(io),
      hw_checkpoint_timer_(io),
      mover_timer_(io) {
  fetchers_ = std::make_unique<ReplicaFetcherManager>(io, *this);
  logs_.set_dir_failure_handler([this](const std::string& dir, const std::string& why) { handle_log_dir_failure(dir, why); });
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

ReplicaManager::~ReplicaManager() {
  *alive_ = false;
  logs_.set_dir_failure_handler(nullptr);  // the LogManager outlives this
}

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

std::shared_ptr<const PartitionListing> ReplicaManager::partition_keys() const {
  if (!keys_cache_) {
    auto out = std::make_shared<PartitionListing>();
    out->keys.reserve(partitions_.size());
    out->partitions.reserve(partitions_.size());
    out->gauges.reserve(partitions_.size());
    out->indexes.reserve(partitions_.size());
    out->topics.reserve(partitions_.size());
    std::unordered_map<std::string, std::shared_ptr<const std::string>> names;
    for (const auto& [k, p] : partitions_) {
      out->keys.push_back(k);
      out->partitions.push_back(p.get());
      out->gauges.push_back(p->gauges);
      out->indexes.push_back(p->index);
      auto& name = names[p->topic];
      if (!name) name = std::make_shared<const std::string>(p->topic);
      out->topics.push_back(name);
    }
    keys_cache_ = std::move(out);
  }
  return keys_cache_;
}

std::vector<Partition*> ReplicaManager::partitions() {
  std::vector<Partition*> out;
  out.reserve(partitions_.size());
  for (auto& [k, p] : partitions_) out.push_back(p.get());
  return out;
}

// ---------------------------------------------------------------- metadata

void ReplicaManager::publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) {
  if (stopped_) return;
  const std::shared_ptr<const metadata::MetadataImage> previous = image_;
  const int32_t self = config_.node_id;
  image_ = image;

  // Deleted topics (or a name re-created under a new id): drop their logs
  // now. The previous image lists every partition of the topic, so every one
  // this broker may hold.
  for (const auto& [id, name] : delta.deleted_topics()) {
    const metadata::TopicImage* old = previous->topic(id);
    if (!old) continue;
    if (logs_opening_) {
      std::vector<int32_t> held;
      for (const auto& [idx, reg] : old->partitions)
        if (contains(reg.replicas, self)) held.push_back(idx);
      if (!held.empty()) deleted_while_opening_.emplace_back(id, name, std::move(held));
    }
    for (const auto& [idx, reg] : old->partitions) drop_partition(name, idx, id, true);
  }

  // A broker config (this broker's or the cluster default) stands under every
  // topic's own overrides: every partition held here is visited again.
  bool all = false;
  for (const auto& res : delta.changed_configs()) {
    if (res.type == static_cast<int8_t>(metadata::ConfigResourceType::BROKER) && (res.name.empty() || res.name == std::to_string(self))) {
      all = true;
    } else if (res.type == static_cast<int8_t>(metadata::ConfigResourceType::TOPIC)) {
      if (const metadata::TopicImage* t = image->topic(res.name))
        for (const auto& [idx, reg] : t->partitions)
          if (contains(reg.replicas, self)) to_apply_.insert({t->id, idx});
    }
  }
  if (all) {
    for (const auto& [name, t] : image->topics_by_name())
      for (const auto& [idx, reg] : t.partitions)
        if (contains(reg.replicas, self)) to_apply_.insert({t.id, idx});
  }
  // Changed partitions: new ones, new leaders or ISRs, replicas moved here or
  // away (the visit drops a replica no longer listed).
  for (const auto& tp : delta.changed_partitions()) to_apply_.insert(tp);
  apply_image();
}

void ReplicaManager::drop_partition(const std::string& topic, int32_t index, const Uuid& topic_id, bool topic_gone) {
  const std::string k = key(topic, index);
  auto it = partitions_.find(k);
  if (it == partitions_.end() || it->second->topic_id != topic_id) return;
  Partition& p = *it->second;
  spdlog::info("[ReplicaManager broker={}] Deleting log for {}-{} (topic removed or replica moved)", config_.node_id, p.topic, p.index);
  fetchers_->unfollow(p.topic, p.index);
  if (p.is_leader(config_.node_id)) notify_leadership(p.topic, p.index, p.leader_epoch, false);
  if (topic_gone) BrokerMetrics::get().remove_topic(p.topic);  // the topic is gone: its series too
  p.epochs->discard_queued();  // its directory goes: a re-created one must not get this
  logs_.remove(p.topic, p.index);
  // topic_names_ keeps the id: other partitions of the topic may stay here.
  partitions_.erase(it);
  keys_cache_.reset();
  wake(k);
}

// The configuration a topic's partitions take from image_: the broker's
// (dynamic broker configs, KIP-226, this broker's over the cluster default,
// standing in for server.properties) under the topic's own overrides.
ReplicaManager::TopicSettings ReplicaManager::topic_settings(const std::string& topic) const {
  const int32_t self = config_.node_id;
  metadata::ConfigMap overrides;
  {
    metadata::ConfigMap dyn = image_->configs_of(metadata::ConfigResourceType::BROKER, "");
    for (const auto& [k, v] : image_->configs_of(metadata::ConfigResourceType::BROKER, std::to_string(self))) dyn[k] = v;
    static const std::pair<const char*, const char*> kTopicNameOf[] = {
        {"log.retention.ms", "retention.ms"},         {"log.retention.bytes", "retention.bytes"},
        {"log.segment.bytes", "segment.bytes"},       {"log.roll.ms", "segment.ms"},
        {"message.max.bytes", "max.message.bytes"},   {"min.insync.replicas", "min.insync.replicas"},
        {"log.message.timestamp.type", "message.timestamp.type"}, {"log.index.interval.bytes", "index.interval.bytes"},
        {"log.flush.interval.messages", "flush.messages"},        {"log.segment.delete.delay.ms", "file.delete.delay.ms"},
    };
    for (const auto& [broker_name, topic_name] : kTopicNameOf)
      if (auto it = dyn.find(broker_name); it != dyn.end()) overrides[topic_name] = it->second;
  }
  for (const auto& [k, v] : image_->topic_configs(topic)) overrides[k] = v;
  TopicSettings s;
  s.log = log_config_for(config_, overrides);
  s.max_message_bytes = int_override(overrides, "max.message.bytes", config_.message_max_bytes);
  s.min_insync_replicas = int_override(overrides, "min.insync.replicas", config_.min_insync_replicas);
  s.log_append_time = config_.log_message_timestamp_type == "LogAppendTime";
  if (auto o = overrides.find("message.timestamp.type"); o != overrides.end()) s.log_append_time = o->second == "LogAppendTime";
  return s;
}

// Brings the partitions publish() queued in to_apply_ in line with image_.
// Each is visited once per image that changed it, so a change costs what it
// touches, not the partitions held here. Creating a log costs a few file
// creations (milliseconds each on a busy file system): thousands of new
// partitions are worked off in slices of kCreateSliceMs, the event loop
// serving heartbeats and requests in between (a partition not created yet
// answers UNKNOWN_TOPIC_OR_PARTITION, which clients retry). Waiters on the
// image run once nothing is left to apply.
void ReplicaManager::logs_opened() {
  logs_opening_ = false;
  for (const auto& [id, name, partitions] : deleted_while_opening_) {
    if (image_->topic(id)) continue;
    for (int32_t idx : partitions) {
      storage::Log* log = logs_.get(name, idx);
      if (!log || log->topic_id() != id) continue;
      spdlog::info("[ReplicaManager broker={}] Deleting log for {}-{} (topic removed)", config_.node_id, name, idx);
      logs_.remove(name, idx);
    }
  }
  deleted_while_opening_.clear();
  if (!stopped_) apply_image();
}

void ReplicaManager::apply_image() {
  if (logs_opening_) return;  // logs_opened() applies what is queued
  constexpr int64_t kCreateSliceMs = 20;
  const std::shared_ptr<const metadata::MetadataImage> image = image_;
  const int32_t self = config_.node_id;
  const int64_t slice_start = monotonic_ms();
  const int64_t slice_end = slice_start + kCreateSliceMs;
  if (apply_run_start_ms_ < 0) apply_run_start_ms_ = slice_start;
  std::vector<std::pair<Uuid, int32_t>> retry;  // a log dir failed under them: another dir, next pass

  // to_apply_ is ordered by topic id: a topic's settings are worked out once per run of its partitions.
  const metadata::TopicImage* t = nullptr;
  std::optional<TopicSettings> settings;
  auto it = to_apply_.begin();
  size_t visited = 0;
  for (; it != to_apply_.end(); it = to_apply_.erase(it)) {
    // Visits of partitions held elsewhere are cheap, but a first image of a
    // large cluster lists millions: the slice bounds them too.
    if (++visited % 1024 == 0 && monotonic_ms() > slice_end) break;
    ++apply_run_visited_;
    const auto& [topic_id, idx] = *it;
    if (!t || t->id != topic_id) {
      t = image->topic(topic_id);
      settings.reset();
    }
    if (!t) continue;  // deleted since (publish() dropped its logs)
    const std::string& name = t->name;
    auto pit = t->partitions.find(idx);
    if (pit == t->partitions.end() || !contains(pit->second.replicas, self)) {
      drop_partition(name, idx, topic_id, false);
      continue;
    }
    const metadata::PartitionRegistration& reg = pit->second;
    const std::string k = key(name, idx);
    auto found = partitions_.find(k);
    if (found != partitions_.end() && found->second->topic_id != topic_id) {
      drop_partition(name, idx, found->second->topic_id, true);  // an older topic of the name lingers
      found = partitions_.end();
    }
    if (found == partitions_.end() && monotonic_ms() > slice_end) break;  // the rest on the next slice
    if (found != partitions_.end() && found->second->offline) continue;  // its log dir failed: never touched again
    if (found == partitions_.end() && !logs_.get(name, idx) && in_offline_dir(reg)) continue;  // its log is in a failed dir
    if (found == partitions_.end() && logs_.is_failed(name, idx)) continue;  // its files could not be opened (LogManager logged it)
    if (!settings) settings = topic_settings(name);
    storage::Log* log = nullptr;
    storage::Log* existing = nullptr;
    if (found == partitions_.end()) {
      try {
        existing = logs_.get(name, idx);
        log = existing ? existing : logs_.get_or_create(name, idx, topic_id, settings->log);
      } catch (const storage::LogDirIoError& e) {
        spdlog::error("[ReplicaManager broker={}] Cannot create the log of {}-{}: {}", self, name, idx, e.what());
        if (!e.dir.empty()) handle_log_dir_failure(e.dir, e.what());
        retry.push_back(*it);
        continue;
      } catch (const storage::PartitionIoError& e) {
        // This partition alone is offline (LogManager::is_failed); the others go on.
        spdlog::error("[ReplicaManager broker={}] Cannot create the log of {}-{}; the partition is offline: {}", self, name, idx, e.what());
        continue;
      }
    }
    bool created = false;
    auto& slot = partitions_[k];
    if (!slot) {
      created = true;
      keys_cache_.reset();
      slot = std::make_unique<Partition>();
      slot->topic = name;
      slot->index = idx;
      slot->topic_id = topic_id;
      slot->metrics = BrokerMetrics::get().topic(name);
      slot->log = log;
      slot->epochs = std::make_unique<storage::LeaderEpochCache>(slot->log->dir(), slot->log->take_loaded_epoch_checkpoint());
      // Recovery may have cut the log under epochs the cache still lists (the
      // file keeps them until the next change: each load cuts them again).
      slot->epochs->truncate_from_end(slot->log->log_end_offset(), false);
      auto hw = initial_hw_.find({name, idx});
      slot->hw = std::min(hw == initial_hw_.end() ? 0 : hw->second, slot->log->log_end_offset());
      slot->hw = std::max(slot->hw, slot->log->log_start_offset());
      topic_names_[topic_id] = name;
      notify_replica(topic_id, idx);
      spdlog::log(partition_line_level(), "[ReplicaManager broker={}] {} log for partition {}-{} with leader epoch {}, log end offset {}, high watermark {}",
                  self, existing ? "Loaded" : "Created", name, idx, reg.leader_epoch, slot->log->log_end_offset(), slot->hw);
    }
    Partition& p = *slot;
    if (!created) p.log->set_config(settings->log);  // a topic or broker config changed since
    p.replicas = reg.replicas;
    p.max_message_bytes = settings->max_message_bytes;
    p.min_insync_replicas = settings->min_insync_replicas;
    p.log_append_time = settings->log_append_time;
    p.publish_gauges(self);
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
    p.publish_gauges(self);
  }
  to_apply_.insert(retry.begin(), retry.end());

  if (!to_apply_.empty()) {
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
  // The end of a large run: every partition of the image is served from here
  // (a start-up's time to serve them all, which benchmarks read).
  if (apply_run_visited_ >= 1000 || apply_run_lines_ > kPartitionLinesPerRun)
    spdlog::info("[ReplicaManager broker={}] Applied {} partition changes up to metadata offset {} in {} ms{}", self, apply_run_visited_,
                 offset, monotonic_ms() - apply_run_start_ms_,
                 apply_run_lines_ > kPartitionLinesPerRun
                     ? fmt::format(" ({} role changes logged at debug level after the first {})", apply_run_lines_ - kPartitionLinesPerRun,
                                   kPartitionLinesPerRun)
                     : std::string());
  apply_run_start_ms_ = -1;
  apply_run_visited_ = 0;
  apply_run_lines_ = 0;
  while (!image_waiters_.empty() && image_waiters_.begin()->first <= offset) {
    auto fn = std::move(image_waiters_.begin()->second);
    image_waiters_.erase(image_waiters_.begin());
    fn();
  }
}

// A partition's role lines: info for the first kPartitionLinesPerRun of a
// run of apply_image slices, debug after them (a start-up of 100,000
// partitions wrote 300,000 lines, a write each, a tenth of its event loop's
// time); the run's end logs how many went to debug.
spdlog::level::level_enum ReplicaManager::partition_line_level() {
  return ++apply_run_lines_ <= kPartitionLinesPerRun ? spdlog::level::info : spdlog::level::debug;
}

void ReplicaManager::become_leader(Partition& p) {
  // Now, not the start of publish(): creating thousands of logs takes a while,
  // and ISR members must get a whole lag window from the moment they could
  // start fetching from this leader.
  const int64_t now = monotonic_ms();
  fetchers_->unfollow(p.topic, p.index);
  int64_t leo = p.log->log_end_offset();
  // Written by epoch_files_ (ensure_written before this epoch's first batch):
  // a start-up elects every partition's leader here at once.
  p.epochs->assign_deferred(p.leader_epoch, leo, &epoch_files_);
  p.leader_epoch_start_offset = leo;
  p.followers.clear();
  for (int32_t r : p.replicas) {
    if (r == config_.node_id) continue;
    FollowerState f;
    // ISR members get a full lag window to show up before they are shrunk away.
    f.last_caught_up_ms = contains(p.isr, r) ? now : 0;
    p.followers[r] = f;
  }
  spdlog::log(partition_line_level(), "[ReplicaManager broker={}] Leader of {}-{} at epoch {} from offset {} (high watermark {}, ISR [{}])", config_.node_id,
               p.topic, p.index, p.leader_epoch, leo, p.hw, fmt::join(p.isr, ","));
  maybe_advance_hw(p);
}

void ReplicaManager::become_follower(Partition& p) {
  p.followers.clear();
  if (p.leader_id < 0) {
    fetchers_->unfollow(p.topic, p.index);
    spdlog::log(partition_line_level(), "[ReplicaManager broker={}] {}-{} has no leader (epoch {})", config_.node_id, p.topic, p.index, p.leader_epoch);
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
  spdlog::log(partition_line_level(), "[ReplicaManager broker={}] Follower of {}-{} at epoch {}: leader {} ({}:{}), log end offset {}", config_.node_id, p.topic,
               p.index, p.leader_epoch, p.leader_id, ep->host, ep->port, p.log->log_end_offset());
  fetchers_->follow(p.topic, p.index, p.leader_id, p.leader_epoch, ep->host, ep->port);
}

void ReplicaManager::adopt_partition_state(Partition& p, const std::vector<int32_t>& isr, int32_t partition_epoch) {
  if (partition_epoch <= p.partition_epoch) return;
  p.isr = isr;
  p.partition_epoch = partition_epoch;
  p.alter_in_flight = false;
  p.publish_gauges(config_.node_id);
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

void ReplicaManager::notify_leadership(const std::string& topic, int32_t index, int32_t leader_epoch, bool leader) {
  for (const auto& fn : leadership_listeners_) fn(topic, index, leader_epoch, leader);
}

// ---------------------------------------------------------------- housekeeping

// The high watermarks are gathered here, on the event loop, and written (a
// file per dir, synced) on checkpoint_thread_: an fsync can take tens of
// milliseconds, which every request behind it would wait. One write at a
// time; a round due while one is in flight is skipped (the next carries
// newer values). `wait` writes on the caller's thread, after any in flight
// (shutdown).
void ReplicaManager::write_hw_checkpoints(bool wait) {
  if (logs_opening_) return;  // nothing applied yet: the file keeps what the last run wrote
  auto by_dir = std::make_shared<std::map<std::string, storage::TopicPartitionOffsets>>();
  for (const auto& dir : config_.log_dirs)
    if (!logs_.is_offline(dir)) (*by_dir)[dir];
  // One dir (the common case): the loop only reads each partition's high
  // watermark, in the order of the kept partition listing; the map of
  // 10,000 "topic partition" keys is built on the pool's thread (built here,
  // it stalled the loop for milliseconds every 5 s: the produce p999).
  std::shared_ptr<const PartitionListing> listing;
  auto hws = std::make_shared<std::vector<int64_t>>();  // by listing index; -1: offline
  if (config_.log_dirs.size() == 1) {
    listing = partition_keys();
    hws->reserve(listing->partitions.size());
    for (const Partition* p : listing->partitions) hws->push_back(p->offline ? -1 : p->hw);
  } else {
    for (auto& [k, p] : partitions_) {
      if (p->offline) continue;
      auto d = by_dir->find(logs_.dir_of(p->topic, p->index));
      if (d != by_dir->end()) d->second[{p->topic, p->index}] = p->hw;
    }
  }
  auto write = [node_id = config_.node_id, by_dir, listing, hws] {
    if (listing && !by_dir->empty()) {
      storage::TopicPartitionOffsets& offsets = by_dir->begin()->second;
      for (size_t i = 0; i < hws->size(); ++i)
        if ((*hws)[i] >= 0) offsets.emplace_hint(offsets.end(), std::make_pair(*listing->topics[i], listing->indexes[i]), (*hws)[i]);
    }
    std::vector<std::pair<std::string, std::string>> failed;  // dir, why
    for (const auto& [dir, offsets] : *by_dir) {
      try {
        storage::write_offset_checkpoint(std::filesystem::path(dir) / kHwCheckpoint, offsets);
      } catch (const std::exception& e) {
        spdlog::error("[ReplicaManager broker={}] Cannot write {} in {}: {}", node_id, kHwCheckpoint, dir, e.what());
        if (dynamic_cast<const storage::LogDirIoError*>(&e)) failed.emplace_back(dir, e.what());
      }
    }
    return failed;
  };
  if (wait) {
    checkpoint_pool_.wait();
    for (const auto& [dir, why] : write()) handle_log_dir_failure(dir, why);
    return;
  }
  if (checkpoint_in_flight_->exchange(true)) return;
  auto alive = alive_;
  asio::post(checkpoint_pool_, [this, alive, write, in_flight = checkpoint_in_flight_] {
    auto failed = write();
    in_flight->store(false);
    if (failed.empty()) return;
    asio::post(io_, [this, alive, failed] {
      if (!*alive) return;
      for (const auto& [dir, why] : failed) handle_log_dir_failure(dir, why);
    });
  });
}

void ReplicaManager::arm_hw_checkpoint_timer() {
  auto alive = alive_;
  hw_checkpoint_timer_.expires_after(std::chrono::milliseconds(config_.replica_high_watermark_checkpoint_interval_ms));
  hw_checkpoint_timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    if (!partitions_.empty()) write_hw_checkpoints(false);
    arm_hw_checkpoint_timer();
  });
}

void ReplicaManager::housekeeping() {
  if (stopped_ || logs_opening_) return;
  int64_t now = wall_clock_ms();
  for (auto& [k, p] : partitions_) {
    if (p->offline) continue;
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
      fail_dir_if_io_error(*p, &e);  // flags partitions only: the loop goes on
    }
  }
  if (now - last_producer_expiry_check_ms_ >= config_.producer_id_expiration_check_interval_ms) {
    last_producer_expiry_check_ms_ = now;
    for (auto& [k, p] : partitions_)
      if (size_t n = p->offline ? 0 : p->log->remove_expired_producers(now, config_.producer_id_expiration_ms); n > 0)
        spdlog::info("[ReplicaManager broker={}] Removed {} expired producer id(s) of {}", config_.node_id, n, k);
  }
  logs_.checkpoint_recovery_points();
  write_hw_checkpoints(false);
}

void ReplicaManager::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  fetchers_->shutdown();
  isr_timer_.cancel();
  hw_checkpoint_timer_.cancel();
  mover_timer_.cancel();
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
    if (p->offline) continue;
    try {
      p->log->flush(p->log->log_end_offset());
    } catch (const std::exception& e) {
      spdlog::error("flush of {} failed at shutdown: {}", k, e.what());
    }
  }
  logs_.checkpoint_recovery_points();
  write_hw_checkpoints(true);
  epoch_files_.flush();  // before the logs close and mark the shutdown clean
  // The logs close after this: nothing may reach them through a partition
  // any more (a request still in a connection's pipeline finds no partition).
  partitions_.clear();
  keys_cache_.reset();
  topic_names_.clear();
}

}  // namespace flotilla::broker
