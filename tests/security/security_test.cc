// Least privilege, checked on the real binaries and the real policies:
//  - the sampler's exact seccomp policy kills execve, opening a file for writing and AF_INET
//    sockets with SIGSYS; log mode lets them through and the kernel reports them; trap names them;
//  - a running sampler has Seccomp 2, NoNewPrivs 1 and exactly the expected CapEff/CapBnd;
//  - a running exporter is not root and holds no capability at all;
//  - the exporter cannot open, map or write the segment for writing;
//  - the Stack the integration tests use runs both filters in kill mode.
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "support.h"

namespace ht = hostflow::test;

namespace {

const std::string kProbe = HOSTFLOW_SECCOMP_PROBE_BIN;

// The wait status of `argv` run to completion, with its stdout and stderr.
struct Exit {
  int status = 0;
  std::string out;
};
Exit run_status(const std::vector<std::string>& argv) {
  ht::TempDir d;
  const std::string out = d.path() + "/out";
  ht::Process p(argv, out);
  Exit e;
  auto st = p.wait(std::chrono::seconds(20));
  e.status = st ? *st : -1;
  e.out = p.log();
  return e;
}

bool killed_by_sigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}
bool exited_0(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::map<std::string, std::string> proc_status(pid_t pid) {
  std::map<std::string, std::string> m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    const auto c = line.find(':');
    if (c == std::string::npos) continue;
    std::string v = line.substr(c + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    m[line.substr(0, c)] = v;
  }
  return m;
}

// Waits until `pid` runs under its seccomp filter (the end of its start-up).
std::map<std::string, std::string> status_when_filtered(ht::Process& p) {
  std::map<std::string, std::string> st;
  ht::wait_until(
      [&] {
        st = proc_status(p.pid());
        return st["Seccomp"] == "2" || !p.running();
      },
      std::chrono::seconds(10));
  return st;
}

// What the default sources keep, from the source table: {hex as /proc prints it, "a,b" names}.
struct Kept {
  std::string hex, names;
};
Kept kept_caps() {
  const ht::RunResult r = ht::run({kProbe, "-", "-", "kept-caps"});
  std::istringstream in(r.out);
  Kept k;
  in >> k.hex >> k.names;
  if (k.names == "-") k.names.clear();
  return k;
}

// setpriv arguments that start a program the way hostflow-sampler.service does: root, the
// hostflow group, bounding set = ambient set = the kept capabilities, securebits noroot...
std::vector<std::string> as_sampler_unit() {
  const Kept k = kept_caps();
  std::string plus;
  std::istringstream names(k.names);
  for (std::string n; std::getline(names, n, ',');) plus += ",+" + n;
  return {"setpriv",
          "--regid=hostflow",
          "--clear-groups",
          "--bounding-set=-all" + plus,
          "--inh-caps=-all" + plus,
          "--ambient-caps=-all" + plus,
          "--securebits=+noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked,"
          "+keep_caps_locked",
          "--"};
}

std::string segment_dir(const ht::TempDir& d) {
  if (!getgrnam("hostflow")) ht::sh("groupadd --system hostflow");
  ht::sh_ok("chgrp hostflow " + d.path() + " && chmod 0750 " + d.path());
  return d.path();
}

}  // namespace

// --- the sampler's policy, loaded by the probe --------------------------------------------------

TEST(SamplerPolicy, AllowsAnOrdinaryExit) {
  const Exit e = run_status({kProbe, "sampler", "kill", "exit"});
  EXPECT_TRUE(exited_0(e.status)) << e.out;
}

TEST(SamplerPolicy, KillModeKillsExecve) {
  const Exit e = run_status({kProbe, "sampler", "kill", "execve"});
  EXPECT_TRUE(killed_by_sigsys(e.status)) << "status " << e.status << "\n" << e.out;
}

TEST(SamplerPolicy, KillModeKillsOpeningAFileForWriting) {
  ht::TempDir d;
  ht::sh_ok("touch " + d.path() + "/victim");
  const Exit e = run_status({kProbe, "sampler", "kill", "open-write", d.path() + "/victim"});
  EXPECT_TRUE(killed_by_sigsys(e.status)) << "status " << e.status << "\n" << e.out;
}

TEST(SamplerPolicy, KillModeKillsAnInetSocket) {
  const Exit e = run_status({kProbe, "sampler", "kill", "socket-inet"});
  EXPECT_TRUE(killed_by_sigsys(e.status)) << "status " << e.status << "\n" << e.out;
}

