// The exporter's admin API and log file (OIE's /debug/log-level, notice level and log file,
// issue 14) on the real binaries under seccomp kill mode: the level read and set at runtime,
// every change audited in the log and the --log.file, refusals, and the log file reopened on
// SIGHUP after it was moved away (logrotate) -- a syscall outside the allowlist would kill the
// exporter, so it must still be serving afterwards.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

std::string curl(const std::string& args) {
  return sh("curl -s -m 5 " + args).out;
}

TEST(AdminApi, LogLevelIsReadAndSetAtRuntimeAndEveryChangeIsAudited) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  TempDir logs;
  sh("chown nobody " + logs.path());
  const std::string file = logs.path() + "/exporter.log";
  StackOptions o;
  o.exporter_args = {"--log.file", file, "--log.level", "info"};
  for (const auto& a : seccomp_args()) o.exporter_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  const std::string url = stack.url("/debug/log-level");

  EXPECT_EQ(curl(url), "current log level: info\n");
  EXPECT_EQ(curl("-X POST '" + url + "?level=debug'"), "log level set to debug\n");
  EXPECT_EQ(curl(url), "current log level: debug\n");
  // The form body works too (OIE's clients use the query string; curl -d sends a form).
  EXPECT_EQ(curl("-d level=notice " + url), "log level set to notice\n");
  EXPECT_EQ(curl(url), "current log level: notice\n");
  // Refused, and nothing changes: an unknown level, a GET that tries to set one, a web page.
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' -X POST '" + url + "?level=verbose'"), "400");
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' '" + url + "?level=error'"), "200");
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' -X POST -H 'Origin: http://evil.example' '" + url +
                 "?level=error'"),
            "403");
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' -X DELETE " + url), "405");
  EXPECT_EQ(curl(url), "current log level: notice\n");

  // Audited in both logs, with the client and both levels.
  ASSERT_TRUE(
      wait_until([&] { return read_file_if_exists(file).find("to=notice") != std::string::npos; },
                 std::chrono::seconds(5)));
  for (const std::string& text : {stack.exporter().log(), read_file(file)}) {
    EXPECT_NE(text.find("msg=\"log level changed\" client=127.0.0.1:"), std::string::npos) << text;
    EXPECT_NE(text.find("from=info to=debug"), std::string::npos) << text;
    EXPECT_NE(text.find("from=debug to=notice"), std::string::npos) << text;
    EXPECT_NE(text.find("msg=\"log level change refused: request from a web page\""),
              std::string::npos)
        << text;
  }
  // The file got the lines from the start on (the exporter's "exporter started").
  EXPECT_NE(read_file(file).find("msg=\"exporter started\""), std::string::npos);

  // logrotate: move the file, SIGHUP, a new file at the path; the moved one gets nothing more.
  const std::string moved = file + ".1";
  ASSERT_EQ(std::rename(file.c_str(), moved.c_str()), 0);
  EXPECT_EQ(curl("-X POST '" + url + "?level=info'"), "log level set to info\n");
  stack.exporter().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return read_file_if_exists(file).find("log file reopened") != std::string::npos; },
      std::chrono::seconds(5)))
      << stack_logs(stack);
  EXPECT_EQ(curl("-X POST '" + url + "?level=warn'"), "log level set to warn\n");
  ASSERT_TRUE(
      wait_until([&] { return read_file_if_exists(file).find("to=warn") != std::string::npos; },
                 std::chrono::seconds(5)));
  EXPECT_EQ(read_file(moved).find("to=warn"), std::string::npos);
  EXPECT_NE(read_file(moved).find("from=notice to=info"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // Still alive under the filter, still serving.
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
  EXPECT_EQ(http_get(stack.url("/-/healthy")).status, 200);
}

TEST(AdminApi, WithoutTheAdminApiThereIsNoLogLevelEndpoint) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  StackOptions o;
  o.all_features = false;
  for (const auto& a : seccomp_args()) o.exporter_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  EXPECT_EQ(http_get(stack.url("/debug/log-level")).status, 404);
  // A POST to a path the exporter does not serve: 405 (only GET and HEAD are served there).
  EXPECT_EQ(sh("curl -s -o /dev/null -w '%{http_code}' -X POST '" +
               stack.url("/debug/log-level?level=debug") + "'")
                .out,
            "405");
}

// A log file the exporter cannot open is a startup error naming the flag, not a silent loss.
TEST(AdminApi, AnUnwritableLogFileStopsTheStartWithAClearError) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  const RunResult r = run({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           HOSTFLOW_EXPORTER_BIN, "--log.file", "/proc/hostflow-no-such.log"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--log.file: /proc/hostflow-no-such.log"), std::string::npos) << r.err;
  const RunResult rel = run({HOSTFLOW_EXPORTER_BIN, "--allow-root", "--log.file", "x.log"});
  EXPECT_NE(rel.exit_code, 0);
  EXPECT_NE(rel.err.find("--log.file: want an absolute path"), std::string::npos) << rel.err;
}

}  // namespace
}  // namespace hostflow::test
