// The exporter's model of one snapshot: interfaces and source status, decoded from the validated
// snapshot, with every string sanitised and capped. Pure: built from a Snapshot, no I/O.
// Runs in hostflow-exporter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hostflow/common/process_stats.h"
#include "hostflow/shm/snapshot.h"

namespace hostflow::exporter {

struct Interface {
  std::uint64_t netns = 0;  // netns key: its inode, or (1 << 63 | nsid) when only the nsid is known
  std::int32_t netnsid = -1;                         // -1: the sampler's (host) netns
  std::int32_t link_netnsid = -1, link_ifindex = 0;  // veth/macvtap peer, as the kernel says
  std::int32_t ifindex = 0;
  std::string name;       // label value: sanitised, unique within its netns
  std::string kind;       // classified: physical, loopback, veth, bridge, tap, tun, macvtap, ...
  std::string master;     // name of the bridge/bond it is enslaved to, "" when none
  std::string operstate;  // RFC 2863 name: up, down, lowerlayerdown, dormant, unknown, ...
  std::string mac;        // aa:bb:cc:dd:ee:ff, "" when the link has no address
  std::uint32_t mtu = 0;
  bool admin_up = false;
  bool has_stats = false;
  shm::LinkStats stats{};
  std::uint64_t tap_dev = 0;  // macvtap character device (0 = none)
  // Set by attribute() (model/owners.h): stable owner labels of the interface series.
  std::string owner_type = "host";  // host, bridge, vm, container, netns, unknown
  std::string owner;                // VM/container/network name; the interface name for host
  std::string app;
};

struct SourceStatus {
  std::string name;
  shm::SourceState state = shm::SourceState::kAbsent;
  std::string last_error;
  std::uint64_t duration_ns = 0, errors_total = 0, runs_total = 0, last_success_real_ns = 0;
  std::uint64_t items = 0;
};

struct SectionDrop {
  std::string section;
  std::uint64_t dropped = 0;
};

struct Model {
  std::uint64_t generation = 0, cycle = 0;
  std::uint64_t publish_mono_ns = 0, publish_real_ns = 0;
  std::uint64_t interval_ns = 0, sampler_start_real_ns = 0;
  std::uint32_t sampler_pid = 0;
  std::vector<Interface> interfaces;  // the host netns's, sorted by name: the exported ones
  std::vector<Interface> workload_interfaces;  // other namespaces' (for joins), by (netns, name)
  std::vector<SourceStatus> sources;
  std::vector<SectionDrop> drops;
  std::uint64_t invalid_refs = 0;     // StrRefs outside the arena (a corrupt or hostile snapshot)
  bool has_vm_sources = false;        // procs or libvirt sections present: render VM families
  std::uint64_t duplicate_links = 0;  // repeated (netns, ifindex), ignored
  std::optional<ProcessStats> sampler_process;  // the sampler's own figures (kSamplerProcess)
  std::optional<shm::SamplerWakeRecord> sampler_wake;  // its wake channel's (kSamplerWake)
};

Model build_model(const shm::Snapshot& snap);

std::string classify_kind(std::string_view link_kind, std::uint16_t if_type, bool has_device);
std::string_view operstate_name(std::uint8_t operstate);
using shm::source_state_name;  // shm-schema/layout.h

}  // namespace hostflow::exporter
