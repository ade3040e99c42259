// Area `conntrack`: flows per fixed IP, outbound behaviour, threat contacts against the threat
// lists, the lists' own telemetry and host threat matching (hostflow_conntrack_*,
// hostflow_threat_*, hostflow_host_threat_*; see docs/metrics.md). The lists are fetched by a
// background thread (threat_feeds.h) started after the seccomp filter. Flags --conntrack.min,
// --outbound.*, --contacts.direction, one group per list, --threat.*, --threatfile.*,
// --host.*. hostflow-exporter.
#pragma once

#include <string>

#include "areas/area.h"
#include "areas/conntrack/conntrack_feature.h"
#include "areas/conntrack/threat_feeds.h"

namespace hostflow::exporter {

struct FeedFlag {
  bool enable = false;
  std::string url, url6, path, refresh, direction;
};

struct ConntrackConfig {
  ConntrackFeatureOptions feature;
  // Flag text, validated into `feeds` (no I/O) by validate_conntrack().
  std::string contacts_direction = "any";
  FeedFlag tor_exit, tor_relay, spamhaus, emergingthreats, customlist;
  bool threatfile = false;
  std::string threatfile_path = "/var/log/hostflow-exporter/threats.log";
  std::string fetch_timeout = "30s", connect_timeout = "10s", retry = "5m";
  std::string max_bytes = "64MiB";  // a size: 65536, 512KiB, 64MiB
  std::string ca_file;
  std::string host_interfaces;
  FeedOptions feeds;  // feeds.feeds empty: no threat lists
};

void add_conntrack_flags(CLI::App& app, ExporterConfig& cfg);
Result<void> validate_conntrack(ExporterConfig& cfg);
std::unique_ptr<Area> make_conntrack_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
