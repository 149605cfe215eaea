// Torn writes in the metadata partition `__cluster_metadata-0`.
//
// The metadata log: its segments are Log segments, preallocated (zeros ahead
// of the writes), opened by RaftDriver::open_metadata_log. For every byte of
// the last batch, cut there or zeroed from there to the end of the file, the
// reopened log ends at the last complete batch, every batch before it reads
// back byte for byte, and the torn batch appended again (as a follower
// re-fetching it would) lands at its offset. A few of those cuts go through a
// whole RaftDriver restart: the listener's state is the values before the torn
// batch, and the next append commits at its offset.
//
// A snapshot `<end>-<epoch>.checkpoint` is written as `.checkpoint.part`,
// fsynced, then renamed: a crash tears only the .part, which start-up deletes
// (as Kafka does). A torn `.checkpoint` itself (a filesystem that let the
// rename outrun the data, or damage) is found by the start-up's validation of
// the newest snapshot (CRCs, header, footer). Kafka registers every
// `.checkpoint` unread and fails when it loads a bad one; Flotilla skips it:
// the node starts from the older snapshot and the log, never from the torn
// file, and deletes it so that no later start-up (one with a newer snapshot,
// which validates only the newest) registers it unread. Checked at every byte
// of the snapshot's last two batches (the last data batch and the footer).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/bytes.h"
#include "protocol/record_batch.h"
#include "../storage/torn_file.h"
#include "raft/driver.h"
#include "raft/snapshot.h"
#include "test_io.h"

using namespace flotilla;
using namespace flotilla::raft;
namespace fs = std::filesystem;
using flotilla::testing::Tear;
using flotilla::testing::file_bytes;
using flotilla::testing::name_of;
using flotilla::testing::tear;
using flotilla::raft::testing::run_until;
using flotilla::raft::testing::temp_dir;

