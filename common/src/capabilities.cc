#include "hostflow/common/capabilities.h"

#include <cap-ng.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace hostflow::caps {
namespace {

// capng_lock()'s bits: root gets no capabilities from execve, setuid() does not touch
// capabilities, and neither can be changed back.
constexpr unsigned kLockedBits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;

bool has(std::uint64_t set, int cap) {
  return (set >> cap) & 1u;
}

int last_cap() {
  int n = 0;
  while (n < 63 && ::prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) n++;
  return n;
}

}  // namespace

Sets current() {
  Sets s;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) == 0) {  // glibc has no wrapper
    s.effective = data[0].effective | (std::uint64_t{data[1].effective} << 32);
    s.permitted = data[0].permitted | (std::uint64_t{data[1].permitted} << 32);
    s.inheritable = data[0].inheritable | (std::uint64_t{data[1].inheritable} << 32);
  }
  const int last = last_cap();
  for (int c = 0; c <= last; c++) {
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) s.bounding |= std::uint64_t{1} << c;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
      s.ambient |= std::uint64_t{1} << c;
  }
  const int bits = ::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  s.securebits = bits < 0 ? 0 : static_cast<unsigned>(bits);
  s.ruid = ::getuid();
  s.euid = ::geteuid();
  s.rgid = ::getgid();
  s.egid = ::getegid();
  return s;
}

std::string names(std::uint64_t set) {
  std::string out;
  for (int c = 0; c < 64; c++) {
    if (!has(set, c)) continue;
    if (!out.empty()) out += ',';
    const char* n = capng_capability_to_name(static_cast<unsigned>(c));
    out += n ? "cap_" + std::string(n) : "cap_" + std::to_string(c);
  }
  return out.empty() ? "none" : out;
}

std::string hex(std::uint64_t set) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(set));
  return buf;
}

void log_sets(std::string_view phase, const Sets& s) {
  log::info("capabilities", {{"phase", std::string(phase)},
                             {"eff", hex(s.effective)},
                             {"prm", hex(s.permitted)},
                             {"inh", hex(s.inheritable)},
                             {"bnd", hex(s.bounding)},
                             {"amb", hex(s.ambient)},
                             {"securebits", std::to_string(s.securebits)},
                             {"uid", std::to_string(s.euid)},
                             {"gid", std::to_string(s.egid)},
                             {"eff_names", names(s.effective)}});
}

