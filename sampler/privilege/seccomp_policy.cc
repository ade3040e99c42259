// hostflow-sampler's seccomp allowlist: the only place it is written down.
//
// The sampler opens its sources and its first segment before this filter goes on, so what is
// left is: talk to netlink sockets it already has, read procfs/sysfs, sleep, log, and publish
// into the segment -- including writing a *new*, larger segment file beside the old one and
// rename()ing it over (segment_file.cc). It can create a file but never open an existing one for
// writing, never map or remap memory executable, never execve, never open an AF_INET socket.
// Anything else kills the process (--seccomp=trap names the syscall while developing).
#include "privilege/seccomp_policy.h"

#include "hostflow/common/capabilities.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <span>

namespace hostflow::sampler {
namespace {

using seccomp::ArgLimit;
using seccomp::Group;
using seccomp::Rule;

struct Value {
  std::uint64_t value;
  std::string_view label;
};

// Argument tables. Adding a value here is a policy change: say which source needs it and why.

// socket(2) domains (arg0). Sources open their sockets before the filter; a netlink source may
// reopen its socket after an overrun (ENOBUFS), so AF_NETLINK stays. Nothing else: no AF_INET.
constexpr Value kSocketDomains[] = {
    {AF_NETLINK, "AF_NETLINK"},
};

// bpf(2) commands (arg0), only with a source that keeps CAP_BPF (the bpf source). The TC program
// and its maps are loaded before the filter; after it: read the per-CPU maps in batches
// (LOOKUP_BATCH) and one key at a time (LOOKUP_ELEM: an interface's baseline before attaching),
// delete the fallback-hash entries of interfaces that are gone (DELETE_ELEM: the hash is bounded),
// and let libbpf's bpf_tc_attach() read the program's id and name (OBJ_GET_INFO_BY_FD) when it
// attaches to a new interface. No BPF_PROG_LOAD, no map creation, no BPF_MAP_UPDATE_ELEM.
constexpr Value kBpfCommands[] = {
    {BPF_MAP_LOOKUP_ELEM, "BPF_MAP_LOOKUP_ELEM"},
    {BPF_MAP_DELETE_ELEM, "BPF_MAP_DELETE_ELEM"},
    {BPF_OBJ_GET_INFO_BY_FD, "BPF_OBJ_GET_INFO_BY_FD"},
    {BPF_MAP_LOOKUP_BATCH, "BPF_MAP_LOOKUP_BATCH"},
};

// ioctl(2) requests (arg1). No source needs one; stdio asks whether stdout is a terminal before
// the first --check report line.
constexpr Value kIoctlRequests[] = {
    {TCGETS, "TCGETS"},
};

std::vector<ArgLimit> limits(unsigned arg, std::uint64_t mask, std::span<const Value> values) {
  std::vector<ArgLimit> out;
  for (const Value& v : values) {
    out.push_back(ArgLimit{arg, mask, v.value, v.label});
  }
  return out;
}

// mmap/mprotect prot (arg2): never PROT_EXEC, so no new code can appear in the process.
const std::vector<ArgLimit> kNoExec = {{2, PROT_EXEC, 0, "no PROT_EXEC"}};

// openat flags (arg2): read-only without O_CREAT/O_TRUNC, or a brand-new file (O_CREAT|O_EXCL,
// O_NOFOLLOW): the next segment. Opening an existing file for writing is not possible.
constexpr std::uint64_t kOpenMask = O_ACCMODE | O_CREAT | O_EXCL | O_NOFOLLOW | O_TRUNC | O_APPEND;
const std::vector<ArgLimit> kOpenFlags = {
    {2, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY, "O_RDONLY, no O_CREAT/O_TRUNC"},
    {2, kOpenMask, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, "O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW"},
};

}  // namespace

seccomp::Policy sampler_policy(std::uint64_t kept_caps, bool libvirt, bool docker, bool platform) {
  seccomp::Policy p;
  p.name = "hostflow-sampler";
  p.notes.push_back("capabilities kept after the drop (enabled sources): " +
                    caps::names(kept_caps));
  p.groups = {
      Group{"process",
            {
                Rule{"clock_gettime", "when the vDSO is not used", {}},
                Rule{"exit", "", {}},
                Rule{"exit_group", "", {}},
                Rule{"futex", "mutexes and the libvirt worker's condition variable", {}},
                Rule{"getpid", "names the temporary segment file", {}},
                Rule{"restart_syscall", "poll (docker) interrupted by SIGTERM/SIGINT", {}},
                Rule{"rt_sigreturn", "return from the SIGTERM/SIGINT handler", {}},
            }},
      Group{"memory",
            {
                Rule{"brk", "", {}},
                Rule{"madvise", "malloc returning memory", {}},
                Rule{"mmap", "malloc and the segment mapping", kNoExec},
                Rule{"mprotect", "malloc arenas", kNoExec},
                Rule{"mremap", "realloc of large buffers", {}},
                Rule{"munmap", "", {}},
            }},
      Group{"netlink",
            {
                Rule{"close", "", {}},
                Rule{"recvmsg", "libmnl reads dumps with recvmsg", {}},
                Rule{"sendto", "libmnl sends requests with sendto", {}},
                Rule{"socket", "see kSocketDomains", limits(0, ~std::uint64_t{0}, kSocketDomains)},
            }},
      Group{"procfs and sysfs (read-only)",
            {
                Rule{"fcntl",
                     "procs: fdopendir() checks and sets the flags of the directory fd",
                     {{1, 0xffffffffu, F_GETFL, "F_GETFL"}, {1, 0xffffffffu, F_SETFD, "F_SETFD"}}},
                Rule{"getdents64", "procs: listing /proc and /proc/<pid>/fd", {}},
                Rule{"lseek", "", {}},
                Rule{"newfstatat", "stat() and fstat(): /sys/class/net/<if>/device, stdout", {}},
                Rule{"openat", "read-only, or create a new file exclusively", kOpenFlags},
                Rule{"read", "", {}},
                Rule{"readlinkat", "taps: what a QEMU fd points to (/dev/net/tun, /dev/tapN)", {}},
            }},
      Group{
          "segment (a new file per growth, renamed over the old one)",
          {
              Rule{"fchmod",
                   "0640: no set-id, sticky, execute or world-write bits",
                   {{1, S_ISUID | S_ISGID | S_ISVTX | 0111 | 0002, 0, "mode without s/t/x/o+w"}}},
              Rule{"fchown",
                   "group only (the owner stays ours); no capability needed: we are in it",
                   {{1, 0xffffffffu, 0xffffffffu, "owner -1 (unchanged)"}}},
              Rule{"ftruncate", "sizes the new file before it is mapped (never a mapped one)", {}},
              Rule{"rename", "publishes the new file over the old path", {}},
              Rule{"unlink", "removes a failed or leftover temporary file", {}},
          }},
      Group{"logging",
            {
                Rule{"write", "stderr log lines, --check report on stdout", {}},
            }},
      // sampler/wake.h: the loop sleeps in ppoll until the next tick, watching the wake channel
      // (a FIFO opened before the filter) when it has one; read (above) drains it.
      Group{"interval and wake channel",
            {
                Rule{"ppoll",
                     "waiting for the next tick or a byte on the wake channel; platform: whether "
                     "PID 1's mount table changed, and whether the LXC inits have exited (zero "
                     "timeout)",
                     {}},
            }},
  };
  if (libvirt) {
    // The libvirt client library talking to libvirtd over its read-only unix socket, from the
    // libvirt source's worker thread (reconnects after libvirtd restarts happen here too).
    p.groups.push_back(Group{
        "libvirt client (only with --source.libvirt)",
        {
            Rule{
                "access", "the client probes socket and config paths (F_OK) before connecting", {}},
            Rule{"connect", "the libvirtd read-only socket", {}},
            Rule{"eventfd2", "the client's (GLib) main-context wakeup, made on first use", {}},
            Rule{"fcntl", "O_NONBLOCK/FD_CLOEXEC on the client socket", {}},
            Rule{"getegid", "the client's identity checks when it (re)connects", {}},
            Rule{"geteuid", "the client's identity checks when it (re)connects", {}},
            Rule{"getgid", "the client's identity checks when it (re)connects", {}},
            Rule{"getuid", "the client's identity checks when it (re)connects", {}},
            Rule{"getsockname", "the client reads its socket's local address", {}},
            Rule{"getsockopt", "SO_ERROR after connect", {}},
            Rule{"pipe2", "the client's wakeup pipe", {}},
            Rule{"poll", "waiting for libvirtd replies", {}},
            Rule{"rt_sigprocmask", "the client blocks signals around its I/O loop", {}},
            Rule{"socket", "AF_UNIX only", {{0, ~std::uint64_t{0}, AF_UNIX, "AF_UNIX"}}},
            Rule{"write", "requests to libvirtd", {}},
        }});
  } else {
    p.notes.push_back("libvirt client syscalls: not allowed (--no-source.libvirt)");
  }
  if (docker) {
    // sources/docker.cc: one short HTTP/1.1 request per connection to the Engine API's unix
    // socket (read, write and close are already allowed above).
    p.groups.push_back(
        Group{"Docker Engine API client (only with --source.docker)",
              {
                  Rule{"connect", "the Docker socket (--docker.socket)", {}},
                  Rule{"poll", "waiting for the socket within --docker.timeout", {}},
                  Rule{"socket", "AF_UNIX only", {{0, ~std::uint64_t{0}, AF_UNIX, "AF_UNIX"}}},
              }});
  } else {
    p.notes.push_back("Docker client syscalls: not allowed (--no-source.docker)");
  }
  if (platform) {
    // sources/platform.cc: the size and free space of each filesystem it lists (by path: the
    // mount points of PID 1's mountinfo under --path.rootfs). Network filesystems, whose statfs
    // can block on a dead server, are excluded by --platform.filesystem.fs-types-exclude.
    p.groups.push_back(
        Group{"platform filesystems and LXC cgroups (only with --source.platform)",
              {
                  Rule{"statfs", "size, free and available bytes of a mount point", {}},
                  Rule{"pread64",
                       "lxc: a container's cgroup file, kept open, re-read from offset 0 each "
                       "cycle",
                       {}},
                  Rule{"inotify_add_watch",
                       "lxc: a watch on a container's memory limit file, read again only after a "
                       "write (the inotify instance is made before the filter)",
                       {}},
                  Rule{"inotify_rm_watch", "lxc: the watch of a container that is gone", {}},
                  Rule{"pidfd_open",
                       "lxc: a container's init, polled to prove the statfs of its "
                       "/proc/<pid>/root/ was of that process (flags 0 only)",
                       {{1, ~std::uint64_t{0}, 0, "flags 0"}}},
              }});
  } else {
    p.notes.push_back(
        "statfs(2), pread64(2), inotify_add_watch(2), inotify_rm_watch(2), pidfd_open(2): not "
        "allowed "
        "(--no-source.platform)");
  }
  std::vector<ArgLimit> ioctls = limits(1, 0xffffffffu, kIoctlRequests);
  if (!ioctls.empty()) p.groups.push_back(Group{"ioctl", {Rule{"ioctl", "", ioctls}}});
  if ((kept_caps >> CAP_BPF) & 1u) {
    p.groups.push_back(Group{
        "bpf (only with a source that keeps CAP_BPF)",
        {
            // Attaching to a new interface (libbpf's bpf_tc_hook_create/bpf_tc_attach) and
            // listing interfaces (glibc's if_nameindex) each open a short-lived rtnetlink socket
            // (socket() is limited to AF_NETLINK above) and bind it; the tc requests themselves
            // need CAP_NET_ADMIN.
            Rule{"bind", "a new rtnetlink socket's local address (kernel-assigned port id)", {}},
            Rule{"bpf", "map reads and hash pruning only, see kBpfCommands",
                 limits(0, 0xffffffffu, kBpfCommands)},
            Rule{"getsockname", "the port id the kernel gave the new rtnetlink socket", {}},
            Rule{"setsockopt",
                 "libbpf turns on extended acks on its rtnetlink socket",
                 {{1, 0xffffffffu, SOL_NETLINK, "SOL_NETLINK"}}},
        }});
  } else {
    p.notes.push_back("bpf(2): not allowed (no enabled source keeps CAP_BPF)");
  }
#ifdef HOSTFLOW_SANITIZE
  // Sanitizer builds only (compile definition HOSTFLOW_SANITIZE): never in a release binary.
  p.notes.push_back(
      "built with sanitizers: the 'sanitizer runtime' group exists only in this build");
  p.groups.push_back(seccomp::sanitizer_runtime_group());
#endif
  return p;
}

}  // namespace hostflow::sampler
