// TlsContext: one OpenSSL server context (through Boost.Asio's ssl::context) built from
// tls_server_config: certificate and key (files or inline PEM), protocol versions, TLS 1.2 cipher
// suites, groups, server cipher preference, and the client certificate policy (the five
// client_auth_type values, the client CAs, client_allowed_sans checked in the verify callback so a
// certificate without an allowed SAN fails the handshake, as Go's VerifyPeerCertificate does).
// Immutable once built: a certificate rotated on disk gives a new context (http/web_gate.cc), and
// each connection keeps the one it was accepted with.
// hostflow-exporter: built at start (before the seccomp filter: OpenSSL loads its configuration
// and seeds its DRBG then) and on the HTTP server thread when a file changes.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "hostflow/common/result.h"
#include "http/web_config.h"

namespace hostflow::exporter {

struct TlsContext {
  TlsContext() : ctx(boost::asio::ssl::context::tls_server) {}
  boost::asio::ssl::context ctx;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::vector<std::string> allowed_sans;
};

// Reads the files `t` names and builds the context; the error names the key and the reason.
Result<std::shared_ptr<TlsContext>> make_tls_context(const TlsServerConfig& t);

// The SANs of a certificate as Go lists them for client_allowed_sans: DNS names, e-mail addresses,
// IP addresses (Go's net.IP.String() form) and URIs. For tests and the verify callback.
std::vector<std::string> certificate_sans(const struct x509_st* cert);

// Reads a whole (small) file; the error names `what` and the path.
Result<std::string> read_small_file(const std::string& path, const std::string& what);

}  // namespace hostflow::exporter
