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
  app.add_flag("--web.gzip,!--no-web.gzip", flags.gzip,
               "gzip the metrics when the client accepts it")
      ->capture_default_str();
}

}  // namespace hostflow::exporter
