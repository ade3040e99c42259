#include "sources/procs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostflow/common/unique_fd.h"
#include "sources/proc_io.h"

namespace hostflow::sampler {

bool is_qemu_comm(std::string_view comm) {
  while (!comm.empty() && (comm.back() == '\n' || comm.back() == '\0')) comm.remove_suffix(1);
  return comm.rfind("qemu-system", 0) == 0 || comm == "qemu-kvm" || comm == "kvm" ||
         comm.rfind("qemu-kvm", 0) == 0;
}

namespace {

class ProcsSource final : public Source {
 public:
  explicit ProcsSource(std::shared_ptr<ProcScan> scan) : scan_(std::move(scan)) {}
  std::string_view name() const override { return "procs"; }

  Result<void> open(const SamplerPaths& paths) override {
    auto fd = UniqueFd::open(paths.procfs, O_RDONLY | O_DIRECTORY);
    if (!fd.ok()) return fd.error();
    proc_ = std::move(*fd);
    // Our own netns from our own /proc: --path.procfs may be another PID namespace's procfs,
    // which has no "self" for us.
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0) return Error::from_errno("stat /proc/self/ns/net");
    own_netns_ = st.st_ino;
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    if (!list_numeric(proc_.get(), ".", kMaxProcs + 1, &pids_))
      return Error::from_errno("list procfs");
    out.touch<shm::ProcRecord>();
    if (pids_.size() > kMaxProcs) {
      out.add_dropped(shm::SectionType::kProcs, pids_.size() - kMaxProcs);
      pids_.resize(kMaxProcs);
    }
    scan_->procs.clear();
    std::size_t n = 0;
    std::string comm, cgroup, cmdline;
    for (const int pid : pids_) {
      const std::string dir = std::to_string(pid);
      struct stat st {};
      if (::fstatat(proc_.get(), dir.c_str(), &st, 0) != 0) continue;  // exited meanwhile
      shm::ProcRecord r{};
      r.pid = pid;
      r.uid = st.st_uid;
      if (!read_small(proc_.get(), dir + "/comm", 64, &comm)) continue;
      struct stat ns {};
      if (::fstatat(proc_.get(), (dir + "/ns/net").c_str(), &ns, 0) == 0) {
        r.netns_inode = ns.st_ino;
      } else {
        r.flags |= shm::kProcNetnsUnknown;  // kernel thread, zombie, or no ptrace access
      }
      const bool qemu = is_qemu_comm(comm);
      if (qemu) {
        r.flags |= shm::kProcQemu;
        bool truncated = false;
        if (read_small(proc_.get(), dir + "/cmdline", kMaxCmdlineBytes, &cmdline, &truncated)) {
          r.cmdline = out.add_string(cmdline, kMaxCmdlineBytes);
          if (truncated) r.flags |= shm::kProcCmdlineTruncated;
        }
      }
      // The cgroup only where it can attribute something: workloads in another netns, and VMs.
      if (qemu || (r.netns_inode != 0 && r.netns_inode != own_netns_)) {
        if (read_small(proc_.get(), dir + "/cgroup", kMaxCgroupBytes, &cgroup)) {
          r.cgroup = out.add_string(cgroup, kMaxCgroupBytes);
          r.flags |= shm::kProcHasCgroup;
        }
      }
      while (!comm.empty() && comm.back() == '\n') comm.pop_back();
      r.comm = out.add_string(comm, 16);
      if (out.add(r)) n++;
      scan_->procs.push_back({pid, r.netns_inode, qemu});
    }
    scan_->cycle++;
    return n;
  }

 private:
  std::shared_ptr<ProcScan> scan_;
  UniqueFd proc_;
  std::uint64_t own_netns_ = 0;
  std::vector<int> pids_;
};

}  // namespace

std::unique_ptr<Source> make_procs_source(std::shared_ptr<ProcScan> scan) {
  return std::make_unique<ProcsSource>(std::move(scan));
}

}  // namespace hostflow::sampler
