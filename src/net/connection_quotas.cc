// Kafka's ConnectionQuotas (net/connection_quotas.h): counts and buckets.
#include "net/connection_quotas.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>

#include "security/acl.h"

namespace flotilla::net {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// An IP literal in canonical form, or a host name resolved (start-up only).
std::string host_key(const std::string& host) {
  if (auto ip = security::canonical_ip(host)) return *ip;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) throw std::invalid_argument("unknown host " + host);
  char buf[NI_MAXHOST];
  int rc = ::getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(res);
  if (rc != 0) throw std::invalid_argument("unknown host " + host);
  auto ip = security::canonical_ip(buf);
  return ip ? *ip : std::string(buf);
}

}  // namespace

std::map<std::string, int32_t> parse_ip_overrides(const std::string& text) {
  std::map<std::string, int32_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string entry = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    size_t colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0) throw std::invalid_argument("entry '" + entry + "' is not host:count");
    std::string host = trim(entry.substr(0, colon)), count = trim(entry.substr(colon + 1));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    size_t pos = 0;
    long long n = -1;
    try {
      n = std::stoll(count, &pos);
    } catch (...) {
      pos = 0;
    }
    if (pos != count.size() || count.empty() || n < 0 || n > INT32_MAX)
      throw std::invalid_argument("entry '" + entry + "' has no count in 0.." + std::to_string(INT32_MAX));
    out[host_key(host)] = static_cast<int32_t>(n);
  }
  return out;
}

bool ConnectionQuotas::take(Bucket& b, int32_t rate, int64_t now_ms) {
  if (rate == INT32_MAX) return true;
  if (b.tokens < 0) {
    b.tokens = rate;
    b.at_ms = now_ms;
  }
  b.tokens = std::min<double>(rate, b.tokens + static_cast<double>(now_ms - b.at_ms) * rate / 1000.0);
  b.at_ms = now_ms;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

int32_t ConnectionQuotas::ip_limit(const std::string& ip) const {
  auto it = limits_.per_ip_overrides.find(ip);
  return it != limits_.per_ip_overrides.end() ? it->second : limits_.max_connections_per_ip;
}

bool ConnectionQuotas::may_accept_locked(const std::string& listener) const {
  auto lim = limits_.listener_max_connections.find(listener);
  auto cnt = per_listener_.find(listener);
  size_t n = cnt == per_listener_.end() ? 0 : cnt->second;
  if (lim != limits_.listener_max_connections.end() && n >= static_cast<size_t>(lim->second)) return false;
  if (limits_.protected_listeners.count(listener)) return true;
  return total_ < static_cast<size_t>(limits_.max_connections);
}

bool ConnectionQuotas::may_accept(const std::string& listener) const {
  std::lock_guard lock(mu_);
  return may_accept_locked(listener);
}

ConnectionQuotas::Verdict ConnectionQuotas::on_accept(const std::string& listener, const std::string& ip, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (!may_accept_locked(listener)) return Verdict::kTooMany;
  const std::string key = ip_key(listener, ip);
  auto ipc = per_ip_.find(key);
  if ((ipc == per_ip_.end() ? 0 : ipc->second) >= static_cast<size_t>(ip_limit(ip))) return Verdict::kTooManyForIp;
  const bool is_protected = limits_.protected_listeners.count(listener) > 0;
  auto lr = limits_.listener_creation_rate.find(listener);
  const int32_t listener_rate = lr == limits_.listener_creation_rate.end() ? INT32_MAX : lr->second;
  // Both buckets must have a token; peek the second before taking the first.
  Bucket& lb = listener_buckets_[listener];
  if (!is_protected && limits_.max_connection_creation_rate != INT32_MAX) {
    Bucket probe = broker_bucket_;
    if (!take(probe, limits_.max_connection_creation_rate, now_ms)) {
      broker_bucket_ = probe;  // keeps the refill time
      return Verdict::kRateExceeded;
    }
    if (!take(lb, listener_rate, now_ms)) return Verdict::kRateExceeded;
    broker_bucket_ = probe;
  } else if (!take(lb, listener_rate, now_ms)) {
    return Verdict::kRateExceeded;
  }
  ++per_ip_[key];
  ++per_listener_[listener];
  if (!is_protected) ++total_;
  return Verdict::kAccepted;
}

void ConnectionQuotas::on_close(const std::string& listener, const std::string& ip) {
  std::lock_guard lock(mu_);
  if (auto it = per_ip_.find(ip_key(listener, ip)); it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
  if (auto it = per_listener_.find(listener); it != per_listener_.end() && it->second > 0) --it->second;
  if (!limits_.protected_listeners.count(listener) && total_ > 0) --total_;
}

size_t ConnectionQuotas::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

size_t ConnectionQuotas::count(const std::string& listener) const {
  std::lock_guard lock(mu_);
  auto it = per_listener_.find(listener);
  return it == per_listener_.end() ? 0 : it->second;
}

size_t ConnectionQuotas::count_ip(const std::string& ip) const {
  std::lock_guard lock(mu_);
  auto it = per_ip_.find("b|" + ip);
  return it == per_ip_.end() ? 0 : it->second;
}

}  // namespace flotilla::net
