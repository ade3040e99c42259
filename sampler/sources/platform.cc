#include "sources/platform.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>
#include <unordered_map>

#include "hostflow/common/unique_fd.h"
#include "hostflow/shm/layout.h"
#include "sources/proc_io.h"

namespace hostflow::sampler {

void add_flags(CLI::App& app, PlatformOptions& opts) {
  app.add_option("--platform.collectors", opts.collectors,
                 "what the platform source reads: cpu, memory, filesystem, processes, lxc "
                 "(comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--platform.filesystem.mount-points-exclude", opts.mount_points_exclude,
                 "regular expression of mount points left out")
      ->capture_default_str();
  app.add_option("--platform.filesystem.mount-points-include", opts.mount_points_include,
                 "regular expression a mount point must match (default: every one)");
  app.add_option("--platform.filesystem.fs-types-exclude", opts.fs_types_exclude,
                 "regular expression of filesystem types left out (pseudo and network "
                 "filesystems: statfs on a dead NFS server blocks the sampler)")
      ->capture_default_str();
  app.add_option("--platform.filesystem.fs-types-include", opts.fs_types_include,
                 "regular expression a filesystem type must match (default: every one)");
  app.add_flag("--platform.filesystem.bind-mounts", opts.bind_mounts,
               "also list further mounts of a device already listed (bind mounts)");
}

namespace {

Result<std::regex> compile(const char* flag, const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Error{EINVAL, std::string(flag) + ": not a regular expression: " + e.what()};
  }
}

}  // namespace

Result<void> validate(PlatformOptions& opts) {
  opts.mask = 0;
  for (const std::string& c : opts.collectors) {
    if (c == "cpu") {
      opts.mask |= shm::kPlatformCpu;
    } else if (c == "memory") {
      opts.mask |= shm::kPlatformMemory;
    } else if (c == "filesystem") {
      opts.mask |= shm::kPlatformFilesystem;
    } else if (c == "processes") {
      opts.mask |= shm::kPlatformProcesses;
    } else if (c == "lxc") {
      opts.mask |= shm::kPlatformLxc;
    } else if (!c.empty()) {
      return Error{EINVAL, "--platform.collectors: unknown collector '" + c +
                               "' (want cpu, memory, filesystem, processes, lxc)"};
    }
  }
  struct P {
    const char* flag;
    const std::string& pattern;
    std::regex& out;
  };
  for (const P& p :
       {P{"--platform.filesystem.mount-points-exclude", opts.mount_points_exclude, opts.mp_exclude},
        P{"--platform.filesystem.mount-points-include", opts.mount_points_include, opts.mp_include},
        P{"--platform.filesystem.fs-types-exclude", opts.fs_types_exclude, opts.fs_exclude},
        P{"--platform.filesystem.fs-types-include", opts.fs_types_include, opts.fs_include}}) {
    auto r = compile(p.flag, p.pattern);
    if (!r.ok()) return r.error();
    p.out = std::move(*r);
  }
  return {};
}

// ---- pure parsers ----

namespace {

std::string_view next_line(std::string_view& text) {
  const std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return line;
}

// The next whitespace-separated field of `s` (spaces and tabs).
std::string_view next_field(std::string_view& s) {
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) b++;
  std::size_t e = b;
  while (e < s.size() && s[e] != ' ' && s[e] != '\t') e++;
  std::string_view f = s.substr(b, e - b);
  s.remove_prefix(e);
  return f;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::uint64_t kib_to_bytes(std::uint64_t kib) {
  return kib > UINT64_MAX / 1024 ? UINT64_MAX : kib * 1024;
}

}  // namespace

Meminfo parse_meminfo(std::string_view text) {
  Meminfo m;
  struct Field {
    std::string_view key;
    std::optional<std::uint64_t> Meminfo::*member;
  };
  static constexpr Field kFields[] = {
      {"MemTotal", &Meminfo::total},         {"MemFree", &Meminfo::free},
      {"MemAvailable", &Meminfo::available}, {"Buffers", &Meminfo::buffers},
      {"Cached", &Meminfo::cached},          {"SwapTotal", &Meminfo::swap_total},
      {"SwapFree", &Meminfo::swap_free},
  };
  while (!text.empty()) {
    std::string_view line = next_line(text);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    for (const Field& f : kFields) {
      if (key != f.key || (m.*f.member)) continue;
      std::string_view rest = line.substr(colon + 1);
      const auto v = to_u64(next_field(rest));
      if (!v) break;
      const std::string_view unit = next_field(rest);
      if (unit == "kB") {
        m.*f.member = kib_to_bytes(*v);
      } else if (unit.empty()) {
        m.*f.member = *v;
      }
      break;
    }
  }
  return m;
}

std::optional<std::array<std::uint64_t, 10>> parse_proc_stat_cpu(std::string_view text) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_field(line) != "cpu") continue;
    std::array<std::uint64_t, 10> t{};
    for (std::size_t i = 0; i < t.size(); i++) {
      const std::string_view f = next_field(line);
      if (f.empty()) break;
      const auto v = to_u64(f);
      if (!v) return std::nullopt;
      t[i] = *v;
    }
    return t;
  }
  return std::nullopt;
}

