// The eBPF TC counters (sampler bpf source + hostflow_tc_* metrics) against the kernel: real
// veth pairs in private namespaces (IPv6 off, static neighbours: no background traffic), real
// pings, the kernel's own link counters as the independent truth, `tc filter show` for what is
// attached. The sampler runs inside the namespace, under its seccomp filter in kill mode.
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kPayload = 200;
// ICMP echo payload + 8 ICMP + 20 IPv4 + 14 Ethernet: skb->len at TC and what a veth counts.
constexpr std::uint64_t kWireBytes = kPayload + 8 + 20 + 14;

// Two namespaces joined by a veth pair, quiet (see lab.h's Topology), names tagged h7.
struct TcLab {
  Netns ns{"h7a"}, peer{"h7b"};
  std::string veth = unique_name("h7va"), veth_peer = unique_name("h7vb");
  TcLab() {
    quiet_netns(ns);
    quiet_netns(peer);
    add_pair(veth, veth_peer, "192.0.2.1", "192.0.2.2");
  }
  // A veth pair `a` (in ns) <-> `b` (in peer), /30 addresses, static neighbours, both up.
  void add_pair(const std::string& a, const std::string& b, const std::string& addr_a,
                const std::string& addr_b) const {
    const std::string n = "ip -n " + ns.name() + " ", p = "ip -n " + peer.name() + " ";
    sh_ok(n + "link add " + a + " type veth peer name " + b + " netns " + peer.name());
    sh_ok(n + "addr add " + addr_a + "/30 dev " + a);
    sh_ok(p + "addr add " + addr_b + "/30 dev " + b);
    const auto mac = [](const std::string& netns, const std::string& dev) {
      auto j = ip_json("link show dev " + dev, netns);
      return j.empty() ? std::string() : j[0].value("address", "");
    };
    sh_ok(n + "neigh replace " + addr_b + " lladdr " + mac(peer.name(), b) + " dev " + a +
          " nud permanent");
    sh_ok(p + "neigh replace " + addr_a + " lladdr " + mac(ns.name(), a) + " dev " + b +
          " nud permanent");
    sh_ok(n + "link set " + a + " up");
    sh_ok(p + "link set " + b + " up");
  }
  // `count` pings of kPayload bytes from ns to `to`; all must be answered.
  void ping(const std::string& to, int count) const {
    RunResult r =
        run({"ip", "netns", "exec", ns.name(), "ping", "-n", "-q", "-c", std::to_string(count),
             "-s", std::to_string(kPayload), "-i", "0.01", "-W", "2", to},
            std::chrono::seconds(60));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    ASSERT_NE(r.out.find(std::to_string(count) + " packets transmitted, " + std::to_string(count) +
                         " received"),
              std::string::npos)
        << r.out;
  }
  // Lines of `tc filter show dev DEV HOOK` in ns.
  std::string filters(const std::string& dev, const std::string& hook) const {
    return sh("ip netns exec " + ns.name() + " tc filter show dev " + dev + " " + hook).out;
  }
};

// hostflow's filters in `tc filter show` output: our handle at our priority running our program.
int count_ours(const std::string& tc_output, const std::string& prog) {
  int n = 0;
  std::istringstream in(tc_output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("pref 72 bpf") != std::string::npos &&
        line.find("handle 0x4846 ") != std::string::npos &&
        line.find("name " + prog + " ") != std::string::npos)
      n++;
  }
  return n;
}

StackOptions tc_stack(const std::string& netns) {
  StackOptions o = in_netns(netns);
  o.sampler_args.push_back("--source.bpf");
  return o;
}

std::string logs(Stack& s) {
  return "\n--- sampler log ---\n" + s.sampler().log() + "--- exporter log ---\n" +
         s.exporter().log();
}

// A TC series of one interface (and direction), found by its labels.
std::optional<double> tc_value(const Exposition& e, const std::string& metric,
                               const std::string& iface, const std::string& direction = "") {
  for (const auto& [key, v] : e.family(metric)) {
    auto l = series_labels(key);
    if (l["interface"] == iface && (direction.empty() || l["direction"] == direction)) return v;
  }
  return std::nullopt;
}

