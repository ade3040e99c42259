#include "hostflow/common/seccomp.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace hostflow::seccomp {
namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// Trap mode: names resolved before the filter is loaded, so the handler only reads memory.
constexpr int kMaxSyscall = 1024;
const char* g_names[kMaxSyscall] = {};
const char* g_policy_name = "hostflow";

void put(const char* s) {
  const std::size_t n = std::strlen(s);
  if (::write(STDERR_FILENO, s, n) < 0) {
  }
}

void put_number(long v) {
  char buf[24];
  char* p = buf + sizeof buf;
  *--p = '\0';
  const bool neg = v < 0;
  unsigned long u = neg ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (neg) *--p = '-';
  put(p);
}

// SIGSYS in trap mode: async-signal-safe (write, _exit) only.
void on_sigsys(int, siginfo_t* info, void*) {
  const int nr = info->si_syscall;
  put("seccomp: ");
  put(g_policy_name);
  put(" made syscall ");
  put_number(nr);
  if (nr >= 0 && nr < kMaxSyscall && g_names[nr]) {
    put(" (");
    put(g_names[nr]);
    put(")");
  }
  put(" which its policy does not allow (arch 0x");
  static const char kHex[] = "0123456789abcdef";
  char arch[9];
  for (int i = 0; i < 8; i++) arch[i] = kHex[(info->si_arch >> (28 - 4 * i)) & 0xf];
  arch[8] = '\0';
  put(arch);
  put("); add it to the policy file if it is needed, with a comment saying why\n");
  _exit(128 + SIGSYS);
}

Result<void> install_trap_handler(const Policy& p) {
  for (int nr = 0; nr < kMaxSyscall; nr++) {
    if (!g_names[nr]) g_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  }
  static std::string name;
  name = p.name;
  g_policy_name = name.c_str();
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return Error::from_errno("sigaction SIGSYS");
  return {};
}

std::uint32_t default_action(Mode m) {
  switch (m) {
    case Mode::kKill:
      return SCMP_ACT_KILL_PROCESS;
    case Mode::kLog:
      return SCMP_ACT_LOG;
    case Mode::kTrap:
      return SCMP_ACT_TRAP;
  }
  return SCMP_ACT_KILL_PROCESS;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::optional<Mode> parse_mode(std::string_view name) {
  if (name == "kill") return Mode::kKill;
  if (name == "log") return Mode::kLog;
  if (name == "trap") return Mode::kTrap;
  return std::nullopt;
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kKill:
      return "kill";
    case Mode::kLog:
      return "log";
    case Mode::kTrap:
      return "trap";
  }
  return "?";
}

Result<void> validate(const Policy& p) {
  for (const Group& g : p.groups) {
    for (const Rule& r : g.rules) {
      const std::string name(r.syscall);
      if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR)
        return Error{0, p.name + " seccomp policy: unknown syscall \"" + name + "\" (group " +
                            std::string(g.title) + ")"};
      for (const ArgLimit& a : r.all_of) {
        if (a.arg > 5)
          return Error{0, p.name + " seccomp policy: " + name + ": argument index out of range"};
      }
      for (const ArgLimit& a : r.any_of) {
        if (a.arg > 5)
          return Error{0, p.name + " seccomp policy: " + name + ": argument index out of range"};
      }
    }
  }
  return {};
}

