#include "metrics/process.h"

#include <string>

namespace hostflow::exporter::metrics {

void process_families(const ProcessStats& p, std::string_view prefix, std::string_view whose,
                      FamilySet& out) {
  auto one = [&](const char* suffix, const char* help, Type type, double v) {
    out.add(std::move(
        Family(std::string(prefix) + suffix, std::string(help) + std::string(whose), type).add(v)));
  };
  one("cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::kCounter,
      p.cpu_seconds);
  one("resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge,
      static_cast<double>(p.resident_bytes));
  one("virtual_memory_bytes", "Virtual memory size in bytes.", Type::kGauge,
      static_cast<double>(p.virtual_bytes));
  one("open_fds", "Number of open file descriptors.", Type::kGauge,
      static_cast<double>(p.open_fds));
  one("max_fds", "Maximum number of open file descriptors.", Type::kGauge,
      static_cast<double>(p.max_fds));
  one("start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::kGauge,
      p.start_time_seconds);
}

}  // namespace hostflow::exporter::metrics
