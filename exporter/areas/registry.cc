#include "areas/registry.h"

#include "areas/conntrack/conntrack_area.h"
#include "areas/containers/containers_area.h"
#include "areas/haproxy/haproxy_area.h"
#include "areas/links/links_area.h"
#include "areas/platform/platform_area.h"
#include "areas/sampler/sampler_area.h"
#include "areas/tc/tc_area.h"
#include "areas/vms/vms_area.h"

namespace hostflow::exporter {

bool row_owns(const AreaRow& row, std::string_view family) {
  return metrics::has_listed_prefix(row.prefixes, family);
}

std::span<const AreaRow> area_table() {
  // stem, sampler sources, segment sections, metric prefixes, docs/metrics.md anchor,
  // flags, validation, factory.
  static const AreaRow kAreas[] = {
      {"sampler", "every source (its status)", "Sources, the segment and slot headers",
       "hostflow_build_info hostflow_sampler_ hostflow_snapshot_ hostflow_source_",
       "sampler-and-sources", nullptr, nullptr, &make_sampler_area},
      {"links", "links", "Links, Netns", "hostflow_interface_",
       "interfaces-source-links-rtnetlink-rtm_getlink", nullptr, nullptr, &make_links_area},
      {"vms", "procs, taps, libvirt", "Procs, Taps, Domains, DomainParams",
       "hostflow_vm_ hostflow_openstack_ hostflow_host_active_",
       "virtual-machines-sources-procs-taps-libvirt", &add_vms_flags, &validate_vms,
       &make_vms_area},
      {"containers", "procs, links, docker", "Procs, Links, Netns, Docker",
       "hostflow_container_ hostflow_docker_", "containers-sources-procs-links-docker",
       &add_containers_flags, nullptr, &make_containers_area},
      {"tc", "bpf (--source.bpf)", "BpfCounters, BpfAttach", "hostflow_tc_",
       "ebpf-tc-counters-source-bpf---sourcebpf", &add_tc_flags, nullptr, &make_tc_area},
      {"conntrack", "conntrack, addrs (+ threat lists fetched by the exporter)", "Conntrack, Addrs",
       "hostflow_conntrack_ hostflow_outbound_ hostflow_workload_ hostflow_threat_ "
       "hostflow_host_threat_",
       "conntrack-flows-outbound-behaviour-and-threat-contacts-sources-conntrack-addrs",
       &add_conntrack_flags, &validate_conntrack, &make_conntrack_area},
      {"haproxy", "none (HAProxy's log files, tailed by the exporter)", "none", "hostflow_haproxy_",
       "tls-traffic-per-sni-exporter---haproxylog", &add_haproxy_flags, &validate_haproxy,
       &make_haproxy_area},
      {"platform", "platform", "Platform, PlatformFilesystems, PlatformContainers",
       "hostflow_platform_", "platform-source-platform", nullptr, nullptr, &make_platform_area},
  };
  return kAreas;
}

}  // namespace hostflow::exporter
