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
      timer_(io) {}

AssignmentsManager::~AssignmentsManager() { *alive_ = false; }

void AssignmentsManager::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  image_ = std::move(image);
  if (!running_) return;
  reconcile();
  maybe_send();
}

void AssignmentsManager::start() {
  running_ = true;
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
    reconcile();
    maybe_send();
    arm();
  });
}

void AssignmentsManager::reconcile() {
  if (!image_ || image_->metadata_version() < kMvDirectories) return;
  const int64_t now = monotonic_ms();
  for (Partition* p : replicas_.partitions()) {
    if (!p || !p->log || p->topic_id.is_zero()) continue;
    const std::string dir = logs_.dir_of(p->topic, p->index);
    if (dir.empty() || logs_.is_offline(dir)) continue;
    const Uuid actual = logs_.dir_id(dir);
    if (actual.is_zero()) continue;  // dir ids unknown (tests without meta.properties)
    const metadata::PartitionRegistration* reg = image_->partition(p->topic_id, p->index);
    if (!reg) continue;
    Uuid recorded = directory_id::kUnassigned;
    if (reg->directories.size() == reg->replicas.size())
      for (size_t i = 0; i < reg->replicas.size(); ++i)
        if (reg->replicas[i] == node_id_) recorded = reg->directories[i];
    const Key key{p->topic_id, p->index};
    if (recorded == actual) {
      pending_.erase(key);
      sent_.erase(key);
      continue;
    }
    if (auto s = sent_.find(key); s != sent_.end() && s->second.first == actual && now - s->second.second < kResendAfterMs) continue;
    auto [it, added] = pending_.insert_or_assign(key, actual);
    if (added)
      spdlog::info("[AssignmentsManager id={}] Assigning {}-{} to dir {} ({}) (the metadata has {})", node_id_, p->topic, p->index,
                   actual.to_string(), dir, recorded.to_string());
  }
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
