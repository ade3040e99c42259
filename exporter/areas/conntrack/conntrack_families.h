// Metric families of the conntrack features (flows per fixed IP, outbound behaviour, threat
// contacts, threat feed telemetry, host threats). See docs/metrics.md. hostflow-exporter.
#pragma once

#include "metrics/family.h"

#include <vector>

#include "areas/conntrack/conntrack_feature.h"

namespace hostflow::exporter {

void conntrack_families(const ConntrackView& v, metrics::FamilySet* out);

}  // namespace hostflow::exporter
