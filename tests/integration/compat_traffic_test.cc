// The `traffic` profile (issue 14) against real components, the exporter under its seccomp
// filter as always (Stack). In a private netns with the sampler inside it, two stand-in QEMU
// guests (qemu-system-hfguest, QEMU-shaped command lines) on real taps, one with dstack's
// run/vm/vm-12345/ path and one with only a vhost-vsock guest-cid=: bytes each guest sends (one
// way) equal qemu_network_total_bytes{direction="tx"} of its seed id (and what the host sends it
// equals rx), cross-checked against the kernel's own tap counters; POST /reset zeroes the
// profile's totals and not the native counters. A log in the Traffic Exporter's SNI= format is
// counted exactly under haproxy_sni_*, from the offset of its old position file, imported once.
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab.h"
#include "support.h"
#include "vm_lab.h"

namespace hostflow::test {
namespace {

// qemu_network_<family>{direction, uuid}; nullopt when absent.
std::optional<double> traffic(const Exposition& e, const std::string& family,
                              const std::string& direction, const std::string& uuid) {
  for (const auto& [key, v] : e.family("qemu_network_" + family)) {
    auto l = series_labels(key);
    if (l["direction"] == direction && l["uuid"] == uuid) return v;
  }
  return std::nullopt;
}

std::optional<double> sni(const Exposition& e, const std::string& family, const std::string& name) {
  for (const auto& [key, v] : e.family("haproxy_sni_" + family))
    if (series_labels(key)["sni"] == name) return v;
  return std::nullopt;
}

struct Guest {
  std::string tap, status;
  std::optional<Process> proc;
};

TEST(CompatTraffic, PerVmBytesUnderTheSeedsIdsAndSniMarkerLogCountedExactly) {
  HF_REQUIRE(is_root(), "needs root: network namespaces and taps, the exporter as nobody");
  Netns ns("hftr");
  quiet_netns(ns);  // IPv6 off before the taps exist: no solicitations on them
  TempDir dir;
  sh_ok("chmod 0755 " + dir.path());
  const std::string cid = std::to_string(3000 + getpid() % 1000);
  const std::string run_vm_id = "vm-12345";
  // Guest A: dstack's path (not hex, no -uuid/-name); guest B: only a vsock CID.
  const std::vector<std::vector<std::string>> ids = {
      {"-drive", "file=/opt/dstack/run/vm/" + run_vm_id + "/hda.img,if=none,id=hd0"},
      {"-device", "vhost-vsock-pci,id=vsock0,guest-cid=" + cid}};
  const std::string seed_id[] = {run_vm_id, "CID-" + cid};
  constexpr int kFrames[] = {23, 11}, kSize[] = {500, 400};  // what each guest sends
  constexpr int kHostFrames = 7, kHostSize = 300;            // what the host sends guest A
  Guest g[2];
  for (int k = 0; k < 2; k++) {
    g[k].tap = unique_name("hftrt");
    g[k].status = dir.path() + "/guest" + std::to_string(k) + ".status";
    ns.exec_ok("ip tuntap add dev " + g[k].tap + " mode tap && ip link set " + g[k].tap + " up");
    std::vector<std::string> argv = {"ip", "netns", "exec", ns.name(), HOSTFLOW_GUEST_HELPER};
    argv.insert(argv.end(), ids[k].begin(), ids[k].end());
    for (const std::string& a : {std::string("-ifname"), g[k].tap, std::string("-status"),
                                 g[k].status, std::string("-frames"), std::to_string(kFrames[k]),
                                 std::string("-size"), std::to_string(kSize[k])})
      argv.push_back(a);
    g[k].proc.emplace(argv, dir.path() + "/guest" + std::to_string(k) + ".log");
    ASSERT_TRUE(wait_until([&] { return access(g[k].status.c_str(), R_OK) == 0; },
                           std::chrono::seconds(10)))
        << g[k].proc->log();
  }

  // The Traffic Exporter's log and position file: its three "old" lines were counted by it
  // before the switch (the position is after them); hostflow counts only what follows.
  const std::string log = dir.path() + "/haproxy.log", pos = dir.path() + "/.traffic-exporter.pos";
  const std::string old_lines =
      "Dec  4 13:00:00 lb haproxy[7]: 10.0.0.1:1 [04/Dec/2026:13:00:00.000] fe be/s 0/0/5 999 -- "
      "1/1/0/0/0 0/0 SNI=old.example\n"
      "Dec  4 13:00:01 lb haproxy[7]: 10.0.0.1:2 [04/Dec/2026:13:00:01.000] fe be/s 0/0/5 999 -- "
      "1/1/0/0/0 0/0 SNI=old.example\n"
      "Dec  4 13:00:02 lb haproxy[7]: 10.0.0.1:3 [04/Dec/2026:13:00:02.000] fe be/s 0/0/5 999 -- "
      "1/1/0/0/0 0/0 SNI=www.h8.test\n";
  {
    std::ofstream o(log);
    o << old_lines;
    // New lines: bytes the last integer before SNI=, "-" is HAProxy's no SNI, 0 a zero-byte one.
    o << "Dec  4 13:01:00 lb haproxy[7]: 10.0.0.1:4 [04/Dec/2026:13:01:00.000] fe be/s 0/0/5 "
         "4096 -- 1/1/0/0/0 0/0 SNI=www.h8.test\n";
    o << "Dec  4 13:01:01 lb haproxy[7]: 10.0.0.1:5 [04/Dec/2026:13:01:01.000] fe be/s 0/0/5 "
         "1000 -- 1/1/0/0/0 0/0 SNI=www.h8.test\n";
    o << "Dec  4 13:01:02 lb haproxy[7]: 10.0.0.1:6 [04/Dec/2026:13:01:02.000] fe be/s 0/0/5 0 "
         "CD 1/1/0/0/0 0/0 SNI=-\n";
    o << "Dec  4 13:01:03 lb haproxy[7]: 10.0.0.1:7 [04/Dec/2026:13:01:03.000] fe be/s 0/0/5 0 "
         "-- 1/1/0/0/0 0/0 SNI=a.h8.test\n";
    o << "Dec  4 13:01:04 lb haproxy[7]: Proxy fe started.\n";  // no marker: not a connection
  }
  std::ofstream(pos) << old_lines.size();  // as the seed writes it: digits, no newline
  sh_ok("chmod 0644 " + log + " " + pos + " && mkdir " + dir.path() + "/state && chown nobody " +
        dir.path() + "/state");

  StackOptions o = in_netns(ns.name());
  o.exporter_args = {"--compat=traffic",
                     "--haproxy.log",
                     log,
                     "--haproxy.format=sni-marker",
                     "--haproxy.import-position=" + pos,
                     "--haproxy.render-interval",
                     "1s",
                     "--state.dir",
                     dir.path() + "/state"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  // Both VMs appear under the seed's ids before any traffic (totals 0).
  ASSERT_TRUE(wait_until(
      [&] {
        const Exposition e = stack.scrape();
        return traffic(e, "total_bytes", "tx", seed_id[0]) == 0.0 &&
               traffic(e, "total_bytes", "tx", seed_id[1]) == 0.0;
      },
      std::chrono::seconds(15)))
      << stack_logs(stack);

  for (int k = 0; k < 2; k++) ASSERT_EQ(::kill(g[k].proc->pid(), SIGUSR1), 0);
  ASSERT_TRUE(host_send(ns.name(), g[0].tap, kHostFrames, kHostSize));
  ASSERT_TRUE(wait_until(
      [&] {
        return read_status(g[0].status).tx_frames == kFrames[0] &&
               read_status(g[0].status).rx_frames == kHostFrames &&
               read_status(g[1].status).tx_frames == kFrames[1];
      },
      std::chrono::seconds(10)));

  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  for (int k = 0; k < 2; k++) {
    const GuestStatus st = read_status(g[k].status);
    const auto j = ip_json("-s link show dev " + g[k].tap, ns.name());
    ASSERT_FALSE(j.empty());
    // Three views: what the guest sent, what the kernel counted on the tap (host rx = VM tx),
    // and the profile under the seed's id.
    EXPECT_EQ(st.tx_bytes, std::uint64_t(kFrames[k]) * kSize[k]);
    EXPECT_EQ(j[0]["stats64"]["rx"]["bytes"].get<std::uint64_t>(), st.tx_bytes);
    EXPECT_EQ(traffic(*e, "total_bytes", "tx", seed_id[k]), static_cast<double>(st.tx_bytes))
        << seed_id[k];
    EXPECT_EQ(traffic(*e, "total_bytes", "rx", seed_id[k]), static_cast<double>(st.rx_bytes))
        << seed_id[k];
    // Every window of the seed holds it all (the VMs are younger than 30 s of samples...).
    EXPECT_EQ(traffic(*e, "1h_bytes", "tx", seed_id[k]), static_cast<double>(st.tx_bytes));
  }
  EXPECT_EQ(read_status(g[0].status).rx_bytes, std::uint64_t(kHostFrames) * kHostSize);

  // The SNI= log from the imported offset, exactly: old lines not counted again.
  ASSERT_TRUE(wait_until([&] { return sni(stack.scrape(), "connections", "www.h8.test") == 2.0; },
                         std::chrono::seconds(10)))
      << stack_logs(stack);
  const Exposition s = stack.scrape();
  EXPECT_EQ(sni(s, "total_bytes", "www.h8.test"), 5096.0);
  EXPECT_EQ(sni(s, "zero_bytes", "www.h8.test"), 0.0);
  EXPECT_EQ(sni(s, "connections", "-"), 1.0);
  EXPECT_EQ(sni(s, "zero_bytes", "-"), 1.0);
  EXPECT_EQ(sni(s, "connections", "a.h8.test"), 1.0);
  EXPECT_EQ(sni(s, "zero_bytes", "a.h8.test"), 1.0);
  EXPECT_EQ(sni(s, "connections", "old.example"), std::nullopt);
  EXPECT_EQ(s.get("hostflow_haproxy_lines_unparsed_total{reason=\"no_marker\"}"), 1.0);
  EXPECT_NE(stack.exporter().log().find("imported the Traffic Exporter's position file"),
            std::string::npos);

  // POST /reset: the profile's QEMU totals count from zero, the native counters do not move.
  const double native_before = s.get("hostflow_vm_network_transmit_bytes_total{vm_uuid=\"" +
                                     run_vm_id + "\",vm_name=\"" + run_vm_id + "\"}")
                                   .value_or(-1);
  EXPECT_EQ(native_before, static_cast<double>(read_status(g[0].status).tx_bytes));
  EXPECT_EQ(sh("curl -s -o /dev/null -w '%{http_code}' -X POST " + stack.url("/reset")).out, "200");
  auto r = scrape_after_now(stack);
  ASSERT_TRUE(r) << stack_logs(stack);
  EXPECT_EQ(traffic(*r, "total_bytes", "tx", seed_id[0]), 0.0);
  EXPECT_EQ(traffic(*r, "30s_bytes", "tx", seed_id[0]), 0.0);
  EXPECT_EQ(r->get("hostflow_vm_network_transmit_bytes_total{vm_uuid=\"" + run_vm_id +
                   "\",vm_name=\"" + run_vm_id + "\"}"),
            native_before);
  ASSERT_TRUE(host_send(ns.name(), g[0].tap, kHostFrames, kHostSize));  // the guest receives
  ASSERT_TRUE(wait_until([&] { return read_status(g[0].status).rx_frames == 2 * kHostFrames; },
                         std::chrono::seconds(10)));
  r = scrape_after_now(stack);
  ASSERT_TRUE(r) << stack_logs(stack);
  EXPECT_EQ(traffic(*r, "total_bytes", "rx", seed_id[0]),
            static_cast<double>(std::uint64_t(kHostFrames) * kHostSize));
  EXPECT_GT(expositions_checked(), 0u);
  for (auto& x : g) x.proc->kill_and_wait();
}

}  // namespace
}  // namespace hostflow::test
