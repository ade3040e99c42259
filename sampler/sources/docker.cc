#include "sources/docker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>

#include "hostflow/common/clock.h"
#include "hostflow/common/unique_fd.h"
#include "hostflow/common/units.h"
#include "hostflow/shm/layout.h"

namespace hostflow::sampler {

void add_flags(CLI::App& app, DockerOptions& opts) {
  app.add_option("--docker.socket", opts.socket,
                 "Docker Engine API socket (default: <path.rootfs>/run/docker.sock, i.e. "
                 "/var/run/docker.sock on the host)");
  app.add_option("--docker.timeout", opts.timeout_flag,
                 "longest one cycle's Docker requests may take before the source is marked failed")
      ->capture_default_str();
}

Result<void> validate(DockerOptions& opts) {
  auto budget =
      duration_flag_ms("--docker.timeout", opts.timeout_flag, std::chrono::milliseconds(10));
  if (!budget.ok()) return budget.error();
  opts.budget = *budget;
  return {};
}

namespace http = boost::beast::http;

std::string_view docker_network_prefix(std::string_view name) {
  if (name.size() != 15 || name.substr(0, 3) != "br-") return {};
  for (char c : name.substr(3)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return name.substr(3);
}

namespace {

// Feeds bytes to Beast's response parser as they arrive.
class ReplyParser {
 public:
  explicit ReplyParser(std::size_t max_body) : max_body_(max_body) {
    // Not eager until the header is checked: Boost 1.74's response parser notes a
    // Content-Length over body_limit but, when eager and body bytes follow in the same buffer,
    // carries on into the body and reserves the announced length (found by fuzz_http_reply).
    parser_.eager(false);
    parser_.body_limit(max_body);
    parser_.header_limit(64 * 1024);
  }
  // Consumes what it can of `data`; false on a protocol error (message in error()).
  bool feed(std::string& pending) {
    while (!pending.empty() && !parser_.is_done() && !truncated_) {
      boost::beast::error_code ec;
      const std::size_t used = parser_.put(boost::asio::buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::body_limit) {
        truncated_ = true;
        return true;
      }
      if (!ec && parser_.is_header_done() && !parser_.eager()) {
        if (const auto len = parser_.content_length(); len && *len > max_body_) {
          truncated_ = true;
          return true;
        }
        parser_.eager(true);
      }
      if (ec == http::error::need_more) return true;
      if (ec) {
        error_ = ec.message();
        return false;
      }
      if (used == 0) return true;
    }
    return true;
  }
  bool finish_eof() {
    if (parser_.is_done() || truncated_) return true;
    boost::beast::error_code ec;
    parser_.put_eof(ec);
    if (ec) {
      error_ = "connection closed mid-response (" + ec.message() + ")";
      return false;
    }
    return true;
  }
  bool done() const { return parser_.is_done() || truncated_; }
  HttpReply take() {
    HttpReply r;
    r.truncated = truncated_;
    if (parser_.is_header_done()) r.status = parser_.get().result_int();
    if (!truncated_) r.body = std::move(parser_.get().body());
    return r;
  }
  const std::string& error() const { return error_; }

 private:
  http::response_parser<http::string_body> parser_;
  std::size_t max_body_;
  bool truncated_ = false;
  std::string error_;
};

class DockerSource final : public Source {
 public:
  DockerSource(DockerOptions opts, std::shared_ptr<const HostBridges> bridges)
      : opts_(std::move(opts)), bridges_(std::move(bridges)) {}
  std::string_view name() const override { return "docker"; }

  Result<void> open(const SamplerPaths& paths) override {
    // /var/run is a symlink to /run on the host, and an absolute one: under --path.rootfs it
    // would resolve inside our own container, so the default is <rootfs>/run/docker.sock.
    if (opts_.socket.empty()) {
      opts_.socket = (paths.rootfs == "/" ? std::string() : paths.rootfs) + "/run/docker.sock";
    }
    if (opts_.socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return Error{0, "--docker.socket: path longer than " +
                          std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes"};
    }
    // Docker may start later: the socket is connected every cycle, nothing is held open.
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    const std::uint64_t deadline =
        mono_ns() + static_cast<std::uint64_t>(opts_.budget.count()) * 1'000'000ull;
    std::vector<std::pair<shm::DockerRecord, std::pair<std::string, HttpReply>>> replies;
    auto get = [&](shm::DockerQuery q, std::string path) -> Result<void> {
      auto r = request(path, deadline);
      if (!r.ok()) return r.error();
      shm::DockerRecord rec{};
      rec.query = static_cast<std::uint32_t>(q);
      rec.http_status = r->status;
      rec.flags = r->truncated ? std::uint32_t{shm::kDockerBodyTruncated} : 0u;
      replies.push_back({rec, {std::move(path), std::move(*r)}});
      return {};
    };
    // The first request decides absent/failed; later ones fail the cycle on a timeout only.
    if (auto r = get(shm::DockerQuery::kContainers, "/containers/json"); !r.ok()) return r.error();
    if (auto r = get(shm::DockerQuery::kNetworks, "/networks"); !r.ok()) return r.error();
    // Bridge networks whose bridges exist here: `br-<id12>` from the kernel, and the default.
    std::vector<std::string> ids{"bridge"};
    if (bridges_) {
      for (const auto& n : bridges_->names) {
        auto id = docker_network_prefix(n);
        if (!id.empty() && ids.size() < opts_.max_inspects) ids.emplace_back(id);
      }
    }
    for (const auto& id : ids) {
      if (auto r = get(shm::DockerQuery::kNetworkInspect, "/networks/" + id); !r.ok())
        return r.error();
    }
    out.touch<shm::DockerRecord>();
    // Each body is capped, and so is their sum per cycle (many networks must not grow the
    // segment without bound): a body past the total is published as truncated, without bytes.
    std::size_t total = 0;
    for (auto& [rec, pr] : replies) {
      rec.path = out.add_string(pr.first, 256);
      if (!pr.second.truncated && total + pr.second.body.size() > opts_.max_total_bytes)
        rec.flags |= shm::kDockerBodyTruncated;
      if (!(rec.flags & shm::kDockerBodyTruncated)) {
        total += pr.second.body.size();
        rec.body = out.add_string(pr.second.body, opts_.max_body_bytes);
      }
      out.add(rec);
    }
    return replies.size();
  }

 private:
  // One request on a new connection ("Connection: close"), bounded by `deadline`.
  Result<HttpReply> request(const std::string& path, std::uint64_t deadline) {
    UniqueFd fd = UniqueFd::adopt(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return Error::from_errno("socket(AF_UNIX)");
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, opts_.socket.data(), opts_.socket.size());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
      // EAGAIN: the listen backlog is full (a busy daemon): a failure, not an absence.
      return Error::from_errno("connect " + opts_.socket);
    }
    const std::string req = "GET " + path +
                            " HTTP/1.1\r\nHost: docker\r\nUser-Agent: hostflow-sampler\r\n"
                            "Accept: application/json\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < req.size()) {
      if (auto w = wait(fd.get(), POLLOUT, deadline, path); !w.ok()) return w.error();
      const ssize_t n = ::write(fd.get(), req.data() + sent, req.size() - sent);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return Error::from_errno("GET " + path + ": write");
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    ReplyParser parser(opts_.max_body_bytes);
    std::string pending;
    char buf[64 * 1024];
    while (!parser.done()) {
      if (auto w = wait(fd.get(), POLLIN, deadline, path); !w.ok()) return w.error();
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Error::from_errno("GET " + path + ": read");
      }
      if (n == 0) {
        if (!parser.feed(pending) || !parser.finish_eof())
          return Error{EPROTO, "GET " + path + ": " + parser.error()};
        break;
      }
      pending.append(buf, static_cast<std::size_t>(n));
      if (!parser.feed(pending)) return Error{EPROTO, "GET " + path + ": " + parser.error()};
    }
    return parser.take();
  }

  static Result<void> wait(int fd, short events, std::uint64_t deadline, const std::string& path) {
    for (;;) {
      const std::uint64_t now = mono_ns();
      if (now >= deadline) return Error{ETIMEDOUT, "GET " + path + ": --docker.timeout exceeded"};
      pollfd p{fd, events, 0};
      const int ms = static_cast<int>((deadline - now + 999'999) / 1'000'000);
      const int n = ::poll(&p, 1, ms);
      if (n > 0) return {};
      if (n < 0 && errno != EINTR) return Error::from_errno("poll");
    }
  }

  DockerOptions opts_;
  std::shared_ptr<const HostBridges> bridges_;
};

}  // namespace

Result<HttpReply> parse_http_reply(std::string_view bytes, std::size_t max_body, bool eof) {
  ReplyParser p(max_body);
  std::string pending(bytes);
  if (!p.feed(pending)) return Error{EPROTO, p.error()};
  if (eof && !p.finish_eof()) return Error{EPROTO, p.error()};
  if (!p.done()) return Error{EPROTO, "incomplete response"};
  return p.take();
}

std::unique_ptr<Source> make_docker_source(DockerOptions opts,
                                           std::shared_ptr<const HostBridges> bridges) {
  return std::make_unique<DockerSource>(std::move(opts), std::move(bridges));
}

}  // namespace hostflow::sampler
