#include "metadata/snapshot.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/clock.h"
#include "metadata/acls.h"
#include "metadata/delegation_tokens.h"
#include "metadata/snapshot_metrics.h"
#include "metadata/bootstrap.h"
#include "protocol/metadata_record.h"

namespace flotilla::metadata {

using protocol::frame_metadata_record;

namespace {

// A registration's listeners and supported feature ranges into its record
// (RegisterBrokerRecord and RegisterControllerRecord carry the same fields).
template <class Record, class Registration>
void put_registration(Record& r, const Registration& reg) {
  for (const auto& l : reg.listeners) {
    typename decltype(r.end_points)::value_type e;
    e.name = l.name;
    e.host = l.host;
    e.port = l.port;
    e.security_protocol = l.security_protocol;
    r.end_points.push_back(std::move(e));
  }
  for (const auto& [name, f] : reg.supported_features) {
    typename decltype(r.features)::value_type x;
    x.name = name;
    x.min_supported_version = f.min_version;
    x.max_supported_version = f.max_version;
    r.features.push_back(std::move(x));
  }
}
constexpr size_t kMaxRecordsPerBatch = 1000;
constexpr size_t kMaxBytesPerBatch = 1 << 20;
}  // namespace

std::vector<std::vector<uint8_t>> image_records(const MetadataImage& image) {
  std::vector<std::vector<uint8_t>> out;
  const int16_t mv = image.metadata_version();
  // Features: metadata.version first (a reader needs it to read the rest).
  auto feature = [&](const std::string& name, int16_t level) {
    msg::FeatureLevelRecord f;
    f.name = name;
    f.feature_level = level;
    out.push_back(frame_metadata_record(f, 0));
  };
  if (auto it = image.features().find(kMetadataVersionFeature); it != image.features().end()) feature(it->first, it->second);
  for (const auto& [name, level] : image.features())
    if (name != kMetadataVersionFeature) feature(name, level);
  // Brokers, with their fenced and controlled-shutdown state.
  for (const auto& [id, b] : image.brokers()) {
    msg::RegisterBrokerRecord r;
    r.broker_id = b.id;
    r.broker_epoch = b.epoch;
    r.incarnation_id = b.incarnation_id;
    put_registration(r, b);
    r.rack = b.rack;
    r.fenced = b.fenced;
    r.in_controlled_shutdown = b.in_controlled_shutdown;
    r.log_dirs = b.log_dirs;
    r.flotilla_max_partitions = b.max_partitions;
    out.push_back(frame_metadata_record(r, register_broker_record_version(mv)));
  }
  // Controllers (KIP-919).
  for (const auto& [id, c] : image.controllers()) {
    msg::RegisterControllerRecord r;
    r.controller_id = c.id;
    r.incarnation_id = c.incarnation_id;
    r.zk_migration_ready = c.zk_migration_ready;
    put_registration(r, c);
    out.push_back(frame_metadata_record(r, 0));
  }
  // Topics and their partitions.
  for (const auto& [name, t] : image.topics_by_name()) {
    msg::TopicRecord tr;
    tr.name = t.name;
    tr.topic_id = t.id;
    out.push_back(frame_metadata_record(tr, 0));
    for (const auto& [idx, p] : t.partitions) {
      msg::PartitionRecord pr;
      pr.partition_id = idx;
      pr.topic_id = t.id;
      pr.replicas = p.replicas;
      pr.isr = p.isr;
      pr.removing_replicas = p.removing_replicas;
      pr.adding_replicas = p.adding_replicas;
      pr.leader = p.leader;
      pr.leader_recovery_state = p.leader_recovery_state;
      pr.leader_epoch = p.leader_epoch;
      pr.partition_epoch = p.partition_epoch;
      pr.directories = p.directories;
      if (partition_record_version(mv) >= 2) {
        pr.eligible_leader_replicas = p.elr;
        pr.last_known_elr = p.last_known_elr;
      }
      out.push_back(frame_metadata_record(pr, partition_record_version(mv)));
    }
  }
  // Configs (topics, brokers, the cluster default).
  for (const auto& [res, m] : image.configs()) {
    for (const auto& [key, value] : m) {
      msg::ConfigRecord c;
      c.resource_type = res.type;
      c.resource_name = res.name;
      c.name = key;
      c.value = value;
      out.push_back(frame_metadata_record(c, 0));
    }
  }
  // Client quotas (Kafka's ClientQuotasImage: after the configs), one record per key.
  for (const auto& [entity, values] : image.client_quotas()) {
    for (const auto& [key, value] : values) {
      msg::ClientQuotaRecord q;
      for (const auto& [type, name] : entity.entries) q.entity.push_back({type, name});
      q.key = key;
      q.value = value;
      q.remove = false;
      out.push_back(frame_metadata_record(q, 0));
    }
  }
  // SCRAM credentials (Kafka's ScramImage), by user then mechanism.
  for (const auto& [key, c] : image.scram()) {
    msg::UserScramCredentialRecord u;
    u.name = key.first;
    u.mechanism = static_cast<int8_t>(key.second);
    u.salt = c.salt;
    u.stored_key = c.stored_key;
    u.server_key = c.server_key;
    u.iterations = c.iterations;
    out.push_back(frame_metadata_record(u, 0));
  }
  if (image.next_producer_id() >= 0) {
    msg::ProducerIdsRecord p;
    p.broker_id = -1;
    p.broker_epoch = -1;
    p.next_producer_id = image.next_producer_id();
    out.push_back(frame_metadata_record(p, 0));
  }
  // ACLs (Kafka's AclsImage), by id.
  for (const auto& [id, acl] : image.acls()) out.push_back(frame_metadata_record(acl_record(acl), 0));
  // Delegation tokens (Kafka's DelegationTokenImage, written after the SCRAM
  // credentials and ACLs), by token id.
  for (const auto& [id, t] : image.delegation_tokens()) out.push_back(frame_metadata_record(delegation_token_record(t), 0));
  return out;
}

std::filesystem::path write_image_snapshot(const std::filesystem::path& partition_dir, const MetadataImage& image,
                                           const KraftState& kraft, int64_t now_ms, int64_t last_contained_log_timestamp) {
  raft::SnapshotId id{image.offset() + 1, image.epoch() < 0 ? 0 : image.epoch()};
  raft::SnapshotWriter w(id, last_contained_log_timestamp >= 0 ? last_contained_log_timestamp : now_ms, now_ms);
  if (kraft) w.set_kraft_version(kraft->first, kraft->second);
  auto records = image_records(image);
  std::vector<std::vector<uint8_t>> batch;
  size_t bytes = 0;
  for (auto& r : records) {
    bytes += r.size();
    batch.push_back(std::move(r));
    if (batch.size() >= kMaxRecordsPerBatch || bytes >= kMaxBytesPerBatch) {
      w.append(batch);
      batch.clear();
      bytes = 0;
    }
  }
  w.append(batch);
  return w.write_snapshot(partition_dir);
}

std::optional<LoadedSnapshot> read_latest_snapshot(const std::filesystem::path& partition_dir, int64_t max_end_offset) {
  raft::remove_partial_snapshots(partition_dir);
  auto ids = raft::list_snapshots(partition_dir);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (it->end_offset <= 0) continue;  // the bootstrap checkpoint: no metadata in it
    auto path = partition_dir / raft::snapshot_file_name(*it);
    if (it->end_offset > max_end_offset) {
      spdlog::warn("[SnapshotLoader] Skipping snapshot {}: it ends past the metadata log (end offset {})", path.string(),
                   max_end_offset);
      continue;
    }
    std::string why;
    if (auto contents = raft::read_complete_snapshot(path, why)) return LoadedSnapshot{*it, path, std::move(*contents)};
    spdlog::error("[SnapshotLoader] Skipping corrupt snapshot {}: {}", path.string(), why);
  }
  return std::nullopt;
}

