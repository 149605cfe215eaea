#include "storage/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/crc32c.h"

namespace flotilla::storage {

namespace fs = std::filesystem;
using records::BatchHeader;
using records::kHeaderSize;
using records::kLogOverhead;

FileHandle::~FileHandle() {
  if (fd >= 0) ::close(fd);
}

// One segment: the .log file and its in-memory sparse indexes, mirrored to
// .index and .timeindex. Positions and sizes are in bytes of the .log file.
struct Segment {
  int64_t base_offset = 0;
  fs::path log_path;
  std::shared_ptr<FileHandle> file;
  int index_fd = -1;
  int time_fd = -1;
  int64_t size = 0;
  int64_t next_offset = 0;  // last offset + 1
  std::vector<std::pair<int32_t, int32_t>> index;   // (relative offset, position)
  std::vector<std::pair<int64_t, int32_t>> tindex;  // (timestamp, relative offset)
  int64_t bytes_since_index = 0;
  int64_t max_timestamp = -1;
  int64_t max_timestamp_offset = -1;
  int64_t first_timestamp = -1;
  int64_t created_ms = 0;
  int64_t flushed_size = 0;
  int64_t allocated = 0;  // the file's size when preallocated beyond `size` (zeros), else `size`
  std::unique_ptr<TxnIndex> txn;  // `.txnindex`: the ABORT markers in this segment (never null once listed)

  fs::path path(const char* suffix) const {
    fs::path p = log_path;
    p.replace_extension(suffix);
    return p;
  }
  ~Segment() {
    if (index_fd >= 0) ::close(index_fd);
    if (time_fd >= 0) ::close(time_fd);
  }
};

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& p) {
  throw StorageError(what + " " + p.string() + ": " + std::strerror(errno));
}

void pwrite_all(int fd, const uint8_t* p, size_t n, int64_t off, const fs::path& path) {
  if (int e = pwrite_fully(fd, p, n, off); e != 0) {
    errno = e;
    fail("write to", path);
  }
}

bool pread_all(int fd, uint8_t* p, size_t n, int64_t off) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += r;
  }
  return true;
}

bool read_header(const Segment& s, int64_t pos, BatchHeader& h) {
  uint8_t buf[kHeaderSize];
  if (pos + static_cast<int64_t>(kHeaderSize) > s.size) return false;
  if (!pread_all(s.file->fd, buf, kHeaderSize, pos)) return false;
  return records::parse_header(std::span<const uint8_t>(buf, kHeaderSize), h);
}

void append_index_entry(Segment& s, int64_t offset, int64_t position) {
  int32_t rel = static_cast<int32_t>(offset - s.base_offset);
  s.index.emplace_back(rel, static_cast<int32_t>(position));
  uint8_t e[8];
  store_be32(e, static_cast<uint32_t>(rel));
  store_be32(e + 4, static_cast<uint32_t>(position));
  if (s.index_fd >= 0) pwrite_all(s.index_fd, e, 8, static_cast<int64_t>(s.index.size() - 1) * 8, s.path(".index"));
}

void append_time_entry(Segment& s, int64_t ts, int64_t offset) {
  int32_t rel = static_cast<int32_t>(offset - s.base_offset);
  s.tindex.emplace_back(ts, rel);
  uint8_t e[12];
  store_be64(e, static_cast<uint64_t>(ts));
  store_be32(e + 8, static_cast<uint32_t>(rel));
  if (s.time_fd >= 0) pwrite_all(s.time_fd, e, 12, static_cast<int64_t>(s.tindex.size() - 1) * 12, s.path(".timeindex"));
}

// Records a batch that now sits at `pos` in segment s (indexes, timestamps).
void track_batch(Segment& s, const BatchHeader& h, int64_t pos, int32_t interval) {
  if (s.bytes_since_index >= interval && pos > 0) {
    append_index_entry(s, h.base_offset, pos);
    s.bytes_since_index = 0;
  }
  s.bytes_since_index += h.total_size();
  if (s.first_timestamp < 0) s.first_timestamp = h.max_timestamp;
  if (h.max_timestamp > s.max_timestamp) {
    s.max_timestamp = h.max_timestamp;
    s.max_timestamp_offset = h.last_offset();
    if (s.tindex.empty() || h.max_timestamp > s.tindex.back().first) append_time_entry(s, h.max_timestamp, h.last_offset());
  }
  s.next_offset = h.last_offset() + 1;
}

int open_file(const fs::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot open", p);
  return fd;
}

}  // namespace

std::string offset_file_name(int64_t offset, const std::string& suffix) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(offset));
  return buf + suffix;
}

