// AssignmentsManager: see assignments.h.
#include "broker/assignments.h"

#include <spdlog/spdlog.h>

#include "broker/replica_manager.h"
#include "common/clock.h"
#include "common/directory_id.h"
#include "storage/log_manager.h"

namespace flotilla::broker {

namespace {
constexpr int16_t kMvDirectories = 17;  // 3.7-IV2
}  // namespace

AssignmentsManager::AssignmentsManager(asio::io_context& io, ControllerChannel& channel, ReplicaManager& replicas,
                                       storage::LogManager& logs, int32_t node_id, std::function<int64_t()> broker_epoch)
    : io_(io),
      channel_(channel),
      replicas_(replicas),
      logs_(logs),
      node_id_(node_id),
      broker_epoch_(std::move(broker_epoch)),
      timer_(io) {
  auto alive = alive_;
  replicas_.add_replica_listener([this, alive](const Uuid& topic_id, int32_t index) {
    if (*alive) dirty_.insert({topic_id, index});  // checked on the next tick
  });
}

AssignmentsManager::~AssignmentsManager() { *alive_ = false; }

void AssignmentsManager::publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) {
  if (!image_ || delta.features_changed()) check_all_ = true;
  image_ = std::move(image);
  if (!check_all_)
    for (const auto& tp : delta.changed_partitions()) dirty_.insert(tp);
  if (!running_) return;
  reconcile();
  maybe_send();
}

void AssignmentsManager::start() {
  running_ = true;
  check_all_ = true;
  arm();
}

void AssignmentsManager::stop() {
  running_ = false;
  timer_.cancel();
}

void AssignmentsManager::arm() {
  auto alive = alive_;
  timer_.expires_after(std::chrono::milliseconds(kTickMs));
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive || !running_) return;
    const int64_t now = monotonic_ms();
    for (const auto& [key, s] : sent_)
      if (now - s.second >= kResendAfterMs) dirty_.insert(key);
    reconcile();
    maybe_send();
    arm();
  });
}

void AssignmentsManager::reconcile() {
  if (!image_ || image_->metadata_version() < kMvDirectories) return;
  const int64_t now = monotonic_ms();
  if (check_all_) {
    check_all_ = false;
    dirty_.clear();
    for (Partition* p : replicas_.partitions())
      if (p && !p->topic_id.is_zero()) dirty_.insert({p->topic_id, p->index});
    for (const auto& [tp, why] : logs_.failed_partitions())
      if (const metadata::TopicImage* t = image_->topic(tp.first)) dirty_.insert({t->id, tp.second});
  }
  std::set<Key> keys = std::move(dirty_);
  dirty_.clear();
  for (const Key& key : keys) check(key, now);
}

void AssignmentsManager::check(const Key& key, int64_t now) {
  // Nothing to report (the replica is gone or cannot be placed): forget it.
  auto forget = [&] {
    pending_.erase(key);
    sent_.erase(key);
  };
  const metadata::TopicImage* t = image_->topic(key.first);
  auto pit = t ? t->partitions.find(key.second) : metadata::PartitionMap::const_iterator{};
  if (!t || pit == t->partitions.end()) return forget();
  const metadata::PartitionRegistration& reg = pit->second;
  bool listed = false;
  Uuid recorded = directory_id::kUnassigned;
  for (size_t i = 0; i < reg.replicas.size(); ++i) {
    if (reg.replicas[i] != node_id_) continue;
    listed = true;
    if (reg.directories.size() == reg.replicas.size()) recorded = reg.directories[i];
  }
  if (!listed) return forget();

  Uuid actual;
  std::string dir;
  if (logs_.is_failed(t->name, key.second)) {
    // Its own files cannot be opened: out of ISR and leadership if another replica can lead.
    if (reg.replicas.size() < 2) return forget();
    actual = directory_id::kLost;
  } else {
    Partition* p = replicas_.find(key.first, key.second);
    if (!p || !p->log || p->offline) return forget();
    dir = logs_.dir_of(t->name, key.second);
    if (dir.empty() || logs_.is_offline(dir)) return forget();
    actual = logs_.dir_id(dir);
    if (actual.is_zero()) return forget();  // dir ids unknown (tests without meta.properties)
  }
  if (recorded == actual) return forget();
  if (auto s = sent_.find(key); s != sent_.end() && s->second.first == actual && now - s->second.second < kResendAfterMs) return;
  auto [it, added] = pending_.insert_or_assign(key, actual);
  if (added)
    spdlog::info("[AssignmentsManager id={}] Assigning {}-{} to dir {} ({}) (the metadata has {})", node_id_, t->name, key.second,
                 actual.to_string(), actual == directory_id::kLost ? "lost: its files cannot be opened" : dir, recorded.to_string());
}

