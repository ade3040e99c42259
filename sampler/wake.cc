#include "wake.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace hostflow::sampler {

void WakeLimiter::requested(std::uint64_t n, std::uint64_t now) {
  if (n == 0) return;
  requests_ += n;
  if (!pending_) {
    pending_ = true;
    pending_since_ = now;
  }
}

void WakeLimiter::wake_cycle_ran(std::uint64_t now, std::uint64_t real_ns) {
  if (!pending_) return;
  cycles_++;
  // It could not run when the first of its requests arrived: the limit made it wait.
  if (pending_since_ < earliest()) rate_limited_++;
  last_ = now;
  last_real_ = real_ns;
  pending_ = false;
}

Result<std::unique_ptr<WakeChannel>> WakeChannel::create(const std::string& path, gid_t gid) {
  // A FIFO left by an earlier run (perhaps still holding its bytes) is replaced, never reused.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Error::from_errno("wake channel: removing the old " + path);
  if (::mkfifo(path.c_str(), 0600) != 0) return Error::from_errno("wake channel: mkfifo " + path);
  auto fd = UniqueFd::open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW);
  if (!fd.ok()) return Error{fd.error().code, "wake channel: " + fd.error().message()};
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return Error::from_errno("wake channel: fstat " + path);
  if (!S_ISFIFO(st.st_mode) || st.st_uid != ::geteuid())
    return Error{EEXIST, "wake channel: " + path + " is not the FIFO the sampler just created"};
  if (gid != static_cast<gid_t>(-1) && ::fchown(fd->get(), static_cast<uid_t>(-1), gid) != 0)
    return Error::from_errno("wake channel: fchown " + path);
  // Group: write only. Nobody but the owner (the sampler) can read it.
  if (::fchmod(fd->get(), 0620) != 0) return Error::from_errno("wake channel: fchmod " + path);
  return std::unique_ptr<WakeChannel>(new WakeChannel(std::move(*fd), path));
}

std::uint64_t WakeChannel::drain() {
  char buf[4096];
  std::uint64_t total = 0;
  while (total < kMaxDrainBytes) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      total += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: empty (O_RDWR: never end-of-file)
  }
  return total;
}

}  // namespace hostflow::sampler
