#include "vm_flags.h"

namespace hostflow::exporter {

void add_vm_flags(CLI::App& app, PipelineOptions& opts, VmFlags& flags) {
  app.add_option("--cpu.min", opts.cpu_min,
                 "export a VM's CPU percent only at or above this (plus one trailing sample)")
      ->capture_default_str();
  app.add_option("--disk.default-read-threshold", opts.vm.default_read_threshold,
                 "disk read alert threshold when no tier entry applies")
      ->capture_default_str();
  app.add_option("--disk.default-write-threshold", opts.vm.default_write_threshold,
                 "disk write alert threshold when no tier entry applies")
      ->capture_default_str();
  app.add_option("--disk.read-thresholds", flags.read_thresholds,
                 "per-tier read thresholds, e.g. default:500,local:200,ultra:2500");
  app.add_option("--disk.write-thresholds", flags.write_thresholds,
                 "per-tier write thresholds, e.g. default:500,local:200,ultra:2500");
}

Result<void> finish_vm_flags(PipelineOptions& opts, const VmFlags& flags) {
  if (!(opts.cpu_min >= 0 && opts.cpu_min <= 100))
    return Error{0, "--cpu.min: want a percentage from 0 to 100"};
  std::string err;
  if (!parse_thresholds(flags.read_thresholds, &opts.vm.read_thresholds, &err))
    return Error{0, "--disk.read-thresholds: " + err};
  if (!parse_thresholds(flags.write_thresholds, &opts.vm.write_thresholds, &err))
    return Error{0, "--disk.write-thresholds: " + err};
  return {};
}

}  // namespace hostflow::exporter
