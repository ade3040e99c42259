// Pipeline: polls the segment, decides freshness, builds the snapshot's identity once, updates
// every area (a loop over areas/registry.cc) and re-renders once per new snapshot, when
// freshness flips or when an area with inputs of its own changed. Scrapes read the current
// rendering through current(), a shared_ptr to an immutable object. hostflow-exporter, on its
// own thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "areas/area.h"
#include "compat/profile.h"
#include "config.h"
#include "identity/identity.h"
#include "outputs/exposition.h"
#include "outputs/outputs.h"
#include "self_metrics.h"
#include "snapshot/segment_reader.h"

namespace hostflow::exporter {

// What one area rendered (for /collectors): its families and samples.
struct AreaRendering {
  std::size_t families = 0, series = 0;
};

struct Rendered {
  std::shared_ptr<const Exposition> exposition;
  bool fresh = false;
  bool has_snapshot = false;
  std::uint64_t publish_mono_ns = 0, publish_real_ns = 0;
  bool same_boot = false;
  double render_seconds = 0;
  std::string not_ready_reason;
  std::size_t series = 0;   // samples in the rendered snapshot families (for /health)
  std::uint64_t cycle = 0;  // the sampler's cycle of the snapshot (collections, for /health)
  // Its publish generation (POST /collect's answer).
  std::uint64_t generation = 0;
  // For /status and /collectors (http/status.h): the snapshot's identity (sources, interval; null
  // before the first), what each area rendered (area_table()'s order), and the platform area's
  // hostflow_platform_info labels and collectors whose families were rendered.
  std::shared_ptr<const Identity> identity;
  std::vector<AreaRendering> areas;
  std::string platform_kind, platform_virtualization;
  std::vector<std::string> platform_collected;
};

class Pipeline {
 public:
  // Makes every area from `cfg` (validated). `boot_id`: this boot's, for freshness.
  Pipeline(const ExporterConfig& cfg, std::array<std::uint8_t, 16> boot_id);
  ~Pipeline();
  // Every area's open(), in table order: before the seccomp filter.
  Result<void> open();
  // The seccomp rule groups the areas need.
  ExporterPolicyOptions policy_needs() const;
  // Every area's start() (after the filter) / stop().
  void start();
  void stop();

  void poll_once();
  void run(const std::atomic<bool>& stop);

  std::shared_ptr<const Rendered> current() const;
  // Counters for the per-scrape tail; counts this scrape.
  ExporterCounters scrape_counters();
  // POST /reset: every area forgets what an operator may reset (VM traffic windows, SNI
  // counters), and so does every profile whose tool had a reset; the poll thread acts on it at
  // its next poll.
  void request_reset();
  // For /status (HTTP threads): the configuration it was made with, when it was made, and the
  // outputs' state (not counted as a scrape).
  const ExporterConfig& config() const { return cfg_; }
  std::uint64_t start_real_ns() const { return start_real_ns_; }
  OutputCounters output_counters() const { return outputs_.counters(); }

 private:
  void render(bool fresh);

  ExporterConfig cfg_;  // as validated (for /status)
  std::uint64_t start_real_ns_ = 0;
  CoreConfig core_;
  std::array<std::uint8_t, 16> boot_id_;
  SegmentReader reader_;
  std::vector<std::unique_ptr<Area>> areas_;        // one per registry row, in its order
  std::vector<std::unique_ptr<Profile>> profiles_;  // --compat, in compat/registry.cc's order
  std::vector<const ProfileRow*> profile_rows_;
  Outputs outputs_;                         // --output.*: each rendering is handed to them
  bool native_ = true;                      // --compat.native
  std::atomic<bool> profile_reset_{false};  // POST /reset, for the poll thread
  std::shared_ptr<const Identity> identity_;
  std::shared_ptr<const Rendered> current_;
  mutable std::mutex mu_;
  std::string last_error_;
  std::atomic<std::uint64_t> scrapes_{0};
  std::atomic<std::uint64_t> reads_[6] = {};
  std::atomic<std::uint64_t> remaps_{0};
  std::atomic<std::uint64_t> segment_truncations_{0};
  std::atomic<bool> process_error_logged_{false};  // /proc/self unreadable (process_*): once
  bool segment_unusable_ = false;  // the last read found the segment missing or invalid
  std::atomic<std::uint64_t> vm_state_entries_{0};
};

}  // namespace hostflow::exporter
