#include "http/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdlib>
#include <list>
#include <map>
#include <optional>
#include <sstream>

#include "hostflow/common/log.h"
#include "http/tls_context.h"

namespace hostflow::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

HttpResponse HttpResponse::text(unsigned status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.owned = std::move(body);
  return r;
}

bool split_listen_address(std::string_view addr, std::string* host, std::string* port) {
  std::size_t colon;
  if (!addr.empty() && addr.front() == '[') {
    const std::size_t close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      return false;
    *host = std::string(addr.substr(1, close - 1));
    colon = close + 1;
  } else {
    colon = addr.rfind(':');
    if (colon == std::string_view::npos) return false;
    *host = std::string(addr.substr(0, colon));
    if (host->find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  *port = std::string(addr.substr(colon + 1));
  if (port->empty() || port->size() > 5) return false;
  for (char c : *port)
    if (c < '0' || c > '9') return false;
  return std::stoul(*port) <= 65535;
}

namespace {

// What the registry of connections needs of one, plain or TLS.
class Session {
 public:
  virtual ~Session() = default;
  virtual const asio::ip::address& source() const = 0;
  // Idle, or still receiving its request: may be closed to make room for a new connection.
  virtual bool evictable() const = 0;
  virtual void evict() = 0;
  virtual void start() = 0;
  virtual void reject_busy() = 0;
};

// Every connection being served (not those only being answered 503), oldest wait first: a
// session moves to the back when it starts waiting for a request (accept, or the end of the
// previous response on a keep-alive connection). Everything runs on the server thread.
struct Sessions {
  struct Entry {
    Session* session;
    asio::ip::address source;
  };
  std::list<Entry> order;
  std::map<asio::ip::address, std::size_t> per_source;
};

// The source a per-source cap counts: an IPv4 client of a dual-stack socket is its IPv4 address.
asio::ip::address source_of(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection; Stream is beast::tcp_stream (plain HTTP) or TlsStream.
template <class Stream>
class SessionOf : public Session, public std::enable_shared_from_this<SessionOf<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  enum class Phase { kWaitHead, kReadBody, kWaiting, kWriting, kClosed };

  SessionOf(tcp::socket&& s, const HttpOptions& opts, const HttpHandler& handler, HttpStats& stats,
            Sessions& sessions, std::shared_ptr<TlsContext> tls)
      : tls_(std::move(tls)),
        stream_(make_stream(std::move(s), tls_.get())),
        opts_(opts),
        handler_(handler),
        stats_(stats),
        sessions_(sessions) {
    stats_.open_connections++;
    beast::error_code ec;
    const auto ep = socket().remote_endpoint(ec);
    if (!ec) {
      source_ = source_of(ep.address());
      // Built with append: GCC 12 warns falsely (-Wrestrict, PR105329) on "[" + std::string.
      const std::string ip = ep.address().to_string();
      if (ep.address().is_v6())
        remote_.append("[").append(ip).append("]");
      else
        remote_ = ip;
      remote_.append(":").append(std::to_string(ep.port()));
    }
  }
  ~SessionOf() override {
    unregister();
    stats_.open_connections--;
  }

  const asio::ip::address& source() const override { return source_; }
  bool evictable() const override {
    return phase_ == Phase::kWaitHead || phase_ == Phase::kReadBody;
  }

  // Joins the registry (as the newest) and waits for the first request (TLS: the handshake
  // first, within the deadline of a request's head).
  void start() override {
    entry_ = sessions_.order.insert(sessions_.order.end(), Sessions::Entry{this, source_});
    registered_ = true;
    sessions_.per_source[source_]++;
    if constexpr (kTls) {
      phase_ = Phase::kWaitHead;
      sessions_.order.splice(sessions_.order.end(), sessions_.order, entry_);
      lowest().expires_after(std::min(opts_.read_header_timeout, opts_.read_timeout));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (self->phase_ == Phase::kClosed) return;  // evicted
                                if (ec) {
                                  self->stats_.tls_handshake_failures++;
                                  return self->close();
                                }
                                self->read();
                              });
    } else {
      read();
    }
  }

  // Never registered: answers 503 and closes (TLS: closes without a handshake).
  void reject_busy() override {
    keep_alive_ = false;
    if constexpr (kTls)
      close();
    else
      write(HttpResponse::text(503, "too many connections\n"));
  }

  // Closes the connection to make room for a new one. Its pending read completes with
  // operation_aborted and is ignored; the session ends when that handler returns.
  void evict() override {
    stats_.evicted_connections++;
    close();
  }

 private:
  static Stream make_stream(tcp::socket&& s, TlsContext* tls) {
    if constexpr (kTls)
      return Stream(std::move(s), tls->ctx);
    else
      return Stream(std::move(s));
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  tcp::socket& socket() { return lowest().socket(); }

  void unregister() {
    if (!registered_) return;
    registered_ = false;
    sessions_.order.erase(entry_);
    auto it = sessions_.per_source.find(source_);
    if (it != sessions_.per_source.end() && --it->second == 0) sessions_.per_source.erase(it);
  }

  // Waits for the next request: its head within read_header_timeout (bounded by read_timeout),
  // head and body within read_timeout, both from now.
  void read() {
    phase_ = Phase::kWaitHead;
    if (registered_) sessions_.order.splice(sessions_.order.end(), sessions_.order, entry_);
    wait_start_ = std::chrono::steady_clock::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
    parser_->body_limit(opts_.max_body_bytes);
    lowest().expires_at(wait_start_ + std::min(opts_.read_header_timeout, opts_.read_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_read_header(ec);
                            });
  }

  void on_read_header(beast::error_code ec) {
    if (ec || parser_->is_done()) return on_read(ec);
    phase_ = Phase::kReadBody;
    lowest().expires_at(wait_start_ + opts_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec2, std::size_t) {
                       self->on_read(ec2);
                     });
  }

  void on_read(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;  // evicted while reading
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      return close();
    }
    if (ec == beast::error::timeout) {
      stats_.timeouts++;
      return close();
    }
    if (ec) {
      stats_.bad_requests++;
      return send_error(http::status::bad_request, "bad request: " + ec.message() + "\n");
    }
    stats_.requests++;
    const auto& req = parser_->get();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.path = r.target.substr(0, r.target.find('?'));
    r.remote = remote_;
    r.accept_encoding = std::string(req[http::field::accept_encoding]);
    r.origin = std::string(req[http::field::origin]);
    r.authorization = std::string(req[http::field::authorization]);
    r.body = req.body();
    keep_alive_ = req.keep_alive();
    head_only_ = req.method() == http::verb::head;
    version_ = req.version();
    HttpResponse resp;
    try {
      resp = handler_(r);
    } catch (const std::exception& e) {
      log::error("http handler failed", {{"path", r.path}, {"err", e.what()}});
      resp = HttpResponse::text(500, "internal error\n");
    }
    if (resp.pending) return wait_for(std::move(resp.pending));
    write(std::move(resp));
  }

  // A handler's answer that is not ready yet: polled on this thread with a timer until it is.
  // Not evictable meanwhile (like a response being written); the handler bounds the wait.
  void wait_for(std::function<bool(HttpResponse&)> pending) {
    phase_ = Phase::kWaiting;
    pending_ = std::move(pending);
    if (!wait_timer_) wait_timer_.emplace(socket().get_executor());
    poll_pending();
  }

  void poll_pending() {
    if (phase_ != Phase::kWaiting) return;  // closed meanwhile
    HttpResponse ready;
    bool done = true;
    try {
      done = pending_(ready);
    } catch (const std::exception& e) {
      log::error("http handler failed", {{"err", e.what()}});
      ready = HttpResponse::text(500, "internal error\n");
    }
    if (done) {
      pending_ = nullptr;
      ready.pending = nullptr;
      return write(std::move(ready));
    }
    wait_timer_->expires_after(std::chrono::milliseconds(10));
    wait_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->poll_pending();
    });
  }

  void write(HttpResponse resp) {
    phase_ = Phase::kWriting;
    resp_ = std::move(resp);
    std::size_t len = resp_.owned.size();
    for (std::string_view p : resp_.parts) len += p.size();
    http::response<http::empty_body> head(static_cast<http::status>(resp_.status), version_);
    head.set(http::field::server, "hostflow-exporter");
    head.set(http::field::content_type, resp_.content_type);
    for (const auto& [k, v] : resp_.headers) head.set(k, v);
    head.content_length(len);
    head.keep_alive(keep_alive_);
    std::ostringstream os;
    os << head.base();  // status line + fields + the empty line
    head_bytes_ = std::move(os).str();
    // Header and body go out in one gathered write (no small-write/delayed-ACK stall).
    bufs_.clear();
    bufs_.emplace_back(head_bytes_.data(), head_bytes_.size());
    if (!head_only_) {
      for (std::string_view p : resp_.parts) bufs_.emplace_back(p.data(), p.size());
      bufs_.emplace_back(resp_.owned.data(), resp_.owned.size());
    }
    lowest().expires_after(opts_.write_timeout);
    asio::async_write(stream_, bufs_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) return self->close();
                        self->resp_ = HttpResponse{};
                        self->read();
                      });
  }

  void send_error(http::status st, std::string body) {
    keep_alive_ = false;
    write(HttpResponse::text(static_cast<unsigned>(st), std::move(body)));
  }

  void close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    unregister();
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().close();  // the socket, and the stream's timer
    if (wait_timer_) wait_timer_->cancel();
  }

  std::shared_ptr<TlsContext> tls_;  // TLS: the context this connection was accepted with
  Stream stream_;
  const HttpOptions& opts_;
  const HttpHandler& handler_;
  HttpStats& stats_;
  Sessions& sessions_;
  std::list<Sessions::Entry>::iterator entry_;
  bool registered_ = false;
  Phase phase_ = Phase::kWaitHead;
  std::chrono::steady_clock::time_point wait_start_;
  asio::ip::address source_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_bytes_;
  bool head_only_ = false;
  HttpResponse resp_;
  std::function<bool(HttpResponse&)> pending_;  // kWaiting: the handler's answer-to-be
  std::optional<asio::steady_timer> wait_timer_;
  std::vector<asio::const_buffer> bufs_;
  std::string remote_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

