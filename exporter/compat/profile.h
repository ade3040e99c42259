// A compatibility profile: one replaced tool's own metric families (names, types, labels, units,
// rounding, suppression), computed from the native families the areas emitted for the same
// rendering. A profile is an output-side view: it reads the metric model (metrics/family.h) and
// never an area, so every output (Prometheus text today; OTLP and the text file next) carries it
// with no change anywhere else. One folder exporter/compat/<stem>/, one row in compat/registry.cc,
// one section of docs/compat.md, one golden tests/golden/compat_<stem>.prom.
// hostflow-exporter, poll thread (emit and reset run there).
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/common/result.h"
#include "metrics/family.h"

namespace hostflow::exporter {

struct ExporterConfig;  // config.h

// The native families of one rendering, by name (a view: the set outlives it).
class NativeFamilies {
 public:
  explicit NativeFamilies(const metrics::FamilySet& set);
  // Null when the rendering has no such family (its area is off, stale, or had nothing).
  const metrics::Family* find(std::string_view name) const;

 private:
  std::vector<std::pair<std::string_view, const metrics::Family*>> by_name_;  // sorted
};

// One label of one native family, looked up once: column(sample) is that sample's value, ""
// when the family has no such label.
class Column {
 public:
  Column(const metrics::Family* f, std::string_view label);
  std::string_view operator()(std::size_t sample) const;
  explicit operator bool() const { return index_ >= 0; }

 private:
  const metrics::Family* f_;
  int index_ = -1;
};

struct ProfileInput {
  const NativeFamilies& native;
  bool fresh = false;
  std::uint64_t now_real_ns = 0;
};

class Profile {
 public:
  virtual ~Profile() = default;
  // The profile's families for this rendering. Runs once per rendering, after every area.
  virtual void emit(const ProfileInput& in, metrics::FamilySet& out) = 0;
  // POST /reset (admin API): what the replaced tool's own reset zeroes, if anything.
  virtual void reset() {}
};

struct ProfileRow {
  std::string_view stem;      // --compat=<stem>, folder exporter/compat/<stem>/
  std::string_view tool;      // the replaced tool (../shared/seeds/)
  std::string_view prefixes;  // metric name prefixes of its families, space-separated
  std::string_view docs;      // docs/compat.md heading anchor (without #)
  std::unique_ptr<Profile> (*make)(const ExporterConfig& cfg);
};

// --compat, --compat.native.
struct CompatConfig {
  std::string profiles_text;          // --compat: comma-separated stems
  std::vector<std::string> profiles;  // validated, in the table's order
  bool native = true;                 // --compat.native: also serve hostflow's own families
  // --compat.platform.hostname: the platform profile's host_name (seed 003's gethostname());
  // "" = the exporter's host name at start.
  std::string platform_hostname;
};

void add_compat_flags(CLI::App& app, CompatConfig& cfg);
// No I/O: every name is a row of the table; --compat.native=false needs a profile.
Result<void> validate_compat(CompatConfig& cfg);

// True when `family` carries one of the row's prefixes.
bool profile_owns(const ProfileRow& row, std::string_view family);

}  // namespace hostflow::exporter
