#include "sources/registry.h"

#include "sources/links.h"

namespace hostflow::sampler {

std::span<const SourceEntry> source_table() {
  static const SourceEntry kSources[] = {
      // RTM_GETLINK dumps, /proc/self/ns/net and sysfs need no capability.
      {"links", "network interfaces and their 64-bit counters (rtnetlink)", true,
       &make_links_source, caps()},
  };
  return kSources;
}

}  // namespace hostflow::sampler
