// Virtual machines: every QEMU process and libvirt domain in a snapshot, joined to the host
// interfaces it owns (tap by (netns, name) from fdinfo, macvtap by device number, libvirt
// <target dev> as a fallback), with its identity (libvirt uuid/name and Nova metadata, or the QEMU
// command line) and its libvirt stats. Pure: built from a validated Snapshot. hostflow-exporter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hostflow/shm/snapshot.h"
#include "identity/domain_xml.h"
#include "identity/interfaces.h"

namespace hostflow::exporter {

// Plausibility limits of a VM's numbers (libvirt stats, Nova flavor): above them a value is
// ignored and counted (Vm::out_of_range_values, hostflow_vm_out_of_range_values). QEMU/KVM's
// largest guests have 4096 vCPUs and a few TiB; these leave room for growth and stay far from
// any overflow in the byte conversion.
inline constexpr std::uint64_t kMaxVcpus = 16384;
inline constexpr std::uint64_t kMaxMemoryBytes = 1ull << 50;  // 1 PiB

struct VmInterface {
  std::uint64_t netns = 0;
  std::int32_t ifindex = 0;
  std::string name;         // as in hostflow_interface_info
  std::string kind;         // tap, macvtap, ...
  bool guest_view = false;  // counters already from the guest's view (macvtap)
  shm::LinkStats stats{};   // host kernel's view
};

struct VmDisk {
  DomainDisk info;
  bool has_stats = false;
  std::uint64_t rd_reqs = 0, rd_bytes = 0, wr_reqs = 0, wr_bytes = 0;
};

struct VmVnic {
  std::string name;
  // receive/transmit as libvirt reports them: the domain's view, like `virsh domifstat`.
  std::uint64_t rx_bytes = 0, rx_pkts = 0, rx_errs = 0, rx_drop = 0;
  std::uint64_t tx_bytes = 0, tx_pkts = 0, tx_errs = 0, tx_drop = 0;
};

struct Vm {
  std::string key;     // identity used for state across snapshots
  std::string uuid;    // label value
  std::string name;    // label value
  std::string source;  // "libvirt" or "cmdline"
  int pid = 0;
  // What the QEMU process's command line carries besides (QemuCmdline): dstack's run/vm/<id> and
  // the vhost-vsock guest CID, "" when absent (or no QEMU process is known).
  std::string run_vm_id, guest_cid;
  std::optional<NovaInstance> nova;
  std::string xml_error;  // why the domain XML could not be used, "" when fine
  // Numbers (libvirt stats, Nova flavor) above their plausible range, ignored (see kMaxVcpus).
  std::uint32_t out_of_range_values = 0;
  std::vector<VmInterface> interfaces;
  std::vector<VmDisk> disks;
  std::vector<VmVnic> vnics;
  std::optional<std::uint64_t> cpu_time_ns;
  unsigned vcpus = 0;
  std::uint64_t memory_bytes = 0;  // balloon maximum, else Nova flavor memory
};

// `interfaces` are the host's, `workload_interfaces` those of other namespaces (a QEMU may run in
// its own netns with its tap there).
std::vector<Vm> build_vms(const shm::Snapshot& snap, const std::vector<Interface>& interfaces,
                          const std::vector<Interface>& workload_interfaces = {});

}  // namespace hostflow::exporter
