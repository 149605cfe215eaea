// ReplicaManager's purgatory: requests that wait on partitions — Produce
// with acks=all (the high watermark), Fetch (min.bytes of data), DeleteRecords
// (the low watermark) — keyed by topic-partition. Whatever changes a
// partition (an append, the high watermark, a role change, a deletion) wakes
// its key, and each waiter there tries to complete; the deadline timer
// expires the rest.
//
// Invariants: an operation completes or expires exactly once (`done`); the
// watcher lists hold weak references, so a completed operation is freed at
// once and its stale entries are dropped as they are met (and swept when the
// lists outgrow the live operations); after shutdown, a new operation expires
// at once.
//
// Threading: the broker's io_context thread, as the callbacks it runs.
#include "broker/replica_manager.h"

#include <algorithm>

#include "common/clock.h"

namespace flotilla::broker {

void ReplicaManager::delay(int64_t deadline_ms, std::vector<std::string> keys, std::function<bool()> try_complete,
                           std::function<void()> expire) {
  if (stopped_) {
    expire();
    return;
  }
  auto d = std::make_shared<Delayed>(Delayed{deadline_ms, std::move(try_complete), std::move(expire)});
  for (auto& k : keys) watchers_[k].push_back(d);
  delayed_.emplace(deadline_ms, d);
  if (deadline_ms < delay_timer_at_) arm_delay_timer();
}

void ReplicaManager::wake(const std::string& k) {
  auto it = watchers_.find(k);
  if (it == watchers_.end()) return;
  std::vector<std::weak_ptr<Delayed>> list = std::move(it->second);
  watchers_.erase(it);
  std::vector<std::weak_ptr<Delayed>> keep;
  for (auto& w : list) {
    auto d = w.lock();
    if (!d || d->done) continue;
    if (d->try_complete()) {
      d->done = true;
      continue;
    }
    keep.push_back(std::move(w));
  }
  if (!keep.empty()) {
    auto& slot = watchers_[k];
    slot.insert(slot.end(), std::make_move_iterator(keep.begin()), std::make_move_iterator(keep.end()));
  }
}

void ReplicaManager::arm_delay_timer() {
  while (!delayed_.empty() && delayed_.begin()->second->done) delayed_.erase(delayed_.begin());
  if (delayed_.empty()) {
    delay_timer_at_ = INT64_MAX;
    delay_timer_.cancel();
    return;
  }
  int64_t at = delayed_.begin()->first;
  delay_timer_at_ = at;
  delay_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, at - monotonic_ms())));
  auto alive = alive_;
  delay_timer_.async_wait([this, alive, at](const asio::error_code& ec) {
    if (ec || !*alive || at != delay_timer_at_) return;
    on_delay_timer();
  });
}

void ReplicaManager::on_delay_timer() {
  int64_t now = monotonic_ms();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    auto d = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    if (d->done) continue;
    d->done = true;
    d->expire();
  }
  // Drop finished entries so the map and the watcher lists don't grow.
  for (auto it = delayed_.begin(); it != delayed_.end();) it = it->second->done ? delayed_.erase(it) : std::next(it);
  if (watchers_.size() > 4 * (delayed_.size() + 16)) {
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      auto& v = it->second;
      v.erase(std::remove_if(v.begin(), v.end(), [](const std::weak_ptr<Delayed>& w) { auto d = w.lock(); return !d || d->done; }), v.end());
      it = v.empty() ? watchers_.erase(it) : std::next(it);
    }
  }
  delay_timer_at_ = INT64_MAX;
  arm_delay_timer();
}

}  // namespace flotilla::broker
