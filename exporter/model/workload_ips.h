// Fixed IPs per workload: the addresses conntrack entries are attributed by.
//  - VMs: the fixed IPs in the Nova ports metadata of the domain XML (<nova:ports>).
//  - Workload network namespaces: the global addresses the addrs source found in each netns other
//    than the sampler's (kernel facts, not configuration).
// The owner labels of a netns come from ONE function, netns_owner(), so the container attribution
// (netns -> processes -> cgroup -> container) can replace them in one place. Pure.
// hostflow-exporter.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "model/conntrack.h"
#include "model/vms.h"

namespace hostflow::exporter {

struct WorkloadIps {
  std::string owner_type;  // "vm", "netns" (label value)
  std::string owner;       // VM uuid; netns inode in decimal (label value)
  std::vector<IpAddr> ips;
};

struct WorkloadOwner {
  std::string owner_type, owner;
};
// The owner of the workload whose network namespace has inode `inode` (0 when known only by its
// nsid). The one place to change when containers are attributed.
WorkloadOwner netns_owner(std::uint64_t inode, std::int32_t nsid);

// True for an address that names a workload endpoint (not loopback, not IPv6 link-local).
bool is_workload_address(const IpAddr& ip);

// Bounded: at most kMaxWorkloads workloads and kMaxIpsPerWorkload addresses each.
std::vector<WorkloadIps> build_workload_ips(std::span<const Vm> vms, const AddrTable& addrs);

inline constexpr std::size_t kMaxWorkloads = 16384;
inline constexpr std::size_t kMaxIpsPerWorkload = 64;

}  // namespace hostflow::exporter
