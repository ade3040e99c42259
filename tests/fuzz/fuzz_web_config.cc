// Fuzz target: --web.config.file (exporter/http/web_config.cc, yaml-cpp underneath) and the
// Authorization header parser (exporter/http/web_auth.cc), the two parsers of the exporter's
// authentication. The file is the operator's, but a broken edit is re-read on the HTTP server
// thread and must never crash it; the header is anyone's on the network. Checks: a parsed config
// keeps the invariants the server relies on (TLS on means a cert and a key; every user's hash is
// a bcrypt hash; a rate limit has a burst), and credentials split at the first colon.
#include <cstdint>
#include <string_view>

#include "http/web_auth.h"
#include "http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace hostflow::exporter;
  auto r = parse_web_config(in, "/etc/hostflow");
  if (r.ok()) {
    const TlsServerConfig& t = r->tls;
    if (t.enabled && t.cert.empty() && t.cert_file.empty()) __builtin_trap();
    if (t.enabled && t.key.empty() && t.key_file.empty()) __builtin_trap();
    if (t.min_version > t.max_version) __builtin_trap();
    if (!t.cert_file.empty() && t.cert_file[0] != '/') __builtin_trap();
    for (const auto& [u, h] : r->users)
      if (bcrypt_cost(h) < 0) __builtin_trap();
    if (r->rate_limit.interval.count() > 0 && r->rate_limit.burst < 1) __builtin_trap();
    for (const auto& [k, v] : r->headers)
      if (v.find('\n') != std::string::npos || v.find('\r') != std::string::npos) __builtin_trap();
  } else if (r.error().message().find('\n') != std::string::npos) {
    __builtin_trap();  // one line
  }
  if (auto c = parse_basic_authorization(in)) {
    if (c->user.find(':') != std::string::npos) __builtin_trap();
  }
  return 0;
}
