// Proxmox's container config (/etc/pve/lxc/<vmid>.conf, root:www-data 0640, written by pmxcfs):
// the raw bytes the sampler copied, parsed here. Pure and fuzzed (tests/fuzz/fuzz_pve_config.cc);
// the text is the tenant's (hostname, description). hostflow-exporter.
#pragma once

#include <string>
#include <string_view>

namespace hostflow::exporter {

// The `hostname:` of the current config: the lines before the first snapshot section ("[name]");
// whitespace around the value trimmed; "" when there is none. At most 253 bytes (a DNS name).
std::string parse_pve_hostname(std::string_view conf);

}  // namespace hostflow::exporter
