#include "ct_lab.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace hostflow::test {

CtLab::CtLab() {
  hw = unique_name("h6hw");
  hr = unique_name("h6hr");
  wv = unique_name("h6wv");
  const std::string rv = unique_name("h6rv");
  sh_ok("ip link add " + hw + " netns " + h.name() + " type veth peer name " + wv + " netns " +
        w.name());
  sh_ok("ip link add " + hr + " netns " + h.name() + " type veth peer name " + rv + " netns " +
        r.name());
  // Conntrack in H: per netns, before any traffic (LAB.md): accounting, long UDP timeouts, and
  // rules that need tracking on every hook.
  h.exec_ok(
      "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 "
      "net.netfilter.nf_conntrack_acct=1 net.netfilter.nf_conntrack_udp_timeout=600 "
      "net.netfilter.nf_conntrack_udp_timeout_stream=600 && "
      "nft 'table inet h6 { chain h6fwd { type filter hook forward priority 0; ct state "
      "new,established,related accept; }; chain h6in { type filter hook input priority 0; ct state "
      "new,established,related accept; }; chain h6out { type filter hook output priority 0; ct "
      "state "
      "new,established,related accept; }; }'");
  h.exec_ok("ip addr add 10.66.1.1/24 dev " + hw + " && ip -6 addr add fd66:1::1/64 dev " + hw +
            " nodad && ip addr add 10.66.2.1/24 dev " + hr +
            " && ip -6 addr add fd66:2::1/64 dev " + hr +
            " nodad && ip addr add 198.51.100.7/32 dev " + hr + " && ip link set " + hw +
            " up && ip link set " + hr + " up");
  w.exec_ok("ip addr add 10.66.1.2/24 dev " + wv + " && ip -6 addr add fd66:1::2/64 dev " + wv +
            " nodad && ip link set " + wv +
            " up && ip route add default via 10.66.1.1 && "
            "ip -6 route add default via fd66:1::1");
  r.exec_ok("ip addr add 10.66.2.2/24 dev " + rv + " && ip addr add 10.66.2.3/24 dev " + rv +
            " && ip addr add 10.66.2.4/24 dev " + rv + " && ip addr add 10.66.2.5/24 dev " + rv +
            " && ip addr add 10.66.2.6/24 dev " + rv + " && ip -6 addr add fd66:2::2/64 dev " + rv +
            " nodad && ip -6 addr add fd66:2::3/64 dev " + rv + " nodad && ip link set " + rv +
            " up && ip route add default via 10.66.2.1 && "
            "ip -6 route add default via fd66:2::1");
  struct stat st {};
  if (::stat(("/run/netns/" + w.name()).c_str(), &st) == 0) w_inode = st.st_ino;
  holder = Process({"ip", "netns", "exec", w.name(), "sleep", "3600"}, dir.path() + "/holder.log");
  // Its own cgroup (as a container's process has), so W's owner is a name this test chose: the
  // exporter names a netns of no known runtime after its first process's cgroup leaf.
  holder_cgroup = sh_ok("awk '$3 == \"cgroup2\" {print $2; exit}' /proc/self/mounts");
  while (!holder_cgroup.empty() && holder_cgroup.back() == '\n') holder_cgroup.pop_back();
  holder_cgroup += "/" + unique_name("h6holder", 40);
  sh_ok("mkdir -p " + holder_cgroup + " && echo " + std::to_string(holder.pid()) + " > " +
        holder_cgroup + "/cgroup.procs");
}

CtLab::~CtLab() {
  holder.kill_and_wait();
  sh("rmdir " + holder_cgroup);
}

void CtLab::start_flows(const Netns& ns, const std::vector<std::string>& args) {
  const std::string log = dir.path() + "/flows" + std::to_string(flows.size()) + ".log";
  std::vector<std::string> argv = {"ip", "netns",          "exec", ns.name(), "/usr/bin/python3",
                                   "-u", HOSTFLOW_CT_FLOWS};
  for (const auto& a : args) argv.push_back(a);
  flows.emplace_back(argv, log);
  Process& p = flows.back();
  const bool ready =
      wait_until([&] { return p.log().find("ready") != std::string::npos || !p.running(); },
                 std::chrono::seconds(10));
  ASSERT_TRUE(ready && p.running()) << "ct_flows.py did not get ready: " << p.log();
}

std::vector<CtEntry> conntrack_list(const std::string& netns) {
  std::vector<CtEntry> out;
  for (const char* fam : {"ipv4", "ipv6"}) {
    RunResult r =
        run({"ip", "netns", "exec", netns, "conntrack", "-L", "-f", fam, "-o", "extended"});
    EXPECT_EQ(r.exit_code, 0) << "conntrack -L: " << r.err;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      CtEntry e;
      std::string tok;
      f >> e.family >> tok >> e.proto;
      int srcs = 0;
      while (f >> tok) {
        const auto eq = tok.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = tok.substr(0, eq), v = tok.substr(eq + 1);
        if (k == "src") {
          if (srcs++ == 0)
            e.src = v;
          else
            e.reply_src = v;
        } else if (k == "dst" && srcs == 1 && e.dst.empty()) {
          e.dst = v;
        } else if (k == "sport" && srcs == 1 && !e.sport) {
          e.sport = std::stoi(v);
        } else if (k == "dport" && srcs == 1 && !e.dport) {
          e.dport = std::stoi(v);
        }
      }
      if (!e.src.empty()) out.push_back(e);
    }
  }
  return out;
}

bool cidr_contains(const std::string& cidr, const std::string& ip) {
  const auto slash = cidr.find('/');
  const std::string net = cidr.substr(0, slash);
  unsigned char a[16] = {}, b[16] = {};
  const int fam = net.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (inet_pton(fam, net.c_str(), a) != 1 || inet_pton(fam, ip.c_str(), b) != 1) return false;
  const int bits =
      slash == std::string::npos ? (fam == AF_INET ? 32 : 128) : std::stoi(cidr.substr(slash + 1));
  for (int i = 0; i < bits; i++) {
    const int m = 0x80 >> (i % 8);
    if ((a[i / 8] & m) != (b[i / 8] & m)) return false;
  }
  return true;
}

FeedServer::FeedServer(const std::string& dir, int p, const std::string& cert,
                       const std::string& key)
    : port(p), tls(!cert.empty()) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-u", HOSTFLOW_FEED_SERVER, dir,
                                   std::to_string(port)};
  if (tls) {
    argv.push_back(cert);
    argv.push_back(key);
  }
  proc = Process(argv, logdir.path() + "/feed_server.log");
  wait_until([&] { return proc.log().find("ready") != std::string::npos || !proc.running(); },
             std::chrono::seconds(10));
}

std::optional<Exposition> wait_for_value(Stack& stack, const std::string& key,
                                         const std::function<bool(double)>& pred,
                                         std::chrono::milliseconds timeout) {
  std::optional<Exposition> last;
  const bool ok = wait_until(
      [&] {
        last = stack.scrape();
        auto v = last->get(key);
        return v && pred(*v);
      },
      timeout);
  if (!ok) return std::nullopt;
  return last;
}

}  // namespace hostflow::test
