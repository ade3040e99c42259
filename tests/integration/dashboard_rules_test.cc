// Issue 17: every PromQL expression of docs/grafana/hostflow.json (template variables
// substituted) and every rule of docs/prometheus/hostflow.rules.yml, evaluated by a real
// Prometheus 2.42 that has scraped a real hostflow for a minute. The sampler (seccomp kill mode,
// the default) runs in the conntrack lab's router netns with the eBPF TC counters on; the scenario
// gives each dashboard area data: a workload netns with flows (interfaces, containers, conntrack
// per fixed IP, outbound behaviour), a stand-in QEMU guest on a tap (per-VM traffic), the
// Stack's all-features HAProxy log (per SNI) and threat feed, and one flow to an address on that
// feed (a threat contact). node_exporter (conntrack collector) gives the one alert that needs it
// its real series. Every dashboard expression and every recording rule must return data; every
// alert expression must be valid PromQL over metric names that have series, and silent, except
// HostflowThreatContact, which the scenario provokes and which must fire for that contact
// alone. Label rules.
#include <signal.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "ct_lab.h"
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

const std::string kDashboard = std::string(HOSTFLOW_SOURCE_DIR) + "/docs/grafana/hostflow.json";
const std::string kRules = std::string(HOSTFLOW_SOURCE_DIR) + "/docs/prometheus/hostflow.rules.yml";
// On the all-features feed of every Stack (support.cc): the emergingthreats list.
const std::string kListed = "198.51.100.77";

// Grafana's substitution of the dashboard's variables for this job and target; the rate window
// is what $__rate_interval gives for a 15 s scrape interval (4 x 15 s).
std::string substitute(std::string expr, const std::string& instance) {
  const std::pair<std::string, std::string> vars[] = {
      {"$__rate_interval", "1m"}, {"$instance", instance}, {"$job", "hostflow"}};
  for (const auto& [var, value] : vars) {
    for (std::size_t p = expr.find(var); p != std::string::npos;
         p = expr.find(var, p + value.size()))
      expr.replace(p, var.size(), value);
  }
  return expr;
}

// The metric names an alert expression reads (ours, node_exporter's and `up`).
std::set<std::string> metric_names(const std::string& expr) {
  static const std::regex name(R"((?:^|[^a-zA-Z0-9_:])((?:hostflow|node)_[a-z0-9_]+|up)\b)");
  std::set<std::string> out;
  for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it)
    out.insert((*it)[1].str());
  return out;
}

std::string describe(const std::optional<nlohmann::json>& r) {
  return r ? r->dump().substr(0, 300) : std::string("(query failed: not valid PromQL?)");
}

