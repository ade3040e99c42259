// The neutral metric model between areas and outputs. An area emits families (name, help, type,
// unit, label names once per family, samples) into a FamilySet; output writers (outputs/) read
// the set and never an area. Label values of a family's samples are packed in one buffer: a
// sample costs its label bytes, a few offsets and a double, not a vector of name/value strings.
// A FamilySet refuses a second family of one name and a second series of one name + label
// values (the first one added is kept), counting every refusal in a process-wide self-metric
// (hostflow_exporter_refused_series_total) and logging the first refusal of each family, so no
// output can carry a duplicate. Pure, single-threaded per set. hostflow-exporter, poll thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter::metrics {

enum class Type : std::uint8_t { kCounter, kGauge, kUntyped };
std::string_view type_name(Type t);  // "counter", "gauge", "untyped"
// The unit a Prometheus name's suffix states: "..._bytes[_total]" -> "bytes", "_seconds" ->
// "seconds", "_percent" -> "percent"; "" otherwise (also for *_per_second rates).
std::string_view unit_of(std::string_view name);

struct Label {
  std::string name;
  std::string value;
};
using Labels = std::vector<Label>;

class Family {
 public:
  // `unit`: the OpenMetrics/OTLP unit of the values ("bytes", "seconds", "" for none); empty:
  // taken from the name's suffix (unit_of). The Prometheus text writer does not print it (the
  // name carries it).
  Family(std::string name, std::string help, Type type, std::string unit = "");

  // A sample. The first sample fixes the family's label names (and their order); a later sample
  // whose names differ is refused and counted like a duplicate.
  Family& add(const Labels& labels, double value);
  Family& add(double value) { return add(Labels{}, value); }
  // A sample by label values, in the order of label_names() (set_label_names() or the first
  // add()); a count that differs is refused and counted.
  Family& add_values(std::initializer_list<std::string_view> values, double value);
  void set_label_names(std::vector<std::string> names);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::string& unit() const { return unit_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  std::size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  double value(std::size_t sample) const { return values_[sample]; }
  std::string_view label_value(std::size_t sample, std::size_t label) const {
    const std::size_t i = sample * label_names_.size() + label;
    const std::uint32_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(arena_).substr(begin, ends_[i] - begin);
  }
  // Bytes of every label value of every sample (what an output copies, before escaping).
  std::size_t label_bytes() const { return arena_.size(); }
  // Bytes of one sample's label values.
  std::size_t sample_label_bytes(std::size_t sample) const;
  // Samples refused by add() (label names that differ from the family's).
  std::uint64_t mismatched() const { return mismatched_; }

  // Drops every later sample whose label values equal an earlier one's; returns how many.
  std::size_t drop_duplicate_series();
  // Appends `other`'s samples (same label names; else they are refused).
  void append(const Family& other);
  // Releases spare capacity (families are kept for the life of a rendering).
  void shrink();

 private:
  bool accept_names(const Labels& labels);
  void push_value(std::string_view v);

  std::string name_, help_, unit_;
  Type type_;
  std::vector<std::string> label_names_;
  bool names_fixed_ = false;
  std::string arena_;                // label values, back to back
  std::vector<std::uint32_t> ends_;  // end offset in arena_ of each label value (size * labels)
  std::vector<double> values_;
  std::uint64_t mismatched_ = 0;
};

// An ordered set of families: what one rendering (or one scrape's tail) consists of.
class FamilySet {
 public:
  // Adds `f` after refusing its duplicate series; a family whose name is already in the set is
  // refused whole (its samples counted).
  void add(Family f);
  // Moves `other`'s families to the end of this set, through add() (a name already here is
  // refused whole); `other` is left empty.
  void merge(FamilySet&& other);
  const std::vector<Family>& families() const { return families_; }
  // Removes the families from index `first` on whose name `keep` rejects, counting their
  // samples as refused (the pipeline: a family outside its area's prefixes).
  template <class Pred>
  std::size_t refuse_from(std::size_t first, Pred keep, const char* why);
  std::size_t samples() const { return samples_; }
  std::uint64_t refused() const { return refused_; }  // series this set refused

 private:
  std::vector<Family> families_;
  std::size_t samples_ = 0;
  std::uint64_t refused_ = 0;
};

// Counts `n` refused series of `family` (and logs the first refusal of that family).
void count_refused(const std::string& family, std::uint64_t n, const char* why);

template <class Pred>
std::size_t FamilySet::refuse_from(std::size_t first, Pred keep, const char* why) {
  std::size_t removed = 0;
  for (std::size_t i = first; i < families_.size();) {
    if (keep(families_[i].name())) {
      i++;
      continue;
    }
    const std::uint64_t n = families_[i].size();
    count_refused(families_[i].name(), n, why);
    refused_ += n;
    samples_ -= n;
    families_.erase(families_.begin() + static_cast<std::ptrdiff_t>(i));
    removed++;
  }
  return removed;
}

// Series refused by every FamilySet of this process (the self-metric).
std::uint64_t refused_series_total();

// True when `name` starts with one of `prefixes` (space-separated): the registry rows' prefix
// lists (areas/registry.cc, compat/registry.cc).
bool has_listed_prefix(std::string_view prefixes, std::string_view name);

}  // namespace hostflow::exporter::metrics
