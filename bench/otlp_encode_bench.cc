// Issue 15: what an OTLP push's encoding costs, part by part, on one real request. Reads a
// serialized ExportMetricsServiceRequest (a request body as tests/otlp/receiver.py saves it,
// e.g. from `OTLP=1 bench/containers.sh 200 10`), turns it back into the metric model (a
// FamilySet: a monotonic Sum is a counter, any other Sum or Gauge a gauge, units back from UCUM),
// checks that converting that gives the same bytes, then times each part N times on this thread
// (CPU time, CLOCK_THREAD_CPUTIME_ID) and prints the medians:
//   fresh      to_otlp on a new arena (1 MiB blocks) + SerializeToString + gzip: the push before
//              the kept request
//   update     OtlpConverter::update with the same series (the kept request's values and times)
//   bytesize   ByteSizeLong alone (the first half of a serialization)
//   serialize  SerializeToString into a kept string (ByteSizeLong + the writing, UTF-8 checks)
//   gzip       deflate level 1 + CRC-32 of the serialized bytes into a kept buffer (zlib)
//   push       update + serialize straight into GzipOutputStream: what the push does now
// Usage: hostflow-otlp-encode-bench REQUEST.bin [N]   (N default 30)
#include <google/protobuf/arena.h>
#include <time.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "outputs/otlp_convert.h"

namespace pb = opentelemetry::proto;
using hostflow::exporter::KeyValues;
using hostflow::exporter::OtlpConverter;
using hostflow::exporter::OtlpStamp;
using hostflow::exporter::metrics::Family;
using hostflow::exporter::metrics::FamilySet;
using hostflow::exporter::metrics::Labels;
using hostflow::exporter::metrics::Type;

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double median_ms(int n, const std::function<void()>& f) {
  std::vector<double> v;
  for (int i = 0; i < n; i++) {
    const double t0 = cpu_ms();
    f();
    v.push_back(cpu_ms() - t0);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string model_unit(const std::string& ucum) {
  if (ucum == "By") return "bytes";
  if (ucum == "s") return "seconds";
  if (ucum == "%") return "percent";
  if (ucum == "Cel") return "celsius";
  return ucum;
}

void add_family(const pb::metrics::v1::Metric& m, FamilySet* set) {
  const bool sum = m.has_sum();
  const Type type = sum && m.sum().is_monotonic() ? Type::kCounter : Type::kGauge;
  const auto& points = sum ? m.sum().data_points() : m.gauge().data_points();
  Family f(m.name(), m.description(), type, model_unit(m.unit()));
  Labels l;
  for (const auto& p : points) {
    l.clear();
    for (const auto& kv : p.attributes()) l.push_back({kv.key(), kv.value().string_value()});
    f.add(l, p.as_double());
  }
  set->add(std::move(f));
}

std::string gzip1(const std::string& in, std::string* out) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  out->resize(deflateBound(&z, in.size()) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  deflate(&z, Z_FINISH);
  out->resize(z.total_out);
  deflateEnd(&z);
  return *out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s REQUEST.bin [N]\n", argv[0]);
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 30;
  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  pb::collector::metrics::v1::ExportMetricsServiceRequest original;
  if (!original.ParseFromString(bytes) || original.resource_metrics_size() != 1 ||
      original.resource_metrics(0).scope_metrics_size() != 1) {
    std::fprintf(stderr, "%s: not a one-resource, one-scope request\n", argv[1]);
    return 1;
  }
  const auto& rm = original.resource_metrics(0);
  KeyValues resource;
  for (const auto& kv : rm.resource().attributes())
    resource.emplace_back(kv.key(), kv.value().string_value());
  FamilySet set;
  std::size_t points = 0, attributes = 0;
  for (const auto& m : rm.scope_metrics(0).metrics()) {
    add_family(m, &set);
    const auto& p = m.has_sum() ? m.sum().data_points() : m.gauge().data_points();
    points += static_cast<std::size_t>(p.size());
    for (const auto& q : p) attributes += static_cast<std::size_t>(q.attributes_size());
  }
  OtlpStamp stamp;
  for (const auto& m : rm.scope_metrics(0).metrics()) {
    const auto& p = m.has_sum() ? m.sum().data_points() : m.gauge().data_points();
    if (p.empty()) continue;
    stamp.time_unix_nano = p[0].time_unix_nano();
    if (m.has_sum()) stamp.start_unix_nano = p[0].start_time_unix_nano();
  }
  OtlpConverter conv;
  std::string plain, zipped;
  conv.update(set, resource, stamp).SerializeToString(&plain);
  std::printf("request: %zu bytes, %d metrics, %zu points, %zu attributes; reconverted %s\n",
              bytes.size(), rm.scope_metrics(0).metrics_size(), points, attributes,
              plain == bytes ? "byte for byte equal" : "DIFFERENT (the timings still hold)");

  const double fresh = median_ms(n, [&] {
    google::protobuf::ArenaOptions opts;
    opts.start_block_size = 1 << 20;
    opts.max_block_size = 16 << 20;
    google::protobuf::Arena arena(opts);
    auto* req = google::protobuf::Arena::CreateMessage<
        pb::collector::metrics::v1::ExportMetricsServiceRequest>(&arena);
    hostflow::exporter::to_otlp(set, resource, stamp, req);
    std::string body;
    req->SerializeToString(&body);
    std::string out;
    gzip1(body, &out);
  });
  const double update = median_ms(n, [&] { conv.update(set, resource, stamp); });
  const auto& req = conv.request();
  const double bytesize = median_ms(n, [&] { (void)req.ByteSizeLong(); });
  const double serialize = median_ms(n, [&] { req.SerializeToString(&plain); });
  const double gzip = median_ms(n, [&] { gzip1(plain, &zipped); });
  const double push = median_ms(n, [&] {
    const auto& r = conv.update(set, resource, stamp);
    (void)hostflow::exporter::serialize_gzip(r, zipped.size() + zipped.size() / 4);
  });
  std::printf(
      "CPU ms, median of %d: fresh %.2f | update %.2f bytesize %.2f serialize %.2f gzip "
      "%.2f | push %.2f\n",
      n, fresh, update, bytesize, serialize, gzip, push);
  return 0;
}