Result<void> install(const Policy& p, Mode m) {
  if (auto v = validate(p); !v.ok()) return v;
  Ctx ctx(seccomp_init(default_action(m)));
  if (!ctx) return Error{0, "seccomp_init failed (is seccomp built into the kernel?)"};
  auto attr = [&](scmp_filter_attr a, std::uint32_t v, const char* what) -> Result<void> {
    if (int rc = seccomp_attr_set(ctx.get(), a, v); rc < 0)
      return Error{-rc, std::string("seccomp attribute ") + what};
    return {};
  };
  if (auto r = attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad-arch action"); !r.ok())
    return r;
  if (auto r = attr(SCMP_FLTATR_CTL_NNP, 1, "no_new_privs"); !r.ok()) return r;
  if (auto r = attr(SCMP_FLTATR_CTL_TSYNC, 1, "thread sync"); !r.ok()) return r;
  for (const Group& g : p.groups) {
    for (const Rule& r : g.rules) {
      const std::string name(r.syscall);
      const int nr = seccomp_syscall_resolve_name(name.c_str());
      int rc = 0;
      if (r.fail_with != 0) {
        rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(static_cast<std::uint32_t>(r.fail_with)),
                              nr, 0);
      } else if (r.any_of.empty() && r.all_of.empty()) {
        rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0);
      } else {
        // One filter rule per any_of limit (or one without), each also requiring all of all_of.
        std::vector<scmp_arg_cmp> cmps;
        for (const ArgLimit& a : r.all_of)
          cmps.push_back(SCMP_CMP(a.arg, SCMP_CMP_MASKED_EQ, a.mask, a.value));
        const std::size_t fixed = cmps.size();
        const std::size_t n = r.any_of.empty() ? 1 : r.any_of.size();
        for (std::size_t i = 0; i < n && rc >= 0; i++) {
          cmps.resize(fixed);
          if (!r.any_of.empty()) {
            const ArgLimit& a = r.any_of[i];
            cmps.push_back(SCMP_CMP(a.arg, SCMP_CMP_MASKED_EQ, a.mask, a.value));
          }
          rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ALLOW, nr,
                                      static_cast<unsigned>(cmps.size()), cmps.data());
        }
      }
      if (rc < 0) return Error{-rc, "seccomp rule for " + name};
    }
  }
  if (m == Mode::kTrap) {
    if (auto r = install_trap_handler(p); !r.ok()) return r;
  }
  // The filter needs no_new_privs (or CAP_SYS_ADMIN); set it ourselves so the order is explicit.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::from_errno("no_new_privs");
  if (int rc = seccomp_load(ctx.get()); rc < 0) return Error{-rc, "loading the seccomp filter"};
  return {};
}

std::string format(const Policy& p, Mode m) {
  std::ostringstream o;
  const scmp_version* v = seccomp_version();
  o << "# seccomp allowlist of " << p.name << " (libseccomp " << v->major << '.' << v->minor << '.'
    << v->micro << ")\n";
  o << "# no_new_privs: set before loading; filter applies to every thread (TSYNC)\n";
  o << "# syscall not listed: "
    << (m == Mode::kKill  ? "kill the process (SIGSYS)"
        : m == Mode::kLog ? "allow and log (audit type=1326, see dmesg)"
                          : "trap: name the syscall on stderr and exit 159")
    << "  [--seccomp=" << mode_name(m) << "]\n";
  o << "# other architectures (x32, i386): kill the process\n";
  o << "# an argument limit allows the call when (arg & mask) == value; several limits: any one\n";
  for (const std::string& n : p.notes) o << "# " << n << "\n";
  for (const Group& g : p.groups) {
    o << "\n// " << g.title << "\n";
    for (const Rule& r : g.rules) {
      std::string line =
          (r.fail_with != 0 ? "fail with " + std::string(strerrorname_np(r.fail_with)) + ": "
                            : std::string("allow ")) +
          std::string(r.syscall);
      if (!r.why.empty()) {
        if (line.size() < 28) line.resize(28, ' ');
        line += "  // " + std::string(r.why);
      }
      o << line << "\n";
      for (const ArgLimit& a : r.any_of) {
        o << "    if (arg" << a.arg << " & " << hex(a.mask) << ") == " << hex(a.value) << "  "
          << a.label << "\n";
      }
      for (const ArgLimit& a : r.all_of) {
        o << "    and always (arg" << a.arg << " & " << hex(a.mask) << ") == " << hex(a.value)
          << "  " << a.label << "\n";
      }
    }
  }
  return o.str();
}

std::string self_status_summary() {
  std::ifstream in("/proc/self/status");
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.rfind("Seccomp:", 0) == 0 || line.rfind("NoNewPrivs:", 0) == 0) {
      std::string k = line.substr(0, line.find(':'));
      std::string v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      if (!out.empty()) out += ' ';
      out += k + '=' + v;
    }
  }
  return out;
}

Group sanitizer_runtime_group() {
  return Group{"sanitizer runtime (HOSTFLOW_SANITIZE builds only)",
               {
                   // ASan/UBSan at run time. LeakSanitizer is off in the binaries (main.cc): its
                   // exit-time check ptraces the process from a cloned task, which no allowlist
                   // should permit; the unit tests keep leak checking.
                   Rule{"pipe2", "IsAccessibleMemoryRange probes memory through a pipe", {}},
                   Rule{"sched_getaffinity", "the runtime sizes its allocator caches", {}},
                   Rule{"sigaltstack", "its SEGV/SIGSYS reports run on an alternate stack", {}},
                   Rule{"rt_sigaction", "installs its deadly-signal handlers", {}},
                   Rule{"rt_sigprocmask", "", {}},
                   Rule{"getpid", "", {}},
                   Rule{"gettid", "", {}},
                   Rule{"readlinkat", "/proc/self/exe for symbolizing reports", {}},
                   Rule{"getdents64", "", {}},
               }};
}

}  // namespace hostflow::seccomp
