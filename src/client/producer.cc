#include "client/producer.h"

#include <set>
#include <thread>

#include "common/clock.h"

namespace flotilla::client {

Producer::Producer(KafkaClient& client, std::string topic, ProducerSettings s, ProducerEvents events)
    : client_(client), topic_(std::move(topic)), s_(s), events_(std::move(events)) {}

void Producer::start() { info_ = client_.wait_for_topic(topic_, static_cast<int>(s_.max_block_ms), true); }

void Producer::add(const ProducerRecord& rec) {
  int64_t now = wall_clock_ms();
  int32_t n = static_cast<int32_t>(info_.partitions.size());
  size_t size = 61 + 21 + (rec.key ? rec.key->size() : 0) + (rec.value ? rec.value->size() : 0);
  for (const auto& h : rec.headers) size += h.key.size() + (h.value ? h.value->size() : 0) + 10;
  if (size > static_cast<size_t>(s_.max_request_size)) {
    if (events_.record_too_large) events_.record_too_large(rec, size);
    ++errors_;
    return;
  }
  int32_t p;
  bool sticky = !rec.key.has_value();
  if (rec.key) {
    auto kb = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rec.key->data()), rec.key->size());
    p = partition_for_key(kb, n);
  } else {
    p = sticky_.partition(n);
  }
  Accumulating& a = accum_[p];
  if (a.builder && a.builder->record_count() > 0 && a.builder->estimated_size() + size > static_cast<size_t>(s_.batch_size)) {
    seal(p);
    if (sticky) {
      p = sticky_.partition(n);
    }
  }
  Accumulating& b = accum_[p];
  if (!b.builder) {
    b.builder = std::make_unique<records::BatchBuilder>(s_.compression);
    b.first_ms = now;
  }
  auto key = rec.key ? std::optional<std::span<const uint8_t>>(std::span<const uint8_t>(
                           reinterpret_cast<const uint8_t*>(rec.key->data()), rec.key->size()))
                     : std::nullopt;
  auto value = rec.value ? std::optional<std::span<const uint8_t>>(std::span<const uint8_t>(
                               reinterpret_cast<const uint8_t*>(rec.value->data()), rec.value->size()))
                         : std::nullopt;
  b.builder->add(now, key, value, rec.headers);
  if (sticky) b.null_key_sticky = true;
  if (s_.sync || b.builder->estimated_size() >= static_cast<size_t>(s_.batch_size)) seal(p);
}

void Producer::expire(bool all) {
  int64_t now = wall_clock_ms();
  std::vector<int32_t> due;
  for (auto& [p, a] : accum_)
    if (a.builder && (all || now - a.first_ms >= s_.linger_ms)) due.push_back(p);
  for (int32_t p : due) seal(p);
}

int Producer::next_timeout_ms() const {
  int64_t now = wall_clock_ms();
  int64_t best = -1;
  auto consider = [&](int64_t when) {
    int64_t d = std::max<int64_t>(0, when - now);
    if (best < 0 || d < best) best = d;
  };
  for (const auto& [p, a] : accum_)
    if (a.builder) consider(a.first_ms + s_.linger_ms);
  for (const auto& b : ready_)
    if (b.not_before_ms > now) consider(b.not_before_ms);
  for (const auto& b : retry_) consider(b.not_before_ms);
  return static_cast<int>(best);
}

void Producer::send_ready() {
  while (!retry_.empty()) {
    ready_.push_front(std::move(retry_.back()));
    retry_.pop_back();
  }
  if (ready_.empty()) return;
  int64_t now = wall_clock_ms();
  std::map<int32_t, std::vector<size_t>> by_leader;  // leader -> indexes into ready_
  for (size_t i = 0; i < ready_.size(); ++i) {
    if (ready_[i].not_before_ms > now) continue;
    const PartitionInfo* pi = info_.partition(ready_[i].partition);
    int32_t leader = pi ? pi->leader : -1;
    if (leader < 0) {
      refresh();
      return;
    }
    by_leader[leader].push_back(i);
  }
  std::vector<bool> sent(ready_.size(), false);
  for (auto& [leader, idx] : by_leader) {
    Connection* c;
    try {
      c = &client_.broker(leader);
    } catch (const std::exception& e) {
      for (size_t i : idx) ready_[i].not_before_ms = now + s_.retry_backoff_ms;
      last_error_ = e.what();
      refresh_needed_ = true;
      continue;
    }
    size_t k = 0;
    while (k < idx.size() && (s_.acks == 0 || inflight_[c].size() < static_cast<size_t>(s_.max_in_flight))) {
      // One request: at most one batch per partition, within max.request.size.
      std::vector<size_t> chosen;
      std::set<int32_t> parts;
      size_t total = 0;
      std::vector<size_t> rest;
      for (; k < idx.size(); ++k) {
        const Batch& b = ready_[idx[k]];
        if (parts.count(b.partition) || (!chosen.empty() && total + b.bytes.size() > static_cast<size_t>(s_.max_request_size))) {
          rest.push_back(idx[k]);
          continue;
        }
        chosen.push_back(idx[k]);
        parts.insert(b.partition);
        total += b.bytes.size();
      }
      // Unchosen ones go back to the front of the list for the next request.
      std::vector<size_t> remaining = rest;
      idx.assign(remaining.begin(), remaining.end());
      k = 0;
      if (chosen.empty()) break;
      InFlight f;
      f.sent_ms = wall_clock_ms();
      std::vector<std::pair<int32_t, std::span<const uint8_t>>> batches;
      for (size_t i : chosen) batches.emplace_back(ready_[i].partition, ready_[i].bytes);
      msg::ProduceRequest req = make_produce_request(topic_, s_.acks, s_.request_timeout_ms, batches);
      try {
        int16_t v = c->version_for(msg::ProduceRequest::kApiKey);
        c->send(req, v, s_.acks != 0);
      } catch (const NetworkError& e) {
        last_error_ = e.what();
        fail_connection(c);
        for (size_t i : chosen) ready_[i].not_before_ms = wall_clock_ms() + s_.retry_backoff_ms;
        break;
      }
      for (size_t i : chosen) {
        sent[i] = true;
        f.batches.push_back(std::move(ready_[i]));
      }
      if (s_.acks != 0) inflight_[c].push_back(std::move(f));
    }
  }
  std::deque<Batch> keep;
  for (size_t i = 0; i < ready_.size(); ++i)
    if (!sent[i]) keep.push_back(std::move(ready_[i]));
  ready_.swap(keep);
}

