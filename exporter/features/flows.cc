#include "features/flows.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace hostflow::exporter {

IpIndex::IpIndex(std::span<const WorkloadIps> workloads) {
  for (std::size_t w = 0; w < workloads.size(); w++) {
    for (const IpAddr& ip : workloads[w].ips) {
      if (!map_.emplace(ip, static_cast<int>(ips_.size())).second) continue;
      ips_.push_back({w, ip});
      const std::size_t h = IpAddrHash()(ip);
      bits_[(h >> 6) & (kBitWords - 1)] |= std::uint64_t{1} << (h & 63);
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
  // Outbound flows as (fixed IP, remote, port); sorted twice, counted as runs (no hash maps).
  // The remote as two integers (with its family) so sorting compares integers, not bytes.
  struct Out {
    std::uint32_t ip;
    std::uint32_t family;
    std::uint64_t r0, r1;
    bool operator<(const Out& o) const {
      return std::tie(ip, family, r0, r1) < std::tie(o.ip, o.family, o.r0, o.r1);  // IpAddr order
    }
    bool same_remote(const Out& o) const {
      return ip == o.ip && r0 == o.r0 && r1 == o.r1 && family == o.family;
    }
    IpAddr remote() const {
      IpAddr a;
      a.family = static_cast<std::uint8_t>(family);
      const std::uint64_t b0 = htobe64(r0), b1 = htobe64(r1);
      std::memcpy(a.b, &b0, 8);
      std::memcpy(a.b + 8, &b1, 8);
      return a;
    }
  };
  std::vector<Out> outs;
  std::vector<std::uint64_t> ports;  // (ip << 16) | port
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
    std::uint64_t b0, b1;
    std::memcpy(&b0, f.dst.b, 8);
    std::memcpy(&b1, f.dst.b + 8, 8);
    outs.push_back({static_cast<std::uint32_t>(a), f.dst.family, be64toh(b0), be64toh(b1)});
    ports.push_back((static_cast<std::uint64_t>(a) << 16) | f.dport);
    out[static_cast<std::size_t>(a)].outbound.flows++;
  }
  for (IpFlows& r : out) r.export_flows = r.flows >= opts_.min && r.flows > 0;
  if (!opts_.outbound) {
    prev_.clear();
    return out;
  }
  std::vector<Prev> cur(out.size());
  std::sort(outs.begin(), outs.end());
  for (std::size_t i = 0; i < outs.size();) {
    std::size_t j = i;
    while (j < outs.size() && outs[j].same_remote(outs[i])) j++;
    OutboundStats& s = out[outs[i].ip].outbound;
    s.unique_remotes++;
    s.max_flows_single_remote = std::max<std::uint64_t>(s.max_flows_single_remote, j - i);
    cur[outs[i].ip].remotes.push_back(outs[i].remote());
    i = j;
  }
  std::sort(ports.begin(), ports.end());
  for (std::size_t i = 0; i < ports.size();) {
    std::size_t j = i;
    while (j < ports.size() && ports[j] == ports[i]) j++;
    OutboundStats& s = out[ports[i] >> 16].outbound;
    s.unique_dst_ports++;
    s.max_flows_single_dst_port = std::max<std::uint64_t>(s.max_flows_single_dst_port, j - i);
    cur[ports[i] >> 16].ports.push_back(static_cast<std::uint16_t>(ports[i] & 0xffff));
    i = j;
  }
  std::map<std::string, Prev> next;
  for (std::size_t i = 0; i < out.size(); i++) {
    IpFlows& r = out[i];
    const WorkloadIps& w = workloads[r.workload];
    std::string key = w.owner_type + "/" + w.owner + "/" + r.ip.str();
    OutboundStats& s = r.outbound;
    const auto old = prev_.find(key);
    for (const IpAddr& x : cur[i].remotes)
      if (old == prev_.end() || !std::binary_search(old->second.remotes.begin(), old->second.remotes.end(), x))
        s.new_remotes++;
    for (std::uint16_t p : cur[i].ports)
      if (old == prev_.end() || !std::binary_search(old->second.ports.begin(), old->second.ports.end(), p))
        s.new_dst_ports++;
    // Gate: unique remotes or outbound flows reach --conntrack.min; ports never gate.
    r.export_outbound = s.flows > 0 && (s.unique_remotes >= opts_.min || s.flows >= opts_.min);
    next.emplace(std::move(key), std::move(cur[i]));
  }
  prev_ = std::move(next);
  return out;
}

}  // namespace hostflow::exporter
