#include "render/exposition.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace hostflow::exporter {

namespace {

// Text format escaping: label values escape \, " and newline; HELP escapes \ and newline.
void append_escaped(std::string& out, std::string_view v, bool quote) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
}

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

const char* type_name(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter: return "counter";
    case prometheus::MetricType::Gauge: return "gauge";
    default: return "untyped";
  }
}

}  // namespace

// The text format for the types hostflow emits (counter, gauge, untyped), written straight into
// one string: the same output as prometheus-cpp's TextSerializer (whose ostream path was ~70% of
// the exporter's CPU at 2,000 interfaces), which still serialises any other type.
std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::string out;
  std::size_t guess = 0;
  for (const auto& f : families) guess += 64 + f.metric.size() * (f.name.size() + 64);
  out.reserve(guess);
  for (const auto& f : families) {
    if (f.type != prometheus::MetricType::Counter && f.type != prometheus::MetricType::Gauge &&
        f.type != prometheus::MetricType::Untyped) {
      std::ostringstream o;
      prometheus::TextSerializer().Serialize(o, {f});
      out += std::move(o).str();
      continue;
    }
    if (!f.help.empty()) {
      out += "# HELP ";
      out += f.name;
      out += ' ';
      append_escaped(out, f.help, false);
      out += '\n';
    }
    out += "# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    for (const auto& m : f.metric) {
      out += f.name;
      if (!m.label.empty()) {
        out += '{';
        bool first = true;
        for (const auto& l : m.label) {
          if (!first) out += ',';
          first = false;
          out += l.name;
          out += "=\"";
          append_escaped(out, l.value, true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      append_value(out, f.type == prometheus::MetricType::Counter ? m.counter.value
                        : f.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                                  : m.untyped.value);
      if (m.timestamp_ms != 0) {
        out += ' ';
        out += std::to_string(m.timestamp_ms);
      }
      out += '\n';
    }
  }
  return out;
}

struct Exposition::Deflate {
  z_stream z{};
  bool ok = false;
  ~Deflate() {
    if (ok) deflateEnd(&z);
  }
};

namespace {
// Runs deflate over `in` with `flush` until it has consumed everything, appending to `out`.
void pump(z_stream* z, std::string_view in, int flush, std::string* out) {
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z->avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  do {
    z->next_out = reinterpret_cast<Bytef*>(buf);
    z->avail_out = sizeof buf;
    const int rc = deflate(z, flush);
    if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out->append(buf, sizeof buf - z->avail_out);
  } while (z->avail_out == 0 || z->avail_in > 0);
}
}  // namespace

Exposition::Exposition(std::string text) : text_(std::move(text)), z_(std::make_unique<Deflate>()) {
  // windowBits 15 + 16 = gzip wrapper; level 1: rendered every cycle, and exposition text
  // compresses ~10x even at the fastest level.
  if (deflateInit2(&z_->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  z_->ok = true;
  gzip_prefix_.reserve(text_.size() / 6 + 64);
  pump(&z_->z, text_, Z_SYNC_FLUSH, &gzip_prefix_);
}

Exposition::~Exposition() = default;

std::string Exposition::gzip_finish(std::string_view tail) const {
  z_stream copy{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (deflateCopy(&copy, &z_->z) != Z_OK) throw std::runtime_error("deflateCopy failed");
  }
  std::string out;
  try {
    pump(&copy, tail, Z_FINISH, &out);
  } catch (...) {
    deflateEnd(&copy);
    throw;
  }
  deflateEnd(&copy);
  return out;
}

Family::Family(std::string name, std::string help, prometheus::MetricType type) {
  f_.name = std::move(name);
  f_.help = std::move(help);
  f_.type = type;
}

Family& Family::add(std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  switch (f_.type) {
    case prometheus::MetricType::Counter: m.counter.value = value; break;
    case prometheus::MetricType::Gauge: m.gauge.value = value; break;
    default: m.untyped.value = value; break;
  }
  f_.metric.push_back(std::move(m));
  return *this;
}

}  // namespace hostflow::exporter
