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

namespace {
// The value of `key` in a query string or form body ("a=1&level=debug"); no %-decoding (level
// names are plain words).
std::string form_value(std::string_view q, std::string_view key) {
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view kv = q.substr(0, amp);
    if (kv.size() > key.size() && kv.substr(0, key.size()) == key && kv[key.size()] == '=')
      return std::string(kv.substr(key.size() + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return "";
}
}  // namespace

HttpResponse admin_log_level(const HttpRequest& req) {
  if (req.method == "GET" || req.method == "HEAD")
    return HttpResponse::text(
        200, "current log level: " + std::string(log::level_name(log::level())) + "\n");
  if (req.method != "POST") {
    auto r = HttpResponse::text(405, "method not allowed: GET or POST /debug/log-level\n");
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    return r;
  }
  if (!req.origin.empty()) {
    log::warn("log level change refused: request from a web page",
              {{"client", req.remote}, {"origin", req.origin}});
    return HttpResponse::text(403, "forbidden: cross-origin request\n");
  }
  const std::size_t q = req.target.find('?');
  std::string level =
      q == std::string::npos ? "" : form_value(std::string_view(req.target).substr(q + 1), "level");
  if (level.empty()) level = form_value(req.body, "level");
  const std::string before(log::level_name(log::level()));
  if (level.empty() || level.size() > 16 || !log::set_level(level)) {
    return HttpResponse::text(400, "want ?level=debug, info, notice, warn or error (got \"" +
                                       level.substr(0, 16) + "\")\n");
  }
  // Written whatever the new level is (warn, or error when only errors are logged): the change
  // itself is the audit record.
  const log::Level audit =
      log::level() == log::Level::kError ? log::Level::kError : log::Level::kWarn;
  log::write(audit, "log level changed", {{"client", req.remote}, {"from", before}, {"to", level}});
  return HttpResponse::text(200, "log level set to " + level + "\n");
}

}  // namespace hostflow::exporter
