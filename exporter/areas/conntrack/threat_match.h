// Threat matching: conntrack flows of workload fixed IPs against the threat lists (per list
// direction filter), and the host's own addresses against the same lists. Per workload, list and
// direction: the contacts active this interval (distinct endpoint pairs: the workload IP and the
// remote, whatever the ports or number of flows) and a counter of contacts since start (a pair
// counts again only after an interval without it). Every new contact is one JSON line in the threat
// log (reopened by path when rotated). No remote address reaches a label. hostflow-exporter.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "areas/conntrack/flows.h"
#include "areas/conntrack/threat_feeds.h"

namespace hostflow::exporter {

// Appends lines to a file; before each write, reopens it when the path now names another inode
// (logrotate moved it away) or nothing. Never truncates.
class ThreatLog {
 public:
  explicit ThreatLog(std::string path) : path_(std::move(path)) {}
  ~ThreatLog();
  bool enabled() const { return !path_.empty(); }
  void write(const std::string& line);
  std::uint64_t errors() const { return errors_; }

 private:
  std::string path_;
  int fd_ = -1;
  ino_t ino_ = 0;
  dev_t dev_ = 0;
  std::uint64_t errors_ = 0;
};

struct ThreatSeries {
  std::size_t workload;  // index into the WorkloadIps span of the last update
  std::string list;
  Direction direction;  // kOut or kIn (observed)
  std::uint64_t active = 0, total = 0;
};

class ThreatMatcher {
 public:
  explicit ThreatMatcher(std::string log_path) : log_(std::move(log_path)) {}
  // One interval; `now_seconds` stamps the log lines.
  std::vector<ThreatSeries> update(std::span<const Flow> flows, std::span<const FlowEnd> ends,
                                   std::span<const WorkloadIps> workloads, const IpIndex& index,
                                   std::span<const ThreatList> lists, double now_seconds);
  std::vector<ThreatSeries> update(std::span<const Flow> flows,
                                   std::span<const WorkloadIps> workloads, const IpIndex& index,
                                   std::span<const ThreatList> lists, double now_seconds) {
    return update(flows, classify_flows(flows, index), workloads, index, lists, now_seconds);
  }
  std::uint64_t log_errors() const { return log_.errors(); }
  std::size_t state_entries() const { return prev_.size() + totals_.size(); }

 private:
  // A 64-bit hash of (list, owner_type/owner, direction, workload ip, remote ip): the contacts of
  // the previous interval, sorted. (A collision would only hide one new contact.)
  std::vector<std::uint64_t> prev_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> totals_;
  // The lists' sets merged (PrefixSets), and the sets it was built from (held, so a pointer
  // is never reused by another set while compared).
  std::vector<std::shared_ptr<const PrefixSet>> sets_;
  PrefixSets merged_;
  ThreatLog log_;
};

// The host's addresses listed in a threat list.
struct HostListed {
  std::string list, ip, family, interface;
};
struct HostThreatOptions {
  std::vector<std::string> interfaces;  // empty: every interface but loopback
  bool allow_private = false;
};
bool is_private_address(const IpAddr& ip);
// `ifname(ifindex)` names the host's interfaces.
std::vector<HostListed> match_host_addresses(const AddrTable& addrs,
                                             const std::map<std::int32_t, std::string>& ifnames,
                                             std::span<const ThreatList> lists,
                                             const HostThreatOptions& opts);

}  // namespace hostflow::exporter
