// ForwardingControllerChannel: the broker's ControllerChannel on any node.
// When this node's own QuorumController is the active one, calls go to it
// directly; otherwise they are forwarded over the controller listener to the
// Raft leader (the active controller). A NOT_CONTROLLER answer, a broken
// connection or an unknown leader is retried every few milliseconds, after
// the next leader change, until the request's deadline; then the caller gets
// NOT_CONTROLLER (or REQUEST_TIMED_OUT), as Kafka's forwarding manager does.
// An attempt still unanswered at the deadline is given up (its late answer
// ignored): a silent controller holds no call beyond its deadline.
//
// Threading: the node's io_context thread.
#pragma once

#include <asio.hpp>
#include <functional>
#include <map>
#include <memory>

#include "broker/controller_channel.h"
#include "broker/replica_manager.h"
#include "controller/quorum_controller.h"
#include "net/client.h"
#include "raft/driver.h"
#include "raft/network.h"

namespace flotilla::server {

class ForwardingControllerChannel : public broker::ControllerChannel {
 public:
  // `local` may be null (a broker-only node); `replicas` may be null (no
  // broker role: nothing to wait for after a topic is created).
  ForwardingControllerChannel(asio::io_context& io, raft::RaftDriver& raft, controller::QuorumController* local,
                              broker::ReplicaManager* replicas, std::map<int32_t, raft::PeerAddress> controllers, int32_t node_id,
                              int64_t timeout_ms, raft::RaftNetwork* addresses = nullptr);
  ~ForwardingControllerChannel() override;

  void create_topics(msg::CreateTopicsRequest req, int16_t v, std::function<void(msg::CreateTopicsResponse)> done) override;
  void delete_topics(msg::DeleteTopicsRequest req, int16_t v, std::function<void(msg::DeleteTopicsResponse)> done) override;
  void create_partitions(msg::CreatePartitionsRequest req, int16_t v, std::function<void(msg::CreatePartitionsResponse)> done) override;
  void register_broker(msg::BrokerRegistrationRequest req, int16_t v, std::function<void(msg::BrokerRegistrationResponse)> done) override;
  void broker_heartbeat(msg::BrokerHeartbeatRequest req, int16_t v, std::function<void(msg::BrokerHeartbeatResponse)> done) override;
  void register_controller(msg::ControllerRegistrationRequest req, int16_t v,
                           std::function<void(msg::ControllerRegistrationResponse)> done) override;
  void alter_partition(msg::AlterPartitionRequest req, int16_t v, std::function<void(msg::AlterPartitionResponse)> done) override;
  void describe_quorum(msg::DescribeQuorumRequest req, int16_t v, std::function<void(msg::DescribeQuorumResponse)> done) override;
  void elect_leaders(msg::ElectLeadersRequest req, int16_t v, std::function<void(msg::ElectLeadersResponse)> done) override;
  void incremental_alter_configs(msg::IncrementalAlterConfigsRequest req, int16_t v,
                                 std::function<void(msg::IncrementalAlterConfigsResponse)> done) override;
  void alter_configs(msg::AlterConfigsRequest req, int16_t v, std::function<void(msg::AlterConfigsResponse)> done) override;
  void alter_partition_reassignments(msg::AlterPartitionReassignmentsRequest req, int16_t v,
                                     std::function<void(msg::AlterPartitionReassignmentsResponse)> done) override;
  void list_partition_reassignments(msg::ListPartitionReassignmentsRequest req, int16_t v,
                                    std::function<void(msg::ListPartitionReassignmentsResponse)> done) override;
  void unregister_broker(msg::UnregisterBrokerRequest req, int16_t v, std::function<void(msg::UnregisterBrokerResponse)> done) override;
  void allocate_producer_ids(msg::AllocateProducerIdsRequest req, int16_t v,
                             std::function<void(msg::AllocateProducerIdsResponse)> done) override;
  void assign_replicas_to_dirs(msg::AssignReplicasToDirsRequest req, int16_t v,
                               std::function<void(msg::AssignReplicasToDirsResponse)> done) override;
  // Answered once this broker's image shows the credentials written (so that a
  // DescribeUserScramCredentials here right after sees them).
  void alter_user_scram_credentials(msg::AlterUserScramCredentialsRequest req, int16_t v,
                                    std::function<void(msg::AlterUserScramCredentialsResponse)> done) override;
  // Answered once this broker's image shows the ACLs created (or gone), so
  // that a DescribeAcls here right after sees the change.
  void create_acls(msg::CreateAclsRequest req, int16_t v, std::function<void(msg::CreateAclsResponse)> done) override;
  void delete_acls(msg::DeleteAclsRequest req, int16_t v, std::function<void(msg::DeleteAclsResponse)> done) override;
  // Answered once this broker's image shows the quotas written (so that a
  // DescribeClientQuotas here right after sees them).
  void alter_client_quotas(msg::AlterClientQuotasRequest req, int16_t v, std::function<void(msg::AlterClientQuotasResponse)> done) override;
  void update_features(msg::UpdateFeaturesRequest req, int16_t v, std::function<void(msg::UpdateFeaturesResponse)> done) override;
  // The delegation token APIs: in-process with the caller's principal, or in
  // an Envelope (server/envelope.h) to a remote controller; answered once this
  // broker's image shows the token created (or its new expiry).
  void create_delegation_token(msg::CreateDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                               std::function<void(msg::CreateDelegationTokenResponse)> done) override;
  void renew_delegation_token(msg::RenewDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                              std::function<void(msg::RenewDelegationTokenResponse)> done) override;
  void expire_delegation_token(msg::ExpireDelegationTokenRequest req, int16_t v, security::KafkaPrincipal caller,
                               std::function<void(msg::ExpireDelegationTokenResponse)> done) override;
  int32_t active_controller_id() const override;

