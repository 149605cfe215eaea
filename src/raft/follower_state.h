// Follower: `leader_id` leads `epoch` (persisted). The follower fetches from
// it, one Fetch in flight at a time, and sends the next only once what it
// appended is flushed (so its fetch offset is durable when the leader counts
// it). A voter that hears nothing successful from the leader within the fetch
// timeout stands for election.
// Legal transitions: -> Candidate (fetch timeout, voters only), -> Follower
// or Unattached (learns a higher epoch).
#pragma once

#include <cstdint>

namespace flotilla::raft {

struct FollowerState {
  int32_t epoch = 0;
  int32_t leader_id = -1;
  int64_t fetch_deadline_ms = 0;     // fetch timeout (voters only)
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
};

}  // namespace flotilla::raft
