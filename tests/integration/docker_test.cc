// Issue 5 with a real dockerd (private data/exec root and socket, --iptables=false, its default
// bridge one the test made; image imported from static busybox, no registry). The independent
// truth: `docker inspect` (names, ids, labels, networks), the container's own eth0 iflink (which
// host veth is its peer), `ip -j link` (masters) and the kernel counters of the container's
// namespace. Also: the ix- rules of TrueNAS apps, an orphan veth on a Docker bridge, hostile
// labels, and dockerd stopped and restarted under a running sampler.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "docker_lab.h"
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

using nlohmann::json;

// The host end of a container's eth0: the host link whose ifindex is the container's iflink.
std::string host_veth(const Dockerd& d, const std::string& container) {
  const std::string iflink =
      sh_ok(d.docker() + " exec " + container + " cat /sys/class/net/eth0/iflink");
  const long idx = std::stol(iflink);
  for (const auto& l : ip_json("link show")) {
    if (l.value("ifindex", 0L) == idx) return l.value("ifname", "");
  }
  return "";
}

// A sampler (host netns, this dockerd's socket) + exporter, with the test's seccomp mode.
StackOptions docker_stack(const Dockerd& d, std::vector<std::string> exporter_args = {}) {
  StackOptions o = in_netns("");
  o.sampler_args.insert(o.sampler_args.begin(), {"--docker.socket", d.sock()});
  o.exporter_args.insert(o.exporter_args.end(), exporter_args.begin(), exporter_args.end());
  return o;
}

std::string kernel_master(const std::string& dev) {
  auto j = ip_json("link show dev " + dev);
  return j.empty() ? "" : j[0].value("master", "");
}

std::string name_of(const json& inspect) {
  std::string n = inspect.value("Name", "");
  return !n.empty() && n[0] == '/' ? n.substr(1) : n;
}

