// Pipeline: polls the segment, decides freshness, and re-renders the exposition once per new
// snapshot (or when freshness flips). Scrapes read the current rendering through current(), a
// shared_ptr to an immutable object. Runs in hostflow-exporter, on its own thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "features/haproxy_tail.h"
#include "features/conntrack_feature.h"
#include "model/interfaces.h"
#include "model/tc.h"
#include "render/exposition.h"
#include "render/families.h"
#include "snapshot/segment_reader.h"

namespace hostflow::exporter {

struct PipelineOptions {
  std::string segment = "/run/hostflow/segment";
  std::string state_dir = "/var/lib/hostflow-exporter";  // --state.dir
  std::chrono::milliseconds poll_interval{250};
  double stale_intervals = 3;  // a snapshot older than this many sampler intervals is stale
  std::array<std::uint8_t, 16> boot_id{};
  double cpu_min = 10.0;  // --cpu.min
  VmRenderOptions vm;
  ContainerRenderOptions containers;
  TcRenderOptions tc;  // --tc.active-only
  ConntrackFeatureOptions conntrack;    // conntrack_flags.cc
  std::shared_ptr<FeedManager> feeds;  // null: no threat lists
};

struct Rendered {
  std::shared_ptr<const Exposition> exposition;
  bool fresh = false;
  bool has_snapshot = false;
  std::uint64_t publish_mono_ns = 0, publish_real_ns = 0;
  bool same_boot = false;
  double render_seconds = 0;
  std::string not_ready_reason;
  std::size_t series = 0;     // samples in the rendered snapshot families (for /health)
  std::uint64_t cycle = 0;    // the sampler's cycle of the snapshot (collections, for /health)
};

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions opts);
  void poll_once();
  void run(const std::atomic<bool>& stop);

  std::shared_ptr<const Rendered> current() const;
  // Counters for the per-scrape tail; counts this scrape.
  ExporterCounters scrape_counters();
  // POST /reset: forget the VM traffic windows and the SNI counters (the poll thread picks it
  // up at its next poll).
  void request_reset() { reset_requested_ = sni_reset_requested_ = true; }
  // HAProxy SNI counting (--haproxy.log), polled on the poll thread; its families are rendered
  // with the snapshot's and whenever it checkpoints (at most every --haproxy.render-interval).
  void set_haproxy(std::unique_ptr<HaproxyTailer> t) { haproxy_ = std::move(t); }

 private:
  void render(bool fresh);

  PipelineOptions opts_;
  SegmentReader reader_;
  std::optional<Model> model_;
  std::vector<Vm> vms_;
  std::vector<VmDerived> vm_derived_;
  Attribution attribution_;
  VmHistory vm_history_;
  TcModel tc_;
  TcRates tc_rates_;
  ConntrackFeature conntrack_;
  ConntrackView conntrack_view_;
  std::shared_ptr<const Rendered> current_;
  mutable std::mutex mu_;
  std::string last_error_;
  std::atomic<std::uint64_t> scrapes_{0};
  std::atomic<std::uint64_t> reads_[6] = {};
  std::atomic<std::uint64_t> remaps_{0};
  std::atomic<std::uint64_t> segment_truncations_{0};
  bool segment_unusable_ = false;  // the last read found the segment missing or invalid
  std::atomic<std::uint64_t> vm_state_entries_{0};
  std::atomic<bool> reset_requested_{false};
  std::unique_ptr<HaproxyTailer> haproxy_;
  std::atomic<bool> sni_reset_requested_{false};
};

}  // namespace hostflow::exporter
