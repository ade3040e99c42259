// The output writers besides the scraped /metrics: --output.textfile and --output.otlp.*. The
// pipeline hands every rendering here (publish); each output works on its own thread, so neither a
// slow disk nor a down collector ever delays the poll thread or a scrape. Outputs read the metric
// model (or its text), never an area. hostflow-exporter: open() and policy_needs() before the
// seccomp filter, start() after it, publish() on the poll thread, counters() on HTTP threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hostflow/common/result.h"
#include "metrics/family.h"
#include "outputs/exposition.h"
#include "outputs/outputs_config.h"
#include "privilege/policy_needs.h"

namespace hostflow::exporter {

class TextfileOutput;
class OtlpOutput;

// The outputs' state for the per-scrape self-metrics (self_metrics.cc).
struct OutputCounters {
  bool textfile = false;
  std::uint64_t textfile_writes = 0, textfile_errors = 0;
  double textfile_last_success = 0;
  double textfile_last_error_time = 0;  // Unix time of the last failed write (0: none)
  std::string textfile_last_error;      // its error text (/status)
  bool otlp = false;
  std::uint64_t otlp_exports = 0, otlp_rejected = 0, otlp_exhausted = 0, otlp_retries = 0,
                otlp_dropped = 0, otlp_queued = 0, otlp_bytes = 0;
  double otlp_last_success = 0, otlp_last_encode = 0;
  double otlp_last_error_time = 0;  // Unix time of the last failed attempt (0: none)
  std::string otlp_last_error;      // its error text (/status)
};

class Outputs {
 public:
  explicit Outputs(const OutputsConfig& cfg);
  ~Outputs();
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;

  Result<void> open();
  void policy_needs(ExporterPolicyOptions& o) const;
  void start();
  void stop();
  // True when an output reads the metric model itself (OTLP): the pipeline then keeps the
  // rendering's families for publish().
  bool wants_families() const { return otlp_ != nullptr; }
  // One rendering: its text (the exposition without the per-scrape tail) and, when
  // wants_families(), its families.
  void publish(const std::shared_ptr<const Exposition>& text,
               std::shared_ptr<const metrics::FamilySet> families);
  OutputCounters counters() const;

 private:
  std::unique_ptr<TextfileOutput> textfile_;
  std::unique_ptr<OtlpOutput> otlp_;
};

}  // namespace hostflow::exporter
