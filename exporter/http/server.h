// HttpServer: the exporter's HTTP/1.1 server (Boost.Beast). Bounded in every dimension a client
// controls: concurrent connections (--web.max-connections, and per source address
// --web.max-connections-per-source), header and body size, and time (a short deadline for a
// request's head, one for the whole request, one for writing a response). At a connection cap the
// oldest connection that is not writing a response (idle, or still sending its request) is closed
// to make room, so idle or trickling clients cannot hold every slot; only when every connection is
// busy writing does a new one get 503. Handlers run on the server thread and must not block:
// /metrics serves a pre-rendered buffer; a handler that has to wait returns a `pending` response
// the server polls with a timer.
// With set_tls() every connection is TLS (Boost.Asio's ssl stream over OpenSSL): the handshake
// counts as the wait for the request's head (same deadline, evictable like an idle connection),
// and each connection takes the provider's context at accept, so a new certificate serves from
// the next handshake on.
// Runs in hostflow-exporter; bind() happens before the seccomp filter, run() after.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hostflow/common/result.h"
#include "http/options.h"

namespace hostflow::exporter {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent, e.g. "/metrics?x=1"
  std::string path;    // without the query
  std::string remote;  // "ip:port"
  std::string accept_encoding;
  std::string origin;
  std::string authorization;
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  // The body is `parts` in order, then `owned`. Views in `parts` must stay valid while
  // `keepalive` is held (never point them into `owned`: moving a short string moves its bytes).
  std::vector<std::string_view> parts;
  std::string owned;
  std::shared_ptr<const void> keepalive;
  // Non-empty: not the answer yet (POST /collect waits for the next snapshot). The server calls
  // it on its own thread every 10 ms until it returns true, having filled in
  // the response to send; it must not block and must give an answer by its own deadline.
  std::function<bool(HttpResponse&)> pending;

  static HttpResponse text(unsigned status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpStats {
  // rejected_connections: answered 503 (a cap reached and every connection under it writing);
  // timeouts: closed because a request's head or the whole request did not arrive in time;
  // evicted_connections: closed (idle or still reading a request) to make room for a new one.
  std::atomic<std::uint64_t> requests{0}, rejected_connections{0}, timeouts{0}, bad_requests{0};
  std::atomic<std::uint64_t> evicted_connections{0};
  std::atomic<std::uint64_t> open_connections{0};
  // TLS only: handshakes that failed (protocol version, no or a refused client certificate, plain
  // HTTP sent to the TLS port) or did not finish in time.
  std::atomic<std::uint64_t> tls_handshake_failures{0};
};

struct TlsContext;
// The context for a new connection (http/web_gate.h keeps it current).
using TlsProvider = std::function<std::shared_ptr<TlsContext>()>;

class HttpServer {
 public:
  HttpServer(HttpOptions opts, HttpHandler handler);
  ~HttpServer();
  // Resolves and binds --web.listen-address, or with --web.systemd-socket takes the listening
  // socket systemd passed (sd_listen_fds protocol: LISTEN_PID is us, LISTEN_FDS >= 1, the first
  // at fd 3); a clear error when it cannot.
  Result<void> bind();
  // Serve TLS only (before run()).
  void set_tls(TlsProvider provider);
  // The port actually bound (useful with port 0).
  unsigned short port() const;
  // Serves until stop(); call from one thread.
  void run();
  void stop();
  const HttpStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port", "[v6]:port" or ":port". False when malformed.
bool split_listen_address(std::string_view addr, std::string* host, std::string* port);

}  // namespace hostflow::exporter
