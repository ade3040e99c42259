// The output writers' configuration (--output.*) as plain data, their flags and their
// validation (no I/O; the OTEL_* environment variables are read by main into `env` before
// validation, so resolving them is pure too). hostflow-exporter, main thread at start-up.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hostflow/common/result.h"

namespace hostflow::exporter {

// --output.textfile: the rendering written atomically for node_exporter's textfile collector.
struct TextfileConfig {
  std::string path;  // "" = off
  std::string mode_text = "0644";
  unsigned mode = 0644;  // validated: at most 0666 (no execute, no special bits)
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// --output.otlp.*: as given (flags) and as resolved with the environment (validate_outputs).
struct OtlpConfig {
  // Flags ("" = not given; the environment or the default applies).
  std::string endpoint, protocol, headers, interval_text, timeout_text, compression;
  std::string certificate, client_certificate, client_key;
  std::size_t queue_size = 8;  // export requests waiting to be sent (oldest dropped when full)
  // OTEL_* variables (read_otlp_environment in main.cc), by name.
  std::map<std::string, std::string> env;

  // Resolved by validate_outputs.
  bool enabled = false;
  bool grpc = false;
  std::string url;  // http/protobuf: the full URL of the metrics endpoint; grpc: host:port
  bool tls = false;
  KeyValues header_list;
  KeyValues resource;  // OTEL_RESOURCE_ATTRIBUTES + service.name (OTEL_SERVICE_NAME wins)
  std::chrono::milliseconds interval{60000}, timeout{10000};
  bool gzip = true;
  std::string ca_file, cert_file, key_file;
};

struct OutputsConfig {
  TextfileConfig textfile;
  OtlpConfig otlp;
};

// The OTEL_* variable names the OTLP output reads (for main to copy from the environment).
const std::vector<std::string>& otlp_environment_names();

void add_output_flags(CLI::App& app, OutputsConfig& cfg);
Result<void> validate_outputs(OutputsConfig& cfg);
// The OTLP part alone: flags, then the OTEL_* variables in `env`, then the defaults.
Result<void> resolve_otlp(OtlpConfig& o);

}  // namespace hostflow::exporter