// The session that has waited the longest and is not writing a response, from `source` only
// when given; null when there is none.
Session* oldest_evictable(const Sessions& sessions, const asio::ip::address* source) {
  for (const Sessions::Entry& e : sessions.order) {
    if (source && e.source != *source) continue;
    if (e.session->evictable()) return e.session;
  }
  return nullptr;
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions opts;
  HttpHandler handler;
  HttpStats stats;
  Sessions sessions;  // before ioc: sessions destroyed with ioc's handlers unregister from it
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  TlsProvider tls;

  // Makes room for a new connection from `source`: at the source's cap, closes that source's
  // oldest connection that is not writing; at the global cap, the oldest of all. False when a cap
  // is reached and every connection under it is writing a response.
  bool make_room(const asio::ip::address& source) {
    if (opts.max_connections_per_source > 0) {
      auto it = sessions.per_source.find(source);
      if (it != sessions.per_source.end() && it->second >= opts.max_connections_per_source) {
        Session* victim = oldest_evictable(sessions, &source);
        if (!victim) return false;
        victim->evict();
      }
    }
    if (sessions.order.size() >= opts.max_connections) {
      Session* victim = oldest_evictable(sessions, nullptr);
      if (!victim) return false;
      victim->evict();
    }
    return true;
  }

  void accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        log::warn("accept failed", {{"err", ec.message()}});
      } else {
        beast::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        std::shared_ptr<Session> session;
        std::shared_ptr<TlsContext> ctx = tls ? tls() : nullptr;
        if (tls && !ctx) {
          s.close(ignored);  // TLS configured but no context: never serve plain HTTP instead
        } else if (ctx) {
          session = std::make_shared<SessionOf<TlsStream>>(std::move(s), opts, handler, stats,
                                                           sessions, std::move(ctx));
        } else {
          session = std::make_shared<SessionOf<beast::tcp_stream>>(std::move(s), opts, handler,
                                                                   stats, sessions, nullptr);
        }
        if (!session) {
          // closed above
        } else if (make_room(session->source())) {
          session->start();
        } else {
          stats.rejected_connections++;
          session->reject_busy();
        }
      }
      if (acceptor.is_open()) accept();
    });
  }
};

