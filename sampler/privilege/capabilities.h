// The sampler's capability drop. After every source, socket, map and the first segment are open,
// hostflow-sampler keeps only the capabilities its *enabled* sources need (the capabilities
// column of sources/registry.cc, summarised in docs/security.md), empties the rest of the bounding
// set, locks securebits, takes the segment group as its only group (so the files it creates later
// get that group without CAP_CHOWN) and optionally switches to a dedicated uid keeping those
// capabilities. It logs the sets before and after as "capabilities" audit lines.
// Runs in hostflow-sampler, once, before the seccomp filter.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"

namespace hostflow::sampler {

// The union of the capabilities of the enabled sources.
std::uint64_t capabilities_needed(const std::function<bool(std::string_view source)>& enabled);

struct PrivilegePlan {
  std::uint64_t keep = 0;
  gid_t group = static_cast<gid_t>(-1);  // the segment group, -1 = keep our gids
  std::optional<uid_t> user;             // --user: switch to this uid keeping `keep`
};

// "cap_net_admin,cap_bpf" or "none".
std::string capability_names(std::uint64_t set);

// Resolves --user (empty = stay root) before anything is dropped.
Result<std::optional<uid_t>> lookup_user(const std::string& name);

// Drops to `plan`; logs before/after. Fails with one line saying what is missing.
Result<void> drop_privileges(const PrivilegePlan& plan);

}  // namespace hostflow::sampler
