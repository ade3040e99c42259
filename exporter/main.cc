// hostflow-exporter: runs as its own unprivileged user, maps the sampler's segment read-only and
// serves Prometheus metrics. Order: flags -> refuse root -> bind -> drop every capability (logged
// before and after) -> no_new_privs + seccomp -> poll thread -> serve.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <thread>

#include "haproxy_flags.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/seccomp.h"
#include "hostflow/common/version.h"
#include "conntrack_flags.h"
#include "http/admin.h"
#include "http/health.h"
#include "http/server.h"
#include "pipeline.h"
#include "privilege/capabilities.h"
#include "privilege/seccomp_policy.h"
#include "tc_flags.h"
#include "vm_flags.h"

#ifdef HOSTFLOW_SANITIZE
// Sanitizer builds: LeakSanitizer's exit-time check ptraces this process from a cloned task,
// which the seccomp filter (rightly) does not allow; it would hang or kill the exit. ASan and
// UBSan stay on; leak checking happens in the unit tests.
extern "C" int __lsan_is_turned_off() {
  return 1;
}
#endif

namespace hf = hostflow;
namespace he = hostflow::exporter;

namespace {

int fail(const std::string& what) {
  hf::log::error(what);
  return 1;
}

const char* kLandingPage = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>hostflow exporter</title></head>
<body><h1>hostflow exporter</h1>
<p>Who is moving which bytes on this host.</p>
<ul>
<li><a href="%TELEMETRY%">%TELEMETRY%</a>: Prometheus metrics</li>
<li><a href="/-/healthy">/-/healthy</a>: the process is alive</li>
<li><a href="/-/ready">/-/ready</a>: a fresh snapshot from the sampler is being served</li>
<li><a href="/health">/health</a>: status, requests served, metrics, collections (JSON)</li>
</ul>
<p>version %VERSION%</p>
</body></html>
)";

std::string landing_page(const std::string& telemetry) {
  std::string page = kLandingPage;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (std::size_t p = page.find(from); p != std::string::npos;
         p = page.find(from, p + to.size()))
      page.replace(p, from.size(), to);
  };
  replace_all("%TELEMETRY%", telemetry);
  replace_all("%VERSION%", HOSTFLOW_VERSION);
  return page;
}

