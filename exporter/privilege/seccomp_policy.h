// The exporter's seccomp allowlist. seccomp_policy.cc is the one file that owns it: every syscall
// hostflow-exporter may make once its listening socket is bound -- Boost.Asio's epoll loop and
// accept4, the poll thread that stats, opens (read-only) and maps (PROT_READ) the segment, logging
// and sleeping. Installed by main.cc after bind() and the capability drop; printed by
// --print-seccomp-policy; loaded unchanged by tests/security. Runs in hostflow-exporter.
#pragma once

#include "hostflow/common/seccomp.h"

namespace hostflow::exporter {

// With `state_dir_fd` >= 0 (--haproxy.log given), the policy also allows writing the HAProxy
// position file: creating/truncating a file write-only relative to that directory fd (never
// through a symlink), renaming within it, and fsync. Without it the exporter writes no file.
seccomp::Policy exporter_policy(int state_dir_fd = -1);

}  // namespace hostflow::exporter
