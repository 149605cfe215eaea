#include "storage/log_cleaner.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "common/clock.h"
#include "common/crc32c.h"
#include "protocol/compression.h"
#include "storage/file_io.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;
using records::kHeaderSize;
using records::kLogOverhead;

namespace {

struct Aborted {};

void write_full(int fd, const uint8_t* p, size_t n, const fs::path& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw StorageError("write to " + path.string() + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Calls f(header, whole batch bytes) for each batch of a segment file, in order.
template <class F>
void for_each_segment_batch(const SegmentView& s, const std::atomic<bool>& abort, F&& f) {
  std::vector<uint8_t> buf;
  uint8_t hb[kHeaderSize];
  const auto file = s.file->acquire();  // pinned while this segment is read
  const int fd = file->fd;
  for (int64_t pos = 0; pos + static_cast<int64_t>(kHeaderSize) <= s.size;) {
    if (abort.load()) throw Aborted{};
    BatchHeader h;
    if (!pread_fully(fd, hb, kHeaderSize, pos) || !records::parse_header(std::span<const uint8_t>(hb, kHeaderSize), h) ||
        h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead) || pos + h.total_size() > s.size)
      throw StorageError("unreadable batch at position " + std::to_string(pos) + " of segment " + std::to_string(s.base_offset));
    buf.resize(static_cast<size_t>(h.total_size()));
    if (!pread_fully(fd, buf.data(), buf.size(), pos)) throw StorageError("short read of segment " + std::to_string(s.base_offset));
    f(h, std::span<const uint8_t>(buf));
    pos += h.total_size();
  }
}

struct RawRecord {
  size_t begin = 0, end = 0;  // the record's bytes (with its length prefix) in the records body
  int64_t offset = 0;
  int64_t timestamp = 0;
  bool has_key = false;
  std::string_view key;
  bool null_value = false;
};

// The records of a batch body (decompressed), as slices of it.
std::vector<RawRecord> parse_records(const BatchHeader& h, std::span<const uint8_t> body) {
  std::vector<RawRecord> out;
  out.reserve(static_cast<size_t>(std::max(0, std::min(h.records_count, 1 << 20))));
  ByteReader r(body);
  for (int32_t i = 0; i < h.records_count; ++i) {
    RawRecord rr;
    rr.begin = r.position();
    int32_t len = r.get_varint();
    if (len < 0) throw DecodeError("negative record length");
    ByteReader rec(r.get_span(static_cast<size_t>(len)));
    rr.end = r.position();
    rec.get_i8();
    rr.timestamp = h.base_timestamp + rec.get_varlong();
    rr.offset = h.base_offset + rec.get_varint();
    int32_t klen = rec.get_varint();
    if (klen >= 0) {
      auto k = rec.get_span(static_cast<size_t>(klen));
      rr.has_key = true;
      rr.key = std::string_view(reinterpret_cast<const char*>(k.data()), k.size());
    }
    int32_t vlen = rec.get_varint();
    rr.null_value = vlen < 0;
    out.push_back(rr);
  }
  return out;
}

// The aborted transactions of a log (from its segments' .txnindex entries),
// per producer: a data batch of that producer inside [first_offset,
// last_offset] belongs to an aborted transaction (a producer writes nothing
// but its transaction's batches until the marker).
class AbortedRanges {
 public:
  explicit AbortedRanges(const std::vector<SegmentView>& views) {
    for (const auto& v : views)
      for (const auto& t : v.aborted_txns) by_producer_[t.producer_id].emplace_back(t.first_offset, t.last_offset);
  }
  // Invariant used: one producer's transactions do not overlap and its
  // entries come in marker order, so each vector is sorted by last offset.
  bool contains(const BatchHeader& h) const {
    if (h.is_control() || h.producer_id < 0 || !h.is_transactional()) return false;
    auto it = by_producer_.find(h.producer_id);
    if (it == by_producer_.end()) return false;
    const auto& ranges = it->second;
    auto r = std::lower_bound(ranges.begin(), ranges.end(), h.base_offset,
                              [](const std::pair<int64_t, int64_t>& range, int64_t o) { return range.second < o; });
    return r != ranges.end() && r->first <= h.base_offset;
  }

 private:
  std::unordered_map<int64_t, std::vector<std::pair<int64_t, int64_t>>> by_producer_;
};

// Kafka's DefaultRecordBatch.writeEmptyHeader: a batch that keeps a header
// (offsets, producer id/epoch/base sequence, partition leader epoch, flags)
// and no records; uncompressed, both timestamps = the original max timestamp.
std::vector<uint8_t> empty_batch_like(const BatchHeader& h, std::span<const uint8_t> batch) {
  std::vector<uint8_t> nb(kHeaderSize);
  std::memcpy(nb.data(), batch.data(), kHeaderSize);
  store_be32(nb.data() + 8, static_cast<uint32_t>(kHeaderSize - kLogOverhead));
  store_be16(nb.data() + records::kAttributesOffset,
             static_cast<uint16_t>(h.attributes & (records::kTimestampTypeBit | records::kTransactionalBit | records::kControlBit)));
  store_be64(nb.data() + 27, static_cast<uint64_t>(h.max_timestamp));
  store_be64(nb.data() + 35, static_cast<uint64_t>(h.max_timestamp));
  store_be32(nb.data() + 57, 0);
  store_be32(nb.data() + records::kCrcOffset, crc32c(nb.data() + records::kAttributesOffset, nb.size() - records::kAttributesOffset));
  return nb;
}

}  // namespace

std::vector<int32_t> records_without_key(std::span<const uint8_t> batches) {
  std::vector<int32_t> found;
  records::for_each_batch(batches, [&](const BatchHeader& h, std::span<const uint8_t> batch) {
    if (h.is_control()) return;
    std::span<const uint8_t> body = batch.subspan(kHeaderSize);
    std::vector<uint8_t> inflated;
    if (h.compression() != records::Compression::NONE) {
      inflated = records::decompress(h.compression(), body);
      body = inflated;
    }
    int32_t index = 0;
    for (const auto& r : parse_records(h, body)) {
      if (!r.has_key) found.push_back(index);
      ++index;
    }
  });
  return found;
}

struct LogCleaner::Plan {
  LogConfig cfg;
  std::vector<SegmentView> views;
  uint64_t epoch = 0;
  size_t d0 = 0, d1 = 0;  // dirty segments [d0, d1)
  double ratio = 0;
  bool forced = false;  // max.compaction.lag.ms
};

LogCleaner::LogCleaner(CleanerConfig config) : config_(std::move(config)) {}

LogCleaner::~LogCleaner() { stop(); }

int64_t LogCleaner::now() const { return config_.clock ? config_.clock() : wall_clock_ms(); }

void LogCleaner::start() {
  if (!config_.enable || !threads_.empty()) return;
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = false;
  }
  for (int i = 0; i < std::max(1, config_.threads); ++i) threads_.emplace_back([this] { run(); });
  spdlog::info("[LogCleaner] Started {} cleaner thread(s), backoff {} ms", threads_.size(), config_.backoff_ms);
}

