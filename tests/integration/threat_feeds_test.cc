// Threat feed refresh against a real HTTP server on loopback with fixture files in each real
// format: entries as the fixtures hold them; a malformed, too large or hanging feed is a counted
// error and the last good list stays; a restart with the server down starts from the disk cache.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ct_lab.h"
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

std::string logs(Stack& s) {
  return "\n--- exporter log ---\n" + s.exporter().log();
}

std::string fixture(const std::string& f) {
  return read_file(std::string(HOSTFLOW_FIXTURES_DIR) + "/threat/" + f);
}

// Entries a fixture holds, counted here: or_addresses for Onionoo, non-comment lines otherwise.
std::size_t fixture_entries(const std::string& f) {
  const std::string body = fixture(f);
  std::size_t n = 0;
  if (f.find(".json") != std::string::npos) {
    const auto doc = nlohmann::json::parse(body);
    for (const auto& r : doc["relays"]) n += r["or_addresses"].size();
    return n;
  }
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find_first_of(";#"));
    if (line.find_first_not_of(" \t\r") != std::string::npos) n++;
  }
  return n;
}

void write(const std::string& path, const std::string& body) {
  std::ofstream(path + ".tmp") << body;
  std::filesystem::rename(path + ".tmp", path);
}

double value(const Exposition& e, const std::string& name, const std::string& list) {
  auto v = e.get(name + "{list=\"" + list + "\"}");
  return v ? *v : -1;
}

TEST(ThreatFeeds, RefreshErrorsKeepTheLastGoodListAndRestartUsesTheCache) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 serves the feeds");
  TempDir web, state;
  for (const char* f :
       {"onionoo-exit.json", "onionoo-relay.json", "drop.txt", "dropv6.txt", "compromised-ips.txt"})
    write(web.path() + "/" + f, fixture(f));
  sh_ok("chown nobody " + state.path());
  auto server = std::make_unique<FeedServer>(web.path(), 18610);
  ASSERT_TRUE(server->proc.running()) << server->proc.log();
  StackOptions so;
  so.exporter_hosts = server->hosts_lines();
  so.exporter_args = {"--state.dir", state.path(), "--threat.fetch-timeout", "1s", "--threat.retry",
                      "300ms", "--threat.max-bytes", "65536", "--tor.exit.enable", "--tor.exit.url",
                      server->url("onionoo-exit.json"), "--tor.exit.refresh", "300ms",
                      "--tor.relay.enable", "--tor.relay.url", server->url("onionoo-relay.json"),
                      "--tor.relay.refresh", "300ms", "--spamhaus.enable", "--spamhaus.url",
                      server->url("drop.txt"), "--spamhaus.ipv6.url", server->url("dropv6.txt"),
                      "--spamhaus.refresh", "300ms", "--emergingthreats.enable",
                      "--emergingthreats.url",
                      // By name: the resolver runs under the seccomp filter too.
                      "http://localhost:" + std::to_string(server->port) + "/compromised-ips.txt",
                      "--emergingthreats.refresh", "300ms"};
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  const std::map<std::string, std::size_t> want = {
      {"tor_exit", fixture_entries("onionoo-exit.json")},
      {"tor_relay", fixture_entries("onionoo-relay.json")},
      {"spamhaus", fixture_entries("drop.txt") + fixture_entries("dropv6.txt")},
      {"emergingthreats", fixture_entries("compromised-ips.txt")}};
  for (const auto& [l, n] : want) {
    ASSERT_TRUE(wait_for_value(
        stack, "hostflow_threat_feed_entries{list=\"" + l + "\"}", [&](double v) { return v == n; },
        std::chrono::seconds(15)))
        << l << " never had " << n << " entries" << logs(stack);
  }
  Exposition e = stack.scrape();
  for (const auto& [l, n] : want) {
    EXPECT_EQ(value(e, "hostflow_threat_feed_refresh_errors_total", l), 0) << l;
    EXPECT_GT(value(e, "hostflow_threat_feed_last_success_timestamp_seconds", l), 1.6e9) << l;
  }

  // Malformed (an HTML error page), too large (past --threat.max-bytes), hanging (no answer
  // within --threat.fetch-timeout): each refresh fails, is counted, and the list stays.
  write(web.path() + "/compromised-ips.txt", "<html><body>502 Bad Gateway</body></html>\n");
  std::string big;
  while (big.size() < 100000) big += "1.2.3.4\n";
  write(web.path() + "/drop.txt", big);
  write(web.path() + "/onionoo-relay.json.hang", "");
  write(web.path() + "/onionoo-exit.json", "{\"relays\": [ {\"or_addresses\": [\"1.2.3.4:1\"");
  for (const char* l : {"emergingthreats", "spamhaus", "tor_relay", "tor_exit"}) {
    ASSERT_TRUE(wait_for_value(
        stack, "hostflow_threat_feed_refresh_errors_total{list=\"" + std::string(l) + "\"}",
        [](double v) { return v >= 2; }, std::chrono::seconds(20)))
        << l << ": no counted error" << logs(stack);
  }
  e = stack.scrape();
  for (const auto& [l, n] : want) EXPECT_EQ(value(e, "hostflow_threat_feed_entries", l), n) << l;
  EXPECT_GE(value(e, "hostflow_threat_feed_refresh_duration_seconds", "tor_relay"), 0.9)
      << "the hanging refresh ends at the fetch timeout";

  // Restart with the server down: every list comes from the disk cache, with the time it was
  // fetched, and the refresh errors count again.
  std::map<std::string, double> fetched;
  for (const auto& [l, n] : want)
    fetched[l] = value(e, "hostflow_threat_feed_last_success_timestamp_seconds", l);
  server.reset();
  stack.exporter().kill_and_wait();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
  e = stack.scrape();
  for (const auto& [l, n] : want) {
    EXPECT_EQ(value(e, "hostflow_threat_feed_entries", l), n) << l << logs(stack);
    EXPECT_NEAR(value(e, "hostflow_threat_feed_last_success_timestamp_seconds", l), fetched[l],
                1e-3)
        << l;
  }
  ASSERT_TRUE(wait_for_value(
      stack, "hostflow_threat_feed_refresh_errors_total{list=\"tor_exit\"}",
      [](double v) { return v >= 1; }, std::chrono::seconds(10)))
      << logs(stack);
  // The cache files are the exporter's: 0600, owned by its user.
  for (const auto& [l, n] : want) {
    struct stat st {};
    ASSERT_EQ(::stat((state.path() + "/threat-" + l + ".cache").c_str(), &st), 0) << l;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << l;
  }
}