TEST(Docker, OwnersAppsAndBridgesEqualDockerInspectAndTheKernel) {
  HF_REQUIRE(is_root(), "needs root: dockerd, links");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"), "docker.io is not installed");
  HF_REQUIRE(std::ifstream("/bin/busybox").good(), "busybox-static is not installed");
  Dockerd d;
  const std::string dk = d.docker();
  sh_ok(
      dk +
      " network create --label com.docker.compose.project=ix-hf5app ix-hf5app_default >/dev/null");
  sh_ok(dk + " network create ix-hf5other_net >/dev/null");
  sh_ok(dk + " run -d --name hf5-plain --label secret=do-not-export-me hf5bb sleep 600 >/dev/null");
  sh_ok(dk +
        " run -d --name ix-hf5app-web-1 --label com.docker.compose.project=ix-hf5app "
        "--label team=blue --network ix-hf5app_default hf5bb sleep 600 >/dev/null");
  sh_ok(dk + " run -d --name hf5-other --network ix-hf5other_net hf5bb sleep 600 >/dev/null");
  const json net_app = d.inspect("--type network ix-hf5app_default");
  const json net_other = d.inspect("--type network ix-hf5other_net");
  const std::string br_app = "br-" + net_app.value("Id", "").substr(0, 12);
  const std::string br_other = "br-" + net_other.value("Id", "").substr(0, 12);
  // An orphan: a veth on the ix-hf5other bridge whose peer's namespace has no process.
  Netns orphan_ns("hf5or");
  const std::string orphan = unique_name("hf5orph");
  sh_ok("ip link add " + orphan + " type veth peer name eth0 netns " + orphan_ns.name());
  struct Del {
    std::string n;
    ~Del() { sh("ip link del " + n); }
  } del{orphan};
  sh_ok("ip link set " + orphan + " master " + br_other + " up");

  // Without the addrs source, the containers' fixed IPs can only come from Docker's endpoints.
  StackOptions so = docker_stack(d, {"--container.labels=com.docker.compose.project,team"});
  so.sampler_args.push_back("--no-source.addrs");
  sh("modprobe nf_conntrack");  // fixed IPs are published with the conntrack table
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  EXPECT_EQ(source_state(*e, "docker"), "ok") << stack_logs(stack);

  struct Want {
    std::string container, app;
  };
  for (const Want& w :
       {Want{"hf5-plain", ""}, Want{"ix-hf5app-web-1", "hf5app"}, Want{"hf5-other", "hf5other"}}) {
    SCOPED_TRACE(w.container);
    const json in = d.inspect(w.container);
    const std::string veth = host_veth(d, w.container);
    ASSERT_FALSE(veth.empty());
    auto info = series_where(*e, "hostflow_interface_info", "interface", veth);
    EXPECT_EQ(info["owner_type"], "container");
    EXPECT_EQ(info["owner"], name_of(in));
    EXPECT_EQ(info["app"], w.app);
    EXPECT_EQ(info["bridge"], kernel_master(veth));
    auto c = series_where(*e, "hostflow_container_info", "owner", name_of(in));
    EXPECT_EQ(c["id"], in.value("Id", ""));
    EXPECT_EQ(c["runtime"], "docker");
    EXPECT_EQ(c["app"], w.app);
    EXPECT_EQ(c["label_team"], in["Config"]["Labels"].value("team", ""));
    EXPECT_EQ(c["label_com_docker_compose_project"],
              in["Config"]["Labels"].value("com.docker.compose.project", ""));
    // Fixed IPs (conntrack attribution): the addresses `docker inspect` gives its endpoints.
    std::size_t ips = 0;
    for (const auto& [net, ep] : in["NetworkSettings"]["Networks"].items()) {
      ips += !ep.value("IPAddress", "").empty();
      ips += !ep.value("GlobalIPv6Address", "").empty();
    }
    ASSERT_GT(ips, 0u);
    ASSERT_TRUE(e->get("hostflow_conntrack_entries"))
        << "the conntrack source is not up" << stack_logs(stack);
    EXPECT_EQ(value_where(*e, "hostflow_workload_fixed_ips", "owner", name_of(in)),
              static_cast<double>(ips));
  }
  // Bridges: named after their Docker network; the default network's bridge is ours.
  auto b1 = series_where(*e, "hostflow_interface_info", "interface", br_app);
  EXPECT_EQ(b1["owner_type"], "bridge");
  EXPECT_EQ(b1["owner"], net_app.value("Name", ""));
  EXPECT_EQ(b1["app"], "hf5app");
  auto b2 = series_where(*e, "hostflow_interface_info", "interface", br_other);
  EXPECT_EQ(b2["owner"], "ix-hf5other_net");
  EXPECT_EQ(b2["app"], "hf5other");
  auto b0 = series_where(*e, "hostflow_interface_info", "interface", d.bridge());
  EXPECT_EQ(b0["owner"], d.inspect("--type network bridge").value("Name", "")) << d.bridge();
  // The orphan gets its app from its bridge's network.
  auto orph = series_where(*e, "hostflow_interface_info", "interface", orphan);
  EXPECT_EQ(orph["owner_type"], "unknown");
  EXPECT_EQ(orph["app"], "hf5other");
  EXPECT_EQ(orph["bridge"], br_other);
  // Labels not on the allowlist never appear.
  const std::string text = http_get(stack.url()).body;
  EXPECT_EQ(text.find("do-not-export-me"), std::string::npos);

  // The container's own view equals the kernel's counters inside its namespace.
  const std::string pid = std::to_string(d.inspect("hf5-plain")["State"].value("Pid", 0));
  sh_ok(dk + " exec hf5-plain ping -q -c 4 -s 100 -W 1 10.57.0.1 >/dev/null");
  bool matched = false;
  for (int attempt = 0; attempt < 3 && !matched; attempt++) {
    auto read = [&] {
      const json links = json::parse(sh_ok("nsenter -t " + pid + " -n ip -s -j link show"));
      std::uint64_t rx = 0, tx = 0;
      for (const auto& l : links) {
        if (l.value("ifname", "") == "lo") continue;
        rx += l["stats64"]["rx"]["bytes"].get<std::uint64_t>();
        tx += l["stats64"]["tx"]["bytes"].get<std::uint64_t>();
      }
      return std::make_pair(rx, tx);
    };
    const auto before = read();
    auto s = scrape_after_now(stack);
    ASSERT_TRUE(s);
    if (read() != before) continue;  // something moved meanwhile: read again
    matched = true;
    double rx = -1, tx = -1;
    for (const auto& [k, v] : s->family("hostflow_container_receive_bytes_total"))
      if (series_labels(k)["owner"] == "hf5-plain") rx = v;
    for (const auto& [k, v] : s->family("hostflow_container_transmit_bytes_total"))
      if (series_labels(k)["owner"] == "hf5-plain") tx = v;
    EXPECT_EQ(rx, static_cast<double>(before.first));
    EXPECT_EQ(tx, static_cast<double>(before.second));
    EXPECT_GE(tx, 4 * (100 + 8 + 20 + 14));
  }
  EXPECT_TRUE(matched) << "the container's counters never held still for one scrape";
  auto pc = promtool_check(text);
  EXPECT_EQ(pc.exit_code, 0) << pc.out << pc.err;
}

