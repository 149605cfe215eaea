#include "storage/txn_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "common/bytes.h"
#include "storage/log_files.h"

namespace flotilla::storage {

namespace fs = std::filesystem;

void TxnIndex::encode(const AbortedTxn& t, uint8_t* out) {
  store_be16(out, static_cast<uint16_t>(kVersion));
  store_be64(out + 2, static_cast<uint64_t>(t.producer_id));
  store_be64(out + 10, static_cast<uint64_t>(t.first_offset));
  store_be64(out + 18, static_cast<uint64_t>(t.last_offset));
  store_be64(out + 26, static_cast<uint64_t>(t.last_stable_offset));
}

AbortedTxn TxnIndex::decode(const uint8_t* in) {
  AbortedTxn t;
  t.producer_id = static_cast<int64_t>(load_be64(in + 2));
  t.first_offset = static_cast<int64_t>(load_be64(in + 10));
  t.last_offset = static_cast<int64_t>(load_be64(in + 18));
  t.last_stable_offset = static_cast<int64_t>(load_be64(in + 26));
  return t;
}

std::vector<AbortedTxn> TxnIndex::decode_all(std::span<const uint8_t> data) {
  std::vector<AbortedTxn> out;
  for (size_t pos = 0; pos + kEntrySize <= data.size(); pos += kEntrySize) out.push_back(decode(data.data() + pos));
  return out;
}

std::vector<AbortedTxn> TxnIndex::read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_all(data);
}

TxnIndex::TxnIndex(std::string path, bool listed) : path_(std::move(path)), file_(path_, O_RDWR | O_CREAT) {
  std::error_code ec;
  if (!listed || !fs::exists(path_, ec)) return;
  entries_ = read_file(path_);
  auto size = fs::file_size(path_, ec);
  if (!ec && size != entries_.size() * kEntrySize) {  // a torn trailing entry
    if (::ftruncate(file_.acquire()->fd, static_cast<off_t>(entries_.size() * kEntrySize)) != 0)
      throw StorageError("cannot truncate " + path_ + ": " + std::strerror(errno));
  }
}

TxnIndex::~TxnIndex() = default;

void TxnIndex::append(const AbortedTxn& t) {
  std::lock_guard<std::mutex> g(mu_);
  if (!entries_.empty() && t.last_offset <= entries_.back().last_offset) return;
  const auto file = file_.acquire();
  const int fd = file->fd;
  uint8_t buf[kEntrySize];
  encode(t, buf);
  const off_t at = static_cast<off_t>(entries_.size() * kEntrySize);
  size_t done = 0;
  while (done < kEntrySize) {
    ssize_t w = ::pwrite(fd, buf + done, kEntrySize - done, at + static_cast<off_t>(done));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw StorageError("write to " + path_ + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  entries_.push_back(t);
  dirty_ = true;
}

void TxnIndex::truncate_to(int64_t offset) {
  std::lock_guard<std::mutex> g(mu_);
  size_t keep = entries_.size();
  while (keep > 0 && entries_[keep - 1].last_offset >= offset) --keep;
  if (keep == entries_.size()) return;
  entries_.resize(keep);
  if (::ftruncate(file_.acquire()->fd, static_cast<off_t>(keep * kEntrySize)) != 0)
    throw StorageError("cannot truncate " + path_ + ": " + std::strerror(errno));
  dirty_ = true;
}

void TxnIndex::reset(std::vector<AbortedTxn> entries) {
  std::lock_guard<std::mutex> g(mu_);
  file_.close_cached();  // the path is replaced (or removed) below
  entries_ = std::move(entries);
  if (entries_.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
    return;
  }
  std::string content(entries_.size() * kEntrySize, '\0');
  for (size_t i = 0; i < entries_.size(); ++i) encode(entries_[i], reinterpret_cast<uint8_t*>(content.data()) + i * kEntrySize);
  write_file_atomically(path_, content, Durability::Synced);
  dirty_ = false;
}

void TxnIndex::flush() {
  std::lock_guard<std::mutex> g(mu_);
  if (!dirty_) return;
  // A reopened descriptor syncs what an evicted one wrote (the page cache is the file's).
  if (::fdatasync(file_.acquire()->fd) != 0) throw StorageError("fdatasync of " + path_ + ": " + std::strerror(errno));
  dirty_ = false;
}

void TxnIndex::remove_file() {
  std::lock_guard<std::mutex> g(mu_);
  file_.close_cached();
  entries_.clear();
  dirty_ = false;
  std::error_code ec;
  fs::remove(path_, ec);
}

std::vector<AbortedTxn> TxnIndex::entries() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_;
}

bool TxnIndex::empty() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.empty();
}

TxnIndex::SearchResult TxnIndex::collect(int64_t fetch_offset, int64_t upper_bound) const {
  std::lock_guard<std::mutex> g(mu_);
  SearchResult r;
  for (const auto& t : entries_) {
    if (t.last_offset >= fetch_offset && t.first_offset < upper_bound) r.aborted.push_back(t);
    if (t.last_stable_offset >= upper_bound) {
      r.complete = true;
      break;
    }
  }
  return r;
}

}  // namespace flotilla::storage
