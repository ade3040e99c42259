// --web.config.file with the real binaries under seccomp kill mode (the Stack's default), every
// optional feature on: TLS, client certificates, bcrypt users, headers, the rate limit, a rotated
// certificate and a broken edit. The clients are the real `curl` and `openssl s_client`, the
// certificates come from the `openssl` CLI, one hash from Apache's `htpasswd` (APR's own bcrypt,
// not libcrypt), the file is also checked by `promtool check web-config`, and a real Prometheus
// scrapes over TLS with basic auth. Label `daemon` (Prometheus).
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// A CA, another CA, a server certificate for 127.0.0.1, client certificates: from the right CA
// with the allowed SAN, from the right CA with another SAN, from the other CA with the allowed
// SAN. Readable by the exporter's user (a test directory, not a real key store).
struct Pki {
  TempDir dir;
  std::string p(const std::string& name) const { return dir.path() + "/" + name; }
  Pki() {
    ::chmod(dir.path().c_str(), 0755);
    const std::string d = dir.path();
    sh_ok("cd " + d +
          " && for ca in ca otherca; do openssl req -x509 -newkey ec -pkeyopt "
          "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.crt -days 2 -subj /CN=$ca "
          "2>/dev/null || exit 1; done");
    leaf("server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth");
    leaf("client", "ca", "DNS:prometheus.example", "clientAuth");
    leaf("wrongsan", "ca", "DNS:intruder.example", "clientAuth");
    leaf("otherclient", "otherca", "DNS:prometheus.example", "clientAuth");
    for (const char* name : {"server", "client", "wrongsan", "otherclient"}) install(name);
    sh_ok("chmod 0644 " + d + "/*");
  }
  // A certificate for `name` signed by `ca` (a new key and serial each time).
  void leaf(const std::string& name, const std::string& ca, const std::string& san,
            const std::string& usage) const {
    const std::string d = dir.path();
    sh_ok("cd " + d +
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
          ".key.new -out " + name + ".csr -subj /CN=" + name + " 2>/dev/null && printf '" +
          "subjectAltName=" + san + "\\nextendedKeyUsage=" + usage + "\\n' > " + name +
          ".ext && openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
          ".key -CAcreateserial -out " + name + ".crt.new -days 2 -extfile " + name +
          ".ext 2>/dev/null && chmod 0644 " + name + ".key.new " + name + ".crt.new");
  }
  // Moves the new key and certificate of `name` into place (key first, as an operator would).
  void install(const std::string& name) const {
    sh_ok("cd " + dir.path() + " && mv " + name + ".key.new " + name + ".key && mv " + name +
          ".crt.new " + name + ".crt");
  }
  // SHA-256 fingerprint of a PEM certificate file ("AB:CD:...").
  std::string fingerprint(const std::string& file) const {
    return sh_ok("openssl x509 -noout -fingerprint -sha256 -in " + file + " | cut -d= -f2");
  }
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), 0644);
}

// htpasswd's bcrypt hash of `password` ($2y$, cost 10).
std::string htpasswd_hash(const std::string& password) {
  const RunResult r = run({"htpasswd", "-nbBC", "10", "u", password});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string h = r.out.substr(r.out.find(':') + 1);
  while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
  return h;
}

struct Reply {
  int code = 0;  // 0: no HTTP response (connection or handshake refused)
  std::string body, headers, err;
  int curl_exit = -1;
  double seconds = 0;
};

