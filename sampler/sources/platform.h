// platform: where the sampler runs and the host's own figures, as seed 003
// (cougz/metrics-exporters) reports them. Per cycle, for --platform.collectors:
//   - the facts systemd's detect_container() looks at, in its order (<procfs>/vz and bc,
//     <procfs>/sys/kernel/osrelease, <rootfs>/run/host/container-manager,
//     <rootfs>/run/systemd/container, container= of <procfs>/1/environ -- only that variable is
//     kept --, <rootfs>/run/.containerenv, <rootfs>/.dockerenv) and Proxmox's (/etc/pve a FUSE
//     mount in PID 1's mountinfo, <rootfs>/usr/bin/pveversion). The exporter classifies them
//     (exporter/areas/platform/platform_detect.h): file contents are copied raw and bounded.
//   - cpu: the "cpu" line of <procfs>/stat; memory: <procfs>/meminfo; processes: the numeric
//     entries of <procfs>;
//   - lxc: each LXC container's cgroup (Proxmox's <sysfs>/fs/cgroup[/<controller>]/lxc/<vmid>,
//   plain
//     LXC/Incus lxc.payload.<name>; cgroup v2, v1 and hybrid): memory used and cache, limit, swap,
//     CPU time, pids.current, statfs of its init's <procfs>/<pid>/root/, and (Proxmox) the raw
//     bytes of <rootfs>/etc/pve/lxc/<vmid>.conf, parsed in the exporter;
//   - filesystem: <procfs>/1/mountinfo, filtered (--platform.filesystem.*: pseudo and network
//     filesystems and duplicate mounts of one device out by default), then statfs() of
//     <rootfs><mountpoint> for each. statfs on an unreachable network filesystem blocks in the
//     kernel (a hard NFS mount never returns): such types are excluded by default, and a sampler
//     told to include them can stall its whole cycle on a dead server.
// Kernel text (meminfo, stat, mountinfo) is parsed here by the pure functions below (fuzzed:
// tests/fuzz/fuzz_platform_procfs.cc); nothing tenant-written is interpreted.
// Runs in hostflow-sampler; needs CAP_SYS_PTRACE (PID 1's environ) and CAP_DAC_READ_SEARCH
// (statfs of mount points below directories only their owners may search).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"
#include "source.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct PlatformOptions {
  std::vector<std::string> collectors{"cpu", "memory", "filesystem", "processes", "lxc"};
  // node_exporter's defaults (collector/filesystem_linux.go) plus network filesystems, whose
  // statfs can block on a dead server.
  std::string mount_points_exclude =
      "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
  std::string mount_points_include;  // "" = every mount point
  std::string fs_types_exclude =
      "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
      "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"
      "sysfs|tracefs|nfs4?|cifs|smb3|smbfs|ceph|glusterfs|fuse\\.lxcfs|fuse\\.sshfs|fuse\\."
      "glusterfs|9p|afs|"
      "lustre|beegfs|gpfs)$";
  std::string fs_types_include;  // "" = every type
  bool bind_mounts = false;      // also a second mount of one device (major:minor)
  // Set by validate():
  std::uint32_t mask = 0;  // shm::PlatformCollectors
  std::regex mp_exclude, mp_include, fs_exclude, fs_include;
};

// --platform.collectors and --platform.filesystem.*, into `opts`.
void add_flags(CLI::App& app, PlatformOptions& opts);
// Checks the collector names and compiles the patterns; the error names the flag.
Result<void> validate(PlatformOptions& opts);

// ---- pure parsers (unit tests and tests/fuzz/fuzz_platform_procfs.cc) ----

// /proc/meminfo, in bytes (kB * 1024, saturating). A field is set only when its line was there.
struct Meminfo {
  std::optional<std::uint64_t> total, free, available, buffers, cached, swap_total, swap_free;
};
Meminfo parse_meminfo(std::string_view text);

// The aggregate "cpu" line of /proc/stat: up to 10 tick counts (older kernels have fewer; missing
// ones are 0). nullopt when there is no such line.
std::optional<std::array<std::uint64_t, 10>> parse_proc_stat_cpu(std::string_view text);

// One line of /proc/<pid>/mountinfo (proc(5)); strings are unescaped (\040 -> ' ' etc.).
struct MountEntry {
  std::uint32_t major = 0, minor = 0;
  std::string root, mountpoint, fstype, source;
  bool read_only = false;  // per-mount option "ro"
};
// At most `cap` entries; malformed lines are skipped.
std::vector<MountEntry> parse_mountinfo(std::string_view text, std::size_t cap = 1u << 16);
// proc(5)'s octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).
std::string unescape_mount_field(std::string_view field);

// The number after `key` on a "key value" line (cgroup memory.stat, cpu.stat), or nullopt.
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);
// A one-number cgroup file (memory.current, pids.current...): nullopt for "max" or junk.
std::optional<std::uint64_t> single_value(std::string_view text);
// The smallest pid of a cgroup.procs file (0 when none).
std::int32_t min_pid(std::string_view procs);

// The value of `key` in a NUL-separated environment block, or nullopt.
std::optional<std::string_view> environ_value(std::string_view environ, std::string_view key);

// The indices of `mounts` that pass the filters of `opts` (validated), in order; a mount hidden by
// a later mount on the same mount point is left out (statfs sees only the top one); without
// bind_mounts only the first passing mount of each major:minor.
std::vector<std::size_t> select_filesystems(const std::vector<MountEntry>& mounts,
                                            const PlatformOptions& opts);

std::unique_ptr<Source> make_platform_source(PlatformOptions opts);

}  // namespace hostflow::sampler