HttpServer::HttpServer(HttpOptions opts, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->handler = std::move(handler);
}
HttpServer::~HttpServer() = default;

namespace {

// The first socket systemd passed, checked to be a listening TCP socket. The LISTEN_* variables
// are removed, as sd_listen_fds(1) does, so nothing started later sees them.
Result<int> systemd_socket() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds)
    return Error{0,
                 "--web.systemd-socket: no socket passed (LISTEN_PID/LISTEN_FDS unset: start "
                 "the exporter from its .socket unit, or drop the flag)"};
  const bool ours = std::to_string(::getpid()) == pid;
  const long n = std::strtol(fds, nullptr, 10);
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return Error{0, "--web.systemd-socket: LISTEN_PID is not this process"};
  if (n < 1) return Error{0, "--web.systemd-socket: LISTEN_FDS is " + std::string(fds)};
  if (n > 1)
    log::warn("--web.systemd-socket: serving only the first of the sockets passed",
              {{"passed", std::to_string(n)}});
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  int listening = 0, type = 0, domain = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(kFirst, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
    return Error{0, "--web.systemd-socket: fd 3 is not a listening socket"};
  len = sizeof type;
  ::getsockopt(kFirst, SOL_SOCKET, SO_TYPE, &type, &len);
  len = sizeof domain;
  ::getsockopt(kFirst, SOL_SOCKET, SO_DOMAIN, &domain, &len);
  if (type != SOCK_STREAM || (domain != AF_INET && domain != AF_INET6))
    return Error{0,
                 "--web.systemd-socket: fd 3 is not a TCP socket (ListenStream=PORT or "
                 "ADDRESS:PORT in the .socket unit)"};
  ::fcntl(kFirst, F_SETFD, FD_CLOEXEC);
  return domain;
}

}  // namespace

