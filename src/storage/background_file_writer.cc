#include "storage/background_file_writer.h"

#include <spdlog/spdlog.h>

#include "storage/log_files.h"

namespace flotilla::storage {

BackgroundFileWriter::BackgroundFileWriter() : thread_([this] { run(); }) {}

BackgroundFileWriter::~BackgroundFileWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundFileWriter::put(const std::string& path, Write write) {
  {
    std::lock_guard lock(mu_);
    auto [it, fresh] = queued_.insert_or_assign(path, std::move(write));
    if (fresh) order_.push_back(path);
  }
  cv_.notify_one();
}

std::optional<BackgroundFileWriter::Write> BackgroundFileWriter::take(const std::string& path) {
  std::unique_lock lock(mu_);
  // A write of this path under way finishes first: the caller's write must be the last.
  done_cv_.wait(lock, [&] { return !writing_.count(path); });
  auto it = queued_.find(path);
  if (it == queued_.end()) return std::nullopt;
  Write w = std::move(it->second);
  queued_.erase(it);  // its order_ entry is skipped when reached
  return w;
}

size_t BackgroundFileWriter::queued() const {
  std::lock_guard lock(mu_);
  return queued_.size();
}

void BackgroundFileWriter::write_now(const std::string& path, const Write& write) {
  try {
    rewrite_file_in_place(path, write.content, write.known_size);
  } catch (const std::exception& ex) {
    spdlog::error("[BackgroundFileWriter] Cannot write {}: {}", path, ex.what());
  }
}

// Pops the oldest queued write and writes it with the lock released. False: nothing queued.
bool BackgroundFileWriter::write_one(std::unique_lock<std::mutex>& lock) {
  while (!order_.empty()) {
    std::string path = std::move(order_.front());
    order_.pop_front();
    auto it = queued_.find(path);
    if (it == queued_.end()) continue;  // taken back by its owner
    if (writing_.count(path)) {
      // Another thread writes an older content of it: this newer one goes after.
      order_.push_back(std::move(path));
      done_cv_.wait(lock);
      continue;
    }
    Write w = std::move(it->second);
    queued_.erase(it);
    writing_.insert(path);
    lock.unlock();
    write_now(path, w);
    lock.lock();
    writing_.erase(path);
    done_cv_.notify_all();
    return true;
  }
  return false;
}

void BackgroundFileWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !order_.empty(); });
    if (order_.empty() && stop_) return;
    write_one(lock);
  }
}

void BackgroundFileWriter::flush() {
  std::unique_lock lock(mu_);
  while (write_one(lock)) {
  }
  done_cv_.wait(lock, [&] { return writing_.empty(); });
}

}  // namespace flotilla::storage
