#include "raft/network.h"

#include <spdlog/spdlog.h>

#include "protocol/api.h"
#include "raft/driver.h"
#include "raft/rpc.h"

namespace flotilla::raft {

RaftNetwork::RaftNetwork(asio::io_context& io, RaftDriver& driver, int32_t local_id, std::map<int32_t, PeerAddress> voters,
                         int64_t request_timeout_ms)
    : io_(io), driver_(driver), local_id_(local_id), voters_(std::move(voters)), request_timeout_ms_(request_timeout_ms) {}

RaftNetwork::~RaftNetwork() {
  *alive_ = false;
  close();
}

void RaftNetwork::attach() {
  driver_.set_sender([this](int32_t destination, RaftRequest request, uint64_t correlation_id) {
    send(destination, std::move(request), correlation_id);
  });
}

net::Client& RaftNetwork::client_for(int32_t destination) {
  auto& c = clients_[destination];
  if (!c) {
    const PeerAddress& ep = voters_.at(destination);
    c = net::Client::create(io_, ep.host, ep.port, "raft-client-" + std::to_string(local_id_));
    c->set_security(security_);
    c->set_request_timeout_ms(request_timeout_ms_);
  }
  return *c;
}

void RaftNetwork::send(int32_t destination, RaftRequest request, uint64_t correlation_id) {
  if (!voters_.count(destination)) {
    spdlog::warn("[RaftNetwork id={}] No endpoint for node {}", local_id_, destination);
    auto alive = alive_;
    asio::post(io_, [this, alive, destination] {
      if (*alive) driver_.handle_send_failure(destination);
    });
    return;
  }
  rpc::WireRequest wire = rpc::encode_request(request, local_id_);
  net::ClientRequest cr;
  cr.api_key = wire.api_key;
  cr.api_version = wire.api_version;
  cr.request_header_version = protocol::request_header_version(wire.api_key, wire.api_version);
  cr.response_header_version = protocol::response_header_version(wire.api_key, wire.api_version);
  cr.body = std::move(wire.body);
  auto alive = alive_;
  int16_t key = wire.api_key, version = wire.api_version;
  client_for(destination).send(std::move(cr), [this, alive, destination, key, version, correlation_id](net::ClientResponse r) {
    if (!*alive) return;
    if (r.error) {
      spdlog::debug("[RaftNetwork id={}] Request {} to node {} failed: {}", local_id_, key, destination, r.error.message());
      driver_.handle_send_failure(destination);
      return;
    }
    try {
      ByteReader body = r.body();
      std::vector<rpc::NodeAddress> endpoints;
      auto response = rpc::decode_response(key, version, body, &endpoints);
      for (const auto& e : endpoints)
        if (e.id >= 0 && e.id != local_id_ && !voters_.count(e.id)) set_address(e.id, PeerAddress{e.host, e.port});
      driver_.handle_response(destination, std::move(response), correlation_id);
    } catch (const std::exception& e) {
      spdlog::warn("[RaftNetwork id={}] Malformed response {} from node {}: {}", local_id_, key, destination, e.what());
      driver_.handle_send_failure(destination);
    }
  });
}

void RaftNetwork::set_address(int32_t id, PeerAddress address) {
  auto it = voters_.find(id);
  if (it != voters_.end() && it->second.host == address.host && it->second.port == address.port) return;
  voters_[id] = std::move(address);
  if (auto c = clients_.find(id); c != clients_.end()) {
    c->second->close();
    clients_.erase(c);
  }
}

std::optional<PeerAddress> RaftNetwork::address(int32_t id) const {
  auto it = voters_.find(id);
  if (it == voters_.end()) return std::nullopt;
  return it->second;
}

void RaftNetwork::close() {
  for (auto& [id, c] : clients_) c->close();
  clients_.clear();
}

}  // namespace flotilla::raft
