// The platform area's model: what one snapshot's Platform and PlatformFilesystems sections say
// (validated strings, sanitized labels, the kind classified), and its metric families. Pure;
// also run by tests/fuzz/fuzz_segment_reader.cc over hostile segments. hostflow-exporter.
#pragma once

#include <string>
#include <vector>

#include "areas/platform/platform_detect.h"
#include "hostflow/shm/snapshot.h"
#include "metrics/family.h"

namespace hostflow::exporter {

struct PlatformFilesystem {
  std::string device, mountpoint, fstype;  // sanitized label values
  shm::PlatformFilesystemRecord rec{};
};

struct PlatformContainer {
  std::string id;    // vmid or LXC name (sanitized)
  std::string name;  // Proxmox hostname:, else CT<vmid> / the LXC name (sanitized)
  shm::PlatformContainerRecord rec{};
};

struct PlatformModel {
  bool present = false;  // the snapshot has a Platform record
  PlatformKind kind;
  shm::PlatformRecord rec{};
  bool has_filesystems = false;  // the PlatformFilesystems section is there (collector on)
  std::vector<PlatformFilesystem> filesystems;
  bool has_containers = false;  // the PlatformContainers section is there (collector lxc on)
  std::vector<PlatformContainer> containers;
};

PlatformModel build_platform_model(const shm::Snapshot& s);

// hostflow_platform_* of `m` (nothing when !m.present).
void platform_families(const PlatformModel& m, metrics::FamilySet* out);

}  // namespace hostflow::exporter
