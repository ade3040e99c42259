// A seccomp allowlist as data, and the one way both binaries install it (libseccomp).
//
// A Policy is a list of commented groups of rules; a rule allows one syscall, either with any
// arguments or only when one of its argument limits matches (`(arg & mask) == value`). Everything
// else takes the mode's default action: kill the process (production), log it and let it through
// (SCMP_ACT_LOG: the kernel writes an audit line, `dmesg | grep type=1326`), or trap it (a SIGSYS
// handler names the syscall on stderr with write(2) and exits 159: the debug mode that finds what
// a policy is missing). Any other architecture (x32, i386 on x86_64) is always killed.
//
// The policies themselves live in one file per binary: sampler/privilege/seccomp_policy.cc and
// exporter/privilege/seccomp_policy.cc. Used by both binaries and by tests/security.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"

namespace hostflow::seccomp {

enum class Mode { kKill, kLog, kTrap };
std::optional<Mode> parse_mode(std::string_view name);  // "kill", "log", "trap"
std::string_view mode_name(Mode m);

// The syscall is allowed when (argument `arg` & mask) == value. A rule may list the same syscall
// as another rule: libseccomp allows it when any of them matches.
struct ArgLimit {
  unsigned arg;
  std::uint64_t mask;
  std::uint64_t value;
  std::string_view label;  // what the value means, e.g. "AF_NETLINK"
};

struct Rule {
  std::string_view syscall;
  std::string_view why;          // empty when obvious
  std::vector<ArgLimit> any_of;  // empty: any arguments; else allowed when one limit matches
  int fail_with = 0;  // non-zero: not allowed, but fails with this errno instead of the default
                      // action (clone3 -> ENOSYS makes glibc use clone(2), whose flags we check)
  std::vector<ArgLimit> all_of = {};  // must all match as well (e.g. a dirfd), with any_of's one
};

struct Group {
  std::string_view title;  // "netlink", "files", ...
  std::vector<Rule> rules;
};

struct Policy {
  std::string name;                // "hostflow-sampler"
  std::vector<std::string> notes;  // printed at the top (build flavour, conditions)
  std::vector<Group> groups;
};

// The policy as text for auditors (--print-seccomp-policy): groups, rules, argument limits, the
// default and bad-architecture actions.
std::string format(const Policy& p, Mode m);

// What the ASan/UBSan runtimes need at run time, for both binaries' policies. Added only by
// builds with HOSTFLOW_SANITIZE (the policies #ifdef the call); never in a release binary.
Group sanitizer_runtime_group();

// Sets no_new_privs, then loads `p` for every thread of the process (TSYNC). Fails with a message
// naming the problem (an unknown syscall name, a kernel without seccomp); never half-installs.
Result<void> install(const Policy& p, Mode m);

// Checks `p` without loading it: every syscall name resolves on this architecture. Tests use it.
Result<void> validate(const Policy& p);

// Reads the Seccomp: and NoNewPrivs: lines of /proc/self/status (for the audit log line).
std::string self_status_summary();

}  // namespace hostflow::seccomp
