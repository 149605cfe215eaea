#include "broker/replica_fetcher.h"

#include <spdlog/spdlog.h>

#include "broker/api_util.h"
#include "broker/replica_manager.h"
#include "broker/replication_quota.h"
#include "common/clock.h"
#include "protocol/messages.h"

namespace flotilla::broker {

using api::client_request;

namespace {
constexpr int16_t kFetchVersion = 15;               // ReplicaState (id + broker epoch), topic ids
constexpr int16_t kOffsetForLeaderEpochVersion = 4;  // ReplicaId, flexible

// Decodes the answer to a request sent to the leader into `out`; false (the
// round backs off) after logging why not: a transport error at debug level (a
// leader going away is routine), a malformed body as a warning.
template <class Resp>
bool decode_response(const net::ClientResponse& r, int16_t version, const char* api, int32_t node_id, int32_t leader_id, Resp& out) {
  if (r.error) {
    spdlog::debug("[ReplicaFetcher broker={} leader={}] {} failed: {}", node_id, leader_id, api, r.error.message());
    return false;
  }
  try {
    ByteReader body = r.body();
    out.decode(body, version);
  } catch (const std::exception& e) {
    spdlog::warn("[ReplicaFetcher broker={} leader={}] Malformed {} response: {}", node_id, leader_id, api, e.what());
    return false;
  }
  return true;
}

bool partition_moved(ErrorCode e) {
  return e == ErrorCode::NOT_LEADER_OR_FOLLOWER || e == ErrorCode::FENCED_LEADER_EPOCH || e == ErrorCode::UNKNOWN_LEADER_EPOCH ||
         e == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION || e == ErrorCode::UNKNOWN_TOPIC_ID;
}
}  // namespace

ReplicaFetcher::ReplicaFetcher(asio::io_context& io, ReplicaManager& replicas, int32_t leader_id, std::string host, int port)
    : io_(io), replicas_(replicas), leader_id_(leader_id), host_(std::move(host)), port_(port), timer_(io) {
  client_ = net::Client::create(io_, host_, port_, "replica-fetcher-" + std::to_string(replicas_.node_id()),
                                std::max(replicas_.config().replica_fetch_response_max_bytes, 16 * 1024 * 1024) + 1024 * 1024);
  // A leader holds a fetch up to replica.fetch.wait.max.ms; far longer than
  // that means it is gone.
  client_->set_request_timeout_ms(replicas_.config().replica_socket_timeout_ms);
  client_->set_security(replicas_.config().inter_broker_client_security);
}

ReplicaFetcher::~ReplicaFetcher() { stop(); }

void ReplicaFetcher::stop() {
  *alive_ = false;
  timer_.cancel();
  if (client_) client_->close();
}

void ReplicaFetcher::add(const std::string& topic, int32_t partition, int32_t leader_epoch) {
  PartState& s = parts_[{topic, partition}];
  s.topic = topic;
  s.partition = partition;
  s.leader_epoch = leader_epoch;
  s.state = State::Truncating;  // a new epoch: find the divergence point again
  s.delayed_until_ms = 0;
  kick();
}

void ReplicaFetcher::remove(const std::string& topic, int32_t partition) { parts_.erase({topic, partition}); }

void ReplicaFetcher::kick() {
  if (in_round_ || !*alive_) return;
  in_round_ = true;
  auto alive = alive_;
  asio::post(io_, [this, alive] {
    if (*alive) run_round();
  });
}

void ReplicaFetcher::park(PartState& s) { s.delayed_until_ms = monotonic_ms() + replicas_.config().replica_fetch_backoff_ms; }

void ReplicaFetcher::run_round() {
  int64_t now = monotonic_ms();
  std::vector<Key> truncating, fetching;
  int64_t next_wake = INT64_MAX;
  for (auto& [k, s] : parts_) {
    if (s.delayed_until_ms > now) {
      next_wake = std::min(next_wake, s.delayed_until_ms);
      continue;
    }
    (s.state == State::Truncating ? truncating : fetching).push_back(k);
  }
  if (!truncating.empty()) return send_offsets_for_leader_epoch(std::move(truncating));
  if (!fetching.empty()) return send_fetch(std::move(fetching));
  in_round_ = false;
  if (next_wake != INT64_MAX) {
    // Everything parked: come back when the first one may go again.
    in_round_ = true;
    timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(1, next_wake - now)));
    auto alive = alive_;
    timer_.async_wait([this, alive](const asio::error_code& ec) {
      if (ec || !*alive) return;
      in_round_ = false;
      kick();
    });
  }
}

void ReplicaFetcher::round_done(bool backoff) {
  in_round_ = false;
  if (parts_.empty() || !*alive_) return;
  if (!backoff) return kick();
  in_round_ = true;
  timer_.expires_after(std::chrono::milliseconds(replicas_.config().replica_fetch_backoff_ms));
  auto alive = alive_;
  timer_.async_wait([this, alive](const asio::error_code& ec) {
    if (ec || !*alive) return;
    in_round_ = false;
    kick();
  });
}

