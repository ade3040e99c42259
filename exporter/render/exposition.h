// Exposition: one rendered body, plain and gzip, immutable once made. Rendered once per snapshot
// and shared by every scrape. A small per-scrape "tail" (snapshot age, scrape counts) is appended
// to the plain text, and to the gzip stream by continuing a copy of the deflate state, so a scrape
// never re-compresses the body. Runs in hostflow-exporter.
#pragma once

#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter {

// Serialises families in the Prometheus text format (prometheus-cpp's TextSerializer).
std::string serialize(const std::vector<prometheus::MetricFamily>& families);

class Exposition {
 public:
  explicit Exposition(std::string text);
  ~Exposition();
  Exposition(const Exposition&) = delete;
  Exposition& operator=(const Exposition&) = delete;

  const std::string& text() const { return text_; }
  // gzip member header + the body deflated with a sync flush (not yet finished).
  const std::string& gzip_prefix() const { return gzip_prefix_; }
  // The rest of the gzip stream: `tail` deflated, then the trailer (CRC and length of all).
  std::string gzip_finish(std::string_view tail) const;

 private:
  struct Deflate;
  std::string text_;
  std::string gzip_prefix_;
  std::unique_ptr<Deflate> z_;
  mutable std::mutex mu_;
};

// Convenience for building families.
class Family {
 public:
  Family(std::string name, std::string help, prometheus::MetricType type);
  Family& add(std::vector<prometheus::ClientMetric::Label> labels, double value);
  Family& add(double value) { return add({}, value); }
  bool empty() const { return f_.metric.empty(); }
  prometheus::MetricFamily take() { return std::move(f_); }

 private:
  prometheus::MetricFamily f_;
};

}  // namespace hostflow::exporter