// --compat=truenas (docs/compat.md#truenas): the TrueNAS exporter's eight counters equal the
// kernel's (`ip -s -j link`, /proc/net/dev's columns: receive drop = dropped + missed) for every
// interface of the scenario, and its labels are what the tool's own rules give for them (spelled
// out per interface from `docker inspect` and `ip -j link`): a Compose-style container's veth, its
// br-<id> bridge named after the ix- network, a container without a Compose label, a veth whose
// peer is in a plain namespace on that bridge, and the daemon's own bridge (no "br" prefix).
TEST(Docker, TruenasProfileCountersEqualTheKernelAndLabelsFollowTheToolsRules) {
  HF_REQUIRE(is_root(), "needs root: dockerd, links");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"), "docker.io is not installed");
  HF_REQUIRE(std::ifstream("/bin/busybox").good(), "busybox-static is not installed");
  Dockerd d;
  const std::string dk = d.docker();
  sh_ok(dk + " network create ix-hf5tn_default >/dev/null");
  sh_ok(dk +
        " run -d --name ix-hf5tn-web-1 --label com.docker.compose.project=ix-hf5tn "
        "--network ix-hf5tn_default hf5bb sleep 600 >/dev/null");
  sh_ok(dk + " run -d --name hf5-solo-7 hf5bb sleep 600 >/dev/null");
  const json net = d.inspect("--type network ix-hf5tn_default");
  const std::string br = "br-" + net.value("Id", "").substr(0, 12);
  // A veth whose peer is in a namespace of no runtime, enslaved to the Compose network's bridge.
  Netns plain("hf5tn");
  const std::string loose = unique_name("vethhf5t");
  sh_ok("ip link add " + loose + " type veth peer name eth0 netns " + plain.name());
  struct Del {
    std::string n;
    ~Del() { sh("ip link del " + n); }
  } del{loose};
  sh_ok("ip link set " + loose + " master " + br + " up");
  const std::string web = host_veth(d, "ix-hf5tn-web-1"), solo = host_veth(d, "hf5-solo-7");
  ASSERT_FALSE(web.empty());
  ASSERT_FALSE(solo.empty());

  Stack stack(
      docker_stack(d, {"--compat=truenas", "--container.labels=com.docker.compose.project"}));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  struct Want {
    std::string iface, type, instance, app;
  };
  const std::vector<Want> wants = {
      {web, "docker", "ix-hf5tn-web-1", "hf5tn"},  // the Compose project without "ix-"
      {solo, "docker", "hf5-solo-7", "hf5-solo"},  // no label: the name without "-<digits>"
      {loose, "docker", loose, "hf5tn"},           // unmapped: the app of its bridge's network
      {br, "bridge", "ix-hf5tn_default", "hf5tn"},
      {d.bridge(), "unknown", d.bridge(), ""},  // "hf5dk…": no br/docker/incus prefix, no device
      {"lo", "loopback", "loopback", ""},       // labels only: the scrapes themselves move lo
  };
  // Counter name -> `ip -s -j link` stats64 fields summed.
  const std::vector<std::pair<std::string, std::vector<std::string>>> counters = {
      {"net_interface_rx_bytes_total", {"rx.bytes"}},
      {"net_interface_tx_bytes_total", {"tx.bytes"}},
      {"net_interface_rx_packets_total", {"rx.packets"}},
      {"net_interface_tx_packets_total", {"tx.packets"}},
      {"net_interface_rx_errors_total", {"rx.errors"}},
      {"net_interface_tx_errors_total", {"tx.errors"}},
      {"net_interface_rx_dropped_total", {"rx.dropped", "rx.missed"}},
      {"net_interface_tx_dropped_total", {"tx.dropped"}},
  };
  auto kernel = [&] {
    std::map<std::string, json> out;
    for (const auto& l : ip_json("-s link show")) out[l.value("ifname", "")] = l;
    return out;
  };
  auto stat = [](const json& l, const std::string& path) -> std::uint64_t {
    const auto dot = path.find('.');
    const json& dir = l["stats64"][path.substr(0, dot)];
    return dir.value(path.substr(dot + 1), std::uint64_t{0});
  };
  bool matched = false;
  for (int attempt = 0; attempt < 10 && !matched; attempt++) {
    const auto k0 = kernel();
    auto e = scrape_after_now(stack);
    ASSERT_TRUE(e) << stack_logs(stack);
    const auto k1 = kernel();
    std::string moved;
    for (const Want& w : wants)
      for (const auto& [m, fields] : counters)
        for (const auto& f : fields)
          if (w.iface != "lo" && stat(k0.at(w.iface), f) != stat(k1.at(w.iface), f))
            moved += " " + w.iface + ":" + f;
    if (!moved.empty()) {  // something moved while the snapshot was taken: again
      std::cerr << "attempt " << attempt << ": moved" << moved << "\n";
      continue;
    }
    matched = true;
    for (const Want& w : wants) {
      SCOPED_TRACE(w.iface);
      const json& l = k1.at(w.iface);
      std::string state = l.value("operstate", "");
      std::transform(state.begin(), state.end(), state.begin(), ::tolower);
      for (const auto& [m, fields] : counters) {
        std::uint64_t want = 0;
        for (const auto& f : fields) want += stat(l, f);
        auto lab = series_where(*e, m, "interface", w.iface);
        ASSERT_FALSE(lab.empty()) << m;
        EXPECT_EQ(lab.size(), 6u) << m;
        EXPECT_EQ(lab["instance_type"], w.type) << m;
        EXPECT_EQ(lab["instance"], w.instance) << m;
        EXPECT_EQ(lab["app"], w.app) << m;
        EXPECT_EQ(lab["bridge"], l.value("master", "")) << m;
        EXPECT_EQ(lab["state"], state) << m;
        if (w.iface != "lo") {
          EXPECT_EQ(value_where(*e, m, "interface", w.iface), static_cast<double>(want)) << m;
        }
      }
    }
    // lo and the daemon's bridge have series too: every interface, as the tool's /proc/1/net/dev.
    EXPECT_GE(e->family("net_interface_rx_bytes_total").size(), wants.size());
  }
  EXPECT_TRUE(matched) << "the counters never held still for one scrape";
}

