// `flotilla metadata-quorum describe --status|--replication`, as Kafka 3.9's
// kafka-metadata-quorum.sh prints them, and add-controller /
// remove-controller. The requests are client/quorum.h's; the formatting is
// pure (a decoded DescribeQuorum response in, text out) so it is tested
// without a server (pretty_print_table is tools/kafka_output.h's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "tools/kafka_output.h"

namespace flotilla::tools {

// The __cluster_metadata-0 partition of a DescribeQuorum response, checked as
// Kafka's admin client checks it. Throws KafkaError: the top-level or the
// partition ErrorCode (with the server's message), or UNKNOWN_SERVER_ERROR
// when the response is not exactly one topic `__cluster_metadata` with
// partition 0.
const msg::DescribeQuorumResponse::PartitionData& quorum_partition(const msg::DescribeQuorumResponse& response);

// The `--status` block, one "Key:" padded to 24 columns + value per line:
// ClusterId, LeaderId, LeaderEpoch, HighWatermark, MaxFollowerLag,
// MaxFollowerLagTimeMs, CurrentVoters, CurrentObservers. Each node is
// printed as {"id": N, "directoryId": "..."|null[, "endpoints": ["NAME://host:port", ...]]}.
// Throws KafkaError as quorum_partition, and std::runtime_error when the
// leader is not among the voters.
std::string format_quorum_status(const msg::DescribeQuorumResponse& response, const std::string& cluster_id);

// The `--replication` table: NodeId, DirectoryId, LogEndOffset, Lag,
// LastFetchTimestamp, LastCaughtUpTimestamp, Status; the leader first, then
// the other voters ("Follower"), then the observers. With human_readable the
// timestamps are "N ms ago" relative to now_ms (an error, as in Kafka, when
// one is not in (0, now_ms]). Throws as format_quorum_status.
std::string format_quorum_replication(const msg::DescribeQuorumResponse& response, int64_t now_ms, bool human_readable);

}  // namespace flotilla::tools