// ---------------------------------------------------------------- truncation

void ReplicaFetcher::send_offsets_for_leader_epoch(std::vector<Key> keys) {
  msg::OffsetForLeaderEpochRequest req;
  req.replica_id = replicas_.node_id();
  std::map<std::string, size_t> topic_at;
  // Partitions with no epoch history need no question: a log that is empty
  // has nothing to truncate, a log without epochs (written before epochs
  // were tracked) is cut to its high watermark, which was committed.
  std::vector<Key> asked;
  for (const Key& k : keys) {
    PartState& s = parts_[k];
    Partition* p = replicas_.find(k.first, k.second);
    if (!p) {
      parts_.erase(k);
      continue;
    }
    int32_t latest = p->epochs->latest_epoch();
    if (latest < 0) {
      replicas_.truncate_to(*p, p->hw);
      s.state = State::Fetching;
      continue;
    }
    auto [it, fresh] = topic_at.emplace(k.first, req.topics.size());
    if (fresh) {
      msg::OffsetForLeaderEpochRequest::OffsetForLeaderTopic t;
      t.topic = k.first;
      req.topics.push_back(std::move(t));
    }
    msg::OffsetForLeaderEpochRequest::OffsetForLeaderPartition op;
    op.partition = k.second;
    op.current_leader_epoch = s.leader_epoch;
    op.leader_epoch = latest;
    req.topics[it->second].partitions.push_back(op);
    asked.push_back(k);
  }
  if (asked.empty()) return round_done(false);
  auto alive = alive_;
  client_->send(client_request(req, kOffsetForLeaderEpochVersion), [this, alive, asked](net::ClientResponse r) {
    if (!*alive) return;
    msg::OffsetForLeaderEpochResponse resp;
    if (!decode_response(r, kOffsetForLeaderEpochVersion, "OffsetForLeaderEpoch", replicas_.node_id(), leader_id_, resp)) return round_done(true);
    for (const auto& t : resp.topics)
      for (const auto& ep : t.partitions) {
        auto it = parts_.find({t.topic, ep.partition});
        if (it == parts_.end() || it->second.state != State::Truncating) continue;
        PartState& s = it->second;
        Partition* p = replicas_.find(t.topic, ep.partition);
        if (!p) continue;
        ErrorCode e = ec(ep.error_code);
        if (e != ErrorCode::NONE) {
          spdlog::info("[ReplicaFetcher broker={} leader={}] OffsetForLeaderEpoch of {}-{}: {}", replicas_.node_id(), leader_id_, t.topic,
                       ep.partition, error_name(e));
          park(s);
          continue;
        }
        // The leader's end of the largest epoch <= ours; our own end of that
        // epoch may be earlier (we may never have had all of it).
        int64_t target = ep.end_offset;
        if (ep.leader_epoch >= 0) {
          auto [own_epoch, own_end] = replicas_.end_offset_for_epoch(*p, ep.leader_epoch);
          if (own_epoch == ep.leader_epoch) target = std::min(target, own_end);
        }
        if (ep.leader_epoch < 0 || target < 0) target = p->hw;  // no common epoch known: keep what was committed
        target = std::min(target, p->log->log_end_offset());
        replicas_.truncate_to(*p, target);
        s.state = State::Fetching;
      }
    round_done(false);
  });
}

// ---------------------------------------------------------------- fetch

