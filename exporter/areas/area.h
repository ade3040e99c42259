// An exporter data area: one folder exporter/areas/<stem>/, one row in areas/registry.cc. The
// pipeline (exporter/pipeline.cc) is a loop over the rows; outputs read only the families areas
// emit (metrics/family.h). Lifecycle, in the exporter's startup order:
//   add_flags (into ExporterConfig) -> validate (no I/O) -> make -> open (before the seccomp
//   filter: files, directories, libraries) -> policy_needs (seccomp rule groups) -> start (after
//   the filter: threads) -> per snapshot update(), per poll poll(), per rendering emit() ->
//   stop (final checkpoint). hostflow-exporter; update/poll/emit on the poll thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string_view>

#include "hostflow/common/result.h"
#include "hostflow/shm/snapshot.h"
#include "identity/identity.h"
#include "metrics/family.h"
#include "privilege/policy_needs.h"

namespace hostflow::exporter {

struct ExporterConfig;  // config.h

// Once per new snapshot.
struct Frame {
  const shm::Snapshot& snapshot;
  const Identity& identity;
  std::uint64_t now_real_ns = 0;
};

// Each rendering: the identity of the latest snapshot (null before the first one) and whether
// it is fresh. A stale snapshot renders only what stays true (up/freshness families).
struct EmitContext {
  const Identity* identity = nullptr;
  bool fresh = false;
};

// Area self-metrics that go on every scrape's tail (exporter/self_metrics.h).
struct AreaCounters {
  std::uint64_t vm_window_samples = 0;
};

class Area {
 public:
  virtual ~Area() = default;
  virtual Result<void> open() { return {}; }
  virtual void policy_needs(ExporterPolicyOptions&) const {}
  virtual void start() {}
  virtual void stop() {}
  virtual void update(const Frame&) {}
  // For areas with inputs of their own (log files): true when their families changed.
  virtual bool poll(std::uint64_t /*now_mono_ns*/, bool /*force*/) { return false; }
  // POST /reset (admin API): forget windows and counters an operator may reset.
  virtual void reset() {}
  virtual void counters(AreaCounters&) const {}
  virtual void emit(const EmitContext& ctx, metrics::FamilySet& out) const = 0;
};

struct AreaRow {
  std::string_view stem;      // folder, docs, tests: exporter/areas/<stem>/
  std::string_view sources;   // the sampler sources it reads (sampler/sources/registry.cc)
  std::string_view sections;  // the segment sections it reads (shm-schema layout.h)
  std::string_view prefixes;  // metric name prefixes of its families, space-separated
  std::string_view docs;      // docs/metrics.md heading anchor (GitHub style, without #)
  void (*add_flags)(CLI::App& app, ExporterConfig& cfg);
  Result<void> (*validate)(ExporterConfig& cfg);  // no I/O
  std::unique_ptr<Area> (*make)(const ExporterConfig& cfg);
};

// True when `family` carries one of the row's prefixes.
bool row_owns(const AreaRow& row, std::string_view family);

}  // namespace hostflow::exporter
