#include "coordinator/txn_service.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "coordinator/group_service.h"
#include "coordinator/partition_host.h"
#include "coordinator/producer_id_manager.h"
#include "coordinator/service_loop.h"
#include "net/client.h"
#include "net/client_request.h"
#include "protocol/messages.h"

namespace flotilla::coordinator {

namespace {
constexpr int64_t kMarkerRetryBackoffMs = 100;
constexpr int16_t kWriteTxnMarkersVersion = 1;
constexpr int64_t kMarkerTimeoutMs = 30000;  // request.timeout.ms: a marker (or a store write) waiting for the ISR

// Errors after which a marker is retried (the partition moves or catches up);
// anything else gives the transaction up to the next coordinator.
bool retriable_marker_error(ErrorCode e) {
  switch (e) {
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::KAFKA_STORAGE_ERROR:
    case ErrorCode::LEADER_NOT_AVAILABLE:
    case ErrorCode::COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode::NETWORK_EXCEPTION:
      return true;
    default:
      return false;
  }
}
}  // namespace

// ---------------------------------------------------------------- LocalMarkerWriter

void LocalMarkerWriter::write_local(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit,
                                    const TopicPartitionKey& tp, std::function<void(ErrorCode)> done) {
  auto later = [this](std::function<void(ErrorCode)> d, ErrorCode e) { asio::post(io_, [d, e] { d(e); }); };
  const PartitionHost::Leadership led = host_.leadership(tp.first, tp.second);
  if (led.error != ErrorCode::NONE) return later(done, led.error);
  PartitionHost::Appended ar = host_.append_marker(tp.first, tp.second, producer_id, producer_epoch, coordinator_epoch, commit);
  if (ar.error != ErrorCode::NONE) return later(done, ar.error);
  auto alive = alive_;
  host_.await_committed(tp.first, tp.second, led.leader_epoch, ar.last_offset, timeout_ms_,
                        [this, alive, tp, producer_id, commit, done = std::move(done)](ErrorCode e) {
                          if (!*alive) return;
                          // Kafka's onTransactionCompleted: the producer's offsets here become visible (or go).
                          if (e == ErrorCode::NONE && tp.first == kGroupMetadataTopic && groups_)
                            groups_->coordinator().complete_txn(producer_id, tp.second, commit);
                          done(e);
                        });
}

// ---------------------------------------------------------------- the store

class TxnCoordinatorService::Store : public TxnStore {
 public:
  Store(asio::io_context& io, PartitionHost& host, int64_t timeout_ms)
      : log_(io, host, kTransactionStateTopic, timeout_ms, "TransactionStateManager") {}
  void append(int32_t partition, int32_t coordinator_epoch, std::vector<TxnRecord> records, std::function<void(ErrorCode)> done) override {
    log_.append(partition, coordinator_epoch, std::move(records), std::nullopt, std::move(done));
  }
  void load(int32_t partition, int32_t coordinator_epoch, std::function<void(std::optional<LoadedTxnPartition>)> done) override {
    auto state = std::make_shared<LoadedTxnPartition>();
    InternalTopicLog::Visitor v;
    v.record = [state](const records::Record& r, int64_t) { state->apply(decode_txn_log_record(*r.key, r.value)); };
    log_.load(partition, coordinator_epoch, std::move(v), [state, done](bool ok, int64_t) {
      if (ok) done(std::move(*state));
      else done(std::nullopt);
    });
  }

 private:
  InternalTopicLog log_;
};

// ---------------------------------------------------------------- the marker channel

class TxnCoordinatorService::Markers : public TxnMarkerWriter {
 public:
  Markers(asio::io_context& io, PartitionHost& host, LocalMarkerWriter& local, std::string listener, int64_t request_timeout_ms)
      : io_(io), host_(host), local_(local), listener_(std::move(listener)), request_timeout_ms_(request_timeout_ms) {}
  ~Markers() override {
    *alive_ = false;
    for (auto& [id, c] : clients_) c->close();
  }
  std::shared_ptr<const net::ClientSecurity> security;
  // Whether the coordinator still owns the transaction (checked before each retry).
  std::function<bool(const TxnMarkers&)> still_owner;

  void write_markers(TxnMarkers markers, std::function<void(ErrorCode)> done) override {
    struct Pending {
      TxnMarkers markers;
      size_t remaining;
      bool finished = false;
      std::function<void(ErrorCode)> done;
    };
    auto pending = std::make_shared<Pending>(Pending{std::move(markers), 0, false, std::move(done)});
    pending->remaining = pending->markers.partitions.size();
    for (const auto& tp : pending->markers.partitions) {
      write_one(pending->markers, tp, [pending](ErrorCode e) {
        if (pending->finished) return;
        if (e != ErrorCode::NONE) {
          pending->finished = true;
          return pending->done(e);
        }
        if (--pending->remaining == 0) {
          pending->finished = true;
          pending->done(ErrorCode::NONE);
        }
      });
    }
  }

