#include "areas/platform/platform_model.h"

#include "hostflow/common/sanitize.h"
#include "identity/pve_config.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Labels;

namespace {

std::string_view str_or_empty(const shm::Snapshot& s, shm::StrRef r) {
  return s.str(r).value_or(std::string_view{});
}

}  // namespace

PlatformModel build_platform_model(const shm::Snapshot& s) {
  PlatformModel m;
  if (s.count<shm::PlatformRecord>() == 0) return m;
  m.present = true;
  m.rec = s.record<shm::PlatformRecord>(0);
  PlatformFactsView v;
  v.facts = m.rec.facts;
  v.container_manager = str_or_empty(s, m.rec.container_manager);
  v.systemd_container = str_or_empty(s, m.rec.systemd_container);
  v.pid1_container = str_or_empty(s, m.rec.pid1_container);
  v.osrelease = str_or_empty(s, m.rec.osrelease);
  m.kind = classify_platform(v);
  m.has_filesystems = s.section(shm::SectionType::kPlatformFilesystems) != nullptr;
  for (const auto& r : s.records<shm::PlatformFilesystemRecord>()) {
    PlatformFilesystem f;
    f.device = sanitize_label(str_or_empty(s, r.device));
    f.mountpoint = sanitize_label(str_or_empty(s, r.mountpoint), 256);
    f.fstype = sanitize_label(str_or_empty(s, r.fstype));
    f.rec = r;
    m.filesystems.push_back(std::move(f));
  }
  m.has_containers = s.section(shm::SectionType::kPlatformContainers) != nullptr;
  for (const auto& r : s.records<shm::PlatformContainerRecord>()) {
    PlatformContainer c;
    c.rec = r;
    c.id = sanitize_label(str_or_empty(s, r.id));
    if (c.id.empty()) continue;
    c.name = lxc_container_name(str_or_empty(s, r.id), r.flags & shm::kCtProxmox,
                                r.flags & shm::kCtConfigRead, str_or_empty(s, r.config));
    m.containers.push_back(std::move(c));
  }
  return m;
}

namespace {

// node_exporter's mode names, in /proc/stat's order (guest time is also in user and nice).
constexpr const char* kCpuModes[] = {"user",   "nice", "system",  "idle",
                                     "iowait", "irq",  "softirq", "steal"};

}  // namespace

