// HttpServer on 127.0.0.1:0 with a real TCP client: routing, the connection limits (global and
// per source, eviction of the oldest idle connection, 503 only when all are writing), the head
// and read deadlines, header size limit; abuse by 200 hostile connections re-opened in a loop;
// the same limits with TLS (a certificate from the openssl CLI, curl as the TLS client); and
// split_listen_address. Every socket wait and every loop is bounded; traffic stays in
// 127.0.0.0/8 (Linux routes the whole /8 to lo, so 127.0.0.2 works as a second source address).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "http/server.h"
#include "http/tls_context.h"
#include "http_abuse.h"
#include "support.h"

namespace {

using hostflow::exporter::HttpOptions;
using hostflow::exporter::HttpRequest;
using hostflow::exporter::HttpResponse;
using hostflow::exporter::HttpServer;
using hostflow::exporter::split_listen_address;
using namespace hostflow::test::abuse;

Fd connect_to(unsigned short port, const char* from = "127.0.0.1") {
  Fd fd = try_connect(port, from);
  EXPECT_GE(fd.get(), 0) << "connect from " << from << ": " << errno;
  return fd;
}

// True when the server closed the connection (EOF or reset) within `limit`, consuming anything
// it sent before; false when the connection is still open at the end of `limit`.
bool closed_by_server(int fd, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0))) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    if (left <= 0) return false;
  }
}

// Runs a server on its own thread for the life of the object.
class Running {
 public:
  explicit Running(HttpOptions opts,
                   std::shared_ptr<hostflow::exporter::TlsContext> tls = nullptr) {
    opts.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(opts, [](const HttpRequest& r) {
      if (r.path == "/metrics") return HttpResponse::text(200, "up 1\n");
      if (r.path == "/echo") return HttpResponse::text(200, r.method + " " + r.target + "\n");
      if (r.path == "/big") {
        // Far more than loopback socket buffers hold: a client that does not read keeps the
        // server writing this response (until the write timeout).
        static const std::string big(32u << 20, 'x');
        HttpResponse resp;
        resp.parts.push_back(big);
        return resp;
      }
      return HttpResponse::text(404, "not found\n");
    });
    auto b = server_->bind();
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message());
    port_ = server_->port();
    if (tls) server_->set_tls([tls] { return tls; });
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Running() {
    server_->stop();
    thread_.join();
  }
  unsigned short port() const { return port_; }
  const hostflow::exporter::HttpStats& stats() const { return server_->stats(); }

  // Waits (bounded) until the server counts `n` open connections.
  bool wait_open(std::uint64_t n) const {
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline) {
      if (stats().open_connections.load() == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
}

TEST(HttpServer, RoutesAndKeepAlive) {
  Running s(HttpOptions{});
  ASSERT_NE(s.port(), 0);
  Fd c = connect_to(s.port());
  ASSERT_TRUE(send_all(c.get(), get("/metrics")));
  std::string r = read_response(c.get());
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Length: 5\r\n"), std::string::npos) << r;
  EXPECT_EQ(r.substr(r.size() - 5), "up 1\n");
  // Same connection, next request.
  ASSERT_TRUE(send_all(c.get(), get("/nope")));
  r = read_response(c.get());
  EXPECT_EQ(status_line(r), "HTTP/1.1 404 Not Found");
  ASSERT_TRUE(send_all(c.get(), get("/echo?x=1")));
  r = read_response(c.get());
  EXPECT_NE(r.find("GET /echo?x=1\n"), std::string::npos) << r;
  EXPECT_EQ(s.stats().requests.load(), 3u);
}

// Waits (bounded) until `pred` holds.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// Waits (bounded) until the server has started writing a response on `fd` (bytes arrive), without
// reading them.
bool response_started(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 3000) == 1;
}

TEST(HttpServer, AtTheCapANewConnectionEvictsTheOneIdleTheLongest) {
  HttpOptions o;
  o.max_connections = 3;
  o.read_header_timeout = std::chrono::seconds(10);  // the idle ones must outlive the test
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  Fd first = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(1));
  Fd second = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(2));
  Fd third = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(3));
  // `first` makes a request: its wait for the next one starts after the others' waits.
  ASSERT_TRUE(send_all(first.get(), get("/metrics")));
  ASSERT_EQ(status_line(read_response(first.get())), "HTTP/1.1 200 OK");

  Fd fresh = connect_to(s.port());
  ASSERT_TRUE(send_all(fresh.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(fresh.get())), "HTTP/1.1 200 OK");
  EXPECT_TRUE(closed_by_server(second.get(), std::chrono::seconds(2)))
      << "the connection idle the longest is the one evicted";
  EXPECT_FALSE(closed_by_server(first.get(), std::chrono::milliseconds(200)));
  EXPECT_FALSE(closed_by_server(third.get(), std::chrono::milliseconds(200)));
  EXPECT_EQ(s.stats().evicted_connections.load(), 1u);
  EXPECT_EQ(s.stats().rejected_connections.load(), 0u);
  EXPECT_EQ(s.stats().timeouts.load(), 0u);
  EXPECT_EQ(s.stats().bad_requests.load(), 0u) << "an eviction is not a bad request";
  // The survivors keep working.
  ASSERT_TRUE(send_all(first.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(first.get())), "HTTP/1.1 200 OK");
  ASSERT_TRUE(send_all(third.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(third.get())), "HTTP/1.1 200 OK");
}

