// Profile `truenas`: the TrueNAS network exporter's net_interface_*_total families (seed 004,
// lfventura/prometheus-truenas-net-exporter as its README documents it), from hostflow's
// interface families. docs/compat.md#truenas. hostflow-exporter, poll thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "compat/profile.h"

namespace hostflow::exporter {

std::unique_ptr<Profile> make_truenas_profile(const ExporterConfig& cfg);

// The seed's classification of one interface (collector/network.go, buildInterfaceInfo): by
// name first, then whether it has a device. Pure; exposed for tests.
struct TruenasLabels {
  std::string instance_type, instance, app;
};
struct TruenasInput {
  std::string_view interface, owner_type, owner, kind;
  std::string_view container_app;   // the seed's AppName() of the container owning a veth
  std::string_view bridge_network;  // Docker network name of the veth's master bridge, or ""
};
TruenasLabels truenas_classify(const TruenasInput& in);
// AppName(): the Compose project minus "ix-", else the name minus "ix-" and a "-<digits>" tail.
std::string truenas_app_name(std::string_view compose_project, bool has_project,
                             std::string_view name);
// appNameFromDockerNetwork(): "ix-<app>[_...]" -> "<app>", anything else -> "".
std::string truenas_app_from_network(std::string_view network);

}  // namespace hostflow::exporter