namespace {

// Per LXC container on this host, as Proxmox computes the figures.
void container_families(const PlatformModel& m, metrics::FamilySet* out) {
  auto l = [](const PlatformContainer& c) -> Labels {
    return {{"container_id", c.id}, {"name", c.name}};
  };
  Family info("hostflow_platform_container_info",
              "An LXC container on this host: layout is proxmox (cgroup lxc/<vmid>) or lxc "
              "(lxc.payload.<name>); cgroup is v1 or v2.",
              metrics::Type::kGauge);
  Family used("hostflow_platform_container_memory_used_bytes",
              "Memory used without the page cache: v2 memory.current - memory.stat file, v1 "
              "memory.usage_in_bytes - memory.stat total_cache.",
              metrics::Type::kGauge);
  Family cache("hostflow_platform_container_memory_cache_bytes",
               "Page cache charged to the container (v2 memory.stat file, v1 total_cache).",
               metrics::Type::kGauge);
  Family limit("hostflow_platform_container_memory_limit_bytes",
               "Memory limit (v2 memory.max, v1 memory.limit_in_bytes); absent when unlimited.",
               metrics::Type::kGauge);
  Family swap("hostflow_platform_container_swap_used_bytes",
              "Swap used (v2 memory.swap.current, v1 memory.memsw.usage_in_bytes - usage).",
              metrics::Type::kGauge);
  Family cpu("hostflow_platform_container_cpu_seconds_total",
             "CPU time of the container (v2 cpu.stat usage_usec, v1 cpuacct.usage).",
             metrics::Type::kCounter);
  Family procs("hostflow_platform_container_processes", "Tasks in the container (pids.current).",
               metrics::Type::kGauge);
  Family rsize("hostflow_platform_container_rootfs_size_bytes",
               "Size of the container's root filesystem (statfs of its init's /proc/<pid>/root).",
               metrics::Type::kGauge);
  Family rused("hostflow_platform_container_rootfs_used_bytes",
               "Used space of the root filesystem: size - free.", metrics::Type::kGauge);
  Family ravail("hostflow_platform_container_rootfs_avail_bytes",
                "Space available to unprivileged users on the root filesystem (f_bavail).",
                metrics::Type::kGauge);
  for (const PlatformContainer& c : m.containers) {
    const auto& r = c.rec;
    Labels li = l(c);
    li.push_back({"layout", (r.flags & shm::kCtProxmox) ? "proxmox" : "lxc"});
    li.push_back({"cgroup", (r.flags & shm::kCtCgroupV2) ? "v2" : "v1"});
    info.add(li, 1);
    if (r.flags & shm::kCtHasMemory) {
      used.add(l(c), static_cast<double>(
                         r.memory_usage > r.memory_cache ? r.memory_usage - r.memory_cache : 0));
      cache.add(l(c), static_cast<double>(r.memory_cache));
    }
    if (r.flags & shm::kCtHasLimit) limit.add(l(c), static_cast<double>(r.memory_limit));
    if (r.flags & shm::kCtHasSwap) swap.add(l(c), static_cast<double>(r.swap_usage));
    if (r.flags & shm::kCtHasCpu) cpu.add(l(c), static_cast<double>(r.cpu_usage_ns) / 1e9);
    if (r.flags & shm::kCtHasPids) procs.add(l(c), static_cast<double>(r.pids_current));
    if (r.flags & shm::kCtHasRootfs) {
      rsize.add(l(c), static_cast<double>(r.rootfs_size));
      rused.add(l(c), static_cast<double>(
                          r.rootfs_size > r.rootfs_free ? r.rootfs_size - r.rootfs_free : 0));
      ravail.add(l(c), static_cast<double>(r.rootfs_avail));
    }
  }
  for (Family* f : {&info, &used, &cache, &limit, &swap, &cpu, &procs, &rsize, &rused, &ravail})
    out->add(std::move(*f));
}

}  // namespace

