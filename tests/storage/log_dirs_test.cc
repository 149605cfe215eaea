// LogManager over several log dirs (JBOD, KIP-858): directory ids, placement
// of new partitions (the online dir with the fewest), partitions found again
// in their dir after a restart, offline dirs (no placement, no checkpoints or
// marker, unreadable at start: offline rather than fatal unless the only dir).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "common/directory_id.h"
#include "storage/log_manager.h"
#include "temp_dir.h"

namespace flotilla::storage {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct ThreeDirs {
  TempDir root{"flotilla-jbod"};
  std::vector<std::string> dirs;
  std::vector<Uuid> ids;
  ThreeDirs() {
    for (int i = 0; i < 3; ++i) {
      dirs.push_back((root.path / ("d" + std::to_string(i))).string());
      ids.push_back(directory_id::random());
    }
  }
};

TEST(LogDirs, DirectoryIdsAreRandomAndNeverReserved) {
  std::set<Uuid> seen;
  for (int i = 0; i < 200; ++i) {
    Uuid u = directory_id::random();
    EXPECT_FALSE(directory_id::reserved(u));
    EXPECT_TRUE(seen.insert(u).second);
  }
  EXPECT_TRUE(directory_id::reserved(directory_id::kUnassigned));
  EXPECT_TRUE(directory_id::reserved(directory_id::kLost));
  EXPECT_TRUE(directory_id::reserved(directory_id::kMigrating));
  EXPECT_TRUE(directory_id::reserved(Uuid{0, 99}));
  EXPECT_FALSE(directory_id::reserved(Uuid{0, 100}));
  // Kafka's DirectoryId.isOnline.
  const Uuid a{7, 7}, b{8, 8};
  EXPECT_TRUE(directory_id::is_online(directory_id::kUnassigned, {a}));
  EXPECT_TRUE(directory_id::is_online(directory_id::kMigrating, {a}));
  EXPECT_FALSE(directory_id::is_online(directory_id::kLost, {a}));
  EXPECT_TRUE(directory_id::is_online(a, {a, b}));
  EXPECT_FALSE(directory_id::is_online(b, {a}));
  EXPECT_TRUE(directory_id::is_online(b, {}));  // a broker that registered no dirs
}

TEST(LogDirs, NewPartitionsGoToTheDirWithFewestAndStayThereAcrossRestarts) {
  ThreeDirs t;
  std::map<int32_t, std::string> home;
  {
    LogManager m(t.dirs, LogConfig{}, 1, t.ids);
    // Dir 1 already holds two partitions: the next ones fill 0 and 2 first.
    m.get_or_create("x", 0, Uuid{1, 1}, LogConfig{});
    m.get_or_create("x", 1, Uuid{1, 1}, LogConfig{});
    EXPECT_EQ(m.dir_of("x", 0), t.dirs[0]);
    EXPECT_EQ(m.dir_of("x", 1), t.dirs[1]);
    for (int32_t p = 0; p < 7; ++p) {
      m.get_or_create("t", p, Uuid{2, 2}, LogConfig{});
      home[p] = m.dir_of("t", p);
      EXPECT_EQ(m.dir_id_of("t", p), m.dir_id(home[p]));
    }
    std::map<std::string, int> count;
    for (const auto& [k, l] : m.all()) ++count[m.dir_of(k.first, k.second)];
    EXPECT_EQ(count[t.dirs[0]], 3);
    EXPECT_EQ(count[t.dirs[1]], 3);
    EXPECT_EQ(count[t.dirs[2]], 3);
    EXPECT_EQ(m.dir_with_id(t.ids[2]), t.dirs[2]);
    EXPECT_EQ(m.online_dir_ids(), t.ids);
    m.close_all();
  }
  LogManager again(t.dirs, LogConfig{}, 1, t.ids);
  for (int32_t p = 0; p < 7; ++p) {
    ASSERT_NE(again.get("t", p), nullptr);
    EXPECT_EQ(again.dir_of("t", p), home[p]);
    EXPECT_TRUE(fs::exists(fs::path(home[p]) / ("t-" + std::to_string(p))));
  }
}

TEST(LogDirs, AnOfflineDirTakesNoPartitionsAndIsNotWrittenAtShutdown) {
  ThreeDirs t;
  LogManager m(t.dirs, LogConfig{}, 1, t.ids);
  EXPECT_TRUE(m.mark_offline(t.dirs[0]));
  EXPECT_FALSE(m.mark_offline(t.dirs[0]));
  EXPECT_EQ(m.offline_dir_ids(), std::vector<Uuid>{t.ids[0]});
  EXPECT_EQ(m.online_dir_ids(), (std::vector<Uuid>{t.ids[1], t.ids[2]}));
  for (int32_t p = 0; p < 4; ++p) {
    m.get_or_create("t", p, Uuid{2, 2}, LogConfig{});
    EXPECT_NE(m.dir_of("t", p), t.dirs[0]);
  }
  m.close_all();
  EXPECT_FALSE(fs::exists(fs::path(t.dirs[0]) / ".kafka_cleanshutdown"));
  EXPECT_FALSE(fs::exists(fs::path(t.dirs[0]) / "recovery-point-offset-checkpoint"));
  EXPECT_TRUE(fs::exists(fs::path(t.dirs[1]) / ".kafka_cleanshutdown"));
}

TEST(LogDirs, AnUnloadableDirGoesOfflineUnlessItIsTheOnlyOne) {
  ThreeDirs t;
  // A file where a dir should be: it cannot be loaded.
  fs::create_directories(t.root.path);
  { std::ofstream(t.dirs[1]) << "not a directory"; }
  LogManager m(t.dirs, LogConfig{}, 1, t.ids);
  EXPECT_TRUE(m.is_offline(t.dirs[1]));
  EXPECT_FALSE(m.is_offline(t.dirs[0]));
  EXPECT_THROW(LogManager({t.dirs[1]}, LogConfig{}), std::exception);
}

TEST(LogDirs, APartitionWhoseFilesCannotBeOpenedIsOfflineAloneAndKeptForTheNextStart) {
  TempDir root{"flotilla-failed"};
  const std::string dir = (root.path / "d").string();
  {
    LogManager m({dir}, LogConfig{}, 1);
    for (int p = 0; p < 3; ++p) m.get_or_create("t", p, Uuid{1, 1}, LogConfig{});
    m.close_all();
  }
  // t-1's index cannot be opened for writing (a directory where the file
  // is: EISDIR, an error of that partition, not of the dir).
  const fs::path index = fs::path(dir) / "t-1" / "00000000000000000000.index";
  fs::remove(index);
  fs::create_directory(index);
  // Without the clean-shutdown summary (which restores a log without opening
  // its files: the failure would show at the first use), the start opens them.
  fs::remove(fs::path(dir) / kCleanShutdownSummaryFile);
  LogManager m({dir}, LogConfig{}, 1);
  EXPECT_FALSE(m.is_offline(dir));
  EXPECT_NE(m.get("t", 0), nullptr);
  EXPECT_NE(m.get("t", 2), nullptr);
  EXPECT_EQ(m.get("t", 1), nullptr);
  ASSERT_TRUE(m.is_failed("t", 1));
  EXPECT_NE(m.failed_partitions().at({"t", 1}).find("00000000000000000000.index"), std::string::npos);
  // Never created afresh (it would hide its data).
  EXPECT_THROW(m.get_or_create("t", 1, Uuid{1, 1}, LogConfig{}), PartitionIoError);
  m.close_all();
  // Its checkpoint entry is carried over; no clean-shutdown marker vouches for it.
  std::ifstream cp(fs::path(dir) / "recovery-point-offset-checkpoint");
  std::string text((std::istreambuf_iterator<char>(cp)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("t 1 "), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(fs::path(dir) / ".kafka_cleanshutdown"));
  // Once its files can be opened, the next start serves it.
  fs::remove(index);
  LogManager again({dir}, LogConfig{}, 1);
  EXPECT_FALSE(again.is_failed("t", 1));
  EXPECT_NE(again.get("t", 1), nullptr);
}

// A broker's LogManager opens its logs on the recovery threads while the
// caller goes on (defer_opening); finish_opening() registers them, and a
// close during the opening waits for it and closes them all cleanly.
TEST(LogDirs, DeferredOpeningLoadsEveryLogAndACloseMeanwhileFinishesIt) {
  ThreeDirs t;
  {
    LogManager m(t.dirs, LogConfig{}, 1, t.ids);
    for (int32_t p = 0; p < 300; ++p) m.get_or_create("t", p, Uuid{3, 3}, LogConfig{});
    m.close_all();
  }
  {
    LogManager m(t.dirs, LogConfig{}, 1, t.ids, 2, /*defer_opening=*/true);
    while (!m.opening_done()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    m.finish_opening();
    m.finish_opening();  // idempotent
    EXPECT_EQ(m.all().size(), 300u);
    for (int32_t p = 0; p < 300; ++p) ASSERT_NE(m.get("t", p), nullptr) << p;
    for (const auto& d : t.dirs) EXPECT_FALSE(fs::exists(fs::path(d) / ".kafka_cleanshutdown")) << "removed once loaded";
    m.close_all();
  }
  {
    LogManager m(t.dirs, LogConfig{}, 1, t.ids, 2, /*defer_opening=*/true);
    m.close_all();  // at once: the opening is finished, then every log closed
  }
  for (const auto& d : t.dirs) EXPECT_TRUE(fs::exists(fs::path(d) / ".kafka_cleanshutdown")) << d;
  // What the listing takes for a partition: directories (and links to them), not files of that name.
  std::ofstream(fs::path(t.dirs[0]) / "stray-0") << "not a log";
  fs::create_directory_symlink(fs::path(t.dirs[0]) / "t-0", fs::path(t.dirs[1]) / "linked-0");
  LogManager again(t.dirs, LogConfig{}, 1, t.ids, 2, /*defer_opening=*/true);
  again.finish_opening();
  EXPECT_EQ(again.all().size(), 301u);
  EXPECT_EQ(again.get("stray", 0), nullptr);
  EXPECT_NE(again.get("linked", 0), nullptr);
  EXPECT_FALSE(again.is_failed("stray", 0));
}

TEST(LogDirs, AnErrorOfTheDirsFileSystemIsNotAPartitionError) {
  EXPECT_TRUE(LogManager::is_partition_error(PartitionIoError("x", EMFILE)));
  EXPECT_FALSE(LogManager::is_partition_error(LogDirIoError("x", EIO)));
  EXPECT_TRUE(LogManager::is_partition_error(fs::filesystem_error("x", std::error_code(EACCES, std::generic_category()))));
  EXPECT_FALSE(LogManager::is_partition_error(fs::filesystem_error("x", std::error_code(EROFS, std::generic_category()))));
  EXPECT_FALSE(LogManager::is_partition_error(StorageError("corrupt")));
}

TEST(LogDirs, AFutureLogIsPromotedInPlaceOfTheCurrentOne) {
  ThreeDirs t;
  LogManager m(t.dirs, LogConfig{}, 1, t.ids);
  Log* cur = m.get_or_create("t", 0, Uuid{2, 2}, LogConfig{});
  const std::string from = m.dir_of("t", 0);
  const std::string to = from == t.dirs[0] ? t.dirs[1] : t.dirs[0];
  Log* fut = m.create_future("t", 0, to);
  EXPECT_EQ(m.future("t", 0), fut);
  EXPECT_EQ(m.future_dir_of("t", 0), to);
  EXPECT_EQ(fut->dir().parent_path(), fs::path(to));
  const std::string name = fut->dir().filename().string();
  EXPECT_TRUE(name.starts_with("t-0.") && name.ends_with("-future")) << name;
  EXPECT_EQ(m.create_future("t", 0, to), fut);  // one per partition
  (void)cur;

  Log* promoted = m.promote_future("t", 0);
  EXPECT_EQ(m.get("t", 0), promoted);
  EXPECT_EQ(m.dir_of("t", 0), to);
  EXPECT_EQ(m.future("t", 0), nullptr);
  EXPECT_TRUE(fs::exists(fs::path(to) / "t-0"));
  EXPECT_FALSE(fs::exists(fs::path(from) / "t-0"));
  for (const auto& d : t.dirs)
    for (const auto& e : fs::directory_iterator(d)) EXPECT_EQ(e.path().filename().string().find("-future"), std::string::npos);

  // An unfinished future log is deleted at the next start.
  m.create_future("t", 0, from);
  m.close_all();
  LogManager again(t.dirs, LogConfig{}, 1, t.ids);
  EXPECT_EQ(again.dir_of("t", 0), to);
  for (const auto& e : fs::directory_iterator(from)) EXPECT_EQ(e.path().filename().string().find("-future"), std::string::npos);
}

}  // namespace
}  // namespace flotilla::storage
