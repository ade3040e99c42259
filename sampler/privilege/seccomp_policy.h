// The sampler's seccomp allowlist. seccomp_policy.cc is the one file that owns it: every syscall
// hostflow-sampler may make after startup, grouped, with argument limits as data tables. Installed
// by main.cc after the capability drop; printed by --print-seccomp-policy; loaded unchanged by
// tests/security. Runs in hostflow-sampler.
#pragma once

#include <cstdint>

#include "hostflow/common/seccomp.h"

namespace hostflow::sampler {

// The allowlist for a sampler that keeps `kept_caps` (bit n = capability n): groups that only a
// privileged source needs (bpf map reads with CAP_BPF) are present only when such a source is on,
// and the libvirt client's syscalls (a unix socket to libvirtd) only with `libvirt` enabled;
// statfs(2) only with the platform source.
seccomp::Policy sampler_policy(std::uint64_t kept_caps, bool libvirt = false, bool docker = false,
                               bool platform = false);

}  // namespace hostflow::sampler
