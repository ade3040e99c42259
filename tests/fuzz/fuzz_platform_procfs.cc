// Fuzz target: the platform source's parsers of procfs text (sampler/sources/platform.h) --
// /proc/meminfo, the cpu line of /proc/stat, /proc/<pid>/mountinfo (mount points and sources can
// be chosen by whoever mounts), container= of PID 1's environment, cgroup files (memory.stat,
// cpu.stat, one-number files, cgroup.procs). The same bytes go to each.
// Checks the documented bounds: no entry longer than its input, octal unescaping never grows.
#include <cstdint>
#include <string_view>

#include "sources/platform.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace s = hostflow::sampler;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)s::parse_meminfo(in);
  (void)s::parse_proc_stat_cpu(in);
  const auto mounts = s::parse_mountinfo(in, 4096);
  if (mounts.size() > 4096) __builtin_trap();
  for (const auto& m : mounts) {
    if (m.mountpoint.empty() || m.fstype.empty()) __builtin_trap();
    if (m.mountpoint.size() + m.root.size() + m.fstype.size() + m.source.size() > size)
      __builtin_trap();
  }
  if (s::unescape_mount_field(in).size() > size) __builtin_trap();
  (void)s::keyed_value(in, "file");
  (void)s::single_value(in);
  if (s::min_pid(in) < 0) __builtin_trap();
  if (const auto v = s::environ_value(in, "container")) {
    if (v->size() >= size || v->find('\0') != std::string_view::npos) __builtin_trap();
  }
  return 0;
}
