// The coordinators' way to their internal topics (__consumer_offsets,
// __transaction_state): append key/value records to a partition as its
// leader and learn when they are committed (the high watermark passed them),
// and read a partition back from its log start when this broker becomes its
// leader — both through the broker's PartitionHost. Also what both topics'
// records share: the versioned key/value framing, and the mapping of append
// errors to the errors a coordinator answers.
//
// Threading: the broker's io_context thread. `done` callbacks never run
// inside the call that takes them; a load reads the log in ~10 ms slices,
// posting itself back between them, so other requests keep being served.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/error.h"
#include "coordinator/partition_host.h"
#include "protocol/record_batch.h"

namespace flotilla::coordinator {

// One record of an internal topic; a null value is a tombstone.
struct InternalRecord {
  std::vector<uint8_t> key;
  std::optional<std::vector<uint8_t>> value;
};

// A transactional producer writing through a coordinator (TxnOffsetCommit):
// the batch is transactional, with this producer id and epoch.
struct TxnProducer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

class InternalTopicLog {
 public:
  // What a load sees, in log order: the whole log, to its end (as Kafka's
  // coordinators load: the new leader's log end is what the ISR has).
  struct Visitor {
    // A keyed data record; `producer_id` >= 0 only for transactional batches.
    std::function<void(const records::Record&, int64_t producer_id)> record;
    // A transaction marker (END_TXN control record) of `producer_id`.
    std::function<void(int64_t producer_id, bool commit)> marker;
  };

  InternalTopicLog(asio::io_context& io, PartitionHost& host, std::string topic, int64_t commit_timeout_ms, std::string log_name)
      : io_(io), host_(host), topic_(std::move(topic)), commit_timeout_ms_(commit_timeout_ms), log_name_(std::move(log_name)) {}
  ~InternalTopicLog() { *alive_ = false; }

  // Appends the records as one batch to the partition as its leader at
  // `leader_epoch`; `done` runs once they are committed or failed, with
  // Kafka's append error (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT after
  // the commit timeout, ...).
  void append(int32_t partition, int32_t leader_epoch, std::vector<InternalRecord> records, std::optional<TxnProducer> txn,
              std::function<void(ErrorCode)> done);
  // Reads the partition from its log start to its end; `done`
  // gets false if the partition stopped being led at that epoch meanwhile.
  void load(int32_t partition, int32_t leader_epoch, Visitor visitor, std::function<void(bool ok, int64_t records)> done);

  const std::string& topic() const { return topic_; }

 private:
  struct Loading;
  void load_slice(std::shared_ptr<Loading> l);

  asio::io_context& io_;
  PartitionHost& host_;
  std::string topic_;
  int64_t commit_timeout_ms_;
  std::string log_name_;  // the log prefix, as Kafka's (e.g. GroupMetadataManager)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The internal-topic partitions a coordinator leads: the leader epoch it
// leads each at (its coordinator epoch) and whether it finished loading it.
struct LedPartition {
  int32_t epoch = -1;
  bool loaded = false;
};
using LedPartitions = std::map<int32_t, LedPartition>;

enum class LeadershipChange { None, Resigned, Elected };
// The coordinators' shared bookkeeping of a leadership notification (Kafka's
// onElection / onResignation): a partition given up, or led at a new epoch,
// is unloaded first (`unload`); an election at a new epoch records the
// partition as loading and returns Elected — the caller then loads it. A
// repeated notification changes nothing.
LeadershipChange apply_leadership(LedPartitions& led, int32_t partition, int32_t epoch, bool leader,
                                  const std::function<void(int32_t)>& unload);
// A load started at `epoch` applies only if the partition is still led at
// that epoch and not loaded meanwhile.
inline bool load_applies(const LedPartitions& led, int32_t partition, int32_t epoch) {
  auto it = led.find(partition);
  return it != led.end() && it->second.epoch == epoch && !it->second.loaded;
}

// An END_TXN control record's key: int16 version, int16 type (0 abort, 1
// commit). nullopt for other control types (or a malformed key).
std::optional<bool> decode_end_txn_commit(std::span<const uint8_t> key);

// The internal topics' record framing (Kafka's coordinator records): a key or
// a value is an int16 version, then the struct encoded at that version.
template <class M>
std::vector<uint8_t> encode_versioned_value(const M& m, int16_t version = 0) {
  ByteWriter w;
  w.put_i16(version);
  m.encode(w, version);
  return std::move(w).take();
}
// A value of type M (int16 version + struct); DecodeError "unknown `name`
// version N" for a version M does not have.
template <class M>
M decode_versioned_value(std::span<const uint8_t> bytes, const char* name) {
  ByteReader r(bytes);
  int16_t v = r.get_i16();
  if (v < M::kMinVersion || v > M::kMaxVersion) throw DecodeError(std::string("unknown ") + name + " version " + std::to_string(v));
  M m;
  m.decode(r, v);
  return m;
}

// Kafka's mapping of append errors to what a coordinator answers
// (GroupMetadataManager and TransactionStateManager alike): the partition
// unavailable or the write not replicated in time -> COORDINATOR_NOT_AVAILABLE
// (retriable); the leadership gone -> NOT_COORDINATOR (find the coordinator
// again); a batch too large -> UNKNOWN_SERVER_ERROR. Other errors pass.
ErrorCode coordinator_append_error(ErrorCode e);

}  // namespace flotilla::coordinator
