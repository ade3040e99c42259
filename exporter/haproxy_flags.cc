#include "haproxy_flags.h"

#include "hostflow/common/clock.h"

namespace hostflow::exporter {

void add_haproxy_flags(CLI::App& app, HaproxyFlags& flags) {
  app.add_option("--haproxy.log", flags.opts.logs,
                 "HAProxy log file to count TLS traffic per SNI from (repeatable); off when not "
                 "given. See docs/haproxy.md for the log-format");
  app.add_option("--haproxy.position-file", flags.opts.position_file,
                 "checkpoint of positions and counters (default: haproxy-position.json in "
                 "--state.dir)");
  app.add_flag("--haproxy.reset", flags.opts.reset,
               "ignore the position file: read every log from its beginning, counters from zero");
  app.add_option("--haproxy.fields", flags.fields,
                 "1-based positions of the space-separated fields in the HAProxy message (after "
                 "any syslog prefix), for an existing log-format")
      ->capture_default_str();
  app.add_option("--haproxy.sni-limit", flags.opts.sni_limit,
                 "most SNIs with their own series (the busiest); the rest are summed in "
                 "sni=\"<other>\"")
      ->capture_default_str();
  app.add_option("--haproxy.render-interval", flags.render_interval,
                 "how often new log lines are checkpointed and show in the metrics")
      ->capture_default_str();
  app.add_flag("--web.enable-admin-api", flags.enable_admin_api,
               "enable POST /reset (resets the SNI counters and the VM traffic windows)");
}

Result<std::unique_ptr<HaproxyTailer>> finish_haproxy_flags(HaproxyFlags& flags,
                                                            const std::string& state_dir) {
  std::string err;
  const auto fields = parse_haproxy_fields(flags.fields, &err);
  if (!fields) return Error{0, "--haproxy.fields: " + err};
  flags.opts.fields = *fields;
  if (flags.opts.sni_limit < 1 || flags.opts.sni_limit > 100000)
    return Error{0, "--haproxy.sni-limit: want 1 to 100000"};
  const auto ri = parse_duration(flags.render_interval);
  if (!ri || *ri < std::chrono::milliseconds(100))
    return Error{0, "--haproxy.render-interval: want a duration of at least 100ms (got " +
                        flags.render_interval + ")"};
  flags.opts.render_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*ri);
  if (flags.opts.logs.empty()) {
    if (!flags.opts.position_file.empty() || flags.opts.reset)
      return Error{0, "--haproxy.position-file and --haproxy.reset need --haproxy.log"};
    return std::unique_ptr<HaproxyTailer>{};
  }
  for (std::size_t i = 0; i < flags.opts.logs.size(); i++) {
    for (std::size_t j = 0; j < i; j++) {
      if (flags.opts.logs[i] == flags.opts.logs[j])
        return Error{0, "--haproxy.log: " + flags.opts.logs[i] + " named twice"};
    }
  }
  if (flags.opts.position_file.empty()) {
    flags.opts.position_file = state_dir + "/haproxy-position.json";
    flags.opts.create_dir = true;  // the state directory itself; never a parent chain
  }
  return HaproxyTailer::open(flags.opts);
}

}  // namespace hostflow::exporter
