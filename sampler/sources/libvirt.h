// libvirt: domains and their stats over a read-only libvirt connection (--libvirt.uri; any URI
// or socket path works, e.g. qemu+unix:///system?socket=/run/truenas_libvirt/libvirt-sock).
// One bulk virConnectGetAllDomainStats call per cycle (with NOWAIT, so a domain stuck in a job
// such as a migration does not block it), run on a worker thread with a time budget: a hung
// libvirtd makes the source "failed" for that cycle instead of stalling the sampler. Domain XML is
// fetched when a domain is new, restarted, or its copy is older than --libvirt.xml-refresh, and
// published as a bounded raw blob (parsed only by the exporter). libvirt down -> absent or
// failed; it reconnects by itself. Runs in hostflow-sampler.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "hostflow/common/result.h"
#include "source.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct LibvirtOptions {
  std::string uri = "qemu:///system";  // --libvirt.uri
  // --libvirt.timeout and --libvirt.xml-refresh as written; validate() converts them into
  // `budget` and `xml_refresh`.
  std::string timeout_flag = "2s";
  std::string xml_refresh_flag = "60s";
  std::chrono::milliseconds budget{2000};         // longest a cycle waits for libvirt
  std::chrono::milliseconds xml_refresh{60'000};  // re-fetch a domain's XML this often
  // --libvirt.interface-stats: ask for each vNIC's counters (VIR_DOMAIN_STATS_INTERFACE). libvirt
  // reads a tap's counters by scanning /proc/net/dev once per vNIC, so libvirtd's cost per cycle
  // grows with vNICs x host interfaces (bench/README.md: 357 ms per cycle at 100 guests on a
  // host with 2,106 interfaces).
  bool interface_stats = true;
  std::size_t max_xml_bytes = 256 * 1024;
  std::size_t max_params_per_domain = 4096;
  std::size_t max_domains = 4096;
};

// --libvirt.uri, --libvirt.timeout, --libvirt.xml-refresh and --[no-]libvirt.interface-stats,
// into `opts`.
void add_flags(CLI::App& app, LibvirtOptions& opts);
// Converts the duration flags (timeout at least 10ms, xml-refresh at least 100ms); the error
// names the flag. Run once after parsing, before any source is made.
Result<void> validate(LibvirtOptions& opts);

std::unique_ptr<Source> make_libvirt_source(LibvirtOptions opts);

}  // namespace hostflow::sampler
