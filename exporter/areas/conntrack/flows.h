// Conntrack flow summaries per fixed IP and outbound behaviour (the OpenStack Instance Exporter's
// semantics), computed once per snapshot over the whole conntrack table. Knows nothing about owners
// beyond the WorkloadIps it is given. Counts only: no remote address or port ever leaves this file.
// hostflow-exporter.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "identity/addresses.h"
#include "identity/workload_ips.h"

namespace hostflow::exporter {

struct FlowOptions {
  std::uint64_t min = 20;  // --conntrack.min
  bool outbound = false;   // --outbound.behavior.enable
};

struct OutboundStats {
  std::uint64_t unique_remotes = 0, new_remotes = 0, flows = 0, max_flows_single_remote = 0;
  std::uint64_t unique_dst_ports = 0, new_dst_ports = 0, max_flows_single_dst_port = 0;
};

struct IpFlows {
  std::size_t workload = 0;  // index into the WorkloadIps span
  IpAddr ip;
  std::uint64_t flows = 0;       // entries with this IP as initiator or responder
  bool export_flows = false;     // flows >= min
  bool export_outbound = false;  // outbound enabled and (unique remotes or flows) >= min
  OutboundStats outbound;
};

// Maps a fixed IP to (workload, ip) indices; the first workload that claims an IP owns it.
class IpIndex {
 public:
  explicit IpIndex(std::span<const WorkloadIps> workloads);
  // Index into ips() or -1.
  int find(const IpAddr& ip) const {
    const std::uint64_t h = IpAddrHash()(ip);
    // Most addresses in a conntrack table are not fixed IPs: a bitmap rejects them cheaply.
    if (!(bits_[(h >> 6) & (kBitWords - 1)] & (std::uint64_t{1} << (h & 63)))) return -1;
    // Open addressing, linear probing; the table is at most half full.
    for (std::size_t i = (h >> 16) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index < 0) return -1;
      if (s.ip == ip) return s.index;
    }
  }
  struct Entry {
    std::size_t workload;
    IpAddr ip;
  };
  const std::vector<Entry>& ips() const { return ips_; }

 private:
  static constexpr std::size_t kBitWords = 1024;  // 64 Ki bits
  struct Slot {
    IpAddr ip;
    int index = -1;
  };
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::vector<Entry> ips_;
  std::vector<std::uint64_t> bits_ = std::vector<std::uint64_t>(kBitWords);
};

// The flows that touch a fixed IP, with the IpIndex answers for their ends, computed once per
// interval and shared by the flow summaries and the threat matching.
struct FlowEnd {
  std::uint32_t flow;  // index into the flows
  std::int32_t src;    // IpIndex of the initiator, or -1
  std::int32_t resp;   // of the responder (the reply tuple's source; dst without NAT)
  std::int32_t dst;    // of the original destination; only looked up when src >= 0
};
std::vector<FlowEnd> classify_flows(std::span<const Flow> flows, const IpIndex& index);

class FlowSummarizer {
 public:
  explicit FlowSummarizer(FlowOptions opts) : opts_(opts) {}
  // One interval. "New" remotes and ports are those not seen from the same fixed IP (of the same
  // owner) in the previous interval; state of IPs that disappeared is dropped.
  std::vector<IpFlows> update(std::span<const Flow> flows, std::span<const FlowEnd> ends,
                              std::span<const WorkloadIps> workloads, const IpIndex& index);
  std::vector<IpFlows> update(std::span<const Flow> flows, std::span<const WorkloadIps> workloads,
                              const IpIndex& index) {
    return update(flows, classify_flows(flows, index), workloads, index);
  }
  std::size_t state_entries() const { return prev_.size(); }
  const FlowOptions& options() const { return opts_; }

 private:
  struct Prev {
    std::vector<IpAddr> remotes;  // sorted, unique
    std::vector<std::uint16_t> ports;
  };
  FlowOptions opts_;
  std::map<std::string, Prev> prev_;  // key: owner_type / owner / ip
};

}  // namespace hostflow::exporter
