// The broker's partition budget: see partition_budget.h.
#include "broker/partition_budget.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <sstream>

namespace flotilla::broker {
namespace {

// A cgroup v2 memory.max: bytes, or -1 for "max" / unreadable.
int64_t read_memory_max(const std::string& path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v) || v == "max") return -1;
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    return pos == v.size() && x > 0 ? x : -1;
  } catch (...) {
    return -1;
  }
}

// This process's cgroup v2 path ("0::/a/b" in /proc/self/cgroup), or "".
std::string own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

int64_t clamp_i32(double x) { return x >= static_cast<double>(INT32_MAX) ? INT32_MAX : static_cast<int64_t>(std::floor(x)); }

std::string figure(int64_t v, const char* unlimited = "unlimited") { return v < 0 ? unlimited : std::to_string(v); }

}  // namespace

MachineResources probe_machine_resources() {
  MachineResources m;
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY) m.nofile_hard = static_cast<int64_t>(rl.rlim_max);
  long pages = sysconf(_SC_PHYS_PAGES);
  long page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) m.physical_memory = static_cast<int64_t>(pages) * page_size;
  std::string cg = own_cgroup();
  if (!cg.empty() && cg != "/") m.cgroup_memory_max = read_memory_max("/sys/fs/cgroup" + cg + "/memory.max");
  if (m.cgroup_memory_max < 0) m.cgroup_memory_max = read_memory_max("/sys/fs/cgroup/memory.max");
  return m;
}

PartitionBudget derive_partition_budget(const PartitionBudgetConfig& config, const MachineResources& machine) {
  PartitionBudget b;
  b.config = config;
  b.machine = machine;
  if (machine.nofile_hard >= 0 && config.partitions_per_fd > 0)
    b.fd_budget = clamp_i32(static_cast<double>(machine.nofile_hard) * config.partitions_per_fd);
  b.memory_bytes = machine.physical_memory;
  if (machine.cgroup_memory_max > 0 && (b.memory_bytes < 0 || machine.cgroup_memory_max < b.memory_bytes))
    b.memory_bytes = machine.cgroup_memory_max;
  if (b.memory_bytes > 0 && config.memory_per_partition_bytes > 0)
    b.memory_budget =
        clamp_i32(static_cast<double>(b.memory_bytes) * config.memory_fraction / static_cast<double>(config.memory_per_partition_bytes));
  if (config.max_broker_partitions >= 0) {
    b.configured = true;
    b.limit = config.max_broker_partitions;
  } else if (b.fd_budget >= 0 && b.memory_budget >= 0) {
    b.limit = static_cast<int32_t>(std::min(b.fd_budget, b.memory_budget));
  } else if (b.fd_budget >= 0 || b.memory_budget >= 0) {
    b.limit = static_cast<int32_t>(std::max(b.fd_budget, b.memory_budget));
  }
  return b;
}

std::string PartitionBudget::describe() const {
  std::ostringstream o;
  o << "Partition budget " << figure(limit) << " replicas";
  if (configured) {
    o << " (max.broker.partitions)";
  } else {
    o << " = min(fd budget " << figure(fd_budget) << " = RLIMIT_NOFILE hard " << figure(machine.nofile_hard)
      << " x flotilla.partitions.per.fd " << config.partitions_per_fd << ", memory budget " << figure(memory_budget) << " = memory "
      << figure(memory_bytes, "unknown") << " bytes (physical " << figure(machine.physical_memory, "unknown") << ", cgroup memory.max "
      << figure(machine.cgroup_memory_max, "max") << ") x flotilla.partition.memory.fraction " << config.memory_fraction
      << " / flotilla.memory.per.partition.bytes " << config.memory_per_partition_bytes << ")";
  }
  return o.str();
}

}  // namespace flotilla::broker
