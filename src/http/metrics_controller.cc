// The controller's, Raft's and the metadata snapshots' series of /metrics,
// computed at scrape time on the HTTP thread from thread-safe snapshots only:
// the published image (NodeView::image()), the Raft status the event loop
// copies every 250 ms (NodeView::raft_status()), and the relaxed atomics the
// controller, the Raft driver's sensors and the metadata loader/snapshot
// generator publish (controller_metrics.h, raft_metrics.h, snapshot_metrics.h).
//
// Names are the JMX exporter's for Kafka's MBeans (common Kafka rules and
// their KRaft additions): `kafka.controller:type=KafkaController,name=X` ->
// kafka_controller_kafkacontroller_x; `kafka.server:type=raft-metrics`
// attribute a-b -> kafka_server_raftmetrics_a_b (current-state as a label,
// value 1); `kafka.server:type=broker-metadata-metrics` ->
// kafka_server_brokermetadatametrics_*; MetadataLoader and SnapshotEmitter
// gauges -> kafka_server_metadataloader_* / kafka_server_snapshotemitter_*.
// Figures Kafka has no MBean for are `flotilla_*`, in base units (seconds).
// broker-metadata-metrics' last-applied-record-lag-ms is left out: promtool's
// linter refuses a `_ms` name; time() * 1000 - ..._last_applied_record_timestamp
// is the same figure.
//
// Roles: controller series only on controllers (activecontrollercount is 1
// on the active one, 0 on the others: its sum over the quorum is 1); the
// counts from the image on every controller, as Kafka's controllers report
// them from their own image; Raft, loader and snapshot series on every node;
// broker-metadata-metrics on brokers.
#include <algorithm>
#include <atomic>
#include <string>

#include "common/clock.h"
#include "controller/controller_metrics.h"
#include "http/metrics_collectors.h"
#include "metadata/snapshot_metrics.h"
#include "raft/raft_metrics.h"

