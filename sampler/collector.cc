#include "collector.h"

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/process_stats.h"

namespace hostflow::sampler {

void Collector::add(std::string name, std::unique_ptr<Source> source, const SamplerPaths& paths) {
  Entry e;
  e.name = std::move(name);
  if (auto r = source->open(paths); !r.ok()) {
    e.state =
        errno_means_absent(r.error().code) ? shm::SourceState::kAbsent : shm::SourceState::kFailed;
    e.last_error = r.error().message();
    e.last_errno = r.error().code;
    e.errors_total = e.state == shm::SourceState::kFailed ? 1 : 0;
    log::warn("source unavailable", {{"source", e.name},
                                     {"state", std::string(shm::source_state_name(e.state))},
                                     {"err", e.last_error}});
  } else {
    e.source = std::move(source);
    e.state = shm::SourceState::kOk;
  }
  entries_.push_back(std::move(e));
}

void Collector::add_disabled(std::string name) {
  Entry e;
  e.name = std::move(name);
  e.state = shm::SourceState::kDisabled;
  entries_.push_back(std::move(e));
}

void Collector::run_cycle(shm::SnapshotBuilder& out) {
  for (Entry& e : entries_) {
    if (!e.source) continue;
    const std::uint64_t t0 = mono_ns();
    auto r = e.source->collect(out);
    e.duration_ns = mono_ns() - t0;
    e.runs_total++;
    if (r.ok()) {
      if (e.state != shm::SourceState::kOk) log::info("source recovered", {{"source", e.name}});
      e.state = shm::SourceState::kOk;
      e.items = r.value();
      e.last_error.clear();
      e.last_errno = 0;
      e.last_success_real_ns = real_ns();
    } else {
      const bool absent = errno_means_absent(r.error().code);
      const auto state = absent ? shm::SourceState::kAbsent : shm::SourceState::kFailed;
      if (e.state != state || e.last_error != r.error().message()) {
        log::warn("source run failed", {{"source", e.name}, {"err", r.error().message()}});
      }
      e.state = state;
      e.items = 0;
      e.last_error = r.error().message();
      e.last_errno = r.error().code;
      if (!absent) e.errors_total++;
    }
  }
  out.touch<shm::SourceStatusRecord>();
  for (const Entry& e : entries_) {
    shm::SourceStatusRecord s{};
    s.name = out.add_string(e.name, 64);
    s.last_error = out.add_string(e.last_error, 256);
    s.state = static_cast<std::uint8_t>(e.state);
    s.last_errno = e.last_errno;
    s.duration_ns = e.duration_ns;
    s.errors_total = e.errors_total;
    s.runs_total = e.runs_total;
    s.last_success_real_ns = e.last_success_real_ns;
    s.items = e.items;
    out.add(s);
  }
  // Its own figures last, so the cycle's work is in them (hostflow_sampler_process_*).
  if (auto p = read_self_process_stats(); p.ok()) {
    out.touch<shm::SamplerProcessRecord>();
    shm::SamplerProcessRecord r{};
    r.cpu_ns = static_cast<std::uint64_t>(p.value().cpu_seconds * 1e9);
    r.resident_bytes = p.value().resident_bytes;
    r.virtual_bytes = p.value().virtual_bytes;
    r.open_fds = p.value().open_fds;
    r.max_fds = p.value().max_fds;
    r.start_real_ns = static_cast<std::uint64_t>(p.value().start_time_seconds * 1e9);
    out.add(r);
  } else if (!process_error_logged_) {
    process_error_logged_ = true;
    log::warn("own process figures unreadable", {{"err", p.error().message()}});
  }
  if (wake_) {
    out.touch<shm::SamplerWakeRecord>();
    shm::SamplerWakeRecord w{};
    w.requests_total = wake_->requests();
    w.cycles_total = wake_->cycles();
    w.rate_limited_total = wake_->rate_limited();
    w.min_interval_ns = wake_->min_interval_ns();
    w.last_cycle_real_ns = wake_->last_cycle_real_ns();
    out.add(w);
  }
}

}  // namespace hostflow::sampler
