// WebGate: --web.config.file at run time, in front of every route. Holds the last good config
// (the parsed file, its users, its rate limit, its TLS context); refresh() re-reads the file when
// it or a certificate, key or CA file it names changed (size, mtime, inode), so a rotated
// certificate is served from the next handshake without a restart. A broken edit (bad YAML, a
// missing file, a key that does not match) keeps the last good config: logged once per change and
// counted in hostflow_exporter_web_config_reloads_total{result="failure"}; the endpoint never
// opens. Whether TLS is on is fixed at start (turning it on or off is a failed reload).
// admit() applies the rate limit (429) and basic auth (401 with WWW-Authenticate: Basic) to every
// path, /-/healthy too unless --web.healthy-without-auth; decorate() adds the configured headers.
// hostflow-exporter: opened before the seccomp filter; then used on the HTTP server thread only
// (bcrypt runs there: the toolkit serialises it too; cached results make a scrape's check cheap).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hostflow/common/result.h"
#include "http/server.h"
#include "http/tls_context.h"
#include "http/web_auth.h"
#include "http/web_config.h"
#include "metrics/family.h"

namespace hostflow::exporter {

struct WebGateStats {
  std::atomic<std::uint64_t> reload_successes{0}, reload_failures{0};
  std::atomic<bool> last_reload_ok{true};
  std::atomic<std::uint64_t> unauthorized{0}, rate_limited{0};
};

class WebGate {
 public:
  // Reads and checks the file and the TLS material it names: an error here is fatal at start.
  static Result<std::unique_ptr<WebGate>> open(const std::string& path, bool healthy_without_auth);

  void refresh();
  bool tls_enabled() const { return tls_enabled_; }
  std::shared_ptr<TlsContext> tls_context() const { return tls_; }
  // The refusal to send (401 or 429), or nullopt to serve the request.
  std::optional<HttpResponse> admit(const HttpRequest& req);
  void decorate(HttpResponse& r) const;
  const WebGateStats& stats() const { return stats_; }
  // hostflow_exporter_web_config_* and the refusals, for /metrics.
  metrics::FamilySet families() const;

 private:
  struct FileId {
    std::string path;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    long long mtime_ns = -1;
    bool operator==(const FileId&) const = default;
  };
  struct Loaded {
    WebConfigFile config;
    std::shared_ptr<TlsContext> tls;
    std::vector<FileId> files;  // the config file, then the TLS files it names
  };
  static Result<Loaded> load(const std::string& path);
  static std::vector<FileId> identify(const std::vector<std::string>& paths);
  void apply(Loaded l);

  std::string path_;
  bool healthy_without_auth_ = false;
  bool tls_enabled_ = false;
  WebConfigFile config_;
  std::shared_ptr<TlsContext> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::unique_ptr<TokenBucket> bucket_;
  RateLimit bucket_limit_;
  std::vector<FileId> files_;       // of the config being served
  std::vector<FileId> last_tried_;  // of the last failed reload (not retried until it changes)
  WebGateStats stats_;
};

}  // namespace hostflow::exporter
