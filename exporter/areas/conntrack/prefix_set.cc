#include "areas/conntrack/prefix_set.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

namespace hostflow::exporter {
namespace {

std::uint32_t v4(const IpAddr& a) {
  return (std::uint32_t{a.b[0]} << 24) | (std::uint32_t{a.b[1]} << 16) |
         (std::uint32_t{a.b[2]} << 8) | a.b[3];
}
unsigned __int128 v6(const IpAddr& a) {
  unsigned __int128 x = 0;
  for (int i = 0; i < 16; i++) x = (x << 8) | a.b[i];
  return x;
}
void clear_host_bits(IpAddr* a, unsigned len) {
  const unsigned bits = a->family == 4 ? 32 : 128;
  for (unsigned i = len; i < bits; i++)
    a->b[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const unsigned max = ip->family == 4 ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    const std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || p != l.data() + l.size() || len > max)
      return std::nullopt;
  }
  clear_host_bits(&*ip, len);
  return Cidr{*ip, static_cast<std::uint8_t>(len)};
}

std::string format_cidr(const Cidr& c) {
  return c.ip.str() + "/" + std::to_string(c.len);
}

PrefixSet::PrefixSet(std::vector<Cidr> prefixes) : prefixes_(std::move(prefixes)) {
  std::sort(prefixes_.begin(), prefixes_.end(), [](const Cidr& a, const Cidr& b) {
    return a.ip < b.ip || (a.ip == b.ip && a.len < b.len);
  });
  prefixes_.erase(
      std::unique(prefixes_.begin(), prefixes_.end(),
                  [](const Cidr& a, const Cidr& b) { return a.ip == b.ip && a.len == b.len; }),
      prefixes_.end());
  entries_ = prefixes_.size();
  for (const Cidr& c : prefixes_) {
    if (c.ip.family == 4) {
      const std::uint32_t lo = v4(c.ip);
      const std::uint32_t hi = c.len >= 32 ? lo : lo | (0xffffffffu >> c.len);  // no shift by 32
      v4_.push_back({lo, hi});
    } else {
      const unsigned __int128 lo = v6(c.ip);
      const unsigned __int128 all = ~static_cast<unsigned __int128>(0);
      const unsigned __int128 hi = c.len >= 128 ? lo : lo | (all >> c.len);
      v6_.push_back({lo, hi});
    }
  }
  // Sorted by lo already (prefixes_ is sorted by address); merge overlapping and adjacent ranges.
  auto merge = [](auto& v) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < v.size(); i++) {
      if (w > 0 && v[i].lo <= v[w - 1].hi) {  // overlap (a prefix inside another, or the same)
        v[w - 1].hi = std::max(v[w - 1].hi, v[i].hi);
      } else {
        v[w++] = v[i];
      }
    }
    v.resize(w);
  };
  merge(v4_);
  merge(v6_);
  v4_idx_.assign(65537, static_cast<std::uint32_t>(v4_.size()));
  std::size_t r = 0;
  for (std::uint32_t k = 0; k <= 65536; k++) {
    while (r < v4_.size() && (v4_[r].hi >> 16) < k) r++;
    v4_idx_[k] = static_cast<std::uint32_t>(r);
  }
}

bool PrefixSet::contains(const IpAddr& ip) const {
  auto find = [](const auto& v, auto x) {
    // The last range with lo <= x.
    auto it =
        std::upper_bound(v.begin(), v.end(), x, [](auto val, const auto& r) { return val < r.lo; });
    return it != v.begin() && x <= std::prev(it)->hi;
  };
  if (ip.family == 4) {
    if (v4_.empty()) return false;
    const std::uint32_t x = v4(ip);
    // Ranges before v4_idx_[k] end below this /16; the one holding x (the first with hi >= x) is
    // at most one past the block of ranges ending inside it.
    const std::uint32_t k = x >> 16;
    const auto begin = v4_.begin() + v4_idx_[k];
    const auto end = v4_.begin() + std::min<std::size_t>(v4_idx_[k + 1] + 1, v4_.size());
    auto it =
        std::lower_bound(begin, end, x, [](const R4& r, std::uint32_t val) { return r.hi < val; });
    return it != end && it->lo <= x;
  }
  if (ip.family == 6) return find(v6_, v6(ip));
  return false;
}

