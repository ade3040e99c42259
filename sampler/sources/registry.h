// The one table of sampler sources. A source is listed here and nowhere else.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "source.h"

namespace hostflow::sampler {

struct SourceEntry {
  std::string_view name;  // also the flag stem: --source.<name>
  std::string_view help;
  bool enabled_by_default;
  std::unique_ptr<Source> (*make)();
};

std::span<const SourceEntry> source_table();

}  // namespace hostflow::sampler
