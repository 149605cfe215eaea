// queued.max.request.bytes: the accounting rules of net/memory_pool.h.
#include "net/memory_pool.h"

#include <algorithm>

namespace flotilla::net {

void MemoryPool::add_waiter(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  waiters_.push_back(std::move(wake));
  waiter_count_.store(waiters_.size(), std::memory_order_release);
}

void MemoryPool::notify_slow() {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    woken.swap(waiters_);
    waiter_count_.store(0, std::memory_order_release);
  }
  for (auto& w : woken) w();
}

int64_t FrameLease::next_capacity(int64_t current) const {
  if (current <= 0) return std::min(size_, MemoryPool::kChunk);
  if (!large_) return size_;
  return std::min(size_, current * 2);
}

bool FrameLease::grow(int64_t n) {
  MemoryPool& p = *pool_;
  auto commit = [&] {
    charged_ += n;
    held_->fetch_add(n, std::memory_order_relaxed);
    return true;
  };
  if (!p.bounded()) {
    p.used_.fetch_add(n, std::memory_order_relaxed);
    return commit();
  }
  // Reserve-then-check keeps the bound with several loop threads charging.
  auto fits_pool = [&] {
    if (p.used_.fetch_add(n, std::memory_order_relaxed) + n <= p.capacity_) return true;
    p.used_.fetch_sub(n, std::memory_order_relaxed);
    return false;
  };
  if (!large_) {
    if (fits_pool()) return commit();
    // The per-connection allowance: the first chunk of a connection holding nothing else.
    if (charged_ + n <= MemoryPool::kChunk && held_->load(std::memory_order_relaxed) == charged_) {
      p.used_.fetch_add(n, std::memory_order_relaxed);
      return commit();
    }
    return false;
  }
  if (!partial_ || token_) return fits_pool() ? commit() : false;
  if (p.large_partial_.fetch_add(n, std::memory_order_relaxed) + n <= p.partial_share()) {
    if (fits_pool()) return commit();
    p.large_partial_.fetch_sub(n, std::memory_order_relaxed);
    return false;
  }
  p.large_partial_.fetch_sub(n, std::memory_order_relaxed);
  // Beyond the share: only the token's holder, within the capacity.
  bool expected = false;
  if (!p.token_.compare_exchange_strong(expected, true)) return false;
  if (!fits_pool()) {
    p.token_.store(false);
    p.notify();
    return false;
  }
  token_ = true;
  p.large_partial_.fetch_sub(charged_, std::memory_order_relaxed);  // its bytes leave the share
  p.notify();
  return commit();
}

void FrameLease::complete() {
  if (!partial_) return;
  partial_ = false;
  MemoryPool& p = *pool_;
  if (large_ && !token_) p.large_partial_.fetch_sub(charged_, std::memory_order_relaxed);
  if (token_) {
    token_ = false;
    p.token_.store(false);
  }
  if (large_) p.notify();
}

void FrameLease::release() {
  if (released_) return;
  complete();
  released_ = true;
  pool_->used_.fetch_sub(charged_, std::memory_order_relaxed);
  held_->fetch_sub(charged_, std::memory_order_relaxed);
  charged_ = 0;
  pool_->notify();
}

}  // namespace flotilla::net
