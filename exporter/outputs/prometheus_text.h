// The Prometheus text format (0.0.4) writer over the metric model: HELP, TYPE and one line per
// sample, written straight into one string (no ostream: that path was ~70% of the exporter's CPU
// at 2,000 interfaces). hostflow-exporter.
#pragma once

#include <string>
#include <vector>

#include "metrics/family.h"

namespace hostflow::exporter {

// Appends `families` to `out` in the text format.
void write_prometheus_text(const std::vector<metrics::Family>& families, std::string* out);
std::string prometheus_text(const metrics::FamilySet& set);

}  // namespace hostflow::exporter
