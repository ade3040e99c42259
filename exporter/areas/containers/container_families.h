// Metric families for containers (and other workload network namespaces) and the Docker
// source's parse status. See docs/metrics.md. hostflow-exporter.
#pragma once

#include "metrics/family.h"

#include <string>
#include <vector>

#include "identity/owners.h"

namespace hostflow::exporter {

struct ContainerRenderOptions {
  // --container.labels: Docker label keys exported on hostflow_container_info as
  // label_<key, sanitised>. Empty: none (labels are tenant text of unbounded variety).
  std::vector<std::string> label_allowlist;
};

// "com.example.team" -> "label_com_example_team" (a valid Prometheus label name).
std::string container_label_name(std::string_view key);

void container_families(const Attribution& a, const ContainerRenderOptions& opts,
                        metrics::FamilySet* out);

}  // namespace hostflow::exporter
