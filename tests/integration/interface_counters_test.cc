// Interface counters and attributes against the kernel's own numbers, and the validity of the
// exposition that carries them (promtool, duplicates, gzip == plain).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kPings = 50;
constexpr int kPayload = 200;
// ICMP echo payload + 8 ICMP + 20 IPv4 + 14 Ethernet: what a veth counts per packet.
constexpr std::uint64_t kWireBytes = kPayload + 8 + 20 + 14;

std::string logs(Stack& s) {
  return "\n--- sampler log ---\n" + s.sampler().log() + "--- exporter log ---\n" +
         s.exporter().log();
}

std::string header(const HttpResult& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "(absent)" : it->second;
}

// "" when both views have the same links with the same counters, else what differs.
std::string counter_diff(const KernelLinks& a, const KernelLinks& b) {
  std::string d;
  if (a.size() != b.size())
    d += "link count " + std::to_string(a.size()) + " -> " + std::to_string(b.size()) + "; ";
  for (const auto& [n, l] : a) {
    auto it = b.find(n);
    if (it == b.end()) {
      d += n + " gone; ";
      continue;
    }
    for (const auto& [m, v] : l.counters) {
      const std::uint64_t w = it->second.counters.at(m);
      if (v != w) d += n + " " + m + " " + std::to_string(v) + " -> " + std::to_string(w) + "; ";
    }
  }
  return d;
}

// Kernel state read before and after a scrape of a snapshot collected in between; retried
// while the kernel's counters still move (they should not: the topology is quiet).
struct StableView {
  Exposition exposition;
  KernelLinks kernel;
};
std::optional<StableView> stable_view(Stack& stack, const std::string& netns) {
  for (int attempt = 0; attempt < 3; attempt++) {
    KernelLinks before = kernel_links(netns);
    auto e = scrape_after_now(stack);
    if (!e) return std::nullopt;
    KernelLinks after = kernel_links(netns);
    const std::string diff = counter_diff(before, after);
    if (diff.empty()) return StableView{std::move(*e), std::move(after)};
    ADD_FAILURE() << "kernel counters moved without test traffic (attempt " << attempt
                  << "): " << diff;
  }
  return std::nullopt;
}

TEST(InterfaceCounters, EqualKernelStats64AndTheTrafficSent) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("ping"), "ping is not installed");
  Topology t;
  Stack stack(in_netns(t.ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);

  auto before = stable_view(stack, t.ns.name());
  ASSERT_TRUE(before) << logs(stack);
  // The scenario is what we built: lo, two veth ends, a bridge, an ifb (and nothing else).
  const std::set<std::string> expected_names = {"lo", t.veth, t.bridge, t.port, t.ifb};
  std::set<std::string> kernel_names;
  for (const auto& [n, _] : before->kernel) kernel_names.insert(n);
  ASSERT_EQ(kernel_names, expected_names);
  EXPECT_EQ(before->kernel.at("lo").kind, "loopback");
  EXPECT_EQ(before->kernel.at(t.veth).kind, "veth");
  EXPECT_EQ(before->kernel.at(t.port).kind, "veth");
  EXPECT_EQ(before->kernel.at(t.bridge).kind, "bridge");
  EXPECT_EQ(before->kernel.at(t.ifb).kind, "ifb");
  EXPECT_EQ(before->kernel.at(t.port).master, t.bridge);
  {
    SCOPED_TRACE("before traffic");
    expect_links_match(exported_links(before->exposition), before->kernel);
  }

  RunResult ping =
      run({"ip", "netns", "exec", t.ns.name(), "ping", "-n", "-q", "-c", std::to_string(kPings),
           "-s", std::to_string(kPayload), "-i", "0.01", "-W", "2", t.peer_addr},
          std::chrono::seconds(30));
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  ASSERT_NE(ping.out.find(std::to_string(kPings) + " packets transmitted, " +
                          std::to_string(kPings) + " received"),
            std::string::npos)
      << ping.out;

  auto after = stable_view(stack, t.ns.name());
  ASSERT_TRUE(after) << logs(stack);
  {
    SCOPED_TRACE("after traffic");
    expect_links_match(exported_links(after->exposition), after->kernel);
  }

  // The delta is exactly what we sent, in the exporter and in the kernel; nothing else moved.
  const ExportedLinks e0 = exported_links(before->exposition),
                      e1 = exported_links(after->exposition);
  const std::map<std::string, std::uint64_t> veth_delta = {
      {"hostflow_interface_transmit_packets_total", kPings},
      {"hostflow_interface_receive_packets_total", kPings},
      {"hostflow_interface_transmit_bytes_total", kPings * kWireBytes},
      {"hostflow_interface_receive_bytes_total", kPings * kWireBytes},
  };
  for (const auto& name : expected_names) {
    for (const auto& m : kCounterMappings) {
      SCOPED_TRACE(name + " " + m.metric);
      std::uint64_t want = 0;
      if (name == t.veth && veth_delta.count(m.metric)) want = veth_delta.at(m.metric);
      const auto &x0 = e0.at(name).counters, &x1 = e1.at(name).counters;
      ASSERT_TRUE(x0.count(m.metric) && x1.count(m.metric));
      EXPECT_EQ(static_cast<std::uint64_t>(x1.at(m.metric) - x0.at(m.metric)), want) << "exporter";
      EXPECT_EQ(after->kernel.at(name).counters.at(m.metric) -
                    before->kernel.at(name).counters.at(m.metric),
                want)
          << "kernel";
    }
  }
  // Attributes: the ones the kernel reports now, spelled out for the scenario we built.
  const auto& info = e1.at(t.port).info;
  EXPECT_EQ(info.at("bridge"), t.bridge);
  EXPECT_EQ(info.at("kind"), "veth");
  EXPECT_EQ(e1.at("lo").info.at("kind"), "loopback");
  EXPECT_EQ(e1.at(t.ifb).info.at("kind"), "ifb");
  EXPECT_EQ(e1.at(t.bridge).info.at("kind"), "bridge");
  EXPECT_EQ(e1.at(t.veth).info.at("operstate"), "up");
  EXPECT_EQ(e1.at(t.veth).info.at("bridge"), "");
}