void LogCleaner::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
    for (auto& [l, e] : logs_) e->abort = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> g(mu_);
  for (auto& [l, e] : logs_) e->abort = false;
}

void LogCleaner::run() {
  while (true) {
    bool cleaned = false;
    try {
      cleaned = clean_once();
    } catch (const std::exception& e) {
      spdlog::error("[LogCleaner] Cleaning failed: {}", e.what());
    }
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_) return;
    if (!cleaned) cv_.wait_for(lk, std::chrono::milliseconds(config_.backoff_ms), [this] { return stopping_; });
    if (stopping_) return;
  }
}

void LogCleaner::add_log(const std::string& topic, int32_t partition, Log* log) {
  std::lock_guard<std::mutex> g(mu_);
  if (logs_.count(log)) return;
  auto e = std::make_unique<Entry>();
  e->topic = topic;
  e->partition = partition;
  e->log = log;
  e->log_dir = log->dir_string().substr(0, log->dir_string().rfind('/'));
  if (!checkpoints_.count(e->log_dir)) {
    try {
      checkpoints_[e->log_dir] = read_offset_checkpoint(fs::path(e->log_dir) / kCheckpointFile);
    } catch (const std::exception& ex) {
      spdlog::warn("[LogCleaner] Ignoring {}: {}", (fs::path(e->log_dir) / kCheckpointFile).string(), ex.what());
      checkpoints_[e->log_dir];
    }
  }
  logs_[log] = std::move(e);
}

