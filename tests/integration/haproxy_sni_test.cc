// HAProxy SNI traffic, end to end: a real HAProxy 2.6 in TCP mode with SNI passthrough to real
// `openssl s_server` backends on loopback, real TLS clients with known SNIs (Python's ssl module,
// `openssl s_client`) and silent clients, and the real exporter (as an unprivileged user, seccomp
// in kill mode) beside a real sampler. The truth is the log itself: the test splits every line and
// sums bytes and connections per normalised SNI on its own, and checks them against what the
// clients did (connection counts, zero-byte silent clients).
//
// Rotation tests ship HAProxy's real lines from its own log (HAProxy never reopens stdout and
// clears O_APPEND, LAB.md) into the file the exporter follows, rotating that file in between
// (rename + new file, copytruncate) and killing/restarting the exporter mid-run.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// Ports 18800-18899 belong to this test (issue 8); each test uses its own block of 10.
constexpr int kPortBase = 18810;

const char* kClient = R"PY(
import socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for spec in sys.argv[2:]:
    sni, count, payload = spec.rsplit(':', 2)
    for i in range(int(count)):
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        if sni == '':  # a silent client: connects and sends nothing
            s.close()
            continue
        t = ctx.wrap_socket(s, server_hostname=sni)
        t.sendall(b'GET / HTTP/1.0\r\nX-Pad: ' + b'p' * int(payload) + b'\r\n\r\n')
        while True:
            try:
                if not t.recv(65536): break
            except (ssl.SSLError, OSError):
                break
        t.close()
)PY";

struct Counts {
  std::uint64_t conns = 0, zero = 0, in = 0, out = 0;
};

// The test's own reading of the log: field 6 = %U, 7 = %B, 11 = the captured SNI.
std::string normalise(std::string s) {
  static const std::regex host(
      "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
  static const std::regex numeric_tld("(^|\\.)[0-9]+$");
  if (s == "-" || s.empty()) return "<none>";
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.back() == '.') s.pop_back();
  if (s.size() > 253 || !std::regex_match(s, host) || std::regex_search(s, numeric_tld))
    return "<invalid>";
  return s;
}

