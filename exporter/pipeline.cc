#include "pipeline.h"

#include <cstdio>
#include <cstring>
#include <thread>

#include "areas/registry.h"
#include "compat/registry.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "outputs/prometheus_text.h"

namespace hostflow::exporter {
namespace {
std::string format_intervals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

Pipeline::Pipeline(const ExporterConfig& cfg, std::array<std::uint8_t, 16> boot_id)
    : cfg_(cfg),
      start_real_ns_(real_ns()),
      core_(cfg.core),
      boot_id_(boot_id),
      reader_(cfg.core.segment),
      outputs_(cfg.outputs) {
  for (const AreaRow& row : area_table()) areas_.push_back(row.make(cfg));
  for (const std::string& stem : cfg.compat.profiles) {
    const ProfileRow* row = find_profile(stem);
    profile_rows_.push_back(row);
    profiles_.push_back(row->make(cfg));
  }
  native_ = cfg.compat.native;
  render(false);
}

Pipeline::~Pipeline() = default;

Result<void> Pipeline::open() {
  for (auto& a : areas_)
    if (auto r = a->open(); !r.ok()) return r;
  return outputs_.open();
}

ExporterPolicyOptions Pipeline::policy_needs() const {
  ExporterPolicyOptions o;
  for (const auto& a : areas_) a->policy_needs(o);
  outputs_.policy_needs(o);
  return o;
}

void Pipeline::start() {
  for (auto& a : areas_) a->start();
  outputs_.start();
}

void Pipeline::stop() {
  outputs_.stop();
  for (auto& a : areas_) a->stop();
}

void Pipeline::request_reset() {
  for (auto& a : areas_) a->reset();
  profile_reset_ = true;
}

std::shared_ptr<const Rendered> Pipeline::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

namespace {

// What /collectors and /status say about a rendering, from its native families: each area's
// families and samples, and the platform area's hostflow_platform_info and collectors.
void note_areas(const metrics::FamilySet& families, Rendered& r) {
  const auto rows = area_table();
  r.areas.assign(rows.size(), AreaRendering{});
  // A platform collector was read when its first family was rendered (areas/platform).
  static constexpr std::pair<const char*, const char*> kCollectors[] = {
      {"cpu", "hostflow_platform_cpu_seconds_total"},
      {"memory", "hostflow_platform_memory_total_bytes"},
      {"filesystem", "hostflow_platform_filesystem_size_bytes"},
      {"processes", "hostflow_platform_processes"},
      {"lxc", "hostflow_platform_container_info"},
  };
  for (const metrics::Family& f : families.families()) {
    for (std::size_t i = 0; i < rows.size(); i++) {
      if (!row_owns(rows[i], f.name())) continue;
      r.areas[i].families++;
      r.areas[i].series += f.size();
      break;
    }
    if (f.name() == "hostflow_platform_info" && f.size() > 0) {
      const auto& names = f.label_names();
      for (std::size_t l = 0; l < names.size(); l++) {
        if (names[l] == "kind") r.platform_kind = f.label_value(0, l);
        if (names[l] == "virtualization") r.platform_virtualization = f.label_value(0, l);
      }
    }
    for (const auto& [collector, family] : kCollectors)
      if (f.name() == family) r.platform_collected.emplace_back(collector);
  }
}

}  // namespace

void Pipeline::render(bool fresh) {
  const std::uint64_t t0 = mono_ns();
  auto r = std::make_shared<Rendered>();
  r->fresh = fresh;
  const Identity* id = identity_.get();
  const EmitContext ctx{id, fresh};
  metrics::FamilySet families;
  const auto rows = area_table();
  for (std::size_t i = 0; i < areas_.size(); i++) {
    const std::size_t first = families.families().size();
    areas_[i]->emit(ctx, families);
    // An area emits only under its row's prefixes: no two areas can ever claim one name.
    families.refuse_from(
        first, [&](const std::string& name) { return row_owns(rows[i], name); },
        "outside its area's metric prefixes");
  }
  note_areas(families, *r);
  if (!profiles_.empty()) {
    // The profiles read the native families of this rendering (compat/profile.h).
    metrics::FamilySet compat;
    {
      const NativeFamilies native(families);
      const ProfileInput in{native, fresh, real_ns()};
      for (std::size_t i = 0; i < profiles_.size(); i++) {
        const std::size_t first = compat.families().size();
        profiles_[i]->emit(in, compat);
        const ProfileRow& row = *profile_rows_[i];
        compat.refuse_from(
            first, [&](const std::string& name) { return profile_owns(row, name); },
            "outside its profile's metric prefixes");
      }
    }
    if (!native_) families = metrics::FamilySet();
    families.merge(std::move(compat));
  }
  r->series = families.samples();
  std::string text = prometheus_text(families);
  // The families are written: freed before the gzip stream and its deflate state are made, which
  // then reuse their memory instead of growing the heap (issue 13's RSS). An output that reads
  // the model itself (OTLP) keeps them until it has sent them.
  std::shared_ptr<const metrics::FamilySet> kept;
  if (outputs_.wants_families())
    kept = std::make_shared<const metrics::FamilySet>(std::move(families));
  families = metrics::FamilySet();
  r->exposition = std::make_shared<const Exposition>(std::move(text));
  // The rendering without the per-scrape tail: what the text file holds.
  outputs_.publish(r->exposition, std::move(kept));
  if (id) {
    r->identity = identity_;
    const Model& m = id->model;
    r->cycle = m.cycle;
    r->generation = m.generation;
    r->has_snapshot = true;
    r->publish_mono_ns = m.publish_mono_ns;
    r->publish_real_ns = m.publish_real_ns;
    r->same_boot = std::memcmp(reader_.header().boot_id, boot_id_.data(), 16) == 0;
  }
  r->not_ready_reason = fresh ? "" : (last_error_.empty() ? "no fresh snapshot" : last_error_);
  r->render_seconds = static_cast<double>(mono_ns() - t0) / 1e9;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(r);
}

void Pipeline::poll_once() {
  ReadResult rr = reader_.poll();
  reads_[static_cast<int>(rr.status)]++;
  bool changed = false;
  switch (rr.status) {
    case ReadStatus::kNew: {
      identity_ = build_identity(*rr.snapshot);
      const Frame frame{*rr.snapshot, *identity_, real_ns()};
      AreaCounters counters;
      for (auto& a : areas_) {
        a->update(frame);
        a->counters(counters);
      }
      vm_state_entries_ = counters.vm_window_samples;
      // Every area has taken what it needs from the snapshot in update() (a rendering may come
      // at any later poll, without it). Its copy (1.4 MB at 200 x 10) is freed before this
      // rendering instead of after it, so the two are never held at once (issue 13's RSS).
      rr.snapshot.reset();
      last_error_.clear();
      segment_unusable_ = false;
      changed = true;
      break;
    }
    case ReadStatus::kUnchanged:
      break;
    default:
      // A segment that is gone, truncated or corrupt: what was read from it is no longer
      // current, however recent its publish time (DESIGN.md: a corrupt segment yields stale).
      // Busy and not-yet-published keep the last snapshot until it ages out.
      if (rr.status == ReadStatus::kInvalid || rr.status == ReadStatus::kMissing)
        segment_unusable_ = true;
      if (rr.error != last_error_) {
        log::warn("segment not readable",
                  {{"status", read_status_name(rr.status)}, {"err", rr.error}});
      }
      last_error_ =
          std::string(read_status_name(rr.status)) + (rr.error.empty() ? "" : ": " + rr.error);
      break;
  }
  const std::uint64_t now = mono_ns();
  for (auto& a : areas_) changed |= a->poll(now, false);
  if (profile_reset_.exchange(false) && !profiles_.empty()) {
    for (auto& p : profiles_) p->reset();
    changed = true;
  }
  // Fresh: a snapshot of this boot, published within stale_intervals sampler intervals.
  bool fresh = false;
  if (identity_) {
    const Model& m = identity_->model;
    const bool same_boot = std::memcmp(reader_.header().boot_id, boot_id_.data(), 16) == 0;
    const double limit = core_.stale_intervals * static_cast<double>(m.interval_ns);
    const std::uint64_t t = mono_ns();
    fresh = same_boot && !segment_unusable_ && t >= m.publish_mono_ns &&
            static_cast<double>(t - m.publish_mono_ns) <= limit;
    if (!fresh && last_error_.empty()) {
      last_error_ = same_boot ? "snapshot older than " + format_intervals(core_.stale_intervals) +
                                    " sampler intervals (sampler stopped?)"
                              : "segment written during another boot";
    }
  }
  auto cur = current();
  if (changed || !cur || cur->fresh != fresh) {
    if (cur && cur->fresh && !fresh) log::warn("sampler stale", {{"reason", last_error_}});
    if (cur && !cur->fresh && fresh)
      log::info("sampler fresh", {{"generation", std::to_string(identity_->model.generation)}});
    render(fresh);
  }
  // Published after the rendering: a scrape that counts a remap or a truncation also gets the
  // body rendered after it (stale when the segment became unusable), never the one before.
  remaps_ = reader_.remaps();
  segment_truncations_ = reader_.shrinks();
}

void Pipeline::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    poll_once();
    std::this_thread::sleep_for(core_.poll_interval);
  }
  // A last checkpoint for areas with inputs of their own: less to re-read at the next start.
  for (auto& a : areas_) a->poll(mono_ns(), true);
}

ExporterCounters Pipeline::scrape_counters() {
  ExporterCounters c;
  auto cur = current();
  c.scrapes = ++scrapes_;
  if (auto p = read_self_process_stats(); p.ok())
    c.process = p.value();
  else if (!process_error_logged_.exchange(true))
    log::warn("own process figures unreadable: no process_* metrics",
              {{"err", p.error().message()}});
  if (cur && cur->has_snapshot) {
    c.snapshot_age_seconds =
        cur->same_boot
            ? static_cast<double>(mono_ns() - std::min(mono_ns(), cur->publish_mono_ns)) / 1e9
            : static_cast<double>(real_ns() - std::min(real_ns(), cur->publish_real_ns)) / 1e9;
  }
  if (cur) c.render_seconds = cur->render_seconds;
  for (int i = 0; i < 6; i++) c.reads_by_status[i] = reads_[i].load();
  c.remaps = remaps_.load();
  c.segment_truncations = segment_truncations_.load();
  c.vm_state_samples = vm_state_entries_.load();
  c.refused_series = metrics::refused_series_total();
  c.outputs = outputs_.counters();
  return c;
}

}  // namespace hostflow::exporter
