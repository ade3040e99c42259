#include "areas/conntrack/conntrack_feature.h"

#include "hostflow/common/clock.h"

namespace hostflow::exporter {

ConntrackFeature::ConntrackFeature(ConntrackFeatureOptions opts, std::shared_ptr<FeedManager> feeds)
    : opts_(std::move(opts)),
      feeds_(std::move(feeds)),
      flows_(opts_.flows),
      threats_(opts_.threat_log) {}

ConntrackView ConntrackFeature::update(const shm::Snapshot& snap, const Identity& id,
                                       double now_seconds) {
  const ConntrackTable ct = build_conntrack(snap);
  std::map<std::int32_t, std::string> ifnames;
  for (const Interface& i : id.model.interfaces)
    if (i.netnsid < 0) ifnames.emplace(i.ifindex, i.name);
  return compute(ct, id.addrs, id.workloads, ifnames, now_seconds);
}

ConntrackView ConntrackFeature::compute(const ConntrackTable& ct, const AddrTable& addrs,
                                        std::vector<WorkloadIps> workloads,
                                        const std::map<std::int32_t, std::string>& host_ifnames,
                                        double now_seconds) {
  const std::uint64_t t0 = mono_ns();
  ConntrackView v;
  v.present = ct.present;
  v.outbound = opts_.flows.outbound;
  v.entries = ct.flows.size();
  v.dropped = ct.dropped;
  v.workloads = std::move(workloads);
  const IpIndex index(v.workloads);
  const std::vector<FlowEnd> ends = classify_flows(ct.flows, index);
  v.ips = flows_.update(ct.flows, ends, v.workloads, index);
  std::vector<ThreatList> lists;
  if (feeds_) {
    lists = feeds_->lists();
    v.feeds = feeds_->status();
  }
  v.threats = threats_.update(ct.flows, ends, v.workloads, index, lists, now_seconds);
  v.threat_log_errors = threats_.log_errors();
  v.host_threats = opts_.host_threats;
  if (opts_.host_threats) v.host = match_host_addresses(addrs, host_ifnames, lists, opts_.host);
  v.seconds = static_cast<double>(mono_ns() - t0) / 1e9;
  return v;
}

}  // namespace hostflow::exporter