namespace {

// Sweeps every set's ranges (start: set the bit, one past the end: clear it) into elementary
// ranges, merging neighbours with equal masks. E is {start, mask id}; `masks` collects the
// distinct masks.
template <class E, class Ranges>
std::vector<E> sweep(const std::vector<const Ranges*>& per_set, std::vector<std::uint64_t>* masks) {
  using T = decltype(E::start);
  struct Event {
    T at;
    bool set;
    std::uint8_t bit;
  };
  std::vector<Event> ev;
  for (std::size_t i = 0; i < per_set.size(); i++) {
    for (const auto& r : *per_set[i]) {
      ev.push_back({r.lo, true, static_cast<std::uint8_t>(i)});
      if (r.hi != static_cast<T>(~T{0}))
        ev.push_back({static_cast<T>(r.hi + 1), false, static_cast<std::uint8_t>(i)});
    }
  }
  // At one address, clears before sets: one range of a set may end where its next begins.
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && !a.set && b.set);
  });
  std::unordered_map<std::uint64_t, std::uint32_t> ids;
  auto id_of = [&](std::uint64_t m) {
    auto [it, fresh] = ids.try_emplace(m, static_cast<std::uint32_t>(masks->size()));
    if (fresh) masks->push_back(m);
    return it->second;
  };
  std::vector<E> out{E{T{0}, id_of(0)}};
  std::uint64_t m = 0, last = 0;
  for (std::size_t i = 0; i < ev.size();) {
    const T at = ev[i].at;
    for (; i < ev.size() && ev[i].at == at; i++) {
      if (ev[i].set)
        m |= std::uint64_t{1} << ev[i].bit;
      else
        m &= ~(std::uint64_t{1} << ev[i].bit);
    }
    if (m == last) continue;
    last = m;
    if (out.back().start == at)
      out.back().mask = id_of(m);  // only at address 0
    else
      out.push_back(E{at, id_of(m)});
  }
  return out;
}

}  // namespace

PrefixSets::PrefixSets(const std::vector<const PrefixSet*>& sets) {
  std::vector<const std::vector<PrefixSet::R4>*> v4;
  std::vector<const std::vector<PrefixSet::R6>*> v6;
  for (std::size_t i = 0; i < sets.size() && i < kMaxSets; i++) {
    v4.push_back(&sets[i]->v4_ranges());
    v6.push_back(&sets[i]->v6_ranges());
  }
  v4_ = sweep<E4>(v4, &masks_);
  v6_ = sweep<E6>(v6, &masks_);
  v4_idx_.resize(65537);
  std::size_t r = 0;
  for (std::uint64_t k = 0; k <= 65536; k++) {
    const std::uint64_t at = k << 16;
    while (r + 1 < v4_.size() && v4_[r + 1].start <= at) r++;
    v4_idx_[k] = static_cast<std::uint32_t>(r);
  }
}

std::uint64_t PrefixSets::lookup(const IpAddr& ip) const {
  if (ip.family == 4) {
    if (v4_.empty()) return 0;
    const std::uint32_t x = v4(ip);
    const std::uint32_t k = x >> 16;
    // The range holding x is between the ones holding k << 16 and (k + 1) << 16.
    const auto b = v4_.begin() + v4_idx_[k] + 1;
    const auto e = v4_.begin() + v4_idx_[k + 1] + 1;
    const auto it =
        std::upper_bound(b, e, x, [](std::uint32_t v, const E4& r) { return v < r.start; });
    return masks_[std::prev(it)->mask];
  }
  if (ip.family == 6) {
    if (v6_.empty()) return 0;
    const unsigned __int128 x = v6(ip);
    const auto it = std::upper_bound(v6_.begin(), v6_.end(), x,
                                     [](unsigned __int128 v, const E6& r) { return v < r.start; });
    return masks_[std::prev(it)->mask];
  }
  return 0;
}

}  // namespace hostflow::exporter
