#include "areas/sampler/sampler_area.h"

#include "hostflow/common/version.h"
#include "metrics/process.h"
#include "snapshot/segment_reader.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Labels;

namespace {

// The sampler's wake channel (POST /collect), as the sampler counts it (sampler/wake.h).
void wake_families(const shm::SamplerWakeRecord& w, metrics::FamilySet* out) {
  auto one = [&](const char* name, const char* help, metrics::Type type, double v) {
    out->add(std::move(Family(name, help, type).add(v)));
  };
  one("hostflow_sampler_wake_requests_total",
      "Wake-up requests (bytes) the sampler read from its wake channel (POST /collect).",
      metrics::Type::kCounter, static_cast<double>(w.requests_total));
  one("hostflow_sampler_wake_cycles_total",
      "Extra sampler cycles run because of wake-up requests (requests arriving together share "
      "one).",
      metrics::Type::kCounter, static_cast<double>(w.cycles_total));
  one("hostflow_sampler_wake_rate_limited_total",
      "Extra cycles that waited for the sampler's --wake.min-interval before running.",
      metrics::Type::kCounter, static_cast<double>(w.rate_limited_total));
  one("hostflow_sampler_wake_min_interval_seconds",
      "The sampler's --wake.min-interval: at most one extra cycle per this long.",
      metrics::Type::kGauge, static_cast<double>(w.min_interval_ns) / 1e9);
}

void source_families(const Model& m, metrics::FamilySet* out) {
  Family up("hostflow_source_up", "1 when the source's last run succeeded.", metrics::Type::kGauge);
  Family state("hostflow_source_state",
               "The source's state: ok, absent (not on this host), failed or disabled.",
               metrics::Type::kGauge);
  Family dur("hostflow_source_duration_seconds", "Wall time of the source's last run.",
             metrics::Type::kGauge);
  Family errs("hostflow_source_errors_total", "Failed runs of the source since sampler start.",
              metrics::Type::kCounter);
  Family runs("hostflow_source_runs_total", "Runs of the source since sampler start.",
              metrics::Type::kCounter);
  Family last("hostflow_source_last_success_timestamp_seconds",
              "Unix time of the source's last successful run (0 = never).", metrics::Type::kGauge);
  Family items("hostflow_source_records", "Records the source produced in its last run.",
               metrics::Type::kGauge);
  for (const SourceStatus& s : m.sources) {
    const Labels l{{"source", s.name}};
    up.add(l, s.state == shm::SourceState::kOk ? 1 : 0);
    for (auto st : {shm::SourceState::kOk, shm::SourceState::kAbsent, shm::SourceState::kFailed,
                    shm::SourceState::kDisabled}) {
      state.add({{"source", s.name}, {"state", std::string(source_state_name(st))}},
                s.state == st ? 1 : 0);
    }
    dur.add(l, static_cast<double>(s.duration_ns) / 1e9);
    errs.add(l, static_cast<double>(s.errors_total));
    runs.add(l, static_cast<double>(s.runs_total));
    last.add(l, static_cast<double>(s.last_success_real_ns) / 1e9);
    items.add(l, static_cast<double>(s.items));
  }
  for (Family* f : {&up, &state, &dur, &errs, &runs, &last, &items}) out->add(std::move(*f));
  Family drops("hostflow_snapshot_dropped_records",
               "Records a section could not hold in the latest snapshot (its cap was reached).",
               metrics::Type::kGauge);
  for (const SectionDrop& d : m.drops)
    drops.add({{"section", d.section}}, static_cast<double>(d.dropped));
  out->add(std::move(drops));
  if (m.sampler_process)
    metrics::process_families(*m.sampler_process, "hostflow_sampler_process_", " (the sampler)",
                              *out);
  if (m.sampler_wake) wake_families(*m.sampler_wake, out);
}

class SamplerArea final : public Area {
 public:
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    out.add(
        std::move(Family("hostflow_build_info", "hostflow-exporter version.", metrics::Type::kGauge)
                      .add({{"version", HOSTFLOW_VERSION}, {"revision", HOSTFLOW_REVISION}}, 1)));
    out.add(std::move(Family("hostflow_sampler_up",
                             "1 when the sampler published a snapshot within 3 intervals.",
                             metrics::Type::kGauge)
                          .add(ctx.fresh ? 1 : 0)));
    if (ctx.identity) {
      const Model& m = ctx.identity->model;
      out.add(std::move(Family("hostflow_snapshot_timestamp_seconds",
                               "Unix time the sampler published the latest snapshot.",
                               metrics::Type::kGauge)
                            .add(static_cast<double>(m.publish_real_ns) / 1e9)));
      out.add(std::move(Family("hostflow_snapshot_generation",
                               "Generation of the latest snapshot (grows by one per publish).",
                               metrics::Type::kGauge)
                            .add(static_cast<double>(m.generation))));
      out.add(std::move(Family("hostflow_sampler_interval_seconds",
                               "The sampler's collection interval.", metrics::Type::kGauge)
                            .add(static_cast<double>(m.interval_ns) / 1e9)));
      out.add(std::move(Family("hostflow_sampler_start_time_seconds",
                               "Unix time the running sampler started.", metrics::Type::kGauge)
                            .add(static_cast<double>(m.sampler_start_real_ns) / 1e9)));
      out.add(std::move(Family("hostflow_snapshot_invalid_references",
                               "String references outside the arena in the latest snapshot.",
                               metrics::Type::kGauge)
                            .add(static_cast<double>(m.invalid_refs + m.duplicate_links))));
    }
    if (ctx.identity && ctx.fresh) source_families(ctx.identity->model, &out);
  }
};

}  // namespace

std::unique_ptr<Area> make_sampler_area(const ExporterConfig&) {
  return std::make_unique<SamplerArea>();
}

}  // namespace hostflow::exporter
