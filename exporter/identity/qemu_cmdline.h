// Parser for a QEMU process's command line (/proc/<pid>/cmdline: NUL-separated, raw bytes the
// sampler copied). Tenant-influenced (VM names), so pure, bounded and fuzzed. hostflow-exporter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter {

struct QemuCmdline {
  std::string uuid;  // -uuid
  std::string name;  // -name guest=NAME,... or -name NAME (",," unescaped)
  // The <id> of "run/vm/<id>" (dstack's /opt/dstack/run/vm/<id>/...): the leftmost place in the
  // arguments where "run/vm/" is followed by a byte other than '/'; the id is every byte up to the
  // next '/' or the end of that argument (no trailing '/' needed: "vm-12345", a uuid, "x.pid").
  // Kept only when it is label-safe: 1..kMaxRunVmIdBytes bytes, no control byte, valid UTF-8;
  // otherwise "" (a later occurrence is not tried: the leftmost one is the Traffic Exporter's).
  std::string run_vm_id;
  std::string guest_cid;  // the digits of the leftmost guest-cid=<digits> (vhost-vsock), <= 20
  std::vector<std::string> tap_ifnames;  // -netdev tap,...,ifname=NAME
  // hostflow's identity of a QEMU libvirt does not know: -uuid, else run/vm/<id>, else
  // "CID-<n>", else the name; "" when none.
  std::string identity() const;
  // The Traffic Exporter's (seed 000) id of this process, extractUUIDFromCmdline: run/vm/<id>,
  // else "CID-<n>"; "" when neither (the seed then ignores the process). It never reads -uuid or
  // -name.
  std::string traffic_id() const;
};

inline constexpr std::size_t kMaxRunVmIdBytes = 64;  // as a vm_uuid label value

QemuCmdline parse_qemu_cmdline(std::string_view nul_separated);

// Splits a QEMU option value ("guest=a,,b,debug-threads=on") into key=value pairs, honouring
// ",," as an escaped comma. A first element without '=' is returned with key "".
std::vector<std::pair<std::string, std::string>> split_qemu_opts(std::string_view v);

}  // namespace hostflow::exporter
