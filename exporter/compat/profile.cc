#include <algorithm>

#include "compat/profile.h"
#include "compat/registry.h"

namespace hostflow::exporter {

NativeFamilies::NativeFamilies(const metrics::FamilySet& set) {
  by_name_.reserve(set.families().size());
  for (const metrics::Family& f : set.families()) by_name_.emplace_back(f.name(), &f);
  std::sort(by_name_.begin(), by_name_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

const metrics::Family* NativeFamilies::find(std::string_view name) const {
  const auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                                   [](const auto& e, std::string_view n) { return e.first < n; });
  return it != by_name_.end() && it->first == name ? it->second : nullptr;
}

Column::Column(const metrics::Family* f, std::string_view label) : f_(f) {
  if (!f) return;
  const auto& names = f->label_names();
  for (std::size_t i = 0; i < names.size(); i++)
    if (names[i] == label) index_ = static_cast<int>(i);
}

std::string_view Column::operator()(std::size_t sample) const {
  return index_ < 0 ? std::string_view{}
                    : f_->label_value(sample, static_cast<std::size_t>(index_));
}

bool profile_owns(const ProfileRow& row, std::string_view family) {
  return metrics::has_listed_prefix(row.prefixes, family);
}

void add_compat_flags(CLI::App& app, CompatConfig& cfg) {
  std::string names;
  for (const ProfileRow& row : profile_table())
    names += (names.empty() ? "" : ", ") + std::string(row.stem);
  app.add_option("--compat", cfg.profiles_text,
                 "also serve these replaced tools' own metric families, exactly as each tool "
                 "names them (comma-separated: " +
                     names + "; docs/compat.md)")
      ->capture_default_str();
  app.add_option("--compat.native", cfg.native,
                 "serve hostflow's own families too (false: only the --compat profiles and the "
                 "exporter's self-metrics)")
      ->capture_default_str();
  app.add_option("--compat.platform.hostname", cfg.platform_hostname,
                 "host_name of --compat=platform's series for this machine (default: the "
                 "exporter's host name at start, as seed 003's gethostname())");
}

Result<void> validate_compat(CompatConfig& cfg) {
  cfg.profiles.clear();
  std::string_view rest = cfg.profiles_text;
  std::vector<std::string_view> asked;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (!one.empty()) {
      if (!find_profile(one)) {
        std::string known;
        for (const ProfileRow& row : profile_table())
          known += (known.empty() ? "" : ", ") + std::string(row.stem);
        return Error{
            0, "--compat: unknown profile \"" + std::string(one) + "\" (known: " + known + ")"};
      }
      asked.push_back(one);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  for (const ProfileRow& row : profile_table())
    if (std::find(asked.begin(), asked.end(), row.stem) != asked.end())
      cfg.profiles.emplace_back(row.stem);
  if (!cfg.native && cfg.profiles.empty())
    return Error{0, "--compat.native=false: name at least one profile with --compat"};
  return {};
}

}  // namespace hostflow::exporter