std::string unescape_mount_field(std::string_view f) {
  std::string out;
  out.reserve(f.size());
  for (std::size_t i = 0; i < f.size(); i++) {
    if (f[i] == '\\' && f.size() - i >= 4) {
      const char a = f[i + 1], b = f[i + 2], c = f[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out += static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0'));
        i += 3;
        continue;
      }
    }
    out += f[i];
  }
  return out;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text, std::size_t cap) {
  std::vector<MountEntry> out;
  while (!text.empty() && out.size() < cap) {
    std::string_view line = next_line(text);
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    next_field(line);  // mount id
    next_field(line);  // parent id
    const std::string_view dev = next_field(line);
    const std::string_view root = next_field(line);
    const std::string_view mountpoint = next_field(line);
    const std::string_view options = next_field(line);
    bool sep = false;
    for (std::string_view f = next_field(line); !f.empty(); f = next_field(line)) {
      if (f == "-") {
        sep = true;
        break;
      }
    }
    if (!sep || mountpoint.empty()) continue;
    const std::string_view fstype = next_field(line);
    const std::string_view source = next_field(line);
    const std::size_t colon = dev.find(':');
    if (fstype.empty() || colon == std::string_view::npos) continue;
    const auto major = to_u64(dev.substr(0, colon));
    const auto minor = to_u64(dev.substr(colon + 1));
    if (!major || !minor || *major > UINT32_MAX || *minor > UINT32_MAX) continue;
    MountEntry e;
    e.major = static_cast<std::uint32_t>(*major);
    e.minor = static_cast<std::uint32_t>(*minor);
    e.root = unescape_mount_field(root);
    e.mountpoint = unescape_mount_field(mountpoint);
    e.fstype = unescape_mount_field(fstype);
    e.source = unescape_mount_field(source);
    for (std::string_view o = options; !o.empty();) {
      const std::size_t comma = o.find(',');
      if (o.substr(0, comma) == "ro") e.read_only = true;
      o.remove_prefix(comma == std::string_view::npos ? o.size() : comma + 1);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_field(line) != key) continue;
    return to_u64(next_field(line));
  }
  return std::nullopt;
}

std::optional<std::uint64_t> single_value(std::string_view text) {
  std::string_view line = next_line(text);
  return to_u64(next_field(line));
}

std::int32_t min_pid(std::string_view procs) {
  std::int32_t best = 0;
  while (!procs.empty()) {
    const auto v = to_u64(next_line(procs));
    if (v && *v > 0 && *v <= INT32_MAX && (best == 0 || static_cast<std::int32_t>(*v) < best))
      best = static_cast<std::int32_t>(*v);
  }
  return best;
}

std::optional<std::string_view> environ_value(std::string_view env, std::string_view key) {
  while (!env.empty()) {
    const std::size_t nul = env.find('\0');
    const std::string_view var = env.substr(0, nul);
    env.remove_prefix(nul == std::string_view::npos ? env.size() : nul + 1);
    if (var.size() > key.size() && var.substr(0, key.size()) == key && var[key.size()] == '=')
      return var.substr(key.size() + 1);
  }
  return std::nullopt;
}

std::vector<std::size_t> select_filesystems(const std::vector<MountEntry>& mounts,
                                            const PlatformOptions& o) {
  std::vector<std::size_t> out;
  std::set<std::pair<std::uint32_t, std::uint32_t>> devices;
  // A later mount on the same mount point hides an earlier one: statfs sees only the top one.
  std::unordered_map<std::string_view, std::size_t> top;
  for (std::size_t i = 0; i < mounts.size(); i++) top[mounts[i].mountpoint] = i;
  for (std::size_t i = 0; i < mounts.size(); i++) {
    if (top[mounts[i].mountpoint] != i) continue;
    const MountEntry& m = mounts[i];
    if (std::regex_search(m.mountpoint, o.mp_exclude)) continue;
    if (!o.mount_points_include.empty() && !std::regex_search(m.mountpoint, o.mp_include)) continue;
    if (std::regex_search(m.fstype, o.fs_exclude)) continue;
    if (!o.fs_types_include.empty() && !std::regex_search(m.fstype, o.fs_include)) continue;
    if (!o.bind_mounts && !devices.insert({m.major, m.minor}).second) continue;
    out.push_back(i);
  }
  return out;
}

// ---- the source ----

namespace {

constexpr std::size_t kMaxFilesystems = 4096;
constexpr std::size_t kMaxMountinfoBytes = 16u << 20;
constexpr std::size_t kMaxContainers = 4096;

class PlatformSource final : public Source {
 public:
  explicit PlatformSource(PlatformOptions opts) : opts_(std::move(opts)) {}
  std::string_view name() const override { return "platform"; }

