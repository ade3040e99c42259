// hostflow-exporter's seccomp allowlist: the only place it is written down.
//
// Installed after the listening socket is bound and every capability is gone. What is left:
// accept and serve HTTP connections (Boost.Asio: epoll, eventfd, timerfd, accept4), run the
// poll and signal threads, read the segment (stat, open O_RDONLY, mmap PROT_READ, munmap, fstat),
// log, sleep; with --haproxy.log, read the HAProxy logs (read-only, stat/fstat for rotation) and
// write one file, the position checkpoint, in the state directory (see haproxy_rules below). It
// cannot create a socket, open or create a file for writing anywhere else (by flags; the path
// itself is not visible to seccomp, the unit's ProtectSystem=strict and AppArmor bound that), map
// memory executable, execve or fork. Anything else kills the process (--seccomp=trap names the
// syscall while developing).
#include "privilege/seccomp_policy.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <span>

namespace hostflow::exporter {
namespace {

using seccomp::ArgLimit;
using seccomp::Group;
using seccomp::Rule;

struct Value {
  std::uint64_t value;
  std::string_view label;
};

// Argument tables. Adding a value here is a policy change: say what needs it and why.

// ioctl(2) requests (arg1): Asio switches accepted sockets to non-blocking with FIONBIO; stdio
// asks whether stdout is a terminal (--version output happens before the filter, kept for logs).
constexpr Value kIoctlRequests[] = {
    {FIONBIO, "FIONBIO"},
    {TCGETS, "TCGETS"},
};

std::vector<ArgLimit> limits(unsigned arg, std::uint64_t mask, std::span<const Value> values) {
  std::vector<ArgLimit> out;
  for (const Value& v : values) out.push_back(ArgLimit{arg, mask, v.value, v.label});
  return out;
}

// mmap/mprotect prot (arg2): never PROT_EXEC.
const std::vector<ArgLimit> kNoExec = {{2, PROT_EXEC, 0, "no PROT_EXEC"}};

// openat flags (arg2): read-only, never creating or truncating: the segment and procfs.
const std::vector<ArgLimit> kReadOnly = {
    {2, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY, "O_RDONLY, no O_CREAT/O_TRUNC"},
};

// clone(2) flags (arg0): threads only (std::thread), never a new process.
const std::vector<ArgLimit> kThreadsOnly = {
    {0, CLONE_THREAD | CLONE_VM, CLONE_THREAD | CLONE_VM, "CLONE_THREAD|CLONE_VM"},
};

// The HAProxy position file (exporter/features/haproxy_tail.cc write_checkpoint): openat(dirfd,
// "NAME.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW|O_CLOEXEC, 0600), write, fsync, close,
// renameat(dirfd, "NAME.tmp", dirfd, "NAME"), fsync(dirfd). dirfd is the state directory, opened
// before the filter; the flags must be exactly these (no O_APPEND, O_RDWR, O_DIRECTORY, no
// following a symlink).
Group haproxy_rules(int dirfd) {
  const auto fd = static_cast<std::uint64_t>(dirfd);
  constexpr std::uint64_t kFlagMask =
      O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL | O_NOFOLLOW | O_DIRECTORY | O_PATH;
  return Group{"HAProxy position file (only with --haproxy.log)",
               {
                   Rule{"fsync", "the checkpoint file, then its directory", {}},
                   Rule{"openat",
                        "create the checkpoint's temp file in the state directory",
                        {{2, kFlagMask, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
                          "O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW"}},
                        0,
                        {{0, 0xffffffffu, fd, "dirfd = the state directory"}}},
                   Rule{"renameat",
                        "temp file over the checkpoint, both in the state directory",
                        {},
                        0,
                        {{0, 0xffffffffu, fd, "olddirfd = the state directory"},
                         {2, 0xffffffffu, fd, "newdirfd = the state directory"}}},
               }};
}

// --output.textfile (exporter/outputs/textfile.cc write_now): openat(dirfd, ".NAME.tmp",
// O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode), fchmod to the configured mode (the umask
// narrowed it), write, fsync, close, renameat(dirfd, tmp, dirfd, NAME), fsync(dirfd); unlinkat of
// the temporary file after a failure or one left by a killed write. dirfd is the text file's
// directory, opened before the filter; a brand-new file only (never O_TRUNC, O_APPEND, O_RDWR,
// never through a symlink).
Group textfile_rules(int dirfd) {
  const auto fd = static_cast<std::uint64_t>(dirfd);
  constexpr std::uint64_t kFlagMask =
      O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL | O_NOFOLLOW | O_DIRECTORY | O_PATH;
  return Group{
      "text file output (only with --output.textfile)",
      {
          Rule{"fchmod", "the new file gets --output.textfile.mode exactly", {}},
          Rule{"fsync", "the new file, then its directory, before and after the rename", {}},
          Rule{"openat",
               "create the text file's temporary file in its directory",
               {{2, kFlagMask, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                 "O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW"}},
               0,
               {{0, 0xffffffffu, fd, "dirfd = the text file's directory"}}},
          Rule{"renameat",
               "the temporary file over the text file, both in its directory",
               {},
               0,
               {{0, 0xffffffffu, fd, "olddirfd = the text file's directory"},
                {2, 0xffffffffu, fd, "newdirfd = the text file's directory"}}},
          Rule{"unlinkat",
               "the temporary file after a failed write, or one a killed write left",
               {},
               0,
               {{0, 0xffffffffu, fd, "dirfd = the text file's directory"}}},
      }};
}

// POST /collect (http/admin.cc WakeWriter::wake): openat(dirfd, "<segment>.wake",
// O_WRONLY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC), fstat, write one byte, close (fstat, write and close
// are allowed above). dirfd is the segment's directory, opened O_PATH before the filter. Write-only
// and never creating, truncating or appending: in that directory only the sampler's wake FIFO is
// writable by the exporter's group (the unit's 0750 root:hostflow and the FIFO's 0620), and
// O_NONBLOCK means a missing reader or a full pipe is an error, never a wait.
Group wake_rules(int dirfd) {
  constexpr std::uint64_t kFlagMask = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | O_EXCL |
                                      O_NOFOLLOW | O_DIRECTORY | O_PATH | O_NONBLOCK;
  return Group{"sampler wake channel (only with --web.enable-admin-api: POST /collect)",
               {
                   Rule{"openat",
                        "open the sampler's wake FIFO write-only, non-blocking",
                        {{2, kFlagMask, O_WRONLY | O_NONBLOCK | O_NOFOLLOW,
                          "O_WRONLY|O_NONBLOCK|O_NOFOLLOW"}},
                        0,
                        {{0, 0xffffffffu, static_cast<std::uint64_t>(dirfd),
                          "dirfd = the segment's directory"}}},
               }};
}

// socket(2) domains (arg0) for the threat feeds only: TCP to the feed over IPv4/IPv6, UDP to the
// resolver; AF_UNIX because glibc's getaddrinfo probes the nscd socket (and libcurl's threaded
// resolver wakes the transfer through a socketpair).
constexpr Value kFeedSocketDomains[] = {
    {AF_INET, "AF_INET"},
    {AF_INET6, "AF_INET6"},
    {AF_UNIX, "AF_UNIX"},
};
constexpr Value kFeedSocketpairDomains[] = {
    {AF_UNIX, "AF_UNIX"},
};

// openat flags (arg2) for state writes: a brand-new temporary file (O_CREAT|O_EXCL|O_NOFOLLOW,
// then renamed over the cache), or the threat log opened for appending (O_APPEND|O_CREAT). Never
// O_TRUNC, never O_RDWR.
constexpr std::uint64_t kWriteMask = O_ACCMODE | O_CREAT | O_EXCL | O_NOFOLLOW | O_TRUNC | O_APPEND;
const std::vector<ArgLimit> kStateOpen = {
    {2, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY, "O_RDONLY, no O_CREAT/O_TRUNC"},
    {2, kWriteMask, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, "O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW"},
    {2, kWriteMask, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
     "O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW"},
};

}  // namespace

seccomp::Policy exporter_policy(ExporterPolicyOptions o) {
  seccomp::Policy p;
  p.name = "hostflow-exporter";
  p.groups = {
      Group{"process and threads",
            {
                Rule{"clock_gettime", "when the vDSO is not used", {}},
                Rule{"clock_nanosleep", "the poll thread's interval", {}},
                Rule{"clone", "std::thread: the poll and signal threads", kThreadsOnly},
                Rule{"clone3", "its flags sit in memory the filter cannot read", {}, ENOSYS},
                Rule{"exit", "", {}},
                Rule{"exit_group", "", {}},
                Rule{"futex", "mutexes, condition variables, thread joins", {}},
                Rule{"geteuid", "the start-up log line names our uid", {}},
                Rule{"getpid", "", {}},
                Rule{"gettid", "", {}},
                Rule{"restart_syscall", "", {}},
                Rule{"rseq", "glibc registers every new thread", {}},
                Rule{"rt_sigaction",
                     "glibc's first pthread_create installs its internal handlers",
                     {{0, 0xffffffffu, 32, "SIGCANCEL (SIGRTMIN)"},
                      {0, 0xffffffffu, 33, "SIGSETXID (SIGRTMIN+1)"},
                      {0, 0xffffffffu, SIGBUS,
                       "SIGBUS: the segment reader's handler restores the default for a SIGBUS "
                       "that is not a truncated segment (snapshot/segment_reader.cc)"}}},
                Rule{"rt_sigprocmask", "threads start with SIGTERM/SIGINT blocked", {}},
                Rule{"rt_sigreturn", "", {}},
                Rule{"rt_sigtimedwait", "sigwait() in the signal thread", {}},
                Rule{"sched_yield",
                     "the seqlock reader backs off while the sampler writes that slot "
                     "(shm-schema seqlock.cc; rare, under load)",
                     {}},
                Rule{"set_robust_list", "glibc sets it for every new thread", {}},
                Rule{"tgkill", "main wakes the signal thread at exit (pthread_kill)", {}},
            }},
      Group{"memory",
            {
                Rule{"brk", "", {}},
                Rule{"madvise", "malloc and thread stacks returning memory", {}},
                Rule{"mmap", "malloc, thread stacks, the segment (PROT_READ)", kNoExec},
                Rule{"mprotect", "thread stack guard pages", kNoExec},
                Rule{"mremap", "realloc of large buffers", {}},
                Rule{"munmap", "", {}},
            }},
      Group{"HTTP (Boost.Asio on an already bound socket)",
            {
                Rule{"accept", "Asio accepts with accept(2), then sets O_NONBLOCK", {}},
                Rule{"close", "", {}},
                Rule{"epoll_ctl", "", {}},
                Rule{"epoll_wait", "", {}},
                Rule{"fcntl", "Asio queries and sets O_NONBLOCK", {}},
                Rule{"getpeername", "remote address for logs", {}},
                Rule{"getsockname", "", {}},
                Rule{"ioctl", "see kIoctlRequests", limits(1, 0xffffffffu, kIoctlRequests)},
                Rule{"read", "the eventfd, the segment", {}},
                Rule{"recvmsg", "", {}},
                Rule{"sendmsg", "Asio writes responses with sendmsg", {}},
                Rule{"setsockopt", "TCP_NODELAY, SO_LINGER on accepted sockets", {}},
                Rule{"shutdown", "", {}},
                Rule{"timerfd_settime", "Asio's deadline timers", {}},
                Rule{"write", "log lines; the eventfd that wakes the loop", {}},
            }},
      Group{"segment and /proc/self (read-only)",
            {
                Rule{"getdents64", "process_open_fds: listing /proc/self/fd at each scrape", {}},
                Rule{"lseek", "", {}},
                Rule{"newfstatat", "stat()/fstat(): has the sampler replaced the file?", {}},
                Rule{"openat", "the segment and HAProxy logs, read-only", kReadOnly},
            }},
  };
  if (o.state_writes) {
    p.notes.push_back("state writes enabled (threat feed cache or threat log)");
    for (Group& g : p.groups)
      for (Rule& r : g.rules)
        if (r.syscall == "openat") {
          r.why = "the segment read-only; state files: see kStateOpen";
          r.any_of = kStateOpen;
        }
    p.groups.push_back(
        Group{"state dir and threat log (only with a threat list or --threatfile.enable)",
              {
                  Rule{"fsync", "the feed cache is on disk before it is renamed into place", {}},
                  Rule{"rename", "the new feed cache replaces the old one atomically", {}},
                  Rule{"unlink", "a leftover or failed temporary cache file", {}},
              }});
  }
  if (o.log_file) {
    // SIGHUP reopens --log.file (common/log.cc reopen_file) with exactly these flags; the state
    // writes' openat limits (kStateOpen) already include them.
    p.notes.push_back("--log.file: the log file may be reopened for appending (SIGHUP)");
    if (!o.state_writes)
      for (Group& g : p.groups)
        for (Rule& r : g.rules)
          if (r.syscall == "openat") {
            r.why = "the segment read-only; --log.file appended (reopened on SIGHUP)";
            r.any_of = {kReadOnly.front(),
                        {2, kWriteMask, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
                         "O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW"}};
          }
  }
  // After the state-writes rewrite above: the HAProxy group keeps its own openat limits.
  if (o.haproxy_state_dir_fd >= 0) p.groups.push_back(haproxy_rules(o.haproxy_state_dir_fd));
  if (o.textfile_dir_fd >= 0) p.groups.push_back(textfile_rules(o.textfile_dir_fd));
  if (o.wake_dir_fd >= 0) p.groups.push_back(wake_rules(o.wake_dir_fd));
  if (o.tls) {
    // TLS itself is read/recvmsg/sendmsg on the accepted sockets (allowed above); the context is
    // built and OpenSSL initialised (configuration read, DRBG seeded) before the filter; a
    // rotated certificate is read with the read-only openat above.
    p.notes.push_back("--web.config.file with TLS: OpenSSL may reseed its random generator");
    p.groups.push_back(Group{"TLS (only with tls_server_config in --web.config.file)",
                             {
                                 Rule{"getrandom",
                                      "OpenSSL reseeds its DRBG from the kernel (handshake "
                                      "randoms, session tickets), also after the start",
                                      {}},
                             }});
  }
  if (o.feed_fetch || o.otlp_push) {
    if (o.feed_fetch)
      p.notes.push_back("threat feeds with URLs enabled: outbound TCP and DNS allowed");
    if (o.otlp_push)
      p.notes.push_back("OTLP push enabled (--output.otlp.endpoint): outbound TCP and DNS allowed");
    p.groups.push_back(Group{
        "outbound HTTP(S) with libcurl (only with a --<list>.enable that has a URL, or "
        "--output.otlp.endpoint)",
        {
            Rule{"bind", "glibc's resolver binds its UDP socket on some paths", {}},
            Rule{"connect", "the feed server, the DNS resolver, glibc's nscd probe", {}},
            Rule{"getsockopt", "libcurl reads SO_ERROR after a non-blocking connect", {}},
            Rule{"getrandom", "OpenSSL and the resolver's query ids", {}},
            Rule{"poll", "libcurl and the resolver wait on sockets", {}},
            Rule{"ppoll", "libcurl and the resolver wait on sockets", {}},
            Rule{"recvfrom", "DNS answers, HTTP bodies", {}},
            Rule{"sendmmsg", "glibc sends A and AAAA queries together", {}},
            Rule{"sendto", "DNS queries, HTTP requests", {}},
            Rule{"socket", "see kFeedSocketDomains", limits(0, 0xffffffffu, kFeedSocketDomains)},
            // glibc's getaddrinfo sorts an answer with more than one address (RFC 6724) and
            // first asks the kernel which addresses this host has (__check_pf: an RTM_GETADDR
            // dump on a NETLINK_ROUTE socket, then bind/getsockname/sendto/recvmsg/close, all
            // allowed above). `localhost` on stock Debian and most feed hosts have two or more
            // addresses. Only that socket: a read of the host's addresses, which any user may
            // do; changing anything over it needs CAP_NET_ADMIN, which the exporter never has.
            Rule{"socket",
                 "glibc's getaddrinfo address sorting (__check_pf): NETLINK_ROUTE, SOCK_RAW only",
                 {{1, 0xff, SOCK_RAW, "type SOCK_RAW (any of SOCK_CLOEXEC/SOCK_NONBLOCK)"}},
                 0,
                 {{0, 0xffffffffu, AF_NETLINK, "domain AF_NETLINK"},
                  {2, 0xffffffffu, NETLINK_ROUTE, "protocol NETLINK_ROUTE"}}},
            Rule{"socketpair", "libcurl's threaded resolver",
                 limits(0, 0xffffffffu, kFeedSocketpairDomains)},
        }});
  }
  if (o.otlp_grpc) {
    // grpc++ (exporter/outputs/otlp_grpc.cc) on top of the outbound group above: its channel is
    // made on the OTLP push thread, under the filter, and runs threads of its own (timer manager,
    // executor, the native resolver's getaddrinfo) around an epoll poller woken by an eventfd.
    p.notes.push_back("OTLP over gRPC (--output.otlp.protocol=grpc): grpc++'s threads and poller");
    p.groups.push_back(Group{
        "OTLP over gRPC (only with --output.otlp.protocol=grpc)",
        {
            Rule{"epoll_create1", "grpc's epoll1 poller, made at the first channel", {}},
            Rule{"eventfd2", "grpc wakes its poller through an eventfd", {}},
            Rule{"prctl",
                 "grpc names each of its threads (pthread_setname_np on itself)",
                 {{0, 0xffffffffu, PR_SET_NAME, "PR_SET_NAME"}}},
            Rule{"sched_getparam", "grpc's thread start reads its scheduling (read-only)", {}},
            Rule{"sched_getscheduler", "grpc's thread start reads its policy (read-only)", {}},
            Rule{"uname", "grpc checks the kernel version for TCP features it may use", {}},
        }});
  }
#ifdef HOSTFLOW_SANITIZE
  // Sanitizer builds only (compile definition HOSTFLOW_SANITIZE): never in a release binary.
  p.notes.push_back(
      "built with sanitizers: the 'sanitizer runtime' group exists only in this build");
  p.groups.push_back(seccomp::sanitizer_runtime_group());
#endif
  return p;
}

}  // namespace hostflow::exporter
