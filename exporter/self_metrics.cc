#include "self_metrics.h"

#include "metrics/process.h"
#include "snapshot/segment_reader.h"

namespace hostflow::exporter {

using metrics::Family;

namespace {

// The outputs' own state (docs/metrics.md, "Outputs"): only for the outputs enabled.
void output_families(const OutputCounters& o, metrics::FamilySet& out) {
  if (o.textfile) {
    Family w("hostflow_exporter_textfile_writes_total",
             "Writes of --output.textfile by result (ok: the file was replaced; error: it was "
             "not, the old file stays).",
             metrics::Type::kCounter);
    w.add({{"result", "ok"}}, static_cast<double>(o.textfile_writes));
    w.add({{"result", "error"}}, static_cast<double>(o.textfile_errors));
    out.add(std::move(w));
    out.add(std::move(Family("hostflow_exporter_textfile_last_write_timestamp_seconds",
                             "Unix time of the last completed write of --output.textfile (0: "
                             "none yet).",
                             metrics::Type::kGauge)
                          .add(o.textfile_last_success)));
  }
  if (o.otlp) {
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
      out.add(std::move(Family(name, help, metrics::Type::kCounter).add(static_cast<double>(v))));
    };
    counter("hostflow_exporter_otlp_exports_total",
            "OTLP export requests the collector accepted (2xx).", o.otlp_exports);
    Family failed("hostflow_exporter_otlp_export_failures_total",
                  "OTLP export requests given up, by reason (rejected: a status that is not "
                  "retried, e.g. 400; retries_exhausted: 429/502/503/504 or no answer until the "
                  "retries ran out).",
                  metrics::Type::kCounter);
    failed.add({{"reason", "rejected"}}, static_cast<double>(o.otlp_rejected));
    failed.add({{"reason", "retries_exhausted"}}, static_cast<double>(o.otlp_exhausted));
    out.add(std::move(failed));
    counter("hostflow_exporter_otlp_retries_total",
            "OTLP export attempts after a retryable outcome (429, 502, 503, 504, no answer).",
            o.otlp_retries);
    counter("hostflow_exporter_otlp_dropped_total",
            "OTLP export requests dropped unsent because the queue was full "
            "(--output.otlp.queue-size) or the exporter stopped.",
            o.otlp_dropped);
    counter("hostflow_exporter_otlp_sent_bytes_total",
            "Bytes of OTLP request bodies sent (HTTP: compressed when gzip is on; gRPC: before "
            "gRPC's compression), retries included.",
            o.otlp_bytes);
    out.add(std::move(Family("hostflow_exporter_otlp_queue_length",
                             "OTLP export requests waiting to be sent.", metrics::Type::kGauge)
                          .add(static_cast<double>(o.otlp_queued))));
    out.add(std::move(Family("hostflow_exporter_otlp_last_success_timestamp_seconds",
                             "Unix time the collector last accepted an export (0: never).",
                             metrics::Type::kGauge)
                          .add(o.otlp_last_success)));
    out.add(std::move(Family("hostflow_exporter_otlp_encode_duration_seconds",
                             "Time the last push took to convert and encode the rendering.",
                             metrics::Type::kGauge)
                          .add(o.otlp_last_encode)));
  }
}

}  // namespace

metrics::FamilySet self_families(const ExporterCounters& c) {
  metrics::FamilySet out;
  if (c.snapshot_age_seconds >= 0) {
    out.add(std::move(Family("hostflow_snapshot_age_seconds",
                             "Seconds since the sampler published the snapshot being served.",
                             metrics::Type::kGauge)
                          .add(c.snapshot_age_seconds)));
  }
  out.add(std::move(Family("hostflow_exporter_scrapes_total", "Scrapes of the metrics endpoint.",
                           metrics::Type::kCounter)
                        .add(static_cast<double>(c.scrapes))));
  out.add(std::move(Family("hostflow_exporter_render_duration_seconds",
                           "Time to render the current exposition (once per snapshot).",
                           metrics::Type::kGauge)
                        .add(c.render_seconds)));
  Family reads("hostflow_exporter_snapshot_reads_total",
               "Polls of the segment by outcome (new, unchanged, missing, not_published, busy, "
               "invalid).",
               metrics::Type::kCounter);
  for (int s = 0; s < 6; s++) {
    reads.add({{"result", read_status_name(static_cast<ReadStatus>(s))}},
              static_cast<double>(c.reads_by_status[s]));
  }
  out.add(std::move(reads));
  if (c.process) metrics::process_families(*c.process, "process_", "", out);
  out.add(std::move(Family("hostflow_exporter_segment_remaps_total",
                           "Times the segment file was replaced (sampler restart or growth) and "
                           "remapped.",
                           metrics::Type::kCounter)
                        .add(static_cast<double>(c.remaps))));
  out.add(
      std::move(Family("hostflow_exporter_segment_truncations_total",
                       "Times the mapped segment file was found shorter than its mapping "
                       "(truncated by someone else; the sampler never shrinks it) and unmapped.",
                       metrics::Type::kCounter)
                    .add(static_cast<double>(c.segment_truncations))));
  out.add(std::move(Family("hostflow_exporter_vm_window_samples",
                           "Traffic-window samples held for all VMs (bounded by VMs x ~720).",
                           metrics::Type::kGauge)
                        .add(static_cast<double>(c.vm_state_samples))));
  out.add(std::move(Family("hostflow_exporter_refused_series_total",
                           "Metric series the metric model refused since start (a second series "
                           "of one name and labels, a family outside its area's or profile's "
                           "prefixes, labels that do not match their family's); 0 when healthy.",
                           metrics::Type::kCounter)
                        .add(static_cast<double>(c.refused_series))));
  Family http("hostflow_exporter_http_errors_total",
              "HTTP connections refused or ended early, by reason.", metrics::Type::kCounter);
  http.add({{"reason", "connection_limit"}}, static_cast<double>(c.http_rejected));
  http.add({{"reason", "timeout"}}, static_cast<double>(c.http_timeouts));
  http.add({{"reason", "bad_request"}}, static_cast<double>(c.http_bad_requests));
  http.add({{"reason", "evicted"}}, static_cast<double>(c.http_evicted));
  out.add(std::move(http));
  output_families(c.outputs, out);
  return out;
}

}  // namespace hostflow::exporter