void ReplicaFetcher::send_fetch(std::vector<Key> keys) {
  const BrokerConfig& cfg = replicas_.config();
  msg::FetchRequest req;
  req.replica_state.replica_id = replicas_.node_id();
  req.replica_state.replica_epoch = -1;
  req.max_wait_ms = cfg.replica_fetch_wait_max_ms;
  req.min_bytes = cfg.replica_fetch_min_bytes;
  req.max_bytes = cfg.replica_fetch_response_max_bytes;
  req.isolation_level = 0;
  req.session_id = 0;
  req.session_epoch = -1;  // no fetch session: every request is a full one
  std::map<std::string, size_t> topic_at;
  std::vector<Key> sent;
  bool throttled_out = false;
  for (const Key& k : keys) {
    Partition* p = replicas_.find(k.first, k.second);
    if (!p) {
      parts_.erase(k);
      continue;
    }
    auto [it, fresh] = topic_at.emplace(k.first, req.topics.size());
    if (fresh) {
      msg::FetchRequest::FetchTopic t;
      t.topic = k.first;
      t.topic_id = p->topic_id;
      req.topics.push_back(std::move(t));
    }
    // Replication throttle (follower side): an out-of-sync replica of a
    // throttled partition is left out while the rate is exceeded.
    if (ReplicationQuota* q = replicas_.follower_quota();
        q && q->is_throttled(k.first, k.second) && parts_[k].lag != 0 && q->is_quota_exceeded(monotonic_ms())) {
      throttled_out = true;
      continue;
    }
    msg::FetchRequest::FetchPartition fp;
    fp.partition = k.second;
    fp.current_leader_epoch = parts_[k].leader_epoch;
    fp.fetch_offset = p->log->log_end_offset();
    fp.log_start_offset = p->log->log_start_offset();
    fp.partition_max_bytes = cfg.replica_fetch_max_bytes;
    req.topics[it->second].partitions.push_back(fp);
    sent.push_back(k);
  }
  if (sent.empty()) return round_done(throttled_out);  // all throttled: back off, as Kafka's fetcher does
  if (auto e = replicas_.broker_epoch(); e >= 0) req.replica_state.replica_epoch = e;
  auto alive = alive_;
  client_->send(client_request(req, kFetchVersion), [this, alive](net::ClientResponse r) {
    if (!*alive) return;
    msg::FetchResponse resp;
    if (!decode_response(r, kFetchVersion, "Fetch", replicas_.node_id(), leader_id_, resp)) return round_done(true);
    if (ec(resp.error_code) != ErrorCode::NONE) {
      spdlog::info("[ReplicaFetcher broker={} leader={}] Fetch error {}", replicas_.node_id(), leader_id_, error_name(ec(resp.error_code)));
      return round_done(true);
    }
    for (const auto& t : resp.responses)
      for (const auto& pd : t.partitions) {
        Partition* p = replicas_.find(t.topic_id, pd.partition_index);
        if (!p) continue;
        auto it = parts_.find({p->topic, pd.partition_index});
        if (it == parts_.end() || it->second.state != State::Fetching) continue;
        PartState& s = it->second;
        ErrorCode e = ec(pd.error_code);
        try {
          if (e == ErrorCode::NONE) {
            if (ReplicationQuota* q = replicas_.follower_quota(); q && q->is_throttled(p->topic, pd.partition_index))
              q->record(pd.records.size(), monotonic_ms());
            replicas_.append_as_follower(*p, pd.records.view, pd.high_watermark, pd.log_start_offset);
            s.lag = std::max<int64_t>(0, pd.high_watermark - p->log->log_end_offset());
          } else if (e == ErrorCode::OFFSET_OUT_OF_RANGE) {
            if (pd.log_start_offset > p->log->log_end_offset()) {
              replicas_.truncate_fully_and_start_at(*p, pd.log_start_offset);
            } else {
              s.state = State::Truncating;  // we are past the leader's end: find the divergence again
            }
          } else {
            if (!partition_moved(e))
              spdlog::info("[ReplicaFetcher broker={} leader={}] Fetch of {}-{}: {}", replicas_.node_id(), leader_id_, p->topic,
                           pd.partition_index, error_name(e));
            park(s);
          }
        } catch (const std::exception& ex) {
          spdlog::error("[ReplicaFetcher broker={} leader={}] Cannot append to {}-{}: {}", replicas_.node_id(), leader_id_, p->topic,
                        pd.partition_index, ex.what());
          // An I/O error takes the log dir offline (and unfollows the partition).
          if (replicas_.fail_dir_if_io_error(*p, &ex)) continue;
          s.state = State::Truncating;
          park(s);
        }
      }
    round_done(false);
  });
}

// ---------------------------------------------------------------- manager

ReplicaFetcherManager::ReplicaFetcherManager(asio::io_context& io, ReplicaManager& replicas) : io_(io), replicas_(replicas) {}

ReplicaFetcherManager::~ReplicaFetcherManager() { shutdown(); }

void ReplicaFetcherManager::follow(const std::string& topic, int32_t partition, int32_t leader, int32_t leader_epoch, const std::string& host,
                                   int port) {
  unfollow(topic, partition);
  // One fetcher per leader id; a leader that came back on another address
  // gets a new fetcher once its old one has no partitions left.
  auto& f = fetchers_[leader];
  if (!f) f = std::make_unique<ReplicaFetcher>(io_, replicas_, leader, host, port);
  f->add(topic, partition, leader_epoch);
  leader_of_[{topic, partition}] = leader;
}

void ReplicaFetcherManager::unfollow(const std::string& topic, int32_t partition) {
  auto it = leader_of_.find({topic, partition});
  if (it == leader_of_.end()) return;
  auto f = fetchers_.find(it->second);
  if (f != fetchers_.end()) {
    f->second->remove(topic, partition);
    if (f->second->empty()) {
      f->second->stop();
      fetchers_.erase(f);
    }
  }
  leader_of_.erase(it);
}

void ReplicaFetcherManager::shutdown() {
  for (auto& [id, f] : fetchers_) f->stop();
  fetchers_.clear();
  leader_of_.clear();
}

}  // namespace flotilla::broker
