// VmHistory: VM-view totals (tap counters swapped, macvtap not), counter resets, the trailing
// windows, CPU percent (clamp, --cpu.min suppression, one trailing sample), and forgetting VMs
// that are gone (state bounded under churn). Expected numbers are computed here from the inputs.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "areas/vms/vm_history.h"

using hostflow::exporter::kWindowNames;
using hostflow::exporter::kWindowSeconds;
using hostflow::exporter::Vm;
using hostflow::exporter::VmDerived;
using hostflow::exporter::VmHistory;
using hostflow::exporter::VmInterface;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ull;

VmInterface iface(int ifindex, std::uint64_t host_rx, std::uint64_t host_tx, bool macvtap = false) {
  VmInterface i;
  i.netns = 7;
  i.ifindex = ifindex;
  i.name = "tap" + std::to_string(ifindex);
  i.kind = macvtap ? "macvtap" : "tap";
  i.guest_view = macvtap;
  i.stats.rx_bytes = host_rx;
  i.stats.tx_bytes = host_tx;
  i.stats.rx_packets = host_rx / 100;
  i.stats.tx_packets = host_tx / 100;
  return i;
}

Vm vm(const std::string& key, std::vector<VmInterface> ifs = {}) {
  Vm v;
  v.key = key;
  v.uuid = key;
  v.interfaces = std::move(ifs);
  return v;
}

VmDerived one(VmHistory& h, const Vm& v, std::uint64_t t) {
  auto d = h.update({v}, t);
  EXPECT_EQ(d.size(), 1u);
  return d.empty() ? VmDerived{} : d[0];
}

TEST(VmHistory, TapCountersAreSwappedMacvtapIsNot) {
  VmHistory h;
  // Host view of a tap: rx 1000 (the guest sent), tx 5000 (the guest received).
  auto d = one(h, vm("a", {iface(3, 1000, 5000), iface(4, 300, 700, /*macvtap=*/true)}), 10 * kSec);
  EXPECT_EQ(d.rx_bytes, 5000u + 300u);
  EXPECT_EQ(d.tx_bytes, 1000u + 700u);
  EXPECT_EQ(d.rx_packets, 50u + 3u);
  EXPECT_EQ(d.tx_packets, 10u + 7u);
}

TEST(VmHistory, TotalsSurviveCounterResetsAndReplacedInterfaces) {
  VmHistory h;
  auto d = one(h, vm("a", {iface(3, 0, 1000)}), 10 * kSec);
  EXPECT_EQ(d.rx_bytes, 1000u);
  d = one(h, vm("a", {iface(3, 0, 1500)}), 11 * kSec);
  EXPECT_EQ(d.rx_bytes, 1500u);
  // The tap was recreated with the same ifindex: its counter restarted at 0 and is at 200 now.
  d = one(h, vm("a", {iface(3, 0, 200)}), 12 * kSec);
  EXPECT_EQ(d.rx_bytes, 1700u);
  // Replaced by another interface (ifindex 9) which already carried 50 bytes: all of it counts.
  d = one(h, vm("a", {iface(9, 0, 50)}), 13 * kSec);
  EXPECT_EQ(d.rx_bytes, 1750u);
  // No interface at all for a while: the total stays.
  d = one(h, vm("a"), 14 * kSec);
  EXPECT_EQ(d.rx_bytes, 1750u);
  EXPECT_EQ(d.tx_bytes, 0u);
}

TEST(VmHistory, WindowsAtFiveSecondSamples) {
  VmHistory h;
  // 10 bytes received per 5 s for 2 h (from t = 1000 s).
  std::uint64_t host_tx = 0;
  VmDerived d;
  const std::uint64_t t0 = 1000 * kSec;
  for (std::uint64_t k = 0; k <= 2 * 3600 / 5; k++) {
    d = one(h, vm("a", {iface(3, 0, host_tx)}), t0 + k * 5 * kSec);
    host_tx += 10;
  }
  for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
    EXPECT_EQ(d.rx_window[w], kWindowSeconds[w] / 5 * 10) << kWindowNames[w];
    EXPECT_EQ(d.tx_window[w], 0u) << kWindowNames[w];
  }
  // History is bounded by the 1 h window, not by the 2 h run.
  EXPECT_LE(h.samples(), 3600 / 5 + 3);
}

// Whatever the sampler interval, a window covers W to W + 5 s of history and a VM keeps at most
// about 3600 / 5 + 2 samples (vm_history.h).
TEST(VmHistory, WindowsAndHistoryBoundAtOtherIntervals) {
  for (const std::uint64_t interval_ms : {1000u, 2500u, 3000u, 4000u, 500u}) {
    VmHistory h;
    std::uint64_t host_rx = 0;
    VmDerived d;
    std::size_t max_samples = 0;
    const std::uint64_t steps = 4000 * 1000 / interval_ms;
    for (std::uint64_t k = 0; k <= steps; k++) {
      d = one(h, vm("a", {iface(3, host_rx, 0)}), kSec + k * interval_ms * 1'000'000ull);
      host_rx += interval_ms;  // 1000 bytes sent per second
      max_samples = std::max(max_samples, h.samples());
    }
    for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
      EXPECT_GE(d.tx_window[w], kWindowSeconds[w] * 1000) << kWindowNames[w] << " " << interval_ms;
      EXPECT_LE(d.tx_window[w], (kWindowSeconds[w] + 5) * 1000)
          << kWindowNames[w] << " " << interval_ms;
    }
    EXPECT_LE(max_samples, 3600 / 5 + 3) << "interval " << interval_ms << " ms";
  }
}

