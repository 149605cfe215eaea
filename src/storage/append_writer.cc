#include "storage/append_writer.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "storage/log.h"

namespace flotilla::storage {

namespace {

// Claims and performs `w`; false if another thread claimed it first.
bool claim_and_write(PendingWrite& w) {
  int expected = 0;
  if (!w.state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) return false;
  w.error = pwrite_fully(w.file->fd, w.data, w.size, w.position);
  w.state.store(2, std::memory_order_release);
  w.state.notify_all();
  return true;
}

}  // namespace

int pwrite_fully(int fd, const uint8_t* p, size_t n, int64_t off) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, p, n, off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return 0;
}

void AppendWriter::write_or_wait(PendingWrite& w) {
  if (claim_and_write(w)) return;
  for (int s = w.state.load(std::memory_order_acquire); s != 2; s = w.state.load(std::memory_order_acquire)) w.state.wait(s);
}

AppendWriter::AppendWriter(int threads) {
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

AppendWriter::~AppendWriter() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void AppendWriter::submit(std::shared_ptr<WriteBatch> batch, std::function<void()> on_written) {
  {
    std::lock_guard<std::mutex> g(mu_);
    queue_.push_back(Job{std::move(batch), std::move(on_written)});
  }
  cv_.notify_one();
}

void AppendWriter::run() {
  pthread_setname_np(pthread_self(), "append-writer");
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    for (const auto& w : job.batch->writes) claim_and_write(*w);  // one a log drained itself is skipped
    if (job.on_written) job.on_written();
  }
}

}  // namespace flotilla::storage