bool accepts_gzip(const std::string& accept_encoding) {
  // "gzip" as a coding, not excluded with q=0.
  std::size_t p = accept_encoding.find("gzip");
  if (p == std::string::npos) return false;
  const std::size_t end = accept_encoding.find(',', p);
  const std::string coding =
      accept_encoding.substr(p, end == std::string::npos ? std::string::npos : end - p);
  return coding.find("q=0") == std::string::npos || coding.find("q=0.") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostflow-exporter: serves the hostflow segment as Prometheus metrics"};
  he::PipelineOptions popts;
  he::HttpOptions hopts;
  std::string telemetry_path = "/metrics";
  std::string log_level = "info", log_format = "logfmt";
  std::string procfs = "/proc";
  std::string poll_s = "250ms", read_timeout_s = "10s";
  std::string read_header_timeout_s = "5s";
  std::string seccomp_mode = "kill";
  bool allow_root = false, version = false, no_seccomp = false, print_policy = false;
  app.add_option("--segment", popts.segment, "segment file written by hostflow-sampler")
      ->capture_default_str();
  app.add_option("--segment.poll-interval", poll_s, "how often to look for a new snapshot")
      ->capture_default_str();
  app.add_option("--web.listen-address", hopts.listen_address,
                 "address to serve on: host:port, [v6]:port or :port (all addresses)")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", telemetry_path, "path of the metrics endpoint")
      ->capture_default_str();
  app.add_option("--web.max-connections", hopts.max_connections,
                 "concurrent HTTP connections; at the cap a new one closes the oldest idle or "
                 "still-reading connection (503 only when every connection is writing)")
      ->capture_default_str();
  app.add_option("--web.max-connections-per-source", hopts.max_connections_per_source,
                 "concurrent HTTP connections from one source address (0: no cap); a new one "
                 "closes that address's oldest idle or still-reading connection")
      ->capture_default_str();
  app.add_option("--web.read-header-timeout", read_header_timeout_s,
                 "time a client has to send a request's head, after connecting or after the "
                 "previous response (the keep-alive idle limit)")
      ->capture_default_str();
  app.add_option("--web.read-timeout", read_timeout_s,
                 "time a client has to send one whole request (head and body)")
      ->capture_default_str();
  app.add_option("--path.procfs", procfs, "procfs mount point (for the boot id)")
      ->capture_default_str();
  app.add_option("--state.dir", popts.state_dir,
                 "directory the exporter owns for state kept across restarts (feed caches, log "
                 "positions); the unit's StateDirectory")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")->capture_default_str();
  app.add_flag("--allow-root", allow_root,
               "run even as root (not recommended: the exporter needs no privilege)");
  app.add_option("--seccomp", seccomp_mode,
                 "what the seccomp filter does with a syscall outside the allowlist: kill, log "
                 "(allow, audit line in dmesg) or trap (name it on stderr and exit: debugging)")
      ->capture_default_str();
  app.add_flag("--no-seccomp", no_seccomp,
               "run without the seccomp filter (unsafe; logs a warning at every start)");
  app.add_flag("--print-seccomp-policy", print_policy,
               "print the seccomp allowlist and exit (for auditors)");
  app.add_flag("--version", version, "print the version and exit");
  app.add_option("--container.labels", popts.containers.label_allowlist,
                 "Docker label keys to export on hostflow_container_info as label_<key> "
                 "(comma-separated; none by default: labels are tenant text)")
      ->delimiter(',');
  he::VmFlags vm_flags;
  he::add_vm_flags(app, popts, vm_flags);
  he::HaproxyFlags haproxy_flags;
  he::add_haproxy_flags(app, haproxy_flags);
  he::TcFlags tc_flags;
  he::add_tc_flags(app, popts, tc_flags);
  he::ConntrackFlags ct_flags;
  he::add_conntrack_flags(app, popts, ct_flags);
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::printf("hostflow-exporter %s (%s)\n", HOSTFLOW_VERSION, HOSTFLOW_REVISION);
    return 0;
  }
  if (!hf::log::set_level(log_level)) return fail("--log.level: unknown level " + log_level);
  if (!hf::log::set_format(log_format)) return fail("--log.format: unknown format " + log_format);
  const auto mode = hf::seccomp::parse_mode(seccomp_mode);
  if (!mode) return fail("--seccomp: want kill, log or trap (got " + seccomp_mode + ")");
  if (print_policy) {
    // With --haproxy.log the state directory's fd number is known only at start: shown as 3.
    he::ExporterPolicyOptions shown_opts = he::conntrack_policy_needs(ct_flags);
    shown_opts.haproxy_state_dir_fd = haproxy_flags.opts.logs.empty() ? -1 : 3;
    hf::seccomp::Policy shown = he::exporter_policy(shown_opts);
    if (!haproxy_flags.opts.logs.empty())
      shown.notes.push_back("dirfd 3 stands for the state directory's fd, opened at start");
    std::fputs(hf::seccomp::format(shown, *mode).c_str(), stdout);
    return 0;
  }
  if (::geteuid() == 0 && !allow_root) {
    return fail(
        "refusing to run as root: the exporter needs no privilege. Run it as its own user "
        "(e.g. `runuser -u hostflow -- hostflow-exporter`), or pass --allow-root");
  }
  if (telemetry_path.empty() || telemetry_path[0] != '/' || telemetry_path == "/" ||
      telemetry_path.rfind("/-/", 0) == 0)
    return fail("--web.telemetry-path: want a path like /metrics (got \"" + telemetry_path + "\")");
  const auto poll = hf::parse_duration(poll_s);
  if (!poll || *poll < std::chrono::milliseconds(10))
    return fail("--segment.poll-interval: want a duration of at least 10ms (got " + poll_s + ")");
  popts.poll_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*poll);
  const auto rt = hf::parse_duration(read_timeout_s);
  if (!rt || *rt < std::chrono::milliseconds(100))
    return fail("--web.read-timeout: want a duration of at least 100ms (got " + read_timeout_s +
                ")");
  hopts.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*rt);
  const auto rht = hf::parse_duration(read_header_timeout_s);
  if (!rht || *rht < std::chrono::milliseconds(100))
    return fail("--web.read-header-timeout: want a duration of at least 100ms (got " +
                read_header_timeout_s + ")");
  hopts.read_header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*rht);
  if (hopts.max_connections == 0) return fail("--web.max-connections: must be at least 1");
  auto boot = hf::read_boot_id(procfs);
  if (!boot.ok()) return fail("boot id: " + boot.error().message() + " (is --path.procfs right?)");
  popts.boot_id = *boot;

  if (auto r = he::finish_vm_flags(popts, vm_flags); !r.ok()) return fail(r.error().message());
  if (auto r = he::finish_conntrack_flags(popts, ct_flags); !r.ok())
    return fail(r.error().message());
  he::prepare_feed_fetching(popts);
  auto haproxy = he::finish_haproxy_flags(haproxy_flags, popts.state_dir);
  if (!haproxy.ok()) return fail(haproxy.error().message());
  he::ExporterPolicyOptions policy_opts = he::conntrack_policy_needs(ct_flags);
  policy_opts.haproxy_state_dir_fd = *haproxy ? (*haproxy)->state_dir_fd() : -1;
  const hf::seccomp::Policy policy = he::exporter_policy(policy_opts);
  he::Pipeline pipeline(popts);
  pipeline.set_haproxy(std::move(*haproxy));
  const std::string landing = landing_page(telemetry_path);
  he::HttpServer* server_ptr = nullptr;
  auto route = [&](const he::HttpRequest& req) -> he::HttpResponse {
    if (req.path == "/reset" && haproxy_flags.enable_admin_api)
      return he::admin_reset(req, [&] { pipeline.request_reset(); });
    if (req.method != "GET" && req.method != "HEAD") {
      auto r = he::HttpResponse::text(405, "method not allowed\n");
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    if (req.path == telemetry_path) {
      auto cur = pipeline.current();
      he::ExporterCounters c = pipeline.scrape_counters();
      const auto& hs = server_ptr->stats();
      c.http_rejected = hs.rejected_connections.load();
      c.http_evicted = hs.evicted_connections.load();
      c.http_timeouts = hs.timeouts.load();
      c.http_bad_requests = hs.bad_requests.load();
      const std::string tail = he::serialize(he::exporter_families(c));
      he::HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.keepalive = cur;
      if (tc_flags.gzip && accepts_gzip(req.accept_encoding)) {
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
    if (req.path == "/-/healthy") return he::HttpResponse::text(200, "Healthy\n");
    if (req.path == "/-/ready") {
      auto cur = pipeline.current();
      if (cur->fresh) return he::HttpResponse::text(200, "Ready\n");
      return he::HttpResponse::text(503, "Not ready: " + cur->not_ready_reason + "\n");
    }
    if (req.path == "/health") {
      auto cur = pipeline.current();
      return he::health_response({cur->fresh, cur->not_ready_reason, hf::real_ns(),
                                  server_ptr->port(), server_ptr->stats().requests.load(),
                                  cur->series, cur->cycle, cur->publish_real_ns});
    }
    if (req.path == "/") return he::HttpResponse::text(200, landing, "text/html; charset=utf-8");
    return he::HttpResponse::text(404, "not found\n");
  };
  he::HttpServer server(hopts, [&](const he::HttpRequest& req) {
    if (tc_flags.cors && he::is_cors_preflight(req)) return he::cors_preflight();
    he::HttpResponse r = route(req);
    if (tc_flags.cors) he::add_cors_headers(r);
    return r;
  });
  server_ptr = &server;
  if (auto r = server.bind(); !r.ok()) return fail(r.error().message());

  // Signals are taken by one thread with sigwait; every other thread has them blocked.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The socket is bound: nothing left needs a capability.
  if (auto r = he::drop_all_capabilities(); !r.ok()) return fail(r.error().message());
  // no_new_privs + the allowlist, before any other thread exists (TSYNC covers library threads).
  if (no_seccomp) {
    hf::log::warn(
        "seccomp filter DISABLED by --no-seccomp: the exporter runs without its allowlist", {});
  } else if (auto r = hf::seccomp::install(policy, *mode); !r.ok()) {
    return fail("seccomp: " + r.error().message());
  } else {
    hf::log::info("seccomp", {{"mode", std::string(hf::seccomp::mode_name(*mode))},
                              {"status", hf::seccomp::self_status_summary()}});
  }

  std::atomic<bool> stop{false};
  if (popts.feeds) popts.feeds->start();  // under the filter: see docs/security.md
  pipeline.poll_once();
  std::thread poller([&] { pipeline.run(stop); });
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    hf::log::info("exporter stopping", {{"signal", std::to_string(sig)}});
    stop = true;
    server.stop();
  });
  hf::log::info("exporter started", {{"version", HOSTFLOW_VERSION},
                                     {"segment", popts.segment},
                                     {"listen", hopts.listen_address},
                                     {"port", std::to_string(server.port())},
                                     {"uid", std::to_string(::geteuid())}});
  server.run();
  stop = true;
  poller.join();
  if (popts.feeds) popts.feeds->stop();
  // The waiter only returns on a signal; when the server stopped for another reason, wake it.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}
