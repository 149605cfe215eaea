// The broker's client quotas (Kafka's QuotaManagers, KIP-13/124/219/599):
// what a (user principal, client-id) may produce, fetch, spend in request
// handling and mutate on the controller, with the overrides taken from the
// metadata image's ClientQuotaRecords (a metadata::Publisher) and the
// accounting done by security::ClientQuotaManager.
//
// Enforcement as Kafka's: a request that takes a client over its quota is
// served, its response carries throttle_time_ms = the delay Kafka computes,
// and its connection is muted for that long (net::throttle_connection):
// - Produce: the request's size against producer_byte_rate, at handling time
//   (so the connection is muted before its next request is read); the
//   request quota too unless acks=0.
// - Fetch (consumers): the response's size against consumer_byte_rate; a
//   throttled fetch answers with no data and its bytes are taken back; the
//   fetch size is capped at what one window allows. Follower fetches are
//   exempt from client quotas.
// - Every other response encoded through api::send: request_percentage,
//   measured as the time the handler spent on the request in its synchronous
//   part (Kafka measures the I/O thread's time; asynchronous completions are
//   not counted here), capped at one window.
// - CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+: strict
//   controller_mutation_rate (partitions created or deleted): a topic that
//   finds the bucket exhausted is refused with THROTTLING_QUOTA_EXCEEDED;
//   older versions are permissive (served, throttled). Checked here, on the
//   broker that forwards the request (Kafka checks on the controller), and
//   refunded for topics the controller then refuses.
//
// It also keeps the broker's replication throttles (broker/replication_quota.h),
// read from the same images' configs.
//
// Threading: the broker's event loop only — it runs every request handler and
// the metadata publishers, so the sensors need no lock and no request waits
// on another. (Sensors are per (user, client-id) tags, shared by that
// client's connections.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "broker/replication_quota.h"
#include "metadata/publisher.h"
#include "net/server.h"
#include "security/quota_manager.h"

namespace flotilla::broker {

struct ClientQuotaConfig {
  int32_t node_id = -1;
  security::QuotaWindowConfig client;       // quota.window.num x quota.window.size.seconds
  security::QuotaWindowConfig controller;   // controller.quota.window.num x controller.quota.window.size.seconds
  security::QuotaWindowConfig replication;  // replication.quota.window.num x replication.quota.window.size.seconds
};

class ClientQuotas : public metadata::Publisher, public net::RequestAccounting {
 public:
  explicit ClientQuotas(ClientQuotaConfig config)
      : node_id_(config.node_id),
        managers_(config.client, config.controller),
        leader_("leader.replication.throttled.rate", "leader.replication.throttled.replicas", config.replication),
        follower_("follower.replication.throttled.rate", "follower.replication.throttled.replicas", config.replication) {}

  // metadata::Publisher: applies the image's client quotas when they changed,
  // and its replication throttles when configs changed.
  void publish(const metadata::MetadataDelta& delta, std::shared_ptr<const metadata::MetadataImage> image) override;

  security::ClientQuotaManagers& managers() { return managers_; }
  // Replication throttles: what this broker sends as a leader, and fetches as a follower.
  ReplicationQuota& leader_replication() { return leader_; }
  ReplicationQuota& follower_replication() { return follower_; }

  // Stamps a request as it reaches the handler (the request quota's clock).
  void begin(net::Request& req) const;
  // After the handler's synchronous part returned.
  void end(net::Request& req) const;

  // A request is exempt from the request quota (follower fetches, cluster actions).
  static void exempt(const net::Request& req) { req.accounted = true; }
  // Mutes the connection for `ms` and remembers the largest throttle for the response.
  static void throttle(const net::Request& req, int32_t ms);

  // Produce: records the request's size; returns the throttle (and mutes).
  int32_t record_produce(const net::Request& req, int64_t bytes);
  // Fetch: the most one response may carry for this consumer.
  int64_t max_fetch_bytes(const net::Request& req);
  // Fetch: records the response size and the request time; > 0: throttled
  // (the bytes were taken back: answer without data).
  int32_t record_fetch(const net::Request& req, int64_t bytes);

  // Controller mutations (KIP-599): `partitions` created or deleted by one
  // topic of a request, strict (refused while the bucket is exhausted) or
  // permissive (always accepted, throttled once exhausted).
  security::ClientQuotaManager::MutationOutcome record_mutation(const net::Request& req, bool strict, int32_t partitions);
  // Takes back permits of a mutation the controller refused.
  void refund_mutation(const net::Request& req, int32_t partitions);

  // net::RequestAccounting: the request quota, once per response.
  int32_t on_response(const net::Request& req) override;

 private:
  static const std::string& user_of(const net::Request& req);
  static const std::string& client_of(const net::Request& req);
  int32_t record_request_time(const net::Request& req);

  int32_t node_id_;
  security::ClientQuotaManagers managers_;
  security::ClientQuotaMap applied_;  // the quotas the managers hold
  ReplicationQuota leader_;
  ReplicationQuota follower_;
  bool first_ = true;
};

}  // namespace flotilla::broker
