// The HAProxy SNI feature without HAProxy: the line parser over real captured lines
// (tests/fixtures/haproxy: the same four connections logged raw, as RFC 3164 and as RFC 5424 by
// HAProxy 2.6 with the recommended log-format), SNI normalisation, the bounded SNI table's
// exact-totals invariant and saturation, the per-line plausibility limit, and the tailer's
// exactly-once behaviour over real files (rotation by rename and by copytruncate — also truncated
// and rewritten past the read offset, between polls or while stopped —, partial lines, restarts
// from the checkpoint). Expected values are taken from the input text here (split by this test),
// not from the code under test.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "areas/haproxy/haproxy_line.h"
#include "areas/haproxy/haproxy_tail.h"
#include "areas/haproxy/sni_table.h"
#include "hostflow/common/log.h"
#include "support.h"

namespace hostflow::exporter {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The HAProxy message of a fixture line the test's own way: everything after the first
// "haproxy" tag/app-name token and its separator (raw lines: the whole line).
std::vector<std::string> fields_of(const std::string& msg) {
  std::istringstream s(msg);
  std::vector<std::string> f;
  for (std::string w; s >> w;) f.push_back(w);
  return f;
}

TEST(HaproxyLine, FixturesParseTheSameInEveryFormat) {
  const std::string dir = std::string(HOSTFLOW_FIXTURES_DIR) + "/haproxy/";
  const auto raw = lines_of(dir + "raw.log");
  ASSERT_EQ(raw.size(), 4u);
  for (const char* name : {"raw.log", "rfc3164.log", "rfc5424.log"}) {
    const auto lines = lines_of(dir + name);
    ASSERT_EQ(lines.size(), raw.size()) << name;
    for (std::size_t i = 0; i < lines.size(); i++) {
      // The syslog copies end with the raw line.
      ASSERT_EQ(lines[i].substr(lines[i].size() - raw[i].size()), raw[i]) << name;
      const auto f = fields_of(raw[i]);
      const HaproxyLine l = parse_haproxy_line(lines[i], HaproxyFields{});
      ASSERT_EQ(l.error, LineError::kNone) << name << ": " << lines[i];
      EXPECT_EQ(l.bytes_in, std::stoull(f[5])) << lines[i];
      EXPECT_EQ(l.bytes_out, std::stoull(f[6])) << lines[i];
      EXPECT_EQ(l.sni_raw, f[10]) << lines[i];
    }
  }
  std::string n;
  EXPECT_EQ(normalise_sni(parse_haproxy_line(raw[0], {}).sni_raw, &n), SniKind::kValid);
  EXPECT_EQ(n, "example.com");
  EXPECT_EQ(normalise_sni(parse_haproxy_line(raw[2], {}).sni_raw, &n), SniKind::kNone);
}

TEST(HaproxyLine, SyslogPrefixes) {
  const std::string msg = "1.2.3.4:5 [x] fe be/s 1/2/3 10 20 -- 1/1/0/0/0 0/0 a.example";
  // rsyslog's traditional file format, its high-precision format, BSD with a one-digit day,
  // RFC 5424 with structured data holding an escaped ']', and a BOM before the message.
  const std::vector<std::string> prefixed = {
      "Nov 22 04:49:08 host haproxy[1]: " + msg,
      "2026-11-22T04:49:08.123456+00:00 host haproxy[1]: " + msg,
      "<134>Nov  2 04:49:08 haproxy[1]: " + msg,
      "<134>1 2026-11-22T04:49:08Z h haproxy 1 - [a x=\"y\\]z\"][b c=\"d\"] " + msg,
      "<134>1 2026-11-22T04:49:08Z h haproxy 1 - - \xEF\xBB\xBF" + msg,
  };
  for (const auto& p : prefixed) {
    const auto m = strip_syslog_prefix(p);
    ASSERT_TRUE(m) << p;
    EXPECT_EQ(*m, msg) << p;
  }
  EXPECT_EQ(strip_syslog_prefix(msg), msg);  // raw
  for (const std::string bad : {"<134", "<>x", "<134>garbage", "<134>1 only three tokens",
                                "Nov 22 04:49:08 no-tag-here at all", "<12345678>x"}) {
    EXPECT_FALSE(strip_syslog_prefix(bad)) << bad;
    EXPECT_EQ(parse_haproxy_line(bad, {}).error, LineError::kSyslogPrefix) << bad;
  }
}

TEST(HaproxyLine, ErrorsByReason) {
  EXPECT_EQ(parse_haproxy_line("", {}).error, LineError::kEmpty);
  EXPECT_EQ(parse_haproxy_line("  \t", {}).error, LineError::kEmpty);
  EXPECT_EQ(parse_haproxy_line("a b c d e 1 2 x y z", {}).error, LineError::kMissingField);
  EXPECT_EQ(parse_haproxy_line("a b c d e x 2 x y z s", {}).error, LineError::kBadBytesIn);
  EXPECT_EQ(parse_haproxy_line("a b c d e 1 -2 x y z s", {}).error, LineError::kBadBytesOut);
  EXPECT_EQ(parse_haproxy_line("a b c d e 99999999999999999999 2 x y z s", {}).error,
            LineError::kBadBytesIn);
  const auto ok = parse_haproxy_line("a b c d e +1 2 x y z {s.example}\r", {});
  EXPECT_EQ(ok.error, LineError::kNone);
  EXPECT_EQ(ok.bytes_in, 1u);
  EXPECT_EQ(ok.sni_raw, "s.example");
}

// 2^42 bytes (4 TiB) in one connection is the most a line may claim (issue 12 defect 7).
constexpr std::uint64_t kLimit = std::uint64_t{1} << 42;
static_assert(kMaxLineByteCount == kLimit);

std::string line_with(const std::string& in, const std::string& out, const std::string& sni) {
  return "127.0.0.1:1 [t] fe be/s 0/0/1 " + in + " " + out + " -- 1/1/0/0/0 0/0 " + sni;
}

TEST(HaproxyLine, ImplausibleByteCountsAreBadBytes) {
  const std::string lim = std::to_string(kLimit), over = std::to_string(kLimit + 1);
  const std::string i63 = std::to_string(INT64_MAX);
  const auto ok = parse_haproxy_line(line_with(lim, "+" + lim, "a.example"), {});
  ASSERT_EQ(ok.error, LineError::kNone);
  EXPECT_EQ(ok.bytes_in, kLimit);
  EXPECT_EQ(ok.bytes_out, kLimit);
  EXPECT_EQ(parse_haproxy_line(line_with(over, "0", "a.example"), {}).error,
            LineError::kBadBytesIn);
  EXPECT_EQ(parse_haproxy_line(line_with("0", over, "a.example"), {}).error,
            LineError::kBadBytesOut);
  EXPECT_EQ(parse_haproxy_line(line_with(i63, "1", "a.example"), {}).error, LineError::kBadBytesIn);
  EXPECT_EQ(parse_haproxy_line(line_with("1", "+" + i63, "a.example"), {}).error,
            LineError::kBadBytesOut);
  EXPECT_EQ(parse_haproxy_line(line_with("18446744073709551615", "1", "a.example"), {}).error,
            LineError::kBadBytesIn);
  // Leading zeros do not make a small number implausible.
  const auto z = parse_haproxy_line(line_with("0000000000000000042", "7", "a.example"), {});
  EXPECT_EQ(z.error, LineError::kNone);
  EXPECT_EQ(z.bytes_in, 42u);
}

TEST(HaproxyLine, FieldsFlag) {
  std::string err;
  auto f = parse_haproxy_fields("bytes_out=2,sni=3,bytes_in=1", &err);
  ASSERT_TRUE(f) << err;
  const auto l = parse_haproxy_line("5 6 www.example.org tail", *f);
  EXPECT_EQ(l.error, LineError::kNone);
  EXPECT_EQ(l.bytes_in, 5u);
  EXPECT_EQ(l.bytes_out, 6u);
  EXPECT_EQ(l.sni_raw, "www.example.org");
  for (const char* bad :
       {"", "sni=1", "sni=1,bytes_in=1,bytes_out=2", "sni=0,bytes_in=1,bytes_out=2",
        "sni=1,bytes_in=2,bytes_out=3,sni=4", "host=1,bytes_in=2,bytes_out=3",
        "sni=x,bytes_in=2,bytes_out=3", "sni=65,bytes_in=2,bytes_out=3"}) {
    EXPECT_FALSE(parse_haproxy_fields(bad, &err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(HaproxyLine, SniNormalisation) {
  std::string n;
  const std::vector<std::pair<std::string, std::string>> valid = {
      {"Example.COM.", "example.com"},
      {"a", "a"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},
      {"a-b.c1", "a-b.c1"},
      {"1.2.3.example", "1.2.3.example"}};
  for (const auto& [in, out] : valid) {
    EXPECT_EQ(normalise_sni(in, &n), SniKind::kValid) << in;
    EXPECT_EQ(n, out);
  }
  EXPECT_EQ(normalise_sni("-", &n), SniKind::kNone);
  EXPECT_EQ(normalise_sni("", &n), SniKind::kNone);
  for (const std::string& bad :
       {std::string("."), std::string(".."), std::string("a..b"), std::string("-a.b"),
        std::string("a-.b"), std::string("a_b.c"), std::string("1.2.3.4"), std::string("a b"),
        std::string("bücher.de"), std::string(64, 'a') + ".b", std::string(254, 'a'),
        std::string("a.b\"}\n"), std::string("a.-")}) {
    EXPECT_EQ(normalise_sni(bad, &n), SniKind::kInvalid) << bad;
  }
  // 253 bytes of labels is the longest host name.
  std::string longest;
  while (longest.size() + 64 <= 253) longest += std::string(63, 'a') + ".";
  longest += std::string(253 - longest.size(), 'b');
  EXPECT_EQ(normalise_sni(longest, &n), SniKind::kValid);
  EXPECT_EQ(normalise_sni(longest + "b", &n), SniKind::kInvalid);
}

SniCounters sum_all(const SniTable& t) {
  SniCounters s = t.other;
  s.add(t.none);
  s.add(t.invalid);
  for (const auto& [k, v] : t.tracked()) s.add(v.c);
  return s;
}

TEST(SniTable, TotalsExactAndBoundedUnderChurn) {
  SniTable t(50);
  std::mt19937_64 rng(7);
  SniCounters truth;
  for (int i = 0; i < 200000; i++) {
    // A few heavy names, then a hostile stream of distinct ones.
    const bool heavy = rng() % 4 == 0;
    const std::string name = heavy ? "heavy" + std::to_string(rng() % 5) + ".example"
                                   : "n" + std::to_string(i) + ".example";
    const std::uint64_t in = rng() % 3 == 0 ? 0 : rng() % 5000;
    const std::uint64_t out = in == 0 && rng() % 2 ? 0 : rng() % 100000;
    t.add(SniKind::kValid, name, in, out);
    truth.add({1, in + out == 0 ? 1u : 0u, in, out});
    if (i % 1000 == 999) t.rebalance();
    ASSERT_LE(t.tracked().size(), 50u);
    ASSERT_LE(t.candidates(), 50u);
  }
  t.add(SniKind::kNone, "", 0, 0);
  t.add(SniKind::kInvalid, "", 3, 4);
  truth.add({1, 1, 0, 0});
  truth.add({1, 0, 3, 4});
  t.rebalance();
  EXPECT_EQ(sum_all(t), truth);
  // The heavy names became tracked even though 50 light ones came first.
  for (int h = 0; h < 5; h++)
    EXPECT_TRUE(t.tracked().count("heavy" + std::to_string(h) + ".example")) << h;
  EXPECT_GT(t.evictions, 0u);
  EXPECT_GT(t.folded_connections, 0u);
}

TEST(SniTable, CountersSaturateInsteadOfWrapping) {
  const std::uint64_t max = UINT64_MAX;
  SniCounters c{max - 1, max, max - 5, 3};
  c.add({5, 1, 5, max});
  EXPECT_EQ(c, (SniCounters{max, max, max, max}));
  c.add({1, 1, 1, 1});
  EXPECT_EQ(c, (SniCounters{max, max, max, max}));
  SniCounters exact{1, 0, kLimit, kLimit};
  exact.add({1, 0, kLimit, kLimit});
  EXPECT_EQ(exact, (SniCounters{2, 0, 2 * kLimit, 2 * kLimit}));

  SniTable t(1);
  ASSERT_TRUE(t.restore("a.example", {3, 0, max - 10, max - 10}));
  t.add(SniKind::kValid, "a.example", 7, 11);
  EXPECT_EQ(t.tracked().at("a.example").c, (SniCounters{4, 0, max - 3, max}));
  t.add(SniKind::kValid, "a.example", max, max);
  EXPECT_EQ(t.tracked().at("a.example").c, (SniCounters{5, 0, max, max}));
  t.none = {max, max, 0, 0};
  t.add(SniKind::kNone, "", 0, 0);
  EXPECT_EQ(t.none, (SniCounters{max, max, 0, 0}));
  t.invalid = {1, 0, max - 1, 0};
  t.add(SniKind::kInvalid, "", max, 0);
  EXPECT_EQ(t.invalid, (SniCounters{2, 0, max, 0}));
  // Folded into <other>, weights included: nothing wraps, rebalance still works.
  t.add(SniKind::kValid, "b.example", max, max);
  t.add(SniKind::kValid, "b.example", max, max);
  EXPECT_EQ(t.other, (SniCounters{2, 0, max, max}));
  t.rebalance();
  EXPECT_LE(t.tracked().size(), 1u);
  EXPECT_EQ(t.other.bytes_in, max);
}

// --- the tailer over real files ---------------------------------------------------------------

class TailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/h8-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/haproxy.log";
    opts_.logs = {log_};
    opts_.position_file = dir_ + "/state/pos.json";
    opts_.create_dir = true;
    opts_.sni_limit = 10;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::unique_ptr<HaproxyTailer> open() {
    auto t = HaproxyTailer::open(opts_);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message());
    return t.ok() ? std::move(*t) : nullptr;
  }
  // Appends `n` lines for `sni`, each with in=i+1, out=2*i; adds them to the truth.
  void append(const std::string& path, const std::string& sni, int n, bool newline_last = true) {
    std::ofstream o(path, std::ios::app);
    for (int i = 0; i < n; i++) {
      const std::uint64_t in = static_cast<std::uint64_t>(i) + 1,
                          out = 2u * static_cast<std::uint64_t>(i);
      o << "127.0.0.1:1 [t] fe be/s 0/0/1 " << in << " " << out << " -- 1/1/0/0/0 0/0 " << sni;
      if (i + 1 < n || newline_last) o << "\n";
      truth_[sni].add({1, 0, in, out});
    }
  }
  void expect_truth(const HaproxyTailer& t) {
    std::map<std::string, SniCounters> got;
    for (const auto& [k, v] : t.table().tracked()) got[k] = v.c;
    EXPECT_EQ(got.size(), truth_.size());
    for (const auto& [k, v] : truth_) {
      EXPECT_EQ(got[k], v) << k << ": connections " << got[k].connections << " want "
                           << v.connections;
    }
  }

  // Writes `n` lines for `sni` with in=base+i, out=base+2i (a different length per base), adds
  // them to the truth.
  void write_lines(const std::string& path, const std::string& sni, int n, std::uint64_t base) {
    std::ofstream o(path, std::ios::app);
    for (int i = 0; i < n; i++) {
      const std::uint64_t in = base + static_cast<std::uint64_t>(i),
                          out = base + 2u * static_cast<std::uint64_t>(i);
      o << line_with(std::to_string(in), std::to_string(out), sni) << "\n";
      truth_[sni].add({1, 0, in, out});
    }
  }
  std::uint64_t truth_lines() const {
    std::uint64_t n = 0;
    for (const auto& [k, v] : truth_) n += v.connections;
    return n;
  }
  // A sample of the families built at the last checkpoint; -1 when absent.
  static double sample(const HaproxyTailer& t, const std::string& family, const std::string& label,
                       const std::string& value) {
    metrics::FamilySet fams;
    t.append_families(&fams);
    for (const auto& f : fams.families()) {
      if (f.name() != family) continue;
      for (std::size_t s = 0; s < f.size(); s++)
        for (std::size_t l = 0; l < f.label_names().size(); l++)
          if (f.label_names()[l] == label && f.label_value(s, l) == value) return f.value(s);
    }
    return -1;
  }
  static double unparsed(const HaproxyTailer& t, const std::string& reason) {
    return sample(t, "hostflow_haproxy_lines_unparsed_total", "reason", reason);
  }
  static double truncations(const HaproxyTailer& t) {
    return sample(t, "hostflow_haproxy_rotations_total", "kind", "truncate");
  }
  void expect_no_unparsed(const HaproxyTailer& t) {
    for (const char* r :
         {"empty", "syslog_prefix", "missing_field", "bad_bytes_in", "bad_bytes_out", "too_long"})
      EXPECT_EQ(unparsed(t, r), 0) << r;
  }

  std::string dir_, log_;
  HaproxyOptions opts_;
  std::map<std::string, SniCounters> truth_;
};

TEST_F(TailerTest, PartialLinesRenameRotationAndRestarts) {
  append(log_, "a.example", 100);
  append(log_, "b.example", 3, /*newline_last=*/false);  // the last line is still being written
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  truth_["b.example"].connections--;  // not yet complete: not counted
  truth_["b.example"].bytes_in -= 3;
  truth_["b.example"].bytes_out -= 4;
  expect_truth(*t);
  { std::ofstream(log_, std::ios::app) << "\n"; }
  truth_["b.example"].add({1, 0, 3, 4});
  t->poll(2, true);
  expect_truth(*t);

  // Restart mid-run: counters continue from the checkpoint, nothing is read twice.
  append(log_, "a.example", 10);
  t->poll(3, true);
  append(log_, "c.example", 5);  // read by nobody before the restart
  t.reset();
  t = open();
  ASSERT_TRUE(t);
  t->poll(4, true);
  expect_truth(*t);

  // Rotation by rename: more lines land in the old file after the rename (the writer has not
  // reopened yet), then the new file starts.
  ASSERT_EQ(::rename(log_.c_str(), (log_ + ".1").c_str()), 0);
  append(log_ + ".1", "a.example", 7);
  t->poll(5, true);
  append(log_ + ".1", "d.example", 2);
  append(log_, "e.example", 4);
  t->poll(6, true);
  expect_truth(*t);

  // Rotated while stopped: the old file (with unread lines) is finished first.
  append(log_, "e.example", 3);
  t->poll(7, true);
  append(log_, "f.example", 2);
  t.reset();
  ASSERT_EQ(::rename(log_.c_str(), (log_ + ".2").c_str()), 0);
  append(log_, "g.example", 6);
  t = open();
  ASSERT_TRUE(t);
  t->poll(8, true);
  t->poll(9, true);
  expect_truth(*t);
}

TEST_F(TailerTest, CopytruncateMissingFileAndLongLines) {
  auto t = open();  // the log does not exist yet
  ASSERT_TRUE(t);
  t->poll(1, true);
  append(log_, "a.example", 20);
  t->poll(2, true);
  expect_truth(*t);
  // copytruncate once the tailer has caught up.
  ASSERT_EQ(std::system(("cp " + log_ + " " + log_ + ".1 && truncate -s 0 " + log_).c_str()), 0);
  t->poll(3, true);
  append(log_, "b.example", 4);
  t->poll(4, true);
  expect_truth(*t);
  // Truncated and refilled between two polls, shorter than what was read (caught by the size;
  // longer refills by the content: TruncatedAndRegrownPastTheOffsetBetweenPolls):
  ASSERT_EQ(std::system(("truncate -s 0 " + log_).c_str()), 0);
  append(log_, "c.example", 2);
  t->poll(5, true);
  expect_truth(*t);
  // A line longer than the limit is dropped and counted, the next one counts.
  { std::ofstream(log_, std::ios::app) << std::string(kMaxLineBytes + 10, 'x') << "\n"; }
  append(log_, "d.example", 1);
  t->poll(6, true);
  expect_truth(*t);
  // Survives the file vanishing.
  ASSERT_EQ(::unlink(log_.c_str()), 0);
  t->poll(7, true);
  append(log_, "e.example", 3);
  t->poll(8, true);
  t->poll(9, true);
  expect_truth(*t);
}

// Issue 12 defect 6: copytruncate, then HAProxy writes more than was read before the next poll.
// The size alone cannot tell this from growth; the content before the read offset can.
TEST_F(TailerTest, TruncatedAndRegrownPastTheOffsetBetweenPolls) {
  write_lines(log_, "a.example", 30, 1);
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  expect_truth(*t);
  const auto old_size = static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg());
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  // New lines with another length, so the old offset falls inside one of them.
  write_lines(log_, "new.b.example", 60, 1000);
  ASSERT_GT(static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg()), old_size);
  t->poll(2, true);
  expect_truth(*t);
  EXPECT_EQ(t->lines(), truth_lines());
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 1);
  // Carries on normally afterwards: appends are counted once, no further truncation.
  write_lines(log_, "new.b.example", 5, 7);
  t->poll(3, true);
  expect_truth(*t);
  EXPECT_EQ(truncations(*t), 1);

