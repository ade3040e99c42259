// Collector: runs the enabled sources once per cycle into a SnapshotBuilder and keeps each
// source's status (ok/absent/failed, duration, errors, last success), which it publishes as the
// kSources section, its own process figures (kSamplerProcess) and its wake channel's
// (kSamplerWake). One failing source never stops the others. Runs in hostflow-sampler.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/shm/builder.h"
#include "source.h"
#include "wake.h"

namespace hostflow::sampler {

class Collector {
 public:
  struct Entry {
    std::unique_ptr<Source> source;  // null when it could not be opened or is disabled
    std::string name;
    shm::SourceState state = shm::SourceState::kAbsent;
    std::string last_error;
    int last_errno = 0;
    std::uint64_t duration_ns = 0, errors_total = 0, runs_total = 0, last_success_real_ns = 0;
    std::uint64_t items = 0;
  };

  // Opens a source (while privileged). A failed open leaves it absent or failed, never fatal.
  void add(std::string name, std::unique_ptr<Source> source, const SamplerPaths& paths);
  void add_disabled(std::string name);

  // One cycle: every source collects into `out`, then the status section is appended.
  void run_cycle(shm::SnapshotBuilder& out);

  const std::vector<Entry>& entries() const { return entries_; }
  // The wake channel's limiter, whose figures each cycle publishes (kSamplerWake); null: none.
  void set_wake(const WakeLimiter* wake) { wake_ = wake; }

 private:
  std::vector<Entry> entries_;
  bool process_error_logged_ = false;  // /proc/self unreadable: logged once
  const WakeLimiter* wake_ = nullptr;
};

}  // namespace hostflow::sampler
