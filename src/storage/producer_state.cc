#include "storage/producer_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "storage/log_files.h"

namespace flotilla::storage {

namespace fs = std::filesystem;

int32_t last_sequence_of(int32_t base_sequence, int32_t last_offset_delta) {
  if (base_sequence > INT32_MAX - last_offset_delta) return base_sequence - (INT32_MAX - last_offset_delta) - 1;
  return base_sequence + last_offset_delta;
}

namespace {
int32_t first_sequence_of(int32_t last_sequence, int32_t delta) {
  if (last_sequence < delta) return INT32_MAX - (delta - last_sequence) + 1;
  return last_sequence - delta;
}

constexpr size_t kEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;  // 46
constexpr size_t kCrcEnd = 2 + 4;                           // version, crc

void add_batch(ProducerEntry& e, const ProducerBatch& b) {
  e.batches.push_back(b);
  while (e.batches.size() > ProducerStateManager::kMaxBatches) e.batches.pop_front();
  e.last_timestamp = b.timestamp;
}
}  // namespace

std::vector<uint8_t> end_txn_marker_key(bool commit) {
  std::vector<uint8_t> k(4);
  store_be16(k.data(), 0);
  store_be16(k.data() + 2, static_cast<uint16_t>(commit ? ControlRecordType::COMMIT : ControlRecordType::ABORT));
  return k;
}

std::vector<uint8_t> end_txn_marker_value(int32_t coordinator_epoch) {
  std::vector<uint8_t> v(6);
  store_be16(v.data(), 0);
  store_be32(v.data() + 2, static_cast<uint32_t>(coordinator_epoch));
  return v;
}

std::optional<EndTxnMarker> parse_end_txn_marker(std::span<const uint8_t> batch) {
  records::BatchHeader h;
  if (!records::parse_header(batch, h) || !h.is_control() || h.records_count < 1) return std::nullopt;
  std::vector<records::Record> recs;
  try {
    recs = records::decode_records(batch);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (recs.empty() || !recs.front().key || recs.front().key->size() < 4) return std::nullopt;
  const auto& key = *recs.front().key;
  // Kafka reads the type whatever the key version (a newer version only adds fields).
  const auto type = static_cast<int16_t>(load_be16(key.data() + 2));
  if (type != static_cast<int16_t>(ControlRecordType::ABORT) && type != static_cast<int16_t>(ControlRecordType::COMMIT)) return std::nullopt;
  const auto& value = recs.front().value;
  if (!value || value->size() < 6 || static_cast<int16_t>(load_be16(value->data())) < 0) return std::nullopt;
  EndTxnMarker m;
  m.commit = type == static_cast<int16_t>(ControlRecordType::COMMIT);
  m.coordinator_epoch = static_cast<int32_t>(load_be32(value->data() + 2));
  return m;
}

bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return static_cast<int64_t>(next_seq) == static_cast<int64_t>(last_seq) + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

ProducerCheck ProducerStateManager::check_client(std::span<const records::BatchHeader> headers, bool check_sequences) const {
  ProducerCheck r;
  // Entries as the earlier batches of this append leave them (Kafka's updatedProducers).
  std::unordered_map<int64_t, ProducerEntry> staged;
  for (const auto& h : headers) {
    if (h.producer_id < 0 || h.is_control()) continue;
    const int64_t pid = h.producer_id;
    if (h.base_sequence < 0 && check_sequences) {
      r.error = ErrorCode::INVALID_RECORD;
      r.message = "Invalid sequence number " + std::to_string(h.base_sequence) + " in record batch with producerId " + std::to_string(pid);
      return r;
    }
    ProducerEntry e;
    if (auto it = staged.find(pid); it != staged.end()) e = it->second;
    else if (const ProducerEntry* cur = find(pid)) e = *cur;
    else e.producer_id = pid;
    const int32_t first_seq = h.base_sequence;
    const int32_t last_seq = last_sequence_of(h.base_sequence, h.last_offset_delta);
    // A retry of one of the last 5 batches (same epoch, same sequences).
    if (h.producer_epoch == e.epoch && check_sequences)
      for (const auto& b : e.batches)
        if (b.first_seq == first_seq && b.last_seq == last_seq) {
          r.duplicate = b;
          return r;
        }
    if (h.producer_epoch < e.epoch) {
      r.error = ErrorCode::INVALID_PRODUCER_EPOCH;
      r.message = "Epoch of producer " + std::to_string(pid) + " at offset " + std::to_string(h.base_offset) + " is " +
                  std::to_string(h.producer_epoch) + ", which is smaller than the last seen epoch " + std::to_string(e.epoch);
      return r;
    }
    if (!check_sequences) {
      // A coordinator's append on the producer's behalf (TxnOffsetCommit): epoch checked only.
    } else if (h.producer_epoch != e.epoch) {
      // A new epoch starts at sequence 0. An unknown producer (no epoch: its
      // state is gone, e.g. removed by retention or DeleteRecords, or never
      // seen) is accepted at any sequence, as Kafka 3.9 does.
      if (first_seq != 0 && e.epoch != -1) {
        r.error = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
        r.message = "Invalid sequence number for new epoch of producer " + std::to_string(pid) + ": " + std::to_string(h.producer_epoch) +
                    " (request epoch), " + std::to_string(first_seq) + " (seq. number), " + std::to_string(e.epoch) + " (current producer epoch)";
        return r;
      }
    } else if (!in_sequence(e.last_seq(), first_seq)) {
      r.error = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
      r.message = "Out of order sequence number for producer " + std::to_string(pid) + " at offset " + std::to_string(h.base_offset) + ": " +
                  std::to_string(first_seq) + " (incoming seq. number), " + std::to_string(e.last_seq()) + " (current end sequence number)";
      return r;
    }
    // Transactions (after the epoch and sequence checks, as Kafka's appendDataBatch).
    if (e.current_txn_first_offset >= 0 && !h.is_transactional()) {
      r.error = ErrorCode::INVALID_TXN_STATE;
      r.message = "Expected transactional write from producer " + std::to_string(pid) + " at offset " + std::to_string(h.base_offset);
      return r;
    }
    if (h.is_transactional() && e.current_txn_first_offset < 0) e.current_txn_first_offset = h.base_offset;
    if (h.producer_epoch != e.epoch) {
      e.epoch = h.producer_epoch;
      e.batches.clear();
    }
    add_batch(e, ProducerBatch{first_seq, last_seq, h.base_offset, h.last_offset(), h.max_timestamp});
    staged[pid] = std::move(e);
  }
  return r;
}

ProducerCheck ProducerStateManager::check_marker(int64_t producer_id, int16_t producer_epoch, int32_t coordinator_epoch) const {
  ProducerCheck r;
  const ProducerEntry* e = find(producer_id);
  if (!e) return r;  // an unknown producer: the marker is written (and completes nothing)
  if (producer_epoch < e->epoch) {
    r.error = ErrorCode::INVALID_PRODUCER_EPOCH;
    r.message = "Epoch of producer " + std::to_string(producer_id) + " is " + std::to_string(producer_epoch) +
                ", which is smaller than the last seen epoch " + std::to_string(e->epoch);
    return r;
  }
  if (e->coordinator_epoch > coordinator_epoch) {
    r.error = ErrorCode::TRANSACTION_COORDINATOR_FENCED;
    r.message = "Invalid coordinator epoch for producer " + std::to_string(producer_id) + ": " + std::to_string(coordinator_epoch) +
                " (zombie), " + std::to_string(e->coordinator_epoch) + " (current)";
    return r;
  }
  return r;
}

std::optional<CompletedTxn> ProducerStateManager::apply(const records::BatchHeader& h, std::span<const uint8_t> batch) {
  std::optional<EndTxnMarker> marker;
  if (h.is_control() && h.producer_id >= 0 && !batch.empty()) marker = parse_end_txn_marker(batch);
  return apply(h, marker);
}

std::optional<CompletedTxn> ProducerStateManager::apply(const records::BatchHeader& h, std::optional<EndTxnMarker> marker) {
  map_end_offset_ = std::max(map_end_offset_, h.last_offset() + 1);
  if (h.producer_id < 0) return std::nullopt;
  if (h.is_control()) {
    // An empty control batch (its marker cleaned away) or another control
    // type changes nothing, as in Kafka.
    if (!marker) return std::nullopt;
    ProducerEntry& e = producers_[h.producer_id];
    e.producer_id = h.producer_id;
    std::optional<CompletedTxn> done;
    // Only a non-empty transaction completes: a marker without data does not
    // affect the LSO and has no index entry.
    if (e.current_txn_first_offset >= 0) done = CompletedTxn{h.producer_id, e.current_txn_first_offset, h.base_offset, !marker->commit};
    if (h.producer_epoch != e.epoch) {  // Kafka's maybeUpdateProducerEpoch
      e.epoch = h.producer_epoch;
      e.batches.clear();
    }
    e.current_txn_first_offset = -1;
    e.coordinator_epoch = marker->coordinator_epoch;
    e.last_timestamp = h.max_timestamp;
    return done;
  }
  ProducerEntry& e = producers_[h.producer_id];
  e.producer_id = h.producer_id;
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.batches.clear();
  }
  add_batch(e, ProducerBatch{h.base_sequence, last_sequence_of(h.base_sequence, h.last_offset_delta), h.base_offset, h.last_offset(),
                             h.max_timestamp});
  // A transactional batch begins a transaction unless one is ongoing (a
  // replicated non-transactional batch inside one is not checked, as the
  // leader refused it).
  if (h.is_transactional() && e.current_txn_first_offset < 0) {
    e.current_txn_first_offset = h.base_offset;
    ongoing_[h.base_offset] = h.producer_id;
  }
  return std::nullopt;
}

int64_t ProducerStateManager::last_stable_offset(const CompletedTxn& txn) const {
  for (const auto& [first, pid] : ongoing_)
    if (pid != txn.producer_id) return first;
  return txn.last_offset + 1;
}

void ProducerStateManager::complete_txn(const CompletedTxn& txn) {
  if (auto it = ongoing_.find(txn.first_offset); it != ongoing_.end() && it->second == txn.producer_id) ongoing_.erase(it);
  unreplicated_[txn.first_offset] = {txn.producer_id, txn.last_offset};
}

void ProducerStateManager::on_high_watermark(int64_t high_watermark) {
  for (auto it = unreplicated_.begin(); it != unreplicated_.end();)
    it = it->second.second < high_watermark ? unreplicated_.erase(it) : std::next(it);
}

void ProducerStateManager::on_log_start_offset(int64_t log_start_offset) {
  on_high_watermark(log_start_offset);
  map_end_offset_ = std::max(map_end_offset_, log_start_offset);
}

std::optional<int64_t> ProducerStateManager::first_unstable_offset() const {
  std::optional<int64_t> r;
  if (!ongoing_.empty()) r = ongoing_.begin()->first;
  if (!unreplicated_.empty()) r = std::min(r.value_or(INT64_MAX), unreplicated_.begin()->first);
  return r;
}

std::vector<ProducerEntry> ProducerStateManager::entries() const {
  std::vector<ProducerEntry> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const ProducerEntry& a, const ProducerEntry& b) { return a.producer_id < b.producer_id; });
  return out;
}

