#include "http/routes.h"

#include "hostflow/common/clock.h"
#include "hostflow/common/version.h"
#include "http/admin.h"
#include "http/health.h"
#include "http/status.h"
#include "outputs/prometheus_text.h"

namespace hostflow::exporter {

bool accepts_gzip(const std::string& accept_encoding) {
  std::size_t p = accept_encoding.find("gzip");
  if (p == std::string::npos) return false;
  const std::size_t end = accept_encoding.find(',', p);
  const std::string coding =
      accept_encoding.substr(p, end == std::string::npos ? std::string::npos : end - p);
  return coding.find("q=0") == std::string::npos || coding.find("q=0.") != std::string::npos;
}

Routes::Routes(const WebConfig& web, Pipeline& pipeline) : web_(web), pipeline_(pipeline) {
  routes_.push_back({web_.telemetry_path, "GET, HEAD", "Prometheus metrics",
                     [this](const HttpRequest& r) { return metrics(r); }});
  routes_.push_back({"/-/healthy", "GET, HEAD", "the process is alive",
                     [](const HttpRequest&) { return HttpResponse::text(200, "Healthy\n"); }});
  routes_.push_back({"/-/ready", "GET, HEAD", "a fresh snapshot from the sampler is being served",
                     [this](const HttpRequest&) {
                       auto cur = pipeline_.current();
                       if (cur->fresh) return HttpResponse::text(200, "Ready\n");
                       return HttpResponse::text(503, "Not ready: " + cur->not_ready_reason + "\n");
                     }});
  routes_.push_back({"/health", "GET, HEAD", "status, requests served, metrics, collections (JSON)",
                     [this](const HttpRequest&) {
                       auto cur = pipeline_.current();
                       const std::uint64_t now = real_ns();
                       return health_response(
                           {cur->fresh, cur->not_ready_reason, now, server_->port(),
                            server_->stats().requests.load(), cur->series, cur->cycle,
                            cur->publish_real_ns,
                            exporter_healthy(pipeline_.config(), pipeline_.output_counters(),
                                             pipeline_.start_real_ns(), now)});
                     }});
  routes_.push_back({"/status", "GET, HEAD",
                     "platform, sampler, sources, areas, outputs and versions (JSON)",
                     [this](const HttpRequest&) { return status_response(pipeline_, real_ns()); }});
  routes_.push_back(
      {"/collectors", "GET, HEAD",
       "the platform collectors and the areas, enabled or not, and their state (JSON)",
       [this](const HttpRequest&) { return collectors_response(pipeline_); }});
  if (web_.enable_admin_api) {
    routes_.push_back({"/reset", "POST",
                       "forget the VM traffic windows and the SNI counters (admin API)",
                       [this](const HttpRequest& r) {
                         return admin_reset(r, [this] { pipeline_.request_reset(); });
                       }});
    routes_.push_back(
        {"/debug/log-level", "GET, HEAD, POST",
         "the log level; POST ?level=debug|info|notice|warn|error sets it (admin API)",
         [](const HttpRequest& r) { return admin_log_level(r); }});
    routes_.push_back({"/collect", "POST",
                       "wake the sampler for a cycle now; answers once it is rendered (admin API)",
                       [this](const HttpRequest& r) {
                         return admin_collect(
                             r, wake_,
                             [this] {
                               auto cur = pipeline_.current();
                               return RenderedSnapshot{cur->has_snapshot, cur->generation,
                                                       cur->publish_mono_ns, cur->publish_real_ns};
                             },
                             web_.collect_timeout);
                       }});
  }
  landing_ = landing_page();
  routes_.push_back({"/", "GET, HEAD", "", [this](const HttpRequest&) {
                       return HttpResponse::text(200, landing_, "text/html; charset=utf-8");
                     }});
}

std::string Routes::landing_page() const {
  std::string page =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>hostflow exporter</title>"
      "</head>\n<body><h1>hostflow exporter</h1>\n<p>Who is moving which bytes on this host.</p>\n"
      "<ul>\n";
  for (const Route& r : routes_) {
    if (r.what.empty()) continue;
    if (r.methods == "POST") {
      page += "<li>POST " + r.path + ": " + r.what + "</li>\n";
    } else {
      page += "<li><a href=\"" + r.path + "\">" + r.path + "</a>: " + r.what + "</li>\n";
    }
  }
  page += "</ul>\n<p>version " + std::string(HOSTFLOW_VERSION) + "</p>\n</body></html>\n";
  return page;
}

HttpResponse Routes::metrics(const HttpRequest& req) const {
  auto cur = pipeline_.current();
  ExporterCounters c = pipeline_.scrape_counters();
  const auto& hs = server_->stats();
  c.http_rejected = hs.rejected_connections.load();
  c.http_evicted = hs.evicted_connections.load();
  c.http_timeouts = hs.timeouts.load();
  c.http_bad_requests = hs.bad_requests.load();
  std::string tail = prometheus_text(self_families(c));
  if (gate_) {
    metrics::FamilySet web = gate_->families();
    if (gate_->tls_enabled())
      web.add(std::move(metrics::Family("hostflow_exporter_tls_handshake_failures_total",
                                        "TLS handshakes that failed or did not finish in time "
                                        "(version, client certificate, plain HTTP on the port).",
                                        metrics::Type::kCounter)
                            .add(static_cast<double>(hs.tls_handshake_failures.load()))));
    tail += prometheus_text(web);
  }
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.keepalive = cur;
  if (web_.gzip && accepts_gzip(req.accept_encoding)) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.parts.push_back(cur->exposition->gzip_prefix());
    r.owned = cur->exposition->gzip_finish(tail);
  } else {
    r.parts.push_back(cur->exposition->text());
    r.owned = tail;
  }
  r.headers.emplace_back("Vary", "Accept-Encoding");
  return r;
}

HttpResponse Routes::route(const HttpRequest& req) const {
  for (const Route& r : routes_) {
    if (req.path != r.path) continue;
    // Admin handlers answer other methods (405) themselves.
    if (r.methods.find("POST") != std::string::npos) return r.handler(req);
    if (req.method != "GET" && req.method != "HEAD") break;
    return r.handler(req);
  }
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = HttpResponse::text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  return HttpResponse::text(404, "not found\n");
}

HttpResponse Routes::handle(const HttpRequest& req) const {
  if (gate_) {
    gate_->refresh();
    if (auto refused = gate_->admit(req)) {
      gate_->decorate(*refused);
      return std::move(*refused);
    }
  }
  HttpResponse r = (web_.cors && is_cors_preflight(req)) ? cors_preflight() : route(req);
  if (web_.cors) add_cors_headers(r);
  if (gate_) gate_->decorate(r);
  return r;
}

}  // namespace hostflow::exporter
