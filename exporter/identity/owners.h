// Attribution: who owns each host interface, from kernel facts first.
//   tap/macvtap held by a QEMU      -> vm (its name)
//   veth whose peer is in a netns   -> the container of that netns's processes (cgroup path:
//                                      Docker, containerd/Kubernetes, CRI-O, Podman, LXC),
//                                      named from the Docker API when it is there; a netns with
//                                      processes in no known runtime -> netns (cgroup leaf/comm)
//   veth whose netns has no process -> unknown ("orphan"), app from its bridge
//   bridge                          -> bridge (its Docker network's name when it is one)
//   everything else                 -> host
// An LXC container the platform area lists (PlatformContainers) has the name that area gives it
// (identity/pve_config.h: Proxmox hostname, else CT<vmid>; else its LXC name), so its veths and
// its hostflow_platform_container_* series carry the same name.
// Names are only a last hint: Proxmox tap<vmid>i<n> / veth<vmid>i<n> give a vmid (a container's
// named as above when the platform area lists it).
// App: the Compose project label ("ix-" stripped), else the app of the Docker network of the
// bridge the interface is on ("ix-<app>_<suffix>" or the network's Compose label).
// Pure: built from a validated Snapshot and the model. hostflow-exporter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hostflow/shm/snapshot.h"
#include "identity/interfaces.h"
#include "identity/vms.h"

namespace hostflow::exporter {

struct Container {
  std::string owner_type;  // "container" (a known runtime) or "netns"
  std::string name;        // the owner label: Docker name, else id12/LXC name, else cgroup leaf
  std::string runtime;     // docker, containerd, kubernetes, crio, podman, lxc, oci, "" (netns)
  std::string id;          // runtime id ("" for netns)
  std::string app;
  std::string image;   // Docker only
  std::string cgroup;  // the cgroup path it was recognised from
  std::map<std::string, std::string>
      labels;  // Docker labels (all; the allowlist is applied when rendered)
  std::vector<std::string> addresses;  // Docker's endpoint addresses (NetworkSettings), as text
  std::uint64_t netns = 0;             // netns key (see Interface::netns)
  std::uint32_t processes = 0;
  std::vector<std::string> host_interfaces;  // host ends of its veths
  bool has_view = false;
  bool view_from_netns = false;  // true: summed from its own interfaces; false: host ends, swapped
  shm::LinkStats view{};         // the container's view: rx = what it received
};

struct DockerStatus {
  bool present = false;  // the docker section is in the snapshot with a 200 container list
  std::size_t containers = 0, networks = 0;
  std::size_t dropped = 0;       // entries the parsers skipped
  std::size_t parse_errors = 0;  // bodies that were not the expected JSON (or truncated)
};

struct Attribution {
  std::vector<Container> containers;  // sorted by name, names unique
  DockerStatus docker;
};

// Sets owner_type/owner/app on every host interface of `m` and returns the containers.
Attribution attribute(const shm::Snapshot& snap, Model& m, const std::vector<Vm>& vms);

// "tap<vmid>i<n>" / "veth<vmid>i<n>" (Proxmox) -> vmid, else "".
std::string proxmox_vmid(std::string_view ifname, std::string_view prefix);

}  // namespace hostflow::exporter