  // The first KiB rewritten identically, the rest different: the bytes before the offset differ.
  const auto offset = static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg());
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  truth_.clear();
  const SniCounters before_a = t->table().tracked().at("a.example").c;
  SniCounters before_b = t->table().tracked().at("new.b.example").c;
  write_lines(log_, "new.b.example", 20, 1000);  // the file's first 20 lines again (> 1 KiB)
  write_lines(log_, "c.example", 70, 5000);
  ASSERT_GT(static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg()), offset);
  t->poll(4, true);
  before_b.add(truth_["new.b.example"]);
  EXPECT_EQ(t->table().tracked().at("a.example").c, before_a);
  EXPECT_EQ(t->table().tracked().at("new.b.example").c, before_b);
  EXPECT_EQ(t->table().tracked().at("c.example").c, truth_["c.example"]);
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 2);
}

// The same while the exporter is stopped: the checkpoint's fingerprint of the file's head tells
// the regrown file from the one it was taken of.
TEST_F(TailerTest, TruncatedAndRegrownWhileStopped) {
  write_lines(log_, "a.example", 30, 1);
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  expect_truth(*t);
  t.reset();
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  write_lines(log_, "new.b.example", 60, 1000);
  t = open();
  ASSERT_TRUE(t);
  t->poll(2, true);
  expect_truth(*t);
  EXPECT_EQ(t->lines(), truth_lines());
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 1);

  // Head identical, the bytes before the saved offset not.
  write_lines(log_, "new.b.example", 3, 1);
  t->poll(3, true);
  t.reset();
  SniCounters want_a = truth_["a.example"];
  SniCounters want_b = truth_["new.b.example"];
  // Whole lines of the current file's first 2000 bytes.
  std::string head = test::read_file(log_).substr(0, 2000);
  head = head.substr(0, head.rfind('\n') + 1);
  const auto offset = static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg());
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  { std::ofstream(log_) << head; }
  truth_.clear();
  std::istringstream hs(head);
  for (std::string l; std::getline(hs, l);) {
    const auto f = fields_of(l);
    truth_[f[10]].add({1, 0, std::stoull(f[5]), std::stoull(f[6])});
  }
  write_lines(log_, "c.example", 100, 70000);
  ASSERT_GT(static_cast<std::uint64_t>(std::ifstream(log_, std::ios::ate).tellg()), offset);
  want_b.add(truth_["new.b.example"]);
  t = open();
  ASSERT_TRUE(t);
  t->poll(4, true);
  EXPECT_EQ(t->table().tracked().at("a.example").c, want_a);
  EXPECT_EQ(t->table().tracked().at("new.b.example").c, want_b);
  EXPECT_EQ(t->table().tracked().at("c.example").c, truth_["c.example"]);
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 1);
}