// Labels a tenant controls (here the Compose project, which becomes the app label, and an
// allowlisted label): 10 KiB with newlines, quotes, backslashes and invalid UTF-8. Docker itself
// refuses such container names (it allows [a-zA-Z0-9][a-zA-Z0-9_.-]), so hostile names are
// covered by the parser's unit test and fuzz target; labels come through the real daemon.
TEST(Docker, HostileLabelsKeepTheExpositionValidAndCapped) {
  HF_REQUIRE(is_root(), "needs root: dockerd, links");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"), "docker.io is not installed");
  Dockerd d;
  std::string hostile = "ix-evil\"}\n# HELP x y\nbad\\";
  hostile += std::string("\xff\xfe\xc3\x28", 4);
  while (hostile.size() < 10 * 1024) hostile += "A\"\n\\{}=,";
  auto r = run({"docker", "-H", "unix://" + d.sock(), "run", "-d", "--name", "hf5-hostile",
                "--label", "com.docker.compose.project=" + hostile, "--label", "team=" + hostile,
                "hf5bb", "sleep", "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Stack stack(docker_stack(d, {"--container.labels=team"}));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  auto c = series_where(*e, "hostflow_container_info", "owner", "hf5-hostile");
  ASSERT_FALSE(c.empty()) << stack_logs(stack);
  for (const char* k : {"app", "label_team"}) {
    EXPECT_LE(c[k].size(), 256u) << k;
    EXPECT_FALSE(c[k].empty()) << k;
    EXPECT_EQ(c[k].find('\n'), std::string::npos) << k;
  }
  const std::string veth = host_veth(d, "hf5-hostile");
  EXPECT_EQ(series_where(*e, "hostflow_interface_info", "interface", veth)["app"], c["app"]);
  const std::string text = http_get(stack.url()).body;
  auto pc = promtool_check(text);
  EXPECT_EQ(pc.exit_code, 0) << pc.out << pc.err;
  EXPECT_TRUE(e->errors.empty());
  EXPECT_TRUE(e->duplicates.empty());
}

// dockerd stopped under a running sampler: the docker source turns absent and everything else
// stays fresh; started again (and the container with it): attributed again.
TEST(Docker, DaemonStoppedThenRestarted) {
  HF_REQUIRE(is_root(), "needs root: dockerd, links");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"), "docker.io is not installed");
  Dockerd d;
  sh_ok(d.docker() + " run -d --name hf5-cycle hf5bb sleep 600 >/dev/null");
  Stack stack(docker_stack(d));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e);
  EXPECT_EQ(source_state(*e, "docker"), "ok");
  EXPECT_FALSE(series_where(*e, "hostflow_container_info", "owner", "hf5-cycle").empty());

  d.stop();
  Exposition now;
  EXPECT_TRUE(wait_until(
      [&] {
        now = stack.scrape();
        return source_state(now, "docker") == "absent";
      },
      std::chrono::seconds(10)))
      << stack_logs(stack);
  EXPECT_EQ(now.get("hostflow_sampler_up"), 1.0);
  EXPECT_EQ(source_state(now, "links"), "ok");
  EXPECT_EQ(source_state(now, "procs"), "ok");
  EXPECT_TRUE(stack.sampler().running());

  d.start();
  sh_ok(d.docker() + " start hf5-cycle >/dev/null");
  EXPECT_TRUE(wait_until(
      [&] {
        now = stack.scrape();
        return source_state(now, "docker") == "ok" &&
               !series_where(now, "hostflow_container_info", "owner", "hf5-cycle").empty() &&
               series_where(now, "hostflow_container_info", "owner", "hf5-cycle")["runtime"] ==
                   "docker";
      },
      std::chrono::seconds(15)))
      << stack_logs(stack) << d.log();
  const std::string veth = host_veth(d, "hf5-cycle");
  EXPECT_EQ(series_where(now, "hostflow_interface_info", "interface", veth)["owner"], "hf5-cycle");
}

}  // namespace
}  // namespace hostflow::test
