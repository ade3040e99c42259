// The one table of sampler sources. A source is listed here and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "source.h"
#include "sources/context.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct SourceEntry {
  std::string_view name;  // also the flag stem: --source.<name>
  std::string_view help;
  bool enabled_by_default;
  std::unique_ptr<Source> (*make)(SourceContext& ctx);
  // Capabilities the source needs *after* the drop, to collect (bit n = capability n of
  // <linux/capability.h>; build with caps()). The sampler keeps the union over the enabled
  // sources and nothing else; docs/security.md lists the same table for auditors.
  std::uint64_t capabilities;
};

// caps(CAP_NET_ADMIN, CAP_BPF) -> the bit set SourceEntry::capabilities wants.
template <class... Cap>
constexpr std::uint64_t caps(Cap... c) {
  return (std::uint64_t{0} | ... | (std::uint64_t{1} << c));
}

std::span<const SourceEntry> source_table();

// Registers the sources' own options (--libvirt.uri, ...) into `ctx.options`.
void add_source_flags(CLI::App& app, SourceContext& ctx);
// Converts what add_source_flags collected (durations); an error names the flag.
Result<void> finish_source_flags(SourceContext& ctx);

}  // namespace hostflow::sampler