// A checkpoint written before the fingerprints existed still loads and resumes at its offset.
TEST_F(TailerTest, CheckpointWithoutFingerprintsLoads) {
  write_lines(log_, "a.example", 30, 1);
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  t.reset();
  nlohmann::json j;
  {
    std::ifstream in(opts_.position_file);
    j = nlohmann::json::parse(in);
  }
  ASSERT_EQ(j["files"].size(), 1u);
  nlohmann::json old_entry = nlohmann::json::object();
  for (const char* k : {"path", "dev", "ino", "offset", "skipping"})
    old_entry[k] = j["files"][0][k];
  j["files"][0] = old_entry;
  { std::ofstream(opts_.position_file) << j.dump(); }
  write_lines(log_, "b.example", 4, 1);
  t = open();
  ASSERT_TRUE(t);
  t->poll(2, true);
  expect_truth(*t);
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 0);
  // Fingerprints taken from the file as it is then: a later copytruncate is still caught.
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  write_lines(log_, "new.c.example", 80, 1000);
  t->poll(3, true);
  expect_truth(*t);
  expect_no_unparsed(*t);
  EXPECT_EQ(truncations(*t), 1);
}

// HAProxy clears O_APPEND on its stdout (LAB.md): after a copytruncate it goes on writing at its
// old offset, leaving a hole of NUL bytes before its new lines. Those lines still count once.
TEST_F(TailerTest, TruncatedUnderAWriterWithoutAppend) {
  const int w = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(w, 0);
  auto put = [&](const std::string& sni, int n, std::uint64_t base) {
    std::string buf;
    for (int i = 0; i < n; i++) {
      const std::uint64_t in = base + static_cast<std::uint64_t>(i), out = 2 * in;
      buf += line_with(std::to_string(in), std::to_string(out), sni) + "\n";
      truth_[sni].add({1, 0, in, out});
    }
    ASSERT_EQ(::write(w, buf.data(), buf.size()), static_cast<ssize_t>(buf.size()));
  };
  put("a.example", 400, 1);  // > 16 KiB: the hole is longer than a line may be
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  expect_truth(*t);
  ASSERT_EQ(::truncate(log_.c_str(), 0), 0);
  put("b.example", 10, 100);
  t->poll(2, true);
  expect_truth(*t);
  expect_no_unparsed(*t);
  put("b.example", 10, 200);
  t->poll(3, true);
  expect_truth(*t);
  expect_no_unparsed(*t);
  ::close(w);
}

