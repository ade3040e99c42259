// Command-line flags of the VM features (CPU suppression, disk alert thresholds), kept beside the
// options they fill so main.cc only registers and finishes them. hostflow-exporter.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "hostflow/common/result.h"
#include "pipeline.h"

namespace hostflow::exporter {

struct VmFlags {
  std::string read_thresholds, write_thresholds;
};

void add_vm_flags(CLI::App& app, PipelineOptions& opts, VmFlags& flags);
// Validates and copies what add_vm_flags collected into `opts`.
Result<void> finish_vm_flags(PipelineOptions& opts, const VmFlags& flags);

}  // namespace hostflow::exporter
