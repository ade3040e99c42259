// PrefixSet: a set of IPv4 and IPv6 CIDR prefixes (a threat list), stored as sorted, merged,
// disjoint address ranges per family; contains() is a binary search (100,000 prefixes: ~17 steps).
// Immutable once built; shared between the feed thread and the pipeline by shared_ptr.
// hostflow-exporter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "identity/addresses.h"

namespace hostflow::exporter {

struct Cidr {
  IpAddr ip;  // host bits cleared
  std::uint8_t len = 0;
};
// "10.0.0.0/8", "10.1.2.3" (/32), "2001:db8::/32", "2001:db8::1" (/128); nullopt otherwise.
std::optional<Cidr> parse_cidr(std::string_view text);
std::string format_cidr(const Cidr& c);

class PrefixSet {
 public:
  struct R4 {
    std::uint32_t lo, hi;
  };
  struct R6 {
    unsigned __int128 lo, hi;
  };
  PrefixSet() = default;
  explicit PrefixSet(std::vector<Cidr> prefixes);
  bool contains(const IpAddr& ip) const;
  std::size_t entries() const { return entries_; }  // prefixes it was built from (deduplicated)
  std::size_t ranges() const { return v4_.size() + v6_.size(); }
  const std::vector<Cidr>& prefixes() const { return prefixes_; }
  // Sorted, disjoint, inclusive ranges (adjacent ones may touch).
  const std::vector<R4>& v4_ranges() const { return v4_; }
  const std::vector<R6>& v6_ranges() const { return v6_; }

 private:
  std::vector<R4> v4_;
  // v4_idx_[k]: the first IPv4 range whose end has top 16 bits >= k (65537 entries), so a lookup
  // searches only the ranges that can hold the address's /16.
  std::vector<std::uint32_t> v4_idx_;
  std::vector<R6> v6_;
  std::vector<Cidr> prefixes_;  // sorted, unique: what the disk cache stores
  std::size_t entries_ = 0;
};

// Up to 64 PrefixSets merged into one table of elementary ranges, each with the bit mask of the
// sets that hold it: one lookup answers "which lists contain this address" (threat matching
// asks it for every remote of every workload flow). Built when the lists change, not per
// snapshot. Sets past the 64th are not in the table: lookup() never reports them.
class PrefixSets {
 public:
  static constexpr std::size_t kMaxSets = 64;
  PrefixSets() = default;
  explicit PrefixSets(const std::vector<const PrefixSet*>& sets);
  std::uint64_t lookup(const IpAddr& ip) const;  // bit i: sets[i] contains ip

 private:
  // Range i is [start, next start) with masks_[mask]; the first starts at 0. Start and mask id
  // side by side: a lookup in a table larger than the cache costs one miss, not two.
  struct E4 {
    std::uint32_t start, mask;
  };
  struct E6 {
    unsigned __int128 start;
    std::uint32_t mask;
  };
  std::vector<E4> v4_;
  std::vector<std::uint32_t> v4_idx_;  // v4_idx_[k]: the range holding address k << 16
  std::vector<E6> v6_;
  std::vector<std::uint64_t> masks_;  // distinct masks (few: combinations of lists that overlap)
};

}  // namespace hostflow::exporter