void write_file_atomically(const fs::path& path, const std::string& content, Durability durability) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0, tmp);
  if (durability == Durability::Synced && ::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync of", tmp);
  }
  ::close(fd);
  fs::rename(tmp, path);
  if (durability != Durability::Synced) return;
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void rewrite_file_in_place(const fs::path& path, const std::string& content) {
  int fd = open_file(path, O_WRONLY | O_CREAT);
  try {
    pwrite_all(fd, reinterpret_cast<const uint8_t*>(content.data()), content.size(), 0, path);
    if (::ftruncate(fd, static_cast<off_t>(content.size())) != 0) fail("cannot truncate", path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void write_partition_metadata(const fs::path& dir, const Uuid& topic_id) {
  // Not synced: written on the event loop for every partition a broker gets
  // (thousands at a time, 3 fsyncs each would stall it for seconds); the
  // rename keeps it whole, and a process crash loses nothing.
  write_file_atomically(dir / "partition.metadata", "version: 0\ntopic_id: " + topic_id.to_string() + "\n", Durability::RenameOnly);
}

std::optional<Uuid> read_partition_metadata(const fs::path& dir) {
  std::ifstream f(dir / "partition.metadata");
  if (!f) return std::nullopt;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("topic_id:", 0) == 0) {
      std::string v = line.substr(9);
      v.erase(0, v.find_first_not_of(' '));
      return Uuid::parse(v);
    }
  }
  return std::nullopt;
}

Log::Log(fs::path dir, LogConfig config, Uuid topic_id) : dir_(std::move(dir)), config_(config), topic_id_(topic_id) {}

Log::~Log() {
  try {
    close();
  } catch (...) {
  }
}

std::unique_ptr<Log> Log::open(const fs::path& dir, const LogConfig& config, Uuid topic_id, int64_t recovery_point, bool clean_shutdown) {
  fs::create_directories(dir);
  std::unique_ptr<Log> log(new Log(dir, config, topic_id));
  if (auto existing = read_partition_metadata(dir)) {
    if (!topic_id.is_zero() && *existing != topic_id)
      throw StorageError("partition.metadata in " + dir.string() + " names topic id " + existing->to_string() + ", expected " +
                         topic_id.to_string());
    log->topic_id_ = *existing;
  } else if (!topic_id.is_zero()) {
    write_partition_metadata(dir, topic_id);
  }
  log->load(recovery_point, clean_shutdown);
  return log;
}

namespace {
constexpr int64_t kPreallocateStep = 256 << 10;

// Zero-fills the segment's file so that [0, end) is allocated and written.
void preallocate_to(Segment& s, int64_t end, int64_t limit) {
  if (end <= s.allocated) return;
  static const std::vector<uint8_t> zeros(1 << 16, 0);
  int64_t target = std::min(std::max(end, s.allocated + kPreallocateStep), std::max(end, limit));
  int64_t from = std::max(s.allocated, s.size);
  // Written zeros, not fallocate: blocks fallocate leaves "unwritten" cost a
  // metadata update again when first written. Small steps keep the extra
  // bytes of the next fdatasync small.
  for (int64_t pos = from; pos < target;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(zeros.size()), target - pos));
    pwrite_all(s.file->fd, zeros.data(), n, pos, s.log_path);
    pos += static_cast<int64_t>(n);
  }
  s.allocated = target;
}

// Cuts a preallocated segment's file back to its data.
void trim(Segment& s) {
  if (s.allocated <= s.size) return;
  if (::ftruncate(s.file->fd, s.size) != 0) fail("cannot trim", s.log_path);
  s.allocated = s.size;
}

// A preallocated, never written tail: zeros where the next batch header would be.
bool zero_tail(const Segment& s, int64_t pos, int64_t file_size) {
  uint8_t b[records::kLogOverhead];
  size_t n = static_cast<size_t>(std::min<int64_t>(sizeof b, file_size - pos));
  if (n == 0 || !pread_all(s.file->fd, b, n, pos)) return false;
  return std::all_of(b, b + n, [](uint8_t x) { return x == 0; });
}
}  // namespace

std::shared_ptr<Segment> Log::new_segment(int64_t base_offset) {
  auto s = std::make_shared<Segment>();
  s->base_offset = base_offset;
  s->next_offset = base_offset;
  s->log_path = dir_ / offset_file_name(base_offset, ".log");
  s->file = std::make_shared<FileHandle>(open_file(s->log_path, O_RDWR | O_CREAT));
  s->index_fd = open_file(s->path(".index"), O_RDWR | O_CREAT | O_TRUNC);
  s->time_fd = open_file(s->path(".timeindex"), O_RDWR | O_CREAT | O_TRUNC);
  // A new segment holds no markers yet: a stale index of that name (none is
  // expected) must not describe it.
  std::error_code ec;
  fs::remove(s->path(".txnindex"), ec);
  s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
  s->created_ms = wall_clock_ms();
  return s;
}