 private:
  void write_one(const TxnMarkers& m, const TopicPartitionKey& tp, std::function<void(ErrorCode)> done) {
    if (!*alive_) return;
    if (still_owner && !still_owner(m)) return done(ErrorCode::NOT_COORDINATOR);
    auto image = host_.image();
    const metadata::TopicImage* t = image->topic(tp.first);
    if (!t || !t->partitions.count(tp.second)) {
      spdlog::info("[TransactionMarkerChannelManager] {}-{} no longer exists: no marker for producer {}", tp.first, tp.second, m.producer_id);
      return done(ErrorCode::NONE);
    }
    const int32_t leader = t->partitions.at(tp.second).leader;
    const bool commit = m.result == TxnResult::Commit;
    auto alive = alive_;
    auto on_result = [this, alive, m, tp, done](ErrorCode e) {
      if (!*alive) return;
      if (e == ErrorCode::NONE) return done(e);
      if (!retriable_marker_error(e)) {
        spdlog::warn("[TransactionMarkerChannelManager] Marker for producer {} on {}-{} failed: {}; giving the transaction {} up",
                     m.producer_id, tp.first, tp.second, error_name(e), m.transactional_id);
        return done(e);
      }
      retry(m, tp, done);
    };
    if (leader == host_.node_id()) {
      local_.write_local(m.producer_id, m.producer_epoch, m.coordinator_epoch, commit, tp, on_result);
      return;
    }
    const metadata::BrokerRegistration* b = leader >= 0 ? image->broker(leader) : nullptr;
    const metadata::BrokerEndpoint* ep = nullptr;
    if (b && !b->fenced)
      for (const auto& l : b->listeners)
        if (l.name == listener_) ep = &l;
    if (!ep) return retry(m, tp, done);
    std::shared_ptr<net::Client>& c = clients_[leader];
    if (!c || c->host() != ep->host || c->port() != ep->port) {
      if (c) c->close();
      c = net::Client::create(io_, ep->host, ep->port, "txn-marker-" + std::to_string(host_.node_id()));
      c->set_request_timeout_ms(request_timeout_ms_);
      c->set_security(security);
    }
    msg::WriteTxnMarkersRequest req;
    msg::WriteTxnMarkersRequest::WritableTxnMarker wm;
    wm.producer_id = m.producer_id;
    wm.producer_epoch = m.producer_epoch;
    wm.transaction_result = commit;
    wm.coordinator_epoch = m.coordinator_epoch;
    msg::WriteTxnMarkersRequest::WritableTxnMarkerTopic wt;
    wt.name = tp.first;
    wt.partition_indexes = {tp.second};
    wm.topics.push_back(wt);
    req.markers.push_back(wm);
    c->send(net::client_request(req, kWriteTxnMarkersVersion), [on_result, tp](net::ClientResponse r) {
      if (r.error) return on_result(ErrorCode::NETWORK_EXCEPTION);
      msg::WriteTxnMarkersResponse resp;
      try {
        ByteReader body = r.body();
        resp.decode(body, kWriteTxnMarkersVersion);
      } catch (const std::exception&) {
        return on_result(ErrorCode::NETWORK_EXCEPTION);
      }
      for (const auto& mk : resp.markers)
        for (const auto& t : mk.topics)
          for (const auto& p : t.partitions)
            if (t.name == tp.first && p.partition_index == tp.second) return on_result(static_cast<ErrorCode>(p.error_code));
      on_result(ErrorCode::UNKNOWN_SERVER_ERROR);
    });
  }

  void retry(const TxnMarkers& m, const TopicPartitionKey& tp, std::function<void(ErrorCode)> done) {
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(kMarkerRetryBackoffMs));
    auto alive = alive_;
    timer->async_wait([this, alive, timer, m, tp, done](const asio::error_code& ec) {
      if (ec || !*alive) return;
      write_one(m, tp, done);
    });
  }

  asio::io_context& io_;
  PartitionHost& host_;
  LocalMarkerWriter& local_;
  std::string listener_;
  int64_t request_timeout_ms_;
  std::map<int32_t, std::shared_ptr<net::Client>> clients_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// ---------------------------------------------------------------- the service

TxnCoordinatorService::TxnCoordinatorService(asio::io_context& io, PartitionHost& host, TxnCoordinatorConfig config,
                                             std::string inter_broker_listener) {
  producer_ids_ = std::make_unique<ProducerIdManager>(host);
  local_ = std::make_unique<LocalMarkerWriter>(io, host, kMarkerTimeoutMs);
  store_ = std::make_unique<Store>(io, host, kMarkerTimeoutMs);
  markers_ = std::make_unique<Markers>(io, host, *local_, std::move(inter_broker_listener), kMarkerTimeoutMs);
  coordinator_ = std::make_unique<TxnCoordinator>(config, *store_, *markers_, *producer_ids_, [] { return wall_clock_ms(); });
  markers_->still_owner = [this](const TxnMarkers& m) {
    const TransactionMetadata* md = coordinator_->metadata_of(m.transactional_id);
    return md && coordinator_->check_coordinator(m.transactional_id) == ErrorCode::NONE && md->producer_id == m.producer_id;
  };
  loop_ = std::make_unique<ServiceLoop>(
      io, host, kTransactionStateTopic, std::chrono::milliseconds(100),
      [this](int32_t partition, int32_t epoch, bool leader) { coordinator_->on_leadership(partition, epoch, leader); },
      [this] { coordinator_->tick(); });
}

TxnCoordinatorService::~TxnCoordinatorService() = default;

void TxnCoordinatorService::set_client_security(std::shared_ptr<const net::ClientSecurity> security) {
  markers_->security = std::move(security);
}

void TxnCoordinatorService::shutdown() { loop_->shutdown(); }

}  // namespace flotilla::coordinator