// One request with the curl binary. `args` go before the URL.
Reply curl(const std::string& url, std::vector<std::string> args) {
  TempDir tmp;
  std::vector<std::string> argv = {"curl",       "-sS",
                                   "--max-time", "10",
                                   "-o",         tmp.path() + "/body",
                                   "-D",         tmp.path() + "/head",
                                   "-w",         "%{http_code} %{time_total}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  const RunResult r = run(argv, std::chrono::seconds(15));
  Reply out;
  out.curl_exit = r.exit_code;
  out.err = r.err;
  std::sscanf(r.out.c_str(), "%d %lf", &out.code, &out.seconds);
  std::ifstream b(tmp.path() + "/body"), h(tmp.path() + "/head");
  out.body.assign(std::istreambuf_iterator<char>(b), {});
  out.headers.assign(std::istreambuf_iterator<char>(h), {});
  return out;
}

class TlsStack {
 public:
  TlsStack(const std::string& config_path, std::vector<std::string> extra = {})
      : stack_(options(config_path, std::move(extra))) {
    stack_.start_sampler();
    stack_.start_exporter();
  }
  Stack& stack() { return stack_; }
  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(stack_.port()) + path;
  }
  std::string http(const std::string& path) const { return stack_.url(path); }

 private:
  static StackOptions options(const std::string& config_path, std::vector<std::string> extra) {
    StackOptions o;
    o.exporter_args = {"--web.config.file", config_path};
    o.exporter_args.insert(o.exporter_args.end(), extra.begin(), extra.end());
    for (const auto& a : seccomp_args()) o.exporter_args.push_back(a);
    return o;
  }
  Stack stack_;
};

bool has_header(const Reply& r, const std::string& line) {
  return r.headers.find(line) != std::string::npos;
}

// Waits until the exporter answers `url` with `want` (it starts in well under a second).
bool wait_code(const std::string& url, const std::vector<std::string>& args, int want) {
  return wait_until([&] { return curl(url, args).code == want; }, std::chrono::seconds(15));
}

void require_tools() {
  HF_REQUIRE(is_root(), "needs root: runs the sampler and the exporter as its own user");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  HF_REQUIRE(have_command("openssl"), "openssl is not installed");
  HF_REQUIRE(have_command("htpasswd"), "htpasswd (apache2-utils) is not installed");
}