void Log::load(int64_t recovery_point, bool clean_shutdown) {
  complete_swaps(dir_);  // the log cleaner's interrupted segment replacements
  std::vector<int64_t> bases;
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::string name = e.path().filename().string();
    if (name.ends_with(".deleted") || name.ends_with(".cleaned") || name.ends_with(".swap") || name.ends_with(".tmp")) {
      fs::remove(e.path());
      continue;
    }
    if (name.size() == 24 && name.ends_with(".log")) bases.push_back(std::stoll(name.substr(0, 20)));
  }
  std::sort(bases.begin(), bases.end());
  // A .txnindex without its segment (left by a crash during a deletion) describes nothing.
  for (const auto& e : fs::directory_iterator(dir_)) {
    std::string name = e.path().filename().string();
    if (name.size() == 29 && name.ends_with(".txnindex") &&
        !std::binary_search(bases.begin(), bases.end(), std::stoll(name.substr(0, 20)))) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
  // Producer state: the newest snapshot, then the batches after it as the walk finds them.
  const std::optional<int64_t> producer_snapshot = producers_.load_latest_snapshot(dir_, INT64_MAX, 0);
  const int64_t producer_replay_from = producer_snapshot.value_or(INT64_MIN);
  int64_t truncated_bytes = 0;
  bool stop = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    auto s = std::make_shared<Segment>();
    s->base_offset = bases[i];
    s->next_offset = bases[i];
    s->log_path = dir_ / offset_file_name(bases[i], ".log");
    if (stop) {  // everything after a corrupt batch goes
      truncated_bytes += static_cast<int64_t>(fs::file_size(s->log_path));
      fs::remove(s->log_path);
      fs::remove(s->path(".index"));
      fs::remove(s->path(".timeindex"));
      fs::remove(s->path(".txnindex"));
      continue;
    }
    s->file = std::make_shared<FileHandle>(open_file(s->log_path, O_RDWR));
    s->index_fd = open_file(s->path(".index"), O_RDWR | O_CREAT | O_TRUNC);
    s->time_fd = open_file(s->path(".timeindex"), O_RDWR | O_CREAT | O_TRUNC);
    s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
    // The markers at or after the replay start are applied again below and
    // re-add their entries: drop them first (idempotent recovery).
    s->txn->truncate_to(producer_replay_from);
    struct stat st;
    ::fstat(s->file->fd, &st);
    int64_t file_size = st.st_size;
    s->size = file_size;
    s->allocated = file_size;
    s->created_ms = wall_clock_ms();
    // Walk the batch chain; verify CRCs past the recovery point (and always in
    // the last segment, where a crash tears writes) unless the log was closed
    // cleanly: then everything was flushed, and reading every record of every
    // active segment would make a restart cost as much as the data it holds.
    bool verify = !clean_shutdown && ((i + 1 == bases.size()) || (i + 1 < bases.size() && bases[i + 1] > recovery_point));
    int64_t pos = 0;
    std::vector<uint8_t> buf;
    while (pos < file_size) {
      if (zero_tail(*s, pos, file_size)) {
        // Preallocated and never written (a crash before the trim): the
        // segment's data ends here; the active one keeps its zeros.
        s->size = pos;
        if (i + 1 < bases.size()) trim(*s);
        break;
      }
      BatchHeader h;
      const char* bad = nullptr;
      if (!read_header(*s, pos, h)) bad = "torn batch header";
      else if (h.magic != 2) bad = "bad magic";
      else if (h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead)) bad = "bad batch length";
      else if (pos + h.total_size() > file_size) bad = "torn batch";
      else if (h.base_offset < s->next_offset || h.last_offset_delta < 0) bad = "offsets out of order";
      else if (verify) {
        buf.resize(static_cast<size_t>(h.total_size()));
        if (!pread_all(s->file->fd, buf.data(), buf.size(), pos)) bad = "unreadable batch";
        else if (crc32c(buf.data() + records::kAttributesOffset, buf.size() - records::kAttributesOffset) != h.crc) bad = "CRC mismatch";
      }
      if (bad) {
        spdlog::warn("[Log partition={}] {} at position {} of {}: truncating {} bytes (the log ends at offset {})", dir_.filename().string(),
                     bad, pos, s->log_path.filename().string(), file_size - pos, s->next_offset);
        truncated_bytes += file_size - pos;
        if (::ftruncate(s->file->fd, pos) != 0) fail("cannot truncate", s->log_path);
        s->size = pos;
        s->allocated = pos;
        stop = true;
        break;
      }
      track_batch(*s, h, pos, config_.index_interval_bytes);
      if (h.base_offset >= producer_replay_from) {
        std::vector<uint8_t> marker_bytes;
        if (h.is_control() && h.producer_id >= 0) {
          marker_bytes.resize(static_cast<size_t>(h.total_size()));
          if (!pread_all(s->file->fd, marker_bytes.data(), marker_bytes.size(), pos)) marker_bytes.clear();
        }
        std::lock_guard<std::mutex> pg(pstate_mu_);
        std::vector<CompletedTxn> completed;
        apply_to_producers(h, marker_bytes, completed);
        complete_txns(completed, *s);  // per batch, as Kafka's recovery
      }
      pos += h.total_size();
    }
    s->flushed_size = s->size;
    segments_.push_back(s);
  }
  if (truncated_bytes > 0)
    spdlog::warn("[Log partition={}] Recovery truncated {} bytes of torn or corrupt data", dir_.filename().string(), truncated_bytes);
  if (segments_.empty()) segments_.push_back(new_segment(std::max<int64_t>(recovery_point, 0) > 0 ? 0 : 0));
  // An empty trailing segment may sit behind a non-empty one after truncation.
  log_start_offset_ = segments_.front()->base_offset;
  int64_t end = segments_.back()->next_offset;
  for (const auto& s : segments_) end = std::max(end, s->next_offset);
  log_end_offset_ = end;
  flushed_offset_ = end;
  // The index ends with the log (entries of markers cut off by the recovery go).
  for (const auto& s : segments_) s->txn->truncate_to(end);
  if (producer_snapshot && *producer_snapshot > end) {
    rebuild_producer_state();  // the log ends before the snapshot (lost unsynced writes): an older one
  } else {
    std::lock_guard<std::mutex> pg(pstate_mu_);
    publish_first_unstable();
    producers_.set_map_end_offset(end);
    if (producer_snapshot || !producers_.empty())
      spdlog::info("[Log partition={}] Producer state: {} producer(s), from {} and the batches after it", dir_.filename().string(),
                   producers_.size(), producer_snapshot ? offset_file_name(*producer_snapshot, ".snapshot") : std::string("the whole log"));
  }
}

AppendInfo Log::append(std::span<uint8_t> batches, const records::Validation& v, int32_t leader_epoch, bool coordinator,
                       WriteBatch* deferred) {
  // A flush every N messages syncs what was written: such logs write at once.
  if (config_.flush_interval_messages != INT64_MAX) deferred = nullptr;
  if (!deferred) drain();
  throw_if_failed();
  int64_t first = append_offset();
  int64_t next = records::assign_offsets(batches, v, first, leader_epoch);
  std::vector<BatchHeader> headers;
  std::vector<size_t> positions;
  headers.reserve(v.batches.size());
  for (const auto& b : v.batches) {
    BatchHeader h = b.header;
    h.base_offset = first + (h.base_offset - h.base_offset);
    headers.push_back(h);
    positions.push_back(b.position);
  }
  // Fix base offsets of the copies (assign_offsets rewrote the bytes).
  int64_t o = first;
  for (auto& h : headers) {
    h.base_offset = o;
    o += h.last_offset_delta + 1;
  }
  // Idempotent producers: epoch and sequence checks, retried batches.
  if (ProducerCheck pc = producers_.check_client(headers, !coordinator); pc.error != ErrorCode::NONE || pc.duplicate) {
    AppendInfo info;
    info.error = pc.error;
    info.error_message = std::move(pc.message);
    if (pc.duplicate) {
      info.duplicate = true;
      info.first_offset = pc.duplicate->first_offset;
      info.last_offset = pc.duplicate->last_offset;
    }
    return info;
  }
  write_to_active(batches, first, next - 1, headers, positions, deferred);
  apply_appended(batches, headers, positions);
  AppendInfo info;
  info.first_offset = first;
  info.last_offset = next - 1;
  info.max_timestamp = v.max_timestamp;
  unflushed_messages_ += v.record_count;
  if (unflushed_messages_ >= config_.flush_interval_messages) flush(log_end_offset_.load());
  return info;
}

AppendInfo Log::append_as_follower(std::span<const uint8_t> batches) {
  drain();
  throw_if_failed();
  std::vector<BatchHeader> headers;
  std::vector<size_t> positions;
  size_t pos = 0;
  int64_t expect = log_end_offset_.load();
  while (pos < batches.size()) {
    BatchHeader h;
    if (!records::parse_header(batches.subspan(pos), h) || h.total_size() > static_cast<int64_t>(batches.size() - pos))
      throw StorageError("append_as_follower: partial batch");
    if (h.base_offset != expect)
      throw StorageError("append_as_follower: batch at offset " + std::to_string(h.base_offset) + ", log ends at " + std::to_string(expect));
    headers.push_back(h);
    positions.push_back(pos);
    expect = h.last_offset() + 1;
    pos += static_cast<size_t>(h.total_size());
  }
  AppendInfo info;
  if (headers.empty()) return info;
  info.first_offset = headers.front().base_offset;
  info.last_offset = headers.back().last_offset();
  write_to_active(batches, info.first_offset, info.last_offset, headers, positions);
  apply_appended(batches, headers, positions);
  return info;
}

