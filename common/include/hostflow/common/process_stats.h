// A process's own resource figures, as Prometheus's process collector (client_golang, procfs)
// reports them: CPU time, resident and virtual memory, open and maximum file descriptors, start
// time. Each process reads its own (/proc/self): the exporter serves its figures as process_*,
// the sampler publishes its figures in the segment (kSamplerProcess) because the exporter cannot
// read a root process's /proc entries. The parsers are pure and fuzzed (fuzz_process_stats);
// read_self_process_stats() does the I/O. Both processes, after their seccomp filter (openat
// read-only, read, getdents64, close).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"

namespace hostflow {

struct ProcessStats {
  double cpu_seconds = 0;            // utime + stime of every thread
  std::uint64_t resident_bytes = 0;  // VmRSS of /proc/self/status
  std::uint64_t virtual_bytes = 0;   // VmSize of /proc/self/status
  std::uint64_t open_fds = 0;        // entries of /proc/self/fd
  std::uint64_t max_fds = 0;         // soft RLIMIT_NOFILE ("Max open files"); 0 = unlimited
  double start_time_seconds = 0;     // Unix time (boot time + starttime); 0 when btime is unknown
};

// Fields of /proc/<pid>/stat, in clock ticks / pages / bytes as the kernel gives them.
struct ProcPidStat {
  std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0;
  std::int64_t rss = 0;
};
// /proc/<pid>/stat. The command name sits in parentheses and may hold anything, ')' and
// newlines included: the fields are read after the last ')'. nullopt when malformed.
std::optional<ProcPidStat> parse_proc_pid_stat(std::string_view text);
// A "Name:   <n> kB" field of /proc/<pid>/status, in bytes. /proc/<pid>/stat's rss comes from
// the kernel's per-CPU approximate counters, status from their exact sum (they differ by tens of
// pages on a busy process): VmRSS is what operators and the tests compare with.
std::optional<std::uint64_t> parse_status_kb(std::string_view status, std::string_view field);
// /proc/stat's "btime <seconds>" line (boot time, Unix seconds).
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat);
// /proc/<pid>/limits' "Max open files" soft limit; 0 for "unlimited".
std::optional<std::uint64_t> parse_max_open_files(std::string_view limits);

// Reads /proc/self/{stat,status,limits,fd}, and /proc/stat's btime once (cached); clock ticks and
// the page size from sysconf. Thread-safe.
Result<ProcessStats> read_self_process_stats();

}  // namespace hostflow