// [ingress packets, ingress bytes, egress packets, egress bytes] as exported.
std::optional<std::array<std::uint64_t, 4>> tc_counters(const Exposition& e,
                                                        const std::string& iface) {
  std::array<std::uint64_t, 4> out{};
  int i = 0;
  for (const char* dir : {"ingress", "egress"}) {
    for (const char* m : {"hostflow_tc_packets_total", "hostflow_tc_bytes_total"}) {
      auto v = tc_value(e, m, iface, dir);
      if (!v) return std::nullopt;
      out[i++] = static_cast<std::uint64_t>(*v);
    }
  }
  return out;
}

bool attached(Stack& s, const std::string& iface) {
  auto v = tc_value(s.scrape(), "hostflow_tc_interface_attached", iface);
  return v && *v == 1;
}

// Kernel: [rx packets, rx bytes, tx packets, tx bytes] of `dev` in `netns`.
std::array<std::uint64_t, 4> kernel_counters(const std::string& netns, const std::string& dev) {
  const KernelLinks k = kernel_links(netns);
  auto it = k.find(dev);
  if (it == k.end()) {
    ADD_FAILURE() << dev << " not in the kernel's links of " << netns;
    return {};
  }
  const auto& c = it->second.counters;
  return {c.at("hostflow_interface_receive_packets_total"),
          c.at("hostflow_interface_receive_bytes_total"),
          c.at("hostflow_interface_transmit_packets_total"),
          c.at("hostflow_interface_transmit_bytes_total")};
}

// Sends `pings` over `dev` and checks the exported TC deltas: exactly the pings and their
// bytes each way, and equal to the kernel's own counter deltas of the link.
void expect_exact_counts(Stack& stack, const TcLab& lab, const std::string& dev,
                         const std::string& to, int pings) {
  auto e0 = scrape_after_now(stack);
  ASSERT_TRUE(e0) << logs(stack);
  const auto k0 = kernel_counters(lab.ns.name(), dev);
  auto t0 = tc_counters(*e0, dev);
  ASSERT_TRUE(t0) << dev << " has no TC counters" << logs(stack);
  lab.ping(to, pings);
  auto e1 = scrape_after_now(stack);
  ASSERT_TRUE(e1) << logs(stack);
  const auto k1 = kernel_counters(lab.ns.name(), dev);
  auto t1 = tc_counters(*e1, dev);
  ASSERT_TRUE(t1) << logs(stack);
  const std::uint64_t n = static_cast<std::uint64_t>(pings);
  const std::array<std::uint64_t, 4> want = {n, n * kWireBytes, n, n * kWireBytes};
  const char* what[4] = {"ingress packets", "ingress bytes", "egress packets", "egress bytes"};
  for (int i = 0; i < 4; i++) {
    EXPECT_EQ((*t1)[i] - (*t0)[i], want[i]) << dev << " " << what[i] << " (exporter)";
    EXPECT_EQ(k1[i] - k0[i], want[i]) << dev << " " << what[i] << " (kernel)";
  }
}

#define HF_REQUIRE_TC_TOOLS()                                                            \
  HF_REQUIRE(is_root(), "needs root: creates network namespaces, links and TC filters"); \
  HF_REQUIRE(have_command("ping") && have_command("tc"), "ping (iputils-ping) and tc (iproute2)")

// Starts sampler and exporter; true once a fresh snapshot shows the TC program on `iface`.
bool start_attached(Stack& stack, const std::string& iface) {
  stack.start_sampler();
  stack.start_exporter();
  return stack.wait_fresh() &&
         wait_until([&] { return attached(stack, iface); }, std::chrono::seconds(10));
}

TEST(TcCounters, PingIsCountedExactlyAndEqualsTheKernelsLinkCounters) {
  HF_REQUIRE_TC_TOOLS();
  TcLab lab;
  Stack stack(tc_stack(lab.ns.name()));
  ASSERT_TRUE(start_attached(stack, lab.veth)) << logs(stack);
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "ingress"), "hf_tc_ingress"), 1);
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "egress"), "hf_tc_egress"), 1);
  expect_exact_counts(stack, lab, lab.veth, "192.0.2.2", 200);

  // The rest of NetProbe's metrics, from the same exposition.
  const Exposition e = stack.scrape();
  EXPECT_EQ(e.get("hostflow_tc_up"), 1.0);
  EXPECT_GE(e.get("hostflow_tc_collections_total").value_or(0), 2);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_NEAR(e.get("hostflow_tc_last_collection_timestamp_seconds").value_or(0), now, 10);
  EXPECT_TRUE(tc_value(e, "hostflow_tc_interface_active", lab.veth));
  EXPECT_TRUE(tc_value(e, "hostflow_tc_packets_per_second", lab.veth, "ingress"));
  EXPECT_EQ(e.get("hostflow_tc_uncounted_packets_total"), 0.0);
  EXPECT_TRUE(e.duplicates.empty());
}

