// Command-line flags of the HAProxy SNI feature (--haproxy.*) and the admin API switch, kept
// beside the options they fill so main.cc only registers and finishes them. hostflow-exporter.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "features/haproxy_tail.h"
#include "hostflow/common/result.h"

namespace hostflow::exporter {

struct HaproxyFlags {
  HaproxyOptions opts;
  std::string fields = "sni=11,bytes_in=6,bytes_out=7";
  std::string render_interval = "5s";
  bool enable_admin_api = false;  // --web.enable-admin-api: POST /reset
};

void add_haproxy_flags(CLI::App& app, HaproxyFlags& flags);
// Validates the flags and, when --haproxy.log is given, opens the tailer (before the seccomp
// filter: it opens the state directory and the logs). `state_dir` is --state.dir.
Result<std::unique_ptr<HaproxyTailer>> finish_haproxy_flags(HaproxyFlags& flags,
                                                            const std::string& state_dir);

}  // namespace hostflow::exporter
