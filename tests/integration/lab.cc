#include "lab.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace hostflow::test {

const CounterMapping kCounterMappings[10] = {
    {"hostflow_interface_receive_bytes_total", "rx", "bytes"},
    {"hostflow_interface_transmit_bytes_total", "tx", "bytes"},
    {"hostflow_interface_receive_packets_total", "rx", "packets"},
    {"hostflow_interface_transmit_packets_total", "tx", "packets"},
    {"hostflow_interface_receive_errors_total", "rx", "errors"},
    {"hostflow_interface_transmit_errors_total", "tx", "errors"},
    {"hostflow_interface_receive_dropped_total", "rx", "dropped"},
    {"hostflow_interface_transmit_dropped_total", "tx", "dropped"},
    {"hostflow_interface_receive_multicast_packets_total", "rx", "multicast"},
    {"hostflow_interface_transmit_collisions_total", "tx", "collisions"},
};

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

KernelLinks kernel_links(const std::string& netns) {
  KernelLinks out;
  const nlohmann::json links = ip_json("-s -d link show", netns);
  for (const auto& l : links) {
    KernelLink k;
    k.name = l.value("ifname", "");
    k.ifindex = l.value("ifindex", 0);
    k.mtu = l.value("mtu", 0);
    k.mac = l.value("address", "");
    k.operstate = lower(l.value("operstate", ""));
    k.master = l.value("master", "");
    if (l.contains("linkinfo") && l["linkinfo"].contains("info_kind")) {
      k.kind = l["linkinfo"]["info_kind"].get<std::string>();
    } else if (l.value("link_type", "") == "loopback") {
      k.kind = "loopback";
    }
    if (l.contains("stats64")) {
      for (const auto& m : kCounterMappings) {
        k.counters[m.metric] = l["stats64"][m.direction][m.field].get<std::uint64_t>();
      }
    }
    EXPECT_FALSE(k.name.empty()) << "ip printed a link without a name: " << l.dump();
    out[k.name] = std::move(k);
  }
  return out;
}

ExportedLinks exported_links(const Exposition& e) {
  ExportedLinks out;
  for (const auto& [key, v] : e.family("hostflow_interface_info")) {
    auto labels = series_labels(key);
    EXPECT_EQ(v, 1) << key;
    out[labels["interface"]].info = labels;
  }
  for (const auto& m : kCounterMappings) {
    for (const auto& [key, v] : e.family(m.metric)) {
      out[series_labels(key)["interface"]].counters[m.metric] = v;
    }
  }
  for (const auto& [key, v] : e.family("hostflow_interface_mtu_bytes")) {
    out[series_labels(key)["interface"]].mtu = v;
  }
  return out;
}

void expect_links_match(const ExportedLinks& exported, const KernelLinks& kernel) {
  std::set<std::string> enames, knames;
  for (const auto& [n, _] : exported) enames.insert(n);
  for (const auto& [n, _] : kernel) knames.insert(n);
  EXPECT_EQ(enames, knames) << "the exporter's interface set differs from `ip link`'s";
  EXPECT_EQ(exported.size(), kernel.size());
  for (const auto& [name, k] : kernel) {
    auto it = exported.find(name);
    if (it == exported.end()) continue;
    const ExportedLink& x = it->second;
    SCOPED_TRACE("interface " + name);
    ASSERT_FALSE(x.info.empty()) << "no hostflow_interface_info series";
    EXPECT_EQ(x.info.at("kind"), k.kind);
    EXPECT_EQ(x.info.at("bridge"), k.master);
    EXPECT_EQ(x.info.at("operstate"), k.operstate);
    EXPECT_EQ(x.info.at("mac"), k.mac);
    EXPECT_EQ(x.info.at("ifindex"), std::to_string(k.ifindex));
    ASSERT_TRUE(x.mtu.has_value()) << "no hostflow_interface_mtu_bytes series";
    EXPECT_EQ(static_cast<std::int64_t>(*x.mtu), k.mtu);
    ASSERT_EQ(x.counters.size(), k.counters.size()) << "counter families differ";
    for (const auto& [metric, kv] : k.counters) {
      auto c = x.counters.find(metric);
      ASSERT_NE(c, x.counters.end()) << metric << " missing";
      // Counters this small are exact in a double.
      EXPECT_EQ(static_cast<std::uint64_t>(c->second), kv) << metric;
    }
  }
}

std::optional<Exposition> scrape_after_now(Stack& stack, std::chrono::milliseconds timeout) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::uint64_t served = stack.generation();
  std::optional<Exposition> got;
  wait_until(
      [&] {
        Exposition e = stack.scrape();
        auto up = e.get("hostflow_sampler_up");
        auto gen = e.get("hostflow_snapshot_generation");
        auto ts = e.get("hostflow_snapshot_timestamp_seconds");
        if (up && *up == 1 && gen && *gen >= static_cast<double>(served + 2) && ts && *ts > now) {
          got = std::move(e);
          return true;
        }
        return false;
      },
      timeout);
  return got;
}

