// The one table of sampler sources. A source is listed here and nowhere else: main.cc, the
// capability drop and the seccomp tests loop over it. Runs in hostflow-sampler.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>

#include "hostflow/common/result.h"
#include "hostflow/shm/layout.h"
#include "source.h"
#include "sources/context.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

// One row per source. `name` is the stem the source's file (sources/<name>.cc), its switch
// (--source.<name>), its own flags (--<name>.*) and its options (SourceOptions::<name>) share;
// the segment sections and the metric area it feeds are named below where they differ.
struct SourceEntry {
  std::string_view name;
  std::string_view help;  // of --source.<name>
  bool enabled_by_default;
  std::unique_ptr<Source> (*make)(SourceContext& ctx);
  // Capabilities the source needs *after* the drop, to collect (bit n = capability n of
  // <linux/capability.h>; build with caps()). The sampler keeps the union over the enabled
  // sources and nothing else; docs/security.md lists the same table for auditors.
  std::uint64_t capabilities;
  // Registers the source's own flags (--<name>.*) into `options`; null when it has none. Called
  // for every source, enabled or not, in the table's order.
  void (*add_flags)(CLI::App& app, SourceOptions& options);
  // Checks and converts what add_flags collected, once after parsing, for every source; the
  // error names the flag and is fatal. Null when there is nothing to check at startup.
  Result<void> (*validate)(SourceOptions& options);
  // The segment sections it writes (bit n = shm::SectionType n; build with sections()).
  std::uint64_t sections;
  // The metric area in docs/metrics.md its facts show up in (the exporter joins several
  // sources into some areas; every source also has hostflow_source_*{source="<name>"}).
  std::string_view metric_prefix;
  // The heading of that area in docs/metrics.md (GitHub anchor, without the '#').
  std::string_view docs_anchor;
};

// caps(CAP_NET_ADMIN, CAP_BPF) -> the bit set SourceEntry::capabilities wants.
template <class... Cap>
constexpr std::uint64_t caps(Cap... c) {
  return (std::uint64_t{0} | ... | (std::uint64_t{1} << c));
}

// sections(kLinks, kNetns) -> the bit set SourceEntry::sections wants.
template <class... Type>
constexpr std::uint64_t sections(Type... t) {
  static_assert((std::is_same_v<Type, shm::SectionType> && ...));
  return (std::uint64_t{0} | ... | (std::uint64_t{1} << static_cast<std::uint32_t>(t)));
}

std::span<const SourceEntry> source_table();

}  // namespace hostflow::sampler
