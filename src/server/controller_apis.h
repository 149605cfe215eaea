// The APIs a node serves on its controller listener (besides ApiVersions,
// answered by the RequestHandler): the Raft RPCs of __cluster_metadata-0
// (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot) handed to
// the RaftDriver; DescribeQuorum; the broker lifecycle RPCs and the admin
// writes brokers forward (CreateTopics, DeleteTopics, CreatePartitions,
// ElectLeaders, IncrementalAlterConfigs, AlterConfigs,
// AlterPartitionReassignments, ListPartitionReassignments, UnregisterBroker),
// handed to the local QuorumController, which answers NOT_CONTROLLER unless
// it is the active one; and DescribeCluster for `--bootstrap-controller`
// tools (KIP-919: the controllers as the endpoints).
//
// Also BrokerExtraApis: DescribeQuorum on a broker listener, forwarded to
// the active controller.
//
// Authorization (with an authorizer): Kafka's ControllerApis checks
// (broker/authorization.h). The Raft RPCs, broker registration and
// heartbeats, AlterPartition, AllocateProducerIds and UpdateRaftVoter need
// CLUSTER_ACTION on the cluster (in practice: the brokers' and controllers'
// principals are super users); DescribeQuorum DESCRIBE, DescribeCluster,
// AddRaftVoter and RemoveRaftVoter ALTER. The admin requests brokers forward
// were authorized by the broker with its client's principal (Flotilla
// forwards typed requests, not Envelopes); a sender holding CLUSTER_ACTION —
// which Kafka requires of an Envelope's sender — is trusted as such a
// forwarder, anyone else (a tool with --bootstrap-controller) is authorized
// as Kafka's controller authorizes the original principal.
//
// Threading: the node's io_context thread.
#pragma once

#include <map>
#include <string>

#include "broker/authorization.h"

#include "broker/controller_channel.h"
#include "broker/request_handler.h"
#include "controller/quorum_controller.h"
#include "raft/driver.h"
#include "raft/network.h"

namespace flotilla::server {

class ControllerApis : public broker::ExtraApis {
 public:
  ControllerApis(raft::RaftDriver& raft, controller::QuorumController* controller, std::string cluster_id,
                 std::map<int32_t, raft::PeerAddress> controllers, raft::RaftNetwork* network = nullptr);
  int16_t max_version(int16_t api_key) const override;
  int16_t min_version(int16_t api_key) const override;
  void handle(std::shared_ptr<net::Request> req, net::Respond respond) override;
  // The node's authorizer; none: everything is allowed.
  void set_authorizer(const security::StandardAuthorizer* authorizer) { authorizer_ = authorizer; }

 private:
  void handle_raft(std::shared_ptr<net::Request> req, net::Respond respond);
  // The admin writes whose resources are authorized one by one (topics, configs).
  void handle_gated(const broker::Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond);
  // Create/Renew/ExpireDelegationToken sent directly, and Envelopes (KIP-590)
  // carrying them from brokers with their client's principal.
  void handle_token_api(const broker::Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_envelope(const broker::Authz& auth, std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_cluster(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_voter_change(std::shared_ptr<net::Request> req, net::Respond respond);

  raft::RaftDriver& raft_;
  controller::QuorumController* controller_;
  std::string cluster_id_;
  std::map<int32_t, raft::PeerAddress> controllers_;
  raft::RaftNetwork* network_;
  const security::StandardAuthorizer* authorizer_ = nullptr;
};

class BrokerExtraApis : public broker::ExtraApis {
 public:
  explicit BrokerExtraApis(broker::ControllerChannel& channel) : channel_(channel) {}
  int16_t max_version(int16_t api_key) const override;
  int16_t min_version(int16_t api_key) const override;
  void handle(std::shared_ptr<net::Request> req, net::Respond respond) override;
  void set_authorizer(const security::StandardAuthorizer* authorizer) { authorizer_ = authorizer; }

 private:
  broker::ControllerChannel& channel_;
  const security::StandardAuthorizer* authorizer_ = nullptr;
};

}  // namespace flotilla::server
