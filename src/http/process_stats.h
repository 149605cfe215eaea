// The process metrics Prometheus's client libraries export under their
// standard names (process_cpu_seconds_total, process_resident_memory_bytes,
// ...), read from /proc at scrape time, as their Linux collectors do.
// Threading: any thread; reads files only.
#pragma once

#include <cstdint>
#include <string_view>

namespace flotilla::http {

struct ProcessStats {
  bool valid = false;  // /proc/self/stat was read and parsed
  double cpu_seconds = 0;
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // Unix time
  int64_t open_fds = -1;          // -1: unknown
  int64_t max_fds = -1;
};

// Parses the text of /proc/<pid>/stat (proc(5)): utime and stime (field 14,
// 15, clock ticks), starttime (22, ticks after boot), vsize (23, bytes), rss
// (24, pages). The command name (field 2) may hold spaces and parentheses:
// fields are counted from its last ')'. False if the text is malformed.
bool parse_proc_stat(std::string_view stat, double ticks_per_second, int64_t page_size, double boot_time_seconds, ProcessStats& out);

// `btime` of /proc/stat (boot time, Unix seconds); 0 if absent.
double parse_boot_time(std::string_view proc_stat);

// The process's open file descriptors; -1 if unknown.
int64_t count_open_fds();

ProcessStats read_process_stats();

}  // namespace flotilla::http
