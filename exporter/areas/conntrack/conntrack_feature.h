// The conntrack features once per snapshot: fixed IPs per workload, flow summaries and outbound
// behaviour per fixed IP, threat contacts per workload, host threat matching, and the feeds'
// telemetry, gathered into one view for rendering. Runs on the exporter's poll thread.
// hostflow-exporter.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "areas/conntrack/flows.h"
#include "areas/conntrack/threat_feeds.h"
#include "areas/conntrack/threat_match.h"
#include "identity/identity.h"
#include "identity/interfaces.h"
#include "identity/workload_ips.h"

namespace hostflow::exporter {

struct ConntrackFeatureOptions {
  FlowOptions flows;
  std::string threat_log;  // "" = no threat log
  bool host_threats = false;
  HostThreatOptions host;
};

struct ConntrackView {
  bool present = false;   // the snapshot has a conntrack section
  bool outbound = false;  // --outbound.behavior.enable
  std::uint64_t entries = 0, dropped = 0;
  std::vector<WorkloadIps> workloads;
  std::vector<IpFlows> ips;
  std::vector<ThreatSeries> threats;
  std::vector<FeedStatus> feeds;
  std::vector<HostListed> host;
  bool host_threats = false;
  double seconds = 0;  // aggregation + matching time of this snapshot
  std::uint64_t threat_log_errors = 0;
};

class ConntrackFeature {
 public:
  ConntrackFeature(ConntrackFeatureOptions opts, std::shared_ptr<FeedManager> feeds);
  // `containers`: the attribution of workload namespaces (model/owners.h), for owner labels.
  // Decodes the snapshot's conntrack section and joins it with the snapshot's identity
  // (fixed IPs per workload, addresses, host interface names).
  ConntrackView update(const shm::Snapshot& snap, const Identity& id, double now_seconds);
  // The pure part (bench and tests): everything but decoding the snapshot.
  ConntrackView compute(const ConntrackTable& ct, const AddrTable& addrs,
                        std::vector<WorkloadIps> workloads,
                        const std::map<std::int32_t, std::string>& host_ifnames,
                        double now_seconds);

 private:
  ConntrackFeatureOptions opts_;
  std::shared_ptr<FeedManager> feeds_;
  FlowSummarizer flows_;
  ThreatMatcher threats_;
};

}  // namespace hostflow::exporter