void Log::apply_appended(std::span<const uint8_t> batches, const std::vector<BatchHeader>& headers, const std::vector<size_t>& positions) {
  std::shared_ptr<Segment> active;
  {
    std::lock_guard<std::mutex> g(mu_);
    active = segments_.back();  // write_to_active put the whole append in it
  }
  std::lock_guard<std::mutex> pg(pstate_mu_);
  // As Kafka's append: every batch first, then the completed transactions, so
  // that an entry's LSO counts transactions begun later in the same append.
  std::vector<CompletedTxn> completed;
  for (size_t i = 0; i < headers.size(); ++i)
    apply_to_producers(headers[i], batches.subspan(positions[i], static_cast<size_t>(headers[i].total_size())), completed);
  complete_txns(completed, *active);
}

AppendInfo Log::append_marker(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch, bool commit, int32_t leader_epoch,
                              int64_t now_ms) {
  drain();
  throw_if_failed();
  AppendInfo info;
  if (ProducerCheck pc = producers_.check_marker(producer_id, producer_epoch, coordinator_epoch); pc.error != ErrorCode::NONE) {
    info.error = pc.error;
    info.error_message = std::move(pc.message);
    return info;
  }
  const int64_t offset = log_end_offset_.load();
  records::BatchBuilder b(records::Compression::NONE, offset);
  b.set_producer(producer_id, producer_epoch, -1);
  b.set_control(true);
  b.set_transactional(true);
  b.set_partition_leader_epoch(leader_epoch);
  const std::vector<uint8_t> key = end_txn_marker_key(commit);
  const std::vector<uint8_t> value = end_txn_marker_value(coordinator_epoch);
  b.add(now_ms, std::span<const uint8_t>(key), std::span<const uint8_t>(value));
  const std::vector<uint8_t> bytes = b.build();
  BatchHeader h;
  records::parse_header(bytes, h);
  const std::vector<BatchHeader> headers{h};
  const std::vector<size_t> positions{0};
  write_to_active(bytes, offset, offset, headers, positions);
  apply_appended(bytes, headers, positions);
  info.first_offset = offset;
  info.last_offset = offset;
  info.max_timestamp = now_ms;
  unflushed_messages_ += 1;
  if (unflushed_messages_ >= config_.flush_interval_messages) flush(log_end_offset_.load());
  return info;
}

void Log::apply_to_producers(const BatchHeader& h, std::span<const uint8_t> batch, std::vector<CompletedTxn>& completed) {
  if (auto done = producers_.apply(h, batch)) completed.push_back(*done);
}

void Log::complete_txns(std::vector<CompletedTxn>& completed, Segment& seg) {
  for (const auto& t : completed) {
    if (t.aborted) seg.txn->append(AbortedTxn{t.producer_id, t.first_offset, t.last_offset, producers_.last_stable_offset(t)});
    producers_.complete_txn(t);
  }
  completed.clear();
  publish_first_unstable();
}

void Log::set_cleanable_limit(int64_t offset) {
  cleanable_limit_.store(offset);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_high_watermark(offset);
  publish_first_unstable();
}

size_t Log::remove_expired_producers(int64_t now_ms, int64_t expiration_ms) {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  return producers_.remove_expired(now_ms, expiration_ms);
}

void Log::publish_first_unstable() { first_unstable_offset_.store(producers_.first_unstable_offset().value_or(INT64_MAX)); }

int64_t Log::last_stable_offset(int64_t high_watermark) {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_high_watermark(high_watermark);
  publish_first_unstable();
  std::optional<int64_t> fuo = producers_.first_unstable_offset();
  if (!fuo) return high_watermark;
  // Data below the log start is gone: its transactions no longer hold the LSO back (Kafka's).
  return std::min(high_watermark, std::max(*fuo, log_start_offset_));
}

std::vector<AbortedTxn> Log::collect_aborted_transactions(int64_t start_offset, int64_t upper_bound_offset) const {
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (segments_.empty()) return {};
    segs.assign(segments_.begin() + static_cast<long>(segment_index_for(start_offset)), segments_.end());
  }
  std::vector<AbortedTxn> out;
  for (const auto& s : segs) {
    TxnIndex::SearchResult r = s->txn->collect(start_offset, upper_bound_offset);
    out.insert(out.end(), r.aborted.begin(), r.aborted.end());
    if (r.complete) break;
  }
  return out;
}

std::unordered_map<int64_t, int64_t> Log::producer_last_batch_offsets() const {
  std::lock_guard<std::mutex> pg(pstate_mu_);
  std::unordered_map<int64_t, int64_t> out;
  for (const auto& e : producers_.entries())
    if (e.last_offset() >= 0) out.emplace(e.producer_id, e.last_offset());
  return out;
}


void Log::write_to_active(std::span<const uint8_t> data, int64_t first_offset, int64_t last_offset,
                          const std::vector<BatchHeader>& headers, const std::vector<size_t>& positions, WriteBatch* deferred) {
  std::shared_ptr<Segment> s;
  {
    std::lock_guard<std::mutex> g(mu_);  // the cleaner may be replacing older segments
    s = segments_.back();
  }
  int64_t at = pending_.empty() ? s->size : pending_.back()->position + static_cast<int64_t>(pending_.back()->size);
  int64_t rel_last = last_offset - s->base_offset;
  bool index_full = static_cast<int64_t>(s->index.size() + headers.size()) * 8 >= config_.max_index_bytes;
  if (at > 0 && (at + static_cast<int64_t>(data.size()) > config_.segment_bytes || rel_last > INT32_MAX || index_full)) {
    drain();  // a roll trims and closes the active segment: its writes must be done
    throw_if_failed();
    roll();
    std::lock_guard<std::mutex> g(mu_);
    s = segments_.back();
    at = s->size;
  }
  if (config_.preallocate) preallocate_to(*s, at + static_cast<int64_t>(data.size()), config_.segment_bytes);
  if (deferred) {
    auto w = std::make_shared<PendingWrite>();
    w->file = s->file;
    w->position = at;
    w->data = data.data();
    w->size = data.size();
    w->end_offset = last_offset + 1;
    pending_.push_back(w);
    deferred->writes.push_back(std::move(w));
  } else {
    pwrite_all(s->file->fd, data.data(), data.size(), at, s->log_path);
  }
  s->allocated = std::max(s->allocated, at + static_cast<int64_t>(data.size()));
  for (size_t i = 0; i < headers.size(); ++i) track_batch(*s, headers[i], at + static_cast<int64_t>(positions[i]), config_.index_interval_bytes);
  if (!deferred) {
    s->size = at + static_cast<int64_t>(data.size());
    log_end_offset_ = last_offset + 1;
  }
  (void)first_offset;
}

