#include "server/http_view.h"

#include <spdlog/spdlog.h>

#include <future>

#include "net/client.h"
#include "net/server.h"
#include "protocol/api.h"
#include "protocol/messages.h"
#include "raft/driver.h"

namespace flotilla::server {

HttpNodeView::HttpNodeView(asio::io_context& io, HttpViewConfig config, raft::RaftDriver& raft)
    : io_(io), config_(std::move(config)), raft_(raft), timer_(io) {}

HttpNodeView::~HttpNodeView() = default;

void HttpNodeView::start() {
  refresh_raft_status();
  schedule_refresh();
}

void HttpNodeView::begin_stop() { stopping_ = true; }

void HttpNodeView::stop() {
  stopping_ = true;
  stopped_ = true;
  timer_.cancel();
  for (auto& [id, c] : clients_) c->close();
  clients_.clear();
}

void HttpNodeView::publish(const metadata::MetadataDelta&, std::shared_ptr<const metadata::MetadataImage> image) {
  std::lock_guard lock(mu_);
  image_ = std::move(image);
}

std::shared_ptr<const broker::BrokerSnapshot> HttpNodeView::broker_snapshot() {
  if (!snapshot_source_) return nullptr;
  auto last = [this] {
    std::lock_guard lock(snapshot_mu_);
    return last_snapshot_;
  };
  if (stopping_) return last();
  // The loop lists the partitions (one short turn); this HTTP thread waits,
  // then reads their gauges and sorts them.
  auto done = std::make_shared<std::promise<std::shared_ptr<broker::BrokerSnapshotTaker>>>();
  auto future = done->get_future();
  asio::post(io_, [this, done] {
    try {
      if (stopped_) {
        done->set_value(nullptr);
        return;
      }
      std::shared_ptr<broker::BrokerSnapshotTaker> taker = snapshot_source_();
      taker->list();
      done->set_value(std::move(taker));
    } catch (const std::exception& e) {
      spdlog::warn("[HttpServer] Taking the broker's metrics snapshot failed: {}", e.what());
      done->set_value(nullptr);
    }
  });
  if (future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return last();
  std::shared_ptr<broker::BrokerSnapshotTaker> taker = future.get();
  if (!taker) return last();
  std::shared_ptr<const broker::BrokerSnapshot> s = taker->take();
  std::lock_guard lock(snapshot_mu_);
  last_snapshot_ = s;
  return s;
}

std::shared_ptr<const metadata::MetadataImage> HttpNodeView::image() const {
  std::lock_guard lock(mu_);
  return image_;
}

http::RaftStatus HttpNodeView::raft_status() const {
  std::shared_ptr<const http::RaftStatus> s;
  {
    std::lock_guard lock(mu_);
    s = raft_status_;
  }
  return s ? *s : http::RaftStatus{};
}

void HttpNodeView::schedule_refresh() {
  timer_.expires_after(std::chrono::milliseconds(250));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    refresh_raft_status();
    schedule_refresh();
  });
}

