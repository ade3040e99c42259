// The metric model as an OTLP ExportMetricsServiceRequest (proto/opentelemetry/..., compiled by
// protoc), following OpenTelemetry's Prometheus compatibility rules: names unchanged, HELP as the
// description, a counter as a cumulative monotonic Sum, a gauge as a Gauge, an info series (a gauge
// named *_info) as a cumulative non-monotonic Sum, untyped as a Gauge; units in UCUM ("By", "s",
// "%"); every series' labels as string attributes. Pure. hostflow-exporter, the OTLP push thread.
#pragma once

#include <cstdint>
#include <memory>
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

// Fills `req` (arena-allocated or not, empty) with one ResourceMetrics: `resource` attributes, one
// scope (hostflow-exporter, its version), one Metric per non-empty family. Builds every message
// anew: the reference OtlpConverter is tested against.
void to_otlp(const metrics::FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp,
             opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* req);

// The conversion a push makes: keeps one request between pushes and updates it in place, so
// that afterwards it serializes exactly as to_otlp's from-scratch request for the same arguments
// would. Series rarely change between renderings: every Metric, NumberDataPoint, KeyValue and
// AnyValue of the last push is reused (a Metric found again by its family's name, a point by its
// index), a string is written only where it differs, and messages no longer needed stay cached
// in their repeated fields (protobuf keeps removed elements for reuse). The request lives on an
// arena of its own (compact, no malloc header per message); what churn leaves unreachable there
// (a Gauge replaced by a Sum, a removed Metric's points) is reclaimed by building the request
// again on a new arena once the arena holds twice what the last build needed. What it costs: the
// request stays resident between pushes (about its in-memory size, see bench/README.md).
// Single-threaded: the OTLP push thread.
class OtlpConverter {
 public:
  OtlpConverter();
  ~OtlpConverter();
  OtlpConverter(const OtlpConverter&) = delete;
  OtlpConverter& operator=(const OtlpConverter&) = delete;

  const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& update(
      const metrics::FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp);
  const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& request() const {
    return *req_;
  }
  // Times the request was built again on a new arena (the first build included).
  std::uint64_t builds() const { return builds_; }

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* req_ = nullptr;
  std::uint64_t built_bytes_ = 0;  // the arena's use right after the last build
  std::uint64_t builds_ = 0;
};

// `req` serialized straight into a gzip stream (level 1, the push's HTTP body with gzip on):
// no copy of the plain request is made. `reserve`: the expected size (the last body's). Empty
// when serialization or deflate fails.
std::string serialize_gzip(
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req,
    std::size_t reserve);

}  // namespace hostflow::exporter