namespace flotilla::http {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void gauge(metrics::Exposition& e, const std::string& name, const char* help, double value) {
  e.family(name, help, "gauge");
  e.sample(name, value);
}

void counter(metrics::Exposition& e, const std::string& name, const char* help, double value) {
  e.family(name, help, "counter");
  e.sample(name, value);
}

// Counts of the image as Kafka's ControllerMetadataMetrics keeps them.
struct ImageCounts {
  int64_t fenced_brokers = 0, active_brokers = 0, topics = 0, partitions = 0, offline = 0, imbalanced = 0;
};

ImageCounts count_image(const metadata::MetadataImage& image) {
  ImageCounts c;
  for (const auto& [id, b] : image.brokers()) (b.fenced ? c.fenced_brokers : c.active_brokers)++;
  for (const auto& [name, t] : image.topics_by_name()) {
    ++c.topics;
    for (const auto& [index, p] : t.partitions) {
      ++c.partitions;
      if (p.leader < 0) ++c.offline;
      if (p.replicas.empty() || p.leader != p.replicas.front()) ++c.imbalanced;
    }
  }
  return c;
}

void render_controller(metrics::Exposition& e, const NodeView& node, const RaftStatus& raft) {
  const std::string p = "kafka_controller_kafkacontroller_";
  const auto& cm = controller::controller_metrics();
  const bool active = cm.active.load(kRelaxed) != 0;
  gauge(e, p + "activecontrollercount", "1 on the active controller, 0 on the other controllers", active ? 1 : 0);
  ImageCounts c;
  if (auto image = node.image()) c = count_image(*image);
  gauge(e, p + "fencedbrokercount", "Registered brokers that are fenced, in this controller's image", static_cast<double>(c.fenced_brokers));
  gauge(e, p + "activebrokercount", "Registered brokers that are not fenced, in this controller's image", static_cast<double>(c.active_brokers));
  gauge(e, p + "globaltopiccount", "Topics in this controller's image", static_cast<double>(c.topics));
  gauge(e, p + "globalpartitioncount", "Partitions in this controller's image", static_cast<double>(c.partitions));
  gauge(e, p + "offlinepartitionscount", "Partitions without a leader", static_cast<double>(c.offline));
  gauge(e, p + "preferredreplicaimbalancecount", "Partitions whose leader is not their first replica", static_cast<double>(c.imbalanced));
  gauge(e, p + "metadataerrorcount", "Metadata records this controller could not apply", static_cast<double>(cm.metadata_errors.load(kRelaxed)));
  gauge(e, p + "lastappliedrecordoffset", "Offset of the last metadata record this controller applied",
        static_cast<double>(cm.last_applied_offset.load(kRelaxed)));
  gauge(e, p + "lastcommittedrecordoffset", "Offset of the last committed metadata record (the Raft high watermark - 1)",
        static_cast<double>(raft.high_watermark > 0 ? raft.high_watermark - 1 : -1));
  const int64_t ts = cm.last_applied_timestamp.load(kRelaxed);
  gauge(e, p + "lastappliedrecordtimestamp", "Append time (Unix ms) of the last metadata batch this controller applied", static_cast<double>(ts));
  gauge(e, p + "lastappliedrecordlagms", "Now minus lastappliedrecordtimestamp (0 on the active controller)",
        active || ts <= 0 ? 0.0 : static_cast<double>(std::max<int64_t>(0, wall_clock_ms() - ts)));
  gauge(e, p + "timedoutbrokerheartbeatcount", "Broker heartbeats that timed out in this controller",
        static_cast<double>(cm.timed_out_broker_heartbeats.load(kRelaxed)));
  counter(e, "kafka_controller_controllerstats_uncleanleaderelections_total",
          "Committed leader elections of a replica outside the ISR (LeaderRecoveryState RECOVERING)",
          static_cast<double>(cm.unclean_leader_elections.load(kRelaxed)));
  counter(e, "kafka_controller_controllerstats_electionfromeligibleleaderreplicas_total",
          "Committed leader elections of a member of the ELR (KIP-966)", static_cast<double>(cm.elr_elections.load(kRelaxed)));
  gauge(e, p + "newactivecontrollerscount", "Times this node saw a new active controller elected",
        static_cast<double>(cm.new_active_controllers.load(kRelaxed)));
}

void render_raft(metrics::Exposition& e, const RaftStatus& s) {
  const std::string p = "kafka_server_raftmetrics_";
  const auto& m = raft::raft_metrics();
  gauge(e, p + "current_leader", "The quorum leader's id (-1: unknown)", s.leader_id);
  gauge(e, p + "current_epoch", "The quorum epoch", s.epoch);
  gauge(e, p + "current_vote", "The candidate this node voted for in the epoch (-1: none)", s.voted_id);
  e.family(p + "current_state", "This node's Raft state, as the label (value 1)", "gauge");
  if (!s.state.empty()) e.sample(p + "current_state", metrics::Labels{{"current_state", s.state}}, 1);
  gauge(e, p + "high_watermark", "The high watermark of the metadata log (-1: unknown)", static_cast<double>(s.high_watermark));
  gauge(e, p + "log_end_offset", "The metadata log's end offset", static_cast<double>(s.log_end_offset));
  gauge(e, p + "log_end_epoch", "The epoch of the metadata log's last batch", m.log_end_epoch.load(kRelaxed));
  if (!s.voters.empty()) gauge(e, p + "number_of_voters", "Voters of the quorum", static_cast<double>(s.voters.size()));
  gauge(e, p + "number_unknown_voter_connections", "Voters whose address this node does not know",
        m.number_unknown_voter_connections.load(kRelaxed));
  gauge(e, p + "commit_latency_avg", "Average ms from a leader append to its commit, last 2 x 30 s windows",
        m.commit_latency_avg.load(kRelaxed));
  gauge(e, p + "commit_latency_max", "Maximum ms from a leader append to its commit, last 2 x 30 s windows",
        m.commit_latency_max.load(kRelaxed));
  gauge(e, p + "election_latency_avg", "Average ms from the start of an election to a known leader, last 2 x 30 s windows",
        m.election_latency_avg.load(kRelaxed));
  gauge(e, p + "election_latency_max", "Maximum ms from the start of an election to a known leader, last 2 x 30 s windows",
        m.election_latency_max.load(kRelaxed));
  gauge(e, p + "append_records_rate", "Records appended per second as leader, last 2 x 30 s windows", m.append_records_rate.load(kRelaxed));
  gauge(e, p + "fetch_records_rate", "Records fetched from the leader per second, last 2 x 30 s windows", m.fetch_records_rate.load(kRelaxed));
}

void render_metadata(metrics::Exposition& e, const NodeView& node) {
  const auto& m = metadata::metadata_metrics();
  gauge(e, "kafka_server_metadataloader_currentmetadataversion", "Feature level of the metadata.version in force",
        m.current_metadata_version.load(kRelaxed));
  gauge(e, "kafka_server_metadataloader_handleloadsnapshotcount", "Metadata snapshots loaded since the process started",
        static_cast<double>(m.handle_load_snapshot_count.load(kRelaxed)));
  const int64_t now = wall_clock_ms();
  gauge(e, "kafka_server_snapshotemitter_latestsnapshotgeneratedbytes",
        "Size of the latest snapshot generated (before any: the one loaded at start-up; 0: none)",
        static_cast<double>(m.latest_snapshot_bytes.load(kRelaxed)));
  gauge(e, "kafka_server_snapshotemitter_latestsnapshotgeneratedagems",
        "Ms since the latest snapshot was generated (before any: since the process started)",
        static_cast<double>(std::max<int64_t>(0, now - m.latest_snapshot_time_ms.load(kRelaxed))));
  gauge(e, "flotilla_snapshot_latest_end_offset", "End offset of the latest snapshot generated or loaded (-1: none)",
        static_cast<double>(m.latest_snapshot_end_offset.load(kRelaxed)));
  gauge(e, "flotilla_snapshot_latest_generation_seconds", "Seconds the latest snapshot took to encode, write and fsync",
        static_cast<double>(m.latest_snapshot_generation_us.load(kRelaxed)) / 1e6);
  counter(e, "flotilla_snapshot_generated_total", "Snapshots this node generated since it started",
          static_cast<double>(m.snapshots_generated.load(kRelaxed)));
  if (node.broker_role()) {
    const std::string p = "kafka_server_brokermetadatametrics_";
    const int64_t ts = m.last_applied_timestamp.load(kRelaxed);
    gauge(e, p + "last_applied_record_offset", "Offset of the last metadata record this broker applied",
          static_cast<double>(m.last_applied_offset.load(kRelaxed)));
    gauge(e, p + "last_applied_record_timestamp", "Append time (Unix ms) of the last metadata batch this broker applied",
          static_cast<double>(ts));
  }
}

}  // namespace

void add_controller_collectors(metrics::Registry& registry, NodeView& node, const HttpOptions&) {
  registry.add_collector([&node](metrics::Exposition& e) {
    const RaftStatus raft = node.raft_status();
    if (node.controller_role()) render_controller(e, node, raft);
    render_raft(e, raft);
    render_metadata(e, node);
  });
}

}  // namespace flotilla::http
