#include "privilege/capabilities.h"

#include <pwd.h>

#include "hostflow/common/capabilities.h"
#include "hostflow/common/log.h"
#include "sources/registry.h"

namespace hostflow::sampler {

std::uint64_t capabilities_needed(const std::function<bool(std::string_view)>& enabled) {
  std::uint64_t keep = 0;
  for (const SourceEntry& s : source_table()) {
    if (enabled(s.name)) keep |= s.capabilities;
  }
  return keep;
}

std::string capability_names(std::uint64_t set) {
  return caps::names(set);
}

Result<std::optional<uid_t>> lookup_user(const std::string& name) {
  if (name.empty()) return std::optional<uid_t>{};
  const passwd* pw = ::getpwnam(name.c_str());
  if (!pw) {
    return Error{0, "--user: no user named " + name +
                        " (create it, e.g. `useradd --system --no-create-home " + name + "`)"};
  }
  return std::optional<uid_t>{pw->pw_uid};
}

Result<void> drop_privileges(const PrivilegePlan& plan) {
  caps::log_sets("before", caps::current());
  caps::DropOptions o;
  o.keep = plan.keep;
  o.group = plan.group;
  o.user = plan.user;
  o.require_empty_bounding = true;
  auto r = caps::drop_capabilities(o);
  if (!r.ok()) return Error{r.error().code, "capability drop: " + r.error().message()};
  if (!r->empty()) log::warn("capabilities", {{"warning", *r}});
  caps::log_sets("after", caps::current());
  return {};
}

}  // namespace hostflow::sampler
