// Capability sets of the calling process and the one way both binaries drop them (libcap-ng for
// the effective/permitted/inheritable sets, prctl for bounding, ambient and securebits).
//
// A set is a bit mask: bit n = capability n of <linux/capability.h>. drop_capabilities() leaves
// the process with exactly `keep` in its effective and permitted sets, nothing inheritable or
// ambient, an empty bounding set and locked securebits (noroot, no-setuid-fixup, keep-caps), so no
// execve or setuid can give anything back. Steps that are already in place (a systemd unit with
// CapabilityBoundingSet=, SecureBits=, Group=) are skipped, so a unit need not grant CAP_SETPCAP
// just for the drop. Used by hostflow-sampler and hostflow-exporter.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "hostflow/common/log.h"
#include "hostflow/common/result.h"

namespace hostflow::caps {

struct Sets {
  std::uint64_t effective = 0, permitted = 0, inheritable = 0, bounding = 0, ambient = 0;
  unsigned securebits = 0;
  uid_t ruid = 0, euid = 0;
  gid_t rgid = 0, egid = 0;
};

Sets current();
// "cap_net_admin,cap_bpf" or "none".
std::string names(std::uint64_t set);
// The /proc/PID/status spelling: 16 hex digits.
std::string hex(std::uint64_t set);
// One structured audit line: "capabilities" phase=before eff=... prm=... bnd=... amb=... uid=...
void log_sets(std::string_view phase, const Sets& s);

struct DropOptions {
  std::uint64_t keep = 0;                // effective + permitted after the drop
  gid_t group = static_cast<gid_t>(-1);  // become this gid (real, effective, saved), no
                                         // supplementary groups; -1: keep the gids
  std::optional<uid_t> user;             // switch to this uid, keeping `keep`
  // When the bounding set cannot be cleared (no CAP_SETPCAP, e.g. started as a plain user, or by
  // a unit whose CapabilityBoundingSet= names a source's capability that source then did not
  // use): true sets no_new_privs, which makes what is left inert, and says so in the returned
  // warning; false leaves it and only says so.
  bool require_empty_bounding = true;
};

// Returns a warning text (empty when everything was done) or an error naming the step that failed.
Result<std::string> drop_capabilities(const DropOptions& o);

}  // namespace hostflow::caps