namespace {

// A fresh directory for one test: on tmpfs when there is one. Each test
// recovers the metadata log hundreds of times; it checks what recovery reads
// and leaves in the files, not what reaches a disk, where each of a start-up's
// fsyncs costs milliseconds.
fs::path scratch_dir(const std::string& name) {
  std::error_code ec;
  if (!fs::is_directory("/dev/shm", ec) || ::access("/dev/shm", W_OK) != 0) return temp_dir(name);
  auto p = fs::path("/dev/shm") / ("flotilla-driver-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

struct RemovedAfter {
  fs::path dir;
  ~RemovedAfter() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};


// Whether zeroing [from, to) changes nothing (a batch's last bytes may be
// zeros already: a record ends with its header count, 0).
bool zeros_from(const std::vector<uint8_t>& bytes, int64_t from, int64_t to) {
  return std::all_of(bytes.begin() + from, bytes.begin() + to, [](uint8_t b) { return b == 0; });
}

struct Span {
  int64_t pos = 0, size = 0, base = 0, last = 0;
};
// The batches of a segment or snapshot file, in order (up to a zero tail).
std::vector<Span> spans_of(const std::vector<uint8_t>& f) {
  std::vector<Span> out;
  size_t pos = 0;
  while (pos + records::kHeaderSize <= f.size()) {
    records::BatchHeader h;
    if (!records::parse_header(std::span<const uint8_t>(f).subspan(pos), h) || h.magic != 2 || pos + h.total_size() > f.size()) break;
    out.push_back({static_cast<int64_t>(pos), h.total_size(), h.base_offset, h.last_offset()});
    pos += static_cast<size_t>(h.total_size());
  }
  return out;
}

std::vector<uint8_t> all_bytes(const storage::Log& log) {
  std::vector<uint8_t> out;
  int64_t off = log.log_start_offset();
  while (off < log.log_end_offset()) {
    ByteWriter w;
    w.put_records_payload(log.read(off, 1 << 20, INT64_MAX, true).records);
    auto b = w.flatten();
    if (b.empty()) break;
    records::for_each_batch(std::span<const uint8_t>(b), [&](const records::BatchHeader& h, std::span<const uint8_t>) { off = h.last_offset() + 1; });
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

struct StateRecorder : RaftListener {
  std::vector<std::vector<uint8_t>> values;
  std::vector<SnapshotId> loaded;
  int64_t next = 0;
  LeaderAndEpoch leader;
  void handle_commit(const CommittedBatch& b) override {
    EXPECT_EQ(b.base_offset, next) << "a gap in the delivered log";
    if (!b.is_control)
      for (const auto& v : b.records) values.push_back(v);
    next = b.last_offset + 1;
  }
  void handle_leader_change(LeaderAndEpoch l) override { leader = l; }
  void handle_load_snapshot(const SnapshotId& id, const SnapshotContents& c) override {
    loaded.push_back(id);
    values.clear();
    for (const auto& b : c.batches)
      for (const auto& v : b.records) values.push_back(v);
    next = id.end_offset;
  }
};

RaftConfig config() {
  RaftConfig c;
  c.node_id = 1;
  c.voters = {1};
  c.cluster_id = "cluster";
  c.random_seed = 7;
  c.election_timeout_ms = 50;  // a restarted single voter elects itself within a test's patience
  c.election_backoff_max_ms = 20;
  c.append_linger_ms = 1;
  c.max_retention_ms = -1;  // the cleaner keeps every snapshot and the whole log
  c.max_retention_bytes = -1;
  return c;
}

storage::LogConfig small_segments() {
  storage::LogConfig l;
  l.segment_bytes = 1024;
  return l;
}

std::vector<uint8_t> value(int i) { return std::vector<uint8_t>(24, static_cast<uint8_t>(i + 1)); }

void append_values(asio::io_context& io, RaftDriver& d, StateRecorder& r, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    ASSERT_TRUE(d.append({value(i)}, d.leader_and_epoch().epoch));
    ASSERT_TRUE(run_until(io, [&] { return r.next == d.next_offset(); }));
  }
}

// The values in two data batches, the last value alone in the second (a
// small last batch: every byte of it is torn).
SnapshotId write_snapshot(RaftDriver& d, const StateRecorder& r) {
  SnapshotId id{r.next, d.leader_and_epoch().epoch};
  SnapshotWriter w(id, 0, 1000);
  w.append(std::vector<std::vector<uint8_t>>(r.values.begin(), r.values.end() - 1));
  w.append({r.values.back()});
  w.write_snapshot(d.partition_dir());
  d.on_snapshot_written(id);
  return id;
}

std::vector<fs::path> files_with(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void copy_image(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace

TEST(MetadataLogTornWrites, EveryByteOfTheLastBatchRecoversToTheLastCompleteBatch) {
  const fs::path root = scratch_dir("torn-meta");
  RemovedAfter cleanup{root};
  const fs::path image = root / "image", work = root / "work";
  std::vector<std::vector<uint8_t>> values;
  {
    asio::io_context io;
    RaftDriver d(io, config(), RaftDriver::open_metadata_log(root / "live", small_segments()), root / "live");
    StateRecorder r;
    d.register_listener(&r);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1; }));
    append_values(io, d, r, 0, 16);
    values = r.values;
    // Each append was fsynced before it committed: the files now are what a kill -9 leaves.
    copy_image(root / "live", image);
    d.shutdown();
  }
  const fs::path pdir = fs::path(kMetadataPartitionDir);
  const auto segments = files_with(image / pdir, ".log");
  ASSERT_GE(segments.size(), 2u) << "the torn batch should sit in a later segment";
  const std::string last_segment = segments.back().filename().string();
  const auto seg_bytes = file_bytes(segments.back());
  const auto spans = spans_of(seg_bytes);
  ASSERT_GE(spans.size(), 2u);
  const Span last = spans.back();
  ASSERT_GT(seg_bytes.size(), static_cast<size_t>(last.pos + last.size)) << "the active segment is preallocated";
  const std::vector<uint8_t> last_batch(seg_bytes.begin() + last.pos, seg_bytes.begin() + last.pos + last.size);
  std::vector<uint8_t> whole, expected;
  {
    auto log = RaftDriver::open_metadata_log(image, small_segments());
    whole = all_bytes(*log);
    ASSERT_EQ(log->log_end_offset(), last.last + 1);
    ASSERT_GE(whole.size(), last_batch.size());
    expected.assign(whole.begin(), whole.end() - static_cast<ptrdiff_t>(last_batch.size()));
    ASSERT_TRUE(std::equal(last_batch.begin(), last_batch.end(), whole.end() - static_cast<ptrdiff_t>(last_batch.size())));
  }

  for (Tear how : {Tear::kCut, Tear::kZeroTail}) {
    for (int64_t at = 0; at < last.size; ++at) {
      SCOPED_TRACE(std::string(name_of(how)) + " at byte " + std::to_string(at) + " of " + std::to_string(last.size));
      copy_image(image, work);
      tear(work / pdir / last_segment, last.pos + at, how);
      const bool intact = how == Tear::kZeroTail && zeros_from(seg_bytes, last.pos + at, last.pos + last.size);
      auto log = RaftDriver::open_metadata_log(work, small_segments());
      ASSERT_EQ(log->log_end_offset(), intact ? last.last + 1 : last.base) << "the log must end at the last complete batch";
      ASSERT_EQ(all_bytes(*log), intact ? whole : expected) << "a batch before the torn one changed";
      {
        const auto after = file_bytes(work / pdir / last_segment);
        const int64_t end = intact ? last.pos + last.size : last.pos;
        ASSERT_GE(static_cast<int64_t>(after.size()), end);
        EXPECT_TRUE(zeros_from(after, end, static_cast<int64_t>(after.size()))) << "torn bytes left after the log end";
      }
      if (intact) continue;
      // The leader's copy of the batch, fetched again, lands where it began.
      EXPECT_EQ(log->append_as_follower(last_batch).last_offset, last.last);
      ASSERT_EQ(all_bytes(*log), whole);
    }
  }

  // Whole restarts: the first, a middle and the last byte, both shapes.
  for (Tear how : {Tear::kCut, Tear::kZeroTail}) {
    for (int64_t at : {int64_t{0}, last.size / 2, last.size - 1}) {
      SCOPED_TRACE(std::string("restart, ") + name_of(how) + " at byte " + std::to_string(at));
      copy_image(image, work);
      tear(work / pdir / last_segment, last.pos + at, how);
      asio::io_context io;
      const bool intact = how == Tear::kZeroTail && zeros_from(seg_bytes, last.pos + at, last.pos + last.size);
      RaftDriver d(io, config(), RaftDriver::open_metadata_log(work, small_segments()), work);
      StateRecorder r;
      d.register_listener(&r);
      d.start();
      EXPECT_EQ(d.log().log_end_offset(), intact ? last.last + 1 : last.base);
      ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1 && d.is_leader() && r.next == d.next_offset(); }));
      ASSERT_EQ(r.values.size(), values.size() - (intact ? 0 : 1));
      EXPECT_TRUE(std::equal(r.values.begin(), r.values.end(), values.begin()));
      // The next append starts where the torn batch began (after the new epoch's LeaderChangeMessage).
      const int64_t before = d.next_offset();
      EXPECT_EQ(before, (intact ? last.last + 1 : last.base) + 1);
      append_values(io, d, r, 100, 1);
      EXPECT_EQ(r.values.back(), value(100));
      EXPECT_EQ(r.next, before + 1);
      d.shutdown();
    }
  }
}

