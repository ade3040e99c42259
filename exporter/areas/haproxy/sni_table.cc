#include "areas/haproxy/sni_table.h"

#include <algorithm>

namespace hostflow::exporter {

SniTable::SniTable(std::size_t limit) : limit_(limit) {
  tracked_.reserve(limit_);
}

void SniTable::add(SniKind kind, std::string_view name, std::uint64_t bytes_in,
                   std::uint64_t bytes_out) {
  SniCounters c{1, bytes_in == 0 && bytes_out == 0 ? 1u : 0u, bytes_in, bytes_out};
  if (kind == SniKind::kNone) return none.add(c);
  if (kind == SniKind::kInvalid) return invalid.add(c);
  const std::uint64_t weight = saturating_add(saturating_add(bytes_in, bytes_out), 1);
  if (auto it = tracked_.find(name); it != tracked_.end()) {
    it->second.c.add(c);
    it->second.recent = saturating_add(it->second.recent, weight);
    return;
  }
  if (tracked_.size() < limit_) {
    tracked_.emplace(std::string(name), Tracked{c, weight});
    return;
  }
  other.add(c);
  folded_connections++;
  if (auto it = candidates_.find(name); it != candidates_.end()) {
    it->second = saturating_add(it->second, weight);
    return;
  }
  if (candidates_.size() >= std::max<std::size_t>(limit_, 1)) forget_light_candidates();
  candidates_.emplace(std::string(name), weight);
}

void SniTable::forget_light_candidates() {
  std::vector<std::uint64_t> w;
  w.reserve(candidates_.size());
  for (const auto& [k, v] : candidates_) w.push_back(v);
  auto mid = w.begin() + static_cast<std::ptrdiff_t>(w.size() / 2);
  std::nth_element(w.begin(), mid, w.end());
  const std::uint64_t median = *mid;
  std::size_t to_drop = candidates_.size() - candidates_.size() / 2;
  // Below the median first, then at it, until half are gone.
  for (int pass = 0; pass < 2 && to_drop > 0; pass++) {
    for (auto it = candidates_.begin(); it != candidates_.end() && to_drop > 0;) {
      if (pass == 0 ? it->second < median : it->second <= median) {
        it = candidates_.erase(it);
        to_drop--;
      } else {
        ++it;
      }
    }
  }
}

std::size_t SniTable::rebalance() {
  std::size_t admitted = 0;
  if (!candidates_.empty() && limit_ > 0) {
    std::vector<std::pair<std::uint64_t, std::string>> cand;
    cand.reserve(candidates_.size());
    for (const auto& [k, v] : candidates_) cand.emplace_back(v, k);
    std::sort(cand.begin(), cand.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::pair<std::uint64_t, std::string>> light;
    light.reserve(tracked_.size());
    for (const auto& [k, t] : tracked_) light.emplace_back(t.recent, k);
    std::sort(light.begin(), light.end());
    std::size_t li = 0;
    for (const auto& [weight, name] : cand) {
      if (tracked_.size() < limit_) {
        tracked_.emplace(name, Tracked{{}, weight});
      } else {
        if (li >= light.size() || weight <= saturating_add(light[li].first, light[li].first)) break;
        auto victim = tracked_.find(light[li++].second);
        other.add(victim->second.c);
        evictions++;
        tracked_.erase(victim);
        tracked_.emplace(name, Tracked{{}, weight});
      }
      candidates_.erase(name);
      admitted++;
    }
  }
  for (auto& [k, t] : tracked_) t.recent /= 2;
  for (auto it = candidates_.begin(); it != candidates_.end();) {
    it->second /= 2;
    it = it->second == 0 ? candidates_.erase(it) : std::next(it);
  }
  return admitted;
}

void SniTable::reset() {
  tracked_.clear();
  candidates_.clear();
  other = none = invalid = SniCounters{};
  folded_connections = evictions = 0;
}

bool SniTable::restore(std::string name, const SniCounters& c) {
  if (tracked_.size() >= limit_) return false;
  tracked_[std::move(name)].c = c;
  return true;
}

}  // namespace hostflow::exporter
