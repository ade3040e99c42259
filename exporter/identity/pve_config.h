// Proxmox's container config (/etc/pve/lxc/<vmid>.conf, root:www-data 0640, written by pmxcfs):
// the raw bytes the sampler copied, parsed here. Pure and fuzzed (tests/fuzz/fuzz_pve_config.cc);
// the text is the tenant's (hostname, description). Also the one rule that names an LXC
// container, so the platform area's series and the owner of its veths carry the same name.
// hostflow-exporter.
#pragma once

#include <string>
#include <string_view>

namespace hostflow::exporter {

// The `hostname:` of the current config: the lines before the first snapshot section ("[name]");
// whitespace around the value trimmed; "" when there is none. At most 253 bytes (a DNS name).
std::string parse_pve_hostname(std::string_view conf);

// An LXC container's name (a sanitized label value) from the sampler's PlatformContainers record:
// Proxmox's `hostname:` when its config was read, else CT<vmid>; a plain LXC container's is its
// own name (`id`). "" for an empty id.
std::string lxc_container_name(std::string_view id, bool proxmox, bool config_read,
                               std::string_view conf);

}  // namespace hostflow::exporter
