// The HAProxy SNI feature without HAProxy: the line parser over real captured lines
// (tests/fixtures/haproxy: the same four connections logged raw, as RFC 3164 and as RFC 5424 by
// HAProxy 2.6 with the recommended log-format), SNI normalisation, the bounded SNI table's
// exact-totals invariant, and the tailer's exactly-once behaviour over real files (rotation by
// rename and by copytruncate, partial lines, restarts from the checkpoint). Expected values are
// taken from the input text here (split by this test), not from the code under test.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "features/haproxy_line.h"
#include "features/haproxy_tail.h"
#include "features/sni_table.h"
#include "hostflow/common/log.h"

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
  // Truncated and refilled past the old size between two polls is indistinguishable from growth
  // only when longer than what was read; shorter refills are caught:
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

}  // namespace
}  // namespace hostflow::exporter
