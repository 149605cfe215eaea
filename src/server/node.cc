#include "server/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "broker/assignments.h"
#include "broker/broker_metrics.h"
#include "broker/broker_lifecycle.h"
#include "broker/client_quotas.h"
#include "broker/client_telemetry.h"
#include "broker/controller_channel.h"
#include "broker/coordinator_host.h"
#include "broker/partition_budget.h"
#include "broker/replica_manager.h"
#include "broker/request_handler.h"
#include "broker/topic_config.h"
#include "common/clock.h"
#include "controller/quorum_controller.h"
#include "coordinator/group_service.h"
#include "coordinator/txn_service.h"
#include "metadata/loader.h"
#include "metadata/snapshot.h"
#include "net/connection_quotas.h"
#include "net/memory_pool.h"
#include "net/server.h"
#include "net/socket_server_metrics.h"
#include "raft/driver.h"
#include "raft/network.h"
#include "raft/snapshot.h"
#include "security/authorizer.h"
#include "server/acl_publisher.h"
#include "server/controller_apis.h"
#include "server/forwarding_channel.h"
#include "server/listener_security.h"
#include "server/controller_registration.h"
#include "server/feature_guard.h"
#include "server/scram_publisher.h"
#include "server/delegation_token_publisher.h"
#include "server/tls_reload.h"
#include "server/http_security.h"
#include "server/http_view.h"
#include "http/http_server.h"
#include "http/routes.h"
#include "common/metrics.h"
#include "storage/log_manager.h"
#include "storage/meta_properties.h"
#include "common/directory_id.h"

namespace flotilla::server {

namespace fs = std::filesystem;

// The bound of a broker's controlled shutdown (KIP-631) on SIGTERM. The
// controller normally grants it within two heartbeats (~100 ms); past this the
// controller is unreachable or stuck, and the broker stops anyway (its
// partitions then move when its session times out). Kafka waits up to 5
// minutes; a process manager's kill timeout is usually shorter than that.
constexpr int64_t kControlledShutdownMaxWaitMs = 5000;

std::string verify_formatted_storage(const KafkaConfig& config, std::map<std::string, Uuid>* dir_ids) {
  std::vector<std::string> dirs = config.log_dirs;
  if (std::find(dirs.begin(), dirs.end(), config.metadata_log_dir) == dirs.end()) dirs.push_back(config.metadata_log_dir);
  std::string cluster_id;
  std::string first_dir;
  std::map<Uuid, std::string> seen_ids;
  for (const auto& d : dirs) {
    fs::path p = fs::path(d) / "meta.properties";
    if (!fs::exists(p))
      throw std::runtime_error("No `meta.properties` found in " + d +
                               " (have you run `flotilla storage format` to format the directory?)");
    storage::MetaProperties mp = storage::read_meta_properties(p);
    if (mp.version != 1) throw std::runtime_error("Unsupported meta.properties version " + std::to_string(mp.version) + " in " + d);
    if (mp.node_id != config.node_id)
      throw std::runtime_error("Stored node id " + std::to_string(mp.node_id) + " doesn't match previous node id " +
                               std::to_string(config.node_id) + " in " + p.string() +
                               ". If you moved your data, make sure your configured node id matches. If you intend to create a new "
                               "node, you should remove all data in your data directories.");
    if (cluster_id.empty()) {
      cluster_id = mp.cluster_id;
      first_dir = d;
    } else if (mp.cluster_id != cluster_id) {
      throw std::runtime_error("Invalid cluster.id in: " + p.string() + ". Expected " + cluster_id + ", but read " + mp.cluster_id +
                               " (from " + first_dir + ")");
    }
    Uuid id;
    if (mp.directory_id.empty()) {
      // Formatted before directory ids (as Kafka's start-up does): give it one.
      do id = directory_id::random();
      while (seen_ids.count(id));
      mp.directory_id = id.to_string();
      storage::write_meta_properties(p, mp);
      spdlog::info("[KafkaRaftServer nodeId={}] Assigned directory.id {} to {}", config.node_id, mp.directory_id, d);
    } else {
      auto parsed = Uuid::parse(mp.directory_id);
      if (!parsed) throw std::runtime_error("Malformed directory.id " + mp.directory_id + " in " + p.string());
      id = *parsed;
    }
    if (directory_id::reserved(id))
      throw std::runtime_error("Invalid resrved directory ID " + id.to_string() + " found in " + d);
    if (auto prev = seen_ids.find(id); prev != seen_ids.end())
      throw std::runtime_error("Duplicate directory ID " + id.to_string() + " found. It was the ID of " + prev->second +
                               ", but also of " + d);
    seen_ids[id] = d;
    if (dir_ids) (*dir_ids)[d] = id;
  }
  return cluster_id;
}


class NodeImpl {
 public:
  explicit NodeImpl(KafkaConfig c) : config(std::move(c)), signals(io, SIGINT, SIGTERM), housekeeping_timer(io) {}

  void start();
  // SIGTERM/SIGINT or Node::shutdown(): a broker first runs its controlled
  // shutdown while still serving, then finish_shutdown() stops everything.
  // A second signal skips the wait.
  void shutdown();
  void finish_shutdown();
  void await_signal();
  msg::BrokerRegistrationRequest registration() const;
  msg::ControllerRegistrationRequest controller_registration_request() const;
  void schedule_housekeeping();
  // Opens every listener that may serve now and is not open yet: controller
  // listeners at once, broker listeners once the broker is unfenced; with an
  // authorizer, a listener not in early.start.listeners only once it has
  // loaded the ACLs (as Kafka holds them until the authorizer is ready).
  void open_ready_listeners();
  void when_unfenced();
  void when_logs_opened();
  void start_broker_lifecycle();
  void start_cleaner();
  // Completes the authorizer's initial load once this node has caught up
  // with the metadata log (its image reached the high watermark of a known
  // leader); then opens the listeners that waited for it.
  void when_caught_up();

