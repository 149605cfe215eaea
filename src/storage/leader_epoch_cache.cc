#include "storage/leader_epoch_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "storage/background_file_writer.h"
#include "storage/log.h"
#include "storage/log_files.h"

namespace flotilla::storage {

LeaderEpochCache::LeaderEpochCache(std::filesystem::path dir) : LeaderEpochCache(std::move(dir), std::nullopt) {}

LeaderEpochCache::LeaderEpochCache(std::filesystem::path dir, std::optional<std::string> content) : path_((std::move(dir) / kFileName).string()) {
  if (!content) {  // as the load reads it: at most kMaxSmallFileBytes
    content.emplace();
    std::ifstream file(path_, std::ios::binary);
    char buf[4096];
    while (file && content->size() < kMaxSmallFileBytes) {
      file.read(buf, sizeof buf);
      content->append(buf, static_cast<size_t>(file.gcount()));
    }
  }
  file_size_ = static_cast<int64_t>(content->size());  // 0 also when there is no file: the first write creates it
  if (!content->empty()) parse(*content);
}

void LeaderEpochCache::parse(const std::string& content) {
  std::istringstream in(content);
  std::string line;
  std::vector<EpochEntry> loaded;
  bool ok = static_cast<bool>(std::getline(in, line)) && line == "0";
  size_t n = 0;
  if (ok) ok = static_cast<bool>(std::getline(in, line)) && (std::istringstream(line) >> n);
  for (size_t i = 0; ok && i < n; ++i) {
    EpochEntry e;
    ok = static_cast<bool>(std::getline(in, line)) && static_cast<bool>(std::istringstream(line) >> e.epoch >> e.start_offset);
    if (ok && !loaded.empty()) ok = e.epoch > loaded.back().epoch && e.start_offset >= loaded.back().start_offset;
    if (ok) loaded.push_back(e);
  }
  if (!ok) {
    spdlog::warn("[LeaderEpochCache] Ignoring malformed {}", path_);
    return;
  }
  entries_ = std::move(loaded);
}

bool LeaderEpochCache::add_entry(int32_t epoch, int64_t start_offset) {
  if (!entries_.empty() && epoch <= entries_.back().epoch) return false;
  while (!entries_.empty() && entries_.back().start_offset > start_offset) entries_.pop_back();
  // Two epochs starting at one offset: the earlier wrote nothing; keep the newer only.
  if (!entries_.empty() && entries_.back().start_offset == start_offset) entries_.pop_back();
  entries_.push_back({epoch, start_offset});
  return true;
}

void LeaderEpochCache::assign(int32_t epoch, int64_t start_offset) {
  if (add_entry(epoch, start_offset)) persist();
}

void LeaderEpochCache::assign_deferred(int32_t epoch, int64_t start_offset, BackgroundFileWriter* writer) {
  if (!writer) return assign(epoch, start_offset);
  if (!add_entry(epoch, start_offset)) return;
  if (queued_on_ && queued_on_ != writer) ensure_written();
  std::string c = content();
  const int64_t size = static_cast<int64_t>(c.size());
  writer->put(path_, {std::move(c), file_size_});
  file_size_ = size;
  queued_on_ = writer;
}

void LeaderEpochCache::write_queued() {
  BackgroundFileWriter* writer = std::exchange(queued_on_, nullptr);
  if (auto w = writer->take(path_)) BackgroundFileWriter::write_now(path_, *w);
}

void LeaderEpochCache::discard_queued() {
  if (!queued_on_) return;
  std::exchange(queued_on_, nullptr)->take(path_);
  file_size_ = -1;  // whatever the file holds now: cut at the next write
}

LeaderEpochCache::~LeaderEpochCache() { ensure_written(); }

void LeaderEpochCache::truncate_from_end(int64_t end_offset, bool write) {
  size_t before = entries_.size();
  while (!entries_.empty() && entries_.back().start_offset >= end_offset) entries_.pop_back();
  if (write && entries_.size() != before) persist();
}

void LeaderEpochCache::truncate_from_start(int64_t start_offset) {
  size_t first_kept = 0;
  while (first_kept + 1 < entries_.size() && entries_[first_kept + 1].start_offset <= start_offset) ++first_kept;
  if (first_kept == 0 && (entries_.empty() || entries_[0].start_offset >= start_offset)) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(first_kept));
  if (entries_[0].start_offset < start_offset) entries_[0].start_offset = start_offset;
  persist();
}

void LeaderEpochCache::clear() {
  if (entries_.empty()) return;
  entries_.clear();
  persist();
}

std::optional<EpochEntry> LeaderEpochCache::latest() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

std::pair<int32_t, int64_t> LeaderEpochCache::end_offset_for(int32_t epoch, int64_t log_end_offset) const {
  if (epoch < 0 || entries_.empty()) return {-1, -1};
  if (epoch == entries_.back().epoch) return {epoch, log_end_offset};
  // The first entry with a larger epoch: the requested epoch ends where it starts.
  auto higher = std::find_if(entries_.begin(), entries_.end(), [&](const EpochEntry& e) { return e.epoch > epoch; });
  if (higher == entries_.end()) return {-1, -1};  // newer than anything this log has seen
  if (higher == entries_.begin()) return {epoch, higher->start_offset};
  return {std::prev(higher)->epoch, higher->start_offset};
}

std::string LeaderEpochCache::content() const {
  std::string out = "0\n" + std::to_string(entries_.size()) + "\n";
  for (const auto& e : entries_) out += std::to_string(e.epoch) + " " + std::to_string(e.start_offset) + "\n";
  return out;
}

void LeaderEpochCache::persist() {
  // A queued write of older content must not land after this one.
  if (queued_on_ && std::exchange(queued_on_, nullptr)->take(path_)) file_size_ = -1;
  try {
    // Not synced (as Kafka since KAFKA-15046) and rewritten in place, not
    // through a temporary file: it changes on the event loop for every
    // partition whose leader changes, thousands at once. The reader stops after
    // the count on line 2, so a stale tail is never read. A process crash loses
    // nothing a batch depends on (deferred writes: see the header); after a machine crash an older or torn file (rejected as
    // malformed) can only make a follower truncate more than needed, and it
    // fetches the rest again.
    const std::string c = content();
    rewrite_file_in_place(path_, c, file_size_);
    file_size_ = static_cast<int64_t>(c.size());
  } catch (const std::exception& ex) {
    // The cache in memory stays right; a restart would then truncate to the HW.
    file_size_ = -1;  // whatever part was written: cut at the next write
    spdlog::error("[LeaderEpochCache] Cannot write {}: {}", path_, ex.what());
  }
}

}  // namespace flotilla::storage
