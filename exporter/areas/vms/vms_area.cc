#include "areas/vms/vms_area.h"

#include <atomic>

#include "areas/vms/vm_history.h"
#include "config.h"

namespace hostflow::exporter {

void add_vms_flags(CLI::App& app, ExporterConfig& cfg) {
  VmsConfig& c = cfg.vms;
  app.add_option("--cpu.min", c.cpu_min,
                 "export a VM's CPU percent only at or above this (plus one trailing sample)")
      ->capture_default_str();
  app.add_option("--disk.default-read-threshold", c.render.default_read_threshold,
                 "disk read alert threshold when no tier entry applies")
      ->capture_default_str();
  app.add_option("--disk.default-write-threshold", c.render.default_write_threshold,
                 "disk write alert threshold when no tier entry applies")
      ->capture_default_str();
  app.add_option("--disk.read-thresholds", c.read_thresholds,
                 "per-tier read thresholds, e.g. default:500,local:200,ultra:2500");
  app.add_option("--disk.write-thresholds", c.write_thresholds,
                 "per-tier write thresholds, e.g. default:500,local:200,ultra:2500");
}

Result<void> validate_vms(ExporterConfig& cfg) {
  VmsConfig& c = cfg.vms;
  if (!(c.cpu_min >= 0 && c.cpu_min <= 100))
    return Error{0, "--cpu.min: want a percentage from 0 to 100"};
  std::string err;
  if (!parse_thresholds(c.read_thresholds, &c.render.read_thresholds, &err))
    return Error{0, "--disk.read-thresholds: " + err};
  if (!parse_thresholds(c.write_thresholds, &c.render.write_thresholds, &err))
    return Error{0, "--disk.write-thresholds: " + err};
  return {};
}

namespace {

class VmsArea final : public Area {
 public:
  explicit VmsArea(const VmsConfig& c) : cfg_(c), history_(c.cpu_min) {}

  void update(const Frame& f) override {
    if (reset_.exchange(false)) history_.reset_windows();
    derived_ = history_.update(f.identity.vms, f.identity.model.publish_mono_ns);
  }
  void reset() override { reset_ = true; }
  void counters(AreaCounters& c) const override { c.vm_window_samples = history_.samples(); }
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (!ctx.identity || !ctx.fresh || !ctx.identity->model.has_vm_sources) return;
    vm_families(ctx.identity->vms, derived_, cfg_.render, &out);
  }

 private:
  VmsConfig cfg_;
  VmHistory history_;
  std::vector<VmDerived> derived_;  // one per identity VM, in its order
  std::atomic<bool> reset_{false};
};

}  // namespace

std::unique_ptr<Area> make_vms_area(const ExporterConfig& cfg) {
  return std::make_unique<VmsArea>(cfg.vms);
}

}  // namespace hostflow::exporter