// HTTPS feeds: the exporter verifies the server against --threat.ca-file (a CA made here) and
// fetches under its seccomp filter (kill mode); without the CA the same server is refused as
// unverifiable, a counted error, never fetched insecurely.
TEST(ThreatFeeds, HttpsVerifiedAgainstTheCaFileUnderSeccomp) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 serves the feeds");
  HF_REQUIRE(have_command("openssl"), "openssl makes the test CA");
  TempDir web, state, pki;
  write(web.path() + "/drop.txt", fixture("drop.txt"));
  sh_ok("chown nobody " + state.path());
  const std::string p = pki.path();
  // A CA, and a server certificate for the feed server's host name signed by it.
  const std::string host = FeedServer::default_host();
  sh_ok(
      "cd " + p +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj /CN=hostflow-test-ca 2>/dev/null && "
      "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=" +
      host +
      " 2>/dev/null && "
      "printf 'subjectAltName=DNS:" +
      host +
      "\\n' > ext && "
      "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 "
      "-extfile ext 2>/dev/null && chmod 0644 ca.pem && chmod 0755 " +
      p);
  FeedServer server(web.path(), 18612, p + "/srv.pem", p + "/srv.key");
  ASSERT_TRUE(server.proc.running()) << server.proc.log();
  const std::size_t want = fixture_entries("drop.txt");
  auto args = [&](bool with_ca) {
    std::vector<std::string> a = {"--state.dir",
                                  state.path(),
                                  "--threat.retry",
                                  "300ms",
                                  "--spamhaus.enable",
                                  "--spamhaus.url",
                                  server.url("drop.txt"),
                                  "--spamhaus.ipv6.url",
                                  "",
                                  "--spamhaus.refresh",
                                  "300ms"};
    if (with_ca) {
      a.push_back("--threat.ca-file");
      a.push_back(p + "/ca.pem");
    }
    return a;
  };
  {
    StackOptions so;
    so.exporter_hosts = server.hosts_lines();
    so.exporter_args = args(true);
    Stack stack(so);
    stack.start_sampler();
    stack.start_exporter();
    ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
    ASSERT_TRUE(wait_for_value(
        stack, "hostflow_threat_feed_entries{list=\"spamhaus\"}",
        [&](double v) { return v == want; }, std::chrono::seconds(15)))
        << logs(stack) << server.proc.log();
    EXPECT_EQ(value(stack.scrape(), "hostflow_threat_feed_refresh_errors_total", "spamhaus"), 0);
    EXPECT_TRUE(stack.exporter().running()) << "killed by its seccomp filter?" << logs(stack);
  }
  sh("rm -f " + state.path() + "/threat-*.cache");
  {
    StackOptions so;
    so.exporter_hosts = server.hosts_lines();
    so.exporter_args = args(false);
    Stack stack(so);
    stack.start_sampler();
    stack.start_exporter();
    ASSERT_TRUE(stack.wait_fresh()) << logs(stack);
    ASSERT_TRUE(wait_for_value(
        stack, "hostflow_threat_feed_refresh_errors_total{list=\"spamhaus\"}",
        [](double v) { return v >= 1; }, std::chrono::seconds(15)))
        << logs(stack);
    EXPECT_EQ(value(stack.scrape(), "hostflow_threat_feed_entries", "spamhaus"), 0);
    EXPECT_NE(stack.exporter().log().find("certificate"), std::string::npos) << logs(stack);
  }
}

}  // namespace
}  // namespace hostflow::test
