// The KRaft quorum's requests (kafka-metadata-quorum.sh): DescribeQuorum of
// __cluster_metadata-0, the active controller found through any controller
// (DescribeCluster with endpoint type 2, KIP-919), the cluster id, and voter
// changes (AddRaftVoter / RemoveRaftVoter, KIP-853). These talk to single
// endpoints (a controller listener is not a broker with Metadata), so they
// take Connections rather than a KafkaClient.
//
// Invariant: a controller that is not the leader answers DescribeQuorum with
// NOT_LEADER_OR_FOLLOWER; it is then asked for the active controller and the
// request goes there, as Kafka's admin client does.
// Threading: one thread at a time, as Connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/kafka_client.h"
#include "common/uuid.h"

namespace flotilla::client {

constexpr const char* kMetadataTopic = "__cluster_metadata";

// The active controller as `c` knows it (DescribeCluster, controllers'
// endpoints); nullopt when it names none.
std::optional<BrokerInfo> active_controller(Connection& c);
// Through the first of the comma-separated controllers that answers: a
// connection to the active controller (request timeout 60 s). Throws
// NetworkError naming the last failure when none does.
std::unique_ptr<Connection> connect_active_controller(const std::string& bootstrap, const std::string& client_id);

// Sends DescribeQuorum on c; a non-leader controller's NOT_LEADER_OR_FOLLOWER
// sends it on to the active controller, and c becomes the connection that answered.
msg::DescribeQuorumResponse describe_quorum(std::unique_ptr<Connection>& c, bool controller, const std::string& client_id);

// The cluster id from the endpoint: DescribeCluster if it supports it, else
// Metadata (v2..v12 carry the cluster id); empty if neither answers.
std::string fetch_cluster_id(Connection& c, bool controller);

struct VoterEndpoint {
  std::string name;
  std::string host;
  uint16_t port = 0;
};
msg::AddRaftVoterResponse add_raft_voter(Connection& c, const std::string& cluster_id, int32_t voter_id, const Uuid& directory_id,
                                         const std::vector<VoterEndpoint>& listeners, int32_t timeout_ms);
msg::RemoveRaftVoterResponse remove_raft_voter(Connection& c, int32_t voter_id, const Uuid& directory_id);

}  // namespace flotilla::client
