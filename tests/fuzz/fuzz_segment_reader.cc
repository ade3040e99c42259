// Fuzz target: arbitrary bytes as a mapped segment file, through everything the exporter does
// with one: check_file_header, copy_latest, Snapshot::parse, every record and string, build_model.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "areas/platform/platform_model.h"
#include "areas/tc/tc_model.h"
#include "hostflow/shm/snapshot.h"
#include "identity/interfaces.h"
#include "identity/owners.h"
#include "identity/vms.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (std::size_t{64} << 20)) return 0;  // bounds the copy below (and GCC's warning)
  using namespace hostflow::shm;
  // A mapping is page-aligned; the seqlock's 8-byte atomic loads rely on that.
  std::vector<std::uint64_t> file((size + 7) / 8);
  std::copy_n(data, size, reinterpret_cast<std::uint8_t*>(file.data()));
  const auto* base = reinterpret_cast<const std::byte*>(file.data());

  FileHeader h;
  std::string err;
  const bool header_ok = check_file_header(base, size, &h, &err);
  if (!header_ok && err.empty()) __builtin_trap();
  (void)latest_generation(base, size);

  CopiedSlot copy;
  err.clear();
  const CopyStatus st = copy_latest(base, size, &copy, &err, 4);
  if (st != CopyStatus::kOk) {
    if (st == CopyStatus::kBadHeader && err.empty()) __builtin_trap();
    return 0;
  }
  auto snap = Snapshot::parse(std::move(copy), &err);
  if (!snap) {
    if (err.empty()) __builtin_trap();
    return 0;
  }
  std::size_t sink = 0;
  for (const auto& r : snap->records<LinkRecord>()) {
    for (StrRef ref : {r.name, r.kind, r.slave_kind}) {
      if (auto s = snap->str(ref)) {
        for (char c : *s) sink += static_cast<unsigned char>(c);
      }
    }
  }
  for (const auto& s : snap->records<SourceStatusRecord>()) {
    if (auto v = snap->str(s.last_error)) sink += v->size();
  }
  auto m = hostflow::exporter::build_model(*snap);
  // Every link is a host interface, another namespace's interface, or a counted duplicate.
  if (m.interfaces.size() + m.workload_interfaces.size() + m.duplicate_links !=
      snap->count<LinkRecord>())
    __builtin_trap();
  for (const auto& i : m.interfaces) sink += i.name.size() + i.master.size();
  // Attribution (VMs, containers, Docker blobs): owners never empty, container names unique.
  const auto vms = hostflow::exporter::build_vms(*snap, m.interfaces, m.workload_interfaces);
  const auto a = hostflow::exporter::attribute(*snap, m, vms);
  for (const auto& i : m.interfaces)
    if (i.owner_type.empty()) __builtin_trap();
  for (std::size_t k = 1; k < a.containers.size(); k++)
    if (!(a.containers[k - 1].name < a.containers[k].name)) __builtin_trap();
  // TC counters: every record is an interface or counted invalid; rates over a repeat are finite.
  auto tc = hostflow::exporter::build_tc_model(*snap);
  const std::size_t extra_attach =
      snap->count<BpfAttachRecord>() > 1 ? snap->count<BpfAttachRecord>() - 1 : 0;
  if (tc.present &&
      tc.interfaces.size() + tc.invalid_records - extra_attach != snap->count<BpfCounterRecord>())
    __builtin_trap();
  hostflow::exporter::TcRates rates;
  rates.update(tc, 1);
  rates.update(tc, 2);
  for (const auto& i : tc.interfaces) sink += i.name.size() + (i.active ? 1 : 0);
  // Platform: a kind whenever the section is there; every family renders without refusals of
  // label-name mismatches (duplicate filesystems are the FamilySet's to refuse).
  const auto pm = hostflow::exporter::build_platform_model(*snap);
  if (pm.present && pm.kind.kind.empty()) __builtin_trap();
  hostflow::exporter::metrics::FamilySet fams;
  hostflow::exporter::platform_families(pm, &fams);
  sink += pm.filesystems.size();
  return sink == 0x7fffffff ? 1 : 0;
}
