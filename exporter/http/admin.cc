#include "http/admin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/shm/layout.h"

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

Result<WakeWriter> WakeWriter::open(const std::string& segment) {
  const std::size_t slash = segment.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : segment.substr(0, slash + 1);
  const std::string name = (slash == std::string::npos ? segment : segment.substr(slash + 1)) +
                           std::string(shm::kWakeSuffix);
  auto fd = UniqueFd::open(dir, O_PATH | O_DIRECTORY);
  if (!fd.ok()) return Error{fd.error().code, "wake channel directory: " + fd.error().message()};
  return WakeWriter(std::move(*fd), name);
}

WakeWriter::Sent WakeWriter::wake(std::string* why) const {
  // Exactly the flags the seccomp rule allows (O_CLOEXEC is added by UniqueFd and not checked).
  auto fd = UniqueFd::openat(dir_.get(), name_, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
  if (!fd.ok()) {
    *why = fd.error().message();
    const int e = fd.error().code;
    return e == ENOENT || e == ENXIO ? Sent::kAbsent : Sent::kRefused;
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    *why = name_ + " is not a FIFO";
    return Sent::kRefused;
  }
  const char byte = 'w';  // the sampler never looks at it
  const ssize_t n = ::write(fd->get(), &byte, 1);
  if (n == 1) return Sent::kWoken;
  if (n < 0 && errno == EAGAIN) return Sent::kFull;
  *why = std::string("write: ") + std::strerror(errno);
  return n < 0 && errno == EPIPE ? Sent::kAbsent : Sent::kRefused;
}

namespace {
std::string snapshot_json(const char* status, const RenderedSnapshot& s, double waited) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"status\":\"%s\",\"generation\":%llu,\"timestamp_seconds\":%.3f,"
                "\"waited_seconds\":%.3f}\n",
                status, static_cast<unsigned long long>(s.generation),
                static_cast<double>(s.publish_real_ns) / 1e9, waited);
  return buf;
}
}  // namespace

HttpResponse admin_collect(const HttpRequest& req, const WakeWriter* wake,
                           std::function<RenderedSnapshot()> current,
                           std::chrono::milliseconds timeout) {
  if (req.method != "POST") {
    auto r = HttpResponse::text(405, "method not allowed: POST /collect\n");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  if (!req.origin.empty()) {
    log::warn("collect refused: request from a web page",
              {{"client", req.remote}, {"origin", req.origin}});
    return HttpResponse::text(403, "forbidden: cross-origin request\n");
  }
  const RenderedSnapshot before = current();
  std::string why = "the wake channel was not opened at start-up";
  const WakeWriter::Sent sent = wake ? wake->wake(&why) : WakeWriter::Sent::kRefused;
  if (sent == WakeWriter::Sent::kAbsent || sent == WakeWriter::Sent::kRefused) {
    log::warn("collect failed: the sampler cannot be woken",
              {{"client", req.remote}, {"err", why}});
    return HttpResponse::text(503, sent == WakeWriter::Sent::kAbsent
                                       ? "sampler not reachable: not running, or started with "
                                         "--no-wake (" +
                                             why + ")\n"
                                       : "sampler cannot be woken: " + why + "\n");
  }
  log::info("collect requested", {{"client", req.remote},
                                  {"wake", sent == WakeWriter::Sent::kWoken ? "sent" : "pending"}});
  const std::uint64_t t0 = mono_ns();
  const std::uint64_t deadline =
      t0 + static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
  HttpResponse r;
  r.pending = [before, current = std::move(current), t0, deadline](HttpResponse& out) {
    const RenderedSnapshot now = current();
    const bool fresh =
        now.has_snapshot && (!before.has_snapshot || now.generation != before.generation ||
                             now.publish_mono_ns != before.publish_mono_ns ||
                             now.publish_real_ns != before.publish_real_ns);
    const std::uint64_t t = mono_ns();
    const double waited = static_cast<double>(t - t0) / 1e9;
    if (fresh) {
      out = HttpResponse::text(200, snapshot_json("collected", now, waited), "application/json");
      return true;
    }
    if (t < deadline) return false;
    out = HttpResponse::text(202, snapshot_json("pending", now, waited), "application/json");
    return true;
  };
  return r;
}

}  // namespace hostflow::exporter
