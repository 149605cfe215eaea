// Kafka's ConnectionQuotas, node-wide, shared by every listener:
//  * max.connections (broker-wide) and listener.name.<l>.max.connections
//    (KIP-402): when reached, the listener stops accepting until a connection
//    closes (the kernel's backlog holds new ones). Protected listeners (the
//    inter-broker one and the controller listeners) are not counted against
//    the broker-wide limit, only against their own;
//  * max.connections.per.ip and max.connections.per.ip.overrides: the excess
//    connection is closed right after accept, logged;
//  * max.connection.creation.rate (broker-wide; protected listeners exempt)
//    and listener.name.<l>.max.connection.creation.rate (KIP-612): a token
//    bucket per scope holding one second of the rate; a connection accepted
//    when its bucket is empty is closed (refused) while the others are served.
//
// Threading: any thread; one mutex, taken for a few map operations on accept
// and close only (never on a request's path).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace flotilla::net {

struct ConnectionLimits {
  int32_t max_connections = INT32_MAX;                 // max.connections
  int32_t max_connections_per_ip = INT32_MAX;          // max.connections.per.ip
  std::map<std::string, int32_t> per_ip_overrides;     // max.connections.per.ip.overrides (canonical IPs)
  int32_t max_connection_creation_rate = INT32_MAX;    // max.connection.creation.rate (per second)
  std::map<std::string, int32_t> listener_max_connections;  // listener.name.<l>.max.connections
  std::map<std::string, int32_t> listener_creation_rate;    // listener.name.<l>.max.connection.creation.rate
  std::set<std::string> protected_listeners;                // inter-broker and controller listeners
  // Controller listeners: their per-ip counts are kept apart (Kafka's
  // controller has a SocketServer, and ConnectionQuotas, of its own).
  std::set<std::string> controller_listeners;
};

class ConnectionQuotas {
 public:
  enum class Verdict { kAccepted, kTooManyForIp, kRateExceeded, kTooMany };

  explicit ConnectionQuotas(ConnectionLimits limits) : limits_(std::move(limits)) {}

  // Whether `listener` may accept now (max.connections, per listener and broker-wide).
  bool may_accept(const std::string& listener) const;
  // Counts a connection just accepted from `ip`, or says why it must be closed
  // (then nothing is counted). `now_ms` is a monotonic clock.
  Verdict on_accept(const std::string& listener, const std::string& ip, int64_t now_ms);
  // A connection counted by on_accept closed.
  void on_close(const std::string& listener, const std::string& ip);

  int32_t ip_limit(const std::string& ip) const;
  size_t total() const;
  size_t count(const std::string& listener) const;
  size_t count_ip(const std::string& ip) const;  // on the broker's (non-controller) listeners

 private:
  struct Bucket {
    double tokens = -1;  // < 0: not started (full)
    int64_t at_ms = 0;
  };
  static bool take(Bucket& b, int32_t rate, int64_t now_ms);
  bool may_accept_locked(const std::string& listener) const;
  std::string ip_key(const std::string& listener, const std::string& ip) const {
    return (limits_.controller_listeners.count(listener) ? "c|" : "b|") + ip;
  }

  const ConnectionLimits limits_;
  mutable std::mutex mu_;
  size_t total_ = 0;  // over unprotected listeners (the broker-wide count)
  std::map<std::string, size_t> per_listener_;
  std::map<std::string, size_t> per_ip_;  // by ip_key()
  Bucket broker_bucket_;
  std::map<std::string, Bucket> listener_buckets_;
};

// "host:count,host:count" (Kafka's max.connections.per.ip.overrides); hosts
// are kept as written, IP literals in canonical form. Throws
// std::invalid_argument naming the bad entry.
std::map<std::string, int32_t> parse_ip_overrides(const std::string& text);

}  // namespace flotilla::net

namespace flotilla::net {

// One counted connection: on_close runs once, when reset or destroyed.
class QuotaSlot {
 public:
  QuotaSlot() = default;
  QuotaSlot(std::shared_ptr<ConnectionQuotas> quotas, std::string listener, std::string ip)
      : quotas_(std::move(quotas)), listener_(std::move(listener)), ip_(std::move(ip)) {}
  QuotaSlot(QuotaSlot&& o) noexcept : quotas_(std::move(o.quotas_)), listener_(std::move(o.listener_)), ip_(std::move(o.ip_)) {}
  QuotaSlot& operator=(QuotaSlot&& o) noexcept {
    if (this != &o) {
      reset();
      quotas_ = std::move(o.quotas_);
      listener_ = std::move(o.listener_);
      ip_ = std::move(o.ip_);
    }
    return *this;
  }
  ~QuotaSlot() { reset(); }
  void reset() {
    if (auto q = std::move(quotas_)) q->on_close(listener_, ip_);
    quotas_ = nullptr;
  }

 private:
  std::shared_ptr<ConnectionQuotas> quotas_;
  std::string listener_;
  std::string ip_;
};

}  // namespace flotilla::net