void HttpNodeView::refresh_raft_status() {
  auto s = std::make_shared<http::RaftStatus>();
  s->node_id = config_.node_id;
  auto le = raft_.leader_and_epoch();
  s->leader_id = le.leader_id;
  s->epoch = le.epoch;
  s->high_watermark = raft_.high_watermark();
  s->log_end_offset = raft_.next_offset();
  s->log_start_offset = raft_.log().log_start_offset();
  const auto& core = raft_.core();
  // Kafka's current-vote: a leader or candidate has voted for itself.
  s->voted_id = core.role() == raft::Role::Leader || core.role() == raft::Role::Candidate ? config_.node_id
                                                                                          : core.election_state().voted_id;
  s->state = !core.is_voter() && core.role() != raft::Role::Leader ? "observer" : raft::role_name(core.role());
  for (auto& c : s->state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto dq = raft_.describe_quorum();
  auto copy = [](const msg::DescribeQuorumResponse::ReplicaState& r) {
    http::RaftReplicaStatus o;
    o.replica_id = r.replica_id;
    if (r.replica_directory_id != Uuid{}) o.directory_id = r.replica_directory_id.to_string();
    o.log_end_offset = r.log_end_offset;
    o.last_fetch_timestamp = r.last_fetch_timestamp;
    o.last_caught_up_timestamp = r.last_caught_up_timestamp;
    return o;
  };
  for (const auto& t : dq.topics)
    for (const auto& p : t.partitions) {
      for (const auto& v : p.current_voters) s->voters.push_back(copy(v));
      for (const auto& o : p.observers) s->observers.push_back(copy(o));
    }
  if (on_raft_status_) on_raft_status_(*s);
  std::lock_guard lock(mu_);
  raft_status_ = std::move(s);
}

std::shared_ptr<net::Client> HttpNodeView::client_for(int32_t node) {
  if (auto it = clients_.find(node); it != clients_.end()) return it->second;
  auto img = image();
  if (!img) return nullptr;
  auto b = img->brokers().find(node);
  if (b == img->brokers().end()) return nullptr;
  for (const auto& l : b->second.listeners) {
    if (l.name != config_.inter_broker_listener_name) continue;
    auto c = net::Client::create(io_, l.host.empty() ? "127.0.0.1" : l.host, l.port, "flotilla-http-" + std::to_string(config_.node_id));
    c->set_request_timeout_ms(30000);
    c->set_security(inter_broker_security_);
    clients_[node] = c;
    return c;
  }
  return nullptr;
}

http::KafkaReply HttpNodeView::kafka_call(int16_t api_key, int16_t api_version, std::vector<uint8_t> body,
                                          std::shared_ptr<const security::Session> session, std::chrono::milliseconds timeout,
                                          int32_t target_node) {
  auto promise = std::make_shared<std::promise<http::KafkaReply>>();
  auto future = promise->get_future();
  auto fail = [promise](std::string why) {
    http::KafkaReply r;
    r.error = std::move(why);
    promise->set_value(std::move(r));
  };
  bool local = target_node < 0 || target_node == config_.node_id;
  asio::post(io_, [this, promise, fail, api_key, api_version, body = std::move(body), session = std::move(session), local,
                   target_node]() mutable {
    if (stopped_) return fail("the node is shutting down");
    if (local) {
      if (!handler_) return fail("this node serves no broker API");
      auto req = std::make_shared<net::Request>();
      req->frame = std::make_shared<FrameBuffer>(body.begin(), body.end());
      req->body_offset = 0;
      req->api_key = api_key;
      req->api_version = api_version;
      req->header_version = protocol::request_header_version(api_key, api_version);
      req->correlation_id = 0;
      req->client_id = "flotilla-http";
      // Answers that name endpoints (Metadata, FindCoordinator) give the
      // inter-broker listener's: the HTTP listener has no Kafka endpoint.
      req->listener = config_.inter_broker_listener_name;
      req->peer = session ? session->client_host : "";
      req->session = session ? session : std::make_shared<security::Session>();
      handler_->handle(req, [promise](net::Response resp) {
        http::KafkaReply r;
        r.ok = true;
        r.body = resp.body.flatten();
        promise->set_value(std::move(r));
      });
      return;
    }
    auto client = client_for(target_node);
    if (!client) return fail("broker " + std::to_string(target_node) + " is not registered");
    net::ClientRequest cr;
    cr.api_key = api_key;
    cr.api_version = api_version;
    cr.request_header_version = protocol::request_header_version(api_key, api_version);
    cr.response_header_version = protocol::response_header_version(api_key, api_version);
    cr.body = std::move(body);
    client->send(std::move(cr), [promise](net::ClientResponse resp) {
      http::KafkaReply r;
      if (resp.error) {
        r.error = resp.error.message();
      } else {
        r.ok = true;
        auto reader = resp.body();
        r.body.assign(resp.frame->data() + resp.body_offset, resp.frame->data() + resp.frame->size());
        (void)reader;
      }
      promise->set_value(std::move(r));
    });
  });
  // Waits in slices: at shutdown (stopping_) the worker returns at once, so
  // the HTTP server's stop() never waits for a call the loop will not finish.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (stopping_.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() >= deadline) {
      http::KafkaReply r;
      r.error = stopping_ ? "the node is shutting down" : "timed out after " + std::to_string(timeout.count()) + " ms";
      return r;
    }
  }
  try {
    return future.get();
  } catch (const std::future_error&) {
    http::KafkaReply r;
    r.error = "the node is shutting down";
    return r;
  }
}

}  // namespace flotilla::server
