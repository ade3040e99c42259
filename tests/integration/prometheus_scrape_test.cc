// A real Prometheus (2.42) scrapes the exporter: the target is up and the stored counter is the
// kernel's. Label `daemon`.
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kPings = 20;

TEST(Prometheus, ScrapesTheExporterAndStoresTheKernelsCounter) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("prometheus"), "prometheus (2.x) is not installed");
  HF_REQUIRE(have_command("ping"), "ping is not installed");
  Topology t;
  Stack stack(in_netns(t.ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();

  // Traffic first, so the value compared is not a trivial zero; then it stops.
  const RunResult ping = run({"ip", "netns", "exec", t.ns.name(), "ping", "-n", "-q", "-c",
                              std::to_string(kPings), "-i", "0.01", "-W", "2", t.peer_addr},
                             std::chrono::seconds(30));
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  ASSERT_TRUE(scrape_after_now(stack).has_value()) << "no snapshot after the traffic";
  const std::uint64_t kernel_rx =
      kernel_links(t.ns.name()).at(t.veth).counters.at("hostflow_interface_receive_bytes_total");
  ASSERT_GE(kernel_rx, static_cast<std::uint64_t>(kPings) * 98);  // 84-byte echo + 14 Ethernet

  // Every scrape Prometheus makes from here on sees a snapshot taken after the traffic.
  Prometheus prom(Prometheus::static_job(stack.port()));
  const std::string series_q =
      "hostflow_interface_receive_bytes_total{interface=\"" + t.veth + "\"}";
  std::optional<nlohmann::json> up, series;
  const bool scraped = wait_until(
      [&] {
        up = prom.query("up{job=\"hostflow\"}");
        series = prom.query(series_q);
        return up && !up->empty() && series && !series->empty();
      },
      std::chrono::seconds(40));
  ASSERT_TRUE(scraped) << "no samples from Prometheus\n" << prom.process().log();

  ASSERT_EQ(up->size(), 1u) << up->dump();
  EXPECT_EQ(sample_value((*up)[0]), 1) << up->dump();
  ASSERT_EQ(series->size(), 1u) << series->dump();
  const auto& s = (*series)[0];
  EXPECT_EQ(s["metric"].value("job", ""), "hostflow");
  EXPECT_EQ(s["metric"].value("interface", ""), t.veth);
  EXPECT_EQ(static_cast<std::uint64_t>(sample_value(s)), kernel_rx) << s.dump();
  // The kernel has not moved since (traffic stopped): the stored value is the current truth.
  EXPECT_EQ(
      kernel_links(t.ns.name()).at(t.veth).counters.at("hostflow_interface_receive_bytes_total"),
      kernel_rx);
  // Prometheus recorded no scrape problems (sample limit, parse errors, duplicate timestamps).
  auto added = prom.query("scrape_samples_post_metric_relabeling{job=\"hostflow\"}");
  auto scraped_n = prom.query("scrape_samples_scraped{job=\"hostflow\"}");
  ASSERT_TRUE(added && scraped_n && !added->empty() && !scraped_n->empty());
  EXPECT_EQ(sample_value((*added)[0]), sample_value((*scraped_n)[0]));
  EXPECT_EQ(prom.process().log().find("level=error"), std::string::npos) << prom.process().log();
}

}  // namespace
}  // namespace hostflow::test
