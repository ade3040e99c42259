#include "sources/registry.h"

#include <linux/capability.h>

#include <CLI/CLI.hpp>

#include "hostflow/common/clock.h"
#include "sources/addrs.h"
#include "sources/conntrack.h"
#include "sources/libvirt.h"
#include "sources/links.h"
#include "sources/procs.h"
#include "sources/taps.h"

namespace hostflow::sampler {
namespace {

std::unique_ptr<Source> links(SourceContext& c) {
  return make_links_source(c.proc_scan, c.netns_scan);
}
std::unique_ptr<Source> addrs(SourceContext& c) { return make_addrs_source(c.netns_scan); }
std::unique_ptr<Source> conntrack(SourceContext& c) {
  return make_conntrack_source(c.options.conntrack);
}
std::unique_ptr<Source> procs(SourceContext& c) { return make_procs_source(c.proc_scan); }
std::unique_ptr<Source> taps(SourceContext& c) { return make_taps_source(c.proc_scan); }
std::unique_ptr<Source> libvirt(SourceContext& c) { return make_libvirt_source(c.options.libvirt); }

// Duration flags are collected as text and converted in finish_source_flags().
struct DurationFlags {
  std::string libvirt_timeout = "2s";
  std::string libvirt_xml_refresh = "60s";
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
  return {};
}

}  // namespace hostflow::sampler