  Result<void> open(const SamplerPaths& paths) override {
    auto proc = UniqueFd::open(paths.procfs, O_RDONLY | O_DIRECTORY);
    if (!proc.ok()) return proc.error();
    proc_ = std::move(*proc);
    auto root = UniqueFd::open(paths.rootfs, O_RDONLY | O_DIRECTORY);
    if (!root.ok()) return root.error();
    root_ = std::move(*root);
    rootfs_ = paths.rootfs == "/" ? std::string() : paths.rootfs;
    procfs_ = paths.procfs;
    // LXC cgroups: absent (no cgroup mount) is not an error, there are simply no containers.
    cgroup_path_ = paths.sysfs + "/fs/cgroup";
    if (auto cg = UniqueFd::open(cgroup_path_, O_RDONLY | O_DIRECTORY); cg.ok())
      cgroup_ = std::move(*cg);
    while (!rootfs_.empty() && rootfs_.back() == '/') rootfs_.pop_back();
    const long hz = ::sysconf(_SC_CLK_TCK);
    clk_tck_ = hz > 0 ? static_cast<std::uint64_t>(hz) : 100;
    if (opts_.mask & shm::kPlatformLxc) {
      // lxc keeps up to 7 fds per container between cycles (its cgroup files and its init's
      // pidfd): the soft open-file limit is raised toward the hard one here, before the
      // seccomp filter, and at most half of it is used for them; containers past that are read
      // by path each cycle, as without the cache.
      struct rlimit rl {};
      if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        const rlim_t want = std::min<rlim_t>(rl.rlim_max, 8 * kMaxContainers + 1024);
        if (rl.rlim_cur < want) {
          rlimit raised = rl;
          raised.rlim_cur = want;
          if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
        }
        fd_budget_ = rl.rlim_cur == RLIM_INFINITY ? 8 * kMaxContainers
                                                  : static_cast<std::size_t>(rl.rlim_cur / 2);
      }
      // Memory limits are read again only when written (an inotify watch on each file); without
      // inotify (no instance left for root) they are read every cycle, as the other files.
      if (const int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC); in >= 0)
        limit_events_ = UniqueFd::adopt(in);
    }
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    shm::PlatformRecord r{};
    r.clk_tck = clk_tck_;
    const bool mounts_read = refresh_mounts();
    const std::vector<MountEntry>& mounts = mounts_;
    detect(out, mounts, &r);