std::vector<std::string> seccomp_args() {
  const char* mode = std::getenv("HOSTFLOW_TEST_SECCOMP");
  if (!mode || !*mode) return {};
  return {std::string("--seccomp=") + mode};
}

StackOptions in_netns(const std::string& netns, const std::string& interval) {
  StackOptions o;
  o.netns = netns;
  o.interval = interval;
  o.sampler_args = seccomp_args();
  o.exporter_args = seccomp_args();
  return o;
}

std::string stack_logs(Stack& s) {
  return "\n--- sampler log ---\n" + s.sampler().log() + "--- exporter log ---\n" +
         s.exporter().log();
}

std::map<std::string, std::string> series_where(const Exposition& e, const std::string& metric,
                                                const std::string& label,
                                                const std::string& value) {
  for (const auto& [k, v] : e.family(metric)) {
    auto l = series_labels(k);
    if (l[label] == value) return l;
  }
  return {};
}

std::optional<double> value_where(const Exposition& e, const std::string& metric,
                                  const std::string& label, const std::string& value) {
  for (const auto& [k, v] : e.family(metric)) {
    if (series_labels(k)[label] == value) return v;
  }
  return std::nullopt;
}

std::string source_state(const Exposition& e, const std::string& source) {
  for (const auto& [k, v] : e.family("hostflow_source_state")) {
    auto l = series_labels(k);
    if (l["source"] == source && v == 1.0) return l["state"];
  }
  return "";
}

void quiet_netns(const Netns& netns) {
  netns.exec_ok("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
}

Topology::Topology() {
  veth = unique_name("hfva");
  veth_peer = unique_name("hfvb");
  bridge = unique_name("hfbr");
  port = unique_name("hfpa");
  port_peer = unique_name("hfpb");
  ifb = unique_name("hfifb");
  quiet_netns(ns);
  quiet_netns(peer);
  const std::string n = "ip -n " + ns.name() + " ";
  const std::string p = "ip -n " + peer.name() + " ";
  sh_ok(n + "link add " + veth + " type veth peer name " + veth_peer + " netns " + peer.name());
  // Snooping off: with it the bridge joins 224.0.0.106 (multicast router discovery) and sends
  // IGMPv3 reports of its own when it comes up.
  sh_ok(n + "link add " + bridge + " type bridge mcast_snooping 0");
  sh_ok(n + "link add " + port + " type veth peer name " + port_peer + " netns " + peer.name());
  sh_ok(n + "link set " + port + " master " + bridge);
  sh_ok(n + "link add " + ifb + " type ifb");
  sh_ok(n + "addr add " + addr + "/30 dev " + veth);
  sh_ok(p + "addr add " + peer_addr + "/30 dev " + veth_peer);
  // Static neighbours: no ARP on the wire, so the counters move only by what a test sends.
  const auto mac = [](const std::string& ns_name, const std::string& dev) {
    auto j = ip_json("link show dev " + dev, ns_name);
    return j.empty() ? std::string() : j[0].value("address", "");
  };
  sh_ok(n + "neigh replace " + peer_addr + " lladdr " + mac(peer.name(), veth_peer) + " dev " +
        veth + " nud permanent");
  sh_ok(p + "neigh replace " + addr + " lladdr " + mac(ns.name(), veth) + " dev " + veth_peer +
        " nud permanent");
  for (const auto& d : {veth, bridge, port, ifb}) sh_ok(n + "link set " + d + " up");
  for (const auto& d : {veth_peer, port_peer}) sh_ok(p + "link set " + d + " up");
}

Prometheus::Prometheus(const std::string& scrape_configs, bool scrape_itself) : port_(free_port()) {
  const std::string cfg = dir_.path() + "/prometheus.yml";
  std::ofstream out(cfg);
  out << "global:\n"
         "  scrape_interval: 1s\n"
         "  evaluation_interval: 1s\n"
         "scrape_configs:\n"
      << scrape_configs;
  if (scrape_itself)
    out << "  - job_name: prometheus\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << port_ << "']\n";
  out.close();
  proc_ =
      Process({"prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + dir_.path() + "/data",
               "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
              dir_.path() + "/prometheus.log");
}

std::string Prometheus::static_job(int target_port) {
  return "  - job_name: hostflow\n"
         "    scrape_timeout: 1s\n"
         "    static_configs:\n"
         "      - targets: ['127.0.0.1:" +
         std::to_string(target_port) + "']\n";
}

std::optional<nlohmann::json> Prometheus::query(const std::string& q) {
  const HttpResult r = http_get("http://127.0.0.1:" + std::to_string(port_) +
                                "/api/v1/query?query=" + url_encode(q));
  if (r.status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  return j["data"]["result"];
}

double sample_value(const nlohmann::json& series) {
  return std::stod(series["value"][1].get<std::string>());
}

}  // namespace hostflow::test