// Between link notifications the sampler reads only counters (RTM_GETSTATS), so every kind of
// attribute change must reach the next snapshot through a notification: rename, master, state,
// MTU, MAC, a new link and a deleted one. The kernel's `ip -d -j link` is the truth each time.
TEST(InterfaceCounters, AttributeChangesReachTheNextSnapshot) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  Topology t;
  Stack stack(in_netns(t.ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  // A few quiet cycles first, so the changes land on the counters-only path.
  ASSERT_TRUE(scrape_after_now(stack)) << logs(stack);
  ASSERT_TRUE(scrape_after_now(stack)) << logs(stack);

  auto ip = [&](std::vector<std::string> args) {
    std::vector<std::string> cmd = {"ip", "-n", t.ns.name()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    RunResult r = run(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  };
  auto check = [&](const std::string& step) {
    SCOPED_TRACE(step);
    auto v = stable_view(stack, t.ns.name());
    ASSERT_TRUE(v) << logs(stack);
    expect_links_match(exported_links(v->exposition), v->kernel);
  };
  const std::string renamed = t.ifb + "r";
  ip({"link", "set", t.ifb, "down"});
  ip({"link", "set", t.ifb, "name", renamed});
  check("ifb renamed and down");
  ip({"link", "set", t.port, "nomaster"});
  ip({"link", "set", t.veth, "mtu", "1400"});
  ip({"link", "set", t.veth, "address", "02:00:00:00:12:34"});
  check("port left the bridge; veth mtu and mac");
  ip({"link", "set", t.port, "master", t.bridge});
  ip({"link", "add", "hfnew0", "type", "ifb"});
  ip({"link", "del", renamed});
  check("port back on the bridge; one ifb added, one deleted");
  const auto e = scrape_after_now(stack);
  ASSERT_TRUE(e);
  const ExportedLinks links = exported_links(*e);
  EXPECT_EQ(links.count("hfnew0"), 1u);
  EXPECT_EQ(links.count(renamed), 0u);
  EXPECT_EQ(links.at(t.port).info.at("bridge"), t.bridge);
}

TEST(Exposition, PromtoolCleanNoDuplicatesGzipEqualsPlain) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("promtool"), "promtool (Prometheus 2.x) is not installed");
  Topology t;
  Stack stack(in_netns(t.ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);

  const HttpResult plain = http_get(stack.url());
  ASSERT_EQ(plain.status, 200) << plain.error;
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(header(plain, "content-type").rfind("text/plain; version=0.0.4", 0), 0u)
      << header(plain, "content-type");
  const RunResult lint = promtool_check(plain.body);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  const Exposition p = parse_exposition(plain.body);
  EXPECT_TRUE(p.duplicates.empty()) << "duplicate series: " << p.duplicates.front();
  EXPECT_TRUE(p.errors.empty()) << "unparsable line: " << p.errors.front();
  // Not vacuous: every link of the namespace is there, with its counters.
  EXPECT_EQ(p.family("hostflow_interface_info").size(), kernel_links(t.ns.name()).size());
  EXPECT_EQ(p.family("hostflow_interface_receive_bytes_total").size(), 5u);
  EXPECT_EQ(p.get("hostflow_sampler_up"), 1);

  // What goes over the wire is gzip (magic 1f 8b), not just labelled so.
  const HttpResult raw = http_get(stack.url(), {"Accept-Encoding: gzip"});
  ASSERT_EQ(raw.status, 200) << raw.error;
  EXPECT_EQ(header(raw, "content-encoding"), "gzip");
  ASSERT_GE(raw.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw.body[1]), 0x8b);

  // libcurl decodes it; the result is the same series set as the plain text.
  const HttpResult gz = http_get(stack.url(), {}, std::chrono::seconds(5), /*decode_gzip=*/true);
  ASSERT_EQ(gz.status, 200) << gz.error;
  EXPECT_EQ(header(gz, "content-encoding"), "gzip");
  const Exposition g = parse_exposition(gz.body);
  EXPECT_TRUE(g.duplicates.empty());
  EXPECT_TRUE(g.errors.empty());
  std::set<std::string> pk, gk;
  for (const auto& [k, _] : p.series) pk.insert(k);
  for (const auto& [k, _] : g.series) gk.insert(k);
  EXPECT_EQ(pk, gk);
  const RunResult glint = promtool_check(gz.body);
  EXPECT_EQ(glint.exit_code, 0) << glint.out << glint.err;
  // HELP/TYPE lines are the same too (only sample values may move between the two scrapes).
  auto meta = [](const std::string& body) {
    std::set<std::string> m;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("# ", 0) == 0) m.insert(line);
    return m;
  };
  EXPECT_EQ(meta(plain.body), meta(gz.body));
}

}  // namespace
}  // namespace hostflow::test
