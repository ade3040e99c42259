// The exporter's model of the TC counter sections (kBpfCounters, kBpfAttach): one entry per
// interface the sampler's bpf source selected, names sanitised and unique, and the rates between
// two snapshots (TcRates keeps the previous counters). Pure: built from a validated Snapshot.
// Runs in hostflow-exporter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hostflow/shm/snapshot.h"

namespace hostflow::exporter {

struct TcInterface {
  std::int32_t ifindex = 0;
  std::string name;  // label value: sanitised, unique
  bool attached = false;
  std::int32_t attach_errno = 0;
  std::uint64_t attached_real_ns = 0;
  std::uint64_t packets[2] = {}, bytes[2] = {};  // [0] ingress, [1] egress (host view)
  // Per second between the previous snapshot and this one (same attachment only).
  bool has_rate = false;
  double packets_rate[2] = {}, bytes_rate[2] = {};
  bool active = false;  // counters moved since the previous snapshot
};

struct TcModel {
  bool present = false;                 // the snapshot has the bpf sections (the bpf source ran)
  std::vector<TcInterface> interfaces;  // sorted by name
  shm::BpfAttachRecord attach{};
  std::uint64_t invalid_records = 0;  // bad state, duplicate ifindex, or extra kBpfAttach records
};

TcModel build_tc_model(const shm::Snapshot& snap);

// Rates and activity between consecutive snapshots. State: one entry per interface seen in the
// previous snapshot (bounded by the sampler's interface count).
class TcRates {
 public:
  void update(TcModel& m, std::uint64_t publish_mono_ns);
  std::size_t size() const { return prev_.size(); }

 private:
  struct Prev {
    std::uint64_t attached_real_ns = 0;
    std::uint64_t packets[2] = {}, bytes[2] = {};
  };
  std::map<std::int32_t, Prev> prev_;
  std::uint64_t prev_mono_ns_ = 0;
};

}  // namespace hostflow::exporter
