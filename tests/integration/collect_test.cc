// POST /collect (issue 15): the exporter's admin API wakes the sampler through the wake channel
// the sampler owns (<segment>.wake, sampler/wake.h) and answers once the new snapshot is
// rendered. The real binaries under seccomp kill mode (both), a sampler interval of 30 s so that
// only a wake-up can explain a new snapshot within a second; snapshots are counted three ways:
// the generation, the sampler's own wake counter and the platform source's runs. The exporter's
// uid (nobody in group hostflow, as Stack runs it) is also used directly against the channel.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Reply {
  long code = 0;
  std::string body;
};

// curl, so the request is an independent client's; the status code is on the last line.
Reply post(const std::string& url, const std::string& extra = "") {
  const RunResult r = sh("curl -s -m 15 -X POST " + extra + " -w '\\n%{http_code}' '" + url + "'");
  Reply out;
  const std::size_t nl = r.out.rfind('\n');
  if (nl == std::string::npos) return out;
  out.body = r.out.substr(0, nl);
  out.code = std::atol(r.out.c_str() + nl + 1);
  return out;
}

double value(const Exposition& e, const std::string& key) {
  const auto v = e.get(key);
  EXPECT_TRUE(v.has_value()) << key << " missing";
  return v.value_or(-1);
}

// The three counts of published snapshots, and what the wake channel saw.
struct Counts {
  double generation, timestamp, wake_cycles, wake_requests, platform_runs, sampler_cpu;
};
Counts counts(Stack& s) {
  const Exposition e = s.scrape();
  return {value(e, "hostflow_snapshot_generation"),
          value(e, "hostflow_snapshot_timestamp_seconds"),
          value(e, "hostflow_sampler_wake_cycles_total"),
          value(e, "hostflow_sampler_wake_requests_total"),
          value(e, "hostflow_source_runs_total{source=\"platform\"}"),
          value(e, "hostflow_sampler_process_cpu_seconds_total")};
}

StackOptions slow_sampler() {
  StackOptions o;
  o.interval = "30s";
  o.sampler_args = {"--wake.min-interval", "1s"};
  for (const auto& a : seccomp_args()) {
    o.sampler_args.push_back(a);
    o.exporter_args.push_back(a);
  }
  return o;
}

// A Stack with both processes started and a fresh snapshot served (null after a reported failure).
std::unique_ptr<Stack> started(const StackOptions& o) {
  auto s = std::make_unique<Stack>(o);
  s->start_sampler();
  s->start_exporter();
  if (s->wait_fresh()) return s;
  ADD_FAILURE() << "no fresh snapshot\n" << stack_logs(*s);
  return nullptr;
}

// A command run as the exporter's user, as Stack runs the exporter (nobody, group hostflow).
std::string as_exporter_user(const std::string& cmd) {
  return "setpriv --reuid=nobody --regid=hostflow --clear-groups --bounding-set=-all "
         "--inh-caps=-all -- " +
         cmd;
}

TEST(Collect, APostRendersANewSnapshotWithinOneSecondWhileTheSamplerIntervalIsThirtySeconds) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  const auto owned = started(slow_sampler());
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const Counts before = counts(stack);
  EXPECT_EQ(before.wake_cycles, 0);

  const Clock::time_point t0 = Clock::now();
  const Reply r = post(stack.url("/collect"));
  const double took = seconds_since(t0);
  ASSERT_EQ(r.code, 200) << r.body << stack_logs(stack);
  EXPECT_LT(took, 1.0) << "POST /collect took " << took << " s";
  const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("status", ""), "collected");

  // The snapshot it answered with is the one served now: one more by every count.
  const Counts after = counts(stack);
  EXPECT_EQ(j.value("generation", 0.0), after.generation);
  EXPECT_NEAR(j.value("timestamp_seconds", 0.0), after.timestamp, 0.002);
  EXPECT_EQ(after.generation, before.generation + 1);
  EXPECT_GT(after.timestamp, before.timestamp);
  EXPECT_EQ(after.wake_cycles, before.wake_cycles + 1);
  EXPECT_EQ(after.platform_runs, before.platform_runs + 1);
  EXPECT_EQ(after.wake_requests, before.wake_requests + 1);
  EXPECT_EQ(value(stack.scrape(), "hostflow_sampler_wake_min_interval_seconds"), 1.0);
  // Audited with the client's address.
  EXPECT_TRUE(wait_until(
      [&] {
        return stack.exporter().log().find("msg=\"collect requested\" client=127.0.0.1:") !=
               std::string::npos;
      },
      std::chrono::seconds(2)))
      << stack.exporter().log();
  EXPECT_TRUE(stack.sampler().running() && stack.exporter().running()) << stack_logs(stack);
}