TEST(WebTls, TwoBcryptUsersOverTlsAndEveryOtherRequestRefused) {
  require_tools();
  HF_REQUIRE(have_command("promtool"), "promtool (prometheus) is not installed");
  Pki pki;
  const std::string alice = htpasswd_hash("alice-secret");
  ASSERT_EQ(alice.rfind("$2y$10$", 0), 0u) << alice;
  // The same algorithm under its $2b$ name: APR's hash, renamed.
  std::string bob = htpasswd_hash("bob-secret");
  bob.replace(0, 4, "$2b$");
  const std::string cfg = pki.p("web.yml");
  write_file(cfg,
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
             "    X-Content-Type-Options: nosniff\n"
             "basic_auth_users:\n  alice: " +
                 alice + "\n  bob: " + bob + "\n");
  const RunResult promtool = run({"promtool", "check", "web-config", cfg});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  TlsStack s(cfg);
  const std::vector<std::string> ca = {"--cacert", pki.p("ca.crt")};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), ca.begin(), ca.end());
    return more;
  };
  ASSERT_TRUE(wait_code(s.https("/-/healthy"), with({"-u", "alice:alice-secret"}), 200))
      << s.stack().exporter().log();

  for (const char* user : {"alice:alice-secret", "bob:bob-secret"}) {
    const Reply ok = curl(s.https("/metrics"), with({"-u", user}));
    EXPECT_EQ(ok.code, 200) << user << ": " << ok.err;
    EXPECT_TRUE(has_header(ok, "X-Frame-Options: deny")) << ok.headers;
    EXPECT_TRUE(has_header(ok, "X-Content-Type-Options: nosniff")) << ok.headers;
    check_exposition_invariants(ok.body, std::string("TLS scrape as ") + user);
    EXPECT_NE(ok.body.find("hostflow_exporter_web_config_reloads_total"), std::string::npos);
  }
  // Wrong password, unknown user, no credentials, another scheme: 401 with a Basic challenge, on
  // every endpoint (admin and debug ones included), the configured headers on the refusal too.
  const std::vector<std::vector<std::string>> refused = {
      {"-u", "alice:bob-secret"},
      {"-u", "carol:alice-secret"},
      {},
      {"-H", "Authorization: Bearer alice-secret"},
  };
  for (const auto& creds : refused) {
    for (const char* path :
         {"/metrics", "/health", "/-/healthy", "/-/ready", "/", "/nope", "/debug/log-level"}) {
      const Reply r = curl(s.https(path), with(creds));
      EXPECT_EQ(r.code, 401) << path << " " << (creds.empty() ? "" : creds.back());
      EXPECT_TRUE(has_header(r, "WWW-Authenticate: Basic")) << r.headers;
      EXPECT_TRUE(has_header(r, "X-Frame-Options: deny")) << r.headers;
    }
    const Reply post = curl(s.https("/reset"), with({"-X", "POST"}));
    EXPECT_EQ(post.code, 401);
  }
  // Plain HTTP to the TLS port: no HTTP answer at all.
  const Reply plain = curl(s.http("/metrics"), {"-u", "alice:alice-secret"});
  EXPECT_EQ(plain.code, 0) << plain.body;
  // TLS 1.1, offered by a client that allows it (security level 0): the server refuses it.
  const RunResult tls11 =
      sh("openssl s_client -connect 127.0.0.1:" + std::to_string(s.stack().port()) +
         " -tls1_1 -cipher DEFAULT@SECLEVEL=0 < /dev/null 2>&1");
  EXPECT_NE(tls11.exit_code, 0) << tls11.out;
  EXPECT_NE(tls11.out.find("alert protocol version"), std::string::npos) << tls11.out;
  // TLS 1.2 and 1.3 are served.
  for (const char* v : {"--tls-max", "--tlsv1.3"}) {
    std::vector<std::string> a = with({"-u", "bob:bob-secret"});
    if (std::string(v) == "--tls-max")
      a.insert(a.end(), {"--tlsv1.2", "--tls-max", "1.2"});
    else
      a.push_back(v);
    EXPECT_EQ(curl(s.https("/-/healthy"), a).code, 200) << v;
  }
  const Reply m = curl(s.https("/metrics"), with({"-u", "alice:alice-secret"}));
  const Exposition e = parse_exposition(m.body);
  EXPECT_GE(e.get("hostflow_exporter_tls_handshake_failures_total").value_or(0), 2);
  EXPECT_GE(e.get("hostflow_exporter_http_unauthorized_total").value_or(0), 4 * 8);
  EXPECT_TRUE(s.stack().exporter().running()) << s.stack().exporter().log();
}

TEST(WebTls, RequireAndVerifyClientCertAcceptsOnlyTheRightCaAndAnAllowedSan) {
  require_tools();
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg,
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
             "  client_allowed_sans: [prometheus.example]\n");
  TlsStack s(cfg);
  auto as = [&](const std::string& who) {
    return std::vector<std::string>{"--cacert",          pki.p("ca.crt"), "--cert",
                                    pki.p(who + ".crt"), "--key",         pki.p(who + ".key")};
  };
  ASSERT_TRUE(wait_code(s.https("/-/healthy"), as("client"), 200)) << s.stack().exporter().log();
  const Reply ok = curl(s.https("/metrics"), as("client"));
  EXPECT_EQ(ok.code, 200) << ok.err;
  check_exposition_invariants(ok.body, "mTLS scrape");
  // No certificate, one from another CA, one from the right CA without an allowed SAN: no HTTP
  // answer (TLS 1.2 and 1.3 alike).
  for (const char* version : {"1.2", "1.3"}) {
    std::vector<std::vector<std::string>> refused = {
        {"--cacert", pki.p("ca.crt")}, as("otherclient"), as("wrongsan")};
    for (auto& args : refused) {
      args.insert(args.end(), {"--tls-max", version});
      const Reply r = curl(s.https("/-/healthy"), args);
      EXPECT_EQ(r.code, 0) << version << " " << args[args.size() - 3] << ": " << r.body;
    }
  }
  // The same refusals seen from the server.
  const Reply m = curl(s.https("/metrics"), as("client"));
  const Exposition e = parse_exposition(m.body);
  EXPECT_GE(e.get("hostflow_exporter_tls_handshake_failures_total").value_or(0), 4)
      << "TLS 1.3 client certificates are checked after the client's Finished: the server still "
         "refuses them";
  EXPECT_TRUE(s.stack().exporter().running()) << s.stack().exporter().log();
}

