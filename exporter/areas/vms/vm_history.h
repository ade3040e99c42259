// VmHistory: what the exporter remembers about VMs between snapshots. Per VM: network totals from
// the VM's view made monotonic across interface resets and removals, samples for the 30s / 1m /
// 5m / 15m / 1h windows, and the CPU-time sample for the CPU percent with its suppression state.
// State of VMs absent from a snapshot is dropped, so memory follows the VM count, not the churn.
// hostflow-exporter, poll thread only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "identity/vms.h"

namespace hostflow::exporter {

inline constexpr std::array<std::uint64_t, 5> kWindowSeconds = {30, 60, 300, 900, 3600};
inline constexpr std::array<const char*, 5> kWindowNames = {"30s", "1m", "5m", "15m", "1h"};

struct VmDerived {
  std::uint64_t rx_bytes = 0, tx_bytes = 0;      // VM view, since the exporter first saw the VM's
  std::uint64_t rx_packets = 0, tx_packets = 0;  // interfaces (initialised with their counters)
  std::array<std::uint64_t, 5> rx_window{}, tx_window{};
  std::optional<double>
      cpu_percent;  // set only when it is to be exported (>= cpu.min, or trailing)
};

class VmHistory {
 public:
  explicit VmHistory(double cpu_min = 10.0) : cpu_min_(cpu_min) {}
  // Updates state from this snapshot's VMs (taken at `mono_ns`) and returns one VmDerived per VM,
  // in the same order.
  std::vector<VmDerived> update(const std::vector<Vm>& vms, std::uint64_t mono_ns);
  // Forgets the windows (POST /reset); totals and CPU state are kept.
  void reset_windows();
  std::size_t tracked() const { return state_.size(); }
  std::size_t samples() const;

 private:
  struct Iface {
    std::uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;  // VM view, last
  };
  struct Sample {
    std::uint64_t t, rx, tx;
  };
  struct State {
    std::map<std::pair<std::uint64_t, std::int32_t>, Iface> ifaces;
    std::uint64_t rx = 0, tx = 0, rxp = 0, txp = 0;
    std::deque<Sample> samples;
    std::optional<std::uint64_t> cpu_time, cpu_t;
    bool cpu_exported_last = false;
  };
  double cpu_min_;
  std::map<std::string, State> state_;
};

}  // namespace hostflow::exporter
