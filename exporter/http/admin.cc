#include "http/admin.h"

#include "hostflow/common/log.h"

namespace hostflow::exporter {

HttpResponse admin_reset(const HttpRequest& req, const std::function<void()>& reset) {
  if (req.method != "POST") {
    auto r = HttpResponse::text(405, "method not allowed: POST /reset\n");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  if (!req.origin.empty()) {
    log::warn("reset refused: request from a web page",
              {{"client", req.remote}, {"origin", req.origin}});
    return HttpResponse::text(403, "forbidden: cross-origin request\n");
  }
  log::info("reset requested: SNI counters and VM traffic windows", {{"client", req.remote}});
  reset();
  return HttpResponse::text(200, "reset: SNI counters and VM traffic windows\n");
}

}  // namespace hostflow::exporter