TEST(WebTls, ARotatedCertificateIsServedAtTheNextHandshakeAndABrokenEditKeepsTheLastGoodOne) {
  require_tools();
  Pki pki;
  const std::string alice = htpasswd_hash("alice-secret");
  const std::string cfg = pki.p("web.yml");
  const std::string good =
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
      "basic_auth_users:\n  alice: " +
      alice + "\n";
  write_file(cfg, good);
  TlsStack s(cfg);
  const std::vector<std::string> auth = {"--cacert", pki.p("ca.crt"), "-u", "alice:alice-secret"};
  ASSERT_TRUE(wait_code(s.https("/-/healthy"), auth, 200)) << s.stack().exporter().log();
  const std::string port = std::to_string(s.stack().port());
  auto presented = [&] {
    return sh_ok("openssl s_client -connect 127.0.0.1:" + port +
                 " < /dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= "
                 "-f2");
  };
  const std::string before = pki.fingerprint(pki.p("server.crt"));
  EXPECT_EQ(presented(), before);

  pki.leaf("server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth");
  pki.install("server");
  const std::string after = pki.fingerprint(pki.p("server.crt"));
  ASSERT_NE(after, before);
  EXPECT_EQ(presented(), after) << "the next handshake presents the new certificate";
  EXPECT_EQ(curl(s.https("/metrics"), auth).code, 200);

  // Broken edits: not YAML, an unknown key, a key file that does not exist. Each time the last
  // good config keeps serving (with its users: no credentials is still 401), and it is counted.
  const std::vector<std::string> broken = {
      "tls_server_config: [\n",
      good + "basic_auth: {}\n",
      "tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n",
  };
  double failures = 0;
  for (const std::string& text : broken) {
    write_file(cfg, text);
    const Reply ok = curl(s.https("/metrics"), auth);
    EXPECT_EQ(ok.code, 200) << text;
    EXPECT_EQ(curl(s.https("/metrics"), {"--cacert", pki.p("ca.crt")}).code, 401) << text;
    EXPECT_EQ(presented(), after) << text;
    const Exposition e = parse_exposition(curl(s.https("/metrics"), auth).body);
    EXPECT_EQ(e.get("hostflow_exporter_web_config_last_reload_successful"), 0.0) << text;
    const double f =
        e.get("hostflow_exporter_web_config_reloads_total{result=\"failure\"}").value_or(0);
    EXPECT_EQ(f, failures + 1) << text;
    failures = f;
  }
  EXPECT_NE(s.stack().exporter().log().find("web config not reloaded: keeping the last good one"),
            std::string::npos);
  // A good edit again: reloaded, and what it says applies (alice's password changed).
  write_file(cfg,
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "basic_auth_users:\n  alice: " +
                 htpasswd_hash("new-secret") + "\n");
  EXPECT_EQ(curl(s.https("/metrics"), auth).code, 401);
  const Reply now =
      curl(s.https("/metrics"), {"--cacert", pki.p("ca.crt"), "-u", "alice:new-secret"});
  EXPECT_EQ(now.code, 200);
  const Exposition e = parse_exposition(now.body);
  EXPECT_EQ(e.get("hostflow_exporter_web_config_last_reload_successful"), 1.0);
  EXPECT_GE(e.get("hostflow_exporter_web_config_reloads_total{result=\"success\"}").value_or(0), 2);
  EXPECT_TRUE(s.stack().exporter().running()) << s.stack().exporter().log();
}