TEST(DashboardRules, EveryExpressionReturnsDataFromARealStackAndOnlyTheProvokedAlertFires) {
  HF_REQUIRE(is_root(), "needs root: network namespaces, conntrack, TC programs");
  HF_REQUIRE(have_command("prometheus"), "prometheus (2.x) is not installed");
  HF_REQUIRE(have_command("prometheus-node-exporter"), "prometheus-node-exporter is not installed");
  HF_REQUIRE(have_command("conntrack") && have_command("nft") && have_command("/usr/bin/python3"),
             "needs conntrack, nft and python3");

  CtLab lab;
  // A listed remote in R, routed through H like the lab's other remotes.
  lab.r.exec_ok("ip addr add " + kListed + "/32 dev $(ip -o link show type veth | cut -d: -f2 | " +
                "cut -d@ -f1 | tr -d ' ')");
  lab.h.exec_ok("ip route add " + kListed + "/32 via 10.66.2.2 dev " + lab.hr);
  lab.start_flows(lab.r, {"listen", "80"});
  lab.start_flows(lab.w, {"connect", "tcp,10.66.2.2,80,3", "tcp,10.66.2.3,80,2",
                          "udp,10.66.2.4,53,1", "tcp," + kListed + ",80,2"});
  // A stand-in QEMU guest (issue 4's helper) on a tap in H, which then counts as a VM.
  const std::string tap = unique_name("hfrtap");
  lab.h.exec_ok("ip tuntap add dev " + tap + " mode tap && ip link set " + tap + " up");
  const std::string status = lab.dir.path() + "/guest.status";
  Process guest({"ip", "netns", "exec", lab.h.name(), HOSTFLOW_GUEST_HELPER, "-uuid",
                 sh_ok("cat /proc/sys/kernel/random/uuid").substr(0, 36), "-name",
                 "guest=hfr-guest-" + std::to_string(::getpid()), "-ifname", tap, "-status", status,
                 "-frames", "10", "-size", "200"},
                lab.dir.path() + "/guest.log");
  ASSERT_TRUE(
      wait_until([&] { return !read_file_if_exists(status).empty(); }, std::chrono::seconds(10)))
      << guest.log();
  ::kill(guest.pid(), SIGUSR1);  // the guest sends: traffic on the tap

  StackOptions so = in_netns(lab.h.name(), "1s");
  so.sampler_args = {"--source.bpf"};
  so.exporter_args = {"--conntrack.min", "1", "--outbound.behavior.enable"};
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  const int node_port = free_port();
  Process node({"prometheus-node-exporter", "--collector.disable-defaults", "--collector.conntrack",
                "--web.listen-address=127.0.0.1:" + std::to_string(node_port)},
               lab.dir.path() + "/node_exporter.log");
  // The scrape jobs, then the rules file as a top-level key after them.
  Prometheus prom(Prometheus::static_job(stack.port()) +
                  "  - job_name: node\n"
                  "    static_configs:\n"
                  "      - targets: ['127.0.0.1:" +
                  std::to_string(node_port) +
                  "']\n"
                  "rule_files:\n"
                  "  - " +
                  kRules + "\n");
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        auto up = prom.query("up == 1");
        return up && up->size() == 2;
      },
      std::chrono::seconds(30)))
      << "both targets never up\n"
      << prom.process().log() << node.log();
  // A minute of scrapes (the issue: "scraped a real hostflow for a minute").
  std::this_thread::sleep_until(started + std::chrono::seconds(60));

  const std::string instance = "127.0.0.1:" + std::to_string(stack.port());
  const nlohmann::json dash = nlohmann::json::parse(read_file(kDashboard));
  std::vector<std::string> exprs;
  for (const auto& p : dash.at("panels"))
    for (const auto& t : p.value("targets", nlohmann::json::array()))
      exprs.push_back(p.at("title").get<std::string>() + "\t" + t.at("expr").get<std::string>());
  ASSERT_GE(exprs.size(), 30u);

  const YAML::Node rules = YAML::LoadFile(kRules);
  std::vector<std::string> records;
  std::vector<std::pair<std::string, std::string>> alerts;  // name, expr
  for (const auto& g : rules["groups"])
    for (const auto& r : g["rules"]) {
      if (r["record"]) records.push_back(r["record"].as<std::string>());
      if (r["alert"])
        alerts.emplace_back(r["alert"].as<std::string>(), r["expr"].as<std::string>());
    }
  ASSERT_FALSE(records.empty());
  ASSERT_GE(alerts.size(), 8u);

  // Every dashboard expression and recording rule has data (a short grace for the slowest:
  // the first threat contact, rules evaluated once more).
  std::vector<std::string> missing;
  wait_until(
      [&] {
        missing.clear();
        for (const auto& e : exprs) {
          const std::string q = substitute(e.substr(e.find('\t') + 1), instance);
          auto r = prom.query(q);
          if (!r || r->empty())
            missing.push_back(e.substr(0, e.find('\t')) + ": " + q + " -> " + describe(r));
        }
        for (const auto& rec : records) {
          auto r = prom.query(rec + "{job=\"hostflow\",instance=\"" + instance + "\"}");
          if (!r || r->empty()) missing.push_back("record " + rec + " -> " + describe(r));
        }
        return missing.empty();
      },
      std::chrono::seconds(20));
  std::string list;
  for (const auto& m : missing) list += "  " + m + "\n";
  EXPECT_TRUE(missing.empty()) << missing.size() << " expressions without data:\n"
                               << list << stack_logs(stack);

  // The template variables' queries find this job and target.
  for (const auto& v : dash.at("templating").at("list")) {
    if (v.at("type") != "query") continue;
    const std::string q = v.at("query").at("query").get<std::string>();  // label_values(SEL, L)
    const auto comma = q.rfind(',');
    const std::string sel = substitute(q.substr(13, comma - 13), instance);
    std::string label = q.substr(comma + 1, q.size() - comma - 2);
    label.erase(0, label.find_first_not_of(' '));
    auto r = prom.query("count by (" + label + ") (" + sel + ")");
    ASSERT_TRUE(r) << q;
    std::set<std::string> values;
    for (const auto& s : *r) values.insert(s["metric"].value(label, ""));
    EXPECT_TRUE(values.count(label == "job" ? "hostflow" : instance)) << q << " -> " << r->dump();
  }

  // A recorded value against the kernel: W's conntrack entries (the recording rule over its
  // fixed IPs, as Prometheus stored it) equal what `conntrack -L` lists in H for W's addresses.
  // The flows are long-lived (TCP held open, UDP timeout 600 s): the table does not move.
  const std::string w_owner = lab.holder_cgroup.substr(lab.holder_cgroup.rfind('/') + 1);
  std::size_t kernel_w = 0;
  for (const CtEntry& c : conntrack_list(lab.h.name()))
    for (const char* ip : {"10.66.1.2", "fd66:1::2"})
      if (c.src == ip || c.reply_src == ip) kernel_w++;
  EXPECT_GE(kernel_w, 8u);  // the 8 flows W opened
  auto w = prom.query("instance_owner:hostflow_conntrack_ip_flows:sum{owner=\"" + w_owner + "\"}");
  ASSERT_TRUE(w && w->size() == 1) << describe(w);
  EXPECT_EQ(sample_value((*w)[0]), static_cast<double>(kernel_w)) << describe(w);

  // Alerts: valid PromQL over names that exist, silent on this healthy stack, except the contact
  // the scenario made.
  for (const auto& [name, expr] : alerts) {
    for (const auto& n : metric_names(expr)) {
      auto r = prom.query("count(" + n + ")");
      EXPECT_TRUE(r && !r->empty()) << name << ": no series named " << n;
    }
    auto r = prom.query(expr);
    ASSERT_TRUE(r) << name << ": not valid PromQL: " << expr;
    if (name == "HostflowThreatContact") {
      ASSERT_FALSE(r->empty()) << "the contact with " << kListed << " was not seen\n"
                               << stack_logs(stack);
      for (const auto& s : *r) {
        EXPECT_EQ(s["metric"].value("list", ""), "emergingthreats") << s.dump();
        EXPECT_EQ(s["metric"].value("direction", ""), "out") << s.dump();
        EXPECT_EQ(s["metric"].value("owner_type", ""), "netns") << s.dump();
        EXPECT_EQ(s["metric"].value("owner", ""), w_owner) << s.dump();
      }
    } else {
      EXPECT_TRUE(r->empty()) << name << " would fire on a healthy stack: " << r->dump();
    }
  }
  auto firing = prom.query("ALERTS");
  ASSERT_TRUE(firing);
  std::set<std::string> names;
  for (const auto& s : *firing) names.insert(s["metric"].value("alertname", ""));
  EXPECT_EQ(names, std::set<std::string>{"HostflowThreatContact"}) << firing->dump();

  // Nothing was killed by its seccomp filter meanwhile, and Prometheus logged no error.
  EXPECT_TRUE(stack.sampler().running()) << stack_logs(stack);
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
  EXPECT_EQ(prom.process().log().find("level=error"), std::string::npos) << prom.process().log();
  node.kill_and_wait();
  guest.kill_and_wait();
  lab.h.exec_ok("ip link del " + tap);
}

}  // namespace
}  // namespace hostflow::test
