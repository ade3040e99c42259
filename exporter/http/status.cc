#include "http/status.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "areas/registry.h"
#include "hostflow/common/version.h"
#include "hostflow/shm/layout.h"
#include "http/health.h"
#include "outputs/otlp_env.h"

namespace hostflow::exporter {

using nlohmann::json;

namespace {

json time_or_null(double unix_seconds) {
  if (unix_seconds <= 0) return nullptr;
  return rfc3339(static_cast<std::uint64_t>(unix_seconds * 1e9));
}

json time_or_null_ns(std::uint64_t real_ns) {
  return real_ns ? json(rfc3339(real_ns)) : json(nullptr);
}

HttpResponse json_response(int status, const json& doc) {
  // dump() replaces invalid UTF-8 (a source's error text) instead of throwing.
  return HttpResponse::text(status, doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
                            "application/json");
}

// The seed's collectors (ENABLED_COLLECTORS) as hostflow's --platform.collectors names them.
struct PlatformCollector {
  const char* name;
  const char* help;
};
constexpr PlatformCollector kPlatformCollectors[] = {
    {"cpu", "CPU time by mode (/proc/stat)"},
    {"memory", "memory total, free, available, used (/proc/meminfo)"},
    {"filesystem", "size, free, available and used space of every real filesystem (statfs)"},
    {"processes", "process count (/proc)"},
    {"lxc", "each LXC container's memory, CPU, processes and root filesystem (cgroups, statfs)"},
};

// The segment's sources an area row names (its `sources` text lists them among other words).
std::vector<const SourceStatus*> area_sources(const AreaRow& row, const Model* m) {
  std::vector<const SourceStatus*> out;
  if (!m) return out;
  std::vector<std::string_view> words;
  const std::string_view t = row.sources;
  for (std::size_t i = 0; i < t.size();) {
    while (i < t.size() && !(std::islower(static_cast<unsigned char>(t[i])) || t[i] == '_')) i++;
    std::size_t j = i;
    while (j < t.size() && (std::islower(static_cast<unsigned char>(t[j])) || t[j] == '_')) j++;
    if (j > i) words.push_back(t.substr(i, j - i));
    i = j;
  }
  for (const SourceStatus& s : m->sources)
    if (std::find(words.begin(), words.end(), s.name) != words.end()) out.push_back(&s);
  return out;
}

json source_json(const SourceStatus& s) {
  return {
      {"name", s.name},
      {"state", std::string(source_state_name(s.state))},
      {"up", s.state == shm::SourceState::kOk},
      {"runs", s.runs_total},
      {"errors", s.errors_total},
      {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)},
      {"duration_seconds", static_cast<double>(s.duration_ns) / 1e9},
      {"last_success", time_or_null_ns(s.last_success_real_ns)},
      {"records", s.items},
  };
}

json sources_json(const Rendered& r) {
  json out = json::array();
  if (r.identity)
    for (const SourceStatus& s : r.identity->model.sources) out.push_back(source_json(s));
  return out;
}

// An area's state: "stale" without a fresh snapshot; else from its sources (failed before ok
// before absent before disabled); an area without sampler sources is "ok" when it rendered
// something and "disabled" when not.
json areas_json(const Rendered& r) {
  json out = json::array();
  const auto rows = area_table();
  const Model* m = r.identity ? &r.identity->model : nullptr;
  for (std::size_t i = 0; i < rows.size(); i++) {
    const AreaRendering a = i < r.areas.size() ? r.areas[i] : AreaRendering{};
    const auto srcs = area_sources(rows[i], m);
    json names = json::array();
    bool failed = false, ok = false, absent = false;
    for (const SourceStatus* s : srcs) {
      names.push_back(s->name);
      failed |= s->state == shm::SourceState::kFailed;
      ok |= s->state == shm::SourceState::kOk;
      absent |= s->state == shm::SourceState::kAbsent;
    }
    std::string state;
    if (!r.fresh)
      state = "stale";
    else if (srcs.empty())
      state = a.series > 0 ? "ok" : "disabled";
    else
      state = failed ? "failed" : ok ? "ok" : absent ? "absent" : "disabled";
    out.push_back({{"name", std::string(rows[i].stem)},
                   {"enabled", a.series > 0},
                   {"state", state},
                   {"sources", names},
                   {"families", a.families},
                   {"series", a.series},
                   {"docs", "docs/metrics.md#" + std::string(rows[i].docs)}});
  }
  return out;
}

double otlp_window_seconds(const OtlpConfig& o) {
  return 2 * std::chrono::duration<double>(o.interval).count() +
         std::chrono::duration<double>(o.timeout).count();
}

bool textfile_healthy(const OutputCounters& out) {
  return out.textfile_last_error_time <= 0 ||
         out.textfile_last_success >= out.textfile_last_error_time;
}

bool otlp_healthy(const ExporterConfig& cfg, const OutputCounters& out, std::uint64_t start_real_ns,
                  std::uint64_t now_real_ns) {
  const double now = static_cast<double>(now_real_ns) / 1e9;
  const double window = otlp_window_seconds(cfg.outputs.otlp);
  if (out.otlp_last_success > 0) return now - out.otlp_last_success <= window;
  // None accepted yet: healthy until one fails or the first should have been accepted.
  return out.otlp_rejected + out.otlp_exhausted == 0 &&
         now - static_cast<double>(start_real_ns) / 1e9 <= window;
}

json outputs_json(const ExporterConfig& cfg, const OutputCounters& out, std::uint64_t start_real_ns,
                  std::uint64_t now_real_ns) {
  json list = json::array();
  list.push_back({{"name", "metrics"},
                  {"path", cfg.web.telemetry_path},
                  {"listen_address", cfg.web.http.listen_address},
                  {"healthy", true}});
  if (out.textfile) {
    list.push_back({
        {"name", "textfile"},
        {"path", cfg.outputs.textfile.path},
        {"mode", cfg.outputs.textfile.mode_text},
        {"writes", out.textfile_writes},
        {"errors", out.textfile_errors},
        {"last_success", time_or_null(out.textfile_last_success)},
        {"last_error", out.textfile_last_error_time > 0
                           ? json{{"time", time_or_null(out.textfile_last_error_time)},
                                  {"message", out.textfile_last_error}}
                           : json(nullptr)},
        {"healthy", textfile_healthy(out)},
    });
  }
  if (out.otlp) {
    const OtlpConfig& o = cfg.outputs.otlp;
    list.push_back({
        {"name", "otlp"},
        {"endpoint", url_for_display(o.url)},
        {"protocol", o.grpc ? "grpc" : "http/protobuf"},
        {"interval_seconds", std::chrono::duration<double>(o.interval).count()},
        {"exports", out.otlp_exports},
        {"rejected", out.otlp_rejected},
        {"retries_exhausted", out.otlp_exhausted},
        {"retries", out.otlp_retries},
        {"dropped", out.otlp_dropped},
        {"queued", out.otlp_queued},
        {"last_success", time_or_null(out.otlp_last_success)},
        {"last_error", out.otlp_last_error_time > 0
                           ? json{{"time", time_or_null(out.otlp_last_error_time)},
                                  {"message", out.otlp_last_error}}
                           : json(nullptr)},
        {"healthy", otlp_healthy(cfg, out, start_real_ns, now_real_ns)},
    });
  }
  return list;
}

}  // namespace

