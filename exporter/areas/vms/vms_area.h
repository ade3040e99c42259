// Area `vms`: QEMU/libvirt virtual machines and OpenStack instances (hostflow_vm_*,
// hostflow_openstack_*, hostflow_host_active_*): identity from identity/vms.h, traffic windows
// and CPU suppression kept here (areas/vms/vm_history.h). Flags --cpu.min, --disk.*.
// hostflow-exporter.
#pragma once

#include <string>

#include "areas/area.h"
#include "areas/vms/vm_families.h"

namespace hostflow::exporter {

struct VmsConfig {
  double cpu_min = 10.0;  // --cpu.min
  VmRenderOptions render;
  std::string read_thresholds, write_thresholds;  // flag text, parsed into `render`
};

void add_vms_flags(CLI::App& app, ExporterConfig& cfg);
Result<void> validate_vms(ExporterConfig& cfg);
std::unique_ptr<Area> make_vms_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
