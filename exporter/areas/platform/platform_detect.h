// Where the sampler runs, from the facts the platform source published (shm::PlatformRecord):
// systemd's detect_container() order (src/basic/virt.c), then Proxmox. Pure; the strings are the
// raw file contents the sampler copied (tenant-writable inside a container), so anything unknown
// is "container-other", never an error. hostflow-exporter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hostflow::exporter {

struct PlatformFactsView {
  std::uint32_t facts = 0;             // shm::PlatformFacts
  std::string_view container_manager;  // /run/host/container-manager
  std::string_view systemd_container;  // /run/systemd/container
  std::string_view pid1_container;     // container= of PID 1
  std::string_view osrelease;          // /proc/sys/kernel/osrelease
};

struct PlatformKind {
  std::string kind;            // host, proxmox, lxc_guest, container
  std::string virtualization;  // systemd-detect-virt --container's id: none, lxc, docker, ...
};

// The order (systemd 252+): OpenVZ (/proc/vz without /proc/bc), WSL (osrelease), the container
// manager file, /run/systemd/container, PID 1's $container, then /run/.containerenv (podman) and
// /.dockerenv (docker). systemd's proot (tracer) and cgroup-namespace checks are not made: they
// describe the sampler process, not the host. Not a container: proxmox when /etc/pve is a FUSE
// mount (pmxcfs) and pveversion is installed, else host.
PlatformKind classify_platform(const PlatformFactsView& f);

}  // namespace hostflow::exporter
