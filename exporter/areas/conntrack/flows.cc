#include "areas/conntrack/flows.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace hostflow::exporter {

IpIndex::IpIndex(std::span<const WorkloadIps> workloads) {
  std::size_t n = 0;
  for (const WorkloadIps& w : workloads) n += w.ips.size();
  std::size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  slots_.resize(cap);
  mask_ = cap - 1;
  for (std::size_t w = 0; w < workloads.size(); w++) {
    for (const IpAddr& ip : workloads[w].ips) {
      if (find(ip) >= 0) continue;
      const std::uint64_t h = IpAddrHash()(ip);
      bits_[(h >> 6) & (kBitWords - 1)] |= std::uint64_t{1} << (h & 63);
      std::size_t i = (h >> 16) & mask_;
      while (slots_[i].index >= 0) i = (i + 1) & mask_;
      slots_[i] = Slot{ip, static_cast<int>(ips_.size())};
      ips_.push_back({w, ip});
    }
  }
}

std::vector<FlowEnd> classify_flows(std::span<const Flow> flows, const IpIndex& index) {
  std::vector<FlowEnd> out;
  for (std::size_t i = 0; i < flows.size(); i++) {
    const Flow& f = flows[i];
    const int a = index.find(f.src);
    const int b = index.find(f.responder.family ? f.responder : f.dst);
    if (a < 0 && b < 0) continue;
    out.push_back({static_cast<std::uint32_t>(i), a, b, a >= 0 ? index.find(f.dst) : -1});
  }
  return out;
}

std::vector<IpFlows> FlowSummarizer::update(std::span<const Flow> flows,
                                            std::span<const FlowEnd> ends,
                                            std::span<const WorkloadIps> workloads,
                                            const IpIndex& index) {
  const auto& ips = index.ips();
  std::vector<IpFlows> out(ips.size());
  for (std::size_t i = 0; i < ips.size(); i++) {
    out[i].workload = ips[i].workload;
    out[i].ip = ips[i].ip;
  }
  // Outbound flows as (fixed IP, remote, port), grouped by fixed IP (a counting sort), then
  // sorted within each group and counted as runs (no hash maps). The remote as two integers
  // (with its family) so sorting compares integers, not bytes.
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
  std::vector<std::uint32_t> outbound_of;  // FlowEnd positions of the outbound flows
  for (std::size_t k = 0; k < ends.size(); k++) {
    const FlowEnd& e = ends[k];
    const int a = e.src, b = e.resp;
    if (a >= 0) out[static_cast<std::size_t>(a)].flows++;
    if (b >= 0 && b != a) out[static_cast<std::size_t>(b)].flows++;
    if (a < 0 || !opts_.outbound) continue;
    // Outbound: the fixed IP is the source and the destination is not one of its workload's IPs.
    const int d = e.dst;
    if (d >= 0 &&
        ips[static_cast<std::size_t>(d)].workload == ips[static_cast<std::size_t>(a)].workload)
      continue;
    outbound_of.push_back(static_cast<std::uint32_t>(k));
    out[static_cast<std::size_t>(a)].outbound.flows++;
  }
  for (IpFlows& r : out) r.export_flows = r.flows >= opts_.min && r.flows > 0;
  if (!opts_.outbound) {
    prev_.clear();
    return out;
  }
  // Group by fixed IP: group i is [first[i], first[i + 1]).
  std::vector<std::size_t> first(out.size() + 1, 0);
  for (std::size_t i = 0; i < out.size(); i++) first[i + 1] = first[i] + out[i].outbound.flows;
  std::vector<Out> outs(outbound_of.size());
  std::vector<std::uint16_t> ports(outbound_of.size());
  {
    std::vector<std::size_t> at(first.begin(), first.end() - 1);
    for (std::uint32_t k : outbound_of) {
      const FlowEnd& e = ends[k];
      const Flow& f = flows[e.flow];
      std::uint64_t b0, b1;
      std::memcpy(&b0, f.dst.b, 8);
      std::memcpy(&b1, f.dst.b + 8, 8);
      const std::size_t pos = at[static_cast<std::size_t>(e.src)]++;
      outs[pos] = {static_cast<std::uint32_t>(e.src), f.dst.family, be64toh(b0), be64toh(b1)};
      ports[pos] = f.dport;
    }
  }
  std::vector<Prev> cur(out.size());
  for (std::size_t ip = 0; ip < out.size(); ip++) {
    const std::size_t lo = first[ip], hi = first[ip + 1];
    if (lo == hi) continue;
    OutboundStats& s = out[ip].outbound;
    std::sort(outs.begin() + static_cast<long>(lo), outs.begin() + static_cast<long>(hi));
    for (std::size_t i = lo; i < hi;) {
      std::size_t j = i;
      while (j < hi && outs[j].same_remote(outs[i])) j++;
      s.unique_remotes++;
      s.max_flows_single_remote = std::max<std::uint64_t>(s.max_flows_single_remote, j - i);
      cur[ip].remotes.push_back(outs[i].remote());
      i = j;
    }
    std::sort(ports.begin() + static_cast<long>(lo), ports.begin() + static_cast<long>(hi));
    for (std::size_t i = lo; i < hi;) {
      std::size_t j = i;
      while (j < hi && ports[j] == ports[i]) j++;
      s.unique_dst_ports++;
      s.max_flows_single_dst_port = std::max<std::uint64_t>(s.max_flows_single_dst_port, j - i);
      cur[ip].ports.push_back(ports[i]);
      i = j;
    }
  }
  std::map<std::string, Prev> next;
  for (std::size_t i = 0; i < out.size(); i++) {
    IpFlows& r = out[i];
    const WorkloadIps& w = workloads[r.workload];
    std::string key = w.owner_type + "/" + w.owner + "/" + r.ip.str();
    OutboundStats& s = r.outbound;
    const auto old = prev_.find(key);
    for (const IpAddr& x : cur[i].remotes)
      if (old == prev_.end() ||
          !std::binary_search(old->second.remotes.begin(), old->second.remotes.end(), x))
        s.new_remotes++;
    for (std::uint16_t p : cur[i].ports)
      if (old == prev_.end() ||
          !std::binary_search(old->second.ports.begin(), old->second.ports.end(), p))
        s.new_dst_ports++;
    // Gate: unique remotes or outbound flows reach --conntrack.min; ports never gate.
    r.export_outbound = s.flows > 0 && (s.unique_remotes >= opts_.min || s.flows >= opts_.min);
    next.emplace(std::move(key), std::move(cur[i]));
  }
  prev_ = std::move(next);
  return out;
}

}  // namespace hostflow::exporter
