#include "metrics/family.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <numeric>
#include <set>

#include "hostflow/common/log.h"

namespace hostflow::exporter::metrics {

namespace {

std::atomic<std::uint64_t> g_refused{0};

// The first refusal of each family name is logged (bounded: a name set of at most 64).
void note_refusal(const std::string& family, std::uint64_t n, const char* why) {
  if (n == 0) return;
  g_refused += n;
  static std::mutex mu;
  static std::set<std::string> logged;
  std::lock_guard<std::mutex> lock(mu);
  if (logged.size() >= 64 || !logged.insert(family).second) return;
  log::warn("metric series refused",
            {{"family", family}, {"reason", why}, {"count", std::to_string(n)}});
}

std::uint64_t hash_of(const std::string& arena, const std::uint32_t* ends, std::size_t n,
                      std::uint32_t begin) {
  // The sample's label bytes at once (libstdc++'s string hash), then each value's length, so
  // that ("ab", "c") and ("a", "bc") differ.
  const std::uint32_t end = n ? ends[n - 1] : begin;
  std::uint64_t h =
      std::hash<std::string_view>{}(std::string_view(arena).substr(begin, end - begin));
  for (std::size_t j = 0; j < n; j++) {
    h ^= ends[j] - begin + 0x9e37u;
    h *= 0x9e3779b97f4a7c15ull;
    begin = ends[j];
  }
  return h ^ (h >> 29);
}

}  // namespace

std::string_view type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    default:
      return "untyped";
  }
}

std::uint64_t refused_series_total() {
  return g_refused.load();
}

void count_refused(const std::string& family, std::uint64_t n, const char* why) {
  note_refusal(family, n, why);
}

std::string_view unit_of(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (name.size() > 6 && name.substr(name.size() - 6) == "_total") name.remove_suffix(6);
  if (ends("_bytes_per_second") || ends("_packets_per_second")) return "";  // a rate of a count
  if (ends("_bytes")) return "bytes";
  if (ends("_seconds")) return "seconds";
  if (ends("_percent")) return "percent";
  return "";
}

Family::Family(std::string name, std::string help, Type type, std::string unit)
    : name_(std::move(name)),
      help_(std::move(help)),
      unit_(unit.empty() ? std::string(unit_of(name_)) : std::move(unit)),
      type_(type) {}

void Family::set_label_names(std::vector<std::string> names) {
  label_names_ = std::move(names);
  names_fixed_ = true;
}

bool Family::accept_names(const Labels& labels) {
  if (!names_fixed_) {
    label_names_.clear();
    for (const Label& l : labels) label_names_.push_back(l.name);
    names_fixed_ = true;
    return true;
  }
  if (labels.size() != label_names_.size()) return false;
  for (std::size_t i = 0; i < labels.size(); i++)
    if (labels[i].name != label_names_[i]) return false;
  return true;
}

void Family::push_value(std::string_view v) {
  arena_.append(v);
  ends_.push_back(static_cast<std::uint32_t>(arena_.size()));
}

Family& Family::add(const Labels& labels, double value) {
  if (!accept_names(labels)) {
    mismatched_++;
    note_refusal(name_, 1, "label names differ from the family's");
    return *this;
  }
  for (const Label& l : labels) push_value(l.value);
  values_.push_back(value);
  return *this;
}

Family& Family::add_values(std::initializer_list<std::string_view> values, double value) {
  if (!names_fixed_) names_fixed_ = true;  // no names given: a family without labels
  if (values.size() != label_names_.size()) {
    mismatched_++;
    note_refusal(name_, 1, "label count differs from the family's");
    return *this;
  }
  for (std::string_view v : values) push_value(v);
  values_.push_back(value);
  return *this;
}

std::size_t Family::sample_label_bytes(std::size_t sample) const {
  const std::size_t L = label_names_.size();
  if (L == 0) return 0;
  const std::uint32_t begin = sample == 0 ? 0 : ends_[sample * L - 1];
  return ends_[sample * L + L - 1] - begin;
}