void Log::throw_if_failed() const {
  if (failed_) throw StorageError("an earlier write to " + dir_.filename().string() + " failed; the log takes no more appends");
}

void Log::apply_front_pending() {
  std::shared_ptr<PendingWrite> w = std::move(pending_.front());
  pending_.pop_front();
  if (failed_) return;
  if (w->error != 0) {
    // What follows it may be written, but after a hole: nothing more becomes
    // visible, and a restart's recovery cuts the tail at the last valid batch.
    failed_ = true;
    spdlog::error("[Log partition={}] Write of {} bytes at position {} failed: {}; the log takes no more appends", dir_.filename().string(),
                  w->size, w->position, std::strerror(w->error));
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  Segment& s = *segments_.back();  // pending writes are all in the active segment (a roll drains first)
  s.size = w->position + static_cast<int64_t>(w->size);
  log_end_offset_ = w->end_offset;
}

void Log::apply_written() {
  while (!pending_.empty() && pending_.front()->done()) apply_front_pending();
}

void Log::drain() {
  while (!pending_.empty()) {
    AppendWriter::write_or_wait(*pending_.front());
    apply_front_pending();
  }
}

size_t Log::segment_index_for(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset; });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin() - 1);
}

namespace {
// Position of the batch containing `offset` in s (or s->size if past its end), with its header.
int64_t locate(const Segment& s, int64_t offset, BatchHeader* out) {
  int32_t rel = static_cast<int32_t>(std::max<int64_t>(0, offset - s.base_offset));
  auto it = std::upper_bound(s.index.begin(), s.index.end(), rel, [](int32_t r, const auto& e) { return r < e.first; });
  int64_t pos = it == s.index.begin() ? 0 : std::prev(it)->second;
  BatchHeader h;
  while (pos < s.size) {
    if (!read_header(s, pos, h)) return s.size;
    if (h.last_offset() >= offset) {
      if (out) *out = h;
      return pos;
    }
    pos += h.total_size();
  }
  return s.size;
}

// The largest batch boundary in [from, limit] of s, walking headers from the
// nearest index entry below `limit` (or from `from`).
int64_t boundary_at_or_below(const Segment& s, int64_t from, int64_t limit) {
  if (limit >= s.size) return s.size;
  int64_t pos = from;
  auto it = std::upper_bound(s.index.begin(), s.index.end(), static_cast<int32_t>(limit),
                             [](int32_t p, const auto& e) { return p < e.second; });
  if (it != s.index.begin() && std::prev(it)->second > from) pos = std::prev(it)->second;
  BatchHeader h;
  while (pos < s.size) {
    if (!read_header(s, pos, h)) break;
    if (pos + h.total_size() > limit) break;
    pos += h.total_size();
  }
  return pos;
}
}  // namespace

ReadResult Log::read(int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one) const {
  ReadResult rr;
  rr.log_start_offset = log_start_offset_;
  int64_t leo = log_end_offset_.load();
  rr.log_end_offset = leo;
  rr.records = Records::of_view({});
  if (offset < log_start_offset_ || offset > leo)
    throw OffsetOutOfRange("offset " + std::to_string(offset) + " is outside [" + std::to_string(log_start_offset_) + ", " +
                           std::to_string(leo) + "] of " + dir_.filename().string());
  if (offset == leo || offset >= max_offset) return rr;
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard<std::mutex> g(mu_);
    segs.assign(segments_.begin() + static_cast<long>(segment_index_for(offset)), segments_.end());
  }
  int64_t budget = max_bytes;
  bool first = true;
  for (const auto& s : segs) {
    if (s->base_offset >= max_offset) break;
    BatchHeader h;
    int64_t start = locate(*s, offset, &h);
    if (start >= s->size) continue;
    // End: before the first batch at or past max_offset, and within budget.
    int64_t end = s->size;
    if (max_offset < s->next_offset) {
      BatchHeader hm;
      int64_t p = locate(*s, max_offset, &hm);
      end = (p < s->size && hm.base_offset < max_offset) ? p + hm.total_size() : p;
      // A batch holding max_offset-1 and max_offset: only batches wholly below.
      if (p < s->size && hm.last_offset() >= max_offset) end = p;
    }
    int64_t take;
    if (first && min_one && start + h.total_size() > start + budget) {
      take = std::min<int64_t>(h.total_size(), end - start);
    } else {
      take = boundary_at_or_below(*s, start, std::min(end, start + std::max<int64_t>(budget, 0))) - start;
    }
    if (take <= 0) break;
    rr.records.files.push_back(FileRegion{s->file->fd, start, take, s->file});
    budget -= take;
    first = false;
    if (budget <= 0 || start + take < s->size) break;
    offset = s->next_offset;
  }
  return rr;
}

int64_t Log::size_bytes() const {
  std::lock_guard<std::mutex> g(mu_);
  int64_t n = 0;
  for (const auto& s : segments_) n += s->size;
  return n;
}

int Log::segment_count() const {
  std::lock_guard<std::mutex> g(mu_);
  return static_cast<int>(segments_.size());
}

