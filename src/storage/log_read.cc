// Log: the read path — a fetch's read (file regions of whole batches, sent
// with sendfile, never copied), the aborted transactions a read_committed
// fetch needs, and ListOffsets' lookups by timestamp.
//
// Invariants: a read returns whole batches only, below max_offset, starting
// with the batch that holds the requested offset; it never sees a pending
// (unapplied) write, because it stops at log_end_offset and the segments'
// sizes, which advance only when a write is applied. Each FileRegion holds
// its segment's file open, so a segment deleted or truncated meanwhile still
// reads as it was.
//
// Threading: read() and the lookups run on the owning thread; they copy the
// segments they need from segments_ under mu_ and read outside it.
#include "storage/log.h"

#include <algorithm>

#include "storage/segment.h"

namespace flotilla::storage {

using records::BatchHeader;

namespace {
// The largest batch boundary in [from, limit] of s, walking headers from the
// nearest index entry below `limit` (or from `from`).
int64_t boundary_at_or_below(const Segment& s, int fd, int64_t from, int64_t limit) {
  if (limit >= s.size) return s.size;
  int64_t pos = from;
  auto it = std::upper_bound(s.index.begin(), s.index.end(), static_cast<int32_t>(limit),
                             [](int32_t p, const auto& e) { return p < e.second; });
  if (it != s.index.begin() && std::prev(it)->second > from) pos = std::prev(it)->second;
  BatchHeader h;
  while (pos < s.size) {
    if (!read_header(s, fd, pos, h)) break;
    if (pos + h.total_size() > limit) break;
    pos += h.total_size();
  }
  return pos;
}
}  // namespace

std::shared_ptr<FileHandle> Log::pin_listed(Segment& s) const {
  std::lock_guard<std::mutex> g(mu_);
  if (s.retired) return nullptr;
  return s.file->acquire();
}

ReadResult Log::read(int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one) const {
  ReadResult rr;
  rr.log_start_offset = log_start_offset_;
  int64_t leo = log_end_offset_.load();
  rr.log_end_offset = leo;
  rr.records = Records::of_view({});
  if (offset < log_start_offset_ || offset > leo)
    throw OffsetOutOfRange("offset " + std::to_string(offset) + " is outside [" + std::to_string(log_start_offset_) + ", " +
                           std::to_string(leo) + "] of " + name());
  if (offset == leo || offset >= max_offset) return rr;
  std::vector<std::shared_ptr<Segment>> segs;
  std::shared_ptr<FileHandle> first_file;
  {
    std::lock_guard<std::mutex> g(mu_);
    segs.assign(segments_.begin() + static_cast<long>(segment_index_for(offset)), segments_.end());
    // The usual read takes one segment: pinned with no second lock.
    if (!segs.empty() && offset < segs.front()->next_offset && segs.front()->base_offset < max_offset)
      first_file = segs.front()->file->acquire();
  }
  int64_t budget = max_bytes;
  bool first = true;
  for (const auto& s : segs) {
    if (s->base_offset >= max_offset) break;
    if (offset >= s->next_offset) continue;
    // Pinned: the response's FileRegion keeps it until sent (sendfile).
    std::shared_ptr<FileHandle> file = s == segs.front() ? std::move(first_file) : pin_listed(*s);
    if (!file) break;  // deleted or replaced since: the reader asks again
    BatchHeader h;
    int64_t start = locate(*s, file->fd, offset, &h);
    if (start >= s->size) continue;
    // End: before the first batch at or past max_offset, and within budget.
    int64_t end = s->size;
    if (max_offset < s->next_offset) {
      BatchHeader hm;
      int64_t p = locate(*s, file->fd, max_offset, &hm);
      end = (p < s->size && hm.base_offset < max_offset) ? p + hm.total_size() : p;
      // A batch holding max_offset-1 and max_offset: only batches wholly below.
      if (p < s->size && hm.last_offset() >= max_offset) end = p;
    }
    int64_t take;
    if (first && min_one && start + h.total_size() > start + budget) {
      take = std::min<int64_t>(h.total_size(), end - start);
    } else {
      take = boundary_at_or_below(*s, file->fd, start, std::min(end, start + std::max<int64_t>(budget, 0))) - start;
    }
    if (take <= 0) break;
    const int fd = file->fd;
    rr.records.files.push_back(FileRegion{fd, start, take, std::move(file)});
    budget -= take;
    first = false;
    if (budget <= 0 || start + take < s->size) break;
    offset = s->next_offset;
  }
  return rr;
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
    auto file = pin_listed(*s);
    if (!file) continue;
    int64_t pos = locate(*s, file->fd, start_offset, nullptr);
    BatchHeader h;
    while (pos < s->size && read_header(*s, file->fd, pos, h)) {
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

}  // namespace flotilla::storage