TEST(HttpServer, AtTheCapAConnectionStillSendingItsRequestIsEvictable) {
  HttpOptions o;
  o.max_connections = 2;
  o.read_header_timeout = std::chrono::seconds(10);
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  Fd partial = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(1));
  ASSERT_TRUE(send_all(partial.get(), "GET /metrics HTTP/1.1\r\nHo"));
  Fd body = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(2));
  ASSERT_TRUE(
      send_all(body.get(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Fd fresh = connect_to(s.port());
  ASSERT_TRUE(send_all(fresh.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(fresh.get())), "HTTP/1.1 200 OK");
  EXPECT_TRUE(closed_by_server(partial.get(), std::chrono::seconds(2)));
  EXPECT_FALSE(closed_by_server(body.get(), std::chrono::milliseconds(100)));
  Fd another = connect_to(s.port());
  ASSERT_TRUE(send_all(another.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(another.get())), "HTTP/1.1 200 OK");
  EXPECT_TRUE(closed_by_server(body.get(), std::chrono::seconds(2)))
      << "a connection in the middle of its body is evictable too";
  EXPECT_EQ(s.stats().evicted_connections.load(), 2u);
  EXPECT_EQ(s.stats().rejected_connections.load(), 0u);
}

TEST(HttpServer, AtTheCapANewConnectionGets503OnlyWhenEveryConnectionIsWriting) {
  HttpOptions o;
  o.max_connections = 2;
  o.write_timeout = std::chrono::seconds(20);
  Running s(o);
  // Two clients ask for a large response and do not read it: the server stays writing.
  Fd a = connect_to(s.port());
  ASSERT_TRUE(send_all(a.get(), get("/big")));
  Fd b = connect_to(s.port());
  ASSERT_TRUE(send_all(b.get(), get("/big")));
  ASSERT_TRUE(response_started(a.get()));
  ASSERT_TRUE(response_started(b.get()));
  Fd extra = connect_to(s.port());
  const std::string r = read_response(extra.get());
  EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable") << r.substr(0, 200);
  EXPECT_EQ(s.stats().rejected_connections.load(), 1u);
  EXPECT_EQ(s.stats().evicted_connections.load(), 0u) << "a connection writing is never evicted";
  // Once a writer goes away there is room again.
  a = Fd(-1);
  ASSERT_TRUE(wait_until([&] { return s.stats().open_connections.load() == 1; }));
  Fd again = connect_to(s.port());
  ASSERT_TRUE(send_all(again.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(again.get())), "HTTP/1.1 200 OK");
}

TEST(HttpServer, OneSourceNeverHoldsMoreThanItsCapAndOthersAreServed) {
  HttpOptions o;
  o.max_connections = 64;
  o.max_connections_per_source = 4;
  o.read_header_timeout = std::chrono::seconds(10);
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  std::vector<Fd> from2;
  for (std::uint64_t i = 0; i < 10; i++) {
    from2.push_back(connect_to(s.port(), "127.0.0.2"));
    const std::uint64_t evicted = i < 4 ? 0 : i - 3;
    ASSERT_TRUE(wait_until([&] {
      return s.stats().evicted_connections.load() == evicted &&
             s.stats().open_connections.load() == std::min<std::uint64_t>(i + 1, 4);
    })) << "after connection "
        << i << ": open " << s.stats().open_connections.load() << ", evicted "
        << s.stats().evicted_connections.load();
  }
  // The six oldest were closed to make room for the newer ones of the same source.
  for (std::size_t i = 0; i < 6; i++)
    EXPECT_TRUE(closed_by_server(from2[i].get(), std::chrono::seconds(2))) << i;
  for (std::size_t i = 6; i < 10; i++)
    EXPECT_FALSE(closed_by_server(from2[i].get(), std::chrono::milliseconds(50))) << i;
  // Another source is served and evicts nobody.
  Fd other = connect_to(s.port(), "127.0.0.1");
  ASSERT_TRUE(send_all(other.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(other.get())), "HTTP/1.1 200 OK");
  EXPECT_EQ(s.stats().evicted_connections.load(), 6u);
  // A new request from the capped source is served too, at the cost of that source's oldest.
  Fd again = connect_to(s.port(), "127.0.0.2");
  ASSERT_TRUE(send_all(again.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(again.get())), "HTTP/1.1 200 OK");
  EXPECT_TRUE(closed_by_server(from2[6].get(), std::chrono::seconds(2)));
  EXPECT_EQ(s.stats().evicted_connections.load(), 7u);
  EXPECT_EQ(s.stats().rejected_connections.load(), 0u);
}

TEST(HttpServer, ASourceWhoseConnectionsAreAllWritingGets503AndOthersAreServed) {
  HttpOptions o;
  o.max_connections = 64;
  o.max_connections_per_source = 2;
  o.write_timeout = std::chrono::seconds(20);
  Running s(o);
  Fd a = connect_to(s.port(), "127.0.0.2");
  ASSERT_TRUE(send_all(a.get(), get("/big")));
  Fd b = connect_to(s.port(), "127.0.0.2");
  ASSERT_TRUE(send_all(b.get(), get("/big")));
  ASSERT_TRUE(response_started(a.get()));
  ASSERT_TRUE(response_started(b.get()));
  Fd extra = connect_to(s.port(), "127.0.0.2");
  EXPECT_EQ(status_line(read_response(extra.get())), "HTTP/1.1 503 Service Unavailable");
  Fd other = connect_to(s.port(), "127.0.0.1");
  ASSERT_TRUE(send_all(other.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(other.get())), "HTTP/1.1 200 OK");
  EXPECT_EQ(s.stats().rejected_connections.load(), 1u);
  EXPECT_EQ(s.stats().evicted_connections.load(), 0u);
}

TEST(HttpServer, ZeroPerSourceCapMeansNoCap) {
  HttpOptions o;
  o.max_connections = 64;
  o.max_connections_per_source = 0;
  o.read_header_timeout = std::chrono::seconds(10);
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  std::vector<Fd> from2;
  for (int i = 0; i < 20; i++) from2.push_back(connect_to(s.port(), "127.0.0.2"));
  ASSERT_TRUE(s.wait_open(20)) << s.stats().open_connections.load();
  EXPECT_EQ(s.stats().evicted_connections.load(), 0u);
}

TEST(HttpServer, ReadTimeoutClosesAnIdleConnection) {
  HttpOptions o;
  o.read_timeout = std::chrono::milliseconds(300);
  Running s(o);
  Fd c = connect_to(s.port());
  const auto t0 = Clock::now();
  const std::string r = read_response(c.get(), std::chrono::seconds(5));
  const auto waited = Clock::now() - t0;
  EXPECT_EQ(r, "") << "an idle connection is closed without a response";
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(3)) << "not closed by the read timeout";
  // The stream's timer closes the socket before the read handler counts the timeout.
  ASSERT_TRUE(s.wait_open(0));
  EXPECT_EQ(s.stats().timeouts.load(), 1u);
}

TEST(HttpServer, SlowlorisIsBoundedByTheReadTimeout) {
  HttpOptions o;
  o.read_timeout = std::chrono::milliseconds(400);
  Running s(o);
  Fd c = connect_to(s.port());
  const auto t0 = Clock::now();
  // A byte every 100 ms never completes the request; the deadline covers the whole request.
  const std::string req = get("/metrics");
  bool closed = false;
  for (std::size_t i = 0; i < req.size() - 2 && Clock::now() - t0 < std::chrono::seconds(3); i++) {
    if (!send_all(c.get(), req.substr(i, 1))) {
      closed = true;
      break;
    }
    pollfd p{c.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char b;
      if (::recv(c.get(), &b, 1, 0) <= 0) {
        closed = true;
        break;
      }
    }
  }
  EXPECT_TRUE(closed) << "trickling client kept the connection open";
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
}

TEST(HttpServer, SlowlorisIsClosedAfterTheHeadDeadline) {
  HttpOptions o;
  o.read_header_timeout = std::chrono::milliseconds(300);
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  Fd c = connect_to(s.port());
  const auto t0 = Clock::now();
  // A byte of a never-ending head every 50 ms: the read timeout (10 s) alone would allow it.
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool closed = false;
  for (std::size_t i = 0; i < 200 && Clock::now() - t0 < std::chrono::seconds(3); i++) {
    const char b = i < head.size() ? head[i] : 'a';
    if (::send(c.get(), &b, 1, MSG_NOSIGNAL) != 1 ||
        closed_by_server(c.get(), std::chrono::milliseconds(50))) {
      closed = true;
      break;
    }
  }
  const auto waited = Clock::now() - t0;
  EXPECT_TRUE(closed) << "a trickled head kept the connection open";
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(2)) << "not closed by the head deadline";
  ASSERT_TRUE(s.wait_open(0));
  EXPECT_EQ(s.stats().timeouts.load(), 1u);
}