TEST(SnapshotTornWrites, ATornCheckpointIsNeverUsedTheOlderSnapshotAndTheLogServeInstead) {
  const fs::path root = scratch_dir("torn-snap");
  RemovedAfter cleanup{root};
  const fs::path live = root / "live", work = root / "work";
  const fs::path pdir = fs::path(kMetadataPartitionDir);
  std::vector<std::vector<uint8_t>> values;
  SnapshotId older, newer;
  {
    asio::io_context io;
    RaftDriver d(io, config(), RaftDriver::open_metadata_log(live, small_segments()), live);
    StateRecorder r;
    d.register_listener(&r);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1; }));
    append_values(io, d, r, 0, 6);
    older = write_snapshot(d, r);
    append_values(io, d, r, 6, 6);
    newer = write_snapshot(d, r);
    append_values(io, d, r, 12, 2);
    values = r.values;
    ASSERT_EQ(*d.latest_snapshot(), newer);
    ASSERT_EQ(d.log().log_start_offset(), 0) << "the cleaner must keep the log (retention is off)";
    d.shutdown();
  }
  const std::string newer_name = snapshot_file_name(newer);
  const auto snap = file_bytes(live / pdir / newer_name);
  const auto spans = spans_of(snap);
  ASSERT_EQ(spans.size(), 4u);  // header, data, data, footer
  ASSERT_EQ(spans.back().pos + spans.back().size, static_cast<int64_t>(snap.size()));
  const int64_t from = spans[spans.size() - 2].pos;  // the last data batch, then the footer

  // A torn .part (the crash the write order allows): removed, whatever the byte.
  // A torn .checkpoint: skipped and removed; the older snapshot is the latest.
  for (bool part : {false, true}) {
    for (Tear how : {Tear::kCut, Tear::kZeroTail}) {
      for (int64_t at = from; at < static_cast<int64_t>(snap.size()); ++at) {
        SCOPED_TRACE(std::string(part ? ".part, " : ".checkpoint, ") + name_of(how) + " at byte " + std::to_string(at) + " of " +
                     std::to_string(snap.size()));
        copy_image(live, work);
        fs::path file = work / pdir / newer_name;
        if (part) {
          fs::path p = file;
          p += ".part";
          fs::rename(file, p);
          file = p;
        }
        tear(file, at, how);
        // Zeros over zeros leave a whole .checkpoint (a .part is never whole).
        const bool intact = !part && how == Tear::kZeroTail && zeros_from(snap, at, static_cast<int64_t>(snap.size()));
        asio::io_context io;
        RaftDriver d(io, config(), RaftDriver::open_metadata_log(work, small_segments()), work);
        ASSERT_NO_THROW(d.start());
        ASSERT_TRUE(d.latest_snapshot());
        EXPECT_EQ(*d.latest_snapshot(), intact ? newer : older) << "the torn snapshot was taken as the latest";
        EXPECT_EQ(fs::exists(file), intact) << "the torn file was left behind";
        EXPECT_EQ(d.log().log_start_offset(), 0);
        d.shutdown();
      }
    }
  }

  // Whole restarts for a few tears: the listener's state is the older
  // snapshot and the log after it, every value there; the node writes a new
  // snapshot, and a restart after that starts from it.
  for (Tear how : {Tear::kCut, Tear::kZeroTail}) {
    for (int64_t at : {from, spans.back().pos + spans.back().size / 2}) {
      SCOPED_TRACE(std::string("restart, ") + name_of(how) + " at byte " + std::to_string(at));
      ASSERT_FALSE(zeros_from(snap, at, static_cast<int64_t>(snap.size())));
      copy_image(live, work);
      tear(work / pdir / newer_name, at, how);
      SnapshotId third;
      {
        asio::io_context io;
        RaftDriver d(io, config(), RaftDriver::open_metadata_log(work, small_segments()), work);
        StateRecorder r;
        d.register_listener(&r);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.is_leader() && r.next == d.next_offset(); }));
        ASSERT_EQ(r.loaded.size(), 1u);
        EXPECT_EQ(r.loaded[0], older);
        ASSERT_EQ(r.values, values);
        append_values(io, d, r, 50, 1);
        third = write_snapshot(d, r);
        d.shutdown();
      }
      asio::io_context io;
      RaftDriver d(io, config(), RaftDriver::open_metadata_log(work, small_segments()), work);
      StateRecorder r;
      d.register_listener(&r);
      d.start();
      EXPECT_EQ(*d.latest_snapshot(), third);
      ASSERT_TRUE(run_until(io, [&] { return d.is_leader() && r.next == d.next_offset(); }));
      auto want = values;
      want.push_back(value(50));
      EXPECT_EQ(r.values, want);
      d.shutdown();
    }
  }
}