void LogCleaner::remove_log(Log* log) {
  std::unique_lock<std::mutex> lk(mu_);
  auto it = logs_.find(log);
  if (it == logs_.end()) return;
  it->second->abort = true;
  cv_.wait(lk, [&] { return !it->second->in_progress; });
  checkpoints_[it->second->log_dir].erase({it->second->topic, it->second->partition});
  logs_.erase(it);
}

int64_t LogCleaner::checkpoint(const std::string& topic, int32_t partition) const {
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& [dir, offsets] : checkpoints_)
    if (auto it = offsets.find({topic, partition}); it != offsets.end()) return it->second;
  return -1;
}

CleanerStats LogCleaner::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

// Under mu_.
bool LogCleaner::plan(Entry& e, Plan& p) {
  p.cfg = e.log->config_copy();
  if (!p.cfg.cleanup_compact) return false;
  p.epoch = e.log->change_epoch();
  p.views = e.log->segment_views();
  const auto& v = p.views;
  if (v.size() < 2) return false;
  int64_t t = now();
  int64_t first_dirty = v.front().base_offset;
  auto& cps = checkpoints_[e.log_dir];
  if (auto it = cps.find({e.topic, e.partition}); it != cps.end() && it->second >= v.front().base_offset && it->second <= v.back().next_offset)
    first_dirty = it->second;
  // Never at or past the high watermark or the first unstable offset (an
  // undecided transaction's records must stay as written until its marker).
  int64_t limit = std::min(v.back().base_offset, e.log->first_uncleanable_offset());
  if (p.cfg.min_compaction_lag_ms > 0)
    for (const auto& s : v)
      if (s.max_timestamp > t - p.cfg.min_compaction_lag_ms) {
        limit = std::min(limit, s.base_offset);
        break;
      }
  size_t d0 = 0;
  while (d0 < v.size() && v[d0].next_offset <= first_dirty && v[d0].base_offset < first_dirty) ++d0;
  size_t d1 = d0;
  while (d1 + 1 < v.size() && v[d1].next_offset <= limit) ++d1;
  if (d1 <= d0) return false;
  int64_t clean_bytes = 0, dirty_bytes = 0;
  for (size_t i = 0; i < d0; ++i) clean_bytes += v[i].size;
  for (size_t i = d0; i < d1; ++i) dirty_bytes += v[i].size;
  if (dirty_bytes == 0) return false;
  p.d0 = d0;
  p.d1 = d1;
  p.ratio = static_cast<double>(dirty_bytes) / static_cast<double>(clean_bytes + dirty_bytes);
  p.forced = p.cfg.max_compaction_lag_ms < INT64_MAX && v[d0].first_timestamp >= 0 && t - v[d0].first_timestamp > p.cfg.max_compaction_lag_ms;
  return p.ratio >= p.cfg.min_cleanable_dirty_ratio || p.forced;
}

bool LogCleaner::clean_once() {
  Entry* chosen = nullptr;
  Plan best;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_ && !threads_.empty()) return false;
    for (auto& [log, e] : logs_) {
      if (e->in_progress || e->abort) continue;
      Plan p;
      if (!plan(*e, p)) continue;
      if (!chosen || (p.forced && !best.forced) || (p.forced == best.forced && p.ratio > best.ratio)) {
        chosen = e.get();
        best = std::move(p);
      }
    }
    if (!chosen) return false;
    chosen->in_progress = true;
  }
  bool ok = false;
  try {
    ok = clean(*chosen, best);
  } catch (const Aborted&) {
    spdlog::info("[LogCleaner] Cleaning of {}-{} aborted", chosen->topic, chosen->partition);
  } catch (...) {
    std::lock_guard<std::mutex> g(mu_);
    chosen->in_progress = false;
    ++stats_.aborted;
    cv_.notify_all();
    throw;
  }
  std::lock_guard<std::mutex> g(mu_);
  chosen->in_progress = false;
  if (!ok) ++stats_.aborted;
  cv_.notify_all();
  return ok;
}

