// Conntrack flow summaries against the kernel's own table: real flows (TCP and UDP, IPv4 and IPv6)
// from a workload netns through a router netns whose conntrack the sampler dumps. Every number the
// exporter shows (flows per fixed IP, every outbound behaviour metric, the --conntrack.min gates)
// is recomputed here from `conntrack -L` in that netns. Threat contacts: real feeds served over
// real HTTP, each direction, the direction filter, the threat log and host matching.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ct_lab.h"
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kMin = 3;  // --conntrack.min in these tests

std::string logs(Stack& s) {
  return "\n--- sampler log ---\n" + s.sampler().log() + "--- exporter log ---\n" +
         s.exporter().log();
}

// The series of `name` whose labels include all of `want`.
std::map<std::string, double> select(const Exposition& e, const std::string& name,
                                     const std::map<std::string, std::string>& want) {
  std::map<std::string, double> out;
  for (const auto& [k, v] : e.family(name)) {
    auto l = series_labels(k);
    bool ok = true;
    for (const auto& [wk, wv] : want) ok = ok && l.count(wk) && l[wk] == wv;
    if (ok) out[k] = v;
  }
  return out;
}

// Per fixed IP, what `conntrack -L` implies (the exporter's documented semantics, recomputed).
struct Expected {
  std::uint64_t flows = 0;
  std::set<std::string> remotes;
  std::map<std::string, int> per_remote;
  std::map<int, int> per_port;
  std::uint64_t out_flows = 0;
};
std::map<std::string, Expected> expected_from(const std::vector<CtEntry>& entries,
                                              const std::map<std::string, std::string>& owner_of) {
  std::map<std::string, Expected> m;
  for (const auto& [ip, owner] : owner_of) m[ip];
  for (const CtEntry& e : entries) {
    const bool a = owner_of.count(e.src), b = owner_of.count(e.reply_src);
    if (a) m[e.src].flows++;
    if (b && e.reply_src != e.src) m[e.reply_src].flows++;
    if (!a) continue;
    if (owner_of.count(e.dst) && owner_of.at(e.dst) == owner_of.at(e.src)) continue;
    Expected& x = m[e.src];
    x.remotes.insert(e.dst);
    x.per_remote[e.dst]++;
    x.per_port[e.dport]++;
    x.out_flows++;
  }
  return m;
}

// Fixed IPs per owner as the exporter sees them: from hostflow_conntrack_ip_flows and outbound
// series labels, checked against the netns's own addresses below.
// The owner the exporter must give W's namespace (model/owners.h): W's first process, the holder,
// is in a cgroup leaf of its own and no container runtime's, so owner_type netns, owner the leaf.
std::string w_owner_name(CtLab& lab) {
  return lab.holder_cgroup.substr(lab.holder_cgroup.find_last_of('/') + 1);
}

std::map<std::string, std::string> ip_owner(const Exposition& e) {
  std::map<std::string, std::string> out;
  for (const char* n : {"hostflow_conntrack_ip_flows", "hostflow_outbound_flows"})
    for (const auto& [k, v] : e.family(n)) {
      auto l = series_labels(k);
      out[l["ip"]] = l["owner_type"] + "/" + l["owner"];
    }
  return out;
}

std::vector<std::string> w_flow_specs() {
  return {"tcp,10.66.2.2,80,3",   "tcp,10.66.2.3,443,1",  "udp,10.66.2.2,5001,2",
          "udp,10.66.2.4,53,1",   "udp,10.66.2.5,5001,1", "tcp,fd66:2::2,443,2",
          "tcp,fd66:2::3,8443,1", "udp,fd66:2::2,5001,1"};
}
std::vector<std::string> r_flow_specs() {
  return {"tcp,10.66.1.2,7000,1,10.66.2.4", "udp,10.66.1.2,7001,1,10.66.2.4",
          "tcp,fd66:1::2,7000,1,fd66:2::2"};
}

void start_all_flows(CtLab& lab) {
  lab.start_flows(lab.r, {"listen", "80", "443", "8443"});
  lab.start_flows(lab.w, {"listen", "7000"});
  std::vector<std::string> a = {"connect"};
  for (auto& s : w_flow_specs()) a.push_back(s);
  lab.start_flows(lab.w, a);
  std::vector<std::string> b = {"connect"};
  for (auto& s : r_flow_specs()) b.push_back(s);
  lab.start_flows(lab.r, b);
}

