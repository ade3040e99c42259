// ExporterConfig: everything the exporter is told, as plain data. Filled by flag registration
// (add_flags: the core and web flags here, each area's from its registry row) and checked by
// validate(), which does no I/O (files, sockets and caches are opened by main and by the areas'
// open()). hostflow-exporter.
#pragma once

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "areas/conntrack/conntrack_area.h"
#include "areas/containers/containers_area.h"
#include "areas/haproxy/haproxy_area.h"
#include "areas/tc/tc_area.h"
#include "areas/vms/vms_area.h"
#include "compat/profile.h"
#include "hostflow/common/result.h"
#include "http/options.h"
#include "outputs/outputs_config.h"

namespace hostflow::exporter {

struct CoreConfig {
  std::string segment = "/run/hostflow/segment";
  std::string poll_interval_text = "250ms";
  std::chrono::milliseconds poll_interval{250};
  double stale_intervals = 3;  // a snapshot older than this many sampler intervals is stale
  std::string state_dir = "/var/lib/hostflow-exporter";  // --state.dir
  std::string procfs = "/proc";
  std::string log_level = "info", log_format = "logfmt";
  std::string log_file;  // --log.file: every log line also appended here (reopened on SIGHUP)
  std::string seccomp_mode = "kill";
  bool allow_root = false, no_seccomp = false, print_policy = false, version = false;
};

struct WebConfig {
  HttpOptions http;
  std::string telemetry_path = "/metrics";
  std::string read_timeout_text = "10s", read_header_timeout_text = "5s";
  bool cors = false;              // resolved by validate(): --web.cors, --no-web.cors, --compat
  int cors_flag = -1;             // -1 not given, 1 --web.cors, 0 --no-web.cors
  bool gzip = true;               // --web.gzip / --no-web.gzip
  bool enable_admin_api = false;  // --web.enable-admin-api: POST /reset, /collect, log level
  // --web.collect-timeout: how long POST /collect waits for the new snapshot before its 202.
  std::string collect_timeout_text = "5s";
  std::chrono::milliseconds collect_timeout{5'000};
  // --web.config.file: exporter-toolkit's TLS/basic-auth file (http/web_config.h); "" = none.
  std::string config_file;
  bool healthy_without_auth = false;  // --web.healthy-without-auth: /-/healthy outside basic auth
};

struct ExporterConfig {
  CoreConfig core;
  WebConfig web;
  // One per area with flags (exporter/areas/registry.cc).
  VmsConfig vms;
  ContainersConfig containers;
  TcConfig tc;
  ConntrackConfig conntrack;
  HaproxyConfig haproxy;
  // --compat: the replaced tools' own families (exporter/compat/registry.cc).
  CompatConfig compat;
  // --output.*: the text file and the OTLP push (exporter/outputs/).
  OutputsConfig outputs;
};

// Registers every flag: core, web, then each area's in the registry's order, then --compat.
void add_flags(CLI::App& app, ExporterConfig& cfg);
// Checks and converts the flag text (durations, lists); no I/O. The error names the flag.
Result<void> validate(ExporterConfig& cfg);

}  // namespace hostflow::exporter