void load_snapshot(MetadataLoader& loader, const LoadedSnapshot& s) { loader.handle_load_snapshot(s.id, s.contents); }

// ---------------------------------------------------------------- generator

SnapshotGenerator::SnapshotGenerator(asio::io_context& io, std::filesystem::path partition_dir, const MetadataLoader& loader,
                                     SnapshotGeneratorConfig config)
    : io_(io), dir_(std::move(partition_dir)), loader_(loader), config_(std::move(config)), timer_(io) {
  thread_ = std::make_unique<asio::thread_pool>(1);
  last_time_ms_ = now_ms();
  bytes_at_last_ = committed_bytes();
}

SnapshotGenerator::~SnapshotGenerator() {
  stop();
  *alive_ = false;
}

void SnapshotGenerator::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  timer_armed_ = false;
  thread_->join();
}

int64_t SnapshotGenerator::now_ms() const { return config_.clock ? config_.clock() : wall_clock_ms(); }

int64_t SnapshotGenerator::committed_bytes() const {
  return config_.committed_bytes ? config_.committed_bytes() : loader_.committed_record_bytes();
}

void SnapshotGenerator::set_latest(raft::SnapshotId id) {
  latest_ = id;
  bytes_at_last_ = committed_bytes();
  last_time_ms_ = now_ms();
  // Kafka's LatestSnapshotGeneratedBytes is the loaded snapshot's size until one is generated.
  std::error_code ec;
  auto size = std::filesystem::file_size(dir_ / raft::snapshot_file_name(id), ec);
  auto& m = metadata_metrics();
  m.latest_snapshot_end_offset.store(id.end_offset, std::memory_order_relaxed);
  m.latest_snapshot_bytes.store(ec ? 0 : static_cast<int64_t>(size), std::memory_order_relaxed);
}