void platform_families(const PlatformModel& m, metrics::FamilySet* out) {
  if (!m.present) return;
  const shm::PlatformRecord& r = m.rec;
  Family info("hostflow_platform_info",
              "Where the sampler runs: kind is host, proxmox, lxc_guest or container; "
              "virtualization is systemd-detect-virt --container's id (none on a host).",
              metrics::Type::kGauge);
  info.add({{"kind", m.kind.kind}, {"virtualization", m.kind.virtualization}}, 1);
  out->add(std::move(info));

  if (r.collected & shm::kPlatformCpu) {
    const double hz = static_cast<double>(r.clk_tck ? r.clk_tck : 100);
    Family cpu("hostflow_platform_cpu_seconds_total",
               "CPU time of all CPUs by mode (/proc/stat; guest time is also counted in user "
               "and nice).",
               metrics::Type::kCounter);
    for (std::size_t i = 0; i < std::size(kCpuModes); i++)
      cpu.add({{"mode", kCpuModes[i]}}, static_cast<double>(r.cpu_ticks[i]) / hz);
    out->add(std::move(cpu));
    Family guest("hostflow_platform_cpu_guest_seconds_total",
                 "CPU time spent running guests (VMs), by mode (/proc/stat guest, guest_nice).",
                 metrics::Type::kCounter);
    guest.add({{"mode", "user"}}, static_cast<double>(r.cpu_ticks[8]) / hz);
    guest.add({{"mode", "nice"}}, static_cast<double>(r.cpu_ticks[9]) / hz);
    out->add(std::move(guest));
  }
  if (r.collected & shm::kPlatformMemory) {
    auto gauge = [&](const char* name, const char* help, double v) {
      Family f(name, help, metrics::Type::kGauge);
      f.add(v);
      out->add(std::move(f));
    };
    const bool avail = r.collected & shm::kPlatformMemAvailable;
    gauge("hostflow_platform_memory_total_bytes", "MemTotal of /proc/meminfo.",
          static_cast<double>(r.mem_total));
    gauge("hostflow_platform_memory_free_bytes",
          "MemFree of /proc/meminfo: memory nothing uses, not even the page cache.",
          static_cast<double>(r.mem_free));
    if (avail) {
      gauge("hostflow_platform_memory_available_bytes",
            "MemAvailable of /proc/meminfo: what new work can get without swapping.",
            static_cast<double>(r.mem_available));
    }
    // Used = what cannot be handed out: the page cache and reclaimable slab are not "used".
    const std::uint64_t reclaimable =
        avail ? r.mem_available : r.mem_free + r.mem_buffers + r.mem_cached;
    gauge("hostflow_platform_memory_used_bytes",
          "MemTotal - MemAvailable (page cache and reclaimable memory are not used; without "
          "MemAvailable: MemTotal - MemFree - Buffers - Cached).",
          static_cast<double>(r.mem_total > reclaimable ? r.mem_total - reclaimable : 0));
    gauge("hostflow_platform_memory_buffers_bytes", "Buffers of /proc/meminfo.",
          static_cast<double>(r.mem_buffers));
    gauge("hostflow_platform_memory_cached_bytes", "Cached of /proc/meminfo (page cache).",
          static_cast<double>(r.mem_cached));
    gauge("hostflow_platform_swap_total_bytes", "SwapTotal of /proc/meminfo.",
          static_cast<double>(r.swap_total));
    gauge("hostflow_platform_swap_free_bytes", "SwapFree of /proc/meminfo.",
          static_cast<double>(r.swap_free));
  }
  if (r.collected & shm::kPlatformProcesses) {
    Family f("hostflow_platform_processes",
             "Processes (thread groups, kernel threads included): the numeric entries of /proc.",
             metrics::Type::kGauge);
    f.add(static_cast<double>(r.processes));
    out->add(std::move(f));
  }
  if (m.has_filesystems) {
    struct Fig {
      const char* name;
      const char* help;
      std::uint64_t shm::PlatformFilesystemRecord::*field;
    };
    static const Fig kFigs[] = {
        {"hostflow_platform_filesystem_size_bytes", "Filesystem size (statfs f_blocks).",
         &shm::PlatformFilesystemRecord::size_bytes},
        {"hostflow_platform_filesystem_free_bytes",
         "Free space, root's reserve included (statfs f_bfree).",
         &shm::PlatformFilesystemRecord::free_bytes},
        {"hostflow_platform_filesystem_avail_bytes",
         "Space available to unprivileged users (statfs f_bavail; df's Available).",
         &shm::PlatformFilesystemRecord::avail_bytes},
        {"hostflow_platform_filesystem_files", "Inodes (statfs f_files).",
         &shm::PlatformFilesystemRecord::files},
        {"hostflow_platform_filesystem_files_free", "Free inodes (statfs f_ffree).",
         &shm::PlatformFilesystemRecord::files_free},
    };
    auto labels = [](const PlatformFilesystem& f) -> Labels {
      return {{"device", f.device}, {"mountpoint", f.mountpoint}, {"fstype", f.fstype}};
    };
    for (const Fig& g : kFigs) {
      Family fam(g.name, g.help, metrics::Type::kGauge);
      for (const PlatformFilesystem& f : m.filesystems) {
        if (f.rec.statfs_errno == 0) fam.add(labels(f), static_cast<double>(f.rec.*g.field));
      }
      out->add(std::move(fam));
    }
    Family used("hostflow_platform_filesystem_used_bytes", "Used space: size - free (df's Used).",
                metrics::Type::kGauge);
    Family ro("hostflow_platform_filesystem_readonly", "1 when mounted read-only.",
              metrics::Type::kGauge);
    Family err("hostflow_platform_filesystem_device_error",
               "1 when statfs of the mount point failed this cycle (its figures are left out).",
               metrics::Type::kGauge);
    for (const PlatformFilesystem& f : m.filesystems) {
      const auto& r2 = f.rec;
      if (r2.statfs_errno == 0) {
        used.add(labels(f), static_cast<double>(
                                r2.size_bytes > r2.free_bytes ? r2.size_bytes - r2.free_bytes : 0));
      }
      ro.add(labels(f), (r2.flags & shm::kFsReadOnly) ? 1 : 0);
      err.add(labels(f), r2.statfs_errno != 0 ? 1 : 0);
    }
    out->add(std::move(used));
    out->add(std::move(ro));
    out->add(std::move(err));
  }
  if (m.has_containers) container_families(m, out);
}

}  // namespace hostflow::exporter