// The only snapshot holding the records below the log start is torn (the
// cleaner had deleted the segments under it): nothing on this node can
// rebuild that state, and starting without it would serve an image missing
// them. The node refuses to start, loudly, rather than use the torn file.
TEST(SnapshotTornWrites, ATornSnapshotAtTheLogStartIsRefusedNotLoaded) {
  const fs::path root = scratch_dir("torn-snap-start");
  RemovedAfter cleanup{root};
  const fs::path live = root / "live";
  SnapshotId latest;
  {
    asio::io_context io;
    RaftConfig c = config();
    c.max_retention_bytes = 0;  // every snapshot but the latest goes, with the log below it
    RaftDriver d(io, c, RaftDriver::open_metadata_log(live, small_segments()), live);
    StateRecorder r;
    d.register_listener(&r);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return r.leader.leader_id == 1; }));
    append_values(io, d, r, 0, 30);
    write_snapshot(d, r);
    append_values(io, d, r, 30, 30);
    latest = write_snapshot(d, r);
    append_values(io, d, r, 60, 2);
    ASSERT_EQ(d.log().log_start_offset(), latest.end_offset);
    d.shutdown();
  }
  const fs::path file = live / kMetadataPartitionDir / snapshot_file_name(latest);
  tear(file, static_cast<int64_t>(fs::file_size(file)) - 1, Tear::kCut);
  asio::io_context io;
  RaftDriver d(io, config(), RaftDriver::open_metadata_log(live, small_segments()), live);
  EXPECT_THROW(d.start(), std::runtime_error);
  EXPECT_TRUE(fs::exists(file)) << "a refused start-up keeps the torn snapshot as evidence";
}
