#include "sources/proc_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace hostflow::sampler {

bool read_small(int dirfd, const std::string& path, std::size_t cap, std::string* out,
                bool* truncated) {
  out->clear();
  if (truncated) *truncated = false;
  const int fd = ::openat(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  // Grown as the file fills it, not sized to `cap` up front: resize() zero-fills, and a 1 MiB cap
  // (cgroup.procs) written over for a 3-byte file was most of a small read's CPU.
  out->resize(std::min<std::size_t>(cap + 1, 4096));
  std::size_t have = 0;
  while (have < cap + 1) {
    if (have == out->size()) out->resize(std::min<std::size_t>(cap + 1, out->size() * 2));
    const ssize_t n = ::read(fd, out->data() + have, out->size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      errno = e;
      out->clear();
      return false;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (have > cap) {
    have = cap;
    if (truncated) *truncated = true;
  }
  out->resize(have);
  return true;
}

bool list_numeric(int dirfd, const std::string& path, std::size_t cap, std::vector<int>* out) {
  out->clear();
  const int fd = ::openat(dirfd, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return false;
  }
  while (const dirent* e = ::readdir(d)) {
    const char* n = e->d_name;
    if (*n < '0' || *n > '9') continue;
    long v = 0;
    bool ok = true;
    for (const char* p = n; *p; p++) {
      if (*p < '0' || *p > '9' || v > 100'000'000) {
        ok = false;
        break;
      }
      v = v * 10 + (*p - '0');
    }
    if (!ok) continue;
    if (out->size() >= cap) break;
    out->push_back(static_cast<int>(v));
  }
  ::closedir(d);
  return true;
}

}  // namespace hostflow::sampler
