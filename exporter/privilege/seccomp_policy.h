// The exporter's seccomp allowlist. seccomp_policy.cc is the one file that owns it: every syscall
// hostflow-exporter may make once its listening socket is bound -- Boost.Asio's epoll loop and
// accept4, the poll thread that stats, opens (read-only) and maps (PROT_READ) the segment, logging
// and sleeping. Installed by main.cc after bind() and the capability drop; printed by
// --print-seccomp-policy; loaded unchanged by tests/security. Runs in hostflow-exporter.
#pragma once

#include "hostflow/common/seccomp.h"

namespace hostflow::exporter {

// Rule groups that exist only when a feature that needs them is enabled.
struct ExporterPolicyOptions {
  bool feed_fetch = false;   // a threat list with a URL: TCP to the feed, DNS (libcurl, glibc)
  bool state_writes = false; // the feed cache (state dir) or the threat log: create, append, rename
  // >= 0 (--haproxy.log given): writing the HAProxy position file is allowed -- creating or
  // truncating a file write-only relative to this directory fd (never through a symlink),
  // renaming within it, and fsync.
  int haproxy_state_dir_fd = -1;
};

seccomp::Policy exporter_policy(ExporterPolicyOptions o = {});

}  // namespace hostflow::exporter
