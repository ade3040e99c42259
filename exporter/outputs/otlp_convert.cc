#include "outputs/otlp_convert.h"

#include "hostflow/common/version.h"

namespace hostflow::exporter {

namespace pb = opentelemetry::proto;

std::string_view ucum_unit(std::string_view unit) {
  if (unit == "bytes") return "By";
  if (unit == "seconds") return "s";
  if (unit == "percent") return "%";
  if (unit == "celsius") return "Cel";
  return unit;
}

namespace {

bool is_info(const metrics::Family& f) {
  const std::string& n = f.name();
  return f.type() == metrics::Type::kGauge && n.size() > 5 &&
         n.compare(n.size() - 5, 5, "_info") == 0;
}

void add_points(const metrics::Family& f, const OtlpStamp& stamp, bool with_start,
                google::protobuf::RepeatedPtrField<pb::metrics::v1::NumberDataPoint>* points) {
  const auto& names = f.label_names();
  points->Reserve(static_cast<int>(f.size()));
  for (std::size_t s = 0; s < f.size(); s++) {
    pb::metrics::v1::NumberDataPoint* p = points->Add();
    auto* attrs = p->mutable_attributes();
    attrs->Reserve(static_cast<int>(names.size()));
    for (std::size_t j = 0; j < names.size(); j++) {
      pb::common::v1::KeyValue* kv = attrs->Add();
      kv->set_key(names[j]);
      const std::string_view v = f.label_value(s, j);
      kv->mutable_value()->set_string_value(v.data(), v.size());
    }
    if (with_start) p->set_start_time_unix_nano(stamp.start_unix_nano);
    p->set_time_unix_nano(stamp.time_unix_nano);
    p->set_as_double(f.value(s));
  }
}

}  // namespace

void to_otlp(const metrics::FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp,
             pb::collector::metrics::v1::ExportMetricsServiceRequest* req) {
  pb::metrics::v1::ResourceMetrics* rm = req->add_resource_metrics();
  for (const auto& [k, v] : resource) {
    pb::common::v1::KeyValue* kv = rm->mutable_resource()->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
  pb::metrics::v1::ScopeMetrics* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("hostflow-exporter");
  sm->mutable_scope()->set_version(HOSTFLOW_VERSION);
  sm->mutable_metrics()->Reserve(static_cast<int>(set.families().size()));
  for (const metrics::Family& f : set.families()) {
    if (f.empty()) continue;
    pb::metrics::v1::Metric* m = sm->add_metrics();
    m->set_name(f.name());
    m->set_description(f.help());
    const std::string_view unit = ucum_unit(f.unit());
    m->set_unit(unit.data(), unit.size());
    if (f.type() == metrics::Type::kCounter || is_info(f)) {
      pb::metrics::v1::Sum* sum = m->mutable_sum();
      sum->set_aggregation_temporality(pb::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
      sum->set_is_monotonic(f.type() == metrics::Type::kCounter);
      add_points(f, stamp, true, sum->mutable_data_points());
    } else {
      add_points(f, stamp, false, m->mutable_gauge()->mutable_data_points());
    }
  }
}

}  // namespace hostflow::exporter
