#include "outputs/otlp_convert.h"

#include <google/protobuf/io/gzip_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstring>

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

using Points = google::protobuf::RepeatedPtrField<pb::metrics::v1::NumberDataPoint>;
using Attributes = google::protobuf::RepeatedPtrField<pb::common::v1::KeyValue>;

bool is_info(const metrics::Family& f) {
  const std::string& n = f.name();
  return f.type() == metrics::Type::kGauge && n.size() > 5 &&
         n.compare(n.size() - 5, 5, "_info") == 0;
}

// A Sum (cumulative; monotonic for a counter) rather than a Gauge.
bool is_sum(const metrics::Family& f) {
  return f.type() == metrics::Type::kCounter || is_info(f);
}

void add_points(const metrics::Family& f, const OtlpStamp& stamp, bool with_start, Points* points) {
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

// --- in place (OtlpConverter) ---

// `*dst` = `v`, written only when it differs (a kept string keeps its buffer).
void sync(std::string* dst, std::string_view v) {
  if (dst->size() != v.size() || std::memcmp(dst->data(), v.data(), v.size()) != 0)
    dst->assign(v.data(), v.size());
}

// The element at `i` of `r`, which has at least `i` elements: a kept one, or a new (cleared) one.
template <class T>
T* at(google::protobuf::RepeatedPtrField<T>* r, int i) {
  return i < r->size() ? r->Mutable(i) : r->Add();
}

template <class T>
void truncate(google::protobuf::RepeatedPtrField<T>* r, int n) {
  while (r->size() > n) r->RemoveLast();  // kept, cleared, for a later Add()
}

void sync_attribute(pb::common::v1::KeyValue* kv, std::string_view key, std::string_view value) {
  sync(kv->mutable_key(), key);
  pb::common::v1::AnyValue* av = kv->mutable_value();
  if (av->value_case() == pb::common::v1::AnyValue::kStringValue)
    sync(av->mutable_string_value(), value);
  else
    av->set_string_value(value.data(), value.size());
}

void sync_points(const metrics::Family& f, const OtlpStamp& stamp, bool with_start,
                 Points* points) {
  const auto& names = f.label_names();
  const int n = static_cast<int>(f.size());
  const int k = static_cast<int>(names.size());
  truncate(points, n);
  for (int s = 0; s < n; s++) {
    pb::metrics::v1::NumberDataPoint* p = at(points, s);
    Attributes* attrs = p->mutable_attributes();
    truncate(attrs, k);
    for (int j = 0; j < k; j++)
      sync_attribute(at(attrs, j), names[static_cast<std::size_t>(j)],
                     f.label_value(static_cast<std::size_t>(s), static_cast<std::size_t>(j)));
    p->set_start_time_unix_nano(with_start ? stamp.start_unix_nano : 0);
    p->set_time_unix_nano(stamp.time_unix_nano);
    p->set_as_double(f.value(static_cast<std::size_t>(s)));
  }
}

void sync_metric(const metrics::Family& f, const OtlpStamp& stamp, pb::metrics::v1::Metric* m) {
  sync(m->mutable_name(), f.name());
  sync(m->mutable_description(), f.help());
  sync(m->mutable_unit(), ucum_unit(f.unit()));
  if (is_sum(f)) {
    pb::metrics::v1::Sum* sum = m->mutable_sum();  // a kept Gauge is deleted here
    sum->set_aggregation_temporality(pb::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
    sum->set_is_monotonic(f.type() == metrics::Type::kCounter);
    sync_points(f, stamp, true, sum->mutable_data_points());
  } else {
    sync_points(f, stamp, false, m->mutable_gauge()->mutable_data_points());
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
    if (is_sum(f)) {
      pb::metrics::v1::Sum* sum = m->mutable_sum();
      sum->set_aggregation_temporality(pb::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
      sum->set_is_monotonic(f.type() == metrics::Type::kCounter);
      add_points(f, stamp, true, sum->mutable_data_points());
    } else {
      add_points(f, stamp, false, m->mutable_gauge()->mutable_data_points());
    }
  }
}

OtlpConverter::OtlpConverter() = default;
OtlpConverter::~OtlpConverter() = default;

const pb::collector::metrics::v1::ExportMetricsServiceRequest& OtlpConverter::update(
    const metrics::FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp) {
  if (!req_ || arena_->SpaceUsed() > 2 * built_bytes_) {
    req_ = nullptr;
    arena_.reset();  // the old request's memory first
    google::protobuf::ArenaOptions opts;
    opts.start_block_size = 1 << 20;  // a 200 x 10 rendering is ~20 MB of messages
    opts.max_block_size = 16 << 20;
    arena_ = std::make_unique<google::protobuf::Arena>(opts);
    req_ = google::protobuf::Arena::CreateMessage<
        pb::collector::metrics::v1::ExportMetricsServiceRequest>(arena_.get());
    built_bytes_ = 0;
    builds_++;
  }
  auto* rms = req_->mutable_resource_metrics();
  pb::metrics::v1::ResourceMetrics* rm = at(rms, 0);
  truncate(rms, 1);
  if (resource.empty()) {
    rm->clear_resource();  // to_otlp makes no Resource then
  } else {
    Attributes* rattrs = rm->mutable_resource()->mutable_attributes();
    const int nr = static_cast<int>(resource.size());
    truncate(rattrs, nr);
    for (int i = 0; i < nr; i++) {
      const auto& [k, v] = resource[static_cast<std::size_t>(i)];
      sync_attribute(at(rattrs, i), k, v);
    }
  }
  auto* sms = rm->mutable_scope_metrics();
  pb::metrics::v1::ScopeMetrics* sm = at(sms, 0);
  truncate(sms, 1);
  sync(sm->mutable_scope()->mutable_name(), "hostflow-exporter");
  sync(sm->mutable_scope()->mutable_version(), HOSTFLOW_VERSION);
  auto* ms = sm->mutable_metrics();
  int out = 0;
  for (const metrics::Family& f : set.families()) {
    if (f.empty()) continue;
    // The family's Metric of the last push moved to this position, or a new one inserted here,
    // so that a family that appeared or went away leaves the others' Metrics matched by name.
    if (out < ms->size() && ms->Get(out).name() != f.name()) {
      int found = out + 1;
      while (found < ms->size() && ms->Get(found).name() != f.name()) found++;
      if (found == ms->size()) ms->Add();  // a cleared one if protobuf kept any
      for (int i = found; i > out; i--) ms->SwapElements(i, i - 1);
    }
    sync_metric(f, stamp, at(ms, out));
    out++;
  }
  truncate(ms, out);
  if (built_bytes_ == 0) built_bytes_ = arena_->SpaceUsed();
  return *req_;
}

std::string serialize_gzip(const pb::collector::metrics::v1::ExportMetricsServiceRequest& req,
                           std::size_t reserve) {
  std::string body;
  body.reserve(reserve);
  google::protobuf::io::StringOutputStream out(&body);
  google::protobuf::io::GzipOutputStream::Options o;
  o.format = google::protobuf::io::GzipOutputStream::GZIP;
  o.compression_level = 1;
  o.buffer_size = 256 << 10;
  google::protobuf::io::GzipOutputStream gz(&out, o);
  if (!req.SerializeToZeroCopyStream(&gz) || !gz.Close()) body.clear();
  return body;
}

}  // namespace hostflow::exporter
