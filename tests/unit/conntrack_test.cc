// Conntrack in the exporter (exporter/areas/conntrack), the parts that need no kernel: the prefix
// set against a brute-force scan, the feed parsers on the real-format fixtures, the outbound "new"
// logic across intervals, the threat log's reopen on rotation, and the memory a feed parse takes
// against the body's size. The source's ctnetlink decoder is in sampler_conntrack_test.cc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "areas/conntrack/flows.h"
#include "areas/conntrack/prefix_set.h"
#include "areas/conntrack/threat_feeds.h"
#include "areas/conntrack/threat_match.h"
#include "identity/workload_ips.h"
#include "support.h"

namespace hostflow {
namespace {

using namespace exporter;

// Does one of `cidrs` hold `ip`? Bit by bit, independently of PrefixSet.
bool brute_contains(const std::vector<Cidr>& cidrs, const IpAddr& ip) {
  for (const Cidr& c : cidrs) {
    if (c.ip.family != ip.family) continue;
    bool in = true;
    for (unsigned i = 0; i < c.len && in; i++) {
      const int m = 0x80 >> (i % 8);
      in = (c.ip.b[i / 8] & m) == (ip.b[i / 8] & m);
    }
    if (in) return true;
  }
  return false;
}

TEST(PrefixSet, MatchesLikeABruteForceScan) {
  std::mt19937 rng(42);
  std::vector<Cidr> cidrs;
  for (int i = 0; i < 2000; i++) {
    IpAddr a;
    a.family = (i % 3 == 0) ? 6 : 4;
    for (int k = 0; k < (a.family == 4 ? 4 : 16); k++)
      a.b[k] = static_cast<std::uint8_t>(rng() % 4);
    const unsigned len = a.family == 4 ? 8 + rng() % 25 : 16 + rng() % 113;
    auto c = parse_cidr(a.str() + "/" + std::to_string(len));
    ASSERT_TRUE(c);
    cidrs.push_back(*c);
  }
  const PrefixSet set(cidrs);
  auto brute = [&](const IpAddr& ip) { return brute_contains(cidrs, ip); };
  int hits = 0;
  for (int i = 0; i < 20000; i++) {
    IpAddr a;
    a.family = (i % 2) ? 6 : 4;
    for (int k = 0; k < (a.family == 4 ? 4 : 16); k++)
      a.b[k] = static_cast<std::uint8_t>(rng() % 4);
    const bool want = brute(a);
    hits += want;
    ASSERT_EQ(set.contains(a), want) << a.str();
  }
  EXPECT_GT(hits, 100);
  EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
  EXPECT_FALSE(parse_cidr("10.0.0/8"));
  EXPECT_EQ(format_cidr(*parse_cidr("10.1.2.3/8")), "10.0.0.0/8");
}

// Each set's bit in PrefixSets::lookup equals a brute-force scan of that set's prefixes. The
// addresses use bytes 0..3 (and 255) so prefixes of different sets overlap, nest and touch.

TEST(PrefixSets, EachBitEqualsABruteForceScanOfItsSet) {
  std::mt19937 rng(7);
  auto addr = [&](int family) {
    IpAddr a;
    a.family = static_cast<std::uint8_t>(family);
    for (int k = 0; k < (family == 4 ? 4 : 16); k++) {
      const unsigned r = rng() % 5;
      a.b[k] = static_cast<std::uint8_t>(r == 4 ? 255 : r);
    }
    return a;
  };
  std::vector<std::vector<Cidr>> per_set(6);
  for (std::size_t s = 0; s < per_set.size(); s++) {
    for (int i = 0; i < 300; i++) {
      const int family = (i % 3 == 0) ? 6 : 4;
      const IpAddr a = addr(family);
      const unsigned len = family == 4 ? 4 + rng() % 29 : 8 + rng() % 121;
      per_set[s].push_back(*parse_cidr(a.str() + "/" + std::to_string(len)));
    }
  }
  // The edges of the address space, in some sets only.
  per_set[1].push_back(*parse_cidr("0.0.0.0/0"));
  per_set[2].push_back(*parse_cidr("255.255.255.255/32"));
  per_set[2].push_back(*parse_cidr("0.0.0.0/32"));
  per_set[3].push_back(*parse_cidr("::/0"));
  per_set[4].push_back(*parse_cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"));
  per_set[5] = {};  // an empty list
  std::vector<PrefixSet> sets;
  for (const auto& c : per_set) sets.emplace_back(c);
  std::vector<const PrefixSet*> raw;
  for (const auto& s : sets) raw.push_back(&s);
  const PrefixSets merged(raw);
  auto check = [&](const IpAddr& a) {
    const std::uint64_t m = merged.lookup(a);
    for (std::size_t s = 0; s < per_set.size(); s++)
      ASSERT_EQ((m >> s) & 1, brute_contains(per_set[s], a) ? 1u : 0u) << a.str() << " set " << s;
    ASSERT_EQ(m >> per_set.size(), 0u);
  };
  std::vector<IpAddr> probes = {*IpAddr::parse("0.0.0.0"), *IpAddr::parse("255.255.255.255"),
                                *IpAddr::parse("::"),
                                *IpAddr::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")};
  // Every prefix's first and last address and their neighbours.
  for (const auto& set : per_set) {
    for (const Cidr& c : set) {
      IpAddr lo = c.ip, hi = c.ip;
      const unsigned bits = c.ip.family == 4 ? 32 : 128;
      for (unsigned i = c.len; i < bits; i++)
        hi.b[i / 8] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
      probes.push_back(lo);
      probes.push_back(hi);
      IpAddr below = lo, above = hi;
      for (int k = bits / 8 - 1; k >= 0 && below.b[k]-- == 0; k--) {
      }
      for (int k = bits / 8 - 1; k >= 0 && ++above.b[k] == 0; k--) {
      }
      probes.push_back(below);
      probes.push_back(above);
    }
  }
  for (int i = 0; i < 20000; i++) probes.push_back(addr(i % 2 ? 6 : 4));
  int hits = 0;
  for (const IpAddr& a : probes) {
    check(a);
    hits += merged.lookup(a) != 0;
  }
  EXPECT_GT(hits, 1000);
  EXPECT_EQ(PrefixSets().lookup(*IpAddr::parse("10.0.0.1")), 0u);
  IpAddr none;
  EXPECT_EQ(merged.lookup(none), 0u);
}

TEST(FeedParsers, RealFormats) {
  std::vector<Cidr> out;
  std::string err;
  ASSERT_TRUE(
      parse_onionoo(test::read_file(HOSTFLOW_FIXTURES_DIR "/threat/onionoo-exit.json"), &out, &err))
      << err;
  EXPECT_EQ(out.size(), 9u);  // or_addresses in the fixture
  out.clear();
  ASSERT_TRUE(
      parse_cidr_list(test::read_file(HOSTFLOW_FIXTURES_DIR "/threat/drop.txt"), &out, &err))
      << err;
  EXPECT_EQ(out.size(), 8u);
  EXPECT_EQ(format_cidr(out[0]), "1.10.16.0/20");
  out.clear();
  EXPECT_FALSE(parse_cidr_list("<html><body>502</body></html>\n", &out, &err));
  EXPECT_FALSE(parse_onionoo("{\"relays\": [", &out, &err));
  EXPECT_FALSE(parse_onionoo("{\"relays\": []}", &out, &err));
}

// The streaming Onionoo parser against a DOM read here with nlohmann::json (the truth): the
// same addresses from the fixtures and from documents with every kind of stray value.
TEST(FeedParsers, StreamingOnionooFindsWhatTheDocumentHolds) {
  auto dom_count = [](const std::string& body) {
    std::size_t n = 0;
    const auto doc = nlohmann::json::parse(body);
    for (const auto& r : doc["relays"])
      if (r.is_object() && r.contains("or_addresses") && r["or_addresses"].is_array())
        for (const auto& a : r["or_addresses"]) n += a.is_string() ? 1 : 0;
    return n;
  };
  for (const char* f : {"/threat/onionoo-exit.json", "/threat/onionoo-relay.json"}) {
    const std::string body = test::read_file(std::string(HOSTFLOW_FIXTURES_DIR) + f);
    std::vector<Cidr> out;
    std::string err;
    ASSERT_TRUE(parse_onionoo(body, &out, &err)) << f << ": " << err;
    EXPECT_EQ(out.size(), dom_count(body)) << f;
  }
  const std::string odd =
      R"({"relays_published":"x","relays":[{"nickname":"a","or_addresses":["1.2.3.4:9001",)"
      R"("[2001:db8::7]:443"],"exit_addresses":["5.5.5.5"],"flags":[["or_addresses"]]},)"
      R"({"or_addresses":["9.8.7.6:1"],"extra":{"or_addresses":["6.6.6.6:1"]}}],)"
      R"("bridges":[{"or_addresses":["7.7.7.7:1"]}]})";
  std::vector<Cidr> out;
  std::string err;
  ASSERT_TRUE(parse_onionoo(odd, &out, &err)) << err;
  std::vector<std::string> got;
  for (const Cidr& c : out) got.push_back(format_cidr(c));
  EXPECT_EQ(got, (std::vector<std::string>{"1.2.3.4/32", "2001:db8::7/128", "9.8.7.6/32"}));
}

TEST(FeedParsers, DeepOrMistypedJsonIsRefusedWithAReason) {
  std::vector<Cidr> out;
  std::string err;
  EXPECT_FALSE(parse_onionoo(std::string(1 << 20, '['), &out, &err));
  EXPECT_NE(err.find("not a JSON object"), std::string::npos) << err;
  EXPECT_FALSE(parse_onionoo("{\"relays\":" + std::string(100, '[') + std::string(100, ']') + "}",
                             &out, &err));
  EXPECT_NE(err.find("nested deeper"), std::string::npos) << err;
  EXPECT_FALSE(parse_onionoo(R"({"relays":{"or_addresses":["1.2.3.4:1"]}})", &out, &err));
  EXPECT_NE(err.find("relays"), std::string::npos) << err;
  EXPECT_FALSE(parse_onionoo(R"({"relays":5})", &out, &err));
  EXPECT_FALSE(parse_onionoo(R"({"relays":[{"or_addresses":["1.2.3.4:1"]}])", &out, &err));  // cut
  EXPECT_TRUE(out.size() <= 1);
}

// 0.0.0.0/0 in a feed would flag every address: prefixes broader than the minimum are refused
// and counted; the rest of the list stays.
TEST(FeedParsers, PrefixesBroaderThanTheMinimumAreRefusedAndCounted) {
  std::vector<Cidr> out;
  std::string err;
  FeedParseStats st;
  ASSERT_TRUE(
      parse_cidr_list("0.0.0.0/0\n::/0\n1.0.0.0/7\n10.0.0.0/8\n2001:db8::/15\n2001:db8::/16\n"
                      "192.0.2.1\n",
                      &out, &err, &st))
      << err;
  std::vector<std::string> got;
  for (const Cidr& c : out) got.push_back(format_cidr(c));
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.0/8", "2001::/16", "192.0.2.1/32"}));
  EXPECT_EQ(st.too_broad, 4u);
}

Flow flow(const char* src, const char* dst, std::uint16_t dport) {
  Flow f;
  f.src = *IpAddr::parse(src);
  f.dst = *IpAddr::parse(dst);
  f.responder = f.dst;
  f.sport = 40000;
  f.dport = dport;
  f.proto = IPPROTO_TCP;
  return f;
}

TEST(FlowSummarizer, NewRemotesAndPortsAreRelativeToThePreviousInterval) {
  std::vector<WorkloadIps> w = {
      {"vm", "a", {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2")}}};
  const IpIndex index(w);
  FlowSummarizer s({1, true});
  std::vector<Flow> f1 = {flow("10.0.0.1", "1.1.1.1", 80), flow("10.0.0.1", "1.1.1.1", 80),
                          flow("10.0.0.1", "10.0.0.2", 22)};  // own IP: not outbound
  auto r = s.update(f1, w, index);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].flows, 3u);
  EXPECT_EQ(r[1].flows, 1u);  // 10.0.0.2 as responder
  EXPECT_EQ(r[0].outbound.flows, 2u);
  EXPECT_EQ(r[0].outbound.unique_remotes, 1u);
  EXPECT_EQ(r[0].outbound.new_remotes, 1u);
  EXPECT_EQ(r[0].outbound.max_flows_single_remote, 2u);
  std::vector<Flow> f2 = {flow("10.0.0.1", "1.1.1.1", 443), flow("10.0.0.1", "2.2.2.2", 80)};
  r = s.update(f2, w, index);
  EXPECT_EQ(r[0].outbound.new_remotes, 1u);    // 2.2.2.2
  EXPECT_EQ(r[0].outbound.new_dst_ports, 1u);  // 443
  EXPECT_EQ(r[0].outbound.unique_dst_ports, 2u);
  EXPECT_FALSE(r[1].export_outbound);
}

TEST(ThreatMatcher, CountsEachContactOnceAndLogsIt) {
  char tmpl[] = "/tmp/h6-unit-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  const std::string dir = tmpl, log = dir + "/threats.log";
  std::vector<WorkloadIps> w = {{"vm", "a", {*IpAddr::parse("10.0.0.1")}}};
  const IpIndex index(w);
  std::vector<ThreatList> lists = {
      {"spamhaus", Direction::kOut,
       std::make_shared<const PrefixSet>(std::vector<Cidr>{*parse_cidr("6.6.0.0/16")})}};
  ThreatMatcher m(log);
  std::vector<Flow> f = {flow("10.0.0.1", "6.6.1.1", 80), flow("10.0.0.1", "6.6.1.1", 443),
                         flow("6.6.2.2", "10.0.0.1", 22)};  // inbound: filtered (direction out)
  auto s = m.update(f, w, index, lists, 0);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].active, 1u);
  EXPECT_EQ(s[0].total, 1u);
  // Rotation: the next contact goes to a new file at the same path.
  std::filesystem::rename(log, log + ".1");
  s = m.update({}, w, index, lists, 1);  // an interval without the pair
  EXPECT_EQ(s[0].active, 0u);
  s = m.update(f, w, index, lists, 2);
  EXPECT_EQ(s[0].total, 2u);
  std::ifstream a(log + ".1"), b(log);
  std::string line;
  int na = 0, nb = 0;
  while (std::getline(a, line)) na++;
  while (std::getline(b, line)) nb++;
  EXPECT_EQ(na, 1);
  EXPECT_EQ(nb, 1);
  std::filesystem::remove_all(dir);
}

// ---- memory of a feed parse (issue 12, defect 3) -----------------------------------------------

// The bound is the issue's: 2 x body + 32 MiB over the resident set before the body existed.
// Each case is measured by feed_memory_probe (tests/unit/feed_memory_probe.cc) in its own process:
// AddressSanitizer's quarantine, on in this executable, would hold freed pages resident.
struct Peak {
  bool parsed = false;
  long over_kb = -1;  // peak RSS above the resident set before the body was built
  std::size_t body = 0;
};

Peak measure(const std::string& body_case) {
  const auto r = test::run({HOSTFLOW_FEED_MEMORY_PROBE, body_case}, std::chrono::seconds(120));
  Peak pk;
  int parsed = 0;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::sscanf(r.out.c_str(), "%d %ld %zu", &parsed, &pk.over_kb, &pk.body), 3) << r.out;
  pk.parsed = parsed == 1;
  return pk;
}

constexpr long kMiB = 1024;  // in kB

long bound_kb(std::size_t body) {
  return 2 * static_cast<long>(body / 1024) + 32 * kMiB;
}

TEST(FeedMemory, SixteenMegabytesOfOpenBracketsStayWithinTwiceTheBody) {
  const Peak pk = measure("open-brackets");
  EXPECT_FALSE(pk.parsed);
  EXPECT_GE(pk.over_kb, 0);
  EXPECT_LE(pk.over_kb, bound_kb(pk.body))
      << "peak " << pk.over_kb / kMiB << " MiB over the baseline";
}

TEST(FeedMemory, DeepNestingInsideAnObjectIsRefusedWithinTheBound) {
  const Peak pk = measure("deep-in-object");
  EXPECT_FALSE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(pk.body)) << "peak " << pk.over_kb / kMiB << " MiB";
}

// A realistic document: relays with the fields Onionoo's details documents have.
TEST(FeedMemory, AValidTwentyMegabyteOnionooDocumentStaysWithinTwiceTheBody) {
  const Peak pk = measure("onionoo");
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(pk.body)) << "peak " << pk.over_kb / kMiB << " MiB";
}

// The most addresses a body can hold: every byte an address.
TEST(FeedMemory, TwentyMegabytesOfAddressesStayWithinTwiceTheBody) {
  const Peak pk = measure("addresses");
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(pk.body)) << "peak " << pk.over_kb / kMiB << " MiB";
}

TEST(FeedMemory, ATwentyMegabyteCidrListStaysWithinTwiceTheBody) {
  const Peak pk = measure("cidr-list");
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(pk.body)) << "peak " << pk.over_kb / kMiB << " MiB";
}

}  // namespace
}  // namespace hostflow
