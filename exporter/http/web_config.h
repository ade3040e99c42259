// WebConfigFile: the contents of --web.config.file, prometheus/exporter-toolkit's web configuration
// (docs/web-configuration.md, web/tls_config.go), as plain data. parse_web_config() is a pure
// function from the YAML text to this struct or one error line: unknown keys, duplicate keys and
// invalid values are errors, as the toolkit's yaml.UnmarshalStrict makes them. It opens no file:
// relative paths are joined with the config file's directory (as the toolkit's SetDirectory does)
// and read later by http/web_gate.cc. Go's names (cipher suites, curves) are translated to
// OpenSSL's here, so nothing after this point knows Go's spelling.
// hostflow-exporter: parsed at start (before the seccomp filter) and again on the HTTP server
// thread when the file changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hostflow/common/result.h"

namespace hostflow::exporter {

// Go's crypto/tls ClientAuthType, by the toolkit's names ("RequireClientCert" is its old alias of
// RequireAnyClientCert).
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,           // asked for, not required, not verified
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // not required, verified when sent
  kRequireAndVerifyClientCert,  // required and verified
};
const char* client_auth_name(ClientAuth a);
// A certificate must be sent / a sent certificate is verified against the client CAs.
bool client_cert_required(ClientAuth a);
bool client_cert_verified(ClientAuth a);

struct TlsServerConfig {
  // True when any TLS key is set (the toolkit's IsEnabled): then cert and key are required.
  bool enabled = false;
  // PEM material: from a file (absolute after parsing) or inline; exactly one of each pair.
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  // A client certificate must carry one of these as a DNS, e-mail, IP or URI SAN (exact match).
  std::vector<std::string> client_allowed_sans;
  // Protocol versions as on the wire (0x0301 TLS 1.0 ... 0x0304 TLS 1.3).
  std::uint16_t min_version = 0x0303, max_version = 0x0304;
  // OpenSSL names of the TLS 1.0-1.2 suites, in the file's order (empty: OpenSSL's defaults). Go
  // ignores a TLS 1.3 suite in the list (those are not configurable); so do we.
  std::vector<std::string> cipher_suites;
  // OpenSSL group names (P-256, P-384, P-521, X25519), in preference order (empty: defaults).
  std::vector<std::string> curve_preferences;
  bool prefer_server_cipher_suites = true;
};

struct RateLimit {
  std::chrono::nanoseconds interval{0};  // 0: no rate limit
  int burst = 0;
};

struct WebConfigFile {
  TlsServerConfig tls;
  bool http2 = true;  // accepted; hostflow serves HTTP/1.1 only (docs/security.md)
  // http_server_config.headers: only the five names the toolkit allows, in the file's order.
  std::vector<std::pair<std::string, std::string>> headers;
  // basic_auth_users: user -> bcrypt hash ($2a$, $2b$, $2y$). Empty: no authentication.
  std::map<std::string, std::string> users;
  RateLimit rate_limit;
};

// Files larger than this are refused before YAML parsing (a web config is a few kB).
inline constexpr std::size_t kMaxWebConfigBytes = 1 << 20;

// Parses and validates the file's text. `dir` is the config file's directory (relative paths in
// the file are joined with it). The error is one line naming the key, e.g.
// "tls_server_config.min_version: unknown TLS version \"TLS14\" (want TLS10, TLS11, TLS12, TLS13)".
Result<WebConfigFile> parse_web_config(std::string_view yaml, std::string_view dir);

// Go's time.ParseDuration ("1s", "1m30s", "250ms", "1.5h"); false when malformed or negative.
bool parse_go_duration(std::string_view s, std::chrono::nanoseconds* out);

// The bcrypt cost of a well-formed $2a$/$2b$/$2y$ hash (60 characters, cost 4-31), or -1.
int bcrypt_cost(std::string_view hash);

// The directory part of a path as the toolkit's filepath.Dir: "a/b.yml" -> "a", "b.yml" -> ".".
std::string config_dir_of(std::string_view path);

}  // namespace hostflow::exporter