bool SnapshotGenerator::has_new_records(const std::shared_ptr<const MetadataImage>& image) const {
  if (!image || image->empty()) return false;
  if (latest_ && image->offset() + 1 <= latest_->end_offset) return false;
  return committed_bytes() - bytes_at_last_ > 0;
}

void SnapshotGenerator::publish(const MetadataDelta&, std::shared_ptr<const MetadataImage> image) {
  last_image_ = image;
  if (!maybe_start(image) && !writing_ && has_new_records(image)) arm_timer();
}

void SnapshotGenerator::arm_timer() {
  if (stopped_ || timer_armed_ || config_.max_interval_ms <= 0) return;
  // At least 1 ms: a clock that disagrees with the timer never spins the loop.
  int64_t delay = std::max<int64_t>(1, last_time_ms_ + config_.max_interval_ms - now_ms());
  timer_armed_ = true;
  timer_.expires_after(std::chrono::milliseconds(delay));
  auto alive = alive_;
  timer_.async_wait([this, alive](const std::error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    timer_armed_ = false;
    on_timer();
  });
}

void SnapshotGenerator::on_timer() {
  if (stopped_ || writing_) return;  // the write's completion re-checks
  if (maybe_start(last_image_)) return;
  // Not yet due (the interval restarted at a later snapshot), or nothing new:
  // wait again only while there is something to snapshot.
  if (has_new_records(last_image_)) arm_timer();
}

bool SnapshotGenerator::maybe_start(const std::shared_ptr<const MetadataImage>& image) {
  if (writing_ || stopped_ || !image || image->empty()) return false;
  if (latest_ && image->offset() + 1 <= latest_->end_offset) return false;  // already snapshotted
  const int64_t bytes = committed_bytes();
  int64_t new_bytes = bytes - bytes_at_last_;
  int64_t now = now_ms();
  bool by_bytes = new_bytes >= config_.max_bytes_between_snapshots;
  bool by_time = config_.max_interval_ms > 0 && new_bytes > 0 && now - last_time_ms_ >= config_.max_interval_ms;
  if (!by_bytes && !by_time) return false;
  writing_ = true;
  bytes_at_last_ = bytes;
  last_time_ms_ = now;
  raft::SnapshotId id{image->offset() + 1, image->epoch() < 0 ? 0 : image->epoch()};
  KraftState kraft = config_.kraft_state ? config_.kraft_state(id.end_offset) : std::nullopt;
  spdlog::info("[SnapshotGenerator] Creating snapshot {} ({} new committed bytes{})", raft::snapshot_file_name(id), new_bytes,
               by_bytes ? "" : ", interval elapsed");
  int64_t last_ts = loader_.last_append_timestamp();
  auto alive = alive_;
  asio::post(*thread_, [this, alive, image, kraft, id, now, last_ts] {
    bool ok = true;
    int64_t size = 0;
    const int64_t started_us = monotonic_us();
    try {
      auto path = write_image_snapshot(dir_, *image, kraft, now, last_ts);
      std::error_code ec;
      auto n = std::filesystem::file_size(path, ec);
      size = ec ? 0 : static_cast<int64_t>(n);
    } catch (const std::exception& e) {
      ok = false;
      spdlog::error("[SnapshotGenerator] Writing snapshot {} failed: {}", raft::snapshot_file_name(id), e.what());
    }
    const int64_t took_us = monotonic_us() - started_us;
    asio::post(io_, [this, alive, id, ok, size, took_us] {
      if (!*alive) return;
      writing_ = false;
      if (ok) {
        latest_ = id;
        ++written_;
        auto& m = metadata_metrics();
        m.latest_snapshot_end_offset.store(id.end_offset, std::memory_order_relaxed);
        m.latest_snapshot_bytes.store(size, std::memory_order_relaxed);
        m.latest_snapshot_time_ms.store(wall_clock_ms(), std::memory_order_relaxed);
        m.latest_snapshot_generation_us.store(took_us, std::memory_order_relaxed);
        m.snapshots_generated.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("[SnapshotGenerator] Wrote snapshot {}", raft::snapshot_file_name(id));
        if (on_written_) on_written_(id);
      }
      if (stopped_) return;
      // Records may have come in meanwhile.
      if (last_image_ && !maybe_start(last_image_) && has_new_records(last_image_)) arm_timer();
    });
  });
  return true;
}

}  // namespace flotilla::metadata
