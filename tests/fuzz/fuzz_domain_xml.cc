// Fuzz target: libvirt domain XML (tenant-influenced: instance names, Nova metadata) through the
// exporter as it really arrives: a DomainRecord in a snapshot -> build_vms (parse_domain_xml,
// interface fallback by <target dev>) -> vm_families. Every label value of every series must be
// valid UTF-8 and bounded, and the label sets unique.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "areas/vms/vm_families.h"
#include "areas/vms/vm_history.h"
#include "hostflow/common/sanitize.h"
#include "identity/domain_xml.h"
#include "identity/vms.h"
#include "segment_util.h"

using namespace hostflow;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  // The parser alone: bounded strings.
  std::string err;
  if (const auto info = exporter::parse_domain_xml(xml, &err)) {
    for (const std::string* s : {&info->name, &info->uuid}) {
      if (s->size() > 256) __builtin_trap();
    }
    if (info->disks.size() > 256 || info->interfaces.size() > 256) __builtin_trap();
  } else if (err.empty()) {
    __builtin_trap();
  }
  if (size > exporter::kMaxDomainXmlBytes) return 0;

  // Through a snapshot, as the sampler publishes it.
  static test::SegmentBuf* seg = new test::SegmentBuf(4u << 20);
  shm::SnapshotBuilder b;
  shm::DomainRecord d{};
  d.name = b.add_string("instance-fuzz", 256);
  d.uuid = b.add_string(xml.substr(0, 40), 64);  // hostile uuids too
  d.id = 1;
  d.xml = b.add_string(xml, exporter::kMaxDomainXmlBytes);
  b.add(d);
  if (!seg->publish(b, 1)) return 0;
  auto snap = test::read_segment(seg->data(), seg->size, &err);
  if (!snap) __builtin_trap();
  std::vector<exporter::Interface> ifs(2);
  ifs[0].netns = 1;
  ifs[0].ifindex = 5;
  ifs[0].name = "vnet0";
  ifs[0].kind = "tap";
  ifs[1].netns = 1;
  ifs[1].ifindex = 6;
  ifs[1].name = "tapa1b2c3d4-e5";
  ifs[1].kind = "tap";
  const auto vms = exporter::build_vms(*snap, ifs);
  exporter::VmHistory h;
  const auto derived = h.update(vms, 1'000'000'000ull);
  exporter::metrics::FamilySet fams;
  exporter::vm_families(vms, derived, exporter::VmRenderOptions{}, &fams);
  // The metric model drops a duplicate series, but one is still a defect in the VM identity.
  if (fams.refused() != 0) __builtin_trap();
  for (const auto& f : fams.families()) {
    for (std::size_t s = 0; s < f.size(); s++) {
      for (std::size_t l = 0; l < f.label_names().size(); l++) {
        const std::string_view v = f.label_value(s, l);
        if (!valid_utf8(v) || v.size() > 256) __builtin_trap();
        for (unsigned char c : v)
          if (c < 0x20 || c == 0x7f) __builtin_trap();
      }
    }
  }
  return 0;
}