TEST(WebTls, ARateLimitBurstGetsExactlyTheBurstAnd429sForTheRest) {
  require_tools();
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg, "rate_limit:\n  interval: 1m\n  burst: 5\n");
  // /-/healthy outside the limit (and auth), so waiting for the start spends no token.
  TlsStack s(cfg, {"--web.healthy-without-auth"});
  ASSERT_TRUE(wait_code(s.http("/-/healthy"), {}, 200)) << s.stack().exporter().log();
  int ok = 0, limited = 0;
  for (int i = 0; i < 12; ++i) {
    const int code = curl(s.http("/-/ready"), {}).code;
    if (code == 429) limited++;
    if (code != 429) ok++;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 7);
  EXPECT_EQ(curl(s.http("/-/healthy"), {}).code, 200) << "outside the limit with the flag";
}

TEST(WebTls, HealthyWithoutAuthOpensOnlyTheLivenessProbe) {
  require_tools();
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg, "basic_auth_users:\n  alice: " + htpasswd_hash("alice-secret") + "\n");
  TlsStack s(cfg, {"--web.healthy-without-auth"});
  ASSERT_TRUE(wait_code(s.http("/-/healthy"), {}, 200)) << s.stack().exporter().log();
  for (const char* path : {"/metrics", "/-/ready", "/health", "/"})
    EXPECT_EQ(curl(s.http(path), {}).code, 401) << path;
  EXPECT_EQ(curl(s.http("/metrics"), {"-u", "alice:alice-secret"}).code, 200);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(WebTls, AnUnknownUserTakesAsLongAsAWrongPassword) {
  require_tools();
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg, "basic_auth_users:\n  alice: " + htpasswd_hash("alice-secret") + "\n");
  TlsStack s(cfg);
  ASSERT_TRUE(wait_code(s.http("/-/healthy"), {"-u", "alice:alice-secret"}, 200))
      << s.stack().exporter().log();
  // 200 tries each, interleaved; a new password every time (a cached result would be instant).
  std::vector<double> unknown, wrong;
  for (int i = 0; i < 200; ++i) {
    const std::string pw = "guess-" + std::to_string(i);
    const Reply u = curl(s.http("/-/healthy"), {"-u", "mallory:" + pw});
    const Reply w = curl(s.http("/-/healthy"), {"-u", "alice:" + pw});
    ASSERT_EQ(u.code, 401);
    ASSERT_EQ(w.code, 401);
    unknown.push_back(u.seconds);
    wrong.push_back(w.seconds);
  }
  const double mu = median(unknown), mw = median(wrong);
  EXPECT_GT(mw, 0.005) << "a wrong password runs bcrypt (cost 10)";
  EXPECT_LT(std::abs(mu - mw) / mw, 0.20) << "median unknown " << mu << " s, wrong " << mw << " s";
}

