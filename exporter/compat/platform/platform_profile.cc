#include "compat/platform/platform_profile.h"

#include <unistd.h>

#include <cctype>
#include <optional>
#include <unordered_map>

#include "config.h"
#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

using metrics::Family;

namespace {

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// The only sample of an unlabelled native gauge, if rendered.
std::optional<double> single(const NativeFamilies& n, std::string_view name) {
  const Family* f = n.find(name);
  if (!f || f->size() == 0) return std::nullopt;
  return f->value(0);
}

// Values of a per-container native family by container_id.
std::unordered_map<std::string_view, double> by_container(const NativeFamilies& n,
                                                          std::string_view name) {
  std::unordered_map<std::string_view, double> out;
  const Family* f = n.find(name);
  if (!f) return out;
  const Column id(f, "container_id");
  for (std::size_t s = 0; s < f->size(); s++) out.emplace(id(s), f->value(s));
  return out;
}

std::optional<double> lookup(const std::unordered_map<std::string_view, double>& m,
                             std::string_view id) {
  const auto it = m.find(id);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

double minus(double a, double b) {
  return a > b ? a - b : 0;
}

// One machine as the seed, running there, would report it.
struct Machine {
  std::string host_name, container_id;
  std::optional<double> usage, free, available, total;
  struct Fs {
    std::string device, fstype;
    double usage, avail, size;
  };
  std::optional<Fs> root;  // the filesystem at "/" (the seed runs `df -T /`)
  std::optional<double> processes;
};

class PlatformProfile final : public Profile {
 public:
  explicit PlatformProfile(std::string hostname) : hostname_(std::move(hostname)) {}

  void emit(const ProfileInput& in, metrics::FamilySet& out) override {
    const NativeFamilies& n = in.native;
    if (!n.find("hostflow_platform_info")) return;  // no fresh platform snapshot
    std::vector<Machine> machines;
    machines.push_back(host(n));
    containers(n, machines);

    auto family = [&](const char* name, const char* help, auto value, bool fs) {
      Family f(name, help, metrics::Type::kGauge);
      if (fs)
        f.set_label_names(
            {"host_name", "container_id", "instance", "device", "mountpoint", "fstype"});
      else
        f.set_label_names({"host_name", "container_id", "instance"});
      for (const Machine& m : machines) {
        const std::optional<double> v = value(m);
        if (!v) continue;
        // Both parts are capped label values already; the pair gets the one cap again.
        const std::string instance = sanitize_label(m.host_name + ":" + m.container_id);
        if (fs)
          f.add_values({m.host_name, m.container_id, instance, m.root->device, "/", m.root->fstype},
                       *v);
        else
          f.add_values({m.host_name, m.container_id, instance}, *v);
      }
      out.add(std::move(f));
    };
    auto root = [](auto field) {
      return [field](const Machine& m) -> std::optional<double> {
        if (!m.root) return std::nullopt;
        return (*m.root).*field;
      };
    };
    // The seed's collectors in its order: memory, disk, process.
    family(
        "node_memory_usage_bytes", "Memory currently in use in bytes",
        [](const Machine& m) { return m.usage; }, false);
    family(
        "node_memory_free_bytes", "Amount of free memory in bytes",
        [](const Machine& m) { return m.free; }, false);
    family(
        "node_memory_available_bytes", "Memory available for allocation in bytes",
        [](const Machine& m) { return m.available; }, false);
    family(
        "node_memory_total_bytes", "Total memory in bytes",
        [](const Machine& m) { return m.total; }, false);
    family("node_filesystem_usage_bytes", "Filesystem space used in bytes",
           root(&Machine::Fs::usage), true);
    family("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes",
           root(&Machine::Fs::avail), true);
    family("node_filesystem_size_bytes", "Filesystem size in bytes", root(&Machine::Fs::size),
           true);
    family(
        "node_processes_total", "Number of processes", [](const Machine& m) { return m.processes; },
        false);
  }

 private:
  // The machine the sampler runs on (a host, a Proxmox host, or the LXC guest it runs in).
  Machine host(const NativeFamilies& n) const {
    Machine m;
    m.host_name = hostname_;
    const auto total = single(n, "hostflow_platform_memory_total_bytes");
    const auto free = single(n, "hostflow_platform_memory_free_bytes");
    const auto buffers = single(n, "hostflow_platform_memory_buffers_bytes");
    const auto cached = single(n, "hostflow_platform_memory_cached_bytes");
    if (total && free && buffers && cached) {
      // The seed's /proc/meminfo rule: used = MemTotal - MemFree - Buffers - Cached, free =
      // total - used; available = MemAvailable (without it, that free figure).
      m.total = *total;
      m.usage = minus(*total, *free + *buffers + *cached);
      m.free = *total - *m.usage;
      m.available = single(n, "hostflow_platform_memory_available_bytes").value_or(*m.free);
    }
    std::string_view root_device;
    if (const Family* size = n.find("hostflow_platform_filesystem_size_bytes")) {
      const Column dev(size, "device"), mp(size, "mountpoint"), type(size, "fstype");
      const Family* used = n.find("hostflow_platform_filesystem_used_bytes");
      const Family* avail = n.find("hostflow_platform_filesystem_avail_bytes");
      const Column used_mp(used, "mountpoint"), avail_mp(avail, "mountpoint");
      for (std::size_t s = 0; s < size->size() && used && avail; s++) {
        if (mp(s) != "/") continue;
        // used and avail carry the same filesystems in the same order as size (platform area).
        if (s >= used->size() || s >= avail->size() || used_mp(s) != "/" || avail_mp(s) != "/")
          break;
        m.root = Machine::Fs{std::string(dev(s)), std::string(type(s)), used->value(s),
                             avail->value(s), size->value(s)};
        root_device = dev(s);
        break;
      }
    }
    m.container_id = platform_seed_container_id(root_device, hostname_);
    m.processes = single(n, "hostflow_platform_processes");
    return m;
  }

  // Each LXC container on this host, as the seed inside it would report it.
  void containers(const NativeFamilies& n, std::vector<Machine>& out) const {
    const Family* info = n.find("hostflow_platform_container_info");
    if (!info) return;
    const auto used = by_container(n, "hostflow_platform_container_memory_used_bytes");
    const auto limit = by_container(n, "hostflow_platform_container_memory_limit_bytes");
    const auto procs = by_container(n, "hostflow_platform_container_processes");
    const auto rsize = by_container(n, "hostflow_platform_container_rootfs_size_bytes");
    const auto rused = by_container(n, "hostflow_platform_container_rootfs_used_bytes");
    const auto ravail = by_container(n, "hostflow_platform_container_rootfs_avail_bytes");
    // An unlimited container's /proc/meminfo (lxcfs) shows the host's MemTotal.
    const auto host_total = single(n, "hostflow_platform_memory_total_bytes");
    const Column id(info, "container_id"), name(info, "name");
    for (std::size_t s = 0; s < info->size(); s++) {
      Machine m;
      m.host_name = std::string(name(s));
      m.container_id = std::string(id(s));
      const auto u = lookup(used, id(s));
      const auto total = lookup(limit, id(s)) ? lookup(limit, id(s)) : host_total;
      if (u) m.usage = *u;
      if (u && total) {
        m.total = *total;
        m.free = minus(*total, *u);
        m.available = m.free;  // the seed's rule under a cgroup limit
      }
      const auto sz = lookup(rsize, id(s)), us = lookup(rused, id(s)), av = lookup(ravail, id(s));
      if (sz && us && av) m.root = Machine::Fs{"", "", *us, *av, *sz};
      m.processes = lookup(procs, id(s));
      out.push_back(std::move(m));
    }
  }

  std::string hostname_;
};

}  // namespace

std::string platform_seed_container_id(std::string_view dev, std::string_view hostname) {
  // re.search(r'subvol-(\d+)-disk-\d+', device): the leftmost match.
  constexpr std::string_view kSubvol = "subvol-", kDisk = "-disk-";
  for (std::size_t at = dev.find(kSubvol); at != std::string_view::npos;
       at = dev.find(kSubvol, at + 1)) {
    std::size_t i = at + kSubvol.size(), j = i;
    while (j < dev.size() && is_digit(dev[j])) j++;
    if (j == i || dev.substr(j, kDisk.size()) != kDisk) continue;
    const std::size_t k = j + kDisk.size();
    if (k < dev.size() && is_digit(dev[k])) return std::string(dev.substr(i, j - i));
  }
  // re.search(r'(\d+)', hostname), taken when it has at least 3 digits.
  std::size_t i = 0;
  while (i < hostname.size() && !is_digit(hostname[i])) i++;
  std::size_t j = i;
  while (j < hostname.size() && is_digit(hostname[j])) j++;
  if (j - i >= 3) return std::string(hostname.substr(i, j - i));
  return "unknown";
}

std::unique_ptr<Profile> make_platform_profile(const ExporterConfig& cfg) {
  std::string name = cfg.compat.platform_hostname;
  if (name.empty()) {
    // The seed's socket.gethostname(), read once before the seccomp filter (uname is not in
    // the exporter's allowlist).
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) == 0) name = buf;
    if (name.empty()) name = "unknown";
  }
  return std::make_unique<PlatformProfile>(sanitize_label(name));
}

}  // namespace hostflow::exporter
