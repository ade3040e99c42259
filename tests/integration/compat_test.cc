// --compat with the real binaries: --compat.native=false serves only the profiles' families and
// the exporter's own self-metrics (docs/compat.md), and an unknown profile is a startup error
// naming the flag. The profiles' values are compared with independent truths in their own tests
// (docker_test: truenas, tc_counters_test: netprobe, compat_traffic_test, compat_oie_test).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

TEST(Compat, OnlyProfilesServesNoNativeFamily) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  StackOptions o = in_netns("");
  o.exporter_args = {"--compat=truenas,netprobe,oie,traffic", "--compat.native=false"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  // wait_fresh reads hostflow_sampler_up, which is native: wait on the exporter's readiness.
  ASSERT_TRUE(wait_until([&] { return http_get(stack.url("/-/ready")).status == 200; },
                         std::chrono::seconds(15)))
      << stack_logs(stack);
  const Exposition e = stack.scrape();
  std::set<std::string> names;
  for (const auto& [key, v] : e.series) names.insert(series_name(key));
  std::size_t profile_families = 0;
  for (const auto& n : names) {
    // The per-scrape tail (exporter/self_metrics.cc: the exporter's own counters and its
    // process_* figures) stays.
    const bool self = is_scrape_tail(n);
    const bool profile = n.rfind("net_interface_", 0) == 0 || n.rfind("netprobe_", 0) == 0 ||
                         n.rfind("oie_", 0) == 0 || n.rfind("qemu_network_", 0) == 0 ||
                         n.rfind("haproxy_sni_", 0) == 0;
    EXPECT_TRUE(self || profile) << n << " served with --compat.native=false";
    profile_families += profile;
  }
  // Interfaces exist on every host (lo at least): the truenas and netprobe families are there.
  EXPECT_TRUE(names.count("net_interface_rx_bytes_total"));
  EXPECT_TRUE(names.count("netprobe_up"));
  EXPECT_GT(profile_families, 10u);
  EXPECT_FALSE(names.count("hostflow_sampler_up"));
  EXPECT_FALSE(names.count("hostflow_interface_receive_bytes_total"));
  EXPECT_EQ(e.get("hostflow_exporter_refused_series_total"), 0.0);
}

TEST(Compat, AnUnknownProfileIsAStartupErrorNamingTheFlag) {
  const RunResult r = run({HOSTFLOW_EXPORTER_BIN, "--allow-root", "--compat=truenas,nosuch"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--compat: unknown profile \\\"nosuch\\\""), std::string::npos) << r.err;
  const RunResult n = run({HOSTFLOW_EXPORTER_BIN, "--allow-root", "--compat.native=false"});
  EXPECT_NE(n.exit_code, 0);
  EXPECT_NE(n.err.find("--compat.native=false: name at least one profile"), std::string::npos)
      << n.err;
}

}  // namespace
}  // namespace hostflow::test
