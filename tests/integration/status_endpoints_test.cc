// GET /status, GET /collectors and /health's exporter_healthy (issue 15, item 7) with the real
// binaries under seccomp kill mode (all optional features on), behind --web.config.file basic
// auth: the JSON against what the test knows independently — the flags it started both daemons
// with, the segment file's own header, the sampler's pid, `hostflow-exporter --version`,
// `systemd-detect-virt --container`, the text file's mtime — and a text file output made to fail
// and recover by the test.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

using nlohmann::json;

std::string htpasswd_hash(const std::string& password) {
  const RunResult r = run({"htpasswd", "-nbBC", "10", "u", password});
  const std::size_t colon = r.out.find(':');
  std::string h = colon == std::string::npos ? "" : r.out.substr(colon + 1);
  while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
  return h;
}

// The schema version in the segment file's header (shm-schema layout.h FileHeader: magic, then
// two little-endian u16).
std::string segment_schema(const std::string& path) {
  const std::string head = read_file(path).substr(0, 12);
  if (head.size() < 12) return "";
  auto u16 = [&](std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(head[at])) |
           static_cast<unsigned>(static_cast<unsigned char>(head[at + 1])) << 8;
  };
  return std::to_string(u16(8)) + "." + std::to_string(u16(10));
}

// Unix time of an RFC 3339 "YYYY-MM-DDTHH:MM:SSZ".
double unix_time(const std::string& rfc3339) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return -1;
  return static_cast<double>(timegm(&tm));
}

