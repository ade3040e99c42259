#include "features/flows.h"

#include <algorithm>

namespace hostflow::exporter {

IpIndex::IpIndex(std::span<const WorkloadIps> workloads) {
  for (std::size_t w = 0; w < workloads.size(); w++) {
    for (const IpAddr& ip : workloads[w].ips) {
      if (map_.emplace(ip, static_cast<int>(ips_.size())).second) ips_.push_back({w, ip});
    }
  }
}

std::vector<IpFlows> FlowSummarizer::update(std::span<const Flow> flows,
                                            std::span<const WorkloadIps> workloads,
                                            const IpIndex& index) {
  const auto& ips = index.ips();
  std::vector<IpFlows> out(ips.size());
  for (std::size_t i = 0; i < ips.size(); i++) {
    out[i].workload = ips[i].workload;
    out[i].ip = ips[i].ip;
  }
  struct Acc {
    std::unordered_map<IpAddr, std::uint64_t, IpAddrHash> remotes;
    std::unordered_map<std::uint16_t, std::uint64_t> ports;
  };
  std::vector<Acc> acc(opts_.outbound ? ips.size() : 0);
  for (const Flow& f : flows) {
    const int a = index.find(f.src);
    const int b = index.find(f.responder.family ? f.responder : f.dst);
    if (a >= 0) out[static_cast<std::size_t>(a)].flows++;
    if (b >= 0 && b != a) out[static_cast<std::size_t>(b)].flows++;
    if (a < 0 || !opts_.outbound) continue;
    // Outbound: the fixed IP is the source and the destination is not one of its workload's IPs.
    const int d = index.find(f.dst);
    if (d >= 0 && ips[static_cast<std::size_t>(d)].workload == ips[static_cast<std::size_t>(a)].workload)
      continue;
    Acc& x = acc[static_cast<std::size_t>(a)];
    x.remotes[f.dst]++;
    x.ports[f.dport]++;
    out[static_cast<std::size_t>(a)].outbound.flows++;
  }
  std::map<std::string, Prev> next;
  for (std::size_t i = 0; i < out.size(); i++) {
    IpFlows& r = out[i];
    r.export_flows = r.flows >= opts_.min && r.flows > 0;
    if (!opts_.outbound) continue;
    const WorkloadIps& w = workloads[r.workload];
    const std::string key = w.owner_type + "/" + w.owner + "/" + r.ip.str();
    Prev cur;
    const auto old = prev_.find(key);
    OutboundStats& s = r.outbound;
    for (const auto& [remote, n] : acc[i].remotes) {
      s.max_flows_single_remote = std::max(s.max_flows_single_remote, n);
      if (old == prev_.end() || !old->second.remotes.count(remote)) s.new_remotes++;
      cur.remotes.insert(remote);
    }
    for (const auto& [port, n] : acc[i].ports) {
      s.max_flows_single_dst_port = std::max(s.max_flows_single_dst_port, n);
      if (old == prev_.end() || !old->second.ports.count(port)) s.new_dst_ports++;
      cur.ports.insert(port);
    }
    s.unique_remotes = acc[i].remotes.size();
    s.unique_dst_ports = acc[i].ports.size();
    // Gate: unique remotes or outbound flows reach --conntrack.min; ports never gate.
    r.export_outbound = s.flows > 0 && (s.unique_remotes >= opts_.min || s.flows >= opts_.min);
    next.emplace(key, std::move(cur));
  }
  prev_ = std::move(next);
  return out;
}

}  // namespace hostflow::exporter
