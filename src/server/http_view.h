// The node as the HTTP listener sees it (http::NodeView), and the listener's
// life: built by the node when http.listeners is set.
//
// Snapshots, never the loop's state: the image is the one the loader last
// published (kept here as a metadata::Publisher, swapped under a mutex held
// only for the pointer copy); the Raft status is copied from the driver on
// the event loop every 250 ms. kafka_call posts the request to the event
// loop and waits on the HTTP thread.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "http/node_view.h"
#include "metadata/publisher.h"

namespace flotilla::net {
class Client;
struct ClientSecurity;
class Handler;
}  // namespace flotilla::net

namespace flotilla::raft {
class RaftDriver;
}

namespace flotilla::broker {
struct BrokerSnapshot;
}

namespace flotilla::server {

struct HttpViewConfig {
  int32_t node_id = -1;
  std::string cluster_id;
  bool broker_role = false;
  bool controller_role = false;
  std::string metadata_log_dir;
  std::string metadata_partition_dir;
  std::string inter_broker_listener_name;
  int64_t start_time_ms = 0;
};

class HttpNodeView : public http::NodeView, public metadata::Publisher {
 public:
  HttpNodeView(asio::io_context& io, HttpViewConfig config, raft::RaftDriver& raft);
  ~HttpNodeView() override;

  // The broker API kafka_call runs local requests through (null on a
  // controller-only node: local calls then fail), and how this node
  // authenticates to other brokers.
  void set_handler(net::Handler* handler) { handler_ = handler; }
  void set_inter_broker_security(std::shared_ptr<const net::ClientSecurity> s) { inter_broker_security_ = std::move(s); }
  void set_authorizer(const security::StandardAuthorizer* a) { authorizer_ = a; }
  // Starts the 250 ms Raft status refresh (event loop); stop() ends it and
  // fails calls still waiting (on the loop, at shutdown).
  void start();
  void stop();
  // Any thread: calls waiting for an answer give up now (before the HTTP
  // server is stopped, so its workers can be joined).
  void begin_stop();

  // metadata::Publisher (event loop)
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;

  // http::NodeView (any thread)
  int32_t node_id() const override { return config_.node_id; }
  const std::string& cluster_id() const override { return config_.cluster_id; }
  bool broker_role() const override { return config_.broker_role; }
  bool controller_role() const override { return config_.controller_role; }
  std::string metadata_log_dir() const override { return config_.metadata_log_dir; }
  std::string metadata_partition_dir() const override { return config_.metadata_partition_dir; }
  int64_t start_time_ms() const override { return config_.start_time_ms; }
  std::shared_ptr<const metadata::MetadataImage> image() const override;
  http::RaftStatus raft_status() const override;
  const security::StandardAuthorizer* authorizer() const override { return authorizer_; }
  http::KafkaReply kafka_call(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                              std::shared_ptr<const security::Session> session, std::chrono::milliseconds timeout,
                              int32_t target_node) override;

  // How the event loop starts taking the broker's snapshot (broker role only):
  // the loop lists the partitions in one short turn, the HTTP thread reads their gauges.
  void set_broker_snapshot_source(std::function<std::unique_ptr<broker::BrokerSnapshotTaker>()> f) { snapshot_source_ = std::move(f); }
  std::shared_ptr<const broker::BrokerSnapshot> broker_snapshot() override;

  // Called on the event loop after each Raft status refresh (the Raft metrics' gauges).
  void set_on_raft_status(std::function<void(const http::RaftStatus&)> f) { on_raft_status_ = std::move(f); }

 private:
  void refresh_raft_status();
  void schedule_refresh();
  std::shared_ptr<net::Client> client_for(int32_t node);  // event loop

  asio::io_context& io_;
  HttpViewConfig config_;
  raft::RaftDriver& raft_;
  asio::steady_timer timer_;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  net::Handler* handler_ = nullptr;
  const security::StandardAuthorizer* authorizer_ = nullptr;
  std::shared_ptr<const net::ClientSecurity> inter_broker_security_;
  std::map<int32_t, std::shared_ptr<net::Client>> clients_;  // event loop only
  std::function<void(const http::RaftStatus&)> on_raft_status_;
  std::function<std::unique_ptr<broker::BrokerSnapshotTaker>()> snapshot_source_;  // run on the event loop
  std::mutex snapshot_mu_;  // guards last_snapshot_, held only to copy it
  std::shared_ptr<const broker::BrokerSnapshot> last_snapshot_;

  mutable std::mutex mu_;  // guards the two pointers below, held only to copy them
  std::shared_ptr<const metadata::MetadataImage> image_;
  std::shared_ptr<const http::RaftStatus> raft_status_;
};

}  // namespace flotilla::server