  KafkaConfig config;
  asio::io_context io;
  asio::signal_set signals;
  asio::steady_timer housekeeping_timer;
  asio::steady_timer unfence_timer{io};
  asio::steady_timer catch_up_timer{io};
  asio::steady_timer logs_timer{io};
  bool broker_ready = false;                   // unfenced: the broker listeners may open
  std::set<std::string> opened_listeners;
  std::string cluster_id;
  Uuid incarnation_id = Uuid::random();
  bool stopping = false;
  bool controlled_shutdown = false;  // under way: listeners, replication and heartbeats go on
  int64_t started_us = 0;

  broker::BrokerConfig broker_config;
  std::unique_ptr<storage::LogManager> logs;
  std::unique_ptr<raft::RaftDriver> raft;
  std::unique_ptr<metadata::MetadataLoader> loader;
  std::unique_ptr<metadata::SnapshotGenerator> snapshots;
  std::unique_ptr<TlsReloader> tls_reloader;  // dynamic listener.name.<l>.ssl.* updates
  std::unique_ptr<controller::QuorumController> controller;
  std::unique_ptr<broker::ReplicaManager> replicas;
  std::unique_ptr<broker::AssignmentsManager> assignments;  // KIP-858 (broker role)
  std::unique_ptr<broker::CoordinatorHost> coordinator_host;     // the coordinators' view of the replicas (broker role)
  std::unique_ptr<coordinator::GroupCoordinatorService> groups;  // the group coordinators (broker role)
  std::unique_ptr<coordinator::TxnCoordinatorService> txns;      // the transaction coordinator and producer ids (broker role)
  std::map<int32_t, raft::PeerAddress> voter_endpoints;
  std::unique_ptr<raft::RaftNetwork> raft_network;
  std::unique_ptr<ForwardingControllerChannel> channel;
  std::unique_ptr<ControllerApis> controller_apis;
  std::unique_ptr<BrokerExtraApis> broker_apis;
  std::unique_ptr<broker::BrokerLifecycle> lifecycle;
  std::vector<std::unique_ptr<broker::RequestHandler>> handlers;
  std::vector<std::unique_ptr<net::Listener>> listeners;
  // Node-wide, shared by every listener (issue 21): queued.max.request.bytes
  // and Kafka's ConnectionQuotas; made at the first open_ready_listeners().
  std::shared_ptr<net::MemoryPool> request_pool;
  std::shared_ptr<net::ConnectionQuotas> connection_quotas;
  std::unique_ptr<net::SocketServerMetrics> socket_server_metrics;
  // Security: each listener's settings (checked before anything starts), the
  // SCRAM credentials its SASL servers check (fed by the metadata image), and
  // how this node's own connections authenticate.
  std::shared_ptr<security::CredentialCache> scram_credentials = std::make_shared<security::CredentialCache>();
  std::map<std::string, std::shared_ptr<const net::ListenerSecurity>> listener_security;
  std::shared_ptr<const net::ClientSecurity> controller_client_security;
  std::shared_ptr<const net::ClientSecurity> inter_broker_client_security;
  std::unique_ptr<FeatureGuard> feature_guard;
  std::unique_ptr<ControllerRegistrationManager> controller_registration;
  std::unique_ptr<ScramCredentialPublisher> scram_publisher;
  // Delegation tokens' SCRAM credentials (derived with delegation.token.secret.key).
  std::shared_ptr<security::DelegationTokenCredentials> token_credentials;
  std::unique_ptr<DelegationTokenPublisher> token_publisher;
  // authorizer.class.name: the StandardAuthorizer every listener's APIs ask
  // (null: everything is allowed), fed by the metadata image.
  std::unique_ptr<security::StandardAuthorizer> authorizer;
  std::unique_ptr<AclPublisher> acl_publisher;
  // Client quotas, fed by the metadata image, enforced on the broker listeners.
  std::unique_ptr<broker::ClientQuotas> client_quotas;
  // Client telemetry (KIP-714): subscriptions, client instances, and the
  // latest metrics each pushed (the store: what the /metrics endpoint reads).
  std::unique_ptr<broker::ClientMetricsStore> client_metrics;
  std::unique_ptr<broker::ClientTelemetry> client_telemetry;
  // The HTTP listener (http.listeners): /metrics, REST v3, the console. Its
  // own threads; it sees the node through http_view's snapshots only.
  std::unique_ptr<HttpNodeView> http_view;
  std::unique_ptr<broker::RequestHandler> http_handler;  // REST calls' broker API (broker role)
  std::unique_ptr<http::HttpServer> http_server;
  void setup_http();
  void setup_security();
  // The TLS listeners' reloadable contexts, by listener name.
  TlsListeners tls_listeners() const {
    TlsListeners tls;
    for (const auto& [name, sec] : listener_security)
      if (sec->tls) tls[name] = sec->tls;
    return tls;
  }
};

namespace {

storage::LogConfig data_log_config(const KafkaConfig& c) {
  storage::LogConfig l;
  l.segment_bytes = c.log_segment_bytes;
  l.segment_ms = c.log_roll_ms;
  l.retention_ms = c.log_retention_ms;
  l.retention_bytes = c.log_retention_bytes;
  l.index_interval_bytes = c.log_index_interval_bytes;
  l.max_index_bytes = c.log_index_size_max_bytes;
  l.flush_interval_messages = c.log_flush_interval_messages;
  l.file_delete_delay_ms = c.log_segment_delete_delay_ms;
  l.cleanup_delete = c.log_cleanup_policy.find("delete") != std::string::npos;
  l.cleanup_compact = c.log_cleanup_policy.find("compact") != std::string::npos;
  l.min_cleanable_dirty_ratio = c.log_cleaner_min_cleanable_ratio;
  l.delete_retention_ms = c.log_cleaner_delete_retention_ms;
  l.min_compaction_lag_ms = c.log_cleaner_min_compaction_lag_ms;
  l.max_compaction_lag_ms = c.log_cleaner_max_compaction_lag_ms;
  return l;
}

broker::BrokerConfig make_broker_config(const KafkaConfig& c, const std::string& cluster_id) {
  broker::BrokerConfig b;
  b.node_id = c.node_id;
  b.cluster_id = cluster_id;
  b.log_dirs = c.log_dirs;
  b.num_partitions = c.num_partitions;
  b.default_replication_factor = c.default_replication_factor;
  b.auto_create_topics_enable = c.auto_create_topics_enable;
  b.max_request_partition_size_limit = c.max_request_partition_size_limit;
  b.delete_topic_enable = c.delete_topic_enable;
  b.authorizer_configured = !c.authorizer_class_name.empty();
  b.delegation_token_secret_key = c.delegation_token_secret_key;
  b.message_max_bytes = c.message_max_bytes;
  b.fetch_max_bytes = c.fetch_max_bytes;
  b.producer_id_expiration_ms = c.producer_id_expiration_ms;
  b.producer_id_expiration_check_interval_ms = c.producer_id_expiration_check_interval_ms;
  b.log_message_timestamp_type = c.log_message_timestamp_type;
  b.inter_broker_listener_name = c.inter_broker_listener_name;
  b.rack_aware_replica_selector = c.replica_selector_class == "org.apache.kafka.common.replica.RackAwareReplicaSelector";
  b.min_insync_replicas = c.min_insync_replicas;
  b.replica_lag_time_max_ms = c.replica_lag_time_max_ms;
  b.replica_fetch_wait_max_ms = c.replica_fetch_wait_max_ms;
  b.replica_fetch_min_bytes = c.replica_fetch_min_bytes;
  b.replica_fetch_max_bytes = c.replica_fetch_max_bytes;
  b.replica_fetch_response_max_bytes = c.replica_fetch_response_max_bytes;
  b.replica_fetch_backoff_ms = c.replica_fetch_backoff_ms;
  b.replica_socket_timeout_ms = c.replica_socket_timeout_ms;
  b.replica_high_watermark_checkpoint_interval_ms = c.replica_high_watermark_checkpoint_interval_ms;
  b.log = data_log_config(c);
  b.log_retention_check_interval_ms = c.log_retention_check_interval_ms;
  b.static_configs = c.originals;
  return b;
}

}  // namespace

void NodeImpl::start() {
  started_us = monotonic_us();
  std::map<std::string, Uuid> dir_ids;
  cluster_id = verify_formatted_storage(config, &dir_ids);
  spdlog::info("[KafkaRaftServer nodeId={}] Starting with cluster id {} (process.roles={}{}{})", config.node_id, cluster_id,
               config.broker_role ? "broker" : "", config.broker_role && config.controller_role ? "," : "",
               config.controller_role ? "controller" : "");
  broker_config = make_broker_config(config, cluster_id);
  setup_security();
  if (config.authorizer_enabled()) {
    security::AuthorizerConfig ac;
    ac.super_users = config.super_users;
    ac.allow_everyone_if_no_acl_found = config.allow_everyone_if_no_acl_found;
    authorizer = std::make_unique<security::StandardAuthorizer>(ac);
    spdlog::info("[KafkaRaftServer nodeId={}] Authorizer {} with super.users [{}], allow.everyone.if.no.acl.found={}", config.node_id,
                 config.authorizer_class_name, fmt::join(config.super_users, ", "), config.allow_everyone_if_no_acl_found);
  }
  broker_config.inter_broker_client_security = inter_broker_client_security;
  broker_config.validate_reconfiguration = [this, tls = tls_listeners()](const std::map<std::string, std::string>& dynamic) {
    return validate_dynamic_tls(config, tls, dynamic);
  };

  // Data logs (recovered here: a torn tail is truncated and logged).
  // Produce writes: one thread per log dir (a disk each, as a rule), no more
  // than there are CPUs. A second thread on one dir ran slower here (1 KiB
  // records, 8 partitions: 1,020-1,080 vs 1,280-1,470 MB/s): on 2 CPUs it
  // competes with the event loop, which then reads requests later.
  const int writer_threads =
      std::clamp<int>(static_cast<int>(config.log_dirs.size()), 1, std::max<int>(1, static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<Uuid> log_dir_ids;
  for (const auto& d : config.log_dirs) log_dir_ids.push_back(dir_ids[d]);
  // The fd cache's bound, before any log opens (storage/fd_cache.h).
  {
    const size_t fd_cache = config.log_fd_cache_size > 0 ? static_cast<size_t>(config.log_fd_cache_size) : storage::FdCache::default_capacity();
    storage::FdCache::global().set_capacity(fd_cache);
    spdlog::info("[KafkaRaftServer nodeId={}] Log file descriptor cache: at most {} open (flotilla.log.fd.cache.size{})", config.node_id, fd_cache,
                 config.log_fd_cache_size > 0 ? "" : ": half of RLIMIT_NOFILE");
  }
  // A broker's logs open on the recovery threads while the metadata log is
  // replayed (on_logs_opened() carries on); a controller's dirs hold none.
  logs = std::make_unique<storage::LogManager>(config.log_dirs, broker_config.log, writer_threads, log_dir_ids,
                                               config.num_recovery_threads_per_data_dir, config.broker_role);
  if (!config.broker_role) start_cleaner();

  // The metadata log and Raft.
  raft::RaftConfig rc;
  rc.node_id = config.node_id;
  for (const auto& v : config.quorum_voters) {
    rc.voters.push_back(v.id);
    voter_endpoints[v.id] = raft::PeerAddress{v.host, v.port};
    raft::Voter known;
    known.id = v.id;
    known.endpoints.push_back(raft::VoterEndpoint{
        config.controller_listener_names.empty() ? "CONTROLLER" : config.controller_listener_names.front(), v.host,
        static_cast<uint16_t>(v.port)});
    rc.known_voters[v.id] = known;
  }
  rc.election_timeout_ms = config.quorum_election_timeout_ms;
  rc.election_backoff_max_ms = config.quorum_election_backoff_max_ms;
  rc.fetch_timeout_ms = config.quorum_fetch_timeout_ms;
  rc.append_linger_ms = config.quorum_append_linger_ms;
  rc.request_timeout_ms = config.quorum_request_timeout_ms;
  rc.retry_backoff_ms = config.quorum_retry_backoff_ms;
  rc.cluster_id = cluster_id;
  rc.max_retention_ms = config.metadata_max_retention_ms;
  rc.max_retention_bytes = config.metadata_max_retention_bytes;
  rc.segment_ms = config.metadata_log_segment_ms;
  // controller.quorum.bootstrap.servers: pseudo ids -2, -3, ... (as Kafka numbers them).
  std::map<int32_t, raft::PeerAddress> bootstrap_addresses;
  for (size_t i = 0; i < config.quorum_bootstrap_servers.size(); ++i) {
    const std::string& hp = config.quorum_bootstrap_servers[i];
    auto colon = hp.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("Invalid controller.quorum.bootstrap.servers entry " + hp);
    int32_t id = -2 - static_cast<int32_t>(i);
    rc.bootstrap_ids.push_back(id);
    bootstrap_addresses[id] = raft::PeerAddress{hp.substr(0, colon), std::stoi(hp.substr(colon + 1))};
  }
  fs::path metadata_dir = fs::path(config.metadata_log_dir) / "__cluster_metadata-0";
  if (voter_endpoints.empty()) {
    // A dynamic quorum (KIP-853) formatted with --standalone or
    // --initial-controllers: the voters and their controller endpoints come
    // from the bootstrap checkpoint's VotersRecord.
    if (auto bv = raft::read_bootstrap_voters(metadata_dir)) {
      for (const auto& v : *bv) {
        const raft::VoterEndpoint* chosen = nullptr;
        for (const auto& ep : v.endpoints)
          if (!chosen || (!config.controller_listener_names.empty() && ep.name == config.controller_listener_names.front())) chosen = &ep;
        if (chosen) voter_endpoints[v.id] = raft::PeerAddress{chosen->host, chosen->port};
      }
    }
  }
  storage::LogConfig mlc;
  mlc.segment_bytes = config.metadata_log_segment_bytes;
  mlc.segment_ms = config.metadata_log_segment_ms;
  mlc.retention_ms = -1;  // the metadata log is bounded by snapshots, not time
  mlc.retention_bytes = -1;
  mlc.preallocate = true;  // fsync of appends without file-size changes: the commit latency
  auto metadata_log = raft::RaftDriver::open_metadata_log(config.metadata_log_dir, mlc);
  raft = std::make_unique<raft::RaftDriver>(io, rc, std::move(metadata_log), metadata_dir);

  // Listeners on commits, in this order: the broker's image first (so logs of
  // new partitions exist), then the controller (which answers its callers).
  loader = std::make_unique<metadata::MetadataLoader>(cluster_id);
  // First: nothing may act on an image holding a feature level this build does not know.
  feature_guard = std::make_unique<FeatureGuard>(config.node_id);
  loader->add_publisher(feature_guard.get());
  replicas = std::make_unique<broker::ReplicaManager>(io, broker_config, *logs);
  if (config.broker_role) replicas->set_logs_opening();
  if (config.broker_role) {
    coordinator_host = std::make_unique<broker::CoordinatorHost>(io, *replicas);
    coordinator::GroupCoordinatorConfig gc;
    gc.group_min_session_timeout_ms = config.group_min_session_timeout_ms;
    gc.group_max_session_timeout_ms = config.group_max_session_timeout_ms;
    gc.group_initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms;
    gc.group_max_size = config.group_max_size;
    gc.consumer_session_timeout_ms = config.group_consumer_session_timeout_ms;  // KIP-848
    gc.consumer_heartbeat_interval_ms = config.group_consumer_heartbeat_interval_ms;
    gc.consumer_max_size = config.group_consumer_max_size;
    gc.offsets_topic_num_partitions = config.offsets_topic_num_partitions;
    gc.offsets_topic_replication_factor = config.offsets_topic_replication_factor;
    gc.offsets_topic_segment_bytes = config.offsets_topic_segment_bytes;
    gc.offset_metadata_max_bytes = config.offset_metadata_max_bytes;
    gc.offsets_commit_timeout_ms = config.offsets_commit_timeout_ms;
    gc.offsets_retention_ms = config.offsets_retention_minutes * 60000;
    gc.offsets_retention_check_interval_ms = config.offsets_retention_check_interval_ms;
    groups = std::make_unique<coordinator::GroupCoordinatorService>(io, *coordinator_host, gc);
  }
  loader->add_publisher(replicas.get());
  scram_publisher = std::make_unique<ScramCredentialPublisher>(scram_credentials);
  loader->add_publisher(scram_publisher.get());
  if (!token_credentials) token_credentials = std::make_shared<security::DelegationTokenCredentials>(config.delegation_token_secret_key);
  token_publisher = std::make_unique<DelegationTokenPublisher>(token_credentials);
  loader->add_publisher(token_publisher.get());
  if (authorizer) {
    acl_publisher = std::make_unique<AclPublisher>(*authorizer);
    loader->add_publisher(acl_publisher.get());
  }
  {
    broker::ClientQuotaConfig qc;
    qc.node_id = config.node_id;
    qc.replication = security::QuotaWindowConfig{config.replication_quota_window_num,
                                                 int64_t{config.replication_quota_window_size_seconds} * 1000};
    qc.client = security::QuotaWindowConfig{config.quota_window_num, int64_t{config.quota_window_size_seconds} * 1000};
    qc.controller = security::QuotaWindowConfig{config.controller_quota_window_num, int64_t{config.controller_quota_window_size_seconds} * 1000};
    client_quotas = std::make_unique<broker::ClientQuotas>(qc);
    loader->add_publisher(client_quotas.get());
    replicas->set_follower_quota(&client_quotas->follower_replication());  // the replica fetchers' side
  }
  {
    client_metrics = std::make_unique<broker::ClientMetricsStore>();
    broker::ClientTelemetryConfig tc;
    tc.telemetry_max_bytes = config.telemetry_max_bytes;
    client_telemetry = std::make_unique<broker::ClientTelemetry>(tc, client_metrics.get());
  }
  controller::ControllerConfig cc;
  cc.node_id = config.node_id;
  cc.num_partitions = config.num_partitions;
  cc.default_replication_factor = config.default_replication_factor;
  cc.metadata_max_idle_interval_ms = config.metadata_max_idle_interval_ms;
  cc.broker_session_timeout_ms = config.broker_session_timeout_ms;
  cc.metadata_log_dir = config.metadata_log_dir;
  cc.cluster_id = cluster_id;
  cc.delete_topic_enable = config.delete_topic_enable;
  cc.max_partitions = config.max_partitions;  // max.partitions (issue 21)
  cc.unclean_leader_election_enable = config.unclean_leader_election_enable;
  cc.min_insync_replicas = config.min_insync_replicas;
  cc.auto_leader_rebalance_enable = config.auto_leader_rebalance_enable;
  cc.leader_imbalance_check_interval_ms = config.leader_imbalance_check_interval_seconds * 1000;
  cc.leader_imbalance_per_broker_percentage = config.leader_imbalance_per_broker_percentage;
  for (const auto& v : config.quorum_voters) cc.controller_ids.push_back(v.id);
  cc.authorizer_configured = config.authorizer_enabled();
  cc.delegation_token_secret_key = config.delegation_token_secret_key;
  cc.delegation_token_max_lifetime_ms = config.delegation_token_max_lifetime_ms;
  cc.delegation_token_expiry_time_ms = config.delegation_token_expiry_time_ms;
  cc.delegation_token_expiry_check_interval_ms = config.delegation_token_expiry_check_interval_ms;
  cc.describe_topic_configs = [bc = broker_config](const metadata::ConfigMap& overrides) {
    std::vector<controller::TopicConfigEntry> out;
    for (const auto& e : broker::effective_topic_configs(bc, overrides))
      out.push_back(controller::TopicConfigEntry{e.name, e.value, false, e.source, false});
    return out;
  };
  // KIP-630: Raft hands each listener the newest valid metadata snapshot
  // first, then the log after it.
  raft->register_listener(loader.get());
  if (config.controller_role) {
    controller = std::make_unique<controller::QuorumController>(io, *raft, cc);
    raft->register_listener(controller.get());
  }
  for (const auto& [id, a] : bootstrap_addresses) voter_endpoints[id] = a;
  raft_network = std::make_unique<raft::RaftNetwork>(io, *raft, config.node_id, voter_endpoints, config.quorum_request_timeout_ms);
  raft_network->set_client_security(controller_client_security);
  // Our own controller address: Fetch answers of ours as leader carry it.
  for (const auto& ep : config.listeners)
    if (config.is_controller_listener(ep.listener)) {
      Endpoint adv = config.advertised(ep.listener);
      raft_network->set_address(config.node_id, raft::PeerAddress{adv.host.empty() ? "127.0.0.1" : adv.host, adv.port});
      break;
    }
  raft->set_voter_address_listener([this](int32_t id, const std::string& host, int port) {
    if (id != config.node_id) raft_network->set_address(id, raft::PeerAddress{host, port});
  });
  raft_network->attach();
  channel = std::make_unique<ForwardingControllerChannel>(io, *raft, controller.get(), config.broker_role ? replicas.get() : nullptr,
                                                          voter_endpoints, config.node_id, config.request_timeout_ms, raft_network.get());
  channel->set_client_security(controller_client_security);
  channel->set_lifecycle_timeout_ms(std::max(1, config.broker_session_timeout_ms / 2));
  // Leaders send their ISR changes to the controller with this broker's epoch.
  replicas->set_controller(channel.get(), [this] { return lifecycle ? lifecycle->broker_epoch() : int64_t{-1}; });
  if (config.broker_role) {
    // KIP-858: the log dir of every local replica, told to the controller.
    assignments = std::make_unique<broker::AssignmentsManager>(io, *channel, *replicas, *logs, config.node_id,
                                                               [this] { return lifecycle ? lifecycle->broker_epoch() : int64_t{-1}; });
    loader->add_publisher(assignments.get());
    coordinator_host->set_controller(channel.get());  // producer-id blocks
    coordinator::TxnCoordinatorConfig tc;
    tc.transaction_max_timeout_ms = config.transaction_max_timeout_ms;
    tc.transaction_state_log_num_partitions = config.transaction_state_log_num_partitions;
    tc.offsets_topic_num_partitions = config.offsets_topic_num_partitions;
    tc.abort_timed_out_transaction_cleanup_interval_ms = config.transaction_abort_timed_out_transaction_cleanup_interval_ms;
    tc.transactional_id_expiration_ms = config.transactional_id_expiration_ms;
    tc.remove_expired_transaction_cleanup_interval_ms = config.transaction_remove_expired_transaction_cleanup_interval_ms;
    tc.transaction_state_log_replication_factor = config.transaction_state_log_replication_factor;
    tc.transaction_state_log_min_isr = config.transaction_state_log_min_isr;
    tc.transaction_state_log_segment_bytes = config.transaction_state_log_segment_bytes;
    txns = std::make_unique<coordinator::TxnCoordinatorService>(io, *coordinator_host, tc, broker_config.inter_broker_listener_name);
    txns->set_group_coordinator(groups.get());
    txns->set_client_security(inter_broker_client_security);
  }
  controller_apis = std::make_unique<ControllerApis>(*raft, controller.get(), cluster_id, voter_endpoints, raft_network.get());
  broker_apis = std::make_unique<BrokerExtraApis>(*channel);
  controller_apis->set_authorizer(authorizer.get());
  broker_apis->set_authorizer(authorizer.get());

  metadata::SnapshotGeneratorConfig sgc;
  sgc.committed_bytes = [l = loader.get()] { return l->committed_batch_bytes(); };
  sgc.max_bytes_between_snapshots = config.metadata_snapshot_max_new_record_bytes;
  sgc.max_interval_ms = config.metadata_snapshot_max_interval_ms;
  sgc.kraft_state = [this](int64_t end_offset) { return raft->snapshot_kraft_state(end_offset); };
  snapshots = std::make_unique<metadata::SnapshotGenerator>(io, raft->partition_dir(), *loader, sgc);
  // Every snapshot written becomes the one Raft serves to lagging replicas, and the cleaner's.
  snapshots->set_on_written([this](raft::SnapshotId id) { raft->on_snapshot_written(id); });
  loader->add_publisher(snapshots.get());
  tls_reloader = std::make_unique<TlsReloader>(config, tls_listeners());
  loader->add_publisher(tls_reloader.get());
  if (config.controller_role) {
    controller_registration = std::make_unique<ControllerRegistrationManager>(io, *channel, controller_registration_request(), 1000);
    loader->add_publisher(controller_registration.get());
  }

  setup_http();
  raft->start();
  if (auto latest = raft->latest_snapshot()) snapshots->set_latest(*latest);
  if (controller) controller->start();
  if (http_view) {
    http_view->start();
    http_server->start();
  }

  await_signal();
  open_ready_listeners();
  if (authorizer) when_caught_up();
  schedule_housekeeping();
  if (config.broker_role) {
    start_broker_lifecycle();
    when_logs_opened();
  } else {
    spdlog::info("[KafkaRaftServer nodeId={}] Kafka Server started (startup took {} ms)", config.node_id,
                 (monotonic_us() - started_us) / 1000.0);
  }
}

void NodeImpl::start_cleaner() {
  storage::CleanerConfig cc;
  cc.enable = config.log_cleaner_enable && config.log_cleaner_threads > 0;
  cc.threads = config.log_cleaner_threads;
  cc.backoff_ms = config.log_cleaner_backoff_ms;
  cc.dedupe_buffer_size = config.log_cleaner_dedupe_buffer_size;
  logs->start_cleaner(cc);
}

// The broker's logs open on their threads while the loop replays the metadata
// log (and the broker registers); once they are all open: the replica manager
// applies what it queued, and the broker asks to be unfenced.
void NodeImpl::when_logs_opened() {
  if (stopping) return;
  if (!logs->opening_done()) {
    logs_timer.expires_after(std::chrono::milliseconds(2));
    logs_timer.async_wait([this](const asio::error_code& ec) {
      if (!ec) when_logs_opened();
    });
    return;
  }
  logs->finish_opening();  // throws (out of run(): a fatal start-up error) when no dir is left
  start_cleaner();
  replicas->logs_opened();
  lifecycle->set_ready_to_unfence(true);  // a dir that failed to load is in its heartbeats' offline dirs
  assignments->start();
  when_unfenced();
}

// The broker registers (KIP-858: with its log dirs) and catches up while its
// logs open; it asks to stay fenced until they are (Kafka's readyToUnfence).
void NodeImpl::start_broker_lifecycle() {
  {
    // While fenced the broker heartbeats every few ms: start-up is bounded by
    // how fast it catches up, not by the heartbeat interval.
    int32_t retry_ms = controller && config.quorum_voters.size() == 1 ? 5 : 20;
    // Issue 21: the partition budget this broker registers with (capacity checks by the controller).
    broker::PartitionBudgetConfig pbc{config.max_broker_partitions, config.partitions_per_fd, config.partition_memory_fraction,
                                      config.memory_per_partition_bytes};
    auto budget = broker::derive_partition_budget(pbc, broker::probe_machine_resources());
    spdlog::info("[KafkaRaftServer nodeId={}] {}", config.node_id, budget.describe());
    auto reg = registration();
    reg.flotilla_max_partitions = budget.limit;
    lifecycle = std::make_unique<broker::BrokerLifecycle>(io, *channel, std::move(reg), config.broker_heartbeat_interval_ms, retry_ms,
                                                          [this] { return replicas->image()->offset(); });
    lifecycle->set_offline_dirs([this] { return logs->offline_dir_ids(); });
    // Kafka's LogDirFailureHandler: the controller hears of a failed dir at
    // once; with no dir left, or the metadata log's, the broker halts.
    replicas->set_log_dir_failure_listener([this](const std::string& dir) {
      if (logs->offline_dirs().size() >= logs->dirs().size()) {
        spdlog::critical("[KafkaRaftServer nodeId={}] Shutdown broker because all log dirs in {} have failed", config.node_id,
                         fmt::join(logs->dirs(), ", "));
        std::_Exit(1);
      }
      if (fs::path(dir).lexically_normal() == fs::path(config.metadata_log_dir).lexically_normal()) {
        spdlog::critical("[KafkaRaftServer nodeId={}] Shutdown broker because the metadata log dir {} has failed", config.node_id, dir);
        std::_Exit(1);
      }
      lifecycle->log_dirs_changed(logs->online_dir_ids());
    });
    lifecycle->set_ready_to_unfence(false);
    lifecycle->start();
  }
}

void NodeImpl::setup_http() {
  if (config.http_listeners.empty()) return;
  std::vector<http::HttpListener> http_listeners;
  try {
    http_listeners = http::parse_http_listeners(config.http_listeners);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string(e.what()) + " (configuration http.listeners)");
  }
  HttpViewConfig vc;
  vc.node_id = config.node_id;
  vc.cluster_id = cluster_id;
  vc.broker_role = config.broker_role;
  vc.controller_role = config.controller_role;
  vc.metadata_log_dir = config.metadata_log_dir;
  vc.metadata_partition_dir = raft->partition_dir().string();
  vc.inter_broker_listener_name = config.inter_broker_listener_name;
  vc.start_time_ms = wall_clock_ms();
  http_view = std::make_unique<HttpNodeView>(io, vc, *raft);
  loader->add_publisher(http_view.get());
  http_view->set_authorizer(authorizer.get());
  http_view->set_inter_broker_security(inter_broker_client_security);
  // Every 250 ms on the loop: the Raft sensors' figures for /metrics, with
  // the voters whose address this node does not know (Kafka's
  // number-unknown-voter-connections).
  http_view->set_on_raft_status([this](const http::RaftStatus&) {
    int32_t unknown = 0;
    if (!raft->core().voter_history().empty())
      for (int32_t id : raft->core().voters_at(raft->next_offset()))
        if (id != config.node_id && !raft_network->address(id)) ++unknown;
    raft->publish_metrics(unknown);
  });
  if (config.broker_role) {
    http_handler = std::make_unique<broker::RequestHandler>(broker_config, *replicas, channel.get(), broker_apis.get(), true);
    http_handler->set_group_coordinator(groups.get());
    http_handler->set_txn_coordinator(txns.get());
    http_handler->set_authorizer(authorizer.get());
    http_view->set_handler(http_handler.get());
    http_view->set_broker_snapshot_source([this] { return std::make_unique<broker::BrokerSnapshotTaker>(*replicas, groups.get()); });
  }
  http::HttpOptions options;
  options.partition_series = config.metrics_partition_series;
  http::Router router;
  http::add_metrics_routes(router, *http_view, options);
  http::add_rest_routes(router, *http_view, options);
  http::add_console_routes(router, *http_view, options);
  http::HttpServerConfig hc;
  hc.listeners = std::move(http_listeners);
  hc.threads = config.http_server_threads;
  hc.thread_nice = config.http_server_thread_nice;
  configure_http_security(config, scram_credentials, hc);  // https (ssl.*), Basic auth against SCRAM users
  http_server = std::make_unique<http::HttpServer>(std::move(hc), std::move(router));
}

void NodeImpl::setup_security() {
  if (!token_credentials) token_credentials = std::make_shared<security::DelegationTokenCredentials>(config.delegation_token_secret_key);
  for (const auto& ep : config.listeners)
    listener_security[ep.listener] = make_listener_security(config, ep, scram_credentials, token_credentials);
  if (!config.controller_listener_names.empty())
    controller_client_security = make_client_security(config, config.controller_listener_names.front(),
                                                      config.sasl_mechanism_controller_protocol, "sasl.mechanism.controller.protocol");
  if (config.broker_role)
    inter_broker_client_security = make_client_security(config, config.inter_broker_listener_name,
                                                        config.sasl_mechanism_inter_broker_protocol, "sasl.mechanism.inter.broker.protocol");
}

namespace {

// The listeners (as advertised: the controller listeners or the others) and
// the supported feature ranges, the same in a broker's and a controller's
// registration.
template <class Request>
void fill_registration(Request& req, const KafkaConfig& config, bool controller_listeners) {
  for (const auto& ep : config.listeners) {
    if (config.is_controller_listener(ep.listener) != controller_listeners) continue;
    Endpoint adv = config.advertised(ep.listener);
    typename Request::Listener l;
    l.name = ep.listener;
    l.host = adv.host;
    l.port = static_cast<uint16_t>(adv.port);
    l.security_protocol = static_cast<int16_t>(security::parse_security_protocol(ep.security_protocol).value_or(security::SecurityProtocol::PLAINTEXT));
    req.listeners.push_back(l);
  }
  for (const auto& f : broker::RequestHandler::supported_features()) {
    typename Request::Feature feat;
    feat.name = f.name;
    feat.min_supported_version = f.min_version;
    feat.max_supported_version = f.max_version;
    req.features.push_back(feat);
  }
}

}  // namespace

msg::BrokerRegistrationRequest NodeImpl::registration() const {
  msg::BrokerRegistrationRequest req;
  req.broker_id = config.node_id;
  req.cluster_id = cluster_id;
  req.incarnation_id = incarnation_id;
  fill_registration(req, config, false);
  req.rack = config.broker_rack;
  // KIP-858: the online log dirs (the controller keeps them from 3.7-IV2).
  if (logs) req.log_dirs = logs->online_dir_ids();
  // KIP-966: the epoch of the registration a clean shutdown ended (-1 after a crash).
  req.previous_broker_epoch = logs ? logs->previous_broker_epoch() : -1;
  return req;
}

// KIP-919: a controller's registration.
msg::ControllerRegistrationRequest NodeImpl::controller_registration_request() const {
  msg::ControllerRegistrationRequest req;
  req.controller_id = config.node_id;
  req.incarnation_id = incarnation_id;
  req.zk_migration_ready = false;
  fill_registration(req, config, true);
  return req;
}

void NodeImpl::open_ready_listeners() {
  if (stopping) return;
  net::Limits limits;
  limits.max_request_bytes = config.socket_request_max_bytes;
  limits.send_buffer_bytes = config.socket_send_buffer_bytes;
  limits.receive_buffer_bytes = config.socket_receive_buffer_bytes;
  // Request memory and connection limits (issue 21).
  if (!request_pool) {
    request_pool = std::make_shared<net::MemoryPool>(config.queued_max_request_bytes > 0 ? config.queued_max_request_bytes : -1);
    if (request_pool->bounded() && config.queued_max_request_bytes < config.socket_request_max_bytes)
      spdlog::warn("queued.max.request.bytes ({}) is below socket.request.max.bytes ({}): larger requests are refused",
                   config.queued_max_request_bytes, config.socket_request_max_bytes);
    net::ConnectionLimits cl;
    const auto broker_listeners = std::count_if(config.listeners.begin(), config.listeners.end(),
                                                [&](const auto& ep) { return !config.is_controller_listener(ep.listener); });
    cl.max_connections = config.max_connections;
    cl.max_connections_per_ip = config.max_connections_per_ip;
    cl.per_ip_overrides = config.max_connections_per_ip_overrides;
    cl.max_connection_creation_rate = config.max_connection_creation_rate;
    for (const auto& ep : config.listeners) {
      std::string lower = ep.listener;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (auto it = config.listener_max_connections.find(lower); it != config.listener_max_connections.end())
        cl.listener_max_connections[ep.listener] = it->second;
      if (auto it = config.listener_max_connection_creation_rate.find(lower); it != config.listener_max_connection_creation_rate.end())
        cl.listener_creation_rate[ep.listener] = it->second;
      // Kafka's protected listener: the inter-broker one when the broker has
      // another listener; the controller's (a SocketServer of its own in
      // Kafka) when there are broker listeners.
      if (config.is_controller_listener(ep.listener) ? broker_listeners > 0
                                                     : broker_listeners > 1 && ep.listener == config.inter_broker_listener_name)
        cl.protected_listeners.insert(ep.listener);
      if (config.is_controller_listener(ep.listener)) cl.controller_listeners.insert(ep.listener);
    }
    connection_quotas = std::make_shared<net::ConnectionQuotas>(std::move(cl));
    std::vector<std::string> names;
    for (const auto& ep : config.listeners) names.push_back(ep.listener);
    socket_server_metrics = std::make_unique<net::SocketServerMetrics>(request_pool, connection_quotas, std::move(names));
  }
  limits.pool = request_pool;
  limits.quotas = connection_quotas;
  limits.connections_max_idle_ms = config.connections_max_idle_ms;
  for (const auto& ep : config.listeners) {
    if (opened_listeners.count(ep.listener)) continue;
    bool is_controller = config.is_controller_listener(ep.listener);
    if (!is_controller && !broker_ready) continue;
    if (authorizer && !authorizer->initial_load_complete() && !config.is_early_start_listener(ep.listener)) continue;
    broker::ExtraApis* extra = is_controller ? static_cast<broker::ExtraApis*>(controller_apis.get()) : broker_apis.get();
    auto h = std::make_unique<broker::RequestHandler>(broker_config, *replicas, channel.get(), extra, !is_controller);
    h->set_group_coordinator(groups.get());
    h->set_txn_coordinator(txns.get());
    h->set_authorizer(authorizer.get());
    if (!is_controller) h->set_client_quotas(client_quotas.get());
    if (!is_controller) h->set_client_telemetry(client_telemetry.get());
    auto l = std::make_unique<net::Listener>(io, ep.listener, ep.host, ep.port, *h, limits, listener_security.at(ep.listener));
    l->start();
    spdlog::info("[SocketServer listenerType={}, nodeId={}] Listening on {}:{} ({})", is_controller ? "CONTROLLER" : "BROKER",
                 config.node_id, ep.host.empty() ? "0.0.0.0" : ep.host, l->port(), ep.listener);
    opened_listeners.insert(ep.listener);
    handlers.push_back(std::move(h));
    listeners.push_back(std::move(l));
  }
}

void NodeImpl::when_caught_up() {
  if (stopping || authorizer->initial_load_complete()) return;
  const int64_t hw = raft->high_watermark();
  if (raft->leader_and_epoch().leader_id >= 0 && hw > 0 && loader->image()->offset() + 1 >= hw) {
    authorizer->complete_initial_load();
    spdlog::info("[KafkaRaftServer nodeId={}] The authorizer has loaded {} ACLs (metadata offset {})", config.node_id,
                 authorizer->acl_count(), loader->image()->offset());
    open_ready_listeners();
    return;
  }
  catch_up_timer.expires_after(std::chrono::milliseconds(5));
  catch_up_timer.async_wait([this](const asio::error_code& ec) {
    if (!ec) when_caught_up();
  });
}

// Kafka's broker serves clients only once it has caught up with the metadata
// log and been unfenced; so does this one: when the client port accepts
// connections, topics can be created and produced to.
void NodeImpl::when_unfenced() {
  if (stopping) return;
  if (!lifecycle->registered() || lifecycle->fenced()) {
    unfence_timer.expires_after(std::chrono::milliseconds(1));
    unfence_timer.async_wait([this](const asio::error_code& ec) {
      if (!ec) when_unfenced();
    });
    return;
  }
  broker_ready = true;
  open_ready_listeners();
  spdlog::info("[KafkaRaftServer nodeId={}] Kafka Server started (startup took {} ms)", config.node_id,
               (monotonic_us() - started_us) / 1000.0);
}

void NodeImpl::schedule_housekeeping() {
  housekeeping_timer.expires_after(std::chrono::milliseconds(std::min<int64_t>(config.log_retention_check_interval_ms, 60000)));
  housekeeping_timer.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping) return;
    replicas->housekeeping();
    schedule_housekeeping();
  });
}

