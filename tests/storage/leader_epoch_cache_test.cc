#include "storage/leader_epoch_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "storage/background_file_writer.h"

namespace fs = std::filesystem;
using flotilla::storage::EpochEntry;
using flotilla::storage::LeaderEpochCache;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("lec-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(LeaderEpochCache, AssignsPersistsAndReloads) {
  auto d = temp_dir();
  {
    LeaderEpochCache c(d);
    c.assign(0, 0);
    c.assign(2, 10);
    c.assign(1, 5);  // older than the latest: ignored
    c.assign(5, 30);
  }
  std::ifstream in(d / "leader-epoch-checkpoint");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "0\n3\n0 0\n2 10\n5 30\n");
  LeaderEpochCache again(d);
  EXPECT_EQ(again.entries(), (std::vector<EpochEntry>{{0, 0}, {2, 10}, {5, 30}}));
  fs::remove_all(d);
}

TEST(LeaderEpochCache, EndOffsetForAnswersLikeOffsetForLeaderEpoch) {
  auto d = temp_dir();
  LeaderEpochCache c(d);
  EXPECT_EQ(c.end_offset_for(0, 0), std::make_pair(-1, int64_t{-1}));
  c.assign(1, 0);
  c.assign(3, 10);
  c.assign(4, 25);
  EXPECT_EQ(c.end_offset_for(4, 40), std::make_pair(4, int64_t{40}));  // the latest: the log end
  EXPECT_EQ(c.end_offset_for(3, 40), std::make_pair(3, int64_t{25}));
  EXPECT_EQ(c.end_offset_for(2, 40), std::make_pair(1, int64_t{10}));  // floor epoch 1 ends where 3 starts
  EXPECT_EQ(c.end_offset_for(0, 40), std::make_pair(0, int64_t{0}));   // before every entry
  EXPECT_EQ(c.end_offset_for(7, 40), std::make_pair(-1, int64_t{-1}));  // newer than anything here
  EXPECT_EQ(c.end_offset_for(-1, 40), std::make_pair(-1, int64_t{-1}));
  fs::remove_all(d);
}

TEST(LeaderEpochCache, TruncationDropsEntriesAndANewEpochReplacesOnesAtOrAfterItsStart) {
  auto d = temp_dir();
  LeaderEpochCache c(d);
  c.assign(1, 0);
  c.assign(2, 10);
  c.assign(3, 20);
  c.truncate_from_end(20);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 0}, {2, 10}}));
  c.assign(4, 10);  // epoch 2 wrote nothing that survived
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{1, 0}, {4, 10}}));
  c.truncate_from_start(12);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{4, 12}}));
  LeaderEpochCache again(d);
  EXPECT_EQ(again.entries(), (std::vector<EpochEntry>{{4, 12}}));
  fs::remove_all(d);
}

TEST(LeaderEpochCache, MalformedFileIsIgnored) {
  auto d = temp_dir();
  std::ofstream(d / "leader-epoch-checkpoint") << "0\n2\n3 10\n1 20\n";  // epochs not increasing
  LeaderEpochCache c(d);
  EXPECT_TRUE(c.entries().empty());
  fs::remove_all(d);
}

// The checkpoint is rewritten in place: a shorter rewrite leaves exactly the
// new text, and the text a crash between the write and the cut would leave
// (the new entries, then a stale tail of the old ones) reloads as the new.
TEST(LeaderEpochCache, InPlaceRewriteShrinksAndAStaleTailIsNeverRead) {
  auto d = temp_dir();
  auto text = [&] {
    std::ifstream in(d / "leader-epoch-checkpoint");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  {
    LeaderEpochCache c(d);
    c.assign(0, 0);
    c.assign(2, 10);
    c.assign(5, 30);
    struct stat before {};
    ASSERT_EQ(::stat((d / "leader-epoch-checkpoint").c_str(), &before), 0);
    c.truncate_from_end(10);
    EXPECT_EQ(text(), "0\n1\n0 0\n");
    struct stat after {};
    ASSERT_EQ(::stat((d / "leader-epoch-checkpoint").c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "rewritten through a new file";
    EXPECT_FALSE(fs::exists(d / "leader-epoch-checkpoint.tmp"));
  }
  std::ofstream(d / "leader-epoch-checkpoint", std::ios::trunc) << "0\n1\n7 40\n2 10\n5 30\n";
  LeaderEpochCache c(d);
  EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{7, 40}}));
  fs::remove_all(d);
}

