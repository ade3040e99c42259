// Command-line flags that came with the TC counters (NetProbe parity): --tc.active-only, and the
// HTTP switches --web.cors and --[no-]web.gzip. Kept beside the options they fill so main.cc only
// registers and reads them. hostflow-exporter.
#pragma once

#include <CLI/CLI.hpp>

#include "pipeline.h"

namespace hostflow::exporter {

struct TcFlags {
  bool cors = false;  // --web.cors
  bool gzip = true;   // --web.gzip / --no-web.gzip
};

void add_tc_flags(CLI::App& app, PipelineOptions& opts, TcFlags& flags);

}  // namespace hostflow::exporter