void NodeImpl::await_signal() {
  signals.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec || stopping) return;
    spdlog::info("[KafkaRaftServer nodeId={}] Received signal {}, shutting down", config.node_id, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    if (controlled_shutdown) {
      finish_shutdown();
      return;
    }
    await_signal();  // a second one cuts the controlled shutdown short
    shutdown();
  });
}

void NodeImpl::shutdown() {
  if (stopping || controlled_shutdown) return;
  if (lifecycle && config.controlled_shutdown_enable && lifecycle->registered()) {
    // Hand partition leadership over first, still serving clients and
    // followers, so that producers and consumers move to the new leaders
    // without waiting out this broker's session timeout.
    controlled_shutdown = true;
    lifecycle->begin_controlled_shutdown(kControlledShutdownMaxWaitMs, [this] { finish_shutdown(); });
    return;
  }
  finish_shutdown();
}

void NodeImpl::finish_shutdown() {
  if (stopping) return;
  stopping = true;
  signals.cancel();
  int64_t t0 = monotonic_us();
  if (http_server) {
    http_view->begin_stop();  // waiting REST calls give up, so the workers can be joined
    http_server->stop();
    http_view->stop();
    loader->remove_publisher(http_view.get());
  }
  for (auto& l : listeners) l->stop();
  housekeeping_timer.cancel();
  unfence_timer.cancel();
  catch_up_timer.cancel();
  logs_timer.cancel();
  if (lifecycle) lifecycle->stop();
  if (assignments) assignments->stop();
  if (groups) groups->shutdown();
  if (txns) txns->shutdown();
  if (replicas) replicas->shutdown();
  if (channel) channel->close();
  if (controller) controller->shutdown();
  // Resigns leadership: EndQuorumEpoch goes out to the other voters (below).
  if (raft) raft->shutdown();
  if (snapshots) {
    loader->remove_publisher(snapshots.get());
    if (tls_reloader) loader->remove_publisher(tls_reloader.get());
    if (controller_registration) loader->remove_publisher(controller_registration.get());
    snapshots->stop();  // a snapshot being written is finished (or left as .part, deleted at start-up)
  }
  if (logs && lifecycle) logs->set_broker_epoch(lifecycle->broker_epoch());
  if (logs) logs->close_all();
  spdlog::info("[KafkaRaftServer nodeId={}] shut down completed in {} ms", config.node_id, (monotonic_us() - t0) / 1000.0);
  // Give queued requests (EndQuorumEpoch, so the next leader is elected at
  // once) a moment to leave; a single voter has nobody to tell.
  if (config.quorum_voters.size() <= 1) {
    io.stop();
    return;
  }
  auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(50));
  t->async_wait([this, t](const asio::error_code&) {
    if (raft_network) raft_network->close();
    io.stop();
  });
}

Node::Node(KafkaConfig config) : impl_(std::make_unique<NodeImpl>(std::move(config))) {}
Node::~Node() = default;
void Node::start() { impl_->start(); }
int Node::run() {
  impl_->io.run();
  return 0;
}
void Node::shutdown() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace flotilla::server
