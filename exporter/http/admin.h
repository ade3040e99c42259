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

}  // namespace hostflow::exporter
