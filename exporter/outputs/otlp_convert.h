// The metric model as an OTLP ExportMetricsServiceRequest (proto/opentelemetry/..., compiled by
// protoc), following OpenTelemetry's Prometheus compatibility rules: names unchanged, HELP as the
// description, a counter as a cumulative monotonic Sum, a gauge as a Gauge, an info series (a gauge
// named *_info) as a cumulative non-monotonic Sum, untyped as a Gauge; units in UCUM ("By", "s",
// "%"); every series' labels as string attributes. Pure. hostflow-exporter, the OTLP push thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "metrics/family.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "outputs/outputs_config.h"

namespace hostflow::exporter {

struct OtlpStamp {
  std::uint64_t start_unix_nano = 0;  // every Sum point's start: the exporter's start
  std::uint64_t time_unix_nano = 0;   // every point's time: the rendering's
};

// The UCUM unit of a metric-model unit ("bytes" -> "By", "seconds" -> "s", "percent" -> "%",
// "" -> "").
std::string_view ucum_unit(std::string_view unit);

// Fills `req` (arena-allocated or not) with one ResourceMetrics: `resource` attributes, one scope
// (hostflow-exporter, its version), one Metric per non-empty family.
void to_otlp(const metrics::FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp,
             opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* req);

}  // namespace hostflow::exporter
