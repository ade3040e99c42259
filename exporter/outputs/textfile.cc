#include "outputs/textfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"

namespace hostflow::exporter {

namespace {
Error sys_error(const std::string& what) {
  return Error::from_errno(what);
}
}  // namespace

TextfileOutput::TextfileOutput(const TextfileConfig& cfg) : cfg_(cfg) {
  const std::size_t slash = cfg_.path.rfind('/');
  name_ = cfg_.path.substr(slash + 1);
  // A dot file not ending in .prom: node_exporter's collector reads *.prom only.
  tmp_name_ = "." + name_ + ".tmp";
}

TextfileOutput::~TextfileOutput() {
  stop();
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<void> TextfileOutput::open() {
  const std::size_t slash = cfg_.path.rfind('/');
  const std::string dir = slash == 0 ? "/" : cfg_.path.substr(0, slash);
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) return sys_error("--output.textfile: directory " + dir);
  return {};
}

Result<void> TextfileOutput::write_now(std::string_view text) {
  const char* tmp = tmp_name_.c_str();
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(dir_fd_, tmp, kFlags, cfg_.mode);
  if (fd < 0 && errno == EEXIST) {
    // Left by a write that was killed half-way: ours (the name is the output's own).
    ::unlinkat(dir_fd_, tmp, 0);
    fd = ::openat(dir_fd_, tmp, kFlags, cfg_.mode);
  }
  if (fd < 0) return sys_error("create " + tmp_name_);
  auto fail = [&](const std::string& what) {
    Error e = sys_error(what);
    ::close(fd);
    ::unlinkat(dir_fd_, tmp, 0);
    return e;
  };
  // The umask narrowed the mode given to openat: the documented mode, exactly.
  if (::fchmod(fd, cfg_.mode) != 0) return fail("fchmod " + tmp_name_);
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write " + tmp_name_);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync " + tmp_name_);
  if (::close(fd) != 0) {
    Error e = sys_error("close " + tmp_name_);
    ::unlinkat(dir_fd_, tmp, 0);
    return e;
  }
  if (::renameat(dir_fd_, tmp, dir_fd_, name_.c_str()) != 0) {
    Error e = sys_error("rename " + tmp_name_ + " to " + name_);
    ::unlinkat(dir_fd_, tmp, 0);
    return e;
  }
  // The rename itself on disk (a crash after this shows the new file).
  ::fsync(dir_fd_);
  return {};
}

void TextfileOutput::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void TextfileOutput::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TextfileOutput::submit(std::shared_ptr<const Exposition> e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = std::move(e);
  }
  cv_.notify_one();
}

void TextfileOutput::run() {
  while (true) {
    std::shared_ptr<const Exposition> e;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || pending_; });
      // At stop, the last rendering is still written: the file matches what was served last.
      if (!pending_) return;
      e = std::move(pending_);
    }
    auto r = write_now(e->text());
    if (r.ok()) {
      writes_++;
      last_success_ = static_cast<double>(real_ns()) / 1e9;
      if (failing_) log::info("text file written again", {{"path", cfg_.path}});
      failing_ = false;
    } else {
      errors_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_error_time_ = static_cast<double>(real_ns()) / 1e9;
        last_error_ = r.error().message();
      }
      if (!failing_)
        log::error("text file not written", {{"path", cfg_.path}, {"err", r.error().message()}});
      failing_ = true;
    }
  }
}

TextfileStats TextfileOutput::stats() const {
  TextfileStats s;
  s.writes = writes_.load();
  s.errors = errors_.load();
  s.last_success_seconds = last_success_.load();
  std::lock_guard<std::mutex> lock(mu_);
  s.last_error_seconds = last_error_time_;
  s.last_error = last_error_;
  return s;
}

}  // namespace hostflow::exporter
