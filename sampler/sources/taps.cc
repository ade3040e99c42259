#include "sources/taps.h"

#include <fcntl.h>
#include <linux/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostflow/common/unique_fd.h"
#include "sources/proc_io.h"

namespace hostflow::sampler {

std::optional<std::string_view> parse_fdinfo_iff(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("iff:", 0) != 0) continue;
    line.remove_prefix(4);
    while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\t' || line.back() == ' ' || line.back() == '\r'))
      line.remove_suffix(1);
    // A kernel interface name: 1..IFNAMSIZ-1 bytes, no '/', no whitespace, no NUL.
    if (line.empty() || line.size() >= IFNAMSIZ) return std::nullopt;
    for (char c : line) {
      if (c == '/' || c == '\0' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
        return std::nullopt;
    }
    return line;
  }
  return std::nullopt;
}

bool is_macvtap_path(std::string_view t) {
  if (t.rfind("/dev/tap", 0) != 0 || t.size() == 8 || t.size() > 8 + 10) return false;
  for (char c : t.substr(8))
    if (c < '0' || c > '9') return false;
  return true;
}

namespace {

class TapsSource final : public Source {
 public:
  explicit TapsSource(std::shared_ptr<const ProcScan> scan) : scan_(std::move(scan)) {}
  std::string_view name() const override { return "taps"; }

  Result<void> open(const SamplerPaths& paths) override {
    auto fd = UniqueFd::open(paths.procfs, O_RDONLY | O_DIRECTORY);
    if (!fd.ok()) return fd.error();
    proc_ = std::move(*fd);
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    if (scan_->cycle == last_cycle_)
      return Error{ENODATA, "no process scan this cycle (is --source.procs enabled?)"};
    last_cycle_ = scan_->cycle;
    out.touch<shm::TapRecord>();
    std::size_t n = 0;
    std::string text;
    char target[64];
    for (const auto& p : scan_->procs) {
      if (!p.qemu) continue;
      const std::string dir = std::to_string(p.pid);
      if (!list_numeric(proc_.get(), dir + "/fd", kMaxFdsPerProcess, &fds_)) continue;
      for (const int fd : fds_) {
        const std::string link = dir + "/fd/" + std::to_string(fd);
        const ssize_t len = ::readlinkat(proc_.get(), link.c_str(), target, sizeof target - 1);
        if (len <= 0) continue;
        const std::string_view t(target, static_cast<std::size_t>(len));
        shm::TapRecord r{};
        r.pid = p.pid;
        r.fd = fd;
        r.netns_inode = p.netns;
        if (t == "/dev/net/tun") {
          if (!read_small(proc_.get(), dir + "/fdinfo/" + std::to_string(fd), 4096, &text))
            continue;
          const auto iff = parse_fdinfo_iff(text);
          if (!iff) continue;  // a tun fd not attached to an interface
          r.type = static_cast<std::uint8_t>(shm::TapType::kTun);
          r.ifname = out.add_string(*iff, IFNAMSIZ);
        } else if (is_macvtap_path(t)) {
          struct stat st {};
          if (::fstatat(proc_.get(), link.c_str(), &st, 0) != 0 || !S_ISCHR(st.st_mode)) continue;
          r.type = static_cast<std::uint8_t>(shm::TapType::kMacvtap);
          r.rdev = st.st_rdev;
        } else {
          continue;
        }
        if (out.add(r)) n++;
      }
    }
    return n;
  }

 private:
  std::shared_ptr<const ProcScan> scan_;
  UniqueFd proc_;
  std::uint64_t last_cycle_ = 0;
  std::vector<int> fds_;
};

}  // namespace

std::unique_ptr<Source> make_taps_source(std::shared_ptr<const ProcScan> scan) {
  return std::make_unique<TapsSource>(std::move(scan));
}

}  // namespace hostflow::sampler
