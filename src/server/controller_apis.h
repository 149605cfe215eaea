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
// Threading: the node's io_context thread.
#pragma once

#include <map>
#include <string>

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

 private:
  void handle_raft(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_describe_cluster(std::shared_ptr<net::Request> req, net::Respond respond);
  void handle_voter_change(std::shared_ptr<net::Request> req, net::Respond respond);

  raft::RaftDriver& raft_;
  controller::QuorumController* controller_;
  std::string cluster_id_;
  std::map<int32_t, raft::PeerAddress> controllers_;
  raft::RaftNetwork* network_;
};

class BrokerExtraApis : public broker::ExtraApis {
 public:
  explicit BrokerExtraApis(broker::ControllerChannel& channel) : channel_(channel) {}
  int16_t max_version(int16_t api_key) const override;
  int16_t min_version(int16_t api_key) const override;
  void handle(std::shared_ptr<net::Request> req, net::Respond respond) override;

 private:
  broker::ControllerChannel& channel_;
};

}  // namespace flotilla::server