TEST(HttpServer, AnIdleKeepAliveConnectionIsClosedAfterTheHeadDeadline) {
  HttpOptions o;
  o.read_header_timeout = std::chrono::milliseconds(300);
  o.read_timeout = std::chrono::seconds(10);
  Running s(o);
  Fd c = connect_to(s.port());
  ASSERT_TRUE(send_all(c.get(), get("/metrics")));
  ASSERT_EQ(status_line(read_response(c.get())), "HTTP/1.1 200 OK");
  const auto t0 = Clock::now();
  EXPECT_TRUE(closed_by_server(c.get(), std::chrono::seconds(3)));
  const auto waited = Clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(2)) << "not closed by the head deadline";
}

TEST(HttpServer, ABodyHasTheReadTimeoutNotTheHeadDeadline) {
  HttpOptions o;
  o.read_header_timeout = std::chrono::milliseconds(300);
  o.read_timeout = std::chrono::seconds(5);
  Running s(o);
  Fd c = connect_to(s.port());
  ASSERT_TRUE(send_all(c.get(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n"));
  // The body trickles in over ~0.8 s: past the head deadline, within the read timeout.
  for (int i = 0; i < 8; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(send_all(c.get(), "b"));
  }
  const std::string r = read_response(c.get());
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK") << r;
  EXPECT_NE(r.find("POST /echo\n"), std::string::npos) << r;
}

TEST(HttpServer, ATrickledBodyIsClosedAtTheReadTimeout) {
  HttpOptions o;
  o.read_header_timeout = std::chrono::milliseconds(300);
  o.read_timeout = std::chrono::milliseconds(800);
  Running s(o);
  Fd c = connect_to(s.port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(send_all(c.get(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
  bool closed = false;
  for (int i = 0; i < 100 && Clock::now() - t0 < std::chrono::seconds(3); i++) {
    if (!send_all(c.get(), "b") || closed_by_server(c.get(), std::chrono::milliseconds(50))) {
      closed = true;
      break;
    }
  }
  const auto waited = Clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_GE(waited, std::chrono::milliseconds(700));
  EXPECT_LT(waited, std::chrono::seconds(2));
}

// --- Abuse: issue 12 defect 2 ("64 idle TCP connections deny every scrape") ---------------------

// Against the server with its default limits (64 connections, 16 per source, head 5 s, request
// 10 s).
void scrapes_survive_churn(const std::vector<std::string>& sources) {
  const HttpOptions defaults;
  ASSERT_EQ(defaults.max_connections, 64u);
  ASSERT_EQ(defaults.max_connections_per_source, 16u);
  ASSERT_EQ(defaults.read_header_timeout, std::chrono::seconds(5));
  ASSERT_EQ(defaults.read_timeout, std::chrono::seconds(10));
  Running s(defaults);
  const AbuseResult r = run_abuse(s.port(), sources, "up 1\n");
  std::printf(
      "scrapes %zu ok %zu p50 %.4fs p99 %.4fs max %.4fs; hostile connections opened %llu (%llu "
      "while scraping); evicted %llu rejected %llu timeouts %llu\n",
      r.scrapes, r.ok, r.p50, r.p99, r.max, static_cast<unsigned long long>(r.opened),
      static_cast<unsigned long long>(r.opened_during),
      static_cast<unsigned long long>(s.stats().evicted_connections.load()),
      static_cast<unsigned long long>(s.stats().rejected_connections.load()),
      static_cast<unsigned long long>(s.stats().timeouts.load()));
  expect_scrapes_survived(r);
}

TEST(HttpServer, ScrapesSucceedWhileTwoHundredHostileConnectionsChurnFromTheScrapersAddress) {
  scrapes_survive_churn({"127.0.0.1"});
}

TEST(HttpServer, ScrapesSucceedWhileTwoHundredHostileConnectionsChurnFromAnotherAddress) {
  scrapes_survive_churn({"127.0.0.2"});
}

// Twenty sources with ten connections each: under the per-source cap, over the global one.
TEST(HttpServer, ScrapesSucceedWhileTwoHundredHostileConnectionsChurnFromTwentyAddresses) {
  std::vector<std::string> sources;
  for (int i = 1; i <= 20; i++) sources.push_back("127.0.1." + std::to_string(i));
  scrapes_survive_churn(sources);
}

TEST(HttpServer, OversizeHeaderIs400) {
  HttpOptions o;
  o.max_header_bytes = 1024;
  Running s(o);
  {
    Fd c = connect_to(s.port());
    const std::string req =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n";
    send_all(c.get(), req);  // the server may close before it has read it all
    const std::string r = read_response(c.get());
    EXPECT_EQ(status_line(r), "HTTP/1.1 400 Bad Request") << r.substr(0, 200);
  }
  EXPECT_EQ(s.stats().bad_requests.load(), 1u);
  // Garbage is a 400 too, and the server keeps serving.
  {
    Fd c = connect_to(s.port());
    send_all(c.get(), "\x16\x03\x01 this is not http\r\n\r\n");
    EXPECT_EQ(status_line(read_response(c.get())), "HTTP/1.1 400 Bad Request");
  }
  Fd ok = connect_to(s.port());
  ASSERT_TRUE(send_all(ok.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(ok.get())), "HTTP/1.1 200 OK");
}

TEST(HttpServer, OversizeBodyIs400) {
  HttpOptions o;
  o.max_body_bytes = 100;
  Running s(o);
  Fd c = connect_to(s.port());
  const std::string req =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b');
  send_all(c.get(), req);
  EXPECT_EQ(status_line(read_response(c.get())), "HTTP/1.1 400 Bad Request");
}

TEST(HttpServer, BindErrorsAreClear) {
  HttpServer bad(HttpOptions{"127.0.0.1", 1}, [](const HttpRequest&) { return HttpResponse{}; });
  auto r = bad.bind();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--web.listen-address"), std::string::npos);
  // A port that is taken.
  Running s(HttpOptions{});
  HttpOptions o;
  o.listen_address = "127.0.0.1:" + std::to_string(s.port());
  HttpServer clash(o, [](const HttpRequest&) { return HttpResponse{}; });
  auto r2 = clash.bind();
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message().find("bind"), std::string::npos) << r2.error().message();
}

// TLS: a self-signed certificate for 127.0.0.1 from the openssl CLI, and its context.
struct SelfSigned {
  hostflow::test::TempDir dir;
  std::shared_ptr<hostflow::exporter::TlsContext> ctx;
  SelfSigned() {
    hostflow::test::sh_ok("cd " + dir.path() +
                          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                          "-nodes -keyout k.pem -out c.pem -days 1 -subj /CN=t "
                          "-addext subjectAltName=IP:127.0.0.1 2>/dev/null");
    hostflow::exporter::TlsServerConfig t;
    t.enabled = true;
    t.cert_file = dir.path() + "/c.pem";
    t.key_file = dir.path() + "/k.pem";
    auto r = hostflow::exporter::make_tls_context(t);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    if (r.ok()) ctx = *r;
  }
  // curl's status code for https://127.0.0.1:PORT/metrics (0: no HTTP answer).
  int curl(unsigned short port) const {
    const auto r = hostflow::test::run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                        "--max-time", "5", "--cacert", dir.path() + "/c.pem",
                                        "https://127.0.0.1:" + std::to_string(port) + "/metrics"});
    return std::atoi(r.out.c_str());
  }
};

TEST(HttpServerTls, ServesAndAHandshakeNeverStartedIsClosedAtTheHeadDeadline) {
  SelfSigned cert;
  ASSERT_TRUE(cert.ctx);
  HttpOptions o;
  o.read_header_timeout = std::chrono::milliseconds(300);
  Running s(o, cert.ctx);
  EXPECT_EQ(cert.curl(s.port()), 200);
  Fd silent = connect_to(s.port());
  const auto t0 = Clock::now();
  EXPECT_TRUE(closed_by_server(silent.get(), std::chrono::seconds(3)));
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(250));
  EXPECT_TRUE(wait_until([&] { return s.stats().tls_handshake_failures.load() == 1; }));
  // Plain HTTP on the TLS port: closed without an HTTP answer, counted.
  Fd plain = connect_to(s.port());
  ASSERT_TRUE(send_all(plain.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(plain.get(), std::chrono::seconds(3))), "");
  EXPECT_TRUE(wait_until([&] { return s.stats().tls_handshake_failures.load() == 2; }));
  EXPECT_EQ(s.stats().requests.load(), 1u);
}

TEST(HttpServerTls, AtTheCapAConnectionStillInItsHandshakeIsEvictedForANewOne) {
  SelfSigned cert;
  ASSERT_TRUE(cert.ctx);
  HttpOptions o;
  o.max_connections = 2;
  o.read_header_timeout = std::chrono::seconds(10);  // the idle ones must outlive the test
  o.read_timeout = std::chrono::seconds(10);
  Running s(o, cert.ctx);
  Fd first = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(1));
  Fd second = connect_to(s.port());
  ASSERT_TRUE(s.wait_open(2));
  EXPECT_EQ(cert.curl(s.port()), 200);
  EXPECT_TRUE(closed_by_server(first.get(), std::chrono::seconds(2)))
      << "the connection waiting the longest is the one evicted";
  EXPECT_FALSE(closed_by_server(second.get(), std::chrono::milliseconds(200)));
  EXPECT_EQ(s.stats().evicted_connections.load(), 1u);
  EXPECT_EQ(s.stats().rejected_connections.load(), 0u);
}

TEST(SplitListenAddress, GoodForms) {
  struct G {
    const char* in;
    const char* host;
    const char* port;
  };
  for (const G& g : {G{":9471", "", "9471"}, G{"127.0.0.1:80", "127.0.0.1", "80"},
                     G{"[::1]:9471", "::1", "9471"}, G{"[::]:0", "::", "0"},
                     G{"localhost:65535", "localhost", "65535"},
                     G{"[fe80::1%eth0]:9100", "fe80::1%eth0", "9100"}}) {
    std::string host = "junk", port = "junk";
    EXPECT_TRUE(split_listen_address(g.in, &host, &port)) << g.in;
    EXPECT_EQ(host, g.host) << g.in;
    EXPECT_EQ(port, g.port) << g.in;
  }
}

TEST(SplitListenAddress, BadForms) {
  for (const char* bad :
       {"", "9471", ":", "host:", "::1:9471", "[::1]9471", "[::1]:", "[::1", "host:65536",
        "host:123456", "host:-1", "host:80a", "host: 80", ":+80", "a:b:80", "[::1]:99999"}) {
    std::string host, port;
    EXPECT_FALSE(split_listen_address(bad, &host, &port)) << bad;
  }
}

}  // namespace