TEST(Collect, AHundredRequestsInASecondCauseAtMostTheRateLimitsCycles) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  StackOptions o = slow_sampler();
  // 100 requests at once from one address: room for all of them to wait.
  o.exporter_args.insert(o.exporter_args.end(),
                         {"--web.max-connections", "200", "--web.max-connections-per-source", "0"});
  const Clock::time_point t_start = Clock::now();
  const auto owned = started(o);
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const Counts before = counts(stack);

  std::string cmd =
      "curl -s -m 15 --parallel --parallel-immediate --parallel-max 100 -X POST "
      "-w '%{http_code}\\n'";
  for (int i = 0; i < 100; i++) cmd += " -o /dev/null '" + stack.url("/collect") + "'";
  const Clock::time_point t0 = Clock::now();
  const RunResult burst = sh(cmd);
  const double answered = seconds_since(t0);
  int ok = 0;
  for (std::size_t p = 0; (p = burst.out.find("200\n", p)) != std::string::npos; p += 4) ok++;
  // Each waited for a snapshot published after its own request: the first wake-up cycle, or the
  // one the rate limit let run a second later.
  EXPECT_EQ(ok, 100) << burst.out << burst.err;
  EXPECT_LT(answered, 3.0);

  // Every byte read (a request whose byte arrived as a cycle was publishing has one more
  // cycle waiting for it), then nothing pending: no extra cycle may still come.
  EXPECT_TRUE(wait_until([&] { return counts(stack).wake_requests >= before.wake_requests + 100; },
                         std::chrono::seconds(3)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  const Counts after = counts(stack);
  const double window = seconds_since(t0);
  const double cycles = after.wake_cycles - before.wake_cycles;
  // --wake.min-interval=1s: one at once, then at most one per second of the window.
  EXPECT_GE(cycles, 1);
  EXPECT_LE(cycles, 1 + std::floor(window)) << "window " << window << " s";
  EXPECT_LE(cycles, 3);
  EXPECT_EQ(after.wake_requests - before.wake_requests, 100);
  // The other two counts agree: every published snapshot ran the platform source once, and no
  // 30 s tick fell in the window (it started < 30 s after the sampler).
  ASSERT_LT(seconds_since(t_start), 29.0) << "too slow to rule out a regular tick";
  EXPECT_EQ(after.generation - before.generation, cycles);
  EXPECT_EQ(after.platform_runs - before.platform_runs, cycles);
  const Exposition e = stack.scrape();
  EXPECT_EQ(value(e, "hostflow_sampler_wake_rate_limited_total"), cycles - 1);
  EXPECT_TRUE(stack.sampler().running() && stack.exporter().running()) << stack_logs(stack);
}

TEST(Collect, IsAnAdminEndpointThatOnlyAcceptsAPostAndRefusesWebPages) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  const auto owned = started(slow_sampler());
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const std::string url = stack.url("/collect");
  EXPECT_NE(http_get(stack.url("/")).body.find("POST /collect"), std::string::npos);
  const RunResult get = sh("curl -s -i -m 5 '" + url + "'");
  EXPECT_NE(get.out.find("HTTP/1.1 405"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("Allow: POST"), std::string::npos) << get.out;
  EXPECT_EQ(post(url, "-H 'Origin: http://evil.example'").code, 403);
  EXPECT_TRUE(wait_until(
      [&] {
        return stack.exporter().log().find(
                   "msg=\"collect refused: request from a web page\" client=127.0.0.1:") !=
               std::string::npos;
      },
      std::chrono::seconds(2)))
      << stack.exporter().log();
  // Neither woke the sampler.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(counts(stack).wake_requests, 0);
}

TEST(Collect, WithoutTheAdminApiThereIsNoEndpointAndTheSamplerIsNeverWoken) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  StackOptions o = slow_sampler();
  o.all_features = false;  // no --web.enable-admin-api
  const auto owned = started(o);
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const Counts before = counts(stack);
  // As /reset without the flag: POST is 405 (no POST route), GET 404.
  EXPECT_EQ(post(stack.url("/collect")).code, 405);
  EXPECT_EQ(http_get(stack.url("/collect")).status, 404);
  EXPECT_EQ(http_get(stack.url("/")).body.find("POST /collect"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const Counts after = counts(stack);
  EXPECT_EQ(after.wake_requests, 0);
  EXPECT_EQ(after.generation, before.generation);
}

// The control for the first test: without the channel, nothing but the 30 s interval makes a
// snapshot, so a second passes without one.
TEST(Collect, ASamplerWithoutTheWakeChannelIsNotWokenAndThePostSaysSo) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  StackOptions o = slow_sampler();
  o.sampler_args.push_back("--no-wake");
  const auto owned = started(o);
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  struct stat st {};
  EXPECT_NE(::stat((stack.segment() + ".wake").c_str(), &st), 0);
  const auto gen = stack.scrape().get("hostflow_snapshot_generation");
  const Reply r = post(stack.url("/collect"));
  EXPECT_EQ(r.code, 503) << r.body;
  EXPECT_NE(r.body.find("--no-wake"), std::string::npos) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const Exposition e = stack.scrape();
  EXPECT_EQ(e.get("hostflow_snapshot_generation"), gen);
  EXPECT_FALSE(e.get("hostflow_sampler_wake_requests_total").has_value());
}

TEST(Collect,
     TheExportersUserCanOnlyPutBytesInTheChannelAndAFloodCostsTheSamplerOneCyclePerSecond) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl") && have_command("setpriv") && have_command("/usr/bin/python3"),
             "curl, setpriv or python3 missing");
  const auto owned = started(slow_sampler());
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const std::string fifo = stack.segment() + ".wake";
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(st.st_uid, 0u);

  // Read it, open it read-write, replace it, change its mode, make another beside it: refused.
  for (const std::string& cmd :
       {"dd if=" + fifo + " iflag=nonblock count=1", "sh -c 'exec 3<>" + fifo + "'",
        "rm -f " + fifo, "chmod 0666 " + fifo, "mkfifo " + stack.segment() + ".wake2",
        "ln -sf /etc/passwd " + fifo}) {
    const RunResult r = sh(as_exporter_user(cmd), std::chrono::seconds(5));
    EXPECT_NE(r.exit_code, 0) << cmd << " succeeded as the exporter's user";
  }
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  // A hostile process of the exporter's uid: enlarges the pipe, then writes garbage as fast as
  // it can for 3 s (non-blocking: a full pipe is its problem, not the sampler's).
  const Counts before = counts(stack);
  const Clock::time_point t0 = Clock::now();
  const RunResult flood =
      sh(as_exporter_user("/usr/bin/python3 -c \"import fcntl,os,time\n"
                          "fd = os.open('" +
                          fifo +
                          "', os.O_WRONLY | os.O_NONBLOCK)\n"
                          "try: fcntl.fcntl(fd, 1031, 1 << 20)\n"
                          "except OSError: pass\n"
                          "sent = full = 0\n"
                          "end = time.time() + 3\n"
                          "junk = os.urandom(65536)\n"
                          "while time.time() < end:\n"
                          "    try: sent += os.write(fd, junk)\n"
                          "    except BlockingIOError: full += 1\n"
                          "print(sent, full)\""));
  ASSERT_EQ(flood.exit_code, 0) << flood.err;
  const double flooded = seconds_since(t0);
  long long sent = 0, full = 0;
  ASSERT_EQ(std::sscanf(flood.out.c_str(), "%lld %lld", &sent, &full), 2) << flood.out;
  EXPECT_GT(full, 0) << "the pipe never filled up";

  ASSERT_TRUE(stack.sampler().running()) << stack_logs(stack);
  const Counts after = counts(stack);
  const double window = seconds_since(t0);
  const double cycles = after.wake_cycles - before.wake_cycles;
  EXPECT_GE(cycles, 1);
  EXPECT_LE(cycles, 1 + std::floor(window)) << "window " << window << " s";
  EXPECT_EQ(after.generation - before.generation, cycles);
  // Garbage counted as requests, never more than was sent; most of it never read at all.
  EXPECT_GT(after.wake_requests, before.wake_requests);
  EXPECT_LE(after.wake_requests - before.wake_requests, static_cast<double>(sent));
  // The sampler's CPU over the flood: a few cycles' worth, not a busy loop.
  EXPECT_LT(after.sampler_cpu - before.sampler_cpu, 0.5 * flooded)
      << "sampler CPU " << after.sampler_cpu - before.sampler_cpu << " s in " << flooded << " s";
  EXPECT_EQ(value(stack.scrape(), "hostflow_sampler_up"), 1);

  // The channel still works: the pipe may be full of garbage (the exporter's byte then finds a
  // wake-up already waiting), and the next cycle answers.
  const Reply r = post(stack.url("/collect"));
  EXPECT_EQ(r.code, 200) << r.body << stack_logs(stack);
  EXPECT_TRUE(stack.sampler().running() && stack.exporter().running()) << stack_logs(stack);
}

