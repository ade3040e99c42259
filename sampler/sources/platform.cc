#include "sources/platform.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
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
    if (auto cg = UniqueFd::open(paths.sysfs + "/fs/cgroup", O_RDONLY | O_DIRECTORY); cg.ok())
      cgroup_ = std::move(*cg);
    while (!rootfs_.empty() && rootfs_.back() == '/') rootfs_.pop_back();
    const long hz = ::sysconf(_SC_CLK_TCK);
    clk_tck_ = hz > 0 ? static_cast<std::uint64_t>(hz) : 100;
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    shm::PlatformRecord r{};
    r.clk_tck = clk_tck_;
    std::vector<MountEntry> mounts;
    bool mounts_read = false;
    if (read_small(proc_.get(), "1/mountinfo", kMaxMountinfoBytes, &buf_) ||
        read_small(proc_.get(), "self/mountinfo", kMaxMountinfoBytes, &buf_)) {
      mounts = parse_mountinfo(buf_);
      mounts_read = true;
    }
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

  std::optional<std::uint64_t> cg_value(const std::string& path) {
    if (!read_small(cgroup_.get(), path, 4096, &buf_)) return std::nullopt;
    return single_value(buf_);
  }
  std::optional<std::uint64_t> cg_keyed(const std::string& path, std::string_view key) {
    if (!read_small(cgroup_.get(), path, 64 * 1024, &buf_)) return std::nullopt;
    return keyed_value(buf_, key);
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

  // One record per LXC container (Proxmox lxc/<vmid>, plain LXC/Incus lxc.payload.<name>).
  std::size_t containers(shm::SnapshotBuilder& out) {
    struct stat st {};
    const bool v2 = ::fstatat(cgroup_.get(), "cgroup.controllers", &st, 0) == 0;
    // v1/hybrid: one hierarchy per controller (cpuacct may be joined with cpu).
    const std::string mem = v2 ? "" : "memory/";
    std::string cpu = "cpuacct/";
    if (!v2 && ::fstatat(cgroup_.get(), "cpuacct", &st, 0) != 0) cpu = "cpu,cpuacct/";
    const std::string pids = v2 ? "" : "pids/";
    struct Ct {
      std::string id, rel;  // rel: the container's cgroup below each hierarchy
      bool proxmox;
    };
    std::vector<Ct> cts;
    for (const std::string& vmid : subdirs(cgroup_.get(), mem + "lxc")) {
      if (vmid.find_first_not_of("0123456789") == std::string::npos)
        cts.push_back({vmid, "lxc/" + vmid, true});
    }
    for (const std::string& d : subdirs(cgroup_.get(), v2 ? "." : "memory")) {
      if (d.rfind("lxc.payload.", 0) == 0 && d.size() > 12) cts.push_back({d.substr(12), d, false});
    }
    std::size_t n = 0;
    for (const Ct& c : cts) {
      shm::PlatformContainerRecord r{};
      r.id = out.add_string(c.id, 256);
      if (c.proxmox) r.flags |= shm::kCtProxmox;
      if (v2) r.flags |= shm::kCtCgroupV2;
      const std::string m = mem + c.rel + "/";
      const auto usage = cg_value(m + (v2 ? "memory.current" : "memory.usage_in_bytes"));
      const auto cache = cg_keyed(m + "memory.stat", v2 ? "file" : "total_cache");
      if (usage && cache) {
        r.flags |= shm::kCtHasMemory;
        r.memory_usage = *usage;
        r.memory_cache = *cache;
      }
      // v1 says "no limit" with a page-rounded LONG_MAX.
      if (const auto lim = cg_value(m + (v2 ? "memory.max" : "memory.limit_in_bytes"));
          lim && *lim < (1ull << 62)) {
        r.flags |= shm::kCtHasLimit;
        r.memory_limit = *lim;
      }
      if (v2) {
        if (const auto sw = cg_value(m + "memory.swap.current")) {
          r.flags |= shm::kCtHasSwap;
          r.swap_usage = *sw;
        }
      } else if (const auto memsw = cg_value(m + "memory.memsw.usage_in_bytes"); memsw && usage) {
        r.flags |= shm::kCtHasSwap;
        r.swap_usage = *memsw > *usage ? *memsw - *usage : 0;
      }
      if (v2) {
        if (const auto us = cg_keyed(c.rel + "/cpu.stat", "usage_usec")) {
          r.flags |= shm::kCtHasCpu;
          r.cpu_usage_ns = *us * 1000;
        }
      } else if (const auto ns = cg_value(cpu + c.rel + "/cpuacct.usage")) {
        r.flags |= shm::kCtHasCpu;
        r.cpu_usage_ns = *ns;
      }
      if (const auto p = cg_value(pids + c.rel + "/pids.current")) {
        r.flags |= shm::kCtHasPids;
        r.pids_current = *p;
      }
      r.init_pid = init_pid((v2 ? "" : pids) + c.rel, 3);
      if (r.init_pid > 0) {
        struct statfs sf {};
        const std::string root = procfs_ + "/" + std::to_string(r.init_pid) + "/root/";
        if (::statfs(root.c_str(), &sf) == 0) {
          const auto fr = static_cast<std::uint64_t>(sf.f_frsize ? sf.f_frsize : sf.f_bsize);
          r.flags |= shm::kCtHasRootfs;
          r.rootfs_size = static_cast<std::uint64_t>(sf.f_blocks) * fr;
          r.rootfs_free = static_cast<std::uint64_t>(sf.f_bfree) * fr;
          r.rootfs_avail = static_cast<std::uint64_t>(sf.f_bavail) * fr;
        } else {
          r.rootfs_errno = errno;
        }
      }
      // Proxmox's config (root:www-data 0640): raw bytes, the exporter reads hostname: from it.
      if (c.proxmox) {
        bool truncated = false;
        if (read_small(root_.get(), "etc/pve/lxc/" + c.id + ".conf", 64 * 1024, &buf_,
                       &truncated)) {
          r.flags |= shm::kCtConfigRead | (truncated ? shm::kCtConfigTruncated : 0u);
          r.config = out.add_string(buf_, 64 * 1024);
        }
      }
      if (out.add(r)) n++;
    }
    return n;
  }

  PlatformOptions opts_;
  UniqueFd proc_, root_;
  std::string rootfs_, procfs_;
  UniqueFd cgroup_;
  std::uint64_t clk_tck_ = 100;
  std::string buf_;
  std::vector<int> pids_;
};

}  // namespace

std::unique_ptr<Source> make_platform_source(PlatformOptions opts) {
  return std::make_unique<PlatformSource>(std::move(opts));
}

}  // namespace hostflow::sampler
