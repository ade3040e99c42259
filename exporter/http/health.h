// GET /health: NetProbe's health document (JSON) with seed 003's exporter_healthy, and the CORS
// wrapper of --web.cors. hostflow-exporter, on the HTTP server thread: builds a few hundred bytes
// from counters.
#pragma once

#include <cstdint>
#include <string>

#include "http/server.h"

namespace hostflow::exporter {

struct HealthInput {
  bool fresh = false;  // a fresh snapshot is being served
  std::string reason;  // why not, when not fresh
  std::uint64_t now_real_ns = 0;
  unsigned port = 0;
  std::uint64_t requests = 0;     // HTTP requests served
  std::size_t metrics = 0;        // samples in the current exposition (snapshot part)
  std::uint64_t collections = 0;  // the sampler's cycles in this run (0: no snapshot yet)
  std::uint64_t last_collection_real_ns = 0;  // when the served snapshot was published
  bool exporter_healthy = true;               // seed 003's: every output is (http/status.h)
};

// {"status":"ok"|"stale","timestamp":RFC 3339,"server":{"running":true,"port":..,"requests":..,
//  "metrics":..,"collections":..,"last_collection":RFC 3339 or null},"exporter_healthy":bool,
//  "reason":".."}; 200 when fresh, 503 when not.
HttpResponse health_response(const HealthInput& in);

// RFC 3339 UTC with second precision ("2023-12-07T10:30:00Z").
std::string rfc3339(std::uint64_t real_ns);

// --web.cors: every response gets Access-Control-Allow-Origin: * (read-only endpoints, no
// credentials); an OPTIONS preflight is answered 204 with the allowed methods and headers.
bool is_cors_preflight(const HttpRequest& req);
HttpResponse cors_preflight();
void add_cors_headers(HttpResponse& r);

}  // namespace hostflow::exporter
