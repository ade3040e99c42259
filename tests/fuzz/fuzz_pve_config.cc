// Fuzz target: parse_pve_hostname (the exporter's reader of /etc/pve/lxc/<vmid>.conf bytes the
// sampler copied; hostname and description are the tenant's). Checks the documented bounds: at
// most 253 bytes, no line break, no surrounding blanks.
#include <cstdint>
#include <string_view>

#include "identity/pve_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string h = hostflow::exporter::parse_pve_hostname(in);
  if (h.size() > 253 || h.find('\n') != std::string::npos) __builtin_trap();
  if (!h.empty() && (h.front() == ' ' || h.front() == '\t')) __builtin_trap();
  return 0;
}
