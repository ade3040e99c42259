// The compatibility profiles, one row each (compat/registry.cc). hostflow-exporter.
#pragma once

#include <span>

#include "compat/profile.h"

namespace hostflow::exporter {

// In rendering order (after every area). --compat, the pipeline, docs/compat.md and the docs
// test (tests/unit/docs_test.cc) loop over it.
std::span<const ProfileRow> profile_table();
const ProfileRow* find_profile(std::string_view stem);

}  // namespace hostflow::exporter
