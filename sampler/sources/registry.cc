#include "sources/registry.h"

#include <linux/capability.h>

#include <CLI/CLI.hpp>

#include "hostflow/common/clock.h"
#include "sources/docker.h"
#include "sources/bpf.h"
#include "sources/addrs.h"
#include "sources/conntrack.h"
#include "sources/libvirt.h"
#include "sources/links.h"
#include "sources/procs.h"
#include "sources/taps.h"

namespace hostflow::sampler {
namespace {

std::unique_ptr<Source> links(SourceContext& c) {
  return make_links_source(c.proc_scan, c.host_bridges, c.netns_scan);
}
std::unique_ptr<Source> addrs(SourceContext& c) { return make_addrs_source(c.netns_scan); }
std::unique_ptr<Source> conntrack(SourceContext& c) {
  return make_conntrack_source(c.options.conntrack);
}
std::unique_ptr<Source> procs(SourceContext& c) { return make_procs_source(c.proc_scan); }
std::unique_ptr<Source> taps(SourceContext& c) { return make_taps_source(c.proc_scan); }
std::unique_ptr<Source> libvirt(SourceContext& c) { return make_libvirt_source(c.options.libvirt); }
std::unique_ptr<Source> docker(SourceContext& c) {
  return make_docker_source(c.options.docker, c.host_bridges);
}
std::unique_ptr<Source> bpf(SourceContext& c) { return make_bpf_source(c.options.bpf); }

// Duration flags are collected as text and converted in finish_source_flags().
struct DurationFlags {
  std::string libvirt_timeout = "2s";
  std::string libvirt_xml_refresh = "60s";
  std::string docker_timeout = "2s";
};
DurationFlags g_durations;

}  // namespace

std::span<const SourceEntry> source_table() {
  // Order matters: a source may use what an earlier one found this cycle (procs -> taps).
  static const SourceEntry kSources[] = {
      // stat() of another user's /proc/<pid>/ns/net is a ptrace-mode read check.
      {"procs", "processes: netns, cgroup, QEMU command lines (/proc)", true, &procs,
       caps(CAP_SYS_PTRACE)},
      // /proc/<pid>/fdinfo and fd readlink need ptrace-mode reads; listing another user's
      // /proc/<pid>/fd (mode 0500) needs CAP_DAC_READ_SEARCH.
      {"taps", "tap and macvtap devices held by QEMU processes (/proc/<pid>/fd, fdinfo)", true,
       &taps, caps(CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)},
      // Our own RTM_GETLINK dump, /proc/self/ns/net and sysfs need no capability; dumping another
      // netns by nsid (IFLA_TARGET_NETNSID) needs CAP_NET_ADMIN over it. Runs after procs: it
      // uses the namespaces procs found.
      {"links", "network interfaces and their 64-bit counters, per netns (rtnetlink)", true,
       &links, caps(CAP_NET_ADMIN)},
      // Our own RTM_GETADDR needs no capability; other namespaces' (IFA_TARGET_NETNSID, the ones
      // links dumped) need CAP_NET_ADMIN over them. Runs after links.
      {"addrs", "interface addresses of the host and of workload namespaces (rtnetlink)", true,
       &addrs, caps(CAP_NET_ADMIN)},
      // nfnetlink refuses every ctnetlink request without CAP_NET_ADMIN.
      {"conntrack", "conntrack entries of the sampler's netns, IPv4 and IPv6 (ctnetlink)", true,
       &conntrack, caps(CAP_NET_ADMIN)},
      // The read-only libvirt socket is world-accessible (unix_sock_ro_perms 0777 by default).
      {"libvirt", "libvirt domains, stats and XML over a read-only connection", true, &libvirt,
       caps()},
      // The Docker socket is root's (0660 root:docker): uid 0 needs no capability. Runs after
      // links: it inspects the networks whose br-<id> bridges links saw.
      {"docker", "Docker Engine API: containers and networks, raw JSON (unix socket)", true,
       &docker, caps()},
      // Loading the TC program (at start) needs CAP_BPF + CAP_NET_ADMIN (a networking program
      // type); attaching to new interfaces each cycle is rtnetlink tc requests (CAP_NET_ADMIN);
      // reading and pruning the maps through fds we hold needs none. Off by default: it adds a
      // filter to every selected interface (the shipped unit turns it on).
      {"bpf", "exact per-interface packets and bytes from a TC program (eBPF, clsact)", false,
       &bpf, caps(CAP_BPF, CAP_NET_ADMIN)},
  };
  return kSources;
}

void add_source_flags(CLI::App& app, SourceContext& ctx) {
  app.add_option("--libvirt.uri", ctx.options.libvirt.uri,
                 "libvirt connection URI (read-only), e.g. qemu:///system or "
                 "qemu+unix:///system?socket=/path/to/libvirt-sock")
      ->capture_default_str();
  app.add_option("--conntrack.max-entries", ctx.options.conntrack.max_entries,
                 "most conntrack entries published per cycle; the rest are counted as dropped")
      ->capture_default_str();
  app.add_option("--libvirt.timeout", g_durations.libvirt_timeout,
                 "longest a cycle waits for libvirt before marking the source failed")
      ->capture_default_str();
  app.add_option("--libvirt.xml-refresh", g_durations.libvirt_xml_refresh,
                 "re-fetch a running domain's XML this often (new or restarted domains at once)")
      ->capture_default_str();
  app.add_option("--docker.socket", ctx.options.docker.socket,
                 "Docker Engine API socket (default: <path.rootfs>/run/docker.sock, i.e. "
                 "/var/run/docker.sock on the host)");
  app.add_option("--docker.timeout", g_durations.docker_timeout,
                 "longest one cycle's Docker requests may take before the source is marked failed")
      ->capture_default_str();
  app.add_option("--bpf.interfaces", ctx.options.bpf.interfaces,
                 "interfaces the TC program attaches to: comma-separated shell patterns, "
                 "!pattern excludes (e.g. 'eth*,veth*,!lo')")
      ->capture_default_str();
  app.add_option("--bpf.array-ifindexes", ctx.options.bpf.array_ifindexes,
                 "ifindexes below this are counted in the per-CPU array (fast path); higher ones "
                 "in a per-CPU hash")
      ->capture_default_str();
}

Result<void> finish_source_flags(SourceContext& ctx) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto t = parse_duration(g_durations.libvirt_timeout);
  if (!t || *t < milliseconds(10))
    return Error{0, "--libvirt.timeout: want a duration like 2s (got " +
                             g_durations.libvirt_timeout + ")"};
  ctx.options.libvirt.budget = duration_cast<milliseconds>(*t);
  const auto x = parse_duration(g_durations.libvirt_xml_refresh);
  if (!x || *x < milliseconds(100))
    return Error{0, "--libvirt.xml-refresh: want a duration like 60s (got " +
                             g_durations.libvirt_xml_refresh + ")"};
  ctx.options.libvirt.xml_refresh = duration_cast<milliseconds>(*x);
  const auto d = parse_duration(g_durations.docker_timeout);
  if (!d || *d < milliseconds(10))
    return Error{0, "--docker.timeout: want a duration like 2s (got " +
                             g_durations.docker_timeout + ")"};
  ctx.options.docker.budget = duration_cast<milliseconds>(*d);
  return {};
}

}  // namespace hostflow::sampler
