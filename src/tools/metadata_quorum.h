// `flotilla metadata-quorum describe --status|--replication`, as Kafka's
// kafka-metadata-quorum.sh prints them. The formatting is pure (a decoded
// DescribeQuorum response in, text out) so it is tested without a server.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/messages.h"

namespace flotilla::tools {

// The `--status` block: ClusterId, LeaderId, LeaderEpoch, HighWatermark,
// MaxFollowerLag, MaxFollowerLagTimeMs, CurrentVoters, CurrentObservers.
std::string format_quorum_status(const msg::DescribeQuorumResponse& response, const std::string& cluster_id);
// The `--replication` table: NodeId, DirectoryId, LogEndOffset, Lag,
// LastFetchTimestamp, LastCaughtUpTimestamp, Status (leader first).
std::string format_quorum_replication(const msg::DescribeQuorumResponse& response, int64_t now_ms, bool human_readable);

}  // namespace flotilla::tools
