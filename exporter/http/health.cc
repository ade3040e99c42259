#include "http/health.h"

#include <time.h>

#include <nlohmann/json.hpp>

namespace hostflow::exporter {

std::string rfc3339(std::uint64_t real_ns) {
  const time_t t = static_cast<time_t>(real_ns / 1'000'000'000ull);
  tm tm_utc{};
  gmtime_r(&t, &tm_utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

HttpResponse health_response(const HealthInput& in) {
  nlohmann::json server = {
      {"running", true},
      {"port", in.port},
      {"requests", in.requests},
      {"metrics", in.metrics},
      {"collections", in.collections},
      {"last_collection", in.last_collection_real_ns
                              ? nlohmann::json(rfc3339(in.last_collection_real_ns))
                              : nlohmann::json(nullptr)},
  };
  nlohmann::json doc = {
      {"status", in.fresh ? "ok" : "stale"},
      {"timestamp", rfc3339(in.now_real_ns)},
      {"server", server},
      {"exporter_healthy", in.exporter_healthy},
  };
  if (!in.fresh) doc["reason"] = in.reason;
  // dump() replaces invalid UTF-8 in the reason instead of throwing.
  return HttpResponse::text(
      in.fresh ? 200 : 503,
      doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
      "application/json");
}

bool is_cors_preflight(const HttpRequest& req) {
  return req.method == "OPTIONS";
}

HttpResponse cors_preflight() {
  HttpResponse r = HttpResponse::text(204, "");
  add_cors_headers(r);
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Accept, Accept-Encoding, Content-Type");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

void add_cors_headers(HttpResponse& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", "*");
}

}  // namespace hostflow::exporter