Result<void> HttpServer::bind() {
  if (impl_->opts.systemd_socket) {
    auto domain = systemd_socket();
    if (!domain.ok()) return domain.error();
    beast::error_code ec;
    impl_->acceptor.assign(*domain == AF_INET6 ? tcp::v6() : tcp::v4(), 3, ec);
    if (ec) return Error{ec.value(), "--web.systemd-socket: " + ec.message()};
    return {};
  }
  std::string host, port;
  const std::string& addr = impl_->opts.listen_address;
  if (!split_listen_address(addr, &host, &port))
    return Error{EINVAL,
                 "--web.listen-address: want host:port, [v6]:port or :port, got \"" + addr + "\""};
  beast::error_code ec;
  tcp::endpoint ep;
  if (host.empty()) {
    ep = tcp::endpoint(tcp::v6(), static_cast<unsigned short>(std::stoul(port)));
  } else {
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
      return Error{EINVAL, "--web.listen-address: cannot resolve " + host + ": " + ec.message()};
    ep = results.begin()->endpoint();
  }
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (ec && host.empty()) {  // no IPv6 on this host: all IPv4 addresses then
    ep = tcp::endpoint(tcp::v4(), ep.port());
    a.open(ep.protocol(), ec);
  }
  if (ec) return Error{ec.value(), "socket for " + addr + ": " + ec.message()};
  if (ep.protocol() == tcp::v6() && host.empty()) a.set_option(asio::ip::v6_only(false), ec);
  a.set_option(asio::socket_base::reuse_address(true), ec);
  a.bind(ep, ec);
  if (ec) return Error{ec.value(), "bind " + addr + ": " + ec.message()};
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{ec.value(), "listen " + addr + ": " + ec.message()};
  return {};
}

void HttpServer::set_tls(TlsProvider provider) {
  impl_->tls = std::move(provider);
}

unsigned short HttpServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::run() {
  impl_->accept();
  impl_->ioc.run();
}

void HttpServer::stop() {
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    impl_->ioc.stop();
  });
}

const HttpStats& HttpServer::stats() const {
  return impl_->stats;
}

}  // namespace hostflow::exporter
