// The broker's scrape-time gauges of /metrics, computed on the HTTP thread
// from snapshots only (NodeView::broker_snapshot(), /proc):
//   ReplicaManager   kafka_server_replicamanager_{partitioncount,leadercount,
//                    underreplicatedpartitions,underminisrpartitioncount,
//                    atminisrpartitioncount,offlinereplicacount}
//   Log              kafka_log_log_{size,logendoffset,logstartoffset,
//                    numlogsegments}{topic,partition} — unless
//                    flotilla.metrics.partition.series=false
//   GroupMetadataManager kafka_coordinator_group_groupmetadatamanager_num*
//   process          process_{cpu_seconds_total,resident_memory_bytes,
//                    virtual_memory_bytes,open_fds,max_fds,start_time_seconds}
// The counters the hot paths update are families in the registry
// (broker/broker_metrics.h, net/net_metrics.h); this file only adds collectors.
//
// Cost: the per-partition series are appended straight into the response
// (no label vectors, no allocation per sample): 10,000 partitions render in a
// few milliseconds. Threading: HTTP worker threads.
#include <fmt/format.h>

#include <iterator>
#include <string>

#include "broker/broker_metrics.h"
#include "http/metrics_collectors.h"
#include "http/process_stats.h"

namespace flotilla::http {
namespace {

void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void render_replica_manager(metrics::Exposition& e, const broker::BrokerSnapshot& s) {
  const broker::ReplicaCounts c = broker::replica_counts(s);
  const std::pair<const char*, std::pair<const char*, int64_t>> gauges[] = {
      {"kafka_server_replicamanager_partitioncount", {"Partitions with a replica on this broker (PartitionCount)", c.partitions}},
      {"kafka_server_replicamanager_leadercount", {"Partitions this broker leads (LeaderCount)", c.leaders}},
      {"kafka_server_replicamanager_underreplicatedpartitions",
       {"Partitions led here whose ISR is smaller than their replica set (UnderReplicatedPartitions)", c.under_replicated}},
      {"kafka_server_replicamanager_underminisrpartitioncount",
       {"Partitions led here whose ISR is below min.insync.replicas (UnderMinIsrPartitionCount)", c.under_min_isr}},
      {"kafka_server_replicamanager_atminisrpartitioncount",
       {"Partitions led here whose ISR is exactly min.insync.replicas (AtMinIsrPartitionCount)", c.at_min_isr}},
      {"kafka_server_replicamanager_offlinereplicacount", {"Replicas here in an offline log directory (OfflineReplicaCount)", c.offline}},
  };
  for (const auto& [name, hv] : gauges) {
    e.family(name, hv.first, "gauge");
    e.sample(name, static_cast<double>(hv.second));
  }
}

// kafka.log:type=Log,name=<Name>,topic=<t>,partition=<p>
void render_log_series(metrics::Exposition& e, const broker::BrokerSnapshot& s) {
  struct Series {
    const char* name;
    const char* help;
    int64_t (*value)(const broker::PartitionStat&);
  };
  static const Series kSeries[] = {
      {"kafka_log_log_size", "Bytes of the partition's log on disk (Size)", [](const broker::PartitionStat& p) { return p.size; }},
      {"kafka_log_log_logendoffset", "The log end offset (LogEndOffset)", [](const broker::PartitionStat& p) { return p.log_end_offset; }},
      {"kafka_log_log_logstartoffset", "The log start offset (LogStartOffset)", [](const broker::PartitionStat& p) { return p.log_start_offset; }},
      {"kafka_log_log_numlogsegments", "Segments of the log (NumLogSegments)",
       [](const broker::PartitionStat& p) { return static_cast<int64_t>(p.segments); }},
  };
  std::string& out = e.out();  // reserved by the route as large as the last scrape's text
  for (const Series& series : kSeries) {
    e.family(series.name, series.help, "gauge");
    for (const broker::PartitionStat& p : s.partitions) {
      if (p.offline) continue;  // Kafka removes an offline log's metrics
      out += series.name;
      out += "{topic=\"";
      append_label_value(out, *p.topic);
      // Formatted on the stack, then appended: a back_inserter into the
      // string zero-fills each growth before writing (40,000 lines a scrape).
      char tail[64];
      const char* end = fmt::format_to_n(tail, sizeof tail, "\",partition=\"{}\"}} {}\n", p.partition, series.value(p)).out;
      out.append(tail, static_cast<size_t>(end - tail));
    }
  }
}

// kafka.coordinator.group:type=GroupMetadataManager,name=<Name>
void render_groups(metrics::Exposition& e, const broker::GroupCounts& g) {
  const std::pair<const char*, std::pair<const char*, int64_t>> gauges[] = {
      {"kafka_coordinator_group_groupmetadatamanager_numgroups", {"Groups this broker coordinates (NumGroups)", g.groups}},
      {"kafka_coordinator_group_groupmetadatamanager_numoffsets", {"Committed offsets of the groups coordinated here (NumOffsets)", g.offsets}},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupspreparingrebalance",
       {"Classic groups in PreparingRebalance (NumGroupsPreparingRebalance)", g.preparing_rebalance}},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupscompletingrebalance",
       {"Classic groups in CompletingRebalance (NumGroupsCompletingRebalance)", g.completing_rebalance}},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsstable", {"Groups in Stable (NumGroupsStable)", g.stable}},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsdead", {"Groups in Dead (NumGroupsDead)", g.dead}},
      {"kafka_coordinator_group_groupmetadatamanager_numgroupsempty", {"Groups in Empty (NumGroupsEmpty)", g.empty}},
  };
  for (const auto& [name, hv] : gauges) {
    e.family(name, hv.first, "gauge");
    e.sample(name, static_cast<double>(hv.second));
  }
}

void render_process(metrics::Exposition& e) {
  const ProcessStats p = read_process_stats();
  if (p.valid) {
    e.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter");
    e.sample("process_cpu_seconds_total", p.cpu_seconds);
    e.family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    e.sample("process_resident_memory_bytes", static_cast<double>(p.resident_bytes));
    e.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
    e.sample("process_virtual_memory_bytes", static_cast<double>(p.virtual_bytes));
    e.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge");
    e.sample("process_start_time_seconds", p.start_time_seconds);
  }
  if (p.open_fds >= 0) {
    e.family("process_open_fds", "Number of open file descriptors.", "gauge");
    e.sample("process_open_fds", static_cast<double>(p.open_fds));
  }
  if (p.max_fds >= 0) {
    e.family("process_max_fds", "Maximum number of open file descriptors.", "gauge");
    e.sample("process_max_fds", static_cast<double>(p.max_fds));
  }
}

}  // namespace

void add_broker_collectors(metrics::Registry& registry, NodeView& node, const HttpOptions& options) {
  if (node.broker_role()) {
    // The BrokerTopicMetrics, ISR and ErrorsPerSec families exist from the
    // start (all-topics series at 0), as Kafka registers them.
    broker::BrokerMetrics::get();
    const bool partition_series = options.partition_series;
    registry.add_collector([&node, partition_series](metrics::Exposition& e) {
      std::shared_ptr<const broker::BrokerSnapshot> s = node.broker_snapshot();
      if (!s) return;
      render_replica_manager(e, *s);
      if (partition_series) render_log_series(e, *s);
      if (s->has_groups) render_groups(e, s->groups);
    });
  }
  registry.add_collector([](metrics::Exposition& e) { render_process(e); });
}

}  // namespace flotilla::http
