// hostflow-exporter: runs as its own unprivileged user, maps the sampler's segment read-only and
// serves Prometheus metrics. Reads top to bottom in startup order: flags -> validate (no I/O) ->
// refuse root -> boot id -> areas open what they need -> --web.config.file (TLS context: OpenSSL
// initialised) -> bind -> drop every capability ->
// no_new_privs + seccomp -> areas start -> poll thread -> serve.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "config.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/seccomp.h"
#include "hostflow/common/version.h"
#include "http/routes.h"
#include "http/server.h"
#include "http/web_gate.h"
#include "pipeline.h"
#include "privilege/capabilities.h"
#include "privilege/seccomp_policy.h"

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

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena. glibc gives each allocating thread an arena of its own (up to 8 per core),
  // and each keeps its own high-water mark: here the main thread's first rendering, the poll
  // thread's renderings and the HTTP thread's scrape tails. With one, what a rendering frees is
  // what the next one and the scrapes reuse (issue 13: 4-5 MB less RSS at 200 x 10). The threads
  // rarely allocate at the same time (a scrape's tail is a few kB), so the shared lock costs
  // nothing measurable. No syscall: nothing for the seccomp policy.
  mallopt(M_ARENA_MAX, 1);
  CLI::App app{"hostflow-exporter: serves the hostflow segment as Prometheus metrics"};
  he::ExporterConfig cfg;
  he::add_flags(app, cfg);
  CLI11_PARSE(app, argc, argv);
  // The OTEL_* variables the OTLP output honours (flags win: validate() resolves them, no I/O).
  for (const std::string& name : he::otlp_environment_names())
    if (const char* v = std::getenv(name.c_str())) cfg.outputs.otlp.env[name] = v;
  if (cfg.core.version) {
    std::printf("hostflow-exporter %s (%s)\n", HOSTFLOW_VERSION, HOSTFLOW_REVISION);
    return 0;
  }
  if (auto r = he::validate(cfg); !r.ok()) return fail(r.error().message());
  const auto mode = *hf::seccomp::parse_mode(cfg.core.seccomp_mode);
  if (cfg.core.print_policy) {
    he::Pipeline shown_pipeline(cfg, {});
    he::ExporterPolicyOptions needs = shown_pipeline.policy_needs();
    needs.log_file = !cfg.core.log_file.empty();
    needs.tls = !cfg.web.config_file.empty();  // the TLS group, if the file turns TLS on
    needs.wake_dir_fd = cfg.web.enable_admin_api ? 3 : -1;
    hf::seccomp::Policy shown = he::exporter_policy(needs);
    if (!cfg.haproxy.opts.logs.empty() || cfg.web.enable_admin_api)
      shown.notes.push_back(
          "dirfd 3 stands for the directory fd opened at start (the state directory, the "
          "segment's for the wake channel)");
    std::fputs(hf::seccomp::format(shown, mode).c_str(), stdout);
    return 0;
  }
  if (::geteuid() == 0 && !cfg.core.allow_root) {
    return fail(
        "refusing to run as root: the exporter needs no privilege. Run it as its own user "
        "(e.g. `runuser -u hostflow -- hostflow-exporter`), or pass --allow-root");
  }
  if (!cfg.core.log_file.empty()) {
    std::string err;
    if (!hf::log::set_file(cfg.core.log_file, &err)) return fail("--log.file: " + err);
  }
  auto boot = hf::read_boot_id(cfg.core.procfs);
  if (!boot.ok()) return fail("boot id: " + boot.error().message() + " (is --path.procfs right?)");

  he::Pipeline pipeline(cfg, *boot);
  if (auto r = pipeline.open(); !r.ok()) return fail(r.error().message());
  // Read and checked before the filter; a broken file is a startup error.
  std::unique_ptr<he::WebGate> gate;
  if (!cfg.web.config_file.empty()) {
    auto g = he::WebGate::open(cfg.web.config_file, cfg.web.healthy_without_auth);
    if (!g.ok()) return fail(g.error().message());
    gate = std::move(*g);
  }
  // POST /collect: the segment's directory, where the sampler's wake FIFO is opened per request.
  std::optional<he::WakeWriter> wake;
  if (cfg.web.enable_admin_api) {
    auto w = he::WakeWriter::open(cfg.core.segment);
    if (w.ok())
      wake = std::move(*w);
    else
      hf::log::warn("POST /collect will answer 503", {{"err", w.error().message()}});
  }
  he::ExporterPolicyOptions needs = pipeline.policy_needs();
  needs.log_file = !cfg.core.log_file.empty();
  needs.tls = gate && gate->tls_enabled();
  needs.wake_dir_fd = wake ? wake->dir_fd() : -1;
  const hf::seccomp::Policy policy = he::exporter_policy(needs);
  he::Routes routes(cfg.web, pipeline);
  if (wake) routes.set_wake(&*wake);
  he::HttpServer server(cfg.web.http,
                        [&](const he::HttpRequest& req) { return routes.handle(req); });
  routes.set_server(&server);
  if (gate) {
    routes.set_gate(gate.get());
    if (gate->tls_enabled())
      server.set_tls([&gate] {
        gate->refresh();  // a rotated certificate serves from this handshake on
        return gate->tls_context();
      });
  }
  if (auto r = server.bind(); !r.ok()) return fail(r.error().message());

  // Signals are taken by one thread with sigwait; every other thread has them blocked.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);  // --log.file: reopen (logrotate)
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The socket is bound: nothing left needs a capability.
  if (auto r = he::drop_all_capabilities(); !r.ok()) return fail(r.error().message());
  // no_new_privs + the allowlist, before any other thread exists (TSYNC covers library threads).
  if (cfg.core.no_seccomp) {
    hf::log::warn(
        "seccomp filter DISABLED by --no-seccomp: the exporter runs without its allowlist", {});
  } else if (auto r = hf::seccomp::install(policy, mode); !r.ok()) {
    return fail("seccomp: " + r.error().message());
  } else {
    hf::log::info("seccomp", {{"mode", std::string(hf::seccomp::mode_name(mode))},
                              {"status", hf::seccomp::self_status_summary()}});
  }

  std::atomic<bool> stop{false};
  pipeline.start();  // under the filter: see docs/security.md
  pipeline.poll_once();
  std::thread poller([&] { pipeline.run(stop); });
  std::thread waiter([&] {
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
      std::string err;
      if (cfg.core.log_file.empty())
        hf::log::info("SIGHUP ignored: no --log.file to reopen", {});
      else if (hf::log::reopen_file(&err))
        hf::log::info("log file reopened (SIGHUP)", {{"path", cfg.core.log_file}});
      else
        hf::log::error("log file not reopened: keeping the old one", {{"err", err}});
    }
    hf::log::info("exporter stopping", {{"signal", std::to_string(sig)}});
    stop = true;
    server.stop();
  });
  hf::log::info("exporter started",
                {{"version", HOSTFLOW_VERSION},
                 {"segment", cfg.core.segment},
                 {"listen", cfg.web.http.systemd_socket ? std::string("systemd socket")
                                                        : cfg.web.http.listen_address},
                 {"tls", gate && gate->tls_enabled() ? "on" : "off"},
                 {"port", std::to_string(server.port())},
                 {"uid", std::to_string(::geteuid())}});
  server.run();
  stop = true;
  poller.join();
  pipeline.stop();
  // The waiter only returns on a signal; when the server stopped for another reason, wake it.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}
