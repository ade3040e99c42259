#include "areas/haproxy/haproxy_area.h"

#include <atomic>

#include "config.h"
#include "hostflow/common/units.h"

namespace hostflow::exporter {

void add_haproxy_flags(CLI::App& app, ExporterConfig& cfg) {
  HaproxyConfig& flags = cfg.haproxy;
  app.add_option("--haproxy.log", flags.opts.logs,
                 "HAProxy log file to count TLS traffic per SNI from (repeatable); off when not "
                 "given. See docs/haproxy.md for the log-format");
  app.add_option("--haproxy.position-file", flags.opts.position_file,
                 "checkpoint of positions and counters (default: haproxy-position.json in "
                 "--state.dir)");
  app.add_flag("--haproxy.reset", flags.opts.reset,
               "ignore the position file: read every log from its beginning, counters from zero");
  app.add_option("--haproxy.format", flags.format,
                 "how a line carries SNI and bytes: fields (at --haproxy.fields positions) or "
                 "sni-marker (the Traffic Exporter's SNI=<name>, bytes the last number before it)")
      ->capture_default_str();
  app.add_option("--haproxy.import-position", flags.opts.import_position,
                 "the Traffic Exporter's position file (-pos: a byte offset into the one "
                 "--haproxy.log), imported once when there is no checkpoint yet");
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
}

Result<void> validate_haproxy(ExporterConfig& cfg) {
  HaproxyConfig& flags = cfg.haproxy;
  std::string err;
  const auto format = parse_haproxy_format(flags.format);
  if (!format)
    return Error{0, "--haproxy.format: want fields or sni-marker, got \"" + flags.format + "\""};
  flags.opts.format = *format;
  const auto fields = parse_haproxy_fields(flags.fields, &err);
  if (!fields) return Error{0, "--haproxy.fields: " + err};
  flags.opts.fields = *fields;
  if (flags.opts.sni_limit < 1 || flags.opts.sni_limit > 100000)
    return Error{0, "--haproxy.sni-limit: want 1 to 100000"};
  const auto ri = duration_flag_ms("--haproxy.render-interval", flags.render_interval,
                                   std::chrono::milliseconds(100));
  if (!ri.ok()) return ri.error();
  flags.opts.render_interval = *ri;
  if (flags.opts.logs.empty()) {
    if (!flags.opts.position_file.empty() || flags.opts.reset ||
        !flags.opts.import_position.empty())
      return Error{0,
                   "--haproxy.position-file, --haproxy.reset and --haproxy.import-position need "
                   "--haproxy.log"};
    return {};
  }
  if (!flags.opts.import_position.empty() && flags.opts.logs.size() != 1)
    return Error{0,
                 "--haproxy.import-position: the Traffic Exporter's position is for one log; "
                 "name exactly one --haproxy.log"};
  for (std::size_t i = 0; i < flags.opts.logs.size(); i++) {
    for (std::size_t j = 0; j < i; j++) {
      if (flags.opts.logs[i] == flags.opts.logs[j])
        return Error{0, "--haproxy.log: " + flags.opts.logs[i] + " named twice"};
    }
  }
  if (flags.opts.position_file.empty()) {
    flags.opts.position_file = cfg.core.state_dir + "/haproxy-position.json";
    flags.opts.create_dir = true;  // the state directory itself; never a parent chain
  }
  return {};
}

namespace {

class HaproxyArea final : public Area {
 public:
  explicit HaproxyArea(const HaproxyConfig& c) : cfg_(c) {}

  // Before the seccomp filter: the checkpoint directory and the logs are opened.
  Result<void> open() override {
    if (cfg_.opts.logs.empty()) return {};
    auto t = HaproxyTailer::open(cfg_.opts);
    if (!t.ok()) return t.error();
    tailer_ = std::move(*t);
    return {};
  }
  void policy_needs(ExporterPolicyOptions& o) const override {
    // Not yet opened (--print-seccomp-policy): the directory's fd is shown as 3.
    if (!cfg_.opts.logs.empty()) o.haproxy_state_dir_fd = tailer_ ? tailer_->state_dir_fd() : 3;
  }
  bool poll(std::uint64_t now_mono_ns, bool force) override {
    if (!tailer_) return false;
    if (reset_.exchange(false)) tailer_->reset_stats();
    return tailer_->poll(now_mono_ns, force);
  }
  void reset() override { reset_ = true; }
  void emit(const EmitContext&, metrics::FamilySet& out) const override {
    if (tailer_) tailer_->append_families(&out);
  }

 private:
  HaproxyConfig cfg_;
  std::unique_ptr<HaproxyTailer> tailer_;
  std::atomic<bool> reset_{false};
};

}  // namespace

std::unique_ptr<Area> make_haproxy_area(const ExporterConfig& cfg) {
  return std::make_unique<HaproxyArea>(cfg.haproxy);
}

}  // namespace hostflow::exporter