std::optional<std::pair<int64_t, int64_t>> Log::offset_for_timestamp(int64_t ts) const {
  std::vector<std::shared_ptr<Segment>> segs;
  {
    std::lock_guard<std::mutex> g(mu_);
    segs = segments_;
  }
  for (const auto& s : segs) {
    if (s->max_timestamp < ts) continue;
    // The time index gives a lower bound; scan batches from the start of the
    // indexed region (headers only).
    int64_t start_offset = s->base_offset;
    for (auto it = s->tindex.rbegin(); it != s->tindex.rend(); ++it)
      if (it->first < ts) {
        start_offset = s->base_offset + it->second + 1;
        break;
      }
    int64_t pos = locate(*s, start_offset, nullptr);
    BatchHeader h;
    while (pos < s->size && read_header(*s, pos, h)) {
      if (h.max_timestamp >= ts && h.last_offset() >= log_start_offset_) return std::make_pair(std::max(h.base_offset, log_start_offset_), h.max_timestamp);
      pos += h.total_size();
    }
  }
  return std::nullopt;
}

std::optional<std::pair<int64_t, int64_t>> Log::max_timestamp_and_offset() const {
  std::optional<std::pair<int64_t, int64_t>> best;
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& s : segments_)
    if (s->max_timestamp >= 0 && (!best || s->max_timestamp > best->first)) best = std::make_pair(s->max_timestamp, s->max_timestamp_offset);
  return best;
}

void Log::flush(int64_t up_to) {
  std::vector<std::pair<std::shared_ptr<Segment>, int64_t>> todo;
  int64_t end;
  {
    std::lock_guard<std::mutex> g(mu_);
    end = log_end_offset_.load();
    for (const auto& s : segments_)
      if (s->base_offset < up_to && s->flushed_size < s->size) todo.emplace_back(s, s->size);
  }
  for (auto& [s, size] : todo) s->txn->flush();
  for (auto& [s, size] : todo) {
    if (::fdatasync(s->file->fd) != 0) fail("fdatasync of", s->log_path);
    s->flushed_size = std::max(s->flushed_size, size);
  }
  int64_t done = std::min(up_to, end);
  int64_t cur = flushed_offset_.load();
  while (done > cur && !flushed_offset_.compare_exchange_weak(cur, done)) {
  }
  unflushed_messages_ = 0;
}

void Log::truncate_to(int64_t offset) {
  drain();
  if (offset >= log_end_offset_.load()) return;
  if (offset <= log_start_offset_) {
    truncate_fully_and_start_at(offset);
    return;
  }
  std::lock_guard<std::mutex> g(mu_);
  ++change_epoch_;
  while (segments_.size() > 1 && segments_.back()->base_offset >= offset) {
    delete_segment(segments_.back());
    segments_.pop_back();
  }
  auto& s = *segments_.back();
  BatchHeader h;
  int64_t pos = locate(s, offset, &h);
  // Truncation is at batch boundaries: a batch straddling `offset` goes entirely (as in Kafka).
  if (::ftruncate(s.file->fd, pos) != 0) fail("cannot truncate", s.log_path);
  s.size = pos;
  s.allocated = pos;
  s.flushed_size = std::min(s.flushed_size, pos);
  // Rebuild this segment's indexes.
  s.index.clear();
  s.tindex.clear();
  if (::ftruncate(s.index_fd, 0) != 0 || ::ftruncate(s.time_fd, 0) != 0) fail("cannot truncate index of", s.log_path);
  s.bytes_since_index = 0;
  s.max_timestamp = -1;
  s.first_timestamp = -1;
  s.next_offset = s.base_offset;
  int64_t p = 0;
  while (p < s.size && read_header(s, p, h)) {
    track_batch(s, h, p, config_.index_interval_bytes);
    p += h.total_size();
  }
  log_end_offset_ = std::max(s.next_offset, s.base_offset);
  if (flushed_offset_.load() > log_end_offset_.load()) flushed_offset_ = log_end_offset_.load();
  s.txn->truncate_to(log_end_offset_.load());  // the markers cut off (the replay below also redoes later ones)
  rebuild_producer_state();  // Kafka's truncateAndReload: the snapshot below the new end + replay
}

void Log::truncate_fully_and_start_at(int64_t offset) {
  drain();
  std::lock_guard<std::mutex> g(mu_);
  ++change_epoch_;
  for (auto& s : segments_) delete_segment(s);
  segments_.clear();
  segments_.push_back(new_segment(offset));
  log_start_offset_ = offset;
  log_end_offset_ = offset;
  flushed_offset_ = offset;
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.clear(offset);
  publish_first_unstable();
  ProducerStateManager::delete_snapshots_after(dir_, -1);
}

void Log::set_log_start_offset(int64_t offset) {
  drain();
  if (offset <= log_start_offset_) return;
  log_start_offset_ = std::min(offset, log_end_offset_.load());
  std::lock_guard<std::mutex> g(mu_);
  while (segments_.size() > 1 && segments_[1]->base_offset <= log_start_offset_) {
    ++change_epoch_;
    delete_segment(segments_.front());
    segments_.erase(segments_.begin());
  }
  // The state itself stays (Kafka's onLogStartOffsetIncremented); snapshots of deleted segments go.
  ProducerStateManager::delete_snapshots_before(dir_, segments_.front()->base_offset);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  producers_.on_log_start_offset(log_start_offset_);
  publish_first_unstable();
}

void Log::delete_segment(const std::shared_ptr<Segment>& s) {
  // Open fds (held by in-flight fetches) keep the data readable after unlink.
  std::error_code ec;
  fs::remove(s->log_path, ec);
  fs::remove(s->path(".index"), ec);
  fs::remove(s->path(".timeindex"), ec);
  if (s->txn) s->txn->remove_file();
}

int Log::apply_retention(int64_t now_ms) {
  drain();
  int deleted = 0;
  std::lock_guard<std::mutex> g(mu_);
  int64_t total = 0;
  for (const auto& s : segments_) total += s->size;
  while (segments_.size() > 1) {
    auto& s = segments_.front();
    bool by_time = config_.retention_ms >= 0 && s->max_timestamp >= 0 && s->max_timestamp < now_ms - config_.retention_ms;
    bool by_size = config_.retention_bytes >= 0 && total - s->size >= config_.retention_bytes;
    if (!config_.cleanup_delete) by_time = by_size = false;  // cleanup.policy=compact: the cleaner's
    if (!by_time && !by_size) break;
    ++change_epoch_;
    spdlog::info("[Log partition={}] Deleting segment {} by retention ({})", dir_.filename().string(), s->log_path.filename().string(),
                 by_time ? "retention.ms" : "retention.bytes");
    total -= s->size;
    delete_segment(s);
    segments_.erase(segments_.begin());
    ++deleted;
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset);
  if (deleted > 0) {
    ProducerStateManager::delete_snapshots_before(dir_, segments_.front()->base_offset);
    std::lock_guard<std::mutex> pg(pstate_mu_);
    producers_.on_log_start_offset(log_start_offset_);
    publish_first_unstable();
  }
  return deleted;
}

