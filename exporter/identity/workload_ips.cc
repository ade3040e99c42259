#include "identity/workload_ips.h"

#include <algorithm>
#include <map>

namespace hostflow::exporter {

WorkloadOwner netns_owner(std::uint64_t inode, std::int32_t nsid,
                          const ContainersByNetns& containers) {
  if (inode != 0) {
    if (auto it = containers.find(inode); it != containers.end())
      return {it->second->owner_type, it->second->name};
    return {"netns", std::to_string(inode)};
  }
  return {"netns", "nsid:" + std::to_string(nsid)};
}

bool is_workload_address(const IpAddr& ip) {
  if (ip.family == 4) return ip.b[0] != 127 && !(ip.b[0] == 0);
  if (ip.family == 6) {
    static const std::uint8_t kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(ip.b, kLoop, 16) == 0) return false;
    if (ip.b[0] == 0xfe && (ip.b[1] & 0xc0) == 0x80) return false;  // fe80::/10
    return true;
  }
  return false;
}

std::vector<WorkloadIps> build_workload_ips(std::span<const Vm> vms, const AddrTable& addrs,
                                            std::span<const Container> containers) {
  std::vector<WorkloadIps> out;
  for (const Vm& vm : vms) {
    if (out.size() >= kMaxWorkloads) break;
    if (!vm.nova || vm.nova->fixed_ips.empty()) continue;
    // The owner label the VM's interface series carry (model/owners.cc): its name.
    WorkloadIps w{"vm", vm.name.empty() ? vm.uuid : vm.name, {}};
    for (const NovaFixedIp& f : vm.nova->fixed_ips) {
      if (w.ips.size() >= kMaxIpsPerWorkload) break;
      auto ip = IpAddr::parse(f.address);
      if (ip && std::find(w.ips.begin(), w.ips.end(), *ip) == w.ips.end()) w.ips.push_back(*ip);
    }
    if (!w.ips.empty()) out.push_back(std::move(w));
  }
  // Workload namespaces, in a stable order (by owner).
  ContainersByNetns owners;
  for (const Container& c : containers) owners.emplace(c.netns, &c);
  std::map<std::pair<std::uint64_t, std::int32_t>, std::vector<IpAddr>> by_netns;
  for (const NetAddr& a : addrs.addrs) {
    if (a.nsid < 0 || !is_workload_address(a.ip)) continue;
    auto& v = by_netns[{a.netns, a.netns ? -1 : a.nsid}];
    if (v.size() < kMaxIpsPerWorkload && std::find(v.begin(), v.end(), a.ip) == v.end())
      v.push_back(a.ip);
  }
  // Docker's own record of its containers' addresses: the same as the kernel's when the netns
  // could be dumped, the only source when it could not (or the addrs source is off).
  for (const Container& c : containers) {
    if (c.addresses.empty() || c.netns == 0 || (c.netns >> 63)) continue;
    auto& v = by_netns[{c.netns, -1}];
    for (const std::string& text : c.addresses) {
      auto ip = IpAddr::parse(std::string_view(text).substr(0, text.find('/')));  // "172.18.0.2/16"
      if (ip && is_workload_address(*ip) && v.size() < kMaxIpsPerWorkload &&
          std::find(v.begin(), v.end(), *ip) == v.end())
        v.push_back(*ip);
    }
  }
  for (auto& [key, ips] : by_netns) {
    if (out.size() >= kMaxWorkloads) break;
    WorkloadOwner o = netns_owner(key.first, key.second, owners);
    out.push_back(WorkloadIps{std::move(o.owner_type), std::move(o.owner), std::move(ips)});
  }
  return out;
}

}  // namespace hostflow::exporter