std::map<std::string, Counts> sum_log(const std::vector<std::string>& lines) {
  std::map<std::string, Counts> m;
  for (const auto& l : lines) {
    std::istringstream in(l);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    EXPECT_EQ(f.size(), 11u) << l;
    if (f.size() != 11) continue;
    Counts& c = m[normalise(f[10])];
    const std::uint64_t i = std::stoull(f[5]), o = std::stoull(f[6]);
    c.conns++;
    c.in += i;
    c.out += o;
    if (i + o == 0) c.zero++;
  }
  return m;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

double value(const Exposition& e, const std::string& name, const std::string& sni) {
  return e.get(name + "{sni=\"" + sni + "\"}").value_or(-1);
}

void expect_matches(const Exposition& e, const std::map<std::string, Counts>& truth) {
  EXPECT_EQ(e.family("hostflow_haproxy_sni_connections_total").size(), truth.size());
  for (const auto& [sni, c] : truth) {
    SCOPED_TRACE(sni);
    EXPECT_EQ(value(e, "hostflow_haproxy_sni_connections_total", sni), c.conns);
    EXPECT_EQ(value(e, "hostflow_haproxy_sni_zero_byte_connections_total", sni), c.zero);
    EXPECT_EQ(value(e, "hostflow_haproxy_sni_in_bytes_total", sni), c.in);
    EXPECT_EQ(value(e, "hostflow_haproxy_sni_out_bytes_total", sni), c.out);
    EXPECT_EQ(value(e, "hostflow_haproxy_sni_bytes_total", sni), c.in + c.out);
  }
}

// A private lab: a certificate, two s_server backends, HAProxy with the recommended config
// (docs/haproxy.md), a state directory the exporter's user owns, and a sampler + exporter.
class HaproxyLab : public ::testing::Test {
 protected:
  void SetUp() override {
    HF_REQUIRE(is_root(),
               "needs root: a network namespace for the sampler, the exporter as nobody");
    for (const char* c : {"haproxy", "openssl", "python3", "promtool", "setpriv"})
      HF_REQUIRE(have_command(c), std::string(c) + " is not installed");
    char tmpl[] = "/tmp/h8-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    sh_ok("chown nobody " + dir_);  // the exporter (as nobody) creates state/ in it
    sh_ok("cd " + dir_ +
          " && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem "
          "-days 2 -subj /CN=h8 2>/dev/null");
    std::ofstream(dir_ + "/client.py") << kClient;
  }
  void TearDown() override {
    stack_.reset();
    haproxy_.kill_and_wait();
    for (auto& b : backends_) b.kill_and_wait();
    if (!dir_.empty()) sh("rm -rf " + dir_);
  }

  int port(int i) const { return base_ + i; }

  void start_haproxy() {
    for (int i = 1; i <= 2; i++) {
      backends_.emplace_back(
          std::vector<std::string>{"openssl", "s_server", "-accept",
                                   "127.0.0.1:" + std::to_string(port(i)), "-cert", dir_ + "/c.pem",
                                   "-key", dir_ + "/k.pem", "-www", "-quiet"},
          dir_ + "/backend" + std::to_string(i) + ".out");
    }
    std::ofstream(dir_ + "/haproxy.cfg")
        << "global\n"
           "  log stdout format raw local0 info\n"
           "defaults\n"
           "  mode tcp\n  log global\n"
           "  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"
           "frontend tls\n"
           "  bind 127.0.0.1:"
        << port(0)
        << "\n"
           "  tcp-request inspect-delay 1s\n"
           "  tcp-request content capture req.ssl_sni len 100\n"
           "  tcp-request content accept if { req.ssl_hello_type 1 }\n"
           "  tcp-request content reject\n"
           "  log-format \"%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %U %B %ts %ac/%fc/%bc/%sc/%rc "
           "%sq/%bq %[capture.req.hdr(0)]\"\n"
           "  use_backend b2 if { req.ssl_sni -i two.h8.test }\n"
           "  use_backend dead if { req.ssl_sni -i dead.h8.test }\n"
           "  default_backend b1\n"
           "backend b1\n  server s 127.0.0.1:"
        << port(1)
        << "\n"
           "backend b2\n  server s 127.0.0.1:"
        << port(2)
        << "\n"
           "backend dead\n  server s 127.0.0.1:"
        << port(9) << "\n";
    haproxy_ = Process(
        {"sh", "-c", "exec haproxy -f " + dir_ + "/haproxy.cfg -db 2>>" + dir_ + "/haproxy.err"},
        hap_log());
    const std::string probe = "python3 -c \"import socket; socket.create_connection(('127.0.0.1'," +
                              std::to_string(port(0)) + ")).close()\" 2>/dev/null";
    ASSERT_TRUE(wait_until([&] { return sh(probe).exit_code == 0; }, std::chrono::seconds(10)))
        << read_lines(dir_ + "/haproxy.err").size() << " lines in haproxy.err";
    // That probe connected and sent nothing: it is logged like any silent client.
    probes_++;
  }

  std::string hap_log() const { return dir_ + "/haproxy-stdout.log"; }

  void start_stack(const std::string& log, std::vector<std::string> extra = {}) {
    netns_ = std::make_unique<Netns>("hf8");
    quiet_netns(*netns_);
    StackOptions o = in_netns(netns_->name());
    for (const auto& a :
         std::vector<std::string>{"--haproxy.log", log, "--state.dir", dir_ + "/state",
                                  "--haproxy.render-interval", "200ms", "--web.enable-admin-api"})
      o.exporter_args.push_back(a);
    for (auto& a : extra) o.exporter_args.push_back(a);
    stack_ = std::make_unique<Stack>(o);
    stack_->start_sampler();
    stack_->start_exporter();
    ASSERT_TRUE(stack_->wait_fresh()) << stack_->sampler().log() << stack_->exporter().log();
  }

  void clients(const std::vector<std::string>& specs) {
    std::vector<std::string> argv = {"python3", dir_ + "/client.py", std::to_string(port(0))};
    for (const auto& s : specs) argv.push_back(s);
    const RunResult r = run(argv, std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void s_client(const std::string& sni) {
    sh_ok("echo | timeout 10 openssl s_client -servername '" + sni +
          "' -connect 127.0.0.1:" + std::to_string(port(0)) + " >/dev/null 2>&1 || true");
  }

  // Waits until HAProxy's log has `n` lines.
  std::vector<std::string> wait_log_lines(std::size_t n) {
    std::vector<std::string> l;
    EXPECT_TRUE(wait_until([&] { return (l = read_lines(hap_log())).size() >= n; },
                           std::chrono::seconds(20)))
        << "HAProxy logged " << l.size() << " of " << n << " lines";
    return l;
  }
  // Waits until the exporter has counted `n` lines; returns the scrape.
  Exposition wait_counted(std::size_t n) {
    Exposition e;
    const bool ok = wait_until(
        [&] {
          e = stack_->scrape();
          return e.get("hostflow_haproxy_lines_total").value_or(-1) == static_cast<double>(n);
        },
        std::chrono::seconds(20));
    EXPECT_TRUE(ok) << "exporter counted " << e.get("hostflow_haproxy_lines_total").value_or(-1)
                    << " of " << n << "\n"
                    << stack_->exporter().log();
    return e;
  }

  int base_ = kPortBase;
  std::string dir_;
  std::size_t probes_ = 0;
  std::vector<Process> backends_;
  Process haproxy_;
  std::unique_ptr<Netns> netns_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(HaproxyLab, PerSniTrafficEqualsTheLog) {
  base_ = kPortBase;
  start_haproxy();
  start_stack(hap_log(), {"--haproxy.sni-limit", "20"});
  clients({"one.h8.test:5:100", "two.h8.test:3:20000", "three.h8.test.:2:0", ":4:0"});
  s_client("Mixed.H8.Test.");
  s_client("bad_name.h8.test");
  s_client("dead.h8.test");
  const std::size_t n = probes_ + 5 + 3 + 2 + 4 + 3;
  const auto lines = wait_log_lines(n);
  ASSERT_EQ(lines.size(), n);
  const auto truth = sum_log(lines);
  // What the clients did, independent of any log.
  EXPECT_EQ(truth.at("one.h8.test").conns, 5u);
  EXPECT_EQ(truth.at("two.h8.test").conns, 3u);
  EXPECT_EQ(truth.at("three.h8.test").conns, 2u);
  EXPECT_EQ(truth.at("mixed.h8.test").conns, 1u);
  EXPECT_EQ(truth.at("<invalid>").conns, 1u);
  EXPECT_EQ(truth.at("<none>").conns, 4u + probes_);
  EXPECT_EQ(truth.at("<none>").zero, 4u + probes_);
  EXPECT_GT(truth.at("two.h8.test").in, 3u * 20000);  // the padding went through
  const Exposition e = wait_counted(n);
  expect_matches(e, truth);
  EXPECT_EQ(e.get("hostflow_haproxy_lines_unparsed_total{reason=\"missing_field\"}"), 0);
  EXPECT_TRUE(e.duplicates.empty());
  const RunResult p = promtool_check(http_get(stack_->url()).body);
  EXPECT_EQ(p.exit_code, 0) << p.out;

  // POST /reset (admin API on): SNI counters to zero, logged with the client's address; then
  // new connections count from zero.
  const RunResult get = sh("curl -s -o /dev/null -w '%{http_code}' " + stack_->url("/reset"));
  EXPECT_EQ(get.out, "405");
  const RunResult post = sh("curl -s -X POST " + stack_->url("/reset"));
  EXPECT_EQ(post.exit_code, 0);
  EXPECT_TRUE(wait_until(
      [&] {
        return !stack_->scrape().get("hostflow_haproxy_sni_connections_total{sni=\"one.h8.test\"}");
      },
      std::chrono::seconds(10)));
  EXPECT_NE(stack_->exporter().log().find("client=127.0.0.1:"), std::string::npos)
      << stack_->exporter().log();
  clients({"one.h8.test:2:10"});
  const auto after = wait_log_lines(n + 2);
  const Exposition e2 = wait_counted(2);
  expect_matches(e2, sum_log({after.end() - 2, after.end()}));
}

TEST_F(HaproxyLab, AdminApiOffMeansNoReset) {
  base_ = kPortBase + 10;
  const std::string log = dir_ + "/empty.log";
  std::ofstream{log};
  netns_ = std::make_unique<Netns>("hf8");
  quiet_netns(*netns_);
  StackOptions o = in_netns(netns_->name());
  o.all_features = false;  // asserts the admin API is off by default
  for (const auto& a :
       std::vector<std::string>{"--haproxy.log", log, "--state.dir", dir_ + "/state"})
    o.exporter_args.push_back(a);
  stack_ = std::make_unique<Stack>(o);
  stack_->start_sampler();
  stack_->start_exporter();
  ASSERT_TRUE(stack_->wait_fresh()) << stack_->exporter().log();
  EXPECT_EQ(sh("curl -s -o /dev/null -w '%{http_code}' -X POST " + stack_->url("/reset")).out,
            "405");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/state").c_str(), &st), 0) << "state directory not created";
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(HaproxyLab, RotationAndRestartKeepTotalsExact) {
  base_ = kPortBase + 20;
  start_haproxy();
  const std::string log = dir_ + "/haproxy.log";  // what the exporter follows
  std::size_t shipped = 0;
  std::vector<std::string> all;
  // Appends HAProxy's lines not shipped yet to `to`.
  auto ship = [&](const std::string& to) {
    const auto lines = read_lines(hap_log());
    std::ofstream o(to, std::ios::app);
    for (; shipped < lines.size(); shipped++) {
      o << lines[shipped] << "\n";
      all.push_back(lines[shipped]);
    }
  };
  std::size_t expected = probes_;
  auto batch = [&](const std::vector<std::string>& specs, std::size_t conns) {
    clients(specs);
    expected += conns;
    wait_log_lines(expected);
  };
  batch({"r1.h8.test:4:50", ":1:0"}, 5);
  ship(log);
  start_stack(log);
  wait_counted(all.size());

  // Rename rotation: the writer first keeps appending to the renamed file, then starts anew.
  ASSERT_EQ(::rename(log.c_str(), (log + ".1").c_str()), 0);
  batch({"r2.h8.test:3:10"}, 3);
  ship(log + ".1");
  batch({"r3.h8.test:2:10", "r1.h8.test:1:5"}, 3);
  ship(log);
  Exposition before = wait_counted(all.size());
  expect_matches(before, sum_log(all));

  // copytruncate (once the exporter has caught up, as logrotate's copytruncate expects).
  sh_ok("cp " + log + " " + log + ".2 && truncate -s 0 " + log);
  batch({"r4.h8.test:2:10"}, 2);
  ship(log);
  before = wait_counted(all.size());
  expect_matches(before, sum_log(all));
  EXPECT_EQ(before.get("hostflow_haproxy_rotations_total{kind=\"rename\"}"), 1);
  EXPECT_EQ(before.get("hostflow_haproxy_rotations_total{kind=\"truncate\"}"), 1);

  // Crash (SIGKILL) mid-run with lines arriving; more while it is down; then a restart.
  batch({"r5.h8.test:3:10"}, 3);
  ship(log);
  stack_->exporter().kill_and_wait();
  batch({"r1.h8.test:2:10", ":2:0"}, 4);
  ship(log);
  stack_->start_exporter();
  const Exposition after = wait_counted(all.size());
  expect_matches(after, sum_log(all));
  // Counters continued from the checkpoint: nothing already seen went down.
  for (const auto& [k, v] : before.family("hostflow_haproxy_sni_bytes_total"))
    EXPECT_GE(after.series.at(k), v) << k;
  const RunResult p = promtool_check(http_get(stack_->url()).body);
  EXPECT_EQ(p.exit_code, 0) << p.out;
}

TEST_F(HaproxyLab, HostileSnisStayBounded) {
  base_ = kPortBase + 30;
  start_haproxy();
  // A hostile client through the real HAProxy: distinct SNIs, one connection each.
  std::vector<std::string> specs;
  for (int i = 0; i < 300; i++) specs.push_back("h" + std::to_string(i) + ".evil.h8.test:1:0");
  clients(specs);
  auto lines = wait_log_lines(probes_ + 300);
  // Then 100,000 distinct SNIs in HAProxy's own line format (a real line with the SNI replaced:
  // 100,000 real TLS handshakes would take minutes here).
  const std::string log = dir_ + "/haproxy.log";
  {
    std::ofstream o(log);
    for (const auto& l : lines) o << l << "\n";
    const std::string tmpl = lines.back().substr(0, lines.back().rfind(' ') + 1);
    for (int i = 0; i < 100000; i++) {
      const std::string l = tmpl + "x" + std::to_string(i) + ".flood.h8.test";
      o << l << "\n";
      lines.push_back(l);
    }
  }
  start_stack(log, {"--haproxy.sni-limit", "100"});
  const Exposition e = wait_counted(lines.size());
  const auto truth = sum_log(lines);
  // limit + the overflow series (+ <none> for the readiness probe's silent connection).
  auto fam = e.family("hostflow_haproxy_sni_connections_total");
  fam.erase("hostflow_haproxy_sni_connections_total{sni=\"<none>\"}");
  EXPECT_EQ(fam.size(), 100u + 1);
  EXPECT_EQ(e.get("hostflow_haproxy_sni_tracked"), 100);
  // Exact totals: every series sums to the log's totals.
  for (const char* name :
       {"hostflow_haproxy_sni_connections_total", "hostflow_haproxy_sni_in_bytes_total",
        "hostflow_haproxy_sni_out_bytes_total"}) {
    double got = 0, want = 0;
    for (const auto& [k, v] : e.family(name)) got += v;
    for (const auto& [k, c] : truth)
      want +=
          static_cast<double>(std::string(name).find("connections") != std::string::npos ? c.conns
                              : std::string(name).find("_in_") != std::string::npos      ? c.in
                                                                                         : c.out);
    EXPECT_EQ(got, want) << name;
  }
  EXPECT_GT(e.get("hostflow_haproxy_sni_folded_connections_total").value_or(0), 100000 - 100);
  const std::string body = http_get(stack_->url()).body;
  const RunResult p = promtool_check(body);
  EXPECT_EQ(p.exit_code, 0) << p.out;
  EXPECT_TRUE(e.duplicates.empty());
  EXPECT_TRUE(e.errors.empty());
  // Memory stays bounded: the exporter's RSS with 100,000 distinct SNIs read.
  std::ifstream st("/proc/" + std::to_string(stack_->exporter().pid()) + "/status");
  for (std::string l; std::getline(st, l);)
    if (l.rfind("VmRSS:", 0) == 0) RecordProperty("exporter_rss", l);
}

}  // namespace
}  // namespace hostflow::test