bool LogCleaner::clean(Entry& e, Plan& p) {
  const auto& v = p.views;
  const int64_t t = now();
  const int64_t started = monotonic_ms();
  CleanerStats st;
  // 1. key → last offset over the dirty range, whole segments while the map fits.
  std::unordered_map<std::string, int64_t> map;
  size_t budget = static_cast<size_t>(std::max<int64_t>(config_.dedupe_buffer_size / std::max(1, config_.threads), 1 << 20));
  size_t used = 0;
  size_t end = p.d0;
  std::vector<uint8_t> inflated;
  // Aborted transactions' records are invisible: they neither shadow older
  // values in the map nor survive the rewrite.
  const AbortedRanges aborted(v);
  // Each producer's last data batch stays (possibly emptied), so that its
  // sequence and epoch survive a reload of the producer state from the log.
  const std::unordered_map<int64_t, int64_t> last_batches = e.log->producer_last_batch_offsets();
  for (size_t k = p.d0; k < p.d1; ++k) {
    for_each_segment_batch(v[k], e.abort, [&](const BatchHeader& h, std::span<const uint8_t> batch) {
      st.bytes_read += h.total_size();
      if (h.is_control() || aborted.contains(h)) return;
      std::span<const uint8_t> body = batch.subspan(kHeaderSize);
      if (h.compression() != records::Compression::NONE) {
        inflated = records::decompress(h.compression(), body);
        body = inflated;
      }
      for (const auto& r : parse_records(h, body)) {
        if (!r.has_key) continue;
        auto [it, fresh] = map.try_emplace(std::string(r.key), r.offset);
        if (fresh) used += r.key.size() + 64;
        else it->second = r.offset;
      }
    });
    end = k + 1;
    if (used >= budget) break;
  }
  const int64_t dirty_end = v[end].base_offset;
  const int64_t first_dirty = v[p.d0].base_offset;

  // 2. Rewrite [log start, dirty_end) in groups.
  size_t k = 0, groups = 0;
  while (k < end) {
    ++groups;
    size_t g0 = k;
    int64_t bytes = v[k].size;
    int64_t index_bytes = static_cast<int64_t>(v[k].index_entries) * 8;
    ++k;
    while (k < end && bytes + v[k].size <= p.cfg.segment_bytes && index_bytes + static_cast<int64_t>(v[k].index_entries) * 8 < p.cfg.max_index_bytes &&
           v[k].next_offset - 1 - v[g0].base_offset <= INT32_MAX) {
      bytes += v[k].size;
      index_bytes += static_cast<int64_t>(v[k].index_entries) * 8;
      ++k;
    }
    fs::path cleaned = e.log->dir() / (offset_file_name(v[g0].base_offset, ".log") + ".cleaned");
    int fd = ::open(cleaned.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw StorageError("cannot create " + cleaned.string() + ": " + std::strerror(errno));
    int64_t last_modified = 0;
    try {
      std::vector<uint8_t> out;
      for (size_t s = g0; s < k; ++s) {
        last_modified = std::max(last_modified, v[s].last_modified_ms);
        // Tombstones go once their segment was cleaned before and is older than delete.retention.ms.
        bool drop_tombstones = v[s].next_offset <= first_dirty && v[s].last_modified_ms + p.cfg.delete_retention_ms < t;
        for_each_segment_batch(v[s], e.abort, [&](const BatchHeader& h, std::span<const uint8_t> batch) {
          if (s < p.d0) st.bytes_read += h.total_size();  // dirty ones were counted by the map pass
          // Markers always stay: they end transactions (producer state,
          // read_committed consumers) and their .txnindex entries stay valid.
          if (h.is_control()) {
            write_full(fd, batch.data(), batch.size(), cleaned);
            st.bytes_written += static_cast<int64_t>(batch.size());
            return;
          }
          const bool discard_all = aborted.contains(h);
          bool producer_last = false;
          if (h.producer_id >= 0)
            if (auto it = last_batches.find(h.producer_id); it != last_batches.end()) producer_last = it->second == h.last_offset();
          std::span<const uint8_t> body = batch.subspan(kHeaderSize);
          if (h.compression() != records::Compression::NONE) {
            inflated = records::decompress(h.compression(), body);
            body = inflated;
          }
          auto recs = parse_records(h, body);
          st.records_read += static_cast<int64_t>(recs.size());
          out.clear();
          int32_t kept = 0;
          int64_t max_ts = -1;
          for (const auto& r : recs) {
            bool keep = r.has_key && !discard_all;
            if (keep) {
              auto it = map.find(std::string(r.key));
              keep = it == map.end() || r.offset >= it->second;
            }
            if (keep && r.null_value && drop_tombstones) keep = false;
            if (!keep) continue;
            out.insert(out.end(), body.begin() + static_cast<long>(r.begin), body.begin() + static_cast<long>(r.end));
            ++kept;
            max_ts = std::max(max_ts, r.timestamp);
          }
          st.records_removed += static_cast<int64_t>(recs.size()) - kept;
          // Nothing left (an emptied batch included): dropped, unless it is
          // its producer's last batch.
          if (kept == 0) {
            if (producer_last) {  // Kafka's RETAIN_EMPTY
              std::vector<uint8_t> nb = empty_batch_like(h, batch);
              write_full(fd, nb.data(), nb.size(), cleaned);
              st.bytes_written += static_cast<int64_t>(nb.size());
            }
            return;
          }
          if (kept == static_cast<int32_t>(recs.size())) {
            write_full(fd, batch.data(), batch.size(), cleaned);
            st.bytes_written += static_cast<int64_t>(batch.size());
            return;
          }
          // A batch with its surviving records: same base offset, lastOffsetDelta,
          // timestamps base, producer fields and codec; new length, count, CRC.
          std::vector<uint8_t> payload =
              h.compression() != records::Compression::NONE ? records::compress(h.compression(), out) : std::move(out);
          std::vector<uint8_t> nb(kHeaderSize + payload.size());
          std::memcpy(nb.data(), batch.data(), kHeaderSize);
          std::memcpy(nb.data() + kHeaderSize, payload.data(), payload.size());
          store_be32(nb.data() + 8, static_cast<uint32_t>(nb.size() - kLogOverhead));
          if (!h.log_append_time() && max_ts >= 0) store_be64(nb.data() + 35, static_cast<uint64_t>(max_ts));
          store_be32(nb.data() + 57, static_cast<uint32_t>(kept));
          store_be32(nb.data() + records::kCrcOffset,
                     crc32c(nb.data() + records::kAttributesOffset, nb.size() - records::kAttributesOffset));
          write_full(fd, nb.data(), nb.size(), cleaned);
          st.bytes_written += static_cast<int64_t>(nb.size());
          out = std::vector<uint8_t>();
        });
      }
      // The cleaned segment keeps the newest modification time of its sources.
      struct timespec times[2];
      times[0].tv_sec = 0;
      times[0].tv_nsec = UTIME_OMIT;
      times[1].tv_sec = last_modified / 1000;
      times[1].tv_nsec = (last_modified % 1000) * 1000000;
      ::futimens(fd, times);
      if (::fdatasync(fd) != 0) throw StorageError("fdatasync of " + cleaned.string() + ": " + std::strerror(errno));
      ::close(fd);
    } catch (...) {
      ::close(fd);
      std::error_code ec;
      fs::remove(cleaned, ec);
      throw;
    }
    if (e.abort.load()) {
      std::error_code ec;
      fs::remove(cleaned, ec);
      throw Aborted{};
    }
    if (!e.log->replace_segments(v[g0].base_offset, k - g0, cleaned, p.epoch)) {
      spdlog::info("[LogCleaner] {}-{} changed while being cleaned; cleaning aborted", e.topic, e.partition);
      return false;
    }
  }
  // Make the renames durable before the checkpoint says the range is clean.
  int dfd = ::open(e.log->dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  {
    std::lock_guard<std::mutex> g(mu_);
    if (e.abort.load()) return false;
    checkpoints_[e.log_dir][{e.topic, e.partition}] = dirty_end;
    write_checkpoint(e.log_dir);
    ++stats_.cleanings;
    stats_.records_read += st.records_read;
    stats_.records_removed += st.records_removed;
    stats_.bytes_read += st.bytes_read;
    stats_.bytes_written += st.bytes_written;
  }
  spdlog::info("[LogCleaner] Cleaned {}-{} up to offset {} (dirty ratio {:.2f}): {} segment(s) into {}, {} of {} records removed, "
               "{} -> {} bytes, {} ms",
               e.topic, e.partition, dirty_end, p.ratio, end, groups, st.records_removed, st.records_read, st.bytes_read, st.bytes_written,
               monotonic_ms() - started);
  return true;
}

// Under mu_.
void LogCleaner::write_checkpoint(const std::string& log_dir) {
  try {
    write_offset_checkpoint(fs::path(log_dir) / kCheckpointFile, checkpoints_[log_dir]);
  } catch (const std::exception& ex) {
    spdlog::error("[LogCleaner] Cannot write {}: {}", (fs::path(log_dir) / kCheckpointFile).string(), ex.what());
  }
}

}  // namespace flotilla::storage