namespace {

std::string epoch_file_text(const fs::path& d) {
  std::ifstream in(d / "leader-epoch-checkpoint");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST(BackgroundFileWriter, KeepsTheNewestContentPerPathAndFlushWritesAll) {
  auto d = temp_dir();
  flotilla::storage::BackgroundFileWriter w;
  for (int i = 0; i < 200; ++i) {
    w.put((d / ("f" + std::to_string(i % 20))).string(), {"v" + std::to_string(i) + "\n", -1});
  }
  w.flush();
  EXPECT_EQ(w.queued(), 0u);
  for (int i = 0; i < 20; ++i) {
    std::ifstream in(d / ("f" + std::to_string(i)));
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "v" + std::to_string(180 + i) + "\n") << "file f" << i;
  }
  fs::remove_all(d);
}

TEST(BackgroundFileWriter, TakeHandsAQueuedWriteBackSoItIsNeverWritten) {
  auto d = temp_dir();
  const std::string path = (d / "never").string();
  flotilla::storage::BackgroundFileWriter w;
  // Many queued ahead of it: the thread has not reached it when it is taken.
  for (int i = 0; i < 2000; ++i) w.put((d / ("f" + std::to_string(i))).string(), {"x", -1});
  w.put(path, {"queued", -1});
  auto taken = w.take(path);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->content, "queued");
  EXPECT_FALSE(w.take(path).has_value());
  w.flush();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists(d / "f1999"));
  fs::remove_all(d);
}

TEST(LeaderEpochCache, ADeferredAssignIsWrittenByTheWriterOrByEnsureWrittenAndNeverAfterANewerWrite) {
  auto d = temp_dir();
  flotilla::storage::BackgroundFileWriter w;
  {
    LeaderEpochCache c(d);
    c.assign(0, 0);
    c.assign_deferred(3, 10, &w);
    EXPECT_EQ(c.entries(), (std::vector<EpochEntry>{{0, 0}, {3, 10}}));  // in memory at once
    w.flush();
    EXPECT_EQ(epoch_file_text(d), "0\n2\n0 0\n3 10\n");

    // A synchronous change after a deferred one: the queued content never lands after it.
    for (int i = 0; i < 2000; ++i) w.put((d / ("busy" + std::to_string(i))).string(), {"x", -1});
    c.assign_deferred(4, 20, &w);
    c.truncate_from_end(20);  // drops epoch 4 and writes now
    w.flush();
    EXPECT_EQ(epoch_file_text(d), "0\n2\n0 0\n3 10\n");

    // ensure_written() writes a queued one now (before a batch of its epoch is appended).
    for (int i = 0; i < 2000; ++i) w.put((d / ("busy" + std::to_string(i))).string(), {"y", -1});
    c.assign_deferred(5, 20, &w);
    c.ensure_written();
    EXPECT_EQ(epoch_file_text(d), "0\n3\n0 0\n3 10\n5 20\n");

    // A discarded one (its directory goes) is not written, and a later write still cuts the file right.
    for (int i = 0; i < 2000; ++i) w.put((d / ("busy" + std::to_string(i))).string(), {"z", -1});
    c.assign_deferred(6, 30, &w);
    c.discard_queued();
    w.flush();
    EXPECT_EQ(epoch_file_text(d), "0\n3\n0 0\n3 10\n5 20\n");
    c.truncate_from_end(10);
    EXPECT_EQ(epoch_file_text(d), "0\n1\n0 0\n");
    c.assign_deferred(7, 40, &w);
  }  // destroyed with a write queued: written by the destructor
  EXPECT_EQ(epoch_file_text(d), "0\n2\n0 0\n7 40\n");
  EXPECT_EQ(LeaderEpochCache(d).entries(), (std::vector<EpochEntry>{{0, 0}, {7, 40}}));
  fs::remove_all(d);
}
