// Exposition: the pre-rendered gzip prefix plus a per-scrape finish is one valid gzip member whose
// content is text() + tail (checked by inflating with zlib, which verifies CRC and length).
#include <zlib.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "render/exposition.h"

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
  hostflow::exporter::Family f("hostflow_test_total", "A test counter.",
                               prometheus::MetricType::Counter);
  f.add({{"iface", "eth0"}}, 3).add({{"iface", "a\"b\\c\nd"}}, 4.5);
  std::vector<prometheus::MetricFamily> fams;
  fams.push_back(f.take());
  const std::string text = hostflow::exporter::serialize(fams);
  EXPECT_NE(text.find("# HELP hostflow_test_total A test counter.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE hostflow_test_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hostflow_test_total{iface=\"eth0\"} 3\n"), std::string::npos) << text;
  // Label values escape backslash, quote and newline per the text format.
  EXPECT_NE(text.find("{iface=\"a\\\"b\\\\c\\nd\"} 4.5\n"), std::string::npos) << text;
}

}  // namespace
