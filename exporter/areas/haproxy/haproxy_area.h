// Area `haproxy`: TLS traffic per SNI from HAProxy's logs (hostflow_haproxy_*). Its input is its
// own (log files tailed on the poll thread, checkpointed in --state.dir), not the segment; its
// families are rebuilt at most every --haproxy.render-interval. Flags --haproxy.*.
// hostflow-exporter.
#pragma once

#include <string>

#include "areas/area.h"
#include "areas/haproxy/haproxy_tail.h"

namespace hostflow::exporter {

struct HaproxyConfig {
  HaproxyOptions opts;
  std::string format = "fields";                         // flag text, parsed into opts.format
  std::string fields = "sni=11,bytes_in=6,bytes_out=7";  // flag text, parsed into opts.fields
  std::string render_interval = "5s";
};

void add_haproxy_flags(CLI::App& app, ExporterConfig& cfg);
Result<void> validate_haproxy(ExporterConfig& cfg);
std::unique_ptr<Area> make_haproxy_area(const ExporterConfig& cfg);

}  // namespace hostflow::exporter
