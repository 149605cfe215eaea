// The broker's partition budget (issue 21): how many partition replicas this
// broker may host, sent to the controller in its BrokerRegistrationRequest
// (Flotilla's tagged FlotillaMaxPartitions) so that CreateTopics and
// CreatePartitions that would take it past the budget are refused.
//
//   budget = max.broker.partitions                          if >= 0
//          = min(fd budget, memory budget)                  otherwise
//   fd budget     = hard RLIMIT_NOFILE x flotilla.partitions.per.fd
//   memory budget = min(physical memory, cgroup memory.max)
//                   x flotilla.partition.memory.fraction / flotilla.memory.per.partition.bytes
//
// An unlimited RLIMIT_NOFILE (RLIM_INFINITY) or a missing memory figure
// leaves that bound out; with neither bound the budget is -1 (unlimited).
// Figures are clamped to INT32_MAX (the field is an int32).
//
// Threading: computed once at start-up (reads /proc and /sys: blocking, so
// never on the event loop); the result is a plain value.
#pragma once

#include <cstdint>
#include <string>

namespace flotilla::broker {

struct PartitionBudgetConfig {
  int32_t max_broker_partitions = -1;              // max.broker.partitions (-1: derive)
  double partitions_per_fd = 5;                    // flotilla.partitions.per.fd
  double memory_fraction = 0.5;                    // flotilla.partition.memory.fraction
  int64_t memory_per_partition_bytes = 16384;      // flotilla.memory.per.partition.bytes
};

// What the machine gives this process; -1 where unknown or unlimited.
struct MachineResources {
  int64_t nofile_hard = -1;        // hard RLIMIT_NOFILE
  int64_t physical_memory = -1;    // sysconf(_SC_PHYS_PAGES) x page size
  int64_t cgroup_memory_max = -1;  // cgroup v2 memory.max of this process's cgroup ("max": -1)
};
// Probes the running process (getrlimit, sysconf, /proc/self/cgroup and
// /sys/fs/cgroup/<path>/memory.max, else /sys/fs/cgroup/memory.max).
MachineResources probe_machine_resources();

struct PartitionBudget {
  int32_t limit = -1;            // what the registration carries (-1: unlimited)
  bool configured = false;       // from max.broker.partitions
  int64_t fd_budget = -1;        // -1: no fd bound
  int64_t memory_bytes = -1;     // the memory figure used (-1: none)
  int64_t memory_budget = -1;    // -1: no memory bound
  MachineResources machine;
  PartitionBudgetConfig config;
  // One line for the start-up log: the budget and its inputs.
  std::string describe() const;
};

PartitionBudget derive_partition_budget(const PartitionBudgetConfig& config, const MachineResources& machine);

}  // namespace flotilla::broker
