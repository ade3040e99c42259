#include "http/web_gate.h"

#include <sys/stat.h>

#include "hostflow/common/log.h"

namespace hostflow::exporter {

using metrics::Family;

std::vector<WebGate::FileId> WebGate::identify(const std::vector<std::string>& paths) {
  std::vector<FileId> out;
  for (const std::string& p : paths) {
    FileId id;
    id.path = p;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      id.dev = st.st_dev;
      id.ino = st.st_ino;
      id.size = st.st_size;
      id.mtime_ns =
          static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec;
    }
    out.push_back(std::move(id));
  }
  return out;
}

Result<WebGate::Loaded> WebGate::load(const std::string& path) {
  Loaded l;
  // Identities first, contents second: a change after the read is seen by the next refresh().
  const std::vector<FileId> config_id = identify({path});
  auto text = read_small_file(path, "--web.config.file");
  if (!text.ok()) return text.error();
  auto parsed = parse_web_config(*text, config_dir_of(path));
  if (!parsed.ok()) return Error{0, "--web.config.file " + path + ": " + parsed.error().message()};
  l.config = std::move(*parsed);
  std::vector<std::string> tls_files;
  for (const std::string* f :
       {&l.config.tls.cert_file, &l.config.tls.key_file, &l.config.tls.client_ca_file})
    if (!f->empty()) tls_files.push_back(*f);
  l.files = config_id;
  for (FileId& id : identify(tls_files)) l.files.push_back(std::move(id));
  if (l.config.tls.enabled) {
    auto ctx = make_tls_context(l.config.tls);
    if (!ctx.ok())
      return Error{ctx.error().code, "--web.config.file " + path + ": " + ctx.error().context};
    l.tls = std::move(*ctx);
  }
  return l;
}

Result<std::unique_ptr<WebGate>> WebGate::open(const std::string& path, bool healthy_without_auth) {
  auto l = load(path);
  if (!l.ok()) return l.error();
  std::unique_ptr<WebGate> g(new WebGate());
  g->path_ = path;
  g->healthy_without_auth_ = healthy_without_auth;
  g->tls_enabled_ = l->config.tls.enabled;
  g->apply(std::move(*l));
  log::info("web config loaded",
            {{"file", path},
             {"tls", g->tls_enabled_ ? "on" : "off"},
             {"client_auth", client_auth_name(g->config_.tls.client_auth)},
             {"users", std::to_string(g->config_.users.size())},
             {"rate_limit", g->config_.rate_limit.interval.count() > 0 ? "on" : "off"}});
  return g;
}

void WebGate::apply(Loaded l) {
  config_ = std::move(l.config);
  tls_ = std::move(l.tls);
  files_ = std::move(l.files);
  last_tried_.clear();
  auth_ = std::make_unique<BasicAuth>(config_.users);
  // A new bucket only when the limit changed: an unrelated edit does not refill it.
  if (!bucket_ || config_.rate_limit.interval != bucket_limit_.interval ||
      config_.rate_limit.burst != bucket_limit_.burst) {
    bucket_limit_ = config_.rate_limit;
    bucket_ = std::make_unique<TokenBucket>(config_.rate_limit);
  }
}

void WebGate::refresh() {
  std::vector<std::string> paths;
  for (const FileId& f : files_) paths.push_back(f.path);
  const std::vector<FileId> now = identify(paths);
  if (now == files_ || now == last_tried_) return;
  auto l = load(path_);
  std::string err;
  if (!l.ok())
    err = l.error().message();
  else if (l->config.tls.enabled != tls_enabled_)
    err = "--web.config.file " + path_ + ": TLS cannot be turned " + (tls_enabled_ ? "off" : "on") +
          " without a restart";
  if (!err.empty()) {
    stats_.reload_failures++;
    stats_.last_reload_ok = false;
    last_tried_ = now;
    log::error("web config not reloaded: keeping the last good one", {{"err", err}});
    return;
  }
  apply(std::move(*l));
  stats_.reload_successes++;
  stats_.last_reload_ok = true;
  log::info("web config reloaded", {{"file", path_}});
}

std::optional<HttpResponse> WebGate::admit(const HttpRequest& req) {
  if (healthy_without_auth_ && req.path == "/-/healthy") return std::nullopt;
  if (!bucket_->allow(std::chrono::steady_clock::now())) {
    stats_.rate_limited++;
    return HttpResponse::text(429, "Too Many Requests\n");
  }
  if (!auth_->enabled()) return std::nullopt;
  if (auto c = parse_basic_authorization(req.authorization);
      c && auth_->check(c->user, c->password))
    return std::nullopt;
  stats_.unauthorized++;
  HttpResponse r = HttpResponse::text(401, "Unauthorized\n");
  r.headers.emplace_back("WWW-Authenticate", "Basic");
  return r;
}

void WebGate::decorate(HttpResponse& r) const {
  for (const auto& h : config_.headers) r.headers.push_back(h);
}

metrics::FamilySet WebGate::families() const {
  metrics::FamilySet out;
  Family reloads("hostflow_exporter_web_config_reloads_total",
                 "Re-reads of --web.config.file after a change, by result (a failure keeps the "
                 "last good config).",
                 metrics::Type::kCounter);
  reloads.add({{"result", "success"}}, static_cast<double>(stats_.reload_successes.load()));
  reloads.add({{"result", "failure"}}, static_cast<double>(stats_.reload_failures.load()));
  out.add(std::move(reloads));
  out.add(std::move(Family("hostflow_exporter_web_config_last_reload_successful",
                           "1 when the last read of --web.config.file succeeded, 0 when the "
                           "config being served is older than the file.",
                           metrics::Type::kGauge)
                        .add(stats_.last_reload_ok.load() ? 1 : 0)));
  out.add(std::move(Family("hostflow_exporter_http_unauthorized_total",
                           "Requests refused with 401 (no, malformed or wrong basic auth).",
                           metrics::Type::kCounter)
                        .add(static_cast<double>(stats_.unauthorized.load()))));
  out.add(std::move(Family("hostflow_exporter_http_rate_limited_total",
                           "Requests refused with 429 by the web config's rate_limit.",
                           metrics::Type::kCounter)
                        .add(static_cast<double>(stats_.rate_limited.load()))));
  return out;
}

}  // namespace hostflow::exporter
