#include "areas/conntrack/conntrack_families.h"

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Labels;

void conntrack_families(const ConntrackView& v, metrics::FamilySet* out) {
  auto push = [&](Family& f) {
    if (!f.empty()) out->add(std::move(f));
  };
  if (v.present) {
    Family entries("hostflow_conntrack_entries",
                   "Conntrack entries in the sampler's netns this cycle (IPv4 and IPv6).",
                   metrics::Type::kGauge);
    entries.add(static_cast<double>(v.entries));
    push(entries);
    Family agg("hostflow_conntrack_aggregation_seconds",
               "Time the exporter spent on flow summaries and threat matching for this snapshot.",
               metrics::Type::kGauge);
    agg.add(v.seconds);
    push(agg);
    Family wips("hostflow_workload_fixed_ips",
                "Fixed IPs known per workload (Nova ports for VMs, kernel addresses of network "
                "namespaces, Docker endpoint addresses of containers).",
                metrics::Type::kGauge);
    for (const WorkloadIps& w : v.workloads)
      wips.add({{"owner_type", w.owner_type}, {"owner", w.owner}},
               static_cast<double>(w.ips.size()));
    push(wips);

    Family flows("hostflow_conntrack_ip_flows",
                 "Conntrack entries with this fixed IP as initiator or responder; exported at or "
                 "above --conntrack.min.",
                 metrics::Type::kGauge);
    const char* names[7] = {"hostflow_outbound_unique_remotes",
                            "hostflow_outbound_new_remotes",
                            "hostflow_outbound_flows",
                            "hostflow_outbound_max_flows_single_remote",
                            "hostflow_outbound_unique_dst_ports",
                            "hostflow_outbound_new_dst_ports",
                            "hostflow_outbound_max_flows_single_dst_port"};
    const char* helps[7] = {
        "Distinct remote addresses this fixed IP opened flows to (not its workload's own IPs).",
        "Remote addresses not contacted by this fixed IP in the previous interval.",
        "Flows this fixed IP opened to remotes.",
        "Most flows from this fixed IP to one remote address.",
        "Distinct destination ports of this fixed IP's outbound flows.",
        "Destination ports not used by this fixed IP in the previous interval.",
        "Most outbound flows from this fixed IP to one destination port."};
    std::vector<Family> ob;
    for (int i = 0; i < 7; i++) ob.emplace_back(names[i], helps[i], metrics::Type::kGauge);
    for (const IpFlows& r : v.ips) {
      const WorkloadIps& w = v.workloads[r.workload];
      Labels l = {{"owner_type", w.owner_type},
                  {"owner", w.owner},
                  {"ip", r.ip.str()},
                  {"family", std::string(r.ip.family_label())}};
      if (r.export_flows) flows.add(l, static_cast<double>(r.flows));
      if (r.export_outbound) {
        const OutboundStats& s = r.outbound;
        const std::uint64_t vals[7] = {
            s.unique_remotes,           s.new_remotes,      s.flows,
            s.max_flows_single_remote,  s.unique_dst_ports, s.new_dst_ports,
            s.max_flows_single_dst_port};
        for (int i = 0; i < 7; i++)
          ob[static_cast<std::size_t>(i)].add(l, static_cast<double>(vals[i]));
      }
    }
    push(flows);
    for (Family& f : ob) push(f);

    Family active("hostflow_threat_contacts_active",
                  "Distinct (workload IP, listed remote) pairs with a flow this interval, per "
                  "workload, list and observed direction.",
                  metrics::Type::kGauge);
    Family total("hostflow_threat_contacts_total",
                 "Contacts with a listed remote since the exporter started (a pair counts again "
                 "only after an interval without a flow); one threat log line each.",
                 metrics::Type::kCounter);
    for (const ThreatSeries& s : v.threats) {
      const WorkloadIps& w = v.workloads[s.workload];
      Labels l = {{"owner_type", w.owner_type},
                  {"owner", w.owner},
                  {"list", s.list},
                  {"direction", std::string(direction_name(s.direction))}};
      active.add(l, static_cast<double>(s.active));
      total.add(l, static_cast<double>(s.total));
    }
    push(active);
    push(total);
    if (v.threat_log_errors) {
      Family le("hostflow_threat_log_errors_total", "Threat log lines that could not be written.",
                metrics::Type::kCounter);
      le.add(static_cast<double>(v.threat_log_errors));
      push(le);
    }
  }
  if (!v.feeds.empty()) {
    Family last(
        "hostflow_threat_feed_last_success_timestamp_seconds",
        "When the list in use was fetched (from the disk cache after a restart); 0 = never.",
        metrics::Type::kGauge);
    Family dur("hostflow_threat_feed_refresh_duration_seconds",
               "Duration of the last refresh attempt.", metrics::Type::kGauge);
    Family err("hostflow_threat_feed_refresh_errors_total",
               "Failed refreshes (unreachable, timeout, too large, malformed); the last good list "
               "is kept.",
               metrics::Type::kCounter);
    Family ent("hostflow_threat_feed_entries", "Prefixes in the list in use.",
               metrics::Type::kGauge);
    Family cache("hostflow_threat_feed_cache_errors_total",
                 "Good lists that could not be written to the disk cache (a full or read-only "
                 "state directory); the list is used all the same.",
                 metrics::Type::kCounter);
    Family broad("hostflow_threat_feed_rejected_prefixes",
                 "Prefixes the last good refresh refused as broader than /8 (IPv4) or /16 (IPv6).",
                 metrics::Type::kGauge);
    for (const FeedStatus& f : v.feeds) {
      Labels l = {{"list", f.name}};
      last.add(l, f.last_success_seconds);
      dur.add(l, f.refresh_seconds);
      err.add(l, static_cast<double>(f.errors));
      ent.add(l, static_cast<double>(f.entries));
      broad.add(l, static_cast<double>(f.rejected_broad));
      cache.add(l, static_cast<double>(f.cache_errors));
    }
    push(last);
    push(dur);
    push(err);
    push(ent);
    push(broad);
    push(cache);
  }
  if (v.host_threats) {
    Family host("hostflow_host_threat_listed",
                "A host address (of --host.interfaces) that is in a threat list.",
                metrics::Type::kGauge);
    for (const HostListed& h : v.host)
      host.add({{"list", h.list},
                {"ip", h.ip},
                {"family", h.family},
                {"interface", sanitize_label(h.interface, 64)}},
               1);
    push(host);
  }
}

}  // namespace hostflow::exporter
