// Per-SNI traffic counters with memory bounded by --haproxy.sni-limit, whose totals stay exact.
// hostflow-exporter, poll thread only (not thread-safe).
//
// Semantics (docs/haproxy.md repeats them for operators):
//  - At most `limit` SNIs are *tracked*: each has exact counters since it was admitted. A new
//    valid SNI is admitted while fewer than `limit` are tracked.
//  - Traffic of a valid SNI that is not tracked goes to the overflow counters ("<other>") at
//    once, and the SNI is remembered as a *candidate* with an estimated recent weight
//    (bytes in + bytes out + 1 per connection). At most `limit` candidates are kept; when the
//    table is full the lighter half is forgotten (their traffic is already in "<other>").
//  - rebalance() (once per render) admits a candidate whose recent weight is more than twice
//    that of the lightest tracked SNI, evicting that one: the evicted SNI's counters are added to
//    "<other>" and the admitted SNI starts at zero (its earlier traffic is already in "<other>").
//    Recent weights then halve (exponential decay), so "busiest" means busiest lately.
//  - Lines without an SNI go to "<none>", SNIs that are no host name to "<invalid>".
// So for every counter: sum over tracked SNIs + <other> + <none> + <invalid> = the sum over all
// counted lines since the last reset, exactly; and every exported counter only grows (until reset).
// Additions saturate: a counter that would pass 2^64-1 stays at 2^64-1 (the exact sum above then
// no longer holds for it), it never wraps to a smaller value. Lines claim at most kMaxLineByteCount
// bytes each way (haproxy_line.h), so real traffic is far from that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "areas/haproxy/haproxy_line.h"

namespace hostflow::exporter {

// a + b, or 2^64-1 when that would wrap.
inline std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

struct SniCounters {
  std::uint64_t connections = 0, zero_byte_connections = 0, bytes_in = 0, bytes_out = 0;
  // Saturating: a counter never wraps (see above).
  void add(const SniCounters& o) {
    connections = saturating_add(connections, o.connections);
    zero_byte_connections = saturating_add(zero_byte_connections, o.zero_byte_connections);
    bytes_in = saturating_add(bytes_in, o.bytes_in);
    bytes_out = saturating_add(bytes_out, o.bytes_out);
  }
  bool operator==(const SniCounters&) const = default;
};

class SniTable {
 public:
  explicit SniTable(std::size_t limit);

  // One connection (one log line). `name` is normalised (normalise_sni) when kind is kValid.
  void add(SniKind kind, std::string_view name, std::uint64_t bytes_in, std::uint64_t bytes_out);
  // See above; returns how many SNIs were admitted.
  std::size_t rebalance();
  void reset();

  std::size_t limit() const { return limit_; }
  struct Tracked {
    SniCounters c;
    std::uint64_t recent = 0;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TrackedMap = std::unordered_map<std::string, Tracked, Hash, std::equal_to<>>;
  const TrackedMap& tracked() const { return tracked_; }
  std::size_t candidates() const { return candidates_.size(); }

  SniCounters other, none, invalid;
  std::uint64_t folded_connections = 0;  // connections counted in <other> when they were read
  std::uint64_t evictions = 0;           // tracked SNIs whose counters moved to <other>

  // Restores a tracked entry (checkpoint load); false when the table is full.
  bool restore(std::string name, const SniCounters& c);

 private:
  void forget_light_candidates();

  std::size_t limit_;
  TrackedMap tracked_;
  std::unordered_map<std::string, std::uint64_t, Hash, std::equal_to<>> candidates_;
};

}  // namespace hostflow::exporter
