#include "sources/registry.h"

#include <linux/capability.h>

#include "sources/addrs.h"
#include "sources/bpf.h"
#include "sources/conntrack.h"
#include "sources/docker.h"
#include "sources/libvirt.h"
#include "sources/links.h"
#include "sources/platform.h"
#include "sources/procs.h"
#include "sources/taps.h"

namespace hostflow::sampler {
namespace {

std::unique_ptr<Source> procs(SourceContext& c) {
  return make_procs_source(c.proc_scan);
}
std::unique_ptr<Source> taps(SourceContext& c) {
  return make_taps_source(c.proc_scan);
}
std::unique_ptr<Source> links(SourceContext& c) {
  return make_links_source(c.proc_scan, c.host_bridges, c.netns_scan);
}
std::unique_ptr<Source> addrs(SourceContext& c) {
  return make_addrs_source(c.netns_scan);
}
std::unique_ptr<Source> conntrack(SourceContext& c) {
  return make_conntrack_source(c.options.conntrack);
}
std::unique_ptr<Source> libvirt(SourceContext& c) {
  return make_libvirt_source(c.options.libvirt);
}
std::unique_ptr<Source> docker(SourceContext& c) {
  return make_docker_source(c.options.docker, c.host_bridges);
}
std::unique_ptr<Source> bpf(SourceContext& c) {
  return make_bpf_source(c.options.bpf);
}
std::unique_ptr<Source> platform(SourceContext& c) {
  return make_platform_source(c.options.platform);
}

// A source's add_flags(CLI::App&, <Stem>Options&) / validate(<Stem>Options&), declared in its
// header, over its member of SourceOptions.
template <auto Member>
void flags_of(CLI::App& app, SourceOptions& o) {
  add_flags(app, o.*Member);
}
template <auto Member>
Result<void> validate_of(SourceOptions& o) {
  return validate(o.*Member);
}

using enum shm::SectionType;

}  // namespace

std::span<const SourceEntry> source_table() {
  // Order matters: a source may use what an earlier one found this cycle (cycle_facts.h).
  static constexpr SourceEntry kSources[] = {
      // stat() of another user's /proc/<pid>/ns/net is a ptrace-mode read check.
      {.name = "procs",
       .help = "processes: netns, cgroup, QEMU command lines (/proc)",
       .enabled_by_default = true,
       .make = &procs,
       .capabilities = caps(CAP_SYS_PTRACE),
       .add_flags = nullptr,
       .validate = nullptr,
       .sections = sections(kProcs),
       .metric_prefix = "hostflow_container_",
       .docs_anchor = "containers-sources-procs-links-docker"},
      // /proc/<pid>/fdinfo and fd readlink need ptrace-mode reads; listing another user's
      // /proc/<pid>/fd (mode 0500) needs CAP_DAC_READ_SEARCH. Runs after procs: it reads the
      // QEMU pids procs found.
      {.name = "taps",
       .help = "tap and macvtap devices held by QEMU processes (/proc/<pid>/fd, fdinfo)",
       .enabled_by_default = true,
       .make = &taps,
       .capabilities = caps(CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH),
       .add_flags = nullptr,
       .validate = nullptr,
       .sections = sections(kTaps),
       .metric_prefix = "hostflow_vm_",
       .docs_anchor = "virtual-machines-sources-procs-taps-libvirt"},
      // Our own RTM_GETLINK dump, /proc/self/ns/net and sysfs need no capability; dumping another
      // netns by nsid (IFLA_TARGET_NETNSID) needs CAP_NET_ADMIN over it. Runs after procs: it
      // uses the namespaces procs found.
      {.name = "links",
       .help = "network interfaces and their 64-bit counters, per netns (rtnetlink)",
       .enabled_by_default = true,
       .make = &links,
       .capabilities = caps(CAP_NET_ADMIN),
       .add_flags = nullptr,
       .validate = nullptr,
       .sections = sections(kLinks, kNetns),
       .metric_prefix = "hostflow_interface_",
       .docs_anchor = "interfaces-source-links-rtnetlink-rtm_getlink"},
      // Our own RTM_GETADDR needs no capability; other namespaces' (IFA_TARGET_NETNSID, the ones
      // links dumped) need CAP_NET_ADMIN over them. Runs after links.
      {.name = "addrs",
       .help = "interface addresses of the host and of workload namespaces (rtnetlink)",
       .enabled_by_default = true,
       .make = &addrs,
       .capabilities = caps(CAP_NET_ADMIN),
       .add_flags = nullptr,
       .validate = nullptr,
       .sections = sections(kAddrs),
       .metric_prefix = "hostflow_workload_",
       .docs_anchor =
           "conntrack-flows-outbound-behaviour-and-threat-contacts-sources-conntrack-addrs"},
      // nfnetlink refuses every ctnetlink request without CAP_NET_ADMIN.
      {.name = "conntrack",
       .help = "conntrack entries of the sampler's netns, IPv4 and IPv6 (ctnetlink)",
       .enabled_by_default = true,
       .make = &conntrack,
       .capabilities = caps(CAP_NET_ADMIN),
       .add_flags = &flags_of<&SourceOptions::conntrack>,
       .validate = nullptr,
       .sections = sections(kConntrack),
       .metric_prefix = "hostflow_conntrack_",
       .docs_anchor =
           "conntrack-flows-outbound-behaviour-and-threat-contacts-sources-conntrack-addrs"},
      // The read-only libvirt socket is world-accessible (unix_sock_ro_perms 0777 by default).
      {.name = "libvirt",
       .help = "libvirt domains, stats and XML over a read-only connection",
       .enabled_by_default = true,
       .make = &libvirt,
       .capabilities = caps(),
       .add_flags = &flags_of<&SourceOptions::libvirt>,
       .validate = &validate_of<&SourceOptions::libvirt>,
       .sections = sections(kDomains, kDomainParams),
       .metric_prefix = "hostflow_vm_",
       .docs_anchor = "virtual-machines-sources-procs-taps-libvirt"},
      // The Docker socket is root's (0660 root:docker): uid 0 needs no capability. Runs after
      // links: it inspects the networks whose br-<id> bridges links saw.
      {.name = "docker",
       .help = "Docker Engine API: containers and networks, raw JSON (unix socket)",
       .enabled_by_default = true,
       .make = &docker,
       .capabilities = caps(),
       .add_flags = &flags_of<&SourceOptions::docker>,
       .validate = &validate_of<&SourceOptions::docker>,
       .sections = sections(kDocker),
       .metric_prefix = "hostflow_docker_",
       .docs_anchor = "containers-sources-procs-links-docker"},
      // Loading the TC program (at start) needs CAP_BPF + CAP_NET_ADMIN (a networking program
      // type); attaching to new interfaces each cycle is rtnetlink tc requests (CAP_NET_ADMIN);
      // reading and pruning the maps through fds we hold needs none. Off by default: it adds a
      // filter to every selected interface (the shipped unit turns it on). Its flags are checked
      // by open(): a bad --bpf.interfaces fails this source, not the sampler. The metric area is
      // NetProbe's name for the same counters (hostflow_tc_*).
      {.name = "bpf",
       .help = "exact per-interface packets and bytes from a TC program (eBPF, clsact)",
       .enabled_by_default = false,
       .make = &bpf,
       .capabilities = caps(CAP_BPF, CAP_NET_ADMIN),
       .add_flags = &flags_of<&SourceOptions::bpf>,
       .validate = nullptr,
       .sections = sections(kBpfCounters, kBpfAttach),
       .metric_prefix = "hostflow_tc_",
       .docs_anchor = "ebpf-tc-counters-source-bpf---sourcebpf"},
      // PID 1's environ (container=) and an LXC init's /proc/<pid>/root are ptrace-mode
      // accesses; statfs of a mount point below a
      // directory only its owner may search (0700) needs CAP_DAC_READ_SEARCH.
      {.name = "platform",
       .help = "where the sampler runs (host, Proxmox, LXC guest, container) and the host's CPU, "
               "memory, filesystems and processes (/proc, statfs)",
       .enabled_by_default = true,
       .make = &platform,
       .capabilities = caps(CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH),
       .add_flags = &flags_of<&SourceOptions::platform>,
       .validate = &validate_of<&SourceOptions::platform>,
       .sections = sections(kPlatform, kPlatformFilesystems, kPlatformContainers),
       .metric_prefix = "hostflow_platform_",
       .docs_anchor = "platform-source-platform"},
  };
  return kSources;
}

}  // namespace hostflow::sampler
