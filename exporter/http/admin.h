// Admin endpoints, only registered with --web.enable-admin-api (otherwise /reset is 404).
// hostflow-exporter, HTTP server thread: handlers only set flags the poll thread acts on.
#pragma once

#include <functional>

#include "http/server.h"

namespace hostflow::exporter {

// POST /reset: calls `reset` (the SNI counters and the VM traffic windows) and logs the client's
// address. Other methods: 405. A request with an Origin header (a browser page posting
// cross-site) is refused with 403: the endpoint is for operators' tools, not web pages.
HttpResponse admin_reset(const HttpRequest& req, const std::function<void()>& reset);

// GET /debug/log-level: "current log level: <name>". POST /debug/log-level?level=<name> (or the
// form body level=<name>): sets it at runtime (OIE's endpoint), logged with the client address
// and both levels; an unknown level is a 400 that changes nothing; a request from a web page
// (Origin) is refused like /reset.
HttpResponse admin_log_level(const HttpRequest& req);

}  // namespace hostflow::exporter
