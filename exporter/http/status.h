// GET /status and GET /collectors: what the exporter is doing, as JSON (seed 003's endpoints,
// with hostflow's facts), and /health's `exporter_healthy`. Built from the current rendering
// (Rendered: the snapshot's identity, what each area rendered), the outputs' counters and the
// configuration the exporter was started with; nothing is measured here. Behind the web gate like
// every route (routes.cc). hostflow-exporter, on the HTTP server threads: a few kilobytes from
// immutable state and atomics.
#pragma once

#include <cstdint>
#include <string>

#include "http/server.h"
#include "pipeline.h"

namespace hostflow::exporter {

// /health's `exporter_healthy` (seed 003: its one output is healthy): every configured output
// is. The text file: no failed write since the last good one. OTLP: an accepted export within
// 2 intervals + the timeout (before the first one: no export has failed yet). With neither
// output, /metrics is the output and it is healthy while a rendering is being served.
bool exporter_healthy(const ExporterConfig& cfg, const OutputCounters& out,
                      std::uint64_t start_real_ns, std::uint64_t now_real_ns);

// {"status","timestamp","versions","service","platform","sampler","sources","areas","outputs",
//  "compat","exporter_healthy","exporter"}: docs/metrics.md#http-endpoints.
HttpResponse status_response(const Pipeline& p, std::uint64_t now_real_ns);

// {"areas":[{name,enabled,state,sources,families,series}],"sources":[...],
//  "platform_collectors":[{name,collected}],"enabled_collectors":[...]}.
HttpResponse collectors_response(const Pipeline& p);

}  // namespace hostflow::exporter
