// RaftNetwork: carries a RaftDriver's requests to the other voters over their
// controller listeners (Kafka's wire RPCs, raft/rpc.h) and brings the
// responses back. One connection per destination, opened on first use.
//
// A request that fails to be delivered or answered (refused, reset, timed
// out) is reported to the driver as a failure of that destination, at once:
// the core treats a broken connection to its leader as a reason to start a
// pre-vote instead of waiting out the fetch timeout.
//
// Threading: the driver's io_context thread.
#pragma once

#include <asio.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "net/client.h"
#include "raft/messages.h"

namespace flotilla::raft {

class RaftDriver;

struct PeerAddress {
  std::string host;
  int port = 0;
};

class RaftNetwork {
 public:
  RaftNetwork(asio::io_context& io, RaftDriver& driver, int32_t local_id, std::map<int32_t, PeerAddress> voters,
              int64_t request_timeout_ms);
  ~RaftNetwork();

  // Installs itself as the driver's sender.
  void attach();
  void send(int32_t destination, RaftRequest request, uint64_t correlation_id = 0);
  void close();
  // The address book: voters from the configuration, VotersRecords and the
  // NodeEndpoints of responses; bootstrap servers under pseudo ids -2, -3, ...
  void set_address(int32_t id, PeerAddress address);
  std::optional<PeerAddress> address(int32_t id) const;
  // How to authenticate to the controller listener (SASL_*); for connections opened from now on.
  void set_client_security(std::shared_ptr<const net::ClientSecurity> security) { security_ = std::move(security); }

 private:
  net::Client& client_for(int32_t destination);

  asio::io_context& io_;
  RaftDriver& driver_;
  int32_t local_id_;
  std::map<int32_t, PeerAddress> voters_;
  int64_t request_timeout_ms_;
  std::map<int32_t, std::shared_ptr<net::Client>> clients_;
  std::shared_ptr<const net::ClientSecurity> security_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::raft
