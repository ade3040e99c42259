// The fleet path (issue 17): 20 hosts — each a sampler in its own network namespace and an
// exporter, both under seccomp kill mode — scraped by one real Prometheus (2.42) found through
// file-based service discovery, for two minutes. Every target stays up for the whole window, no
// scrape is refused or trimmed, each host's interfaces are its own netns's (`ip link`), and the
// series per host are recorded (stdout and the test XML). Label `fleet`.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kHosts = 20;

// The scraping window: two minutes as the issue asks; HOSTFLOW_TEST_FLEET_SECONDS shortens it
// while developing (never in CI).
int window_seconds() {
  const char* s = std::getenv("HOSTFLOW_TEST_FLEET_SECONDS");
  return s && *s ? std::atoi(s) : 120;
}

// Resident memory of a process in kB (VmRSS), 0 when it is gone.
long rss_kb(pid_t pid) {
  std::istringstream in(read_file_if_exists("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

struct Host {
  std::string name;  // the `host` label file SD gives it
  std::unique_ptr<Netns> ns;
  std::unique_ptr<Stack> stack;
};

// A query's result keyed by one label's value.
std::map<std::string, double> by_label(const nlohmann::json& result, const std::string& label) {
  std::map<std::string, double> out;
  for (const auto& s : result) out[s["metric"].value(label, "")] = sample_value(s);
  return out;
}

TEST(Fleet, OnePrometheusScrapesTwentyHostsFoundByFileSdForTwoMinutesWithoutAScrapeError) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("prometheus"), "prometheus (2.x) is not installed");
  // 40 sanitizer processes: AddressSanitizer's quarantine of freed memory (256 MiB each by
  // default) grew them to ≈ 8 GB in two minutes; 16 MiB each keeps use-after-free detection for
  // recent frees at a fraction of that (the other tests keep the default).
  const char* asan = std::getenv("ASAN_OPTIONS");
  ::setenv(
      "ASAN_OPTIONS",
      ((asan && *asan ? std::string(asan) + ":" : std::string()) + "quarantine_size_mb=16").c_str(),
      1);
  std::vector<Host> hosts(kHosts);
  for (int i = 0; i < kHosts; ++i) {
    Host& h = hosts[i];
    h.name = "host" + std::to_string(i);
    h.ns = std::make_unique<Netns>("hffl");
    quiet_netns(*h.ns);
    // Hosts differ: 1-3 ifb devices each, so a target answering with another host's data shows.
    std::string batch;
    for (int d = 0; d <= i % 3; ++d) batch += "link add ifb" + std::to_string(d) + " type ifb\n";
    sh_ok("printf '" + batch + "' | ip -n " + h.ns->name() + " -batch -");
    StackOptions o = in_netns(h.ns->name(), "1s");
    // A host as shipped: none of the optional exporter features (HAProxy log, threat feeds,
    // compatibility profiles), so the series counted are what a default install serves.
    o.all_features = false;
    h.stack = std::make_unique<Stack>(o);
    h.stack->start_sampler();
    h.stack->start_exporter();
  }
  for (Host& h : hosts)
    ASSERT_TRUE(h.stack->wait_fresh()) << h.name << "\n" << stack_logs(*h.stack);

  // File SD as a bare-metal fleet would write it (docs/operations.md): one group per host.
  TempDir sd;
  {
    std::ofstream out(sd.path() + "/hostflow.json");
    out << "[\n";
    for (int i = 0; i < kHosts; ++i)
      out << "  {\"targets\": [\"127.0.0.1:" << hosts[i].stack->port() << "\"], \"labels\": {"
          << "\"host\": \"" << hosts[i].name << "\", \"rack\": \"r" << i % 4 << "\"}}"
          << (i + 1 < kHosts ? ",\n" : "\n");
    out << "]\n";
  }
  Prometheus prom(
      "  - job_name: hostflow\n"
      "    scrape_timeout: 1s\n"
      "    file_sd_configs:\n"
      "      - files: ['" +
          sd.path() + "/*.json']\n",
      /*scrape_itself=*/true);
  std::optional<nlohmann::json> up;
  ASSERT_TRUE(wait_until(
      [&] {
        up = prom.query("up{job=\"hostflow\"} == 1");
        return up && up->size() == kHosts;
      },
      std::chrono::seconds(40)))
      << "not every target up: " << (up ? up->dump() : "no answer") << "\n"
      << prom.process().log();

  const int window = window_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(window));
  const std::string range = "[" + std::to_string(window) + "s]";

  // Up at every scrape of the window, and scraped about once a second all along.
  auto min_up = prom.query("min_over_time(up{job=\"hostflow\"}" + range + ")");
  auto scrapes = prom.query("count_over_time(up{job=\"hostflow\"}" + range + ")");
  ASSERT_TRUE(min_up && scrapes);
  EXPECT_EQ(min_up->size(), static_cast<std::size_t>(kHosts)) << min_up->dump();
  for (const auto& [host, v] : by_label(*min_up, "host")) EXPECT_EQ(v, 1) << host << " was down";
  for (const auto& [host, n] : by_label(*scrapes, "host"))
    EXPECT_GE(n, 0.8 * window) << host << " scraped only " << n << " times in " << window << " s";

  // No scrape refused, trimmed or out of order anywhere (Prometheus's own counters).
  for (const char* c : {"prometheus_target_scrapes_exceeded_sample_limit_total",
                        "prometheus_target_scrapes_exceeded_body_size_limit_total",
                        "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                        "prometheus_target_scrapes_sample_out_of_bounds_total",
                        "prometheus_target_scrapes_sample_out_of_order_total",
                        "prometheus_target_scrape_pool_exceeded_label_limits_total",
                        "prometheus_target_scrape_pool_exceeded_target_limit_total"}) {
    auto r = prom.query(std::string("sum(") + c + ")");
    ASSERT_TRUE(r && r->size() == 1) << c << ": " << (r ? r->dump() : "no answer");
    EXPECT_EQ(sample_value((*r)[0]), 0) << c;
  }
  // Every sample scraped was kept, and a scrape never came close to its timeout.
  auto scraped = prom.query("scrape_samples_scraped{job=\"hostflow\"}");
  auto kept = prom.query("scrape_samples_post_metric_relabeling{job=\"hostflow\"}");
  auto slowest =
      prom.query("max_over_time(scrape_duration_seconds{job=\"hostflow\"}" + range + ")");
  ASSERT_TRUE(scraped && kept && slowest);
  const auto series = by_label(*scraped, "host");
  EXPECT_EQ(series, by_label(*kept, "host"));
  ASSERT_EQ(series.size(), static_cast<std::size_t>(kHosts)) << scraped->dump();
  const auto slow = by_label(*slowest, "host");
  for (const auto& [host, d] : slow) EXPECT_LT(d, 0.5) << host << "'s slowest scrape";

  // Each target is its own host: the interfaces Prometheus stored are that netns's (`ip link`).
  auto ifaces = prom.query("count by (host) (hostflow_interface_info{job=\"hostflow\"})");
  ASSERT_TRUE(ifaces);
  const auto stored_ifaces = by_label(*ifaces, "host");
  long sampler_kb = 0, exporter_kb = 0;
  double min_series = 1e18, max_series = 0, max_slow = 0;
  std::ostringstream report;
  for (Host& h : hosts) {
    const auto kernel = kernel_links(h.ns->name());
    EXPECT_EQ(stored_ifaces.count(h.name) ? stored_ifaces.at(h.name) : -1,
              static_cast<double>(kernel.size()))
        << h.name;
    // The series count Prometheus recorded is what the exporter serves (an independent parse).
    const Exposition direct = h.stack->scrape();
    EXPECT_EQ(series.count(h.name) ? series.at(h.name) : -1,
              static_cast<double>(direct.series.size()))
        << h.name;
    EXPECT_TRUE(h.stack->sampler().running()) << h.name << "\n" << h.stack->sampler().log();
    EXPECT_TRUE(h.stack->exporter().running()) << h.name << "\n" << h.stack->exporter().log();
    sampler_kb += rss_kb(h.stack->sampler().pid());
    exporter_kb += rss_kb(h.stack->exporter().pid());
    const double n = series.count(h.name) ? series.at(h.name) : 0;
    min_series = std::min(min_series, n);
    max_series = std::max(max_series, n);
    max_slow = std::max(max_slow, slow.count(h.name) ? slow.at(h.name) : 0);
    report << "fleet: " << h.name << " series_per_scrape=" << n << " interfaces=" << kernel.size()
           << "\n";
  }
  const long prom_kb = rss_kb(prom.process().pid());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report << "fleet: " << kHosts << " hosts, " << window << " s window (" << secs
         << " s), series per host " << min_series << "-" << max_series << ", slowest scrape "
         << max_slow * 1000 << " ms; RSS samplers " << sampler_kb / 1024 << " MiB, exporters "
         << exporter_kb / 1024 << " MiB, prometheus " << prom_kb / 1024 << " MiB\n";
  std::cout << report.str() << std::flush;
  RecordProperty("series_per_host_min", static_cast<int>(min_series));
  RecordProperty("series_per_host_max", static_cast<int>(max_series));
  RecordProperty("rss_kib_samplers_exporters_prometheus", std::to_string(sampler_kb) + "," +
                                                              std::to_string(exporter_kb) + "," +
                                                              std::to_string(prom_kb));
  EXPECT_EQ(prom.process().log().find("level=error"), std::string::npos) << prom.process().log();
}

}  // namespace
}  // namespace hostflow::test