std::size_t Family::drop_duplicate_series() {
  const std::size_t n = values_.size(), L = label_names_.size();
  if (n < 2) return 0;
  if (L == 0) {  // every sample has the same (empty) label set: keep the first
    const std::size_t dropped = n - 1;
    values_.resize(1);
    return dropped;
  }
  // One pass in insertion order over an open-addressing table of the kept samples: a sample equal
  // to an earlier (kept) one goes. The hash covers the sample's label bytes and each value's
  // length; equal() decides.
  auto equal = [&](std::uint32_t a, std::uint32_t b) {
    for (std::size_t j = 0; j < L; j++)
      if (label_value(a, j) != label_value(b, j)) return false;
    return true;
  };
  std::size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  constexpr std::uint32_t kEmpty = 0xffffffffu;
  std::vector<std::uint32_t> table(cap, kEmpty);
  std::vector<std::uint64_t> hashes(n);
  std::vector<bool> drop(n, false);
  std::size_t dropped = 0;
  for (std::size_t s = 0; s < n; s++) {
    const std::uint32_t begin = s == 0 ? 0 : ends_[s * L - 1];
    hashes[s] = hash_of(arena_, &ends_[s * L], L, begin);
    std::size_t slot = hashes[s] & (cap - 1);
    for (; table[slot] != kEmpty; slot = (slot + 1) & (cap - 1)) {
      const std::uint32_t t = table[slot];
      if (hashes[t] == hashes[s] && equal(t, static_cast<std::uint32_t>(s))) {
        drop[s] = true;
        dropped++;
        break;
      }
    }
    if (!drop[s]) table[slot] = static_cast<std::uint32_t>(s);
  }
  if (dropped == 0) return 0;
  std::string arena;
  std::vector<std::uint32_t> ends;
  std::vector<double> values;
  arena.reserve(arena_.size());
  ends.reserve(ends_.size());
  values.reserve(n - dropped);
  for (std::size_t s = 0; s < n; s++) {
    if (drop[s]) continue;
    for (std::size_t j = 0; j < L; j++) {
      arena.append(label_value(s, j));
      ends.push_back(static_cast<std::uint32_t>(arena.size()));
    }
    values.push_back(values_[s]);
  }
  arena_ = std::move(arena);
  ends_ = std::move(ends);
  values_ = std::move(values);
  return dropped;
}

void Family::append(const Family& other) {
  if (!names_fixed_) set_label_names(other.label_names_);
  if (other.label_names_ != label_names_) {
    mismatched_ += other.size();
    note_refusal(name_, other.size(), "label names differ from the family's");
    return;
  }
  const std::uint32_t base = static_cast<std::uint32_t>(arena_.size());
  arena_ += other.arena_;
  for (std::uint32_t e : other.ends_) ends_.push_back(base + e);
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
}

void Family::shrink() {
  arena_.shrink_to_fit();
  ends_.shrink_to_fit();
  values_.shrink_to_fit();
}

void FamilySet::add(Family f) {
  for (const Family& g : families_) {
    if (g.name() == f.name()) {
      refused_ += f.size();
      note_refusal(f.name(), f.size(), "a second family of this name");
      return;
    }
  }
  const std::size_t dup = f.drop_duplicate_series();
  if (dup) note_refusal(f.name(), dup, "a second series with the same labels");
  refused_ += dup + f.mismatched();
  samples_ += f.size();
  families_.push_back(std::move(f));
}

void FamilySet::merge(FamilySet&& other) {
  refused_ += other.refused_;
  for (Family& f : other.families_) add(std::move(f));
  other = FamilySet();
}

bool has_listed_prefix(std::string_view prefixes, std::string_view name) {
  while (!prefixes.empty()) {
    const std::size_t sp = prefixes.find(' ');
    const std::string_view one = prefixes.substr(0, sp);
    if (!one.empty() && name.substr(0, one.size()) == one) return true;
    if (sp == std::string_view::npos) break;
    prefixes.remove_prefix(sp + 1);
  }
  return false;
}

}  // namespace hostflow::exporter::metrics