void Log::roll_if_needed(int64_t now_ms) {
  drain();
  std::shared_ptr<Segment> active;
  {
    std::lock_guard<std::mutex> g(mu_);
    active = segments_.back();
  }
  auto& s = *active;
  if (s.size == 0) return;
  int64_t born = s.first_timestamp >= 0 ? std::min(s.first_timestamp, s.created_ms) : s.created_ms;
  if (now_ms - born >= config_.segment_ms) roll();
}

void Log::roll() {
  drain();
  std::shared_ptr<Segment> old;
  {
    std::lock_guard<std::mutex> g(mu_);
    old = segments_.back();
  }
  if (old->size == 0) return;
  auto s = new_segment(log_end_offset_.load());
  {
    std::lock_guard<std::mutex> g(mu_);
    trim(*old);
    segments_.push_back(std::move(s));
  }
  take_producer_snapshot(false);  // `<new segment base>.snapshot`: small, not synced (a process crash loses nothing)
}

void Log::close() {
  drain();
  if (closed_) return;
  take_producer_snapshot(true);
  flush(log_end_offset_.load());
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  if (!segments_.empty()) trim(*segments_.back());
}

void Log::remove() {
  drain();
  std::lock_guard<std::mutex> g(mu_);
  closed_ = true;
  ++change_epoch_;
  segments_.clear();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

// ---------------------------------------------------------------- log cleaner support

namespace {
int64_t mtime_ms(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

// The next offset of the batches in a segment file (its base if it has none),
// walking headers until the first one that does not parse.
int64_t scan_next_offset(int fd, int64_t base, int64_t file_size) {
  int64_t pos = 0, next = base;
  uint8_t buf[kHeaderSize];
  while (pos + static_cast<int64_t>(kHeaderSize) <= file_size && pread_all(fd, buf, kHeaderSize, pos)) {
    BatchHeader h;
    if (!records::parse_header(std::span<const uint8_t>(buf, kHeaderSize), h) || h.magic != 2 ||
        h.batch_length < static_cast<int32_t>(kHeaderSize - kLogOverhead) || pos + h.total_size() > file_size)
      break;
    next = h.last_offset() + 1;
    pos += h.total_size();
  }
  return next;
}
}  // namespace

void complete_swaps(const fs::path& dir) {
  std::vector<fs::path> swaps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() == 29 && name.ends_with(".log.swap")) swaps.push_back(e.path());
  }
  std::sort(swaps.begin(), swaps.end());
  for (const auto& swap : swaps) {
    std::string name = swap.filename().string();
    int64_t base = std::stoll(name.substr(0, 20));
    int fd = ::open(swap.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    ::fstat(fd, &st);
    int64_t next = std::max(scan_next_offset(fd, base, st.st_size), base + 1);
    ::close(fd);
    // Aborted-transaction entries of the replaced segments: merged first, so
    // that a crash before the old files go loses none.
    {
      std::vector<AbortedTxn> merged;
      std::vector<fs::path> olds;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string n = e.path().filename().string();
        if (n.size() != 29 || !n.ends_with(".txnindex")) continue;
        int64_t b = std::stoll(n.substr(0, 20));
        if (b < base || b >= next) continue;
        auto entries = TxnIndex::read_file(e.path());
        merged.insert(merged.end(), entries.begin(), entries.end());
        if (b != base) olds.push_back(e.path());
      }
      std::sort(merged.begin(), merged.end(), [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset < b.last_offset; });
      merged.erase(std::unique(merged.begin(), merged.end(), [](const AbortedTxn& a, const AbortedTxn& b) { return a.last_offset == b.last_offset; }),
                   merged.end());
      TxnIndex(dir / offset_file_name(base, ".txnindex")).reset(std::move(merged));
      for (const auto& o : olds) fs::remove(o, ec);
    }
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.size() != 24 || !n.ends_with(".log")) continue;
      int64_t b = std::stoll(n.substr(0, 20));
      if (b < base || b >= next) continue;
      fs::path p = e.path();
      fs::remove(p, ec);
      p.replace_extension(".index");
      fs::remove(p, ec);
      p.replace_extension(".timeindex");
      fs::remove(p, ec);
    }
    fs::path log = dir / offset_file_name(base, ".log");
    fs::rename(swap, log);
    spdlog::info("[Log partition={}] Completed the swap of cleaned segment {} (offsets {} to {})", dir.filename().string(),
                 log.filename().string(), base, next - 1);
  }
}

std::vector<SegmentView> Log::segment_views() const {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<SegmentView> out;
  out.reserve(segments_.size());
  for (const auto& s : segments_) {
    SegmentView v;
    v.base_offset = s->base_offset;
    v.next_offset = s->next_offset;
    v.size = s->size;
    v.first_timestamp = s->first_timestamp;
    v.max_timestamp = s->max_timestamp;
    v.last_modified_ms = mtime_ms(s->file->fd);
    v.index_entries = s->index.size();
    v.file = s->file;
    v.aborted_txns = s->txn->entries();
    out.push_back(std::move(v));
  }
  return out;
}