  void close();
  // How long a registration or heartbeat is tried (answered, forwarded or
  // retried) before the broker's lifecycle gets an error and tries again:
  // half of broker.session.timeout.ms, as Kafka's heartbeat channel (KAFKA-14392).
  void set_lifecycle_timeout_ms(int64_t ms) { lifecycle_timeout_ms_ = ms; }
  // How to authenticate to the controller listener (SASL_*).
  void set_client_security(std::shared_ptr<const net::ClientSecurity> security) { security_ = std::move(security); }

 private:
  template <class Req, class Resp>
  struct Call;

  template <class Req, class Resp>
  void attempt(std::shared_ptr<Call<Req, Resp>> call);
  template <class Req, class Resp>
  void retry_later(std::shared_ptr<Call<Req, Resp>> call);
  // Runs `fn` once this broker's image satisfies `pred` (or the deadline passes).
  void after_image_satisfies(std::function<bool(const metadata::MetadataImage&)> pred, int64_t deadline_ms, std::function<void()> fn);
  // A request's deadline: its own timeout, or the channel's when it has none.
  int64_t deadline_for(int32_t request_timeout_ms) const;
  // The in-process-or-forwarded call every API above makes (`local`: the
  // QuorumController method serving it when this node's controller is active).
  template <class Req, class Resp, class Local>
  void forward(Req req, int16_t v, int64_t deadline_ms, std::function<void(Resp)> done, Local local);
  // forward(), answered once this broker's image shows the changed configs.
  template <class Req, class Resp, class Local>
  void forward_config_change(Req req, int16_t v, std::function<void(Resp)> done, Local local);
  // forward() of a request whose controller method takes the caller's principal:
  // remote controllers get it in an Envelope.
  template <class Req, class Resp, class Local>
  void forward_as(Req req, int16_t v, security::KafkaPrincipal caller, std::function<void(Resp)> done, Local local);
  net::Client* client_for(int32_t node);
  bool local_active() const { return local_ && local_->is_active(); }

  asio::io_context& io_;
  raft::RaftDriver& raft_;
  controller::QuorumController* local_;
  broker::ReplicaManager* replicas_;
  std::map<int32_t, raft::PeerAddress> controllers_;
  int32_t node_id_;
  int64_t timeout_ms_;
  int64_t lifecycle_timeout_ms_ = 4500;  // Kafka's default session (9 s) / 2
  raft::RaftNetwork* addresses_;  // the Raft address book (dynamic quorums), if any
  std::map<int32_t, std::shared_ptr<net::Client>> clients_;
  std::shared_ptr<const net::ClientSecurity> security_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flotilla::server
