// AssignmentsManager (KIP-858, Kafka's AssignmentsManager): tells the active
// controller which log dir each of this broker's replicas lives in, with
// AssignReplicasToDirs (API 73), once metadata.version >= 3.7-IV2.
//
// It reconciles rather than relays events: for each local replica with a log
// it compares the directory the image records for this broker with the id of
// the dir actually holding the log, and queues the differences. All of them
// once started (a restart finding logs elsewhere) and when metadata.version
// changes; after that only the replicas something touched — a partition the
// image changed, a log created or moved by AlterReplicaLogDirs (the
// ReplicaManager's replica listener), an answered assignment the image has
// not caught up with after kResendAfterMs — so a tick costs what changed, not
// the partitions held. A replica whose own files cannot be opened
// (storage::LogManager::is_failed) and that has replicas on other brokers is
// assigned to the LOST dir, which takes it out of the ISR and leadership
// (controller/directories.cc). One request is in flight
// at a time (at most kMaxAssignmentsPerRequest partitions, as Kafka's 2250);
// a failed request is retried after a backoff; an assignment answered NONE is
// not sent again for kResendAfterMs while the image catches up. Replicas in
// an offline dir are not assigned.
//
// Threading: the broker's io_context thread (channel callbacks run there too).
#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "broker/controller_channel.h"
#include "common/uuid.h"
#include "metadata/publisher.h"

namespace flotilla::storage {
class LogManager;
}

namespace flotilla::broker {

class ReplicaManager;

class AssignmentsManager : public metadata::Publisher {
 public:
  static constexpr size_t kMaxAssignmentsPerRequest = 2250;
  static constexpr int64_t kTickMs = 200;
  static constexpr int64_t kRetryBackoffMs = 500;
  static constexpr int64_t kResendAfterMs = 10000;

  AssignmentsManager(asio::io_context& io, ControllerChannel& channel, ReplicaManager& replicas, storage::LogManager& logs,
                     int32_t node_id, std::function<int64_t()> broker_epoch);
  ~AssignmentsManager() override;

  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;
  void start();
  void stop();
  // Queued (not yet answered) assignments; for tests and logs.
  size_t pending() const { return pending_.size(); }

 private:
  using Key = std::pair<Uuid, int32_t>;  // topic id, partition
  void arm();
  void reconcile();
  // Compares one local replica's recorded dir with its actual one.
  void check(const Key& key, int64_t now);
  void maybe_send();

  asio::io_context& io_;
  ControllerChannel& channel_;
  ReplicaManager& replicas_;
  storage::LogManager& logs_;
  int32_t node_id_;
  std::function<int64_t()> broker_epoch_;
  std::shared_ptr<const metadata::MetadataImage> image_;
  asio::steady_timer timer_;
  std::map<Key, Uuid> pending_;
  std::map<Key, std::pair<Uuid, int64_t>> sent_;  // answered NONE: dir, when (ms)
  std::set<Key> dirty_;  // to check on the next reconcile
  bool check_all_ = true;  // the next reconcile checks every local replica
  bool in_flight_ = false;
  int64_t backoff_until_ms_ = 0;
  bool running_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::broker
