// Metric families of the conntrack features (flows per fixed IP, outbound behaviour, threat
// contacts, threat feed telemetry, host threats). See docs/metrics.md. hostflow-exporter.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "features/conntrack_feature.h"

namespace hostflow::exporter {

void conntrack_families(const ConntrackView& v, std::vector<prometheus::MetricFamily>* out);

}  // namespace hostflow::exporter