    if (opts_.mask & shm::kPlatformCpu) {
      // Only the first line is needed; the intr line after it can be long on big hosts.
      if (read_small(proc_.get(), "stat", 16 * 1024, &buf_)) {
        if (const auto t = parse_proc_stat_cpu(buf_)) {
          std::copy(t->begin(), t->end(), r.cpu_ticks);
          r.collected |= shm::kPlatformCpu;
        }
      }
    }
    if (opts_.mask & shm::kPlatformMemory) {
      if (read_small(proc_.get(), "meminfo", 64 * 1024, &buf_)) {
        const Meminfo m = parse_meminfo(buf_);
        if (m.total && m.free) {
          r.collected |= shm::kPlatformMemory;
          r.mem_total = *m.total;
          r.mem_free = *m.free;
          if (m.available) {
            r.mem_available = *m.available;
            r.collected |= shm::kPlatformMemAvailable;
          }
          r.mem_buffers = m.buffers.value_or(0);
          r.mem_cached = m.cached.value_or(0);
          r.swap_total = m.swap_total.value_or(0);
          r.swap_free = m.swap_free.value_or(0);
        }
      }
    }
    if (opts_.mask & shm::kPlatformProcesses) {
      if (list_numeric(proc_.get(), ".", SIZE_MAX, &pids_)) {
        r.processes = pids_.size();
        r.collected |= shm::kPlatformProcesses;
      }
    }
    std::size_t n = 1;
    if ((opts_.mask & shm::kPlatformFilesystem) && mounts_read) {
      out.touch<shm::PlatformFilesystemRecord>();
      const auto chosen = select_filesystems(mounts, opts_);
      for (std::size_t k = 0; k < chosen.size(); k++) {
        if (k >= kMaxFilesystems) {
          out.add_dropped(shm::SectionType::kPlatformFilesystems, chosen.size() - k);
          break;
        }
        if (out.add(filesystem(out, mounts[chosen[k]]))) n++;
      }
      r.collected |= shm::kPlatformFilesystem;
    }
    if ((opts_.mask & shm::kPlatformLxc) && cgroup_.valid()) {
      out.touch<shm::PlatformContainerRecord>();
      n += containers(out);
      r.collected |= shm::kPlatformLxc;
    }
    out.add(r);
    if (opts_.mask != 0 && (r.collected & opts_.mask) == 0)
      return Error{EIO, "platform: none of --platform.collectors could be read under procfs"};
    return n;
  }

 private:
  // PID 1's mount table (else the sampler's own) into mounts_, read again only when the kernel
  // says it changed: a mountinfo fd polls POLLPRI|POLLERR once after each mount or unmount in
  // its namespace (proc(5)); reading it was a tenth of the cycle at 200 containers. A file that
  // is not a mount table (a fixture under --path.procfs) polls POLLOUT, as any regular file, and
  // is read every cycle. False when neither can be read.
  bool refresh_mounts() {
    if (mountinfo_.valid()) {
      pollfd p{mountinfo_.get(), POLLPRI | POLLOUT, 0};
      const timespec now{};
      if (::ppoll(&p, 1, &now, nullptr) == 0) return true;  // unchanged since the last read
    } else {
      for (const char* path : {"1/mountinfo", "self/mountinfo"}) {
        if (auto fd = UniqueFd::openat(proc_.get(), path, O_RDONLY); fd.ok()) {
          mountinfo_ = std::move(*fd);
          break;
        }
      }
    }
    // The whole file from offset 0 (a mountinfo read from 0 starts over).
    std::size_t have = 0;
    bool ok = mountinfo_.valid();
    buf_.resize(std::max<std::size_t>(buf_.size(), 64 * 1024));
    while (ok && have <= kMaxMountinfoBytes) {
      if (have == buf_.size()) buf_.resize(std::min(buf_.size() * 2, kMaxMountinfoBytes + 1));
      const ssize_t n = ::pread(mountinfo_.get(), buf_.data() + have, buf_.size() - have,
                                static_cast<off_t>(have));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      if (n <= 0) break;
      have += static_cast<std::size_t>(n);
    }
    if (!ok) {
      mountinfo_.reset();
      mounts_.clear();
      return false;
    }
    mounts_ = parse_mountinfo(std::string_view(buf_).substr(0, std::min(have, kMaxMountinfoBytes)));
    return true;
  }

  // The facts detect_container() and Proxmox's detection look at (layout.h PlatformFacts).
  void detect(shm::SnapshotBuilder& out, const std::vector<MountEntry>& mounts,
              shm::PlatformRecord* r) {
    struct stat st {};
    auto exists = [&](int dirfd, const char* path) {
      return ::fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
    };
    if (exists(proc_.get(), "vz")) r->facts |= shm::kPlatformProcVz;
    if (exists(proc_.get(), "bc")) r->facts |= shm::kPlatformProcBc;
    if (read_small(proc_.get(), "sys/kernel/osrelease", 256, &buf_))
      r->osrelease = out.add_string(first_line(buf_), 256);
    if (read_small(root_.get(), "run/host/container-manager", 256, &buf_)) {
      r->facts |= shm::kPlatformContainerManager;
      r->container_manager = out.add_string(first_line(buf_), 256);
    }
    if (read_small(root_.get(), "run/systemd/container", 256, &buf_)) {
      r->facts |= shm::kPlatformSystemdContainer;
      r->systemd_container = out.add_string(first_line(buf_), 256);
    }
    // Only container= leaves the sampler: the rest of PID 1's environment may hold secrets.
    if (read_small(proc_.get(), "1/environ", 256 * 1024, &buf_)) {
      if (const auto v = environ_value(buf_, "container")) {
        r->facts |= shm::kPlatformPid1Container;
        r->pid1_container = out.add_string(*v, 256);
      }
    } else {
      r->facts |= shm::kPlatformPid1EnvUnreadable;
    }
    if (exists(root_.get(), "run/.containerenv")) r->facts |= shm::kPlatformContainerenv;
    if (exists(root_.get(), ".dockerenv")) r->facts |= shm::kPlatformDockerenv;
    if (exists(root_.get(), "usr/bin/pveversion")) r->facts |= shm::kPlatformPveVersion;
    for (const MountEntry& m : mounts) {
      if (m.mountpoint == "/etc/pve" && m.fstype.rfind("fuse", 0) == 0)
        r->facts |= shm::kPlatformPveMount;
    }
  }

  shm::PlatformFilesystemRecord filesystem(shm::SnapshotBuilder& out, const MountEntry& m) {
    shm::PlatformFilesystemRecord f{};
    f.device = out.add_string(m.source, 256);
    f.mountpoint = out.add_string(m.mountpoint, 4096);
    f.fstype = out.add_string(m.fstype, 64);
    f.dev_major = m.major;
    f.dev_minor = m.minor;
    if (m.read_only) f.flags |= shm::kFsReadOnly;
    struct statfs s {};
    const std::string path = rootfs_ + m.mountpoint;
    if (::statfs(path.c_str(), &s) != 0) {
      f.statfs_errno = errno;
      return f;
    }
    const auto frsize = static_cast<std::uint64_t>(s.f_frsize ? s.f_frsize : s.f_bsize);
    f.size_bytes = static_cast<std::uint64_t>(s.f_blocks) * frsize;
    f.free_bytes = static_cast<std::uint64_t>(s.f_bfree) * frsize;
    f.avail_bytes = static_cast<std::uint64_t>(s.f_bavail) * frsize;
    f.files = s.f_files;
    f.files_free = s.f_ffree;
    if (s.f_flags & ST_RDONLY) f.flags |= shm::kFsReadOnly;
    return f;
  }

  static std::string_view first_line(std::string_view s) { return s.substr(0, s.find('\n')); }

  // The subdirectories of `dirfd`/`path` (at most kMaxContainers).
  static std::vector<std::string> subdirs(int dirfd, const std::string& path) {
    std::vector<std::string> out;
    const int fd = ::openat(dirfd, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return out;
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return out;
    }
    while (const dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      if (out.size() >= kMaxContainers) break;
      out.emplace_back(e->d_name);
    }
    ::closedir(d);
    return out;
  }

  // The smallest pid in `dir`/cgroup.procs and below (LXC nests: lxc/<vmid>/ns/init.scope).
  std::int32_t init_pid(const std::string& dir, int depth) {
    std::int32_t best = 0;
    if (read_small(cgroup_.get(), dir + "/cgroup.procs", 1u << 20, &buf_)) best = min_pid(buf_);
    if (depth == 0) return best;
    for (const std::string& sub : subdirs(cgroup_.get(), dir)) {
      const std::int32_t p = init_pid(dir + "/" + sub, depth - 1);
      if (p && (!best || p < best)) best = p;
    }
    return best;
  }

  // ---- per-container state kept between cycles ----
  //
  // Opening a cgroup file by path costs a walk through cgroupfs and a kernfs open and release on
  // every read; the files are therefore opened once per container and re-read each cycle with one
  // pread() at offset 0: a cgroup control file is one seq_file record, which a read from offset 0
  // regenerates whole (the buffer is larger than any of them; lseek + read was a syscall more).
  // Once the cgroup is removed its open files fail with ENODEV -- also when a cgroup of the same
  // name was made again -- and the container's files are then reopened by path. The init pid is
  // found once (the cgroup.procs walk) and kept with a pidfd, which polls readable once that
  // process has exited even if its pid number was given to another: the cached pid is used only
  // while its pidfd says it lives, so a restarted container's new init is followed. Every
  // kRefreshCycles cycles (staggered per container) the walk runs again and missing files are
  // retried, so the result equals a fresh walk (the smallest pid) within that many cycles even if a
  // smaller pid joins a running container. The memory limit, which only a write changes, is read
  // again only after an inotify IN_MODIFY on its file (ct_limit), and at that refresh.
  enum CtFile : std::size_t { kUsage, kStat, kLimit, kSwap, kCpu, kPids, kCtFiles };
  static constexpr std::uint64_t kRefreshCycles = 64;
  static constexpr std::size_t kCgroupFileCap = 64 * 1024;
  struct Container {
    std::string id;
    bool proxmox = false;
    std::uint64_t listed = 0;  // the cycle that last listed it
    std::uint64_t slot = 0;    // staggers the refreshes
    std::array<UniqueFd, kCtFiles> fd;
    std::uint32_t absent = 0;   // bit per CtFile that could not be opened (until a refresh)
    std::int32_t init = 0;      // cached init pid, valid while init_pidfd says it has not exited
    UniqueFd init_pidfd;        // pidfd_open(init)
    std::string root;           // <procfs>/<init>/root/
    int limit_wd = -1;          // inotify watch on its limit file (-1: none, -2: failed)
    bool limit_cached = false;  // `limit` holds the file's value since the last write to it
    std::optional<std::uint64_t> limit;
  };

  // The relative path of a container's file below the cgroup mount.
  std::string ct_path(const std::string& rel, CtFile f) const {
    static constexpr const char* kV1[kCtFiles] = {
        "memory.usage_in_bytes",       "memory.stat",   "memory.limit_in_bytes",
        "memory.memsw.usage_in_bytes", "cpuacct.usage", "pids.current"};
    static constexpr const char* kV2[kCtFiles] = {"memory.current", "memory.stat",
                                                  "memory.max",     "memory.swap.current",
                                                  "cpu.stat",       "pids.current"};
    if (v2_) return rel + "/" + kV2[f];
    const std::string& h = f == kCpu ? cpu_h_ : f == kPids ? pids_h_ : mem_h_;
    return h + rel + "/" + kV1[f];
  }

  void close_files(Container& c) {
    for (UniqueFd& fd : c.fd) {
      if (fd.valid()) held_--;
      fd.reset();
    }
    c.absent = 0;
    forget_limit(c);
  }
  void forget_limit(Container& c) {
    if (c.limit_wd >= 0) {
      ::inotify_rm_watch(limit_events_.get(), c.limit_wd);  // EINVAL once its file is gone: fine
      limit_owner_.erase(c.limit_wd);
    }
    c.limit_wd = -1;
    c.limit_cached = false;
  }

  // The limit of `c`: the value read when its file was last written, or the file now. The watch
  // is added before the read, so a write after the read is an event the next cycle sees; a write
  // between the drain of the events and the read is both read now and seen next cycle (read again,
  // harmless). The kernel never changes a limit by itself, so the cached value is exact.
  std::optional<std::uint64_t> ct_limit(Container& c, const std::string& rel, bool* stale) {
    if (c.limit_cached) return c.limit;
    // A failed add (no such file, or root's max_user_watches used up) is tried again only at the
    // refresh: a syscall per cycle that fails would cost more than the read it saves.
    if (c.limit_wd == -1 && limit_events_.valid() && !(c.absent & (1u << kLimit))) {
      const int wd = ::inotify_add_watch(limit_events_.get(),
                                         (cgroup_path_ + "/" + ct_path(rel, kLimit)).c_str(),
                                         IN_MODIFY | IN_DONT_FOLLOW);
      if (wd >= 0) {
        // One watch per inode: a wd already owned is another container's file (cannot happen:
        // distinct cgroups), then this one is not cached.
        if (limit_owner_.emplace(wd, rel).second) c.limit_wd = wd;
      } else {
        c.limit_wd = -2;
      }
    }
    c.limit = ct_value(c, rel, kLimit, stale);
    c.limit_cached = c.limit_wd >= 0 && !*stale;
    return c.limit;
  }

  // The writes to watched limit files since the last cycle: those containers read theirs again.
  // A full queue (IN_Q_OVERFLOW) lost some: all do.
  void drain_limit_events() {
    if (!limit_events_.valid()) return;
    alignas(inotify_event) char buf[4096];
    for (;;) {
      const ssize_t n = ::read(limit_events_.get(), buf, sizeof buf);
      if (n <= 0) return;  // EAGAIN: drained
      for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {
          for (auto& [rel, c] : cts_) c.limit_cached = false;
          continue;
        }
        const auto owner = limit_owner_.find(ev->wd);
        if (owner == limit_owner_.end()) continue;
        const auto it = cts_.find(owner->second);
        if (ev->mask & IN_IGNORED) {  // the watch is gone (its file was removed)
          limit_owner_.erase(owner);
          if (it != cts_.end()) {
            it->second.limit_wd = -1;
            it->second.limit_cached = false;
          }
        } else if (it != cts_.end()) {
          it->second.limit_cached = false;
        }
      }
    }
  }
  void forget_init(Container& c) {
    if (c.init_pidfd.valid()) held_--;
    c.init_pidfd.reset();
    c.init = 0;
  }

  // Whole text of cgroup file `f` of `c` (a view into scratch_), or nullopt. *stale is set when a
  // kept fd failed: its cgroup is gone.
  std::optional<std::string_view> ct_read(Container& c, const std::string& rel, CtFile f,
                                          bool* stale) {
    UniqueFd transient;
    int fd = c.fd[f].get();
    if (fd < 0) {
      if (c.absent & (1u << f)) return std::nullopt;
      const int o =
          ::openat(cgroup_.get(), ct_path(rel, f).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (o < 0) {
        c.absent |= 1u << f;
        return std::nullopt;
      }
      fd = o;
      if (held_ < fd_budget_) {
        c.fd[f] = UniqueFd::adopt(o);
        held_++;
      } else {
        transient = UniqueFd::adopt(o);  // over the budget: read once, closed below
      }
    }
    ssize_t n;
    do {
      n = ::pread(fd, scratch_.data(), kCgroupFileCap + 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (!transient.valid()) *stale = true;
      return std::nullopt;
    }
    return std::string_view(scratch_.data(), std::min(static_cast<std::size_t>(n), kCgroupFileCap));
  }
  std::optional<std::uint64_t> ct_value(Container& c, const std::string& rel, CtFile f,
                                        bool* stale) {
    const auto t = ct_read(c, rel, f, stale);
    return t ? single_value(*t) : std::nullopt;
  }
  std::optional<std::uint64_t> ct_keyed(Container& c, const std::string& rel, CtFile f,
                                        std::string_view key, bool* stale) {
    const auto t = ct_read(c, rel, f, stale);
    return t ? keyed_value(*t, key) : std::nullopt;
  }

  // The cgroup figures of `r` from `c`'s files; false when a kept file turned out stale (the
  // figures are then incomplete).
  bool ct_figures(Container& c, const std::string& rel, shm::PlatformContainerRecord& r) {
    bool stale = false;
    const auto usage = ct_value(c, rel, kUsage, &stale);
    const auto cache = ct_keyed(c, rel, kStat, v2_ ? "file" : "total_cache", &stale);
    if (usage && cache) {
      r.flags |= shm::kCtHasMemory;
      r.memory_usage = *usage;
      r.memory_cache = *cache;
    }
    // v1 says "no limit" with a page-rounded LONG_MAX.
    if (const auto lim = ct_limit(c, rel, &stale); lim && *lim < (1ull << 62)) {
      r.flags |= shm::kCtHasLimit;
      r.memory_limit = *lim;
    }
    if (const auto sw = ct_value(c, rel, kSwap, &stale); sw && (v2_ || usage)) {
      // v1: memsw is memory + swap.
      r.flags |= shm::kCtHasSwap;
      r.swap_usage = v2_ ? *sw : (*sw > *usage ? *sw - *usage : 0);
    }
    if (v2_) {
      if (const auto us = ct_keyed(c, rel, kCpu, "usage_usec", &stale)) {
        r.flags |= shm::kCtHasCpu;
        r.cpu_usage_ns = *us * 1000;
      }
    } else if (const auto ns = ct_value(c, rel, kCpu, &stale)) {
      r.flags |= shm::kCtHasCpu;
      r.cpu_usage_ns = *ns;
    }
    if (const auto p = ct_value(c, rel, kPids, &stale)) {
      r.flags |= shm::kCtHasPids;
      r.pids_current = *p;
    }
    return !stale;
  }

  // The root filesystem figures of `c` into pending_[k]: statfs of its init's /proc/<pid>/root/.
  // That path names a pid number, so the figures count only if the process was still alive after
  // the statfs (then the number was not yet anyone else's): the init's pidfd is queued in checks_,
  // and verify_inits() polls every container's at once (one ppoll a cycle, where a per-container
  // liveness lookup was a syscall each).
  void ct_rootfs(Container& c, const std::string& rel, std::size_t k) {
    shm::PlatformContainerRecord& r = pending_[k].r;
    if (c.init > 0) {
      struct statfs sf {};
      if (::statfs(c.root.c_str(), &sf) == 0) {
        r.init_pid = c.init;
        set_rootfs(r, sf);
        checks_.push_back({k, c.init_pidfd.get()});
        return;
      }
      forget_init(c);  // gone, or its root is: found again
    }
    const std::int32_t pid = init_pid((v2_ ? "" : pids_h_) + rel, 3);
    r.init_pid = pid;
    if (pid <= 0) return;
    // Opened before the statfs: a process that exits in between polls readable, so the figures
    // of whoever got its number are never taken for the container's.
    // By number: glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37). Both arguments
    // as long, so the flags register the seccomp rule compares with 0 is 0 in all 64 bits.
    const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<long>(pid), 0L));
    if (pfd < 0) {
      r.rootfs_errno = errno;
      return;
    }
    UniqueFd pidfd = UniqueFd::adopt(pfd);
    char num[16];
    const auto end = std::to_chars(num, num + sizeof num - 1, pid).ptr;
    *end = '\0';
    c.root = procfs_ + "/" + num + "/root/";
    struct statfs sf {};
    if (::statfs(c.root.c_str(), &sf) != 0) {
      r.rootfs_errno = errno;
      return;
    }
    set_rootfs(r, sf);
    if (held_ < fd_budget_) {
      c.init = pid;
      c.init_pidfd = std::move(pidfd);
      held_++;
      checks_.push_back({k, c.init_pidfd.get()});
    } else {  // over the budget: checked this cycle, found again the next
      checks_.push_back({k, pidfd.get()});
      transient_.push_back(std::move(pidfd));
    }
  }
  static void set_rootfs(shm::PlatformContainerRecord& r, const struct statfs& sf) {
    const auto fr = static_cast<std::uint64_t>(sf.f_frsize ? sf.f_frsize : sf.f_bsize);
    r.flags |= shm::kCtHasRootfs;
    r.rootfs_size = static_cast<std::uint64_t>(sf.f_blocks) * fr;
    r.rootfs_free = static_cast<std::uint64_t>(sf.f_bfree) * fr;
    r.rootfs_avail = static_cast<std::uint64_t>(sf.f_bavail) * fr;
  }

  // The statfs figures queued in checks_ stay only where the init's pidfd is not readable (the
  // process has not exited). A cached init that has exited is forgotten and its container's init
  // found again now (a restart: the new init's figures, checked the same way, once).
  void verify_inits() {
    for (int round = 0; round < 2 && !checks_.empty(); round++) {
      polls_.clear();
      for (const RootfsCheck& k : checks_) polls_.push_back(pollfd{k.pidfd, POLLIN, 0});
      const timespec now{};
      int rc;
      do {
        rc = ::ppoll(polls_.data(), polls_.size(), &now, nullptr);
      } while (rc < 0 && errno == EINTR);
      const int poll_errno = rc < 0 ? errno : ESRCH;
      std::vector<std::size_t> exited;
      for (std::size_t i = 0; i < checks_.size(); i++) {
        if (rc == 0 || (rc > 0 && polls_[i].revents == 0)) continue;  // alive (or none exited)
        Pending& p = pending_[checks_[i].record];
        p.r.flags &= ~shm::kCtHasRootfs;
        p.r.rootfs_size = p.r.rootfs_free = p.r.rootfs_avail = 0;
        p.r.rootfs_errno = poll_errno;
        if (p.c->init_pidfd.get() == checks_[i].pidfd) forget_init(*p.c);
        if (rc > 0) exited.push_back(checks_[i].record);
      }
      checks_.clear();
      transient_.clear();
      if (round == 0) {
        for (const std::size_t k : exited) {
          pending_[k].r.rootfs_errno = 0;
          pending_[k].r.init_pid = 0;
          ct_rootfs(*pending_[k].c, *pending_[k].rel, k);
        }
      }
    }
  }

  // One record per LXC container (Proxmox lxc/<vmid>, plain LXC/Incus lxc.payload.<name>).
  std::size_t containers(shm::SnapshotBuilder& out) {
    cycle_++;
    struct stat st {};
    v2_ = ::fstatat(cgroup_.get(), "cgroup.controllers", &st, 0) == 0;
    // v1/hybrid: one hierarchy per controller (cpuacct may be joined with cpu).
    mem_h_ = v2_ ? "" : "memory/";
    cpu_h_ = "cpuacct/";
    if (!v2_ && ::fstatat(cgroup_.get(), "cpuacct", &st, 0) != 0) cpu_h_ = "cpu,cpuacct/";
    pids_h_ = v2_ ? "" : "pids/";
    drain_limit_events();
    listed_.clear();  // the cgroup paths (keys of cts_) of this cycle, in listing order
    for (const std::string& vmid : subdirs(cgroup_.get(), mem_h_ + "lxc")) {
      if (vmid.find_first_not_of("0123456789") == std::string::npos)
        listed_.push_back("lxc/" + vmid);
    }
    for (std::string& d : subdirs(cgroup_.get(), v2_ ? "." : "memory")) {
      if (d.rfind("lxc.payload.", 0) == 0 && d.size() > 12) listed_.push_back(std::move(d));
    }
    // Proxmox's configs: /etc/pve/lxc (a FUSE mount) looked up once per cycle, not per container.
    const bool pve_dir = ::fstatat(root_.get(), "etc/pve/lxc", &st, 0) == 0;
    pending_.clear();
    checks_.clear();
    transient_.clear();
    for (const std::string& rel : listed_) {
      auto [it, fresh] = cts_.try_emplace(rel);
      Container& c = it->second;
      if (fresh) {
        c.proxmox = rel.rfind("lxc/", 0) == 0;
        c.id = rel.substr(c.proxmox ? 4 : 12);
        c.slot = next_slot_++;
      }
      if (c.listed == cycle_) continue;  // listed twice (cannot happen: distinct prefixes)
      c.listed = cycle_;
      if ((cycle_ + c.slot) % kRefreshCycles == 0) {
        c.absent = 0;
        forget_init(c);
        c.limit_cached = false;  // and the limit read again, whatever the events said
        if (c.limit_wd == -2) c.limit_wd = -1;
      }
      bool any_open = false;
      for (const UniqueFd& fd : c.fd) any_open |= fd.valid();
      if (!any_open) c.absent = 0;  // nothing of an earlier cgroup of this name is trusted

      const std::size_t k = pending_.size();
      pending_.push_back(Pending{&c, &rel, {}});
      shm::PlatformContainerRecord& r = pending_[k].r;
      r.id = out.add_string(c.id, 256);
      if (c.proxmox) r.flags |= shm::kCtProxmox;
      if (v2_) r.flags |= shm::kCtCgroupV2;
      if (!ct_figures(c, rel, r)) {
        // A kept file of a removed cgroup (ENODEV): this is a new cgroup of the same name, or
        // none; its files and its init are found again.
        close_files(c);
        forget_init(c);
        const auto id = r.id;
        const auto flags = r.flags & (shm::kCtProxmox | shm::kCtCgroupV2);
        r = shm::PlatformContainerRecord{};
        r.id = id;
        r.flags = flags;
        ct_figures(c, rel, r);
      }
      ct_rootfs(c, rel, k);
      // Proxmox's config (root:www-data 0640): raw bytes, the exporter reads hostname: from it.
      if (c.proxmox && pve_dir) {
        bool truncated = false;
        if (read_small(root_.get(), "etc/pve/lxc/" + c.id + ".conf", 64 * 1024, &buf_,
                       &truncated)) {
          r.flags |= shm::kCtConfigRead | (truncated ? shm::kCtConfigTruncated : 0u);
          r.config = out.add_string(buf_, 64 * 1024);
        }
      }
    }
    verify_inits();
    std::size_t n = 0;
    for (const Pending& p : pending_)
      if (out.add(p.r)) n++;
    // Containers no longer listed: their cgroups are gone, and their fds go too.
    for (auto it = cts_.begin(); it != cts_.end();) {
      if (it->second.listed == cycle_) {
        ++it;
        continue;
      }
      close_files(it->second);
      forget_init(it->second);
      it = cts_.erase(it);
    }
    return n;
  }

  PlatformOptions opts_;
  UniqueFd proc_, root_;
  std::string rootfs_, procfs_;
  UniqueFd cgroup_;
  std::string cgroup_path_;  // <sysfs>/fs/cgroup, for inotify_add_watch (which takes a path)
  UniqueFd limit_events_;    // inotify: writes to the containers' memory limit files
  std::unordered_map<int, std::string> limit_owner_;  // its watches -> keys of cts_
  std::uint64_t clk_tck_ = 100;
  UniqueFd mountinfo_;              // <procfs>/1/mountinfo (or self/), kept for its poll
  std::vector<MountEntry> mounts_;  // its entries at the last read
  std::string buf_;
  std::vector<int> pids_;
  // lxc: the state above, by the container's cgroup path below each hierarchy.
  std::unordered_map<std::string, Container> cts_;
  std::vector<std::string> listed_;
  // This cycle's records, in listing order, until verify_inits() has checked their statfs.
  struct Pending {
    Container* c;
    const std::string* rel;  // in listed_
    shm::PlatformContainerRecord r;
  };
  struct RootfsCheck {
    std::size_t record;  // in pending_
    int pidfd;           // the init's (its Container's, or one of transient_)
  };
  std::vector<Pending> pending_;
  std::vector<RootfsCheck> checks_;
  std::vector<UniqueFd> transient_;  // pidfds over the fd budget, closed after the check
  std::vector<pollfd> polls_;
  std::vector<char> scratch_ = std::vector<char>(kCgroupFileCap + 1);
  std::uint64_t cycle_ = 0, next_slot_ = 0;
  std::size_t held_ = 0, fd_budget_ = 0;  // fds kept in cts_, and how many may be
  bool v2_ = false;
  std::string mem_h_, cpu_h_, pids_h_;  // v1: "memory/" etc., v2: ""
};

}  // namespace

std::unique_ptr<Source> make_platform_source(PlatformOptions opts) {
  return std::make_unique<PlatformSource>(std::move(opts));
}

}  // namespace hostflow::sampler