TEST(StatusEndpoints, StatusCollectorsAndHealthSayWhatTheDaemonsWereStartedWithAndWhatHappened) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler and the exporter as its own user");
  HF_REQUIRE(have_command("htpasswd"), "htpasswd (apache2-utils) is not installed");
  TempDir d;
  ::chmod(d.path().c_str(), 0711);  // the exporter's user (nobody) reads the web config
  const std::string textdir = d.path() + "/textfile";
  ::mkdir(textdir.c_str(), 0777);
  ::chmod(textdir.c_str(), 0777);
  const std::string file = textdir + "/hostflow.prom";
  const std::string web = d.path() + "/web.yml";
  std::ofstream(web) << "basic_auth_users:\n  alice: " << htpasswd_hash("alice-secret") << "\n";
  ::chmod(web.c_str(), 0644);
  const std::vector<std::string> auth = {"Authorization: Basic YWxpY2U6YWxpY2Utc2VjcmV0"};

  StackOptions o;
  o.interval = "1s";
  o.sampler_args = seccomp_args();
  o.sampler_args.insert(o.sampler_args.end(),
                        {"--no-source.docker", "--platform.collectors=memory,processes"});
  o.exporter_args = seccomp_args();
  o.exporter_args.insert(o.exporter_args.end(), {"--web.config.file", web,
                                                 "--output.textfile=" + file, "--compat=platform"});
  Stack s(o);
  s.start_sampler();
  s.start_exporter();
  json st;
  auto get_json = [&](const std::string& path, json* out) {
    const HttpResult r = http_get(s.url(path), auth);
    if (r.status != 200) return false;
    *out = json::parse(r.body, nullptr, false);
    return !out->is_discarded();
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return get_json("/status", &st) && st["status"] == "ok" &&
               !st["platform"]["collectors"].empty() && st["outputs"].size() == 2 &&
               st["outputs"][1]["writes"].get<std::uint64_t>() > 0;
      },
      std::chrono::seconds(20)))
      << st.dump() << stack_logs(s);

  // Every endpoint is behind the web config's basic auth.
  for (const char* path : {"/status", "/collectors", "/health", "/metrics"})
    EXPECT_EQ(http_get(s.url(path)).status, 401) << path;

  // Versions: the binary's own --version line and the segment file's header.
  const RunResult v = run({HOSTFLOW_EXPORTER_BIN, "--version"});
  EXPECT_EQ(v.out.substr(0, v.out.find('\n')),
            "hostflow-exporter " + st["versions"]["exporter"].get<std::string>() + " (" +
                st["versions"]["revision"].get<std::string>() + ")");
  EXPECT_EQ(st["versions"]["segment_schema"], segment_schema(s.segment()));
  EXPECT_EQ(st["service"]["segment"], s.segment());

  // The sampler: its pid, its --interval; where it runs as systemd's own tool says.
  EXPECT_EQ(st["sampler"]["pid"], s.sampler().pid());
  EXPECT_EQ(st["sampler"]["interval_seconds"], 1.0);
  const auto virt = sh("systemd-detect-virt --container");
  const std::string want_virt = virt.out.substr(0, virt.out.find('\n'));
  EXPECT_EQ(st["platform"]["virtualization"], want_virt);
  EXPECT_EQ(st["platform"]["kind"], want_virt == "none"  ? "host"
                                    : want_virt == "lxc" ? "lxc_guest"
                                                         : "container");
  EXPECT_EQ(st["platform"]["collectors"], json({"memory", "processes"}));

  // Sources: each of the sampler's --source.* flags, docker disabled by the test, platform ok.
  const RunResult help = run({HOSTFLOW_SAMPLER_BIN, "--help"});
  std::map<std::string, std::string> states;
  for (const json& src : st["sources"]) states[src["name"]] = src["state"];
  std::size_t flags = 0;
  for (std::size_t at = help.out.find("--source."); at != std::string::npos;
       at = help.out.find("--source.", at + 1)) {
    const std::size_t end = help.out.find_first_of(",{ \n", at);
    const std::string name = help.out.substr(at + 9, end - at - 9);
    EXPECT_TRUE(states.count(name)) << name << " (a --source flag) is not in /status";
    flags++;
  }
  EXPECT_GE(flags, 9u);
  EXPECT_EQ(states["docker"], "disabled");
  EXPECT_EQ(states["platform"], "ok");

  // Outputs: /metrics, then the text file the test named, last written when its mtime says.
  ASSERT_EQ(st["outputs"].size(), 2u);
  EXPECT_EQ(st["outputs"][0]["path"], "/metrics");
  const json& tf = st["outputs"][1];
  EXPECT_EQ(tf["name"], "textfile");
  EXPECT_EQ(tf["path"], file);
  EXPECT_EQ(tf["errors"], 0);
  EXPECT_TRUE(tf["last_error"].is_null());
  EXPECT_EQ(tf["healthy"], true);
  struct stat sb {};
  ASSERT_EQ(::stat(file.c_str(), &sb), 0);
  // /status was read after the write it reports; the file may have been replaced since.
  EXPECT_LE(unix_time(tf["last_success"]), static_cast<double>(sb.st_mtime) + 1);
  EXPECT_GE(unix_time(tf["last_success"]), static_cast<double>(sb.st_mtime) - 3);
  EXPECT_EQ(st["compat"]["profiles"], json({"platform"}));
  EXPECT_EQ(st["exporter_healthy"], true);
  EXPECT_EQ(st["exporter"]["prometheus_file"], file);
  EXPECT_TRUE(st["exporter"]["otlp_endpoint"].is_null());

  // Areas: the platform area reads the platform source and rendered its families.
  std::map<std::string, json> areas;
  for (const json& a : st["areas"]) areas[a["name"]] = a;
  ASSERT_TRUE(areas.count("platform"));
  EXPECT_EQ(areas["platform"]["sources"], json({"platform"}));
  EXPECT_EQ(areas["platform"]["state"], "ok");
  EXPECT_EQ(areas["platform"]["enabled"], true);
  EXPECT_GT(areas["platform"]["series"].get<std::size_t>(), 0u);

  // /collectors: the seed's collectors object, as the sampler's --platform.collectors chose.
  json col;
  ASSERT_TRUE(get_json("/collectors", &col));
  for (const char* c : {"cpu", "filesystem", "lxc"})
    EXPECT_EQ(col["collectors"][c]["enabled"], false) << c;
  for (const char* c : {"memory", "processes"})
    EXPECT_EQ(col["collectors"][c]["enabled"], true) << c;
  EXPECT_EQ(col["enabled_collectors"], json({"memory", "processes"}));
  EXPECT_EQ(col["areas"].size(), st["areas"].size());
  json health;
  ASSERT_TRUE(get_json("/health", &health));
  EXPECT_EQ(health["exporter_healthy"], true);
  const HttpResult page = http_get(s.url("/"), auth);
  EXPECT_NE(page.body.find("href=\"/status\""), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/collectors\""), std::string::npos);

  // The text file's directory made read-only: the next writes fail, /health and /status say so.
  ::chmod(textdir.c_str(), 0555);
  EXPECT_TRUE(wait_until(
      [&] { return get_json("/health", &health) && health["exporter_healthy"] == false; },
      std::chrono::seconds(10)))
      << health.dump();
  ASSERT_TRUE(get_json("/status", &st));
  EXPECT_EQ(st["outputs"][1]["healthy"], false);
  EXPECT_GT(st["outputs"][1]["errors"].get<std::uint64_t>(), 0u);
  ASSERT_TRUE(st["outputs"][1]["last_error"].is_object()) << st["outputs"][1].dump();
  EXPECT_NE(st["outputs"][1]["last_error"]["message"].get<std::string>().find("ermission"),
            std::string::npos)
      << st["outputs"][1].dump();
  EXPECT_EQ(st["exporter"]["healthy"], false);
  // Writable again: healthy at the next write.
  ::chmod(textdir.c_str(), 0777);
  EXPECT_TRUE(
      wait_until([&] { return get_json("/health", &health) && health["exporter_healthy"] == true; },
                 std::chrono::seconds(10)))
      << health.dump();
}

}  // namespace
}  // namespace hostflow::test