TEST(SamplerPolicy, BpfOnlyTheMapCommandsAndOnlyWithCapBpfKept) {
  // With --source.bpf (CAP_BPF kept): map lookups pass the filter (and fail on the bad fd);
  // loading a program or updating a map after the filter kills. Without it: no bpf(2) at all.
  Exit e = run_status({kProbe, "sampler-bpf", "kill", "bpf-map-lookup"});
  EXPECT_TRUE(exited_0(e.status)) << e.out;
  for (const char* action : {"bpf-prog-load", "bpf-map-update"}) {
    e = run_status({kProbe, "sampler-bpf", "kill", action});
    EXPECT_TRUE(killed_by_sigsys(e.status)) << action << " status " << e.status << "\n" << e.out;
  }
  e = run_status({kProbe, "sampler", "kill", "bpf-map-lookup"});
  EXPECT_TRUE(killed_by_sigsys(e.status)) << "status " << e.status << "\n" << e.out;
  e = run_status({kProbe, "none", "kill", "bpf-prog-load"});
  EXPECT_TRUE(exited_0(e.status)) << "control: without a filter bpf(2) just fails\n" << e.out;
}

TEST(SamplerPolicy, WithoutAFilterTheProbeSurvives) {
  // The control: the same actions without a policy do not die (so SIGSYS above is the filter).
  const Exit e = run_status({kProbe, "none", "kill", "socket-inet"});
  EXPECT_TRUE(exited_0(e.status)) << e.out;
}

TEST(SamplerPolicy, TrapModeNamesTheMissingSyscall) {
  const Exit e = run_status({kProbe, "sampler", "trap", "socket-inet"});
  EXPECT_TRUE(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 128 + SIGSYS) << e.out;
  EXPECT_NE(e.out.find("(socket)"), std::string::npos) << e.out;
}

TEST(SamplerPolicy, LogModeSurvivesAndTheKernelReportsEachAttempt) {
  HF_REQUIRE(ht::is_root(), "reading the kernel log (dmesg) needs root");
  ht::TempDir d;
  ht::sh_ok("touch " + d.path() + "/victim");
  const struct {
    std::vector<std::string> argv;
    int syscall;  // x86_64 numbers, as the audit line prints them
  } cases[] = {
      {{kProbe, "sampler", "log", "execve"}, 59},
      {{kProbe, "sampler", "log", "open-write", d.path() + "/victim"}, 257},
      {{kProbe, "sampler", "log", "socket-inet"}, 41},
  };
  for (const auto& c : cases) {
    const Exit e = run_status(c.argv);
    ASSERT_TRUE(exited_0(e.status)) << c.argv[3] << ": status " << e.status << "\n" << e.out;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(e.out, m, std::regex("pid ([0-9]+)"))) << e.out;
    const std::string pid = m[1];
#if defined(__x86_64__)
    const std::string want = "pid=" + pid + " .* syscall=" + std::to_string(c.syscall) + " ";
#else
    const std::string want = "pid=" + pid + " ";
#endif
    bool seen = ht::wait_until(
        [&] {
          return ht::sh("dmesg | grep 'type=1326' | grep -E -q '" + want + "'").exit_code == 0;
        },
        std::chrono::seconds(8));
    HF_REQUIRE(ht::sh("dmesg | grep -q 'type=1326'").exit_code == 0,
               "the kernel's audit lines (type=1326) do not reach dmesg on this host");
    EXPECT_TRUE(seen) << c.argv[3] << ": no audit line matching '" << want << "' in dmesg";
  }
}

TEST(SamplerPolicy, GrowingTheSegmentWorksUnderTheKillFilter) {
  // segment_file.cc writes a larger file and renames it over the old one after the filter is on.
  ht::TempDir d;
  const Exit e = run_status({kProbe, "sampler", "kill", "segment-grow", d.path()});
  EXPECT_TRUE(exited_0(e.status)) << "status " << e.status << "\n" << e.out;
}