TEST(WebTls, PrometheusScrapesOverTlsWithBasicAuth) {
  require_tools();
  HF_REQUIRE(have_command("prometheus"), "prometheus (2.x) is not installed");
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg,
             "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
             "basic_auth_users:\n  prometheus: " +
                 htpasswd_hash("scrape-secret") + "\n");
  TlsStack s(cfg);
  ASSERT_TRUE(wait_code(s.https("/-/healthy"),
                        {"--cacert", pki.p("ca.crt"), "-u", "prometheus:scrape-secret"}, 200))
      << s.stack().exporter().log();
  TempDir dir;
  const int prom_port = free_port();
  const std::string prom_cfg = dir.path() + "/prometheus.yml";
  // The scrape_config of docs/security.md.
  std::ofstream(prom_cfg) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                             "scrape_configs:\n  - job_name: hostflow\n    scrape_timeout: 1s\n"
                             "    scheme: https\n    tls_config:\n      ca_file: "
                          << pki.p("ca.crt")
                          << "\n    basic_auth:\n      username: prometheus\n"
                             "      password: scrape-secret\n"
                             "    static_configs:\n      - targets: ['127.0.0.1:"
                          << s.stack().port() << "']\n";
  Process prom(
      {"prometheus", "--config.file=" + prom_cfg, "--storage.tsdb.path=" + dir.path() + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      dir.path() + "/prometheus.log");
  double up = -1, samples = 0;
  const bool scraped = wait_until(
      [&] {
        const HttpResult r = http_get("http://127.0.0.1:" + std::to_string(prom_port) +
                                      "/api/v1/query?query=" + url_encode("up{job=\"hostflow\"}"));
        auto j = nlohmann::json::parse(r.body, nullptr, false);
        if (j.is_discarded() || j.value("status", "") != "success" || j["data"]["result"].empty())
          return false;
        up = std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
        const HttpResult n =
            http_get("http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/query?query=" +
                     url_encode("scrape_samples_scraped{job=\"hostflow\"}"));
        auto k = nlohmann::json::parse(n.body, nullptr, false);
        if (!k.is_discarded() && !k["data"]["result"].empty())
          samples = std::stod(k["data"]["result"][0]["value"][1].get<std::string>());
        return up == 1;
      },
      std::chrono::seconds(40));
  EXPECT_TRUE(scraped) << "up = " << up << "\n" << prom.log();
  EXPECT_EQ(up, 1);
  EXPECT_GT(samples, 10);
  EXPECT_TRUE(s.stack().exporter().running()) << s.stack().exporter().log();
}

// --web.systemd-socket: systemd's own socket activation helper binds the port and passes it
// (LISTEN_PID/LISTEN_FDS, fd 3); the exporter, as its user and under the kill filter, serves it
// over TLS without binding anything itself.
TEST(WebTls, TheExporterServesTheSocketSystemdPassesIt) {
  require_tools();
  HF_REQUIRE(have_command("systemd-socket-activate"), "systemd-socket-activate is not installed");
  Pki pki;
  const std::string cfg = pki.p("web.yml");
  write_file(cfg, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  StackOptions o;
  Stack stack(o);
  stack.start_sampler();
  const int port = free_port();
  TempDir logs;
  std::vector<std::string> argv = {"systemd-socket-activate",
                                   "-l",
                                   "127.0.0.1:" + std::to_string(port),
                                   "setpriv",
                                   "--reuid=nobody",
                                   "--regid=hostflow",
                                   "--clear-groups",
                                   "--bounding-set=-all",
                                   "--inh-caps=-all",
                                   "--",
                                   HOSTFLOW_EXPORTER_BIN,
                                   "--segment",
                                   stack.segment(),
                                   "--segment.poll-interval",
                                   "50ms",
                                   "--web.systemd-socket",
                                   "--web.config.file",
                                   cfg};
  for (const auto& a : seccomp_args()) argv.push_back(a);
  Process exporter(argv, logs.path() + "/exporter.log");
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/metrics";
  const std::vector<std::string> ca = {"--cacert", pki.p("ca.crt")};
  // The helper execs the exporter at the first connection, as systemd does.
  ASSERT_TRUE(wait_until(
      [&] {
        const Reply r = curl(url, ca);
        return r.code == 200 && r.body.find("hostflow_sampler_up 1") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << exporter.log();
  check_exposition_invariants(curl(url, ca).body, "systemd socket");
  EXPECT_NE(exporter.log().find("listen=\"systemd socket\""), std::string::npos) << exporter.log();
  EXPECT_NE(exporter.log().find("mode=kill"), std::string::npos) << exporter.log();
  EXPECT_TRUE(exporter.running()) << exporter.log();
  // Without a socket passed, the flag is a clear startup error.
  const RunResult alone = run({HOSTFLOW_EXPORTER_BIN, "--allow-root", "--segment", stack.segment(),
                               "--web.systemd-socket"});
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE((alone.out + alone.err).find("--web.systemd-socket: no socket passed"),
            std::string::npos)
      << alone.out << alone.err;
}

}  // namespace
}  // namespace hostflow::test
