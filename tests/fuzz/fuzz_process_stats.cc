// Fuzz target: the /proc parsers behind the process_* self-metrics (common/process_stats.h) on
// arbitrary bytes: /proc/<pid>/stat, /proc/<pid>/status, /proc/stat's btime, /proc/<pid>/limits.
// Besides never crashing, a stat line whose command name is the input must still yield the fields
// after it: the name is tenant-controlled (prctl(PR_SET_NAME) / the executable's name) and may hold
// ')'.
#include <cstdint>
#include <string>
#include <string_view>

#include "hostflow/common/process_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)hostflow::parse_proc_pid_stat(in);
  (void)hostflow::parse_boot_time(in);
  if (const auto kb = hostflow::parse_status_kb(in, "VmRSS"); kb && *kb % 1024) __builtin_trap();
  (void)hostflow::parse_max_open_files(in);
  const std::string line = "42 (" + std::string(in) +
                           ") S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 555 123456 "
                           "789 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  const auto st = hostflow::parse_proc_pid_stat(line);
  if (!st || st->utime != 7 || st->stime != 3 || st->starttime != 555 || st->vsize != 123456 ||
      st->rss != 789)
    __builtin_trap();
  return 0;
}
