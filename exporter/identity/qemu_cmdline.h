// Parser for a QEMU process's command line (/proc/<pid>/cmdline: NUL-separated, raw bytes the
// sampler copied). Tenant-influenced (VM names), so pure, bounded and fuzzed. hostflow-exporter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter {

struct QemuCmdline {
  std::string uuid;         // -uuid
  std::string name;         // -name guest=NAME,... or -name NAME (",," unescaped)
  std::string run_vm_uuid;  // the <UUID> of a "run/vm/<UUID>/" path anywhere in the arguments
  std::string guest_cid;    // guest-cid=<n> (vhost-vsock)
  std::vector<std::string> tap_ifnames;  // -netdev tap,...,ifname=NAME
  // The identity the Traffic Exporter would use: -uuid, else run/vm/<UUID>, else "CID-<n>",
  // else the name; "" when none.
  std::string identity() const;
};

QemuCmdline parse_qemu_cmdline(std::string_view nul_separated);

// Splits a QEMU option value ("guest=a,,b,debug-threads=on") into key=value pairs, honouring
// ",," as an escaped comma. A first element without '=' is returned with key "".
std::vector<std::pair<std::string, std::string>> split_qemu_opts(std::string_view v);

}  // namespace hostflow::exporter
