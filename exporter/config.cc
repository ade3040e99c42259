#include "config.h"

#include <algorithm>

#include "areas/registry.h"
#include "hostflow/common/log.h"
#include "hostflow/common/seccomp.h"
#include "hostflow/common/units.h"

namespace hostflow::exporter {

namespace {

void add_core_flags(CLI::App& app, CoreConfig& c) {
  app.add_option("--segment", c.segment, "segment file written by hostflow-sampler")
      ->capture_default_str();
  app.add_option("--segment.poll-interval", c.poll_interval_text,
                 "how often to look for a new snapshot")
      ->capture_default_str();
  app.add_option("--path.procfs", c.procfs, "procfs mount point (for the boot id)")
      ->capture_default_str();
  app.add_option("--state.dir", c.state_dir,
                 "directory the exporter owns for state kept across restarts (feed caches, log "
                 "positions); the unit's StateDirectory")
      ->capture_default_str();
  app.add_option("--log.level", c.log_level, "debug, info, notice, warn or error")
      ->capture_default_str();
  app.add_option("--log.format", c.log_format, "logfmt or json")->capture_default_str();
  app.add_option("--log.file", c.log_file,
                 "also append every log line to this file (reopened on SIGHUP, for logrotate; "
                 "the unit's LogsDirectory is /var/log/hostflow-exporter/)");
  app.add_flag("--allow-root", c.allow_root,
               "run even as root (not recommended: the exporter needs no privilege)");
  app.add_option("--seccomp", c.seccomp_mode,
                 "what the seccomp filter does with a syscall outside the allowlist: kill, log "
                 "(allow, audit line in dmesg) or trap (name it on stderr and exit: debugging)")
      ->capture_default_str();
  app.add_flag("--no-seccomp", c.no_seccomp,
               "run without the seccomp filter (unsafe; logs a warning at every start)");
  app.add_flag("--print-seccomp-policy", c.print_policy,
               "print the seccomp allowlist and exit (for auditors)");
  app.add_flag("--version", c.version, "print the version and exit");
}

void add_web_flags(CLI::App& app, WebConfig& w) {
  app.add_option("--web.listen-address", w.http.listen_address,
                 "address to serve on: host:port, [v6]:port or :port (all addresses)")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", w.telemetry_path, "path of the metrics endpoint")
      ->capture_default_str();
  app.add_option("--web.max-connections", w.http.max_connections,
                 "concurrent HTTP connections; at the cap a new one closes the oldest idle or "
                 "still-reading connection (503 only when every connection is writing)")
      ->capture_default_str();
  app.add_option("--web.max-connections-per-source", w.http.max_connections_per_source,
                 "concurrent HTTP connections from one source address (0: no cap); a new one "
                 "closes that address's oldest idle or still-reading connection")
      ->capture_default_str();
  app.add_option("--web.read-header-timeout", w.read_header_timeout_text,
                 "time a client has to send a request's head, after connecting or after the "
                 "previous response (the keep-alive idle limit)")
      ->capture_default_str();
  app.add_option("--web.read-timeout", w.read_timeout_text,
                 "time a client has to send one whole request (head and body)")
      ->capture_default_str();
  // Two flags: the default depends on --compat (NetProbe's users have CORS on).
  CLI::Option* cors_on = app.add_flag_callback(
      "--web.cors", [&w] { w.cors_flag = 1; },
      "answer with Access-Control-Allow-Origin: * and accept OPTIONS preflights (lets a browser "
      "dashboard on another origin read the endpoints; default off, on with --compat=netprobe)");
  CLI::Option* cors_off = app.add_flag_callback(
      "--no-web.cors", [&w] { w.cors_flag = 0; }, "no CORS headers, also with --compat=netprobe");
  cors_on->excludes(cors_off);
  // Two flags rather than "--web.gzip,!--no-web.gzip": CLI11 prints the negated form's value
  // ({false}) after the pair, which read as "gzip is off by default" while it is on.
  CLI::Option* gzip_on = app.add_flag(
      "--web.gzip", w.gzip, "gzip the metrics when the client accepts it (on by default)");
  CLI::Option* gzip_off = app.add_flag_callback(
      "--no-web.gzip", [&w] { w.gzip = false; },
      "never gzip the metrics (default: gzip when the client accepts it)");
  gzip_on->excludes(gzip_off);
  app.add_flag("--web.enable-admin-api", w.enable_admin_api,
               "enable POST /reset (resets the SNI counters and the VM traffic windows), POST "
               "/collect (wakes the sampler for a cycle now) and setting /debug/log-level");
  app.add_option("--web.collect-timeout", w.collect_timeout_text,
                 "how long POST /collect waits for the new snapshot to be rendered before it "
                 "answers 202 (admin API)")
      ->capture_default_str();
  app.add_option("--web.config.file", w.config_file,
                 "exporter-toolkit web config (YAML): TLS, client certificates, bcrypt basic auth, "
                 "headers, rate limit; re-read when it or its certificates change");
  app.add_flag("--web.systemd-socket", w.http.systemd_socket,
               "serve the listening socket systemd passes (socket activation, the .socket unit) "
               "instead of binding --web.listen-address");
  app.add_flag("--web.healthy-without-auth", w.healthy_without_auth,
               "serve /-/healthy without basic auth and rate limit (kubelet or systemd probes); "
               "every other endpoint stays behind --web.config.file");
}

}  // namespace

void add_flags(CLI::App& app, ExporterConfig& cfg) {
  add_core_flags(app, cfg.core);
  add_web_flags(app, cfg.web);
  for (const AreaRow& row : area_table())
    if (row.add_flags) row.add_flags(app, cfg);
  add_compat_flags(app, cfg.compat);
  add_output_flags(app, cfg.outputs);
}

Result<void> validate(ExporterConfig& cfg) {
  CoreConfig& c = cfg.core;
  if (!log::set_level(c.log_level)) return Error{0, "--log.level: unknown level " + c.log_level};
  if (!log::set_format(c.log_format))
    return Error{0, "--log.format: unknown format " + c.log_format};
  if (!c.log_file.empty() && c.log_file[0] != '/')
    return Error{0, "--log.file: want an absolute path (got \"" + c.log_file + "\")"};
  if (!seccomp::parse_mode(c.seccomp_mode))
    return Error{0, "--seccomp: want kill, log or trap (got " + c.seccomp_mode + ")"};
  const auto poll = duration_flag_ms("--segment.poll-interval", c.poll_interval_text,
                                     std::chrono::milliseconds(10));
  if (!poll.ok()) return poll.error();
  c.poll_interval = *poll;

  WebConfig& w = cfg.web;
  const std::string& tp = w.telemetry_path;
  if (tp.empty() || tp[0] != '/' || tp == "/" || tp.rfind("/-/", 0) == 0)
    return Error{0, "--web.telemetry-path: want a path like /metrics (got \"" + tp + "\")"};
  const auto rt =
      duration_flag_ms("--web.read-timeout", w.read_timeout_text, std::chrono::milliseconds(100));
  if (!rt.ok()) return rt.error();
  w.http.read_timeout = *rt;
  const auto rht = duration_flag_ms("--web.read-header-timeout", w.read_header_timeout_text,
                                    std::chrono::milliseconds(100));
  if (!rht.ok()) return rht.error();
  w.http.read_header_timeout = *rht;
  const auto ct = duration_flag_ms("--web.collect-timeout", w.collect_timeout_text,
                                   std::chrono::milliseconds(100), std::chrono::seconds(60));
  if (!ct.ok()) return ct.error();
  w.collect_timeout = *ct;
  if (w.http.max_connections == 0) return Error{0, "--web.max-connections: must be at least 1"};
  if (w.healthy_without_auth && w.config_file.empty())
    return Error{0, "--web.healthy-without-auth: only means something with --web.config.file"};

  for (const AreaRow& row : area_table()) {
    if (!row.validate) continue;
    if (auto r = row.validate(cfg); !r.ok()) return r.error();
  }
  if (auto r = validate_compat(cfg.compat); !r.ok()) return r.error();
  if (auto r = validate_outputs(cfg.outputs); !r.ok()) return r.error();
  const auto& on = cfg.compat.profiles;
  w.cors =
      w.cors_flag >= 0 ? w.cors_flag == 1 : std::find(on.begin(), on.end(), "netprobe") != on.end();
  return {};
}

}  // namespace hostflow::exporter
