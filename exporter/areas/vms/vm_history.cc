#include "areas/vms/vm_history.h"

#include <algorithm>

namespace hostflow::exporter {
namespace {
// Samples closer together than this are merged, which bounds a VM's history to about
// 3600 / 5 + 2 samples whatever the sampler interval. A window therefore covers between W and
// W + 5 s of history (exactly W at the default 5 s interval).
constexpr std::uint64_t kSampleSpacingNs = 5'000'000'000ull;
constexpr std::uint64_t kKeepNs = 3600'000'000'000ull + kSampleSpacingNs;

// A counter that went backwards was reset (interface recreated): count from zero again.
std::uint64_t delta(std::uint64_t now, std::uint64_t last) {
  return now >= last ? now - last : now;
}
}  // namespace

std::vector<VmDerived> VmHistory::update(const std::vector<Vm>& vms, std::uint64_t now) {
  std::vector<VmDerived> out(vms.size());
  std::map<std::string, State> next;
  for (std::size_t k = 0; k < vms.size(); k++) {
    const Vm& vm = vms[k];
    auto it = state_.find(vm.key);
    State s = it == state_.end() ? State{} : std::move(it->second);
    const bool fresh = it == state_.end();
    std::map<std::pair<std::uint64_t, std::int32_t>, Iface> ifaces;
    for (const VmInterface& i : vm.interfaces) {
      // The VM's view: a tap's host rx is what the guest sent; macvtap is already the guest's.
      Iface now_if;
      now_if.rx_bytes = i.guest_view ? i.stats.rx_bytes : i.stats.tx_bytes;
      now_if.tx_bytes = i.guest_view ? i.stats.tx_bytes : i.stats.rx_bytes;
      now_if.rx_packets = i.guest_view ? i.stats.rx_packets : i.stats.tx_packets;
      now_if.tx_packets = i.guest_view ? i.stats.tx_packets : i.stats.rx_packets;
      const auto key = std::make_pair(i.netns, i.ifindex);
      auto last = s.ifaces.find(key);
      if (last == s.ifaces.end()) {
        // First sight of this interface: its whole life counts.
        s.rx += now_if.rx_bytes;
        s.tx += now_if.tx_bytes;
        s.rxp += now_if.rx_packets;
        s.txp += now_if.tx_packets;
      } else {
        s.rx += delta(now_if.rx_bytes, last->second.rx_bytes);
        s.tx += delta(now_if.tx_bytes, last->second.tx_bytes);
        s.rxp += delta(now_if.rx_packets, last->second.rx_packets);
        s.txp += delta(now_if.tx_packets, last->second.tx_packets);
      }
      ifaces[key] = now_if;
    }
    s.ifaces = std::move(ifaces);

    // The newest sample always moves to `now`; it is kept as a separate sample only once it is
    // kSampleSpacingNs newer than the one before it.
    // (Measured between the kept samples, back and the one before it. Measured from `now`, a
    // sample was kept every interval for intervals of 2.5-5 s: up to twice the bound above.)
    const std::size_t n = s.samples.size();
    if (n >= 2 &&
        s.samples[n - 1].t - std::min(s.samples[n - 1].t, s.samples[n - 2].t) < kSampleSpacingNs) {
      s.samples.back() = Sample{now, s.rx, s.tx};
    } else {
      s.samples.push_back(Sample{now, s.rx, s.tx});
    }
    while (s.samples.size() > 2 && now - s.samples[1].t > kKeepNs) s.samples.pop_front();

    VmDerived& d = out[k];
    d.rx_bytes = s.rx;
    d.tx_bytes = s.tx;
    d.rx_packets = s.rxp;
    d.tx_packets = s.txp;
    for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
      const std::uint64_t span = kWindowSeconds[w] * 1'000'000'000ull;
      // The newest sample at least `span` old; the oldest one if history is shorter.
      const Sample* base = &s.samples.front();
      for (const Sample& smp : s.samples) {
        if (now - std::min(now, smp.t) >= span)
          base = &smp;
        else
          break;
      }
      d.rx_window[w] = s.rx - base->rx;
      d.tx_window[w] = s.tx - base->tx;
    }

    // CPU percent: cpu.time delta over wall time and vCPUs, clamped to 0..100; exported at or
    // above cpu.min, plus one trailing sample when it drops below.
    if (vm.cpu_time_ns && vm.vcpus > 0) {
      if (!fresh && s.cpu_time && s.cpu_t && now > *s.cpu_t && *vm.cpu_time_ns >= *s.cpu_time) {
        const double pct = static_cast<double>(*vm.cpu_time_ns - *s.cpu_time) /
                           static_cast<double>(now - *s.cpu_t) / vm.vcpus * 100.0;
        const double clamped = std::clamp(pct, 0.0, 100.0);
        if (clamped >= cpu_min_) {
          d.cpu_percent = clamped;
          s.cpu_exported_last = true;
        } else if (s.cpu_exported_last) {
          d.cpu_percent = clamped;  // the trailing sample
          s.cpu_exported_last = false;
        }
      }
      s.cpu_time = vm.cpu_time_ns;
      s.cpu_t = now;
    }
    next.emplace(vm.key, std::move(s));
  }
  state_ = std::move(next);  // VMs that are gone are forgotten
  return out;
}

void VmHistory::reset_windows() {
  for (auto& [key, s] : state_) {
    if (s.samples.empty()) continue;
    const Sample last = s.samples.back();
    s.samples.clear();
    s.samples.push_back(last);
  }
}

std::size_t VmHistory::samples() const {
  std::size_t n = 0;
  for (const auto& [key, s] : state_) n += s.samples.size();
  return n;
}

}  // namespace hostflow::exporter
