#include "areas/platform/platform_area.h"

#include "areas/platform/platform_model.h"

namespace hostflow::exporter {
namespace {

class PlatformArea final : public Area {
 public:
  void update(const Frame& f) override { model_ = build_platform_model(f.snapshot); }
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (ctx.identity && ctx.fresh) platform_families(model_, &out);
  }

 private:
  PlatformModel model_;
};

}  // namespace

std::unique_ptr<Area> make_platform_area(const ExporterConfig&) {
  return std::make_unique<PlatformArea>();
}

}  // namespace hostflow::exporter