std::vector<pollfd> Producer::response_fds() const {
  std::vector<pollfd> fds;
  for (const auto& [c, q] : inflight_)
    if (!q.empty()) fds.push_back(pollfd{c->fd(), POLLIN, 0});
  return fds;
}

void Producer::on_readable(int fd) {
  for (auto& [c, q] : inflight_) {
    if (c->fd() != fd || q.empty()) continue;
    handle_one(c);
    return;
  }
}

void Producer::wait_all() {
  for (;;) {
    Connection* c = nullptr;
    for (auto& [conn, q] : inflight_)
      if (!q.empty()) c = conn;
    if (!c) return;
    handle_one(c);
  }
}

void Producer::send_now() {
  expire(true);
  send_ready();
  wait_all();
  while (has_ready()) {
    maybe_refresh();
    int t = next_timeout_ms();
    if (t > 0) std::this_thread::sleep_for(std::chrono::milliseconds(t));
    send_ready();
    wait_all();
  }
}

void Producer::drain() {
  expire(true);
  for (int guard = 0; !idle() && guard < 100000; ++guard) {
    send_ready();
    wait_all();
    maybe_refresh();
    if (has_ready()) {
      int t = next_timeout_ms();
      if (t > 0) std::this_thread::sleep_for(std::chrono::milliseconds(t));
    }
  }
}

bool Producer::idle() const {
  for (const auto& [p, a] : accum_)
    if (a.builder) return false;
  if (!ready_.empty() || !retry_.empty()) return false;
  for (const auto& [c, q] : inflight_)
    if (!q.empty()) return false;
  return true;
}

void Producer::seal(int32_t p) {
  auto it = accum_.find(p);
  if (it == accum_.end() || !it->second.builder) return;
  Batch b;
  b.partition = p;
  b.records = static_cast<int32_t>(it->second.builder->record_count());
  b.bytes = it->second.builder->build();
  b.created_ms = it->second.first_ms;
  bool sticky = it->second.null_key_sticky;
  accum_.erase(it);
  ready_.push_back(std::move(b));
  if (sticky) sticky_.next_batch(static_cast<int32_t>(info_.partitions.size()));
}

void Producer::refresh() {
  refresh_needed_ = false;
  try {
    info_ = client_.wait_for_topic(topic_, static_cast<int>(std::max<int64_t>(s_.request_timeout_ms, 5000)), true);
  } catch (const std::exception& e) {
    last_error_ = e.what();
  }
}

void Producer::fail_connection(Connection* c) {
  auto it = inflight_.find(c);
  if (it != inflight_.end()) {
    for (auto& f : it->second)
      for (auto& b : f.batches) retry_or_fail(std::move(b), code(ErrorCode::NETWORK_EXCEPTION), last_error_);
    inflight_.erase(it);
  }
  client_.drop(*c);
  refresh_needed_ = true;
}

void Producer::retry_or_fail(Batch b, int16_t err, const std::string& message) {
  int64_t now = wall_clock_ms();
  if (is_retriable(err) && b.attempts < s_.retries && now - b.created_ms < s_.delivery_timeout_ms) {
    ++b.attempts;
    b.not_before_ms = now + s_.retry_backoff_ms;
    retry_.push_back(std::move(b));
    refresh_needed_ = true;
    return;
  }
  ++errors_;
  if (events_.batch_failed) events_.batch_failed(b.partition, b.records, message);
}

void Producer::handle_one(Connection* c) {
  auto& q = inflight_[c];
  ResponseFrame f;
  try {
    f = c->receive();
  } catch (const NetworkError& e) {
    last_error_ = e.what();
    fail_connection(c);
    return;
  }
  InFlight fl = std::move(q.front());
  q.pop_front();
  msg::ProduceResponse resp;
  try {
    resp = f.decode<msg::ProduceResponse>();
  } catch (const std::exception& e) {
    for (auto& b : fl.batches) retry_or_fail(std::move(b), code(ErrorCode::UNKNOWN_SERVER_ERROR), std::string("Bad produce response: ") + e.what());
    return;
  }
  for (auto& b : fl.batches) {
    int16_t err = code(ErrorCode::UNKNOWN_SERVER_ERROR);
    std::string message = "The produce response has no result for partition " + std::to_string(b.partition);
    for (const auto& t : resp.responses)
      for (const auto& p : t.partition_responses)
        if (p.index == b.partition) {
          err = p.error_code;
          message = error_text(p.error_code, p.error_message);
        }
    if (err == 0) continue;
    retry_or_fail(std::move(b), err, message);
  }
}

}  // namespace flotilla::client
