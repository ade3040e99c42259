#include "areas/platform/platform_detect.h"

#include "hostflow/shm/layout.h"

namespace hostflow::exporter {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// detect_container_files(): podman before docker.
std::string_view from_files(std::uint32_t facts) {
  if (facts & shm::kPlatformContainerenv) return "podman";
  if (facts & shm::kPlatformDockerenv) return "docker";
  return {};
}

// systemd's container_from_string(), and "oci" resolved by the files.
std::string translate(std::string_view e, std::uint32_t facts) {
  if (e == "oci") {
    const std::string_view f = from_files(facts);
    return f.empty() ? "container-other" : std::string(f);
  }
  static constexpr std::string_view kKnown[] = {
      "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch"};
  for (std::string_view k : kKnown) {
    if (e == k) return std::string(k);
  }
  return "container-other";
}

}  // namespace

PlatformKind classify_platform(const PlatformFactsView& f) {
  std::string virt;
  if ((f.facts & shm::kPlatformProcVz) && !(f.facts & shm::kPlatformProcBc)) {
    virt = "openvz";
  } else if (f.osrelease.find("Microsoft") != std::string_view::npos ||
             f.osrelease.find("WSL") != std::string_view::npos) {
    virt = "wsl";
  } else if (!trim(f.container_manager).empty()) {
    virt = translate(trim(f.container_manager), f.facts);
  } else if (!trim(f.systemd_container).empty()) {
    virt = translate(trim(f.systemd_container), f.facts);
  } else if (!f.pid1_container.empty()) {
    virt = translate(f.pid1_container, f.facts);
  } else {
    virt = std::string(from_files(f.facts));
  }
  if (virt == "lxc") return {"lxc_guest", virt};
  if (!virt.empty()) return {"container", virt};
  const std::uint32_t pve = shm::kPlatformPveMount | shm::kPlatformPveVersion;
  if ((f.facts & pve) == pve) return {"proxmox", "none"};
  return {"host", "none"};
}

}  // namespace hostflow::exporter
