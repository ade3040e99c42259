// The exporter's seccomp allowlist. seccomp_policy.cc is the one file that owns it: every syscall
// hostflow-exporter may make once its listening socket is bound -- Boost.Asio's epoll loop and
// accept4, the poll thread that stats, opens (read-only) and maps (PROT_READ) the segment, logging
// and sleeping. Installed by main.cc after bind() and the capability drop; printed by
// --print-seccomp-policy; loaded unchanged by tests/security. Runs in hostflow-exporter.
#pragma once

#include "hostflow/common/seccomp.h"
#include "privilege/policy_needs.h"

namespace hostflow::exporter {

// Rule groups that exist only when a feature that needs them is enabled.
seccomp::Policy exporter_policy(ExporterPolicyOptions o = {});

}  // namespace hostflow::exporter
