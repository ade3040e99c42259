#include "privilege/capabilities.h"

#include "hostflow/common/capabilities.h"
#include "hostflow/common/log.h"

namespace hostflow::exporter {

Result<void> drop_all_capabilities() {
  caps::log_sets("before", caps::current());
  caps::DropOptions o;
  o.keep = 0;
  o.require_empty_bounding = false;
  auto r = caps::drop_capabilities(o);
  if (!r.ok()) return Error{r.error().code, "capability drop: " + r.error().message()};
  if (!r->empty()) log::warn("capabilities", {{"warning", *r}});
  caps::log_sets("after", caps::current());
  return {};
}

}  // namespace hostflow::exporter