bool exporter_healthy(const ExporterConfig& cfg, const OutputCounters& out,
                      std::uint64_t start_real_ns, std::uint64_t now_real_ns) {
  if (out.textfile && !textfile_healthy(out)) return false;
  if (out.otlp && !otlp_healthy(cfg, out, start_real_ns, now_real_ns)) return false;
  return true;
}

HttpResponse status_response(const Pipeline& p, std::uint64_t now_real_ns) {
  const auto cur = p.current();
  const ExporterConfig& cfg = p.config();
  const OutputCounters out = p.output_counters();
  const Model* m = cur->identity ? &cur->identity->model : nullptr;
  json platform = {
      {"kind", cur->platform_kind.empty() ? json(nullptr) : json(cur->platform_kind)},
      {"virtualization",
       cur->platform_virtualization.empty() ? json(nullptr) : json(cur->platform_virtualization)},
      {"collectors", cur->platform_collected},
  };
  json sampler = nullptr;
  if (m) {
    sampler = {
        {"pid", m->sampler_pid},
        {"start_time", time_or_null_ns(m->sampler_start_real_ns)},
        {"interval_seconds", static_cast<double>(m->interval_ns) / 1e9},
        {"generation", m->generation},
        {"collections", m->cycle},
        {"last_collection", time_or_null_ns(m->publish_real_ns)},
        {"last_collection_seconds_ago",
         now_real_ns >= m->publish_real_ns
             ? static_cast<double>(now_real_ns - m->publish_real_ns) / 1e9
             : 0.0},
    };
  }
  json profiles = json::array();
  for (const std::string& s : cfg.compat.profiles) profiles.push_back(s);
  const bool healthy = exporter_healthy(cfg, out, p.start_real_ns(), now_real_ns);
  json doc = {
      {"status", cur->fresh ? "ok" : "stale"},
      {"timestamp", rfc3339(now_real_ns)},
      {"versions",
       {{"exporter", HOSTFLOW_VERSION},
        {"revision", HOSTFLOW_REVISION},
        {"segment_schema",
         std::to_string(shm::kSchemaMajor) + "." + std::to_string(shm::kSchemaMinor)}}},
      {"service",
       {{"name", "hostflow-exporter"},
        {"start_time", rfc3339(p.start_real_ns())},
        {"uptime_seconds",
         static_cast<double>(now_real_ns - std::min(now_real_ns, p.start_real_ns())) / 1e9},
        {"segment", cfg.core.segment}}},
      {"platform", platform},
      {"sampler", sampler},
      {"sources", sources_json(*cur)},
      {"areas", areas_json(*cur)},
      {"outputs", outputs_json(cfg, out, p.start_real_ns(), now_real_ns)},
      {"compat", {{"profiles", profiles}, {"native", cfg.compat.native}}},
      {"exporter_healthy", healthy},
      // Seed 003's `exporter` object (its one output), for `jq .exporter` users.
      {"exporter",
       {{"healthy", healthy},
        {"prometheus_file", out.textfile ? json(cfg.outputs.textfile.path) : json(nullptr)},
        {"otlp_endpoint", out.otlp ? json(url_for_display(cfg.outputs.otlp.url)) : json(nullptr)}}},
  };
  if (!cur->fresh) doc["reason"] = cur->not_ready_reason;
  return json_response(200, doc);
}

HttpResponse collectors_response(const Pipeline& p) {
  const auto cur = p.current();
  json collectors = json::object();
  json enabled = json::array();
  for (const PlatformCollector& c : kPlatformCollectors) {
    const bool on = std::find(cur->platform_collected.begin(), cur->platform_collected.end(),
                              c.name) != cur->platform_collected.end();
    collectors[c.name] = {{"enabled", on}, {"help", c.help}};
    if (on) enabled.push_back(c.name);
  }
  json doc = {
      {"collectors", collectors},
      {"enabled_collectors", enabled},
      {"areas", areas_json(*cur)},
      {"sources", sources_json(*cur)},
  };
  return json_response(200, doc);
}

}  // namespace hostflow::exporter