// --compat=netprobe: NetProbe's own families (docs/compat.md#netprobe) count the same pings,
// exactly, labelled with the kernel's ifindex; an interface appears once a packet was counted on
// it (NetProbe's map), and NetProbe's values are hostflow's of the same rendering.
TEST(TcCounters, NetprobeProfileCountsThePingsUnderItsOwnNamesWithTheKernelsIfindex) {
  HF_REQUIRE_TC_TOOLS();
  TcLab lab;
  StackOptions o = tc_stack(lab.ns.name());
  o.exporter_args = {"--compat=netprobe"};
  Stack stack(o);
  ASSERT_TRUE(start_attached(stack, lab.veth)) << logs(stack);
  const auto link = ip_json("link show dev " + lab.veth, lab.ns.name());
  ASSERT_FALSE(link.empty());
  const std::string ifindex = std::to_string(link[0].value("ifindex", 0));
  auto np = [&](const Exposition& e, const std::string& metric, const std::string& dir) {
    std::optional<double> out;
    for (const auto& [key, v] : e.family(metric)) {
      auto l = series_labels(key);
      if (l["interface"] != lab.veth || (!dir.empty() && l["direction"] != dir)) continue;
      EXPECT_EQ(l["ifindex"], ifindex) << key;
      EXPECT_EQ(l.size(), dir.empty() ? 2u : 3u) << key;
      out = v;
    }
    return out;
  };
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << logs(stack);
  EXPECT_EQ(e->get("netprobe_up"), 1.0);
  EXPECT_FALSE(np(*e, "netprobe_tc_packets_total", "ingress")) << "no packet counted yet";
  lab.ping("192.0.2.2", 1);
  auto e0 = scrape_after_now(stack);
  ASSERT_TRUE(e0) << logs(stack);
  lab.ping("192.0.2.2", 150);
  auto e1 = scrape_after_now(stack);
  ASSERT_TRUE(e1) << logs(stack);
  for (const char* dir : {"ingress", "egress"}) {
    SCOPED_TRACE(dir);
    const auto p0 = np(*e0, "netprobe_tc_packets_total", dir),
               p1 = np(*e1, "netprobe_tc_packets_total", dir);
    const auto b0 = np(*e0, "netprobe_tc_bytes_total", dir),
               b1 = np(*e1, "netprobe_tc_bytes_total", dir);
    ASSERT_TRUE(p0 && p1 && b0 && b1) << logs(stack);
    EXPECT_EQ(*p1 - *p0, 150.0);
    EXPECT_EQ(*b1 - *b0, 150.0 * kWireBytes);
    // The view: NetProbe's names carry hostflow's values of the same rendering.
    EXPECT_EQ(p1, tc_value(*e1, "hostflow_tc_packets_total", lab.veth, dir));
    EXPECT_EQ(b1, tc_value(*e1, "hostflow_tc_bytes_total", lab.veth, dir));
    EXPECT_TRUE(np(*e1, "netprobe_tc_packets_per_second", dir));
  }
  EXPECT_TRUE(np(*e1, "netprobe_interface_active", ""));
  EXPECT_EQ(e1->get("netprobe_collection_total"), e1->get("hostflow_tc_collections_total"));
  EXPECT_EQ(e1->get("netprobe_last_collection_timestamp_seconds"),
            std::floor(e1->get("hostflow_tc_last_collection_timestamp_seconds").value_or(0)));
}

