// Fuzz target: parse_cgroup (the exporter's parser of /proc/<pid>/cgroup bytes the sampler copied;
// LXC and systemd unit names in it are chosen by tenants). Checks the documented bounds: the path
// is at most 4096 bytes, an id is a 64-hex OCI id or an LXC name of at most 128 bytes, and an id
// always comes with a runtime.
#include <cctype>
#include <cstdint>
#include <string_view>

#include "identity/cgroup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto o = hostflow::exporter::parse_cgroup(in);
  if (o.path.size() > 4096) __builtin_trap();
  if (!o.id.empty() && o.runtime.empty()) __builtin_trap();
  if (o.runtime == "lxc") {
    if (o.id.empty() || o.id.size() > 128) __builtin_trap();
  } else if (!o.id.empty()) {
    if (o.id.size() != 64) __builtin_trap();
    for (char c : o.id)
      if (!std::isxdigit(static_cast<unsigned char>(c))) __builtin_trap();
  }
  return 0;
}
