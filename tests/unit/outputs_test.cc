// Outputs (exporter/outputs): the Prometheus text writer against prometheus-cpp's TextSerializer,
// and the exposition: the pre-rendered gzip prefix plus a per-scrape finish is one valid gzip
// member whose content is text() + tail (checked by inflating with zlib, which verifies CRC and
// length).
#include <zlib.h>

#include <prometheus/text_serializer.h>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "outputs/exposition.h"
#include "outputs/prometheus_text.h"

namespace {

using hostflow::exporter::Exposition;

// Inflates one gzip member; fails the test on any zlib error or trailing garbage.
std::string gunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[4096];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      ADD_FAILURE() << "inflate: " << rc << " " << (z.msg ? z.msg : "");
      break;
    }
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc != Z_STREAM_END);
  EXPECT_EQ(rc, Z_STREAM_END) << "stream not finished";
  EXPECT_EQ(z.avail_in, 0u) << "bytes after the gzip member";
  inflateEnd(&z);
  return out;
}

std::string random_text(std::size_t n, unsigned seed, bool compressible) {
  std::mt19937 rng(seed);
  std::string s(n, ' ');
  for (char& c : s) c = compressible ? "abc_{}=\"0123\n"[rng() % 13] : static_cast<char>(rng());
  return s;
}

TEST(Exposition, GzipPrefixPlusFinishIsTextPlusTail) {
  const std::vector<std::string> bodies = {
      "", "# HELP up x\n# TYPE up gauge\nup 1\n", random_text(100000, 1, true),
      random_text(300000, 2, false),  // incompressible: many deflate output buffers
  };
  const std::vector<std::string> tails = {"", "hostflow_scrape_total 5\n",
                                          random_text(70000, 3, false)};
  for (const auto& body : bodies) {
    Exposition e(body);
    EXPECT_EQ(e.text(), body);
    ASSERT_GE(e.gzip_prefix().size(), 10u);
    EXPECT_EQ(static_cast<unsigned char>(e.gzip_prefix()[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(e.gzip_prefix()[1]), 0x8b);
    for (const auto& tail : tails) {
      SCOPED_TRACE("body " + std::to_string(body.size()) + " tail " + std::to_string(tail.size()));
      const std::string gz = e.gzip_prefix() + e.gzip_finish(tail);
      EXPECT_EQ(gunzip(gz), body + tail);
    }
  }
}

TEST(Exposition, FinishDoesNotDisturbThePrefixState) {
  // Many scrapes finish from the same state: each must be independent of the ones before.
  Exposition e(random_text(5000, 4, true));
  const std::string prefix = e.gzip_prefix();
  for (int i = 0; i < 20; i++) {
    const std::string tail = "scrape " + std::to_string(i) + "\n";
    EXPECT_EQ(gunzip(prefix + e.gzip_finish(tail)), e.text() + tail);
  }
  EXPECT_EQ(e.gzip_prefix(), prefix);
}

TEST(Exposition, ConcurrentFinishes) {
  Exposition e(random_text(20000, 5, true));
  std::vector<std::thread> ts;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        const std::string tail = "t" + std::to_string(t) + " " + std::to_string(i) + "\n";
        if (gunzip(e.gzip_prefix() + e.gzip_finish(tail)) == e.text() + tail) ok[t]++;
      }
    });
  }
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; t++) EXPECT_EQ(ok[t], 50);
}

TEST(Exposition, SerializeAndFamilies) {
  hostflow::exporter::metrics::Family f("hostflow_test_total", "A test counter.",
                                        hostflow::exporter::metrics::Type::kCounter);
  f.add({{"iface", "eth0"}}, 3).add({{"iface", "a\"b\\c\nd"}}, 4.5);
  hostflow::exporter::metrics::FamilySet fams;
  fams.add(std::move(f));
  const std::string text = hostflow::exporter::prometheus_text(fams);
  EXPECT_NE(text.find("# HELP hostflow_test_total A test counter.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE hostflow_test_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hostflow_test_total{iface=\"eth0\"} 3\n"), std::string::npos) << text;
  // Label values escape backslash, quote and newline per the text format.
  EXPECT_NE(text.find("{iface=\"a\\\"b\\\\c\\nd\"} 4.5\n"), std::string::npos) << text;
}

// The writer sizes the body before writing it, assuming nothing needs escaping; label values
// made only of escaped bytes (each doubles) make it grow mid-family, and the text stays exact.
TEST(Exposition, AnEscapeHeavyBodyGrowsPastItsEstimateIntact) {
  hostflow::exporter::metrics::Family f("hostflow_test_info", "Escapes \\ and \n.",
                                        hostflow::exporter::metrics::Type::kGauge);
  std::string expected = "# HELP hostflow_test_info Escapes \\\\ and \\n.\n";
  expected += "# TYPE hostflow_test_info gauge\n";
  for (int i = 0; i < 200; i++) {
    const std::string v(static_cast<std::size_t>(100 + i), "\\\"\n"[i % 3]);
    f.add({{"a", v}, {"b", std::to_string(i)}}, i);
    std::string esc;
    for (char c : v) esc += c == '\n' ? std::string("\\n") : std::string("\\") + c;
    expected += "hostflow_test_info{a=\"" + esc + "\",b=\"" + std::to_string(i) + "\"} " +
                std::to_string(i) + "\n";
  }
  hostflow::exporter::metrics::FamilySet fams;
  fams.add(std::move(f));
  EXPECT_EQ(hostflow::exporter::prometheus_text(fams), expected);
}

}  // namespace