TEST(TcCounters, RatesAndActiveFollowTraffic) {
  HF_REQUIRE_TC_TOOLS();
  TcLab lab;
  StackOptions o = tc_stack(lab.ns.name());
  o.interval = "1s";
  o.exporter_args = {"--tc.active-only"};
  Stack stack(o);
  ASSERT_TRUE(start_attached(stack, lab.veth)) << logs(stack);
  // Idle: --tc.active-only hides the counters.
  auto idle = scrape_after_now(stack);
  ASSERT_TRUE(idle);
  EXPECT_FALSE(tc_counters(*idle, lab.veth)) << "idle interface exported with --tc.active-only";
  // Busy for several cycles: 100 pings/s each way, 242 bytes each -> the rate while it runs.
  Process ping({"ip", "netns", "exec", lab.ns.name(), "ping", "-n", "-q", "-c", "400", "-s",
                std::to_string(kPayload), "-i", "0.01", "192.0.2.2"},
               "/dev/null");
  bool seen = false;
  wait_until(
      [&] {
        Exposition e = stack.scrape();
        auto pps = tc_value(e, "hostflow_tc_packets_per_second", lab.veth, "egress");
        auto bps = tc_value(e, "hostflow_tc_bytes_per_second", lab.veth, "ingress");
        auto act = tc_value(e, "hostflow_tc_interface_active", lab.veth);
        if (pps && *pps > 20 && act && *act == 1) {
          // ping -i 0.01 sends at most 100/s; every packet is kWireBytes.
          EXPECT_LE(*pps, 101);
          auto in_pps = tc_value(e, "hostflow_tc_packets_per_second", lab.veth, "ingress");
          if (bps && in_pps) {
            EXPECT_NEAR(*bps / kWireBytes, *in_pps, 0.01);
          }
          seen = true;
        }
        return seen;
      },
      std::chrono::seconds(8));
  EXPECT_TRUE(seen) << "no rate while pinging" << logs(stack);
  ping.wait(std::chrono::seconds(10));
}

TEST(TcCounters, NewVethCountedFromTheNextCycleDeletedOneDisappears) {
  HF_REQUIRE_TC_TOOLS();
  TcLab lab;
  Stack stack(tc_stack(lab.ns.name()));
  ASSERT_TRUE(start_attached(stack, lab.veth)) << logs(stack);

  const std::string a = unique_name("h7na"), b = unique_name("h7nb");
  const std::uint64_t g0 = stack.generation();
  lab.add_pair(a, b, "198.51.100.1", "198.51.100.2");
  // The cycle running while the link appeared may have listed interfaces before it: the next
  // one must have it attached.
  std::uint64_t g_seen = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        Exposition e = stack.scrape();
        auto v = tc_value(e, "hostflow_tc_interface_attached", a);
        if (v && *v == 1)
          g_seen = static_cast<std::uint64_t>(*e.get("hostflow_snapshot_generation"));
        return g_seen != 0;
      },
      std::chrono::seconds(10)))
      << logs(stack);
  EXPECT_LE(g_seen, g0 + 2) << "attached " << g_seen - g0 << " generations after it appeared";
  expect_exact_counts(stack, lab, a, "198.51.100.2", 50);

  const std::uint64_t g1 = stack.generation();
  sh_ok("ip -n " + lab.ns.name() + " link del " + a);
  std::uint64_t g_gone = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        Exposition e = stack.scrape();
        if (!tc_value(e, "hostflow_tc_interface_attached", a) &&
            !tc_value(e, "hostflow_tc_packets_total", a, "ingress"))
          g_gone = static_cast<std::uint64_t>(*e.get("hostflow_snapshot_generation"));
        return g_gone != 0;
      },
      std::chrono::seconds(10)))
      << logs(stack);
  EXPECT_LE(g_gone, g1 + 2);
  // The first veth is still counted.
  EXPECT_TRUE(attached(stack, lab.veth));
}

// Foreign filters on the same hooks: a TC BPF program loaded by tc itself (the very same object
// and program name as ours, but its own priority, handle and filter name) before ours, and a u32
// classifier after ours. Neither may be touched; counting stays exact with them in place.
void add_foreign_filters(const TcLab& lab) {
  const std::string x = "ip netns exec " + lab.ns.name() + " tc ";
  sh_ok(x + "qdisc add dev " + lab.veth + " clsact");
  sh_ok(x + "filter add dev " + lab.veth + " ingress prio 3 handle 9 bpf da obj " +
        HOSTFLOW_TC_BPF_OBJ + " sec tc");
  sh_ok(x + "filter add dev " + lab.veth +
        " egress prio 200 protocol all u32 match u32 0 0 classid 1:1");
}
void expect_foreign_filters(const TcLab& lab) {
  EXPECT_NE(lab.filters(lab.veth, "ingress").find("pref 3 bpf chain 0 handle 0x9 "),
            std::string::npos)
      << lab.filters(lab.veth, "ingress");
  EXPECT_NE(lab.filters(lab.veth, "egress").find("pref 200 u32"), std::string::npos)
      << lab.filters(lab.veth, "egress");
}