TEST(SamplerPolicy, PrintedPolicyShowsGroupsLimitsAndTheDefault) {
  const ht::RunResult r = ht::run({HOSTFLOW_SAMPLER_BIN, "--print-seccomp-policy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"kill the process", "// netlink", "allow socket", "AF_NETLINK",
                           "no PROT_EXEC", "O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW",
                           "other architectures (x32, i386): kill", "capabilities kept"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  EXPECT_EQ(r.out.find("allow execve"), std::string::npos);
}

// --- the exporter's policy -----------------------------------------------------------------------

TEST(ExporterPolicy, KillModeKillsExecveAndSockets) {
  EXPECT_TRUE(killed_by_sigsys(run_status({kProbe, "exporter", "kill", "execve"}).status));
  EXPECT_TRUE(killed_by_sigsys(run_status({kProbe, "exporter", "kill", "socket-inet"}).status));
  EXPECT_TRUE(exited_0(run_status({kProbe, "exporter", "kill", "exit"}).status));
  // Regression: the seqlock reader's back-off (sched_yield) killed a loaded exporter.
  EXPECT_TRUE(exited_0(run_status({kProbe, "exporter", "kill", "seqlock-backoff"}).status));
}

// --- running binaries
// -----------------------------------------------------------------------------

TEST(RunningSampler, IsFilteredAndKeepsExactlyTheExpectedCapabilities) {
  HF_REQUIRE(ht::is_root(), "starting the sampler needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  ht::Process p({HOSTFLOW_SAMPLER_BIN, "--segment", seg, "--interval", "200ms"},
                d.path() + "/sampler.log");
  auto st = status_when_filtered(p);
  ASSERT_TRUE(p.running()) << p.log();
  EXPECT_EQ(st["Seccomp"], "2");
  EXPECT_EQ(st["NoNewPrivs"], "1");
  // Exactly the union of the default sources' capabilities (sources/registry.cc).
  const Kept k = kept_caps();
  ASSERT_EQ(k.hex.size(), 16u);
  EXPECT_EQ(st["CapEff"], k.hex);
  EXPECT_EQ(st["CapPrm"], k.hex);
  EXPECT_EQ(st["CapInh"], "0000000000000000");
  EXPECT_EQ(st["CapBnd"], k.hex);
  EXPECT_EQ(st["CapAmb"], "0000000000000000");
  EXPECT_NE(p.log().find("msg=capabilities phase=before"), std::string::npos) << p.log();
  EXPECT_NE(p.log().find("msg=capabilities phase=after eff=" + k.hex), std::string::npos);
  EXPECT_NE(p.log().find("msg=seccomp mode=kill"), std::string::npos) << p.log();
  // Still working under the filter: a few more cycles publish without dying.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_TRUE(p.running()) << p.log();
}

TEST(RunningSampler, CheckModeRunsUnderTheKillFilter) {
  HF_REQUIRE(ht::is_root(), "starting the sampler needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  const ht::RunResult r = ht::run({HOSTFLOW_SAMPLER_BIN, "--segment", seg, "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("check passed"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("mode=kill"), std::string::npos) << r.err;
  EXPECT_EQ(ht::sh("ls " + d.path() + " | grep -q check").exit_code, 1) << "test segment left";
}

TEST(RunningSampler, DedicatedUserKeepsTheSameSets) {
  HF_REQUIRE(ht::is_root(), "starting the sampler needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  ht::sh_ok("chown nobody " + d.path());
  ht::Process p({HOSTFLOW_SAMPLER_BIN, "--segment", seg, "--interval", "200ms", "--user", "nobody"},
                d.path() + "/sampler.log");
  auto st = status_when_filtered(p);
  ASSERT_TRUE(p.running()) << p.log();
  EXPECT_EQ(st["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(st["CapEff"], kept_caps().hex);
  EXPECT_EQ(st["CapBnd"], kept_caps().hex);
  EXPECT_EQ(st["CapAmb"], "0000000000000000");
  EXPECT_EQ(st["Seccomp"], "2");
}

TEST(RunningExporter, IsNotRootAndHoldsNoCapabilities) {
  HF_REQUIRE(ht::is_root(), "starting the stack needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  ht::Process s({HOSTFLOW_SAMPLER_BIN, "--segment", seg, "--interval", "200ms"},
                d.path() + "/sampler.log");
  ASSERT_TRUE(
      ht::wait_until([&] { return access(seg.c_str(), F_OK) == 0; }, std::chrono::seconds(10)));
  // As hostflow-exporter.service starts it: own user, the segment group, empty bounding set.
  const int port = ht::free_port();
  ht::Process e(
      {"setpriv", "--reuid=nobody", "--regid=hostflow", "--clear-groups", "--bounding-set=-all",
       "--inh-caps=-all", "--", HOSTFLOW_EXPORTER_BIN, "--segment", seg, "--web.listen-address",
       "127.0.0.1:" + std::to_string(port), "--segment.poll-interval", "50ms"},
      d.path() + "/exporter.log");
  auto st = status_when_filtered(e);
  ASSERT_TRUE(e.running()) << e.log();
  EXPECT_NE(st["Uid"].substr(0, 2), "0\t");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(st[set], "0000000000000000") << set;
  EXPECT_EQ(st["NoNewPrivs"], "1");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(ht::wait_until([&] { return ht::http_get(url + "/-/ready").status == 200; },
                             std::chrono::seconds(10)))
      << e.log();
  EXPECT_EQ(ht::http_get(url + "/metrics").status, 200);
  // The real exporter maps the segment read-only and shared: "r--s".
  std::ifstream maps("/proc/" + std::to_string(e.pid()) + "/maps");
  std::string line, seg_maps;
  while (std::getline(maps, line))
    if (line.find(seg) != std::string::npos) seg_maps += line + "\n";
  ASSERT_FALSE(seg_maps.empty()) << "segment not mapped";
  EXPECT_EQ(seg_maps.find("rw"), std::string::npos) << seg_maps;
  EXPECT_NE(seg_maps.find(" r--s "), std::string::npos) << seg_maps;
  EXPECT_TRUE(e.running()) << e.log();
}

TEST(ExporterSegment, CannotBeOpenedMappedOrWrittenForWriting) {
  HF_REQUIRE(ht::is_root(), "switching to the exporter's user needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  ht::Process s({HOSTFLOW_SAMPLER_BIN, "--segment", seg, "--interval", "200ms"},
                d.path() + "/sampler.log");
  ASSERT_TRUE(
      ht::wait_until([&] { return access(seg.c_str(), F_OK) == 0; }, std::chrono::seconds(10)));
  const std::vector<std::string> as_exporter = {"setpriv", "--reuid=nobody", "--regid=hostflow",
                                                "--clear-groups", "--"};
  // File permissions alone (no filter): open O_RDWR and a writable shared mapping are refused,
  // and a write through the read-only mapping faults.
  auto argv = as_exporter;
  for (const char* a : {"none", "kill", "segment-write"}) argv.push_back(a);
  argv.insert(argv.begin() + 5, kProbe);
  argv.push_back(seg);
  Exit e = run_status(argv);
  EXPECT_TRUE(exited_0(e.status)) << e.out;
  EXPECT_NE(e.out.find("open O_RDWR: Permission denied"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("mmap PROT_WRITE MAP_SHARED: Permission denied"), std::string::npos);
  EXPECT_NE(e.out.find("write through the mapping: faulted"), std::string::npos);
  // And under the exporter's filter the write-open does not even reach the permission check.
  argv = as_exporter;
  for (const std::string& a :
       {kProbe, std::string("exporter"), std::string("kill"), std::string("open-write"), seg})
    argv.push_back(a);
  e = run_status(argv);
  EXPECT_TRUE(killed_by_sigsys(e.status)) << "status " << e.status << "\n" << e.out;
}

// --- the Stack the integration suite uses -------------------------------------------------------

TEST(IntegrationStack, RunsBothFiltersInKillMode) {
  HF_REQUIRE(ht::is_root(), "the stack needs root");
  ht::Stack stack(ht::StackOptions{});
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();
  for (ht::Process* p : {&stack.sampler(), &stack.exporter()}) {
    auto st = proc_status(p->pid());
    EXPECT_EQ(st["Seccomp"], "2") << p->log();
    EXPECT_NE(p->log().find("msg=seccomp mode=kill"), std::string::npos) << p->log();
    EXPECT_EQ(p->log().find("DISABLED"), std::string::npos) << p->log();
  }
  EXPECT_EQ(proc_status(stack.exporter().pid())["CapEff"], "0000000000000000");
  EXPECT_EQ(proc_status(stack.exporter().pid())["CapPrm"], "0000000000000000");
}

TEST(RunningSampler, StartedAsItsUnitStartsItNeedsNoMoreThanItKeeps) {
  // hostflow-sampler.service: root, Group=hostflow, CapabilityBoundingSet= and
  // AmbientCapabilities= = the kept set, SecureBits=noroot...: the binary starts with only what it
  // keeps (no CAP_SETPCAP/SETGID for the drop) and must still open, publish and filter.
  HF_REQUIRE(ht::is_root(), "setpriv to the unit's credentials needs root");
  ht::TempDir d;
  const std::string seg = segment_dir(d) + "/segment";
  auto argv = as_sampler_unit();
  for (const std::string& a :
       {std::string(HOSTFLOW_SAMPLER_BIN), std::string("--segment"), seg, std::string("--check")})
    argv.push_back(a);
  const ht::RunResult r = ht::run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const Kept k = kept_caps();
  EXPECT_NE(r.err.find("phase=before eff=" + k.hex), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("phase=after eff=" + k.hex), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("check passed"), std::string::npos) << r.out;
}
