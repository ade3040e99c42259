// Metric families for virtual machines (QEMU/libvirt) and OpenStack instances. See
// docs/metrics.md. hostflow-exporter.
#pragma once

#include "metrics/family.h"

#include <map>
#include <string>
#include <vector>

#include "areas/vms/vm_history.h"
#include "identity/vms.h"

namespace hostflow::exporter {

struct VmRenderOptions {
  // Disk alert thresholds: built-in defaults, then per tier ("default" applies to every tier
  // without its own entry), as in the OpenStack Instance Exporter.
  double default_read_threshold = 100, default_write_threshold = 100;
  std::map<std::string, double> read_thresholds, write_thresholds;
};

// "default:500,local:200" -> {{"default",500},{"local",200}}; false with a reason when malformed.
bool parse_thresholds(const std::string& spec, std::map<std::string, double>* out,
                      std::string* err);

void vm_families(const std::vector<Vm>& vms, const std::vector<VmDerived>& derived,
                 const VmRenderOptions& opts, metrics::FamilySet* out);

}  // namespace hostflow::exporter