TEST(TcCounters, KilledAndRestartedNoDuplicateFiltersForeignOnesSurviveDetachOnExit) {
  HF_REQUIRE_TC_TOOLS();
  TcLab lab;
  add_foreign_filters(lab);
  Stack stack(tc_stack(lab.ns.name()));
  ASSERT_TRUE(start_attached(stack, lab.veth)) << logs(stack);
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "ingress"), "hf_tc_ingress"), 1);
  expect_foreign_filters(lab);

  // SIGKILL: no chance to detach; the filters stay behind with the old program.
  stack.sampler().signal(SIGKILL);
  ASSERT_TRUE(stack.sampler().wait(std::chrono::seconds(10)));
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "ingress"), "hf_tc_ingress"), 1);
  EXPECT_EQ(count_ours(lab.filters("lo", "egress"), "hf_tc_egress"), 1);

  // Restart: the leftovers (lo and the veth, both hooks) are removed, ours attached once.
  stack.start_sampler();
  ASSERT_TRUE(wait_until(
      [&] {
        Exposition e = stack.scrape();
        return e.get("hostflow_tc_stale_filters_removed") == 4.0 && attached(stack, lab.veth);
      },
      std::chrono::seconds(15)))
      << logs(stack);
  for (const std::string& dev : {lab.veth, std::string("lo")}) {
    EXPECT_EQ(count_ours(lab.filters(dev, "ingress"), "hf_tc_ingress"), 1) << dev;
    EXPECT_EQ(count_ours(lab.filters(dev, "egress"), "hf_tc_egress"), 1) << dev;
  }
  expect_foreign_filters(lab);
  expect_exact_counts(stack, lab, lab.veth, "192.0.2.2", 100);

  // SIGTERM: the sampler detaches under its final confinement (seccomp kill mode) and exits 0.
  stack.sampler().signal(SIGTERM);
  auto st = stack.sampler().wait(std::chrono::seconds(10));
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << logs(stack);
  for (const std::string& dev : {lab.veth, std::string("lo")}) {
    EXPECT_EQ(count_ours(lab.filters(dev, "ingress"), "hf_tc_ingress"), 0) << dev;
    EXPECT_EQ(count_ours(lab.filters(dev, "egress"), "hf_tc_egress"), 0) << dev;
  }
  expect_foreign_filters(lab);
}

TEST(TcCounters, WithoutCapBpfTheSourceIsAbsentAndEverythingElseWorks) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("setpriv") && have_command("tc"), "setpriv (util-linux), tc");
  TcLab lab;
  StackOptions o = tc_stack(lab.ns.name());
  // Root without CAP_BPF in its bounding (so permitted) set.
  o.sampler_prefix = {"setpriv", "--bounding-set=-bpf", "--"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << logs(stack);
  EXPECT_EQ(e->get("hostflow_source_state{source=\"bpf\",state=\"absent\"}"), 1.0) << logs(stack);
  EXPECT_EQ(e->get("hostflow_source_up{source=\"links\"}"), 1.0);
  EXPECT_TRUE(value_where(*e, "hostflow_interface_receive_packets_total", "interface", lab.veth));
  EXPECT_FALSE(e->get("hostflow_tc_up")) << "no TC sections without the source";
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "ingress"), "hf_tc_ingress"), 0);
  EXPECT_TRUE(stack.sampler().running());
  // It kept neither CAP_BPF nor anything only bpf needed, and allowed no bpf(2).
  const std::string log = stack.sampler().log();
  EXPECT_NE(log.find("phase=after"), std::string::npos);
  EXPECT_EQ(log.find("cap_bpf"), std::string::npos) << log;
}

}  // namespace
}  // namespace hostflow::test

