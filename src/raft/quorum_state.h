// The durable election state of a replica (epoch, leader, vote) and its file,
// `<metadata.log.dir>/__cluster_metadata-0/quorum-state`: one line of JSON as
// Kafka's FileQuorumStateStore writes it (the QuorumStateData fields of the
// data version in camelCase, then "data_version"), e.g. version 0:
//   {"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1}],"data_version":0}
// and version 1 (kraft.version 1, dynamic quorum):
//   {"leaderId":1,"leaderEpoch":3,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/uuid.h"
#include "raft/types.h"

namespace flotilla::raft {

// Invariant: at most one of leader_id / voted_id names a replica, except
// that Kafka allows both for a voter that voted and then learned the leader;
// the core never writes both.
struct ElectionState {
  int32_t epoch = 0;
  int32_t leader_id = kNoLeader;
  int32_t voted_id = kNotVoted;
  Uuid voted_directory_id;        // data version 1 only
  std::vector<int32_t> voters;    // data version 0 only ("currentVoters"), sorted

  bool has_leader() const { return leader_id >= 0; }
  bool has_voted() const { return voted_id >= 0; }
  bool operator==(const ElectionState&) const = default;
};

// Kafka's exact text (no trailing newline). data_version is 0 or 1.
std::string quorum_state_to_json(const ElectionState& s, int16_t data_version);
// Parses either data version; throws std::runtime_error on malformed text or
// an unsupported data_version.
ElectionState quorum_state_from_json(std::string_view text, int16_t* data_version = nullptr);

// The file, written atomically: `quorum-state.tmp`, fsync, rename, fsync of
// the directory. Blocking: the driver calls write() on its I/O thread.
class QuorumStateFile {
 public:
  explicit QuorumStateFile(std::filesystem::path path) : path_(std::move(path)) {}
  static constexpr const char* kFileName = "quorum-state";

  std::optional<ElectionState> read() const;  // nullopt if the file does not exist; throws if corrupt
  void write(const ElectionState& s, int16_t data_version) const;  // throws std::system_error
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace flotilla::raft