// The text writer over the metric model must say exactly what prometheus-cpp's TextSerializer
// (an independent implementation) says for the same families, with hostile label values, special
// floats and empty families.
TEST(Exposition, SerializeEqualsPrometheusCppTextSerializer) {
  using prometheus::MetricType;
  namespace metrics = hostflow::exporter::metrics;
  std::vector<prometheus::MetricFamily> fams;
  metrics::FamilySet ours;
  std::mt19937_64 rng(7);
  const std::vector<double> values = {0,
                                      1,
                                      -1,
                                      0.1,
                                      1e21,
                                      1e-7,
                                      123456789012345678.0,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      3.14159,
                                      18446744073709551615.0};
  for (MetricType t : {MetricType::Counter, MetricType::Gauge, MetricType::Untyped}) {
    prometheus::MetricFamily f;
    const metrics::Type ot = t == MetricType::Counter ? metrics::Type::kCounter
                             : t == MetricType::Gauge ? metrics::Type::kGauge
                                                      : metrics::Type::kUntyped;
    f.name = "hf_test_" + std::to_string(static_cast<int>(t));
    // (prometheus-cpp 1.0 writes HELP unescaped, so no backslash or newline in this comparison.)
    f.help = t == MetricType::Gauge ? "" : "help with \"quotes\" and UTF-8 \xc3\xa9";
    f.type = t;
    metrics::Family o(f.name, f.help, ot);
    int i = 0;
    for (double v : values) {
      prometheus::ClientMetric m;
      // Distinct series: the model refuses a second series with equal labels.
      m.label = {
          {"a", "x\"y\\z\nw"}, {"b", std::string("\xc3\xa9\xff")}, {"c", std::to_string(i++)}};
      m.counter.value = m.gauge.value = m.untyped.value = v;
      f.metric.push_back(m);
      metrics::Labels ol;
      for (const auto& l : m.label) ol.push_back({l.name, l.value});
      o.add(ol, v);
    }
    fams.push_back(f);
    ours.add(std::move(o));
    prometheus::MetricFamily g;  // a family without labels
    g.name = f.name + "_bare";
    g.type = t;
    prometheus::ClientMetric bare;
    const double bv = static_cast<double>(rng() >> 11);
    bare.counter.value = bare.gauge.value = bare.untyped.value = bv;
    g.metric.push_back(bare);
    fams.push_back(g);
    ours.add(std::move(metrics::Family(g.name, "", ot).add(bv)));
  }
  prometheus::MetricFamily empty;
  empty.name = "hf_empty";
  empty.help = "no series";
  empty.type = MetricType::Gauge;
  fams.push_back(empty);
  ours.add(metrics::Family("hf_empty", "no series", metrics::Type::kGauge));
  std::ostringstream ref;
  prometheus::TextSerializer().Serialize(ref, fams);
  // Byte equality except for how a double is spelled: compare line by line, values as numbers.
  std::istringstream a(hostflow::exporter::prometheus_text(ours)), b(ref.str());
  std::string la, lb;
  int lines = 0;
  while (std::getline(b, lb)) {
    ASSERT_TRUE(std::getline(a, la)) << "missing line: " << lb;
    lines++;
    if (lb.empty() || lb[0] == '#') {
      EXPECT_EQ(la, lb);
      continue;
    }
    // "<series> <value>[ <timestamp>]": the series part must be identical.
    auto split = [](const std::string& l) {
      const std::size_t close = l.rfind('}');
      const std::size_t sp = l.find(' ', close == std::string::npos ? 0 : close);
      return std::make_pair(l.substr(0, sp), l.substr(sp + 1));
    };
    auto [ka, va] = split(la);
    auto [kb, vb] = split(lb);
    EXPECT_EQ(ka, kb);
    std::istringstream na(va), nb(vb);
    std::string xa, xb, ta, tb;
    na >> xa >> ta;
    nb >> xb >> tb;
    EXPECT_EQ(ta, tb) << la << " vs " << lb;
    if (xb == "Nan" || xb == "NaN") {
      EXPECT_EQ(xa, "NaN");
    } else {
      // prometheus-cpp 1.0 prints 15 significant digits; ours is the shortest exact spelling.
      const double da = std::stod(xa), db = std::stod(xb);
      if (std::isinf(db)) {
        EXPECT_EQ(da, db) << la;
      } else {
        EXPECT_LE(std::abs(da - db), 1e-14 * std::abs(db)) << la << " vs " << lb;
      }
    }
  }
  EXPECT_FALSE(std::getline(a, la)) << "extra line: " << la;
  EXPECT_GT(lines, 40);
  // Every value reads back exactly (2^64 - 1 bytes is not rounded to 15 digits).
  for (double v : values) {
    metrics::FamilySet one;
    one.add(std::move(metrics::Family("hf_v", "", metrics::Type::kGauge).add(v)));
    const std::string line = hostflow::exporter::prometheus_text(one);
    const std::string num = line.substr(line.rfind(' ') + 1);
    EXPECT_EQ(std::stod(num), v) << line;
  }
  // HELP escapes backslash and newline as the text format says (where prometheus-cpp 1.0 does not).
  metrics::FamilySet h;
  h.add(metrics::Family("hf_help", "a \\ b\nc", metrics::Type::kGauge));
  EXPECT_EQ(hostflow::exporter::prometheus_text(h),
            "# HELP hf_help a \\\\ b\\nc\n# TYPE hf_help gauge\n");
}
