#include "privilege/host_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "hostflow/common/unique_fd.h"

namespace hostflow::sampler {

Result<bool> enter_host_netns(const std::string& procfs) {
  struct stat self {
  }, host{};
  if (::stat("/proc/self/ns/net", &self) != 0) return Error::from_errno("stat /proc/self/ns/net");
  const std::string path = procfs + "/1/ns/net";
  auto fd = UniqueFd::open(path, O_RDONLY);
  if (!fd.ok()) return fd.error();
  if (::fstat(fd->get(), &host) != 0) return Error::from_errno("stat " + path);
  if (host.st_ino == self.st_ino && host.st_dev == self.st_dev) return false;
  if (::setns(fd->get(), CLONE_NEWNET) != 0)
    return Error::from_errno("setns(" + path + ") into the host's network namespace");
  return true;
}

}  // namespace hostflow::sampler