void AssignmentsManager::maybe_send() {
  if (in_flight_ || pending_.empty() || monotonic_ms() < backoff_until_ms_) return;
  const int64_t epoch = broker_epoch_ ? broker_epoch_() : -1;
  if (epoch < 0) return;  // not registered yet
  msg::AssignReplicasToDirsRequest req;
  req.broker_id = node_id_;
  req.broker_epoch = epoch;
  // dir -> topic -> partitions, at most kMaxAssignmentsPerRequest.
  std::map<Uuid, std::map<Uuid, std::vector<int32_t>>> grouped;
  auto batch = std::make_shared<std::map<Key, Uuid>>();
  for (const auto& [key, dir] : pending_) {
    if (batch->size() >= kMaxAssignmentsPerRequest) break;
    grouped[dir][key.first].push_back(key.second);
    (*batch)[key] = dir;
  }
  for (const auto& [dir, topics] : grouped) {
    msg::AssignReplicasToDirsRequest::DirectoryData d;
    d.id = dir;
    for (const auto& [tid, parts] : topics) {
      msg::AssignReplicasToDirsRequest::TopicData t;
      t.topic_id = tid;
      for (int32_t idx : parts) {
        msg::AssignReplicasToDirsRequest::PartitionData pd;
        pd.partition_index = idx;
        t.partitions.push_back(pd);
      }
      d.topics.push_back(std::move(t));
    }
    req.directories.push_back(std::move(d));
  }
  in_flight_ = true;
  auto alive = alive_;
  channel_.assign_replicas_to_dirs(std::move(req), 0, [this, alive, batch](msg::AssignReplicasToDirsResponse resp) {
    if (!*alive) return;
    in_flight_ = false;
    const int64_t now = monotonic_ms();
    if (resp.error_code != 0) {
      spdlog::warn("[AssignmentsManager id={}] AssignReplicasToDirs of {} partition(s) failed: {}; retrying", node_id_, batch->size(),
                   error_name(static_cast<ErrorCode>(resp.error_code)));
      backoff_until_ms_ = now + kRetryBackoffMs;
      return;  // still pending
    }
    for (const auto& d : resp.directories)
      for (const auto& t : d.topics)
        for (const auto& p : t.partitions) {
          const Key key{t.topic_id, p.partition_index};
          auto b = batch->find(key);
          if (b == batch->end() || b->second != d.id) continue;
          auto pend = pending_.find(key);
          const bool unchanged = pend != pending_.end() && pend->second == d.id;
          if (p.error_code == 0) {
            sent_[key] = {d.id, now};
            if (unchanged) pending_.erase(pend);
          } else {
            // Kafka drops assignments the controller refuses for good (the
            // replica moved away, the topic is gone); reconcile() re-queues
            // any that still matter.
            spdlog::info("[AssignmentsManager id={}] Assignment of partition {} of topic {} to dir {} refused: {}", node_id_,
                         p.partition_index, t.topic_id.to_string(), d.id.to_string(), error_name(static_cast<ErrorCode>(p.error_code)));
            if (unchanged) pending_.erase(pend);
            sent_[key] = {d.id, now};
          }
        }
    if (!pending_.empty()) asio::post(io_, [this, alive] {
      if (*alive && running_) maybe_send();
    });
  });
}

}  // namespace flotilla::broker
