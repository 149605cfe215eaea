// Follower replication: one ReplicaFetcher per leader broker carries the
// fetches of every partition this node follows on that leader, batched into
// one Fetch request (v15, with this broker's id and epoch), on one connection
// to the leader's inter-broker listener.
//
// A partition enters a fetcher in the Truncating state: before fetching, the
// fetcher asks the leader where the follower's latest epoch ends
// (OffsetForLeaderEpoch) and truncates there — the records past it were
// never committed (the leader of that epoch would have them otherwise). Then
// it fetches from its log end offset; the leader holds the fetch up to
// replica.fetch.wait.max.ms when there is nothing new, so the loop does not
// spin. An error on a partition parks it for replica.fetch.backoff.ms (or
// until the next image says who leads it); a broken connection backs the
// whole fetcher off.
//
// Threading: the broker's io_context thread.
#pragma once

#include <asio.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "broker/broker_config.h"
#include "net/client.h"

namespace flotilla::broker {

class ReplicaManager;

class ReplicaFetcher {
 public:
  ReplicaFetcher(asio::io_context& io, ReplicaManager& replicas, int32_t leader_id, std::string host, int port);
  ~ReplicaFetcher();

  // Follows `key` (topic-partition) from this leader, at `leader_epoch`.
  void add(const std::string& topic, int32_t partition, int32_t leader_epoch);
  void remove(const std::string& topic, int32_t partition);
  bool empty() const { return parts_.empty(); }
  int32_t leader_id() const { return leader_id_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  void stop();

 private:
  enum class State { Truncating, Fetching };
  struct PartState {
    std::string topic;
    int32_t partition = 0;
    int32_t leader_epoch = -1;
    State state = State::Truncating;
    int64_t delayed_until_ms = 0;  // parked after an error
    int64_t lag = -1;              // the leader's high watermark minus our log end at the last fetch; -1: unknown
  };
  using Key = std::pair<std::string, int32_t>;

  void kick();  // start a round if none is running
  void run_round();
  void send_offsets_for_leader_epoch(std::vector<Key> keys);
  void send_fetch(std::vector<Key> keys);
  void round_done(bool backoff);
  void park(PartState& s);

  asio::io_context& io_;
  ReplicaManager& replicas_;
  int32_t leader_id_;
  std::string host_;
  int port_;
  std::shared_ptr<net::Client> client_;
  std::map<Key, PartState> parts_;
  bool in_round_ = false;
  asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The fetchers of one broker, by leader: partitions move between them as the
// metadata image moves leadership.
class ReplicaFetcherManager {
 public:
  ReplicaFetcherManager(asio::io_context& io, ReplicaManager& replicas);
  ~ReplicaFetcherManager();
  // Follow `topic-partition` from `leader` (reachable at host:port) at `leader_epoch`.
  void follow(const std::string& topic, int32_t partition, int32_t leader, int32_t leader_epoch, const std::string& host, int port);
  void unfollow(const std::string& topic, int32_t partition);
  void shutdown();

 private:
  asio::io_context& io_;
  ReplicaManager& replicas_;
  std::map<int32_t, std::unique_ptr<ReplicaFetcher>> fetchers_;
  std::map<std::pair<std::string, int32_t>, int32_t> leader_of_;
};

}  // namespace flotilla::broker