// A scrape of a snapshot taken between two `conntrack -L` listings of the same size (the
// flows are long-lived; a retry covers an unrelated entry expiring meanwhile).
std::optional<Exposition> stable_scrape(Stack& stack, CtLab& lab, std::vector<CtEntry>* kernel) {
  for (int attempt = 0; attempt < 5; attempt++) {
    auto before = conntrack_list(lab.h.name());
    auto e = scrape_after_now(stack);
    if (!e) return std::nullopt;
    *kernel = conntrack_list(lab.h.name());
    if (before.size() == kernel->size()) return e;
  }
  return std::nullopt;
}

bool prerequisites_ok() {
  return is_root() && have_command("conntrack") && have_command("nft") &&
         have_command("/usr/bin/python3");
}

TEST(Conntrack, FlowsPerFixedIpAndOutboundEqualConntrackList) {
  HF_REQUIRE(prerequisites_ok(), "needs root, conntrack, nft and python3");
  CtLab lab;
  start_all_flows(lab);
  StackOptions so = in_netns(lab.h.name(), "1s");
  so.exporter_args = {"--conntrack.min", std::to_string(kMin), "--outbound.behavior.enable"};
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);

  std::vector<CtEntry> kernel;
  std::optional<Exposition> e = stable_scrape(stack, lab, &kernel);
  ASSERT_TRUE(e) << logs(stack);
  ASSERT_FALSE(kernel.empty());
  ASSERT_EQ(e->get("hostflow_conntrack_entries"), static_cast<double>(kernel.size()))
      << logs(stack);

  // W's fixed IPs come from the kernel (addrs of W's netns), owned by what owns W's netns (the
  // same attribution as the interface series): the holder's cgroup leaf.
  const std::string w_name = w_owner_name(lab);
  const std::string w_owner = "netns/" + w_name;
  auto owners = ip_owner(*e);
  auto dump = [&] {
    std::string d;
    for (const char* n : {"hostflow_workload_fixed_ips", "hostflow_source_records",
                          "hostflow_source_up", "hostflow_conntrack_ip_flows"})
      for (const auto& [k, v] : e->family(n)) d += k + " " + std::to_string(v) + "\n";
    return d;
  };
  ASSERT_EQ(owners["10.66.1.2"], w_owner) << dump() << logs(stack);
  ASSERT_EQ(owners["fd66:1::2"], w_owner);
  EXPECT_EQ(select(*e, "hostflow_workload_fixed_ips", {{"owner_type", "netns"}, {"owner", w_name}})
                .begin()
                ->second,
            2);

  // Every workload IP of every netns the sampler knows (W and R), from `ip addr` in them.
  std::map<std::string, std::string> owner_of;
  for (const auto& [ip, o] : owners) owner_of[ip] = o;
  for (const char* ip :
       {"10.66.2.2", "10.66.2.3", "10.66.2.4", "10.66.2.5", "10.66.2.6", "fd66:2::2", "fd66:2::3"})
    if (!owner_of.count(ip))
      owner_of[ip] = "r";  // R's IPs under the gate have no series: same owner
  for (auto& [ip, o] : owner_of)
    if (ip.rfind("10.66.2.", 0) == 0 || ip.rfind("fd66:2::", 0) == 0) o = "r";
  owner_of["10.66.1.2"] = owner_of["fd66:1::2"] = "w";
  const auto want = expected_from(kernel, owner_of);

  // The scenario really is what the helper opened: W's IPv4 address opened 8 flows to 4 remotes.
  EXPECT_EQ(want.at("10.66.1.2").out_flows, 8u);
  EXPECT_EQ(want.at("10.66.1.2").remotes.size(), 4u);
  EXPECT_EQ(want.at("fd66:1::2").out_flows, 4u);

  int exported = 0, gated = 0;
  for (const auto& [ip, x] : want) {
    auto got = select(*e, "hostflow_conntrack_ip_flows", {{"ip", ip}});
    if (x.flows >= kMin) {
      ASSERT_EQ(got.size(), 1u) << ip << " has " << x.flows << " flows" << logs(stack);
      EXPECT_EQ(got.begin()->second, static_cast<double>(x.flows)) << ip;
      exported++;
    } else {
      EXPECT_TRUE(got.empty()) << ip << " has " << x.flows << " flows, under --conntrack.min";
      gated++;
    }
    auto ob = select(*e, "hostflow_outbound_flows", {{"ip", ip}});
    const bool open = x.remotes.size() >= kMin || x.out_flows >= kMin;
    if (!open) {
      EXPECT_TRUE(ob.empty()) << ip << ": outbound under the gate";
      continue;
    }
    ASSERT_EQ(ob.size(), 1u) << ip;
    int max_remote = 0, max_port = 0;
    for (auto& [r, n] : x.per_remote) max_remote = std::max(max_remote, n);
    for (auto& [p, n] : x.per_port) max_port = std::max(max_port, n);
    const std::map<std::string, double> values = {
        {"hostflow_outbound_flows", x.out_flows},
        {"hostflow_outbound_unique_remotes", x.remotes.size()},
        {"hostflow_outbound_max_flows_single_remote", max_remote},
        {"hostflow_outbound_unique_dst_ports", x.per_port.size()},
        {"hostflow_outbound_max_flows_single_dst_port", max_port},
        // Stable flows: nothing is new compared with the previous interval.
        {"hostflow_outbound_new_remotes", 0},
        {"hostflow_outbound_new_dst_ports", 0},
    };
    for (const auto& [name, v] : values) {
      auto s = select(*e, name, {{"ip", ip}});
      ASSERT_EQ(s.size(), 1u) << name << " " << ip;
      EXPECT_EQ(s.begin()->second, v) << name << " " << ip;
    }
  }
  EXPECT_GT(exported, 0);
  EXPECT_GT(gated, 0) << "the scenario must have IPs under --conntrack.min";

  // A new remote on a new port: the first snapshot that has it says 1 new remote, 1 new port.
  const double remotes =
      *e->get(select(*e, "hostflow_outbound_unique_remotes", {{"ip", "10.66.1.2"}}).begin()->first);
  lab.start_flows(lab.w, {"connect", "udp,10.66.2.6,6001,1"});
  std::optional<double> new_remotes, new_ports;
  const bool seen = wait_until(
      [&] {
        Exposition x = stack.scrape();
        auto u = select(x, "hostflow_outbound_unique_remotes", {{"ip", "10.66.1.2"}});
        if (u.empty() || u.begin()->second == remotes) return false;
        new_remotes =
            select(x, "hostflow_outbound_new_remotes", {{"ip", "10.66.1.2"}}).begin()->second;
        new_ports =
            select(x, "hostflow_outbound_new_dst_ports", {{"ip", "10.66.1.2"}}).begin()->second;
        return true;
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(seen) << logs(stack);
  EXPECT_EQ(*new_remotes, 1);
  EXPECT_EQ(*new_ports, 1);
  auto promtool = promtool_check(http_get(stack.url()).body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
}

// --conntrack.max-entries: the sampler publishes that many entries and counts the rest of the
// dump as dropped; together they are the kernel's table (`conntrack -L`).
TEST(Conntrack, MaxEntriesCapsTheTableAndCountsTheRest) {
  HF_REQUIRE(prerequisites_ok(), "needs root, conntrack, nft and python3");
  CtLab lab;
  start_all_flows(lab);
  StackOptions so = in_netns(lab.h.name(), "1s");
  so.sampler_args.push_back("--conntrack.max-entries");
  so.sampler_args.push_back("4");
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  std::vector<CtEntry> kernel;
  std::optional<Exposition> e = stable_scrape(stack, lab, &kernel);
  ASSERT_TRUE(e) << logs(stack);
  ASSERT_GT(kernel.size(), 4u) << "the scenario must hold more entries than the cap";
  EXPECT_EQ(e->get("hostflow_conntrack_entries"), 4.0) << logs(stack);
  EXPECT_EQ(e->get("hostflow_snapshot_dropped_records{section=\"conntrack\"}"),
            static_cast<double>(kernel.size() - 4))
      << logs(stack);
}

// VMs' fixed IPs come from the Nova ports metadata in their domain XML (libvirt's test driver
// serving the fixture node), not from any namespace: flows of such an IP are the VM's, under the
// owner label its interfaces carry (the domain name). The flows are real: W sends them from the
// VM's fixed IP, H forwards and tracks them.
TEST(Conntrack, NovaFixedIpsOwnTheirFlows) {
  HF_REQUIRE(prerequisites_ok(), "needs root, conntrack, nft and python3");
  HF_REQUIRE(have_command("virsh"), "virsh (libvirt-clients) is not installed");
  const std::string node = std::string(HOSTFLOW_FIXTURES_DIR) + "/libvirt/nova-node.xml";
  // The fixture: instance-0000002a has fixed IPs 10.20.0.12 and fd00:20::12, instance-0000002b
  // has 10.20.0.40 (checked against the file, independently of the exporter's XML parser).
  const std::string xml = read_file(node);
  ASSERT_NE(xml.find("<name>instance-0000002a</name>"), std::string::npos);
  ASSERT_NE(xml.find("address=\"10.20.0.12\""), std::string::npos);
  ASSERT_NE(xml.find("address=\"fd00:20::12\""), std::string::npos);
  ASSERT_NE(xml.find("address=\"10.20.0.40\""), std::string::npos);

  CtLab lab;
  lab.w.exec_ok("ip addr add 10.20.0.12/32 dev " + lab.wv);
  lab.h.exec_ok("ip route add 10.20.0.12/32 via 10.66.1.2");
  lab.start_flows(lab.r, {"listen", "80"});
  lab.start_flows(lab.w, {"connect", "udp,10.66.2.2,5001,3,10.20.0.12",
                          "tcp,10.66.2.3,80,2,10.20.0.12", "udp,10.66.2.4,53,1"});
  StackOptions so = in_netns(lab.h.name(), "1s");
  for (const std::string& a :
       {std::string("--libvirt.uri"), "test://" + node, std::string("--libvirt.timeout"),
        std::string("10s"), std::string("--no-source.taps")})
    so.sampler_args.push_back(a);
  so.exporter_args = {"--conntrack.min", "1", "--outbound.behavior.enable"};
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);

  std::vector<CtEntry> kernel;
  std::optional<Exposition> e;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stable_scrape(stack, lab, &kernel);
        return e && !select(*e, "hostflow_workload_fixed_ips", {{"owner_type", "vm"}}).empty();
      },
      std::chrono::seconds(20)))
      << logs(stack);
  // Both Nova instances, with the fixture's fixed IPs; the plain domain has none.
  const auto a = select(*e, "hostflow_workload_fixed_ips",
                        {{"owner_type", "vm"}, {"owner", "instance-0000002a"}});
  ASSERT_EQ(a.size(), 1u) << logs(stack);
  EXPECT_EQ(a.begin()->second, 2);
  const auto b = select(*e, "hostflow_workload_fixed_ips",
                        {{"owner_type", "vm"}, {"owner", "instance-0000002b"}});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.begin()->second, 1);
  EXPECT_EQ(select(*e, "hostflow_workload_fixed_ips", {{"owner_type", "vm"}}).size(), 2u);

  // The kernel's flows of the VM's fixed IP, as either end.
  std::size_t want = 0, want_out = 0;
  std::set<std::string> remotes;
  for (const CtEntry& c : kernel) {
    if (c.src == "10.20.0.12" || c.reply_src == "10.20.0.12") want++;
    if (c.src == "10.20.0.12") {
      want_out++;
      remotes.insert(c.dst);
    }
  }
  ASSERT_EQ(want, 5u) << "the scenario: 3 UDP + 2 TCP flows from the VM's fixed IP";
  auto flows = select(*e, "hostflow_conntrack_ip_flows", {{"ip", "10.20.0.12"}});
  ASSERT_EQ(flows.size(), 1u) << logs(stack);
  EXPECT_EQ(series_labels(flows.begin()->first)["owner_type"], "vm");
  EXPECT_EQ(series_labels(flows.begin()->first)["owner"], "instance-0000002a");
  EXPECT_EQ(flows.begin()->second, static_cast<double>(want));
  auto ob = select(*e, "hostflow_outbound_flows", {{"ip", "10.20.0.12"}});
  ASSERT_EQ(ob.size(), 1u);
  EXPECT_EQ(ob.begin()->second, static_cast<double>(want_out));
  auto ur = select(*e, "hostflow_outbound_unique_remotes", {{"ip", "10.20.0.12"}});
  ASSERT_EQ(ur.size(), 1u);
  EXPECT_EQ(ur.begin()->second, static_cast<double>(remotes.size()));
  // W's own address keeps its namespace owner; the VM's IP, also on W's link, is the VM's: a
  // Nova fixed IP takes precedence over a namespace's kernel address.
  auto w_flows = select(*e, "hostflow_conntrack_ip_flows", {{"ip", "10.66.1.2"}});
  ASSERT_EQ(w_flows.size(), 1u);
  EXPECT_EQ(series_labels(w_flows.begin()->first)["owner_type"], "netns") << w_flows.begin()->first;
}