TEST(Collect, SaysAcceptedWhenNoSnapshotCameInTimeUnavailableWithoutASamplerAndWakesARestartedOne) {
  HF_REQUIRE(is_root(), "needs root: runs the sampler");
  HF_REQUIRE(have_command("curl"), "curl is not installed");
  StackOptions o = slow_sampler();
  o.exporter_args.insert(o.exporter_args.end(), {"--web.collect-timeout", "500ms"});
  const auto owned = started(o);
  ASSERT_TRUE(owned);
  Stack& stack = *owned;
  const std::string url = stack.url("/collect");
  ASSERT_EQ(post(url).code, 200);

  // A stopped sampler holds the channel open but runs no cycle: 202 after the timeout.
  stack.sampler().signal(SIGSTOP);
  const auto gen = stack.scrape().get("hostflow_snapshot_generation");
  const Clock::time_point t0 = Clock::now();
  const Reply late = post(url);
  const double waited = seconds_since(t0);
  stack.sampler().signal(SIGCONT);
  EXPECT_EQ(late.code, 202) << late.body;
  EXPECT_GE(waited, 0.5);
  const nlohmann::json j = nlohmann::json::parse(late.body, nullptr, false);
  EXPECT_EQ(j.is_object() ? j.value("status", "") : "", "pending") << late.body;
  EXPECT_EQ(j.is_object() ? j.value("generation", 0.0) : 0, gen.value_or(-1));

  // Gone: the channel has no reader.
  stack.sampler().kill_and_wait();
  const Reply gone = post(url);
  EXPECT_EQ(gone.code, 503) << gone.body;

  // Restarted: a new channel (a new FIFO at the same path), opened by the next request.
  const double start_before = value(stack.scrape(), "hostflow_sampler_start_time_seconds");
  stack.start_sampler();
  ASSERT_TRUE(wait_until(
      [&] {
        const Exposition e = stack.scrape();
        return e.get("hostflow_sampler_start_time_seconds").value_or(start_before) !=
                   start_before &&
               e.get("hostflow_sampler_up") == 1.0;
      },
      std::chrono::seconds(10)))
      << stack_logs(stack);
  const Counts before = counts(stack);
  const Reply again = post(url);
  ASSERT_EQ(again.code, 200) << again.body << stack_logs(stack);
  const Counts after = counts(stack);
  EXPECT_EQ(after.generation, before.generation + 1);
  EXPECT_EQ(after.wake_cycles, 1);  // the new sampler's first
  EXPECT_TRUE(stack.sampler().running() && stack.exporter().running()) << stack_logs(stack);
}

}  // namespace
}  // namespace hostflow::test