namespace hostflow::test {
namespace {

// NetProbe's HTTP surface: /health JSON, the / page linking it, CORS and gzip switches.
TEST(TcHttp, HealthInfoPageCorsAndGzipSwitches) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace for the sampler");
  TcLab lab;
  StackOptions o = tc_stack(lab.ns.name());
  o.exporter_args = {"--web.cors", "--no-web.gzip"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  for (int i = 0; i < 3; i++) stack.scrape();
  HttpResult h = http_get(stack.url("/health"));
  ASSERT_EQ(h.status, 200) << h.body;
  auto j = nlohmann::json::parse(h.body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["server"]["running"], true);
  EXPECT_EQ(j["server"]["port"], stack.port());
  EXPECT_GE(j["server"]["requests"].get<int>(), 4) << "the scrapes above and this request";
  EXPECT_GT(j["server"]["metrics"].get<int>(), 10);
  EXPECT_GE(j["server"]["collections"].get<int>(), 1);
  EXPECT_TRUE(j["server"]["last_collection"].is_string());
  EXPECT_EQ(j["timestamp"].get<std::string>().size(), 20u) << j["timestamp"];
  EXPECT_EQ(h.headers["access-control-allow-origin"], "*");

  HttpResult page = http_get(stack.url("/"));
  EXPECT_NE(page.body.find("href=\"/health\""), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/metrics\""), std::string::npos);

  HttpResult m = http_get(stack.url(), {"Accept-Encoding: gzip"});
  EXPECT_EQ(m.headers.count("content-encoding"), 0u) << "--no-web.gzip";
  EXPECT_EQ(m.headers["access-control-allow-origin"], "*");
  EXPECT_NE(m.body.find("hostflow_tc_packets_total"), std::string::npos);
  // Every hostflow_tc_* family lints clean and has no duplicate series.
  EXPECT_TRUE(parse_exposition(m.body).duplicates.empty());
  if (have_command("promtool")) {
    const RunResult lint = promtool_check(m.body);
    EXPECT_EQ(lint.exit_code, 0) << lint.out;
  } else {
    HF_REQUIRE(false, "promtool (Prometheus 2.x) is not installed");
  }

  // Sampler gone: /health says so with 503.
  stack.sampler().signal(SIGTERM);
  ASSERT_TRUE(stack.sampler().wait(std::chrono::seconds(10)));
  ASSERT_TRUE(wait_until([&] { return http_get(stack.url("/health")).status == 503; },
                         std::chrono::seconds(10)));
  auto stale = nlohmann::json::parse(http_get(stack.url("/health")).body);
  EXPECT_EQ(stale["status"], "stale");
}

}  // namespace
}  // namespace hostflow::test

namespace hostflow::test {
namespace {

// The sampler as hostflow-sampler.service starts it (root without capabilities beyond the unit's
// bounding/ambient set, group hostflow, securebits noroot...), with --source.bpf, in --check mode:
// load, attach, drop, filter, collect, detach on exit, all with CAP_BPF + CAP_NET_ADMIN (+ the
// other sources' capabilities) and nothing else.
TEST(TcCounters, UnderTheUnitsCredentialsItLoadsAttachesAndDetaches) {
  HF_REQUIRE_TC_TOOLS();
  HF_REQUIRE(have_command("setpriv"), "setpriv (util-linux)");
  TcLab lab;
  TempDir d;
  if (!getgrnam("hostflow")) sh("groupadd --system hostflow");
  sh_ok("chgrp hostflow " + d.path() + " && chmod 0750 " + d.path());
  const std::string caps = ",+bpf,+net_admin,+dac_read_search,+sys_ptrace";
  RunResult r =
      run({"ip", "netns", "exec", lab.ns.name(), "setpriv", "--regid=hostflow", "--clear-groups",
           "--bounding-set=-all" + caps, "--inh-caps=-all" + caps, "--ambient-caps=-all" + caps,
           "--securebits=+noroot,+noroot_locked,+no_setuid_fixup,"
           "+no_setuid_fixup_locked,+keep_caps_locked",
           "--", HOSTFLOW_SAMPLER_BIN, "--segment", d.path() + "/segment", "--source.bpf",
           "--no-source.libvirt", "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("source bpf        ok"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("check passed"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("phase=after eff=0000008000081004"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bpf: TC program loaded"), std::string::npos) << r.err;
  // Detached on exit, under the filter.
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "ingress"), "hf_tc_ingress"), 0);
  EXPECT_EQ(count_ours(lab.filters(lab.veth, "egress"), "hf_tc_egress"), 0);
}

}  // namespace
}  // namespace hostflow::test
