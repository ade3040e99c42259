#include "pipeline.h"

#include <cstdio>
#include <cstring>
#include <thread>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"

namespace hostflow::exporter {
namespace {
std::string format_intervals(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

Pipeline::Pipeline(PipelineOptions opts)
    : opts_(std::move(opts)),
      reader_(opts_.segment),
      vm_history_(opts_.cpu_min),
      conntrack_(opts_.conntrack, opts_.feeds) {
  render(false);
}

std::shared_ptr<const Rendered> Pipeline::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void Pipeline::render(bool fresh) {
  const std::uint64_t t0 = mono_ns();
  auto r = std::make_shared<Rendered>();
  r->fresh = fresh;
  const Model* m = model_ ? &*model_ : nullptr;
  RenderInput in;
  in.model = m;
  in.fresh = fresh;
  in.vms = &vms_;
  in.vm_derived = &vm_derived_;
  in.vm_options = &opts_.vm;
  in.attribution = &attribution_;
  in.container_options = &opts_.containers;
  in.tc = &tc_;
  in.tc_options = &opts_.tc;
  in.conntrack = &conntrack_view_;
  auto families = snapshot_families(in);
  if (haproxy_) haproxy_->append_families(&families);
  for (const auto& f : families) r->series += f.metric.size();
  r->exposition = std::make_shared<const Exposition>(serialize(families));
  if (m) {
    r->cycle = m->cycle;
    r->has_snapshot = true;
    r->publish_mono_ns = m->publish_mono_ns;
    r->publish_real_ns = m->publish_real_ns;
    r->same_boot = std::memcmp(reader_.header().boot_id, opts_.boot_id.data(), 16) == 0;
  }
  r->not_ready_reason = fresh ? "" : (last_error_.empty() ? "no fresh snapshot" : last_error_);
  r->render_seconds = static_cast<double>(mono_ns() - t0) / 1e9;
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(r);
}

void Pipeline::poll_once() {
  ReadResult rr = reader_.poll();
  reads_[static_cast<int>(rr.status)]++;
  remaps_ = reader_.remaps();
  segment_truncations_ = reader_.shrinks();
  bool changed = false;
  switch (rr.status) {
    case ReadStatus::kNew:
      model_ = build_model(*rr.snapshot);
      if (reset_requested_.exchange(false)) vm_history_.reset_windows();
      vms_ = build_vms(*rr.snapshot, model_->interfaces, model_->workload_interfaces);
      vm_derived_ = vm_history_.update(vms_, model_->publish_mono_ns);
      attribution_ = attribute(*rr.snapshot, *model_, vms_);
      vm_state_entries_ = vm_history_.samples();
      tc_ = build_tc_model(*rr.snapshot);
      tc_rates_.update(tc_, model_->publish_mono_ns);
      conntrack_view_ = conntrack_.update(*rr.snapshot, *model_, vms_, attribution_.containers,
                                          static_cast<double>(real_ns()) / 1e9);
      last_error_.clear();
      segment_unusable_ = false;
      changed = true;
      break;
    case ReadStatus::kUnchanged: break;
    default:
      // A segment that is gone, truncated or corrupt: what was read from it is no longer
      // current, however recent its publish time (DESIGN.md: a corrupt segment yields stale).
      // Busy and not-yet-published keep the last snapshot until it ages out.
      if (rr.status == ReadStatus::kInvalid || rr.status == ReadStatus::kMissing)
        segment_unusable_ = true;
      if (rr.error != last_error_) {
        log::warn("segment not readable", {{"status", read_status_name(rr.status)},
                                           {"err", rr.error}});
      }
      last_error_ = std::string(read_status_name(rr.status)) +
                    (rr.error.empty() ? "" : ": " + rr.error);
      break;
  }
  if (haproxy_) {
    if (sni_reset_requested_.exchange(false)) haproxy_->reset_stats();
    changed |= haproxy_->poll(mono_ns());
  }
  // Fresh: a snapshot of this boot, published within stale_intervals sampler intervals.
  bool fresh = false;
  if (model_) {
    const bool same_boot = std::memcmp(reader_.header().boot_id, opts_.boot_id.data(), 16) == 0;
    const double limit = opts_.stale_intervals * static_cast<double>(model_->interval_ns);
    const std::uint64_t now = mono_ns();
    fresh = same_boot && !segment_unusable_ && now >= model_->publish_mono_ns &&
            static_cast<double>(now - model_->publish_mono_ns) <= limit;
    if (!fresh && last_error_.empty()) {
      last_error_ = same_boot ? "snapshot older than " + format_intervals(opts_.stale_intervals) +
                                    " sampler intervals (sampler stopped?)"
                              : "segment written during another boot";
    }
  }
  auto cur = current();
  if (changed || !cur || cur->fresh != fresh) {
    if (cur && cur->fresh && !fresh) log::warn("sampler stale", {{"reason", last_error_}});
    if (cur && !cur->fresh && fresh) log::info("sampler fresh", {{"generation", std::to_string(model_->generation)}});
    render(fresh);
  }
}

void Pipeline::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    poll_once();
    std::this_thread::sleep_for(opts_.poll_interval);
  }
  if (haproxy_) haproxy_->poll(mono_ns(), true);  // a last checkpoint: less to re-read at start
}

ExporterCounters Pipeline::scrape_counters() {
  ExporterCounters c;
  auto cur = current();
  c.scrapes = ++scrapes_;
  if (cur && cur->has_snapshot) {
    c.snapshot_age_seconds =
        cur->same_boot ? static_cast<double>(mono_ns() - std::min(mono_ns(), cur->publish_mono_ns)) / 1e9
                       : static_cast<double>(real_ns() - std::min(real_ns(), cur->publish_real_ns)) / 1e9;
  }
  if (cur) c.render_seconds = cur->render_seconds;
  for (int i = 0; i < 6; i++) c.reads_by_status[i] = reads_[i].load();
  c.remaps = remaps_.load();
  c.segment_truncations = segment_truncations_.load();
  c.vm_state_samples = vm_state_entries_.load();
  return c;
}

}  // namespace hostflow::exporter
