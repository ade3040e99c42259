#include "areas/containers/containers_area.h"

#include "config.h"

namespace hostflow::exporter {

void add_containers_flags(CLI::App& app, ExporterConfig& cfg) {
  app.add_option("--container.labels", cfg.containers.label_allowlist,
                 "Docker label keys to export on hostflow_container_info as label_<key> "
                 "(comma-separated; none by default: labels are tenant text)")
      ->delimiter(',');
}

namespace {

class ContainersArea final : public Area {
 public:
  explicit ContainersArea(const ContainersConfig& c) : cfg_(c) {}
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (ctx.identity && ctx.fresh) container_families(ctx.identity->attribution, cfg_, &out);
  }

 private:
  ContainersConfig cfg_;
};

}  // namespace

std::unique_ptr<Area> make_containers_area(const ExporterConfig& cfg) {
  return std::make_unique<ContainersArea>(cfg.containers);
}

}  // namespace hostflow::exporter
