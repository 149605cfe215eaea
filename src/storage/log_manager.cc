#include "storage/log_manager.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>
#include <utility>

#include "storage/checkpoints.h"
#include "storage/file_io.h"

namespace flotilla::storage {

namespace fs = std::filesystem;

namespace {

std::string fmt_dirs(const std::vector<std::string>& dirs) {
  std::string s;
  for (const auto& d : dirs) s += (s.empty() ? "" : ",") + d;
  return s;
}

// Kafka's clean-shutdown marker: written into each log dir once every log in
// it has been flushed and closed; removed (durably) at start-up before anything
// is appended, so that it vouches only for the logs as that shutdown left them.
constexpr const char* kCleanShutdownFile = ".kafka_cleanshutdown";

// The brokerEpoch of a marker's JSON, or -1.
int64_t marker_broker_epoch(const fs::path& marker) {
  std::ifstream in(marker);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const std::regex re("\"brokerEpoch\"\\s*:\\s*(-?[0-9]{1,18})");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return -1;
  return std::stoll(m[1].str());
}

// The dir's clean-shutdown summary by partition directory name; empty when
// there is none or it is not whole (the logs are then loaded from their files).
std::unordered_map<std::string, LogSummary> read_clean_shutdown_summary(const std::string& d) {
  std::unordered_map<std::string, LogSummary> out;
  const fs::path path = fs::path(d) / kCleanShutdownSummaryFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  std::vector<uint8_t> bytes;
  struct stat st;
  bool read_all = ::fstat(fd, &st) == 0;
  if (read_all) {
    bytes.resize(static_cast<size_t>(st.st_size));
    read_all = pread_fully(fd, bytes.data(), bytes.size(), 0);
  }
  ::close(fd);
  if (!read_all) {
    spdlog::warn("[LogManager] Cannot read the clean-shutdown summary {}: its logs are loaded from their files", path.string());
    return out;
  }
  std::string error;
  auto logs = decode_log_summaries(bytes, &error);
  if (!logs) {
    spdlog::warn("[LogManager] Ignoring the clean-shutdown summary {} ({}): its logs are loaded from their files", path.string(), error);
    return out;
  }
  out.reserve(logs->size());
  for (auto& l : *logs) {
    std::string name = l.name;
    out.emplace(std::move(name), std::move(l));
  }
  return out;
}

void sync_dir(const fs::path& d) {
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

LogManager::LogManager(std::vector<std::string> log_dirs, LogConfig default_config, int writer_threads, std::vector<Uuid> dir_ids,
                       int recovery_threads, bool defer_opening)
    : dirs_(std::move(log_dirs)), dir_ids_(std::move(dir_ids)), default_config_(default_config), writer_(writer_threads) {
  dir_ids_.resize(dirs_.size());
  // 1. Each dir's checkpoints, clean-shutdown marker and partition directories.
  for (const auto& d : dirs_) {
    DirLoad load;
    load.dir = d;
    try {
      fs::create_directories(d);
      load.recovery = read_offset_checkpoint(fs::path(d) / "recovery-point-offset-checkpoint");
      load.starts = read_offset_checkpoint(fs::path(d) / "log-start-offset-checkpoint");
      const fs::path marker = fs::path(d) / kCleanShutdownFile;
      load.clean = fs::exists(marker);
      const int64_t epoch = load.clean ? marker_broker_epoch(marker) : -1;
      previous_broker_epoch_ = d == dirs_.front() ? epoch : (epoch == previous_broker_epoch_ ? epoch : -1);
      if (load.clean) load.summaries = read_clean_shutdown_summary(d);
      // Listed with getdents64 on the dir kept open for the opening (each log's
      // directory is opened relative to it), names as strings: a path per
      // entry cost ~600 bytes and a parse, 100,000 times.
      load.fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (load.fd < 0) throw fs::filesystem_error("cannot open", d, std::error_code(errno, std::generic_category()));
      for (const std::string& name : list_dir_names(load.fd, d, true)) {
        auto dash = name.rfind('-');
        if (dash == std::string::npos || dash == 0 || name == "__cluster_metadata-0") continue;
        if (name.find('.') != std::string::npos && name.ends_with("-future")) {
          // A move (AlterReplicaLogDirs) the last run did not finish: the
          // current log is intact elsewhere; the copy starts over if asked again.
          spdlog::info("[LogManager] Deleting the unfinished future log {}", d + "/" + name);
          std::error_code rm;
          fs::remove_all(fs::path(d) / name, rm);
          continue;
        }
        if (name.find('.') != std::string::npos && (name.ends_with("-delete") || name.ends_with("-stray")))
          continue;
        int32_t partition;
        try {
          size_t used;
          partition = std::stoi(name.substr(dash + 1), &used);
          if (used != name.size() - dash - 1) continue;
        } catch (...) {
          continue;
        }
        auto summary = load.summaries.find(name);
        load.pending.push_back({(d.ends_with('/') ? d : d + "/") + name, {name.substr(0, dash), partition}, nullptr, nullptr,
                                summary == load.summaries.end() ? nullptr : &summary->second});
      }
    } catch (const std::exception& e) {
      load.error = std::current_exception();
    }
    loads_.push_back(std::move(load));
  }
  // 2. The logs, opened by recovery_threads threads per dir (Kafka's
  // num.recovery.threads.per.data.dir): each open is a dozen system calls,
  // mostly waiting on the file system, and 100,000 of them in a row would hold
  // the start-up for tens of seconds. Deferred: the caller goes on meanwhile
  // (a broker replays its metadata log) and calls finish_opening() later.
  size_t total = 0;
  for (const auto& l : loads_) total += l.error ? 0 : l.pending.size();
  // Synchronous: the calling thread is one of them.
  const size_t threads = std::min<size_t>((total + 63) / 64, static_cast<size_t>(std::max(recovery_threads, 1)) * dirs_.size() -
                                                                 (defer_opening ? 0 : 1));
  opening_ = true;
  openers_running_ = static_cast<int>(threads);
  for (size_t t = 0; t < threads; ++t)
    openers_.emplace_back([this] {
      open_pending();
      openers_running_.fetch_sub(1);
    });
  if (!defer_opening) finish_opening();
}

void LogManager::open_pending() {
  for (;;) {
    const size_t i = next_pending_.fetch_add(1);
    // The i-th partition over every dir's list.
    size_t k = i;
    DirLoad* load = nullptr;
    for (auto& l : loads_) {
      if (l.error) continue;
      if (k < l.pending.size()) {
        load = &l;
        break;
      }
      k -= l.pending.size();
    }
    if (!load) return;
    Pending& p = load->pending[k];
    try {
      if (p.summary) p.log = Log::restore(p.path, default_config_, std::move(*p.summary), load->fd);
      p.restored = p.log != nullptr;
      if (!p.log) {
        auto rp = load->recovery.find(p.key);
        p.log = Log::open(p.path, default_config_, Uuid{}, rp == load->recovery.end() ? 0 : rp->second, load->clean, load->fd);
      }
    } catch (...) {
      p.error = std::current_exception();
    }
  }
}

bool LogManager::opening_done() const { return !opening_ || openers_running_.load() == 0; }

void LogManager::finish_opening() {
  if (!opening_) return;
  open_pending();  // with nobody deferring (or few partitions: no threads) this thread opens them
  for (auto& t : openers_) t.join();
  openers_.clear();
  opening_ = false;
  for (auto& load : loads_)
    if (load.fd >= 0) ::close(std::exchange(load.fd, -1));
  // 3. Each dir's logs registered, in order; a dir that failed goes offline.
  for (auto& load : loads_) {
    const std::string& d = load.dir;
    try {
      if (load.error) std::rethrow_exception(load.error);
      size_t loaded = 0, restored = 0;
      for (Pending& p : load.pending) {
        if (p.restored) ++restored;
        const auto& key = p.key;
        try {
          if (p.error) std::rethrow_exception(p.error);
          if (load.starts.count(key)) p.log->set_log_start_offset(load.starts[key]);
          logs_[key] = std::move(p.log);
        } catch (const std::exception& ex) {
          if (!is_partition_error(ex)) throw;  // the dir's own failure
          // This partition alone: the rest of the dir is served.
          spdlog::error("[LogManager] Cannot load the log of partition {} in dir {} during startup; the partition is offline: {}",
                        fs::path(p.path).filename().string(), d, ex.what());
          Failed f{d, ex.what(), std::nullopt, std::nullopt};
          if (load.recovery.count(key)) f.recovery_point = load.recovery[key];
          if (load.starts.count(key)) f.log_start = load.starts[key];
          failed_[key] = std::move(f);
        }
        set_home(key, d);
        ++loaded;
      }
      // The summary goes before the marker: never one without the other's vouching.
      std::error_code no_summary;
      const bool had_summary = fs::remove(fs::path(d) / kCleanShutdownSummaryFile, no_summary);
      if (load.clean) {
        fs::remove(fs::path(d) / kCleanShutdownFile);
        sync_dir(d);
        spdlog::info("[LogManager] Skipped the CRC checks of {} log(s) in {}: it was shut down cleanly ({} of them as its "
                     "clean-shutdown summary describes them, without opening their files)",
                     loaded, d, restored);
      } else if (had_summary) {
        sync_dir(d);
      }
      load.summaries.clear();
    } catch (const std::exception& e) {
      // Kafka's LogManager: a dir that cannot be loaded goes offline; with
      // no other dir the broker cannot run.
      if (dirs_.size() == 1) throw;
      spdlog::error("[LogManager] Error while loading log dir {}: {}", d, e.what());
      offline_.insert(d);
      for (auto it = home_.begin(); it != home_.end();) {
        if (it->second == d) {
          logs_.erase(it->first);
          failed_.erase(it->first);
          --load_[it->second];
          it = home_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  loads_.clear();
  if (offline_.size() == dirs_.size()) throw std::runtime_error("No log directories available. Tried " + fmt_dirs(dirs_));
  if (!logs_.empty()) spdlog::info("[LogManager] Loaded {} partition logs from {} log dir(s)", logs_.size(), dirs_.size());
}

LogManager::~LogManager() {
  try {
    close_all();
  } catch (...) {
  }
}

Log* LogManager::get(const std::string& topic, int32_t partition) const {
  auto it = logs_.find({topic, partition});
  return it == logs_.end() ? nullptr : it->second.get();
}

Log* LogManager::get_or_create(const std::string& topic, int32_t partition, const Uuid& topic_id, const LogConfig& config) {
  auto key = std::make_pair(topic, partition);
  if (auto it = logs_.find(key); it != logs_.end()) {
    it->second->set_config(config);
    return it->second.get();
  }
  // Its files are somewhere but could not be opened: a new log elsewhere would hide them.
  if (auto f = failed_.find(key); f != failed_.end())
    throw PartitionIoError("the log of " + dir_name(topic, partition) + " cannot be opened: " + f->second.why, 0);
  std::string best = next_dir();
  if (best.empty()) throw std::runtime_error("No log directories available. Tried " + fmt_dirs(dirs_));
  std::unique_ptr<Log> log;
  try {
    log = Log::open(fs::path(best) / dir_name(topic, partition), config, topic_id, 0);
  } catch (LogDirIoError& e) {
    e.dir = best;  // the caller takes that dir offline
    throw;
  } catch (const std::exception& e) {
    if (!is_partition_error(e)) throw;
    // This partition alone (its directory may exist now): failed, as at start-up.
    mark_failed(topic, partition, e.what());
    failed_[key].dir = best;
    set_home(key, best);
    throw PartitionIoError(e.what(), 0);
  }
  Log* raw = log.get();
  logs_[key] = std::move(log);
  set_home(key, best);
  if (cleaner_) cleaner_->add_log(topic, partition, raw);
  return raw;
}

std::string LogManager::next_dir() const {
  // Kafka's nextLogDirs: the online dir with the fewest partitions (the
  // first configured among equals).
  std::string best;
  size_t best_load = 0;
  for (const auto& d : dirs_) {
    if (offline_.count(d)) continue;
    auto l = load_.find(d);
    const size_t n = l == load_.end() ? 0 : l->second;
    if (best.empty() || n < best_load) {
      best = d;
      best_load = n;
    }
  }
  return best;
}

void LogManager::set_home(const TopicPartition& key, const std::string& dir) {
  auto [it, added] = home_.try_emplace(key, dir);
  if (!added) {
    if (it->second == dir) return;
    --load_[it->second];
    it->second = dir;
  }
  ++load_[dir];
}

void LogManager::drop_home(const TopicPartition& key) {
  auto it = home_.find(key);
  if (it == home_.end()) return;
  --load_[it->second];
  home_.erase(it);
}

Uuid LogManager::dir_id(const std::string& dir) const {
  for (size_t i = 0; i < dirs_.size(); ++i)
    if (dirs_[i] == dir) return dir_ids_[i];
  return Uuid{};
}

std::string LogManager::dir_of(const std::string& topic, int32_t partition) const {
  auto it = home_.find({topic, partition});
  return it == home_.end() ? std::string() : it->second;
}

Uuid LogManager::dir_id_of(const std::string& topic, int32_t partition) const {
  std::string d = dir_of(topic, partition);
  return d.empty() ? Uuid{} : dir_id(d);
}

std::string LogManager::dir_with_id(const Uuid& id) const {
  for (size_t i = 0; i < dirs_.size(); ++i)
    if (dir_ids_[i] == id && !id.is_zero()) return dirs_[i];
  return {};
}

bool LogManager::mark_offline(const std::string& dir) { return offline_.insert(dir).second; }

std::vector<Uuid> LogManager::online_dir_ids() const {
  std::vector<Uuid> out;
  for (size_t i = 0; i < dirs_.size(); ++i)
    if (!offline_.count(dirs_[i]) && !dir_ids_[i].is_zero()) out.push_back(dir_ids_[i]);
  return out;
}

std::vector<Uuid> LogManager::offline_dir_ids() const {
  std::vector<Uuid> out;
  for (size_t i = 0; i < dirs_.size(); ++i)
    if (offline_.count(dirs_[i]) && !dir_ids_[i].is_zero()) out.push_back(dir_ids_[i]);
  return out;
}

namespace {
// Kafka's LogManager naming of a log being moved or deleted: `<topic>-<partition>.<uuid hex>-<suffix>`.
std::string renamed(const std::string& topic, int32_t partition, const char* suffix) {
  Uuid u = Uuid::random();
  return LogManager::dir_name(topic, partition) + "." + fmt::format("{:016x}{:016x}", u.hi, u.lo) + "-" + suffix;
}
}  // namespace

Log* LogManager::create_future(const std::string& topic, int32_t partition, const std::string& dir) {
  auto key = std::make_pair(topic, partition);
  auto cur = logs_.find(key);
  if (cur == logs_.end()) throw std::runtime_error("no log for " + dir_name(topic, partition));
  if (auto f = futures_.find(key); f != futures_.end()) {
    if (f->second.dir == dir) return f->second.log.get();
    remove_future(topic, partition);
  }
  std::unique_ptr<Log> log;
  try {
    log = Log::open(fs::path(dir) / renamed(topic, partition, "future"), cur->second->config(), cur->second->topic_id(), 0);
  } catch (LogDirIoError& e) {
    e.dir = dir;
    throw;
  }
  Log* raw = log.get();
  futures_[key] = Future{std::move(log), dir};
  return raw;
}

Log* LogManager::future(const std::string& topic, int32_t partition) const {
  auto it = futures_.find({topic, partition});
  return it == futures_.end() ? nullptr : it->second.log.get();
}

std::string LogManager::future_dir_of(const std::string& topic, int32_t partition) const {
  auto it = futures_.find({topic, partition});
  return it == futures_.end() ? std::string() : it->second.dir;
}

void LogManager::remove_future(const std::string& topic, int32_t partition) {
  auto it = futures_.find({topic, partition});
  if (it == futures_.end()) return;
  it->second.log->remove();
  futures_.erase(it);
}

Log* LogManager::promote_future(const std::string& topic, int32_t partition) {
  auto key = std::make_pair(topic, partition);
  auto f = futures_.find(key);
  auto cur = logs_.find(key);
  if (f == futures_.end() || cur == logs_.end()) throw std::runtime_error("no future log for " + dir_name(topic, partition));
  const LogConfig config = cur->second->config();
  const Uuid topic_id = cur->second->topic_id();
  const int64_t start = cur->second->log_start_offset();
  if (cleaner_) cleaner_->remove_log(cur->second.get());
  // The current log leaves first (renamed, then deleted), then the future takes its name.
  const fs::path old_dir = cur->second->dir();
  cur->second->close();
  const fs::path doomed = old_dir.parent_path() / renamed(topic, partition, "delete");
  fs::rename(old_dir, doomed);
  logs_.erase(cur);
  std::error_code ec;
  fs::remove_all(doomed, ec);
  Log& fut = *f->second.log;
  const fs::path future_dir = fut.dir();
  const int64_t end = fut.log_end_offset();
  fut.close();
  const fs::path target = fs::path(f->second.dir) / dir_name(topic, partition);
  fs::rename(future_dir, target);
  const std::string dir = f->second.dir;
  futures_.erase(f);
  auto log = Log::open(target, config, topic_id, end, true);
  if (log->log_start_offset() < start) log->set_log_start_offset(start);
  Log* raw = log.get();
  logs_[key] = std::move(log);
  set_home(key, dir);
  if (cleaner_) cleaner_->add_log(topic, partition, raw);
  return raw;
}

bool LogManager::is_partition_error(const std::exception& e) {
  if (dynamic_cast<const PartitionIoError*>(&e)) return true;
  if (dynamic_cast<const LogDirIoError*>(&e)) return false;
  if (const auto* fe = dynamic_cast<const fs::filesystem_error*>(&e))
    return fe->code().category() == std::generic_category() || fe->code().category() == std::system_category()
               ? !is_log_dir_errno(fe->code().value())
               : false;
  return false;
}

bool LogManager::mark_failed(const std::string& topic, int32_t partition, const std::string& why) {
  auto key = std::make_pair(topic, partition);
  if (failed_.count(key)) return false;
  Failed f{dir_of(topic, partition), why, std::nullopt, std::nullopt};
  if (auto it = logs_.find(key); it != logs_.end()) {
    f.recovery_point = it->second->flushed_offset();
    f.log_start = it->second->log_start_offset();
    if (cleaner_) cleaner_->remove_log(it->second.get());
  }
  failed_[key] = std::move(f);
  return true;
}

std::map<std::pair<std::string, int32_t>, std::string> LogManager::failed_partitions() const {
  std::map<std::pair<std::string, int32_t>, std::string> out;
  for (const auto& [k, f] : failed_) out[k] = f.why;
  return out;
}

void LogManager::remove(const std::string& topic, int32_t partition) {
  auto key = std::make_pair(topic, partition);
  if (auto f = failed_.find(key); f != failed_.end()) {
    // A deleted topic's partition that could not be opened: its files go too (as far as they can).
    std::error_code ec;
    if (!f->second.dir.empty() && !logs_.count(key)) fs::remove_all(fs::path(f->second.dir) / dir_name(topic, partition), ec);
    failed_.erase(f);
  }
  remove_future(topic, partition);
  auto it = logs_.find(key);
  if (it == logs_.end()) return;
  if (cleaner_) cleaner_->remove_log(it->second.get());
  it->second->remove();
  logs_.erase(it);
  drop_home(key);
}

std::vector<std::pair<std::pair<std::string, int32_t>, Log*>> LogManager::all() const {
  std::vector<std::pair<std::pair<std::string, int32_t>, Log*>> out;
  for (const auto& [k, l] : logs_) out.emplace_back(k, l.get());
  return out;
}

void LogManager::checkpoint_recovery_points() {
  for (const auto& d : dirs_) {
    if (offline_.count(d)) continue;
    TopicPartitionOffsets rp, starts;
    for (const auto& [k, log] : logs_) {
      if (home_[k] != d || failed_.count(k)) continue;
      rp[k] = log->flushed_offset();
      starts[k] = log->log_start_offset();
    }
    for (const auto& [k, f] : failed_) {  // carried over as loaded, so a restart that opens them loses nothing
      if (f.dir != d) continue;
      if (f.recovery_point) rp[k] = *f.recovery_point;
      if (f.log_start) starts[k] = *f.log_start;
    }
    try {
      write_offset_checkpoint(fs::path(d) / "recovery-point-offset-checkpoint", rp);
      write_offset_checkpoint(fs::path(d) / "log-start-offset-checkpoint", starts);
    } catch (const LogDirIoError& e) {
      spdlog::error("[LogManager] Cannot write the checkpoints of {}: {}", d, e.what());
      if (!dir_failure_handler_) throw;
      dir_failure_handler_(d, e.what());
    }
  }
}

void LogManager::start_cleaner(const CleanerConfig& config) {
  if (cleaner_ || !config.enable) return;
  cleaner_ = std::make_unique<LogCleaner>(config);
  for (const auto& [k, l] : logs_) cleaner_->add_log(k.first, k.second, l.get());
  cleaner_->start();
}

void LogManager::close_all() {
  if (closed_) return;
  finish_opening();  // a shutdown during start-up: the logs being opened are closed like the rest
  if (cleaner_) {
    cleaner_->stop();
    for (const auto& [k, l] : logs_) cleaner_->remove_log(l.get());
  }
  for (auto& [k, f] : futures_)
    if (!offline_.count(f.dir)) f.log->close();  // left for a restart to ignore (Kafka would resume the move)
  futures_.clear();
  std::set<std::string> unvouched;  // dirs holding a failed partition: their marker would vouch for logs never recovered
  for (const auto& [k, f] : failed_) unvouched.insert(f.dir);
  std::map<std::string, std::vector<LogSummary>> summaries;  // by dir
  for (auto& [k, log] : logs_) {
    if (offline_.count(home_[k]) || failed_.count(k)) continue;  // an offline dir or partition is never touched again
    log->close();  // flushes; a failure throws before the marker
    // The broker wrote the epoch file (its writer is drained by now); a file
    // that exists but cannot be read leaves the log to be loaded from its files.
    errno = 0;
    std::optional<std::string> epochs = read_small_file(AT_FDCWD, (log->dir_string() + "/leader-epoch-checkpoint").c_str());
    if (!epochs && errno != ENOENT) continue;
    if (auto summary = log->summarize(epochs.value_or(std::string()))) summaries[home_[k]].push_back(std::move(*summary));
  }
  checkpoint_recovery_points();
  const std::string marker = broker_epoch_ >= 0 ? "{\"version\":0,\"brokerEpoch\":" + std::to_string(broker_epoch_) + "}" : "";
  for (const auto& d : dirs_) {
    if (offline_.count(d)) continue;
    if (unvouched.count(d)) {
      spdlog::warn("[LogManager] No clean-shutdown marker in {}: partitions in it could not be opened", d);
      continue;
    }
    try {
      write_file_atomically(fs::path(d) / kCleanShutdownSummaryFile, encode_log_summaries(summaries[d]), Durability::Synced);
    } catch (const std::exception& e) {  // the next start-up opens every log's files instead
      spdlog::warn("[LogManager] Cannot write the clean-shutdown summary of {}: {}", d, e.what());
    }
    write_file_atomically(fs::path(d) / kCleanShutdownFile, marker, Durability::Synced);
  }
  logs_.clear();
  home_.clear();
  load_.clear();
  closed_ = true;
}

}  // namespace flotilla::storage
