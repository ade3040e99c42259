// Shared pieces of the conntrack and threat tests: a three-namespace topology with real conntrack
// entries, the kernel's own view of them (`conntrack -L`, parsed here, independently of the code
// under test), the flows helper, and a real HTTP server for the threat feeds.
#pragma once

#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support.h"

namespace hostflow::test {

// W (workload: 10.66.1.2, fd66:1::2) -- H (sampler, router: forwards, conntrack on, plus the
// public test address 198.51.100.7 on its R-facing link) -- R (remotes: 10.66.2.2-5, fd66:2::2-3).
// A process sleeps in W so the sampler knows W's netns by inode.
struct CtLab {
  Netns w{"h6w"}, h{"h6h"}, r{"h6r"};
  std::string hw, hr;  // H's links towards W and R
  std::string wv;      // W's link towards H
  std::uint64_t w_inode = 0;
  Process holder;
  std::string holder_cgroup;   // a cgroup v2 leaf of its own: W's owner is its name
  std::vector<Process> flows;  // ct_flows.py processes
  TempDir dir;
  CtLab();
  ~CtLab();
  // Runs helpers/ct_flows.py in `ns` with `args` and waits for "ready".
  void start_flows(const Netns& ns, const std::vector<std::string>& args);
};

// One conntrack entry as `conntrack -L -o extended` shows it.
struct CtEntry {
  std::string family, proto;
  std::string src, dst, reply_src;
  int sport = 0, dport = 0;
};
// Every IPv4 and IPv6 entry of `netns`.
std::vector<CtEntry> conntrack_list(const std::string& netns);

// Does `ip` lie in `cidr` ("10.0.0.0/8", "fd66:2::/120", "1.2.3.4")? Independent of the exporter.
bool cidr_contains(const std::string& cidr, const std::string& ip);

// helpers/feed_server.py serving `dir` on `port` of 127.0.0.1 and ::1 (stopped on destruction).
// Its URLs use a host *name* with both addresses (issue 12: glibc's getaddrinfo sorts a
// two-address answer over a NETLINK_ROUTE socket, which a seccomp policy must allow): give the
// exporter hosts_lines() through StackOptions::exporter_hosts.
struct FeedServer {
  TempDir logdir;
  Process proc;
  int port;
  bool tls = false;
  std::string host = default_host();
  static std::string default_host() {
    return "feeds-" + std::to_string(::getpid()) + ".hostflow.test";
  }
  // With cert and key (PEM files): HTTPS.
  FeedServer(const std::string& dir, int port, const std::string& cert = "",
             const std::string& key = "");
  std::string url(const std::string& file) const {
    return std::string(tls ? "https" : "http") + "://" + host + ":" + std::to_string(port) + "/" +
           file;
  }
  // /etc/hosts lines mapping `host` (and localhost, as stock Debian does) to 127.0.0.1 and ::1.
  std::vector<std::string> hosts_lines() const {
    return {"127.0.0.1 " + host, "::1 " + host, "127.0.0.1 localhost", "::1 localhost"};
  }
};

// Waits until `stack` serves a snapshot whose value of `key` satisfies pred; returns the last
// exposition.
std::optional<Exposition> wait_for_value(Stack& stack, const std::string& key,
                                         const std::function<bool(double)>& pred,
                                         std::chrono::milliseconds timeout);

}  // namespace hostflow::test
