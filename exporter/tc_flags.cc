#include "tc_flags.h"

namespace hostflow::exporter {

void add_tc_flags(CLI::App& app, PipelineOptions& opts, TcFlags& flags) {
  app.add_flag("--tc.active-only", opts.tc.active_only,
               "export TC counters only for interfaces whose counters moved between the two "
               "latest snapshots (hostflow_tc_interface_attached stays for all)");
  app.add_flag("--web.cors,!--no-web.cors", flags.cors,
               "answer with Access-Control-Allow-Origin: * and accept OPTIONS preflights (lets a "
               "browser dashboard on another origin read the endpoints)")
      ->capture_default_str();
  // Two flags rather than "--web.gzip,!--no-web.gzip": CLI11 prints the negated form's value
  // ({false}) after the pair, which read as "gzip is off by default" while it is on.
  CLI::Option* gzip_on = app.add_flag(
      "--web.gzip", flags.gzip, "gzip the metrics when the client accepts it (on by default)");
  CLI::Option* gzip_off = app.add_flag_callback(
      "--no-web.gzip", [&flags] { flags.gzip = false; },
      "never gzip the metrics (default: gzip when the client accepts it)");
  gzip_on->excludes(gzip_off);
}

}  // namespace hostflow::exporter
