// Parser for /proc/<pid>/cgroup (raw bytes the sampler copied): which container a process
// belongs to, from its cgroup path. Tenant-influenced (LXC and systemd unit names), so pure,
// bounded and fuzzed. hostflow-exporter.
#pragma once

#include <string>
#include <string_view>

namespace hostflow::exporter {

struct CgroupOwner {
  std::string path;     // the unified (v2) path, else the v1 name=systemd / pids / first path
  std::string runtime;  // docker, containerd, crio, podman, lxc, kubernetes; "" when none
  std::string id;       // the container id (64 hex for OCI runtimes) or the LXC name
  std::string pod_uid;  // Kubernetes pod UID when the path has one
};

CgroupOwner parse_cgroup(std::string_view proc_cgroup);

// The owner of one cgroup path (the part after the second ':').
CgroupOwner owner_of_cgroup_path(std::string_view path);

}  // namespace hostflow::exporter
