// seccomp_probe: installs hostflow-sampler's or hostflow-exporter's real seccomp policy (the same
// functions the binaries call, no test-only switch) and then does one thing the policy must or
// must not allow. Used by security_test, which checks how the probe ends (exit 0 or SIGSYS).
//   seccomp_probe POLICY MODE ACTION [PATH]
//   POLICY: sampler | sampler-bpf (as kept with --source.bpf) | exporter | none
//   MODE: kill | log | trap
//   ACTION also: bpf-map-lookup | bpf-map-update | bpf-prog-load (bpf(2) commands, bad fds)
//   ACTION: exit | execve | open-write PATH | socket-inet | segment-grow DIR | segment-write PATH
//   seccomp_probe - - kept-caps: prints the capability set the default sources keep, as
//   "<hex> <name,name>" (names without cap_, "-" for none), from the source table.
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "exporter/privilege/seccomp_policy.h"
#include "hostflow/common/seccomp.h"
#include "publish/segment_file.h"
#include "sampler/privilege/capabilities.h"
#include "sampler/privilege/seccomp_policy.h"
#include "sources/registry.h"

#ifdef HOSTFLOW_SANITIZE
// As in the binaries' main.cc: LeakSanitizer's exit-time ptrace is outside every allowlist.
extern "C" int __lsan_is_turned_off() {
  return 1;
}
#endif

namespace {

int usage() {
  std::fprintf(stderr, "usage: seccomp_probe sampler|exporter|none kill|log|trap ACTION [PATH]\n");
  return 2;
}

void say(const std::string& s) {
  if (::write(STDOUT_FILENO, s.data(), s.size()) < 0) {
  }
}

// Exporter-side checks on a segment file: none of these may give write access.
int segment_write(const std::string& path) {
  int fails = 0;
  const int rw = ::open(path.c_str(), O_RDWR);
  say("open O_RDWR: " + std::string(rw < 0 ? std::strerror(errno) : "OPENED") + "\n");
  if (rw >= 0) fails++;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    say("open O_RDONLY failed: " + std::string(std::strerror(errno)) + "\n");
    return 3;
  }
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = static_cast<std::size_t>(st.st_size);
  void* w = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  say("mmap PROT_WRITE MAP_SHARED: " +
      std::string(w == MAP_FAILED ? std::strerror(errno) : "MAPPED") + "\n");
  if (w != MAP_FAILED) fails++;
  void* r = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (r == MAP_FAILED) return 3;
  const int mp = ::mprotect(r, size, PROT_READ | PROT_WRITE);
  say("mprotect PROT_WRITE: " + std::string(mp != 0 ? std::strerror(errno) : "ALLOWED") + "\n");
  if (mp == 0) fails++;
  // A write through the read-only mapping must fault: try it in a child.
  const pid_t child = ::fork();
  if (child == 0) {
    // The default action, not a sanitizer's handler: the fault must end the child with SIGSEGV.
    ::signal(SIGSEGV, SIG_DFL);
    ::signal(SIGBUS, SIG_DFL);
    static_cast<volatile unsigned char*>(r)[0] = 0x42;
    _exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  const bool faulted =
      WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS);
  say(std::string("write through the mapping: ") + (faulted ? "faulted" : "SUCCEEDED") + "\n");
  if (!faulted) fails++;
  return fails == 0 ? 0 : 1;
}

int segment_grow(const std::string& dir) {
  namespace hs = hostflow::sampler;
  hostflow::shm::PublishInfo info{};
  info.generation = 1;
  info.cycle = 1;
  std::vector<std::byte> small(64), big(512 * 1024);
  auto seg = hs::SegmentFile::create(
      hs::SegmentOptions{dir + "/segment", static_cast<gid_t>(-1), 0640, {}}, info, small);
  if (!seg.ok()) {
    say("create: " + seg.error().message() + "\n");
    return 3;
  }
  if (auto r = hostflow::seccomp::install(hs::sampler_policy(0), hostflow::seccomp::Mode::kKill);
      !r.ok())
    return 4;
  info.generation = 2;
  auto r = (*seg)->publish(info, big);
  say("grow under the filter: " + std::string(r.ok() ? "ok" : r.error().message()) +
      " grows=" + std::to_string((*seg)->grow_count()) + "\n");
  return r.ok() && (*seg)->grow_count() == 1 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string which = argv[1], action = argv[3], path = argc > 4 ? argv[4] : "";
  const auto mode = hostflow::seccomp::parse_mode(argv[2]);
  if (!mode && action != "kept-caps") return usage();
  if (action == "kept-caps") {
    const std::uint64_t keep = hostflow::sampler::capabilities_needed([](std::string_view n) {
      for (const auto& e : hostflow::sampler::source_table())
        if (e.name == n) return e.enabled_by_default;
      return false;
    });
    std::string names = hostflow::sampler::capability_names(keep);
    for (std::size_t p = names.find("cap_"); p != std::string::npos; p = names.find("cap_"))
      names.erase(p, 4);
    std::printf("%016llx %s\n", static_cast<unsigned long long>(keep),
                names == "none" ? "-" : names.c_str());
    return 0;
  }
  if (action == "segment-grow") return segment_grow(path);  // installs the filter itself
  if (which != "none") {
    const auto policy = which == "sampler" ? hostflow::sampler::sampler_policy(0)
                        : which == "sampler-bpf"
                            ? hostflow::sampler::sampler_policy(std::uint64_t{1} << CAP_BPF)
                            : hostflow::exporter::exporter_policy();
    if (auto r = hostflow::seccomp::install(policy, *mode); !r.ok()) {
      std::fprintf(stderr, "install: %s\n", r.error().message().c_str());
      return 4;
    }
  }
  say("pid " + std::to_string(::getpid()) + " filter installed\n");
  if (action == "exit") return 0;
  if (action == "execve") {
    char* const args[] = {const_cast<char*>("/nonexistent/hostflow-probe"), nullptr};
    ::execve(args[0], args, environ);
    say("execve returned: " + std::string(std::strerror(errno)) + "\n");
    return 0;
  }
  if (action == "open-write") {
    const int fd = ::open(path.c_str(), O_WRONLY);
    say("open O_WRONLY: " + std::string(fd < 0 ? std::strerror(errno) : "opened") + "\n");
    return 0;
  }
  if (action == "socket-inet") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    say("socket AF_INET: " + std::string(fd < 0 ? std::strerror(errno) : "created") + "\n");
    return 0;
  }
  if (action == "segment-write") return segment_write(path);
  if (action == "seqlock-backoff") {
    // The reader's back-off when a slot is being written (seqlock.cc): std::this_thread::yield.
    std::this_thread::yield();
    say("yielded\n");
    return 0;
  }
  if (action == "bpf-map-lookup" || action == "bpf-map-update" || action == "bpf-prog-load") {
    // Invalid fds: the kernel answers EBADF/EINVAL; only the filter can kill the process.
    bpf_attr attr{};
    attr.map_fd = static_cast<__u32>(-1);
    const int cmd = action == "bpf-map-lookup"   ? BPF_MAP_LOOKUP_ELEM
                    : action == "bpf-map-update" ? BPF_MAP_UPDATE_ELEM
                                                 : BPF_PROG_LOAD;
    const long rc = ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
    say(action + ": " + (rc < 0 ? std::string(std::strerror(errno)) : "ok") + "\n");
    return 0;
  }
  return usage();
}
