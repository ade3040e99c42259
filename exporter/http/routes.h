// The exporter's HTTP routes in one table: path, methods, what the landing page says, the
// handler, and whether a flag enabled it. The landing page lists every enabled route; gzip of
// the metrics (--[no-]web.gzip), CORS (--web.cors) and the admin API (--web.enable-admin-api)
// are applied here and nowhere else. With --web.config.file every request passes the WebGate
// first (rate limit, basic auth, then the configured headers on every response).
// hostflow-exporter, HTTP server threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "http/admin.h"
#include "http/server.h"
#include "http/web_gate.h"
#include "pipeline.h"

namespace hostflow::exporter {

class Routes {
 public:
  Routes(const WebConfig& web, Pipeline& pipeline);
  // The server whose statistics /metrics and /health report (set once it exists).
  void set_server(const HttpServer* server) { server_ = server; }
  // --web.config.file (set once, before serving; null: none).
  void set_gate(WebGate* gate) { gate_ = gate; }
  // The sampler's wake channel for POST /collect (set once, before serving; null: 503).
  void set_wake(const WakeWriter* wake) { wake_ = wake; }
  HttpResponse handle(const HttpRequest& req) const;

  struct Route {
    std::string path;
    std::string methods;  // "GET, HEAD" or "POST"
    std::string what;     // one line for the landing page
    std::function<HttpResponse(const HttpRequest&)> handler;
  };
  const std::vector<Route>& table() const { return routes_; }

 private:
  HttpResponse route(const HttpRequest& req) const;
  HttpResponse metrics(const HttpRequest& req) const;
  std::string landing_page() const;

  WebConfig web_;
  Pipeline& pipeline_;
  const HttpServer* server_ = nullptr;
  WebGate* gate_ = nullptr;
  const WakeWriter* wake_ = nullptr;
  std::vector<Route> routes_;
  std::string landing_;
};

// True when an Accept-Encoding value accepts gzip (as a coding, not excluded with q=0).
bool accepts_gzip(const std::string& accept_encoding);

}  // namespace hostflow::exporter
