// Area `containers`: containers and other workload network namespaces with their own-view
// traffic, and the Docker source's parse status (hostflow_container_*, hostflow_docker_*). The
// attribution itself is identity (identity/owners.h). Flag --container.labels.
// hostflow-exporter.
#pragma once

#include "areas/area.h"
#include "areas/containers/container_families.h"

namespace hostflow::exporter {

using ContainersConfig = ContainerRenderOptions;

void add_containers_flags(CLI::App& app, ExporterConfig& cfg);
std::unique_ptr<Area> make_containers_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
