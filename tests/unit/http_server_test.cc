// HttpServer on 127.0.0.1:0 with a real TCP client: routing, the connection limit, the read
// timeout, header size limit; and split_listen_address. Every socket wait is bounded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http/server.h"

namespace {

using hostflow::exporter::HttpOptions;
using hostflow::exporter::HttpRequest;
using hostflow::exporter::HttpResponse;
using hostflow::exporter::HttpServer;
using hostflow::exporter::split_listen_address;
using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  int get() const { return fd_; }

 private:
  int fd_;
};

Fd connect_to(unsigned short port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << errno;
  return fd;
}

bool send_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until the peer closes, a full response (by Content-Length) arrived, or `limit` passed.
std::string read_response(int fd, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  std::string out;
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    const auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto cl = out.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) {
        const std::size_t len = std::stoul(out.substr(cl + 16));
        if (out.size() >= end + 4 + len) break;
      }
    }
  }
  return out;
}

std::string status_line(const std::string& resp) {
  return resp.substr(0, resp.find("\r\n"));
}

// Runs a server on its own thread for the life of the object.
class Running {
 public:
  explicit Running(HttpOptions opts) {
    opts.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(opts, [](const HttpRequest& r) {
      if (r.path == "/metrics") return HttpResponse::text(200, "up 1\n");
      if (r.path == "/echo") return HttpResponse::text(200, r.method + " " + r.target + "\n");
      return HttpResponse::text(404, "not found\n");
    });
    auto b = server_->bind();
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message());
    port_ = server_->port();
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

TEST(HttpServer, ConnectionLimitRejectsTheExtraOne) {
  HttpOptions o;
  o.max_connections = 3;
  o.read_timeout = std::chrono::seconds(10);  // the idle ones must outlive the test
  Running s(o);
  std::vector<Fd> idle;
  for (int i = 0; i < 3; i++) idle.push_back(connect_to(s.port()));
  ASSERT_TRUE(s.wait_open(3)) << s.stats().open_connections.load();
  Fd extra = connect_to(s.port());
  const std::string r = read_response(extra.get());
  EXPECT_EQ(status_line(r), "HTTP/1.1 503 Service Unavailable") << r;
  EXPECT_EQ(s.stats().rejected_connections.load(), 1u);
  // Once one idle client goes away there is room again.
  idle.pop_back();
  ASSERT_TRUE(s.wait_open(2));
  Fd again = connect_to(s.port());
  ASSERT_TRUE(send_all(again.get(), get("/metrics")));
  EXPECT_EQ(status_line(read_response(again.get())), "HTTP/1.1 200 OK");
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