// Issue 12 defect 7: implausible per-line byte counts are counted as unparsed and move no
// counter; plausible ones add exactly; saturated counters survive the checkpoint as they are.
TEST_F(TailerTest, ImplausibleByteCountsAndSaturatedCheckpoint) {
  const std::string i63 = std::to_string(INT64_MAX);
  {
    std::ofstream o(log_);
    o << line_with("1", "2", "a.example") << "\n";
    o << line_with(i63, "1", "a.example") << "\n";
    o << line_with(i63, "1", "a.example") << "\n";
    o << line_with("1", std::to_string(kLimit + 1), "a.example") << "\n";
    o << line_with("3", "4", "a.example") << "\n";
    o << line_with(std::to_string(kLimit), std::to_string(kLimit), "b.example") << "\n";
    o << line_with(std::to_string(kLimit), std::to_string(kLimit), "b.example") << "\n";
  }
  auto t = open();
  ASSERT_TRUE(t);
  t->poll(1, true);
  EXPECT_EQ(t->table().tracked().at("a.example").c, (SniCounters{2, 0, 4, 6}));
  EXPECT_EQ(t->table().tracked().at("b.example").c, (SniCounters{2, 0, 2 * kLimit, 2 * kLimit}));
  EXPECT_EQ(unparsed(*t, "bad_bytes_in"), 2);
  EXPECT_EQ(unparsed(*t, "bad_bytes_out"), 1);
  EXPECT_EQ(t->lines(), 4u);
  EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_in_bytes_total", "sni", "a.example"), 4);
  t.reset();

  // A checkpoint near the top of the range: loaded as it is, then saturating, never wrapping.
  nlohmann::json j;
  {
    std::ifstream in(opts_.position_file);
    j = nlohmann::json::parse(in);
  }
  const std::uint64_t max = UINT64_MAX;
  for (auto& e : j["sni"]["tracked"])
    if (e[0] == "a.example") e[1] = {max - 1, 0, max - 2, max - 10};
  j["sni"]["other"] = {max, 1, max, 5};
  { std::ofstream(opts_.position_file) << j.dump(); }
  t = open();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->table().tracked().at("a.example").c, (SniCounters{max - 1, 0, max - 2, max - 10}));
  EXPECT_EQ(t->table().other, (SniCounters{max, 1, max, 5}));
  { std::ofstream(log_, std::ios::app) << line_with("5", "6", "a.example") << "\n"; }
  { std::ofstream(log_, std::ios::app) << line_with("5", "6", "a.example") << "\n"; }
  t->poll(2, true);
  EXPECT_EQ(t->table().tracked().at("a.example").c, (SniCounters{max, 0, max, max}));
  t.reset();
  t = open();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->table().tracked().at("a.example").c, (SniCounters{max, 0, max, max}));
  EXPECT_EQ(t->table().other, (SniCounters{max, 1, max, 5}));
  t->poll(3, true);
  // The exported sum of both directions does not wrap either (max + 5 would be 4).
  EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_bytes_total", "sni", "<other>"),
            static_cast<double>(max));
}

