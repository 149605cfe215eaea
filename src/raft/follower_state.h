// Follower: `leader_id` leads `epoch` (persisted). The follower fetches from
// it, one Fetch in flight at a time, and sends the next only once what it
// appended is flushed (so its fetch offset is durable when the leader counts
// it). A voter that hears nothing successful from the leader within the fetch
// timeout stands for election.
// Legal transitions: -> Candidate (fetch timeout, voters only), -> Follower
// or Unattached (learns a higher epoch).
#pragma once

#include <cstdint>
#include <optional>

#include "raft/types.h"

namespace flotilla::raft {

struct FollowerState {
  int32_t epoch = 0;
  int32_t leader_id = -1;
  int64_t fetch_deadline_ms = 0;     // fetch timeout (voters only)
  // The last successful answer from the leader (or when we began following
  // it): within the fetch timeout of it, even an observer has a live leader
  // and refuses pre-votes.
  int64_t last_fetch_ok_ms = 0;
  bool fetch_in_flight = false;
  int64_t fetch_sent_ms = 0;
  uint64_t fetch_correlation = 0;    // of the fetch in flight
  int64_t next_fetch_ms = 0;         // earliest time for the next fetch (backoff)
  int64_t high_watermark = -1;       // as last reported by the leader, capped at our log end
  // The connection to the leader broke since the last successful fetch: this
  // replica no longer counts as hearing from a live leader (pre-votes).
  bool leader_unreachable = false;
  // Requests to the leader that failed since the last successful fetch. The
  // first failure is retried at once (a reset connection to a live leader
  // just reconnects); a second one means the leader is gone.
  int32_t failed_requests = 0;
  // KIP-630: the leader told us to load its snapshot `id` (our fetch offset
  // is below its log start); we download it with FetchSnapshot, `position`
  // bytes so far, instead of fetching the log, then continue at id.offset.
  struct SnapshotFetch {
    OffsetAndEpoch id;
    int64_t position = 0;
    bool installing = false;  // complete; waiting for on_snapshot_installed
  };
  std::optional<SnapshotFetch> snapshot_fetch;
};

}  // namespace flotilla::raft
