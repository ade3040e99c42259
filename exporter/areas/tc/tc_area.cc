#include "areas/tc/tc_area.h"

#include "areas/tc/tc_model.h"
#include "config.h"

namespace hostflow::exporter {

void add_tc_flags(CLI::App& app, ExporterConfig& cfg) {
  app.add_flag("--tc.active-only", cfg.tc.active_only,
               "export TC counters only for interfaces whose counters moved between the two "
               "latest snapshots (hostflow_tc_interface_attached stays for all)");
}

namespace {

class TcArea final : public Area {
 public:
  explicit TcArea(const TcConfig& c) : cfg_(c) {}
  void update(const Frame& f) override {
    tc_ = build_tc_model(f.snapshot);
    rates_.update(tc_, f.identity.model.publish_mono_ns);
  }
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (!ctx.identity) return;
    tc_up_family(ctx.identity->model, tc_, ctx.fresh, &out);  // fresh or not
    if (ctx.fresh) tc_families(tc_, cfg_, &out);
  }

 private:
  TcConfig cfg_;
  TcModel tc_;
  TcRates rates_;
};

}  // namespace

std::unique_ptr<Area> make_tc_area(const ExporterConfig& cfg) {
  return std::make_unique<TcArea>(cfg.tc);
}

}  // namespace hostflow::exporter
