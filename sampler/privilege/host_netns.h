// Entering the host's network namespace when the sampler runs in a container with the host's
// /proc mounted at --path.procfs (not /proc): the sampler moves into the network namespace of
// that procfs's PID 1 -- the host's -- before any netlink socket exists, so rtnetlink describes
// the host and never the container's own interfaces. Needs CAP_SYS_ADMIN (a privileged
// container has it; it is dropped with everything else afterwards). Runs in hostflow-sampler,
// once, before the sources are opened.
#pragma once

#include <string>

#include "hostflow/common/result.h"

namespace hostflow::sampler {

// setns() into the network namespace of <procfs>/1; false when the sampler is already there.
Result<bool> enter_host_netns(const std::string& procfs);

}  // namespace hostflow::sampler
