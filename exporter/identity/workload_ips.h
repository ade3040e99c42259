// Fixed IPs per workload: the addresses conntrack entries are attributed by.
//  - VMs: the fixed IPs in the Nova ports metadata of the domain XML (<nova:ports>).
//  - Workload network namespaces: the global addresses the addrs source found in each netns other
//    than the sampler's (kernel facts, not configuration), plus for Docker containers the
//    addresses of their network endpoints from the Engine API (the only source when the
//    namespace could not be dumped).
// The owner labels of a netns come from ONE function, netns_owner(): the container attribution
// (model/owners.h: netns -> processes -> cgroup -> container), the same owner_type/owner the
// interface series carry; a namespace with no process seen is owner_type "netns", owner its inode.
// Pure.
// hostflow-exporter.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "identity/addresses.h"
#include "identity/owners.h"
#include "identity/vms.h"

namespace hostflow::exporter {

struct WorkloadIps {
  std::string owner_type;  // "vm", "netns" (label value)
  std::string owner;       // VM name (as on its interfaces); the netns's owner (label value)
  std::vector<IpAddr> ips;
};

struct WorkloadOwner {
  std::string owner_type, owner;
};
// The owner of the workload whose network namespace has inode `inode` (0 when known only by its
// nsid): its container from `containers` (attribute()), else the netns itself.
using ContainersByNetns = std::map<std::uint64_t, const Container*>;  // by netns inode
WorkloadOwner netns_owner(std::uint64_t inode, std::int32_t nsid,
                          const ContainersByNetns& containers = {});

// True for an address that names a workload endpoint (not loopback, not IPv6 link-local).
bool is_workload_address(const IpAddr& ip);

// Bounded: at most kMaxWorkloads workloads and kMaxIpsPerWorkload addresses each.
std::vector<WorkloadIps> build_workload_ips(std::span<const Vm> vms, const AddrTable& addrs,
                                            std::span<const Container> containers = {});

inline constexpr std::size_t kMaxWorkloads = 16384;
inline constexpr std::size_t kMaxIpsPerWorkload = 64;

}  // namespace hostflow::exporter