Result<std::string> drop_capabilities(const DropOptions& o) {
  const Sets before = current();
  std::string warning;
  const bool setpcap = has(before.effective, CAP_SETPCAP);
  if ((o.keep & before.permitted) != o.keep)
    return Error{EPERM, "the enabled sources need " + names(o.keep & ~before.permitted) +
                            ", which this process does not have (start it as root, or give the "
                            "unit these capabilities)"};

  // 1. Bounding set: down to what we keep. Needs CAP_SETPCAP unless it is already there.
  if ((before.bounding & ~o.keep) != 0) {
    if (setpcap) {
      for (int c = 0; c < 64; c++) {
        if (has(before.bounding, c) && !has(o.keep, c) && ::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
          return Error::from_errno("dropping cap_" + std::to_string(c) + " from the bounding set");
      }
    } else if (o.require_empty_bounding) {
      // It cannot shrink without CAP_SETPCAP (a unit's CapabilityBoundingSet= granted a source
      // that then could not open, e.g. bpf on a kernel without it). What is left is inert once
      // no_new_privs is set: no execve gains a capability beyond the permitted set then, and
      // the permitted set only shrinks below.
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return Error::from_errno(
            "setting no_new_privs (the bounding set cannot be cleared "
            "without CAP_SETPCAP)");
      warning = "capability bounding set keeps " + names(before.bounding & ~o.keep) +
                ", which no enabled source uses (no CAP_SETPCAP to clear it): inert under "
                "no_new_privs, which is now set";
    } else {
      warning = "capability bounding set not empty (" + names(before.bounding) +
                ") and no CAP_SETPCAP to clear it: start with an empty bounding set "
                "(systemd CapabilityBoundingSet=, setpriv --bounding-set=-all)";
    }
  }
  // 2. Securebits: no capabilities from execve as root or from setuid, locked.
  if ((before.securebits & kLockedBits) != kLockedBits) {
    if (setpcap) {
      if (::prctl(PR_SET_SECUREBITS, before.securebits | kLockedBits, 0, 0, 0) != 0)
        return Error::from_errno("locking securebits");
    } else if (o.require_empty_bounding) {
      return Error{EPERM,
                   "cannot lock securebits without CAP_SETPCAP (set SecureBits= in the unit)"};
    } else if (warning.empty()) {
      warning = "securebits not locked (no CAP_SETPCAP)";
    }
  }
  // 3. Group: the segment group as our only group, so files we create get it without CAP_CHOWN.
  if (o.group != static_cast<gid_t>(-1)) {
    gid_t r = 0, e = 0, sv = 0;
    ::getresgid(&r, &e, &sv);
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    const int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
    bool done = r == o.group && e == o.group && sv == o.group && n >= 0;
    for (int i = 0; done && i < n; i++) done = groups[static_cast<std::size_t>(i)] == o.group;
    if (!done) {
      if (::setgroups(0, nullptr) != 0) return Error::from_errno("setgroups (needs CAP_SETGID)");
      if (::setresgid(o.group, o.group, o.group) != 0)
        return Error::from_errno("setresgid " + std::to_string(o.group) + " (needs CAP_SETGID)");
    }
  }
  // 4. User: securebits keep our capabilities across the uid change.
  if (o.user) {
    uid_t r = 0, e = 0, sv = 0;
    ::getresuid(&r, &e, &sv);
    if (r != *o.user || e != *o.user || sv != *o.user) {
      if (::setgroups(0, nullptr) != 0 && errno != EPERM) return Error::from_errno("setgroups");
      if (::setresuid(*o.user, *o.user, *o.user) != 0)
        return Error::from_errno("setresuid " + std::to_string(*o.user) + " (needs CAP_SETUID)");
    }
  }
  // 5. Ambient, then effective/permitted/inheritable: exactly `keep`.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return Error::from_errno("clearing ambient capabilities");
  // Already exactly `keep` (a unit that starts us that way): no capset, which a unit's
  // SystemCallFilter=~@privileged would refuse.
  const Sets mid = current();
  const bool done = mid.effective == o.keep && mid.permitted == o.keep && mid.inheritable == 0;
  if (!done) capng_clear(CAPNG_SELECT_CAPS);
  for (int c = 0; c < 64 && !done; c++) {
    if (has(o.keep, c) &&
        capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                     static_cast<unsigned>(c)) != 0)
      return Error{EINVAL, "libcap-ng: cannot keep cap_" + std::to_string(c)};
  }
  if (int rc = done ? 0 : capng_apply(CAPNG_SELECT_CAPS); rc != 0)
    return Error{errno, "libcap-ng: applying the capability sets (rc " + std::to_string(rc) + ")"};

  // 6. Check what the kernel says, not what we asked for.
  const Sets after = current();
  if (after.effective != o.keep || after.permitted != o.keep || after.inheritable != 0 ||
      after.ambient != 0)
    return Error{0, "capability drop did not take: eff=" + hex(after.effective) +
                        " prm=" + hex(after.permitted) + " amb=" + hex(after.ambient) +
                        " (wanted " + hex(o.keep) + ")"};
  // What is left in the bounding set must be inert: no_new_privs (step 1 set it).
  if ((after.bounding & ~o.keep) != 0 && o.require_empty_bounding &&
      ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
    return Error{0, "bounding set still holds " + names(after.bounding & ~o.keep) +
                        " and no_new_privs is not set"};
  return warning;
}

}  // namespace hostflow::caps