// The prefixes of a fixture, read independently of the exporter's parsers.
std::vector<std::string> fixture_prefixes(const std::string& file) {
  std::vector<std::string> out;
  const std::string body = read_file(std::string(HOSTFLOW_FIXTURES_DIR) + "/threat/" + file);
  if (file.size() > 5 && file.substr(file.size() - 5) == ".json") {
    auto j = nlohmann::json::parse(body);
    for (const auto& r : j["relays"])
      for (const auto& a : r["or_addresses"]) {
        std::string s = a.get<std::string>();
        if (s[0] == '[')
          out.push_back(s.substr(1, s.find(']') - 1));
        else
          out.push_back(s.substr(0, s.rfind(':')));
      }
    return out;
  }
  std::istringstream lines(body);
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find_first_of(";#"));
    std::istringstream f(line);
    std::string tok;
    if (f >> tok) out.push_back(tok);
  }
  return out;
}

void copy_fixture(const std::string& file, const std::string& dir) {
  sh_ok("cp " + std::string(HOSTFLOW_FIXTURES_DIR) + "/threat/" + file + " " + dir + "/");
}

TEST(Conntrack, ThreatContactsPerDirectionWithLogAndHostMatching) {
  HF_REQUIRE(prerequisites_ok(), "needs root, conntrack, nft and python3");
  CtLab lab;
  // A public IPv6 address on H for host matching (the customlist fixture lists its /48).
  lab.h.exec_ok("ip -6 addr add 2001:db8:77::7/128 dev " + lab.hr + " nodad");
  start_all_flows(lab);
  TempDir web, state;
  for (const char* f :
       {"onionoo-exit.json", "drop.txt", "dropv6.txt", "compromised-ips.txt", "customlist.txt"})
    copy_fixture(f, web.path());
  sh_ok("chown nobody " + state.path() + " && chmod 0755 " + web.path());
  FeedServer server(web.path(), 18601);
  ASSERT_TRUE(server.proc.running()) << server.proc.log();
  const std::string log = state.path() + "/threats.log";
  StackOptions so = in_netns(lab.h.name(), "1s");
  so.exporter_hosts = server.hosts_lines();
  so.exporter_args = {"--conntrack.min",
                      "1",
                      "--state.dir",
                      state.path(),
                      "--threat.retry",
                      "1s",
                      "--tor.exit.enable",
                      "--tor.exit.url",
                      server.url("onionoo-exit.json"),
                      "--tor.exit.direction",
                      "out",
                      "--spamhaus.enable",
                      "--spamhaus.url",
                      server.url("drop.txt"),
                      "--spamhaus.ipv6.url",
                      server.url("dropv6.txt"),
                      "--emergingthreats.enable",
                      "--emergingthreats.url",
                      server.url("compromised-ips.txt"),
                      "--emergingthreats.direction",
                      "in",
                      "--customlist.enable",
                      "--customlist.path",
                      web.path() + "/customlist.txt",
                      "--contacts.direction",
                      "any",
                      "--threatfile.enable",
                      "--threatfile.path",
                      log,
                      "--host.threats.enable"};
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  const std::map<std::string, std::string> files = {{"tor_exit", "onionoo-exit.json"},
                                                    {"emergingthreats", "compromised-ips.txt"},
                                                    {"customlist", "customlist.txt"}};
  std::map<std::string, std::vector<std::string>> lists;
  for (const auto& [l, f] : files) lists[l] = fixture_prefixes(f);
  lists["spamhaus"] = fixture_prefixes("drop.txt");
  for (auto& p : fixture_prefixes("dropv6.txt")) lists["spamhaus"].push_back(p);
  const std::map<std::string, std::string> dir = {
      {"tor_exit", "out"}, {"emergingthreats", "in"}, {"spamhaus", "any"}, {"customlist", "any"}};
  for (const auto& [l, p] : lists) {
    auto got = wait_for_value(
        stack, "hostflow_threat_feed_entries{list=\"" + l + "\"}",
        [&](double v) { return v == p.size(); }, std::chrono::seconds(15));
    ASSERT_TRUE(got) << l << " never had " << p.size() << " entries" << logs(stack)
                     << server.proc.log();
  }
  std::vector<CtEntry> kernel;
  std::optional<Exposition> e = stable_scrape(stack, lab, &kernel);
  ASSERT_TRUE(e) << logs(stack);
  // Expected contacts of W: (list, direction) -> distinct (W ip, remote) pairs, from conntrack -L.
  const std::set<std::string> w_ips = {"10.66.1.2", "fd66:1::2"};
  auto listed = [&](const std::string& l, const std::string& ip) {
    for (const auto& p : lists[l])
      if (cidr_contains(p, ip)) return true;
    return false;
  };
  std::map<std::pair<std::string, std::string>, std::set<std::pair<std::string, std::string>>> want;
  for (const CtEntry& c : kernel) {
    for (const auto& [l, d] : dir) {
      if (w_ips.count(c.src) && !w_ips.count(c.dst) && d != "in" && listed(l, c.dst))
        want[{l, "out"}].insert({c.src, c.dst});
      if (w_ips.count(c.reply_src) && !w_ips.count(c.src) && d != "out" && listed(l, c.src))
        want[{l, "in"}].insert({c.reply_src, c.src});
    }
  }
  // The scenario exercises what it should: Tor out in both families, ET only inbound (its
  // outbound DNS flow to the same remote is filtered), Spamhaus on IPv6.
  EXPECT_EQ((want[{"tor_exit", "out"}].size()), 2u);
  EXPECT_EQ((want[{"emergingthreats", "in"}].size()), 1u);
  EXPECT_EQ((want[{"emergingthreats", "out"}].size()), 0u);
  EXPECT_EQ((want[{"spamhaus", "out"}].size()), 2u);

  const std::string w = w_owner_name(lab);
  std::size_t series = 0;
  for (const auto& [k, v] : e->family("hostflow_threat_contacts_active")) {
    auto l = series_labels(k);
    if (l["owner"] != w) continue;
    series++;
    const auto& pairs = want[{l["list"], l["direction"]}];
    EXPECT_EQ(v, pairs.size()) << k;
    auto total = select(*e, "hostflow_threat_contacts_total",
                        {{"owner", w}, {"list", l["list"]}, {"direction", l["direction"]}});
    ASSERT_EQ(total.size(), 1u) << k;
    EXPECT_EQ(total.begin()->second, pairs.size()) << k;
  }
  std::size_t want_series = 0;
  for (const auto& [k, v] : want) want_series += v.empty() ? 0 : 1;
  EXPECT_EQ(series, want_series) << logs(stack);

  // The threat log: one JSON line per contact of W, with the pair, list and direction.
  std::ifstream in(log);
  std::string line;
  std::map<std::pair<std::string, std::string>, std::set<std::pair<std::string, std::string>>>
      logged;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["owner"] != w) continue;
    EXPECT_EQ(j["owner_type"], "netns");
    auto& s = logged[{j["list"].get<std::string>(), j["direction"].get<std::string>()}];
    EXPECT_TRUE(
        s.insert({j["workload_ip"].get<std::string>(), j["remote_ip"].get<std::string>()}).second)
        << "logged twice: " << line;
  }
  for (auto it = want.begin(); it != want.end();)
    it = it->second.empty() ? want.erase(it) : std::next(it);
  EXPECT_EQ(logged, want);

  // Host matching: the public test address of H is listed; the private one only with
  // --host.ips.allow-private.
  auto host = e->family("hostflow_host_threat_listed");
  ASSERT_EQ(host.size(), 2u) << logs(stack);
  std::map<std::string, std::map<std::string, std::string>> by_ip;
  for (const auto& [k, v] : host) {
    EXPECT_EQ(v, 1) << k;
    auto l = series_labels(k);
    by_ip[l["ip"]] = l;
  }
  ASSERT_EQ(by_ip.count("198.51.100.7"), 1u);
  ASSERT_EQ(by_ip.count("2001:db8:77::7"), 1u) << "the IPv6 address inside the listed /48";
  for (const auto& [ip, l] : by_ip) {
    EXPECT_EQ(l.at("list"), "customlist") << ip;
    EXPECT_EQ(l.at("interface"), lab.hr) << ip;
  }
  EXPECT_EQ(by_ip["198.51.100.7"]["family"], "ipv4");
  EXPECT_EQ(by_ip["2001:db8:77::7"]["family"], "ipv6");
  auto promtool = promtool_check(http_get(stack.url()).body);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out;
}

}  // namespace
}  // namespace hostflow::test