TEST_F(TailerTest, ResetAndBadCheckpoint) {
  append(log_, "a.example", 5);
  auto t = open();
  t->poll(1, true);
  t->reset_stats();
  t->poll(2, true);
  EXPECT_TRUE(t->table().tracked().empty());
  append(log_, "b.example", 2);
  t->poll(3, true);
  EXPECT_EQ(t->table().tracked().size(), 1u);
  t.reset();
  { std::ofstream(opts_.position_file) << "{\"version\":1,\"files\":[]}"; }
  EXPECT_FALSE(HaproxyTailer::open(opts_).ok());
  opts_.reset = true;
  t = open();
  ASSERT_TRUE(t);
  t->poll(4, true);
  EXPECT_EQ(t->table().tracked().at("a.example").c.connections, 5u);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(opts_.position_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// ---- issue 14: the Traffic Exporter's SNI= marker lines and position file
// ------------------------

// processLine (main.go), case by case: the first "SNI=" anywhere, the SNI its first Go field, the
// bytes the last token before it that strconv.ParseInt(tok, 10, 64) accepts.
TEST(HaproxyLine, SniMarkerFollowsTheSeedsProcessLine) {
  struct Case {
    std::string line;
    LineError error;
    std::string_view sni;
    std::uint64_t bytes;
  };
  const std::vector<Case> cases = {
      // HAProxy's default TCP format with " SNI=%[ssl_fc_sni]": the last integer is %B.
      {"10.0.0.1:5000 [22/Nov/2026:04:49:08.123] fe be/s 0/1/300 4096 -- 1/1/0/0/0 0/0 "
       "SNI=example.com",
       LineError::kNone, "example.com", 4096},
      // Syslog prefix included: "haproxy[123]:" and "04:49:08" are no integers, 7 is.
      {"Nov  5 04:49:08 haproxy[123]: 1.2.3.4:1 [x] fe be/s 7 -- SNI=a.com", LineError::kNone,
       "a.com", 7},
      // No integer in the message: the BSD day of month is the seed's number.
      {"Nov  5 04:49:08 haproxy[123]: fe be/s -- SNI=a.com", LineError::kNone, "a.com", 5},
      // Only the first marker; inside a token; glued number on the marker's left counts.
      {"x 100 SNI=a 200 SNI=b", LineError::kNone, "a", 100},
      {"x 12 ORIGSNI=b.com", LineError::kNone, "b.com", 12},
      {"x 123SNI=a", LineError::kNone, "a", 123},
      {"x123 9 y123 SNI=a", LineError::kNone, "a", 9},
      // Whitespace after the marker: the next word; tab, \r, U+00A0 and U+3000 are Go spaces.
      {"1 SNI= 1/2/3 x", LineError::kNone, "1/2/3", 1},
      {"2\tSNI=a.com\r", LineError::kNone, "a.com", 2},
      {"3\xC2\xA0SNI=a.com\xE3\x80\x80tail", LineError::kNone, "a.com", 3},
      {"4 SNI=SNI=x", LineError::kNone, "SNI=x", 4},
      // Signs: +0, -0, 000 are 0 (a zero-byte connection); negative is refused (hostflow's
      // counters never go down); 2^63 is out of ParseInt's range and passed over.
      {"+0 SNI=a", LineError::kNone, "a", 0},
      {"-0 SNI=a", LineError::kNone, "a", 0},
      {"000 SNI=a", LineError::kNone, "a", 0},
      {"5 -5 SNI=a", LineError::kBadBytesOut, "", 0},
      {"6 9223372036854775808 SNI=a", LineError::kNone, "a", 6},
      {"9223372036854775807 SNI=a", LineError::kBadBytesOut, "", 0},  // above 2^42
      {"1,234 12.5 0x10 1_000 123B \"123\" 2/3 -- SNI=a", LineError::kBadBytesOut, "", 0},
      {"SNI=a", LineError::kBadBytesOut, "", 0},
      // Lower case is no marker; nothing after it is no SNI.
      {"1 sni=a", LineError::kNoMarker, "", 0},
      {"1 SNI=", LineError::kMissingField, "", 0},
      {"1 SNI=  \t", LineError::kMissingField, "", 0},
      {"   ", LineError::kEmpty, "", 0},
      // Braces and quotes are removed, as in the fields format.
      {"8 SNI={a.com}", LineError::kNone, "a.com", 8},
      // HAProxy's empty capture: no SNI (normalised to <none>), the line still counts (found by
      // the fuzz target, whose check expected a non-empty SNI).
      {"x 123SNI={}", LineError::kNone, "", 123},
  };
  for (const Case& c : cases) {
    const HaproxyLine l = parse_sni_marker_line(c.line);
    EXPECT_EQ(l.error, c.error) << c.line;
    if (c.error != LineError::kNone) continue;
    EXPECT_EQ(l.sni_raw, c.sni) << c.line;
    EXPECT_EQ(l.bytes_out, c.bytes) << c.line;
    EXPECT_EQ(l.bytes_in, 0u) << c.line;
  }
  std::string name;
  EXPECT_EQ(normalise_sni(parse_sni_marker_line("x 123SNI={}").sni_raw, &name), SniKind::kNone);
  EXPECT_EQ(parse_haproxy_format("fields"), HaproxyFormat::kFields);
  EXPECT_EQ(parse_haproxy_format("sni-marker"), HaproxyFormat::kSniMarker);
  EXPECT_FALSE(parse_haproxy_format("marker"));
}

// The seed's -pos file: imported once when there is no checkpoint, then the checkpoint rules; an
// offset inside a line skips to its end; one past the end reads from 0; garbage is refused.
TEST_F(TailerTest, TrafficExporterPositionIsImportedOnce) {
  opts_.format = HaproxyFormat::kSniMarker;
  const std::string pos = dir_ + "/.traffic-exporter.pos";
  {
    std::ofstream o(log_);
    o << "a 100 SNI=old.example\n";  // before the position: not counted
    o << "a 7 SNI=new.example\n";
  }
  const std::string first = "a 100 SNI=old.example\n";
  std::ofstream(pos) << first.size();  // no newline, as the seed writes it
  opts_.import_position = pos;
  {
    auto t = open();
    ASSERT_TRUE(t);
    t->poll(1, true);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "new.example"), 1);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_out_bytes_total", "sni", "new.example"), 7);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "old.example"), -1);
  }
  // A checkpoint exists now: the import is not applied again (the log is not read twice).
  std::ofstream(log_, std::ios::app) << "a 0 SNI=new.example\n";
  {
    auto t = open();
    ASSERT_TRUE(t);
    t->poll(1, true);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "new.example"), 2);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_zero_byte_connections_total", "sni", "new.example"),
              1);
  }
  std::system(("rm -rf " + dir_ + "/state").c_str());
  // Inside a line (3 bytes into the first): that line's rest is skipped.
  std::ofstream(pos) << " 3\n";
  {
    auto t = open();
    ASSERT_TRUE(t);
    t->poll(1, true);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "old.example"), -1);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "new.example"), 2);
  }
  std::system(("rm -rf " + dir_ + "/state").c_str());
  // Past the end (the log was rotated while the seed was stopped): the whole file.
  std::ofstream(pos) << "999999";
  {
    auto t = open();
    ASSERT_TRUE(t);
    t->poll(1, true);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "old.example"), 1);
    EXPECT_EQ(sample(*t, "hostflow_haproxy_sni_connections_total", "sni", "new.example"), 2);
  }
  std::system(("rm -rf " + dir_ + "/state").c_str());
  for (const char* bad : {"", "-5", "12x", "{\"version\":1}", "99999999999999999999"}) {
    std::ofstream(pos) << bad;
    auto t = HaproxyTailer::open(opts_);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message().find("--haproxy.import-position"), std::string::npos) << bad;
  }
  std::system(("rm -f " + pos).c_str());
  EXPECT_FALSE(HaproxyTailer::open(opts_).ok());  // named but missing
}

}  // namespace
}  // namespace hostflow::exporter