size_t ProducerStateManager::remove_expired(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& kv) {
    const ProducerEntry& e = kv.second;
    return e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms;
  });
}

const ProducerEntry* ProducerStateManager::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

void ProducerStateManager::clear(int64_t map_end_offset) {
  producers_.clear();
  ongoing_.clear();
  unreplicated_.clear();
  map_end_offset_ = map_end_offset;
}

std::string ProducerStateManager::encode_snapshot() const {
  std::string out(kCrcEnd + 4 + producers_.size() * kEntrySize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  store_be16(p, static_cast<uint16_t>(kSnapshotVersion));
  store_be32(p + kCrcEnd, static_cast<uint32_t>(producers_.size()));
  // Sorted by producer id, so that equal states give equal files.
  std::map<int64_t, const ProducerEntry*> sorted;
  for (const auto& [id, e] : producers_) sorted.emplace(id, &e);
  uint8_t* q = p + kCrcEnd + 4;
  for (const auto& [id, e] : sorted) {
    const ProducerBatch* last = e->batches.empty() ? nullptr : &e->batches.back();
    store_be64(q, static_cast<uint64_t>(id));
    store_be16(q + 8, static_cast<uint16_t>(e->epoch));
    store_be32(q + 10, static_cast<uint32_t>(last ? last->last_seq : -1));
    store_be64(q + 14, static_cast<uint64_t>(last ? last->last_offset : -1));
    store_be32(q + 22, static_cast<uint32_t>(last ? static_cast<int32_t>(last->last_offset - last->first_offset) : 0));
    store_be64(q + 26, static_cast<uint64_t>(e->last_timestamp));
    store_be32(q + 34, static_cast<uint32_t>(e->coordinator_epoch));
    store_be64(q + 38, static_cast<uint64_t>(e->current_txn_first_offset));
    q += kEntrySize;
  }
  store_be32(p + 2, crc32c(p + kCrcEnd, out.size() - kCrcEnd));
  return out;
}

bool ProducerStateManager::decode_snapshot(std::span<const uint8_t> d, int64_t snapshot_offset) {
  if (d.size() < kCrcEnd + 4) return false;
  if (static_cast<int16_t>(load_be16(d.data())) != kSnapshotVersion) return false;
  if (load_be32(d.data() + 2) != crc32c(d.data() + kCrcEnd, d.size() - kCrcEnd)) return false;
  int32_t n = static_cast<int32_t>(load_be32(d.data() + kCrcEnd));
  if (n < 0 || d.size() != kCrcEnd + 4 + static_cast<size_t>(n) * kEntrySize) return false;
  std::unordered_map<int64_t, ProducerEntry> m;
  std::map<int64_t, int64_t> ongoing;
  const uint8_t* q = d.data() + kCrcEnd + 4;
  for (int32_t i = 0; i < n; ++i, q += kEntrySize) {
    ProducerEntry e;
    e.producer_id = static_cast<int64_t>(load_be64(q));
    e.epoch = static_cast<int16_t>(load_be16(q + 8));
    int32_t last_seq = static_cast<int32_t>(load_be32(q + 10));
    int64_t last_offset = static_cast<int64_t>(load_be64(q + 14));
    int32_t delta = static_cast<int32_t>(load_be32(q + 22));
    e.last_timestamp = static_cast<int64_t>(load_be64(q + 26));
    e.coordinator_epoch = static_cast<int32_t>(load_be32(q + 34));
    e.current_txn_first_offset = static_cast<int64_t>(load_be64(q + 38));
    if (last_offset >= 0)
      e.batches.push_back(ProducerBatch{first_sequence_of(last_seq, delta), last_seq, last_offset - delta, last_offset, e.last_timestamp});
    if (e.current_txn_first_offset >= 0) ongoing[e.current_txn_first_offset] = e.producer_id;
    m[e.producer_id] = std::move(e);
  }
  producers_ = std::move(m);
  ongoing_ = std::move(ongoing);
  unreplicated_.clear();
  map_end_offset_ = snapshot_offset;
  return true;
}

fs::path ProducerStateManager::snapshot_path(const fs::path& dir, int64_t offset) { return dir / offset_file_name(offset, ".snapshot"); }

std::map<int64_t, fs::path> ProducerStateManager::list_snapshots(const fs::path& dir) {
  std::map<int64_t, fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (auto offset = snapshot_offset(e.path().filename().string())) out.emplace(*offset, e.path());
  return out;
}

std::optional<int64_t> ProducerStateManager::snapshot_offset(const std::string& name) {
  if (name.size() != 29 || !name.ends_with(".snapshot") || name.find_first_not_of("0123456789") != 20) return std::nullopt;
  return std::stoll(name.substr(0, 20));
}

void ProducerStateManager::write_snapshot(const fs::path& dir, bool sync) const {
  write_file_atomically(snapshot_path(dir, map_end_offset_), encode_snapshot(), sync ? Durability::Synced : Durability::RenameOnly);
}

std::optional<int64_t> ProducerStateManager::load_latest_snapshot(const fs::path& dir, int64_t max_offset, int64_t fallback_offset) {
  return load_latest_snapshot(list_snapshots(dir), max_offset, fallback_offset);
}

std::optional<int64_t> ProducerStateManager::load_latest_snapshot(std::map<int64_t, fs::path> snaps, int64_t max_offset,
                                                                  int64_t fallback_offset) {
  for (auto it = snaps.rbegin(); it != snaps.rend(); ++it) {
    if (it->first > max_offset) continue;
    std::ifstream f(it->second, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad() || !decode_snapshot(data, it->first)) {
      spdlog::warn("[ProducerState] Deleting corrupt producer snapshot {}", it->second.string());
      std::error_code ec;
      fs::remove(it->second, ec);
      continue;
    }
    return it->first;
  }
  clear(fallback_offset);
  return std::nullopt;
}

void ProducerStateManager::delete_snapshots_after(const fs::path& dir, int64_t offset) {
  std::error_code ec;
  for (const auto& [o, p] : list_snapshots(dir))
    if (o > offset) fs::remove(p, ec);
}

void ProducerStateManager::delete_snapshots_before(const fs::path& dir, int64_t offset) {
  std::error_code ec;
  for (const auto& [o, p] : list_snapshots(dir))
    if (o < offset) fs::remove(p, ec);
}

}  // namespace flotilla::storage
