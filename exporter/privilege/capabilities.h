// The exporter holds no capabilities: drop_all_capabilities() empties the effective, permitted,
// inheritable and ambient sets (always possible) and, when it can (started as root with
// --allow-root, or with CAP_SETPCAP), the bounding set and locks securebits. Started as a plain
// user with a full bounding set (setpriv without --bounding-set=-all), the bounding set cannot be
// emptied from inside: that is logged as a warning; the systemd unit starts it empty
// (CapabilityBoundingSet=). Logs the sets before and after. Runs in hostflow-exporter, once, after
// bind() and before the seccomp filter.
#pragma once

#include "hostflow/common/result.h"

namespace hostflow::exporter {

Result<void> drop_all_capabilities();

}  // namespace hostflow::exporter
