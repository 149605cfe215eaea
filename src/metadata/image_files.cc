#include "metadata/image_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "metadata/bootstrap.h"
#include "metadata/delta.h"
#include "metadata/mapped_file.h"
#include "protocol/record_batch.h"
#include "raft/snapshot.h"

namespace flotilla::metadata {

namespace fs = std::filesystem;

namespace {

struct Replayer {
  MetadataDelta delta{std::make_shared<const MetadataImage>()};
  std::optional<int64_t> up_to;
  int64_t offset = -1;
  int32_t epoch = -1;

  bool past(int64_t o) const { return up_to && o > *up_to; }

  void snapshot(const fs::path& file) {
    auto contents = raft::read_snapshot(file);
    for (const auto& b : contents.batches)
      for (const auto& v : b.records) delta.replay_value(v);
    if (auto id = raft::parse_snapshot_file_name(file.filename().string())) {
      offset = id->end_offset - 1;
      epoch = id->epoch;
    }
  }

  // Every record of the segment at offsets >= start (and <= up_to). False once past up_to.
  bool segment(const fs::path& file, int64_t start) {
    MappedFile mf(file.string());
    auto data = mf.bytes();
    size_t pos = 0;
    const int32_t min_length = static_cast<int32_t>(records::kHeaderSize - records::kLogOverhead);
    while (data.size() - pos >= records::kHeaderSize) {
      records::BatchHeader h;
      records::parse_header(data.subspan(pos), h);
      // A preallocated (all-zero) tail or a torn batch ends the log.
      if (h.batch_length < min_length || data.size() - pos < static_cast<size_t>(h.total_size())) break;
      auto batch = data.subspan(pos, static_cast<size_t>(h.total_size()));
      pos += batch.size();
      if (h.last_offset() < start) continue;
      if (past(h.base_offset)) return false;
      if (!h.is_control()) {
        for (const auto& rec : records::decode_records(batch)) {
          if (rec.offset < start) continue;
          if (past(rec.offset)) break;
          if (rec.value) delta.replay_value(*rec.value);
        }
      }
      offset = up_to ? std::min(h.last_offset(), *up_to) : h.last_offset();
      epoch = h.partition_leader_epoch;
    }
    return true;
  }

  std::shared_ptr<const MetadataImage> finish() {
    if (offset >= 0) delta.set_offset(offset, epoch);
    return delta.apply();
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::shared_ptr<const MetadataImage> load_metadata_image(const std::string& path, std::optional<int64_t> up_to) {
  Replayer r;
  r.up_to = up_to;
  fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    std::optional<std::pair<raft::SnapshotId, fs::path>> snap;
    std::vector<fs::path> segments;
    for (const auto& e : fs::directory_iterator(p)) {
      std::string name = e.path().filename().string();
      if (ends_with(name, ".log") && e.is_regular_file()) {
        segments.push_back(e.path());
      } else if (auto id = raft::parse_snapshot_file_name(name)) {
        if (up_to && id->end_offset - 1 > *up_to) continue;  // newer than wanted
        if (!snap || id->end_offset > snap->first.end_offset) snap = {{*id, e.path()}};
      }
    }
    std::sort(segments.begin(), segments.end());
    int64_t start = 0;
    bool found = !segments.empty();
    if (snap) {
      r.snapshot(snap->second);
      start = snap->first.end_offset;
      found = true;
    } else {
      for (const fs::path& dir : {p, p.parent_path()}) {
        fs::path boot = dir / kBootstrapFileName;
        if (!dir.empty() && fs::is_regular_file(boot, ec)) {
          r.snapshot(boot);
          found = true;
          break;
        }
      }
    }
    if (!found) throw std::runtime_error(path + ": no snapshot, bootstrap.checkpoint or .log segment found");
    // Without a snapshot the log must start at 0, or the image would miss the records before it.
    if (!snap && !segments.empty()) {
      std::string first = segments.front().filename().string();
      int64_t base = std::strtoll(first.c_str(), nullptr, 10);
      if (base > 0)
        throw std::runtime_error(path + ": the log starts at offset " + std::to_string(base) + " and no snapshot covers " +
                                 (up_to ? "offset " + std::to_string(*up_to) : std::string("the records before it")));
    }
    for (const auto& s : segments)
      if (!r.segment(s, start)) break;
    return r.finish();
  }
  if (!fs::exists(p, ec)) throw std::runtime_error(path + ": no such file or directory");
  if (ends_with(path, ".log")) {
    r.segment(p, 0);
  } else {
    r.snapshot(p);
  }
  return r.finish();
}

std::shared_ptr<const MetadataImage> load_metadata_spec(const std::string& spec) {
  auto at = spec.rfind('@');
  if (at != std::string::npos && at + 1 < spec.size()) {
    std::string digits = spec.substr(at + 1);
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::string dir = spec.substr(0, at);
      std::error_code ec;
      if (fs::is_directory(dir, ec)) return load_metadata_image(dir, std::stoll(digits));
    }
  }
  return load_metadata_image(spec);
}

}  // namespace flotilla::metadata