TEST(VmHistory, VmYoungerThanTheWindowHasWindowEqualTotal) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 0)}), 100 * kSec);  // appears idle
  auto d = one(h, vm("a", {iface(3, 4000, 9000)}), 110 * kSec);
  EXPECT_EQ(d.rx_bytes, 9000u);
  EXPECT_EQ(d.tx_bytes, 4000u);
  for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
    EXPECT_EQ(d.rx_window[w], 9000u) << kWindowNames[w];
    EXPECT_EQ(d.tx_window[w], 4000u) << kWindowNames[w];
  }
  // After 40 s idle the 30 s window is empty, the 1 m window still has it.
  one(h, vm("a", {iface(3, 4000, 9000)}), 130 * kSec);
  d = one(h, vm("a", {iface(3, 4000, 9000)}), 150 * kSec);
  EXPECT_EQ(d.rx_window[0], 0u);
  EXPECT_EQ(d.rx_window[1], 9000u);
}

TEST(VmHistory, ResetWindowsKeepsTotals) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 0)}), 100 * kSec);
  one(h, vm("a", {iface(3, 10, 20)}), 110 * kSec);
  h.reset_windows();
  auto d = one(h, vm("a", {iface(3, 15, 20)}), 111 * kSec);
  EXPECT_EQ(d.rx_bytes, 20u);
  EXPECT_EQ(d.tx_bytes, 15u);
  EXPECT_EQ(d.rx_window[0], 0u);
  EXPECT_EQ(d.tx_window[0], 5u);
}

Vm cpu_vm(std::uint64_t cpu_ns, unsigned vcpus = 2) {
  Vm v = vm("c");
  v.cpu_time_ns = cpu_ns;
  v.vcpus = vcpus;
  return v;
}

TEST(VmHistory, CpuPercentClampSuppressionAndTrailingSample) {
  VmHistory h(10.0);
  std::uint64_t t = 50 * kSec, cpu = 7 * kSec;
  EXPECT_FALSE(one(h, cpu_vm(cpu), t).cpu_percent);  // first sight: no rate yet
  // 1 s of CPU over 1 s on 2 vCPUs: 50 %.
  t += kSec, cpu += kSec;
  auto d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 50.0);
  // Drops to 5 %: exported once more (the trailing sample) ...
  t += kSec, cpu += kSec / 10;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 5.0);
  // ... then suppressed while below --cpu.min.
  for (int i = 0; i < 3; i++) {
    t += kSec, cpu += kSec / 10;
    EXPECT_FALSE(one(h, cpu_vm(cpu), t).cpu_percent);
  }
  // Exactly at the minimum: exported.
  t += kSec, cpu += kSec / 5;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 10.0);
  // More CPU time than wall time x vCPUs (accounting skew): clamped to 100.
  t += kSec, cpu += 5 * kSec;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 100.0);
  // CPU time went backwards (the domain restarted): no value this time, rate resumes next time.
  t += kSec;
  EXPECT_FALSE(one(h, cpu_vm(kSec), t).cpu_percent);
  t += kSec;
  d = one(h, cpu_vm(kSec + kSec), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 50.0);
  // No vCPU count or no CPU time: nothing.
  t += kSec;
  EXPECT_FALSE(one(h, cpu_vm(3 * kSec, 0), t).cpu_percent);
  Vm nocpu = vm("c");
  nocpu.vcpus = 2;
  t += kSec;
  EXPECT_FALSE(one(h, nocpu, t).cpu_percent);
}

TEST(VmHistory, CpuMinZeroExportsIdle) {
  VmHistory h(0.0);
  one(h, cpu_vm(0), kSec);
  auto d = one(h, cpu_vm(0), 2 * kSec);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 0.0);
}

TEST(VmHistory, GoneVmsAreForgottenAndComeBackFresh) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 100)}), kSec);
  EXPECT_EQ(h.tracked(), 1u);
  h.update({}, 2 * kSec);
  EXPECT_EQ(h.tracked(), 0u);
  EXPECT_EQ(h.samples(), 0u);
  // Back with the same key: counted from its interfaces again, no stale windows.
  auto d = one(h, vm("a", {iface(3, 0, 130)}), 3 * kSec);
  EXPECT_EQ(d.rx_bytes, 130u);
  EXPECT_EQ(d.rx_window[0], 0u);
}

TEST(VmHistory, StateIsBoundedUnderChurn) {
  VmHistory h;
  const Vm stay = vm("stay", {iface(1, 10, 10)});
  std::size_t max_tracked = 0, max_samples = 0;
  for (std::uint64_t cycle = 0; cycle < 10000; cycle++) {
    std::vector<Vm> vms = {stay};
    for (int k = 0; k < 3; k++) {
      Vm v = vm("churn-" + std::to_string(cycle) + "-" + std::to_string(k),
                {iface(100 + k, cycle, cycle)});
      v.cpu_time_ns = cycle * kSec;
      v.vcpus = 1;
      vms.push_back(std::move(v));
    }
    const auto d = h.update(vms, (cycle + 1) * kSec);
    ASSERT_EQ(d.size(), vms.size());
    max_tracked = std::max(max_tracked, h.tracked());
    max_samples = std::max(max_samples, h.samples());
  }
  EXPECT_EQ(max_tracked, 4u);
  EXPECT_LE(max_samples, 3600 / 5 + 3 + 3);  // the long-lived VM's history + one per new VM
  h.update({}, 20000 * kSec);
  EXPECT_EQ(h.tracked(), 0u);
}

}  // namespace