bool Log::replace_segments(int64_t first_base, size_t count, const fs::path& cleaned, uint64_t epoch) {
  std::error_code ec;
  // Build the new segment (in-memory indexes) before taking the mutex.
  auto s = std::make_shared<Segment>();
  s->base_offset = first_base;
  s->next_offset = first_base;
  s->log_path = dir_ / offset_file_name(first_base, ".log");
  s->file = std::make_shared<FileHandle>(open_file(cleaned, O_RDWR));
  struct stat st;
  ::fstat(s->file->fd, &st);
  s->size = st.st_size;
  s->allocated = st.st_size;
  s->flushed_size = st.st_size;
  s->created_ms = wall_clock_ms();
  int32_t interval = config_copy().index_interval_bytes;
  for (int64_t pos = 0; pos < s->size;) {
    BatchHeader h;
    if (!read_header(*s, pos, h) || pos + h.total_size() > s->size) {
      fs::remove(cleaned, ec);
      throw StorageError("cleaned segment " + cleaned.string() + " is corrupt at position " + std::to_string(pos));
    }
    track_batch(*s, h, pos, interval);
    pos += h.total_size();
  }
  std::lock_guard<std::mutex> g(mu_);
  size_t i = 0;
  while (i < segments_.size() && segments_[i]->base_offset != first_base) ++i;
  if (closed_ || epoch != change_epoch_.load() || i + count >= segments_.size() || count == 0) {
    fs::remove(cleaned, ec);
    return false;
  }
  // From here the replacement is committed: a crash completes it at start-up.
  fs::path swap = s->log_path;
  swap += ".swap";
  fs::rename(cleaned, swap);
  // The cleaned segment keeps every marker, so it keeps every aborted-txn
  // entry of the segments it replaces (they still describe its offsets).
  // Written before the old index files go and while the swap exists, so
  // complete_swaps can redo it.
  std::vector<AbortedTxn> merged;
  for (size_t k = i; k < i + count; ++k) {
    auto entries = segments_[k]->txn->entries();
    merged.insert(merged.end(), entries.begin(), entries.end());
  }
  s->txn = std::make_unique<TxnIndex>(s->path(".txnindex"));
  s->txn->reset(std::move(merged));  // replaces the old first segment's file atomically
  for (size_t k = i; k < i + count; ++k) {
    const auto& old = segments_[k];
    if (old->base_offset != first_base) {
      fs::remove(old->log_path, ec);
      fs::remove(old->path(".txnindex"), ec);
    }
    fs::remove(old->path(".index"), ec);
    fs::remove(old->path(".timeindex"), ec);
  }
  fs::rename(swap, s->log_path);  // replaces the first old segment's .log atomically
  s->index_fd = open_file(s->path(".index"), O_RDWR | O_CREAT | O_TRUNC);
  s->time_fd = open_file(s->path(".timeindex"), O_RDWR | O_CREAT | O_TRUNC);
  std::vector<uint8_t> buf(s->index.size() * 8);
  for (size_t k = 0; k < s->index.size(); ++k) {
    store_be32(buf.data() + k * 8, static_cast<uint32_t>(s->index[k].first));
    store_be32(buf.data() + k * 8 + 4, static_cast<uint32_t>(s->index[k].second));
  }
  if (!buf.empty()) pwrite_all(s->index_fd, buf.data(), buf.size(), 0, s->path(".index"));
  buf.assign(s->tindex.size() * 12, 0);
  for (size_t k = 0; k < s->tindex.size(); ++k) {
    store_be64(buf.data() + k * 12, static_cast<uint64_t>(s->tindex[k].first));
    store_be32(buf.data() + k * 12 + 8, static_cast<uint32_t>(s->tindex[k].second));
  }
  if (!buf.empty()) pwrite_all(s->time_fd, buf.data(), buf.size(), 0, s->path(".timeindex"));
  // Keep the segment contiguous with the next one even if its tail records went.
  s->next_offset = std::max(s->next_offset, segments_[i + count - 1]->next_offset);
  segments_.erase(segments_.begin() + static_cast<long>(i), segments_.begin() + static_cast<long>(i + count));
  segments_.insert(segments_.begin() + static_cast<long>(i), std::move(s));
  return true;
}

}  // namespace flotilla::storage

namespace flotilla::storage {

// ---------------------------------------------------------------- producer state

void Log::replay_producer_state_from(int64_t from) {
  from = std::max(from, log_start_offset_);
  if (segments_.empty() || from >= log_end_offset_.load()) return;
  for (size_t i = segment_index_for(from); i < segments_.size(); ++i) {
    Segment& s = *segments_[i];
    // The markers replayed below re-add their entries (idempotent replay).
    s.txn->truncate_to(from);
    BatchHeader h;
    int64_t pos = locate(s, from, nullptr);
    std::vector<uint8_t> marker_bytes;
    std::vector<CompletedTxn> completed;
    while (pos < s.size && read_header(s, pos, h)) {
      if (h.base_offset >= from) {
        marker_bytes.clear();
        if (h.is_control() && h.producer_id >= 0) {
          marker_bytes.resize(static_cast<size_t>(h.total_size()));
          if (!pread_all(s.file->fd, marker_bytes.data(), marker_bytes.size(), pos)) marker_bytes.clear();
        }
        apply_to_producers(h, marker_bytes, completed);
        complete_txns(completed, s);
      }
      pos += h.total_size();
    }
  }
}

void Log::rebuild_producer_state() {
  const int64_t end = log_end_offset_.load();
  ProducerStateManager::delete_snapshots_after(dir_, end);
  std::lock_guard<std::mutex> pg(pstate_mu_);
  std::optional<int64_t> snap = producers_.load_latest_snapshot(dir_, end, log_start_offset_);
  const int64_t from = snap.value_or(log_start_offset_);
  // Entries of markers at or after the replay start are re-added by the replay.
  for (const auto& s : segments_) s->txn->truncate_to(std::max(from, log_start_offset_));
  replay_producer_state_from(from);
  producers_.set_map_end_offset(end);
  publish_first_unstable();
}

void Log::take_producer_snapshot(bool sync) {
  if (producers_.empty() && ProducerStateManager::list_snapshots(dir_).empty()) return;
  producers_.set_map_end_offset(log_end_offset_.load());
  try {
    producers_.write_snapshot(dir_, sync);
  } catch (const std::exception& e) {
    spdlog::warn("[Log partition={}] Cannot write the producer snapshot: {}", dir_.filename().string(), e.what());
    return;
  }
  int64_t first_base;
  {
    std::lock_guard<std::mutex> g(mu_);
    first_base = segments_.empty() ? 0 : segments_.front()->base_offset;
  }
  ProducerStateManager::delete_snapshots_before(dir_, first_base);
}

}  // namespace flotilla::storage
