// UniqueFd: a move-only owner of one file descriptor, made only by named factories.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "hostflow/common/result.h"

namespace hostflow {

class UniqueFd {
 public:
  UniqueFd() = default;
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // open(2) with O_CLOEXEC added.
  static Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return Error::from_errno("open " + path);
    return UniqueFd(fd);
  }
  static Result<UniqueFd> openat(int dirfd, const std::string& path, int flags) {
    int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return Error::from_errno("open " + path);
    return UniqueFd(fd);
  }
  // Takes ownership of an fd some other API returned.
  static UniqueFd adopt(int fd) { return UniqueFd(fd); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  explicit UniqueFd(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hostflow
