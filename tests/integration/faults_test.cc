// Issue 12: faults (label `faults`). Real daemons frozen with SIGSTOP, a sampler killed -9 over
// and over, a state directory on a full tmpfs, a feed server that answers 500 or hangs. What
// must hold: one failing source never blocks the others or the scrape; stale data is never
// served as fresh; errors are counted; nothing is lost or counted twice once the fault is gone.
// Both binaries run with their seccomp filters in kill mode.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ct_lab.h"
#include "docker_lab.h"
#include "lab.h"
#include "support.h"
#include "vm_lab.h"

namespace hostflow::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A scrape timed from the outside.
struct TimedScrape {
  Exposition e;
  double ms = 0;
  long status = 0;
};
TimedScrape timed_scrape(Stack& s) {
  const auto t0 = Clock::now();
  HttpResult r = http_get(s.url(), {}, 5s);
  return TimedScrape{parse_exposition(r.body), ms_since(t0), r.status};
}

// A frozen daemon (SIGSTOP: its socket accepts, nothing answers) makes its own source `failed`
// within its timeout; every other source stays ok, the sampler keeps publishing and scrapes stay
// fast; after SIGCONT the source is ok again.
template <class Freeze, class Thaw>
void frozen_daemon_case(Stack& stack, const std::string& source, Freeze freeze, Thaw thaw) {
  ASSERT_TRUE(stack.wait_fresh(0, 20s)) << stack_logs(stack);
  ASSERT_TRUE(wait_until([&] { return source_state(stack.scrape(), source) == "ok"; }, 30s))
      << source << " never ok" << stack_logs(stack);
  freeze();
  const auto frozen_at = Clock::now();
  ASSERT_TRUE(wait_until([&] { return source_state(stack.scrape(), source) == "failed"; }, 10s))
      << source << " not failed 10 s after its daemon froze" << stack_logs(stack);
  const double took = ms_since(frozen_at);
  // Its timeout is at most 1 s and the interval 500 ms: failed within the timeout + two cycles.
  EXPECT_LT(took, 3000) << source << " took " << took << " ms to fail";
  // Meanwhile: the sampler publishes, the other sources are ok, scrapes are fast.
  const std::uint64_t g0 = stack.generation();
  const auto t0 = Clock::now();
  double worst = 0;
  for (int i = 0; i < 20; i++) {
    const TimedScrape t = timed_scrape(stack);
    EXPECT_EQ(t.status, 200);
    worst = std::max(worst, t.ms);
    EXPECT_EQ(t.e.get("hostflow_sampler_up").value_or(-1), 1);
    EXPECT_EQ(source_state(t.e, "links"), "ok");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_LT(worst, 1000) << "slowest scrape while " << source << " was frozen";
  // On schedule (500 ms): the frozen daemon's timeout is shorter than the interval.
  const double expected = ms_since(t0) / 500.0;
  EXPECT_GE(static_cast<double>(stack.generation() - g0), expected - 2)
      << "the sampler fell behind its interval while " << source << " was frozen"
      << stack_logs(stack);
  thaw();
  EXPECT_TRUE(wait_until([&] { return source_state(stack.scrape(), source) == "ok"; }, 20s))
      << source << " did not recover after SIGCONT" << stack_logs(stack);
  EXPECT_TRUE(stack.sampler().running()) << stack_logs(stack);
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

TEST(Faults, AFrozenLibvirtdFailsOnlyItsSourceAndRecovers) {
  HF_REQUIRE(is_root(), "needs root: libvirtd in a private mount namespace");
  HF_REQUIRE(have_command("libvirtd") && have_command("virsh"), "libvirt-daemon is not installed");
  ensure_user_and_groups();
  TempDir dir;
  Libvirtd lv(dir.path());
  const std::string why = lv.start_all();
  ASSERT_EQ(why, "");
  StackOptions o = in_netns("");
  for (const std::string& a : {std::string("--libvirt.uri"), lv.ro_uri(),
                               std::string("--libvirt.timeout"), std::string("1s")})
    o.sampler_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  frozen_daemon_case(
      stack, "libvirt", [&] { lv.freeze(); }, [&] { lv.thaw(); });
}

TEST(Faults, AFrozenDockerdFailsOnlyItsSourceAndRecovers) {
  HF_REQUIRE(is_root(), "needs root: dockerd");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"), "docker.io is not installed");
  Dockerd d;
  StackOptions o = in_netns("");
  // A timeout below the interval: the docker source runs in the cycle, so a longer one would
  // stretch every cycle to it (libvirt runs on its own thread and never does).
  for (const std::string& a : {std::string("--docker.socket"), d.sock(),
                               std::string("--docker.timeout"), std::string("400ms")})
    o.sampler_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  frozen_daemon_case(
      stack, "docker", [&] { d.freeze(); }, [&] { d.thaw(); });
}

// The sampler killed -9 again and again while a scraper reads all the time: whenever the
// exporter says the sampler is up, the data is at most 3 intervals old; and once the sampler has
// been dead for longer than that (plus a poll), the exporter says so and serves no interface
// series. The truth is the test's own clock of kills and starts, not the exporter's.
TEST(Faults, ASamplerKilledEvery100msNeverHasStaleDataServedAsFresh) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  Netns ns("hff");
  quiet_netns(ns);
  ns.exec_ok("ip link add hfif0 type ifb && ip link set hfif0 up");
  StackOptions o = in_netns(ns.name(), "100ms");
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  std::atomic<bool> done{false};
  std::atomic<std::int64_t> dead_since_ns{-1};  // steady clock; -1 while a sampler runs
  std::atomic<int> fresh_while_dead{0}, stale_but_up{0}, scrapes{0}, series_while_down{0};
  const double interval_ms = 100,
               slack_ms = 3 * interval_ms + 50 /* poll */ + 150 /* render, load */;
  std::thread scraper([&] {
    while (!done) {
      const auto t0 = Clock::now();
      const TimedScrape t = timed_scrape(stack);
      if (t.status != 200) continue;
      scrapes++;
      const auto up = t.e.get("hostflow_sampler_up");
      const auto age = t.e.get("hostflow_snapshot_age_seconds");
      const std::int64_t dead = dead_since_ns.load();
      if (up && *up == 1) {
        // Freshness is decided at each poll (50 ms), the age at the scrape: allow one poll.
        if (age && *age * 1000 > slack_ms) stale_but_up++;
        const double dead_ms =
            dead < 0 ? 0
                     : (std::chrono::duration<double, std::milli>(t0.time_since_epoch()).count() -
                        static_cast<double>(dead) / 1e6);
        if (dead >= 0 && dead_ms > slack_ms) fresh_while_dead++;
      } else if (!t.e.family("hostflow_interface_receive_bytes_total").empty()) {
        series_while_down++;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  const auto end = Clock::now() + 12s;
  unsigned round = 0;
  while (Clock::now() < end) {
    round++;
    // Alive for 0.1-0.5 s, then killed; every fourth time it stays dead for a second.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + (round * 137) % 400));
    stack.sampler().signal(SIGKILL);
    stack.sampler().wait(2s);
    dead_since_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    std::this_thread::sleep_for(round % 4 == 0 ? 1000ms : 100ms);
    dead_since_ns = -1;  // from here a new sampler may publish
    stack.start_sampler();
  }
  done = true;
  scraper.join();
  EXPECT_GT(scrapes.load(), 100);
  EXPECT_EQ(stale_but_up.load(), 0) << "up=1 with a snapshot older than 3 intervals";
  EXPECT_EQ(fresh_while_dead.load(), 0) << "up=1 long after the sampler was killed";
  EXPECT_EQ(series_while_down.load(), 0) << "interface series served while the sampler was down";
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
  EXPECT_TRUE(stack.wait_fresh()) << stack_logs(stack);
}

// A feed server that answers 500, then hangs: each refresh is a counted error and the last good
// list stays in use; once the server answers again the list is refreshed.
TEST(Faults, AFeedServerAnswering500OrHangingKeepsTheLastGoodList) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 serves the feeds");
  TempDir web, state;
  sh_ok("chown nobody " + state.path() + " && chmod 0755 " + web.path());
  std::ofstream(web.path() + "/et.txt") << "198.51.100.7\n198.51.100.8\n";
  FeedServer server(web.path(), 18680 + static_cast<int>(::getpid() % 50));
  ASSERT_TRUE(server.proc.running()) << server.proc.log();
  StackOptions so = in_netns("");
  so.exporter_hosts = server.hosts_lines();
  for (const std::string& a :
       {std::string("--state.dir"), state.path(), std::string("--emergingthreats.enable"),
        std::string("--emergingthreats.url"), server.url("et.txt"),
        std::string("--emergingthreats.refresh"), std::string("500ms"),
        std::string("--threat.retry"), std::string("500ms"), std::string("--threat.fetch-timeout"),
        std::string("1s")})
    so.exporter_args.push_back(a);
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  const std::string ent = "hostflow_threat_feed_entries{list=\"emergingthreats\"}";
  const std::string errs = "hostflow_threat_feed_refresh_errors_total{list=\"emergingthreats\"}";
  ASSERT_TRUE(wait_for_value(
      stack, ent, [](double v) { return v == 2; }, 15s))
      << stack_logs(stack);
  for (const char* fault : {"status", "hang"}) {
    SCOPED_TRACE(fault);
    const double before = stack.scrape().get(errs).value_or(-1);
    std::ofstream(web.path() + "/et.txt." + fault) << (std::string(fault) == "status" ? "500" : "");
    auto e = wait_for_value(
        stack, errs, [&](double v) { return v >= before + 2; }, 15s);
    ASSERT_TRUE(e) << stack_logs(stack) << server.proc.log();
    EXPECT_EQ(e->get(ent).value_or(-1), 2) << "the last good list must stay";
    ::unlink((web.path() + "/et.txt." + fault).c_str());
  }
  std::ofstream(web.path() + "/et.txt") << "198.51.100.7\n198.51.100.8\n198.51.100.9\n";
  EXPECT_TRUE(wait_for_value(
      stack, ent, [](double v) { return v == 3; }, 15s))
      << stack_logs(stack);
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

// The exporter's state directory on a tmpfs that is full: the HAProxy checkpoint and the feed
// cache cannot be written (counted), counting goes on; once space returns the checkpoint is
// written, and across a restart every line is counted exactly once (the truth: the lines this
// test wrote).
TEST(Faults, AFullStateDirectoryCountsErrorsAndLosesNothing) {
  HF_REQUIRE(is_root(), "needs root: mounts a tmpfs, runs the exporter as nobody");
  TempDir base;
  const std::string state = base.path() + "/state", logs = base.path() + "/logs";
  sh_ok("mkdir -p " + state + " " + logs + " && mount -t tmpfs -o size=256k,mode=0700 hffull " +
        state + " && chown nobody " + state + " && chmod 0755 " + base.path() + " " + logs);
  struct Unmount {
    std::string path;
    ~Unmount() { sh("umount -l " + path); }
  } unmount{state};
  // Fill it (as root: the exporter's user cannot free anything).
  sh("dd if=/dev/zero of=" + state + "/filler bs=4k 2>/dev/null");
  ASSERT_NE(sh("echo x > " + state + "/probe").exit_code, 0) << "the tmpfs is not full";
  const std::string log = logs + "/haproxy.log";
  std::size_t written = 0;
  auto append = [&](std::size_t n) {
    std::ofstream out(log, std::ios::app);
    for (std::size_t i = 0; i < n; i++, written++)
      out << "127.0.0.1:" << 40000 + written % 20000
          << " [04/Dec/2026:13:00:00.000] fe be/srv 0/0/5 100 200 -- 1/1/0/0/0 0/0 a.example\n";
  };
  append(100);
  sh_ok("chmod 0644 " + log);
  std::ofstream(logs + "/custom.txt") << "198.51.100.0/24\n";
  sh_ok("chmod 0644 " + logs + "/custom.txt");
  StackOptions o = in_netns("");
  for (const std::string& a :
       {std::string("--haproxy.log"), log, std::string("--state.dir"), state,
        std::string("--haproxy.render-interval"), std::string("200ms"),
        std::string("--customlist.enable"), std::string("--customlist.path"), logs + "/custom.txt",
        std::string("--customlist.refresh"), std::string("1s")})
    o.exporter_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  const std::string conns = "hostflow_haproxy_sni_connections_total{sni=\"a.example\"}";
  const std::string ckerr = "hostflow_haproxy_checkpoint_errors_total";
  const std::string cache = "hostflow_threat_feed_cache_errors_total{list=\"customlist\"}";
  auto e = wait_for_value(
      stack, ckerr, [](double v) { return v >= 2; }, 15s);
  ASSERT_TRUE(e) << stack_logs(stack);
  EXPECT_TRUE(wait_for_value(
      stack, cache, [](double v) { return v >= 1; }, 15s))
      << stack_logs(stack);
  EXPECT_TRUE(wait_for_value(
      stack, conns, [&](double v) { return v == 100; }, 10s))
      << stack_logs(stack);
  EXPECT_EQ(stack.scrape().get("hostflow_threat_feed_entries{list=\"customlist\"}").value_or(-1), 1)
      << "the list is used even when its cache cannot be written";
  append(50);
  EXPECT_TRUE(wait_for_value(
      stack, conns, [&](double v) { return v == 150; }, 10s))
      << stack_logs(stack);
  // Space returns: the checkpoint is written (the error counter stops) with all 150 lines.
  sh_ok("rm -f " + state + "/filler");
  ASSERT_TRUE(wait_until(
      [&] { return ::access((state + "/haproxy-position.json").c_str(), F_OK) == 0; }, 10s))
      << stack_logs(stack);
  const double errs = stack.scrape().get(ckerr).value_or(-1);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(stack.scrape().get(ckerr).value_or(-2), errs) << "still failing with space back";
  EXPECT_TRUE(wait_until(
      [&] { return ::access((state + "/threat-customlist.cache").c_str(), F_OK) == 0; }, 10s))
      << stack_logs(stack);
  // A restart resumes: nothing lost, nothing counted twice.
  stack.exporter().signal(SIGTERM);
  ASSERT_TRUE(stack.exporter().wait(10s)) << stack_logs(stack);
  append(10);
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  EXPECT_TRUE(wait_for_value(
      stack, conns, [&](double v) { return v == static_cast<double>(written); }, 10s))
      << stack_logs(stack);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(stack.scrape().get(conns).value_or(-1), static_cast<double>(written))
      << stack_logs(stack);
  EXPECT_EQ(
      stack.scrape().get("hostflow_haproxy_sni_in_bytes_total{sni=\"a.example\"}").value_or(-1),
      100.0 * written);
}

}  // namespace
}  // namespace hostflow::test
