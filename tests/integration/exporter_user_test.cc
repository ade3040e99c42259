// The exporter runs as an unprivileged user and serves; as root it refuses unless told otherwise.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// "Uid:\t0\t0\t0\t0" -> the four numbers, from /proc/PID/status.
std::vector<std::string> status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream f(line.substr(field.size() + 1));
    std::vector<std::string> out;
    for (std::string v; f >> v;) out.push_back(v);
    return out;
  }
  return {};
}

TEST(ExporterUser, ServesAsNobodyWithNoPrivilege) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace and switches users");
  HF_REQUIRE(have_command("setpriv"), "setpriv (util-linux) is not installed");
  Netns ns("hfu");
  quiet_netns(ns);
  const std::string ifb = unique_name("hfuifb");
  ns.exec_ok("ip link add " + ifb + " type ifb && ip link set " + ifb + " up");
  Stack stack(in_netns(ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();

  const passwd* nobody = getpwnam("nobody");
  const group* hf = getgrnam("hostflow");
  ASSERT_TRUE(nobody && hf);
  const pid_t pid = stack.exporter().pid();
  // The process serving is the exporter itself (setpriv exec'd it), with nobody's ids only.
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  EXPECT_EQ(name, std::string("hostflow-export"));  // comm is cut at 15 characters
  const std::string uid = std::to_string(nobody->pw_uid), gid = std::to_string(hf->gr_gid);
  EXPECT_EQ(status_field(pid, "Uid"), std::vector<std::string>(4, uid));
  EXPECT_EQ(status_field(pid, "Gid"), std::vector<std::string>(4, gid));
  EXPECT_TRUE(status_field(pid, "Groups").empty());
  EXPECT_EQ(status_field(pid, "CapEff"), std::vector<std::string>{"0000000000000000"});
  EXPECT_EQ(status_field(pid, "CapPrm"), std::vector<std::string>{"0000000000000000"});
  // As under the unit (CapabilityBoundingSet=): nothing could ever be regained.
  EXPECT_EQ(status_field(pid, "CapBnd"), std::vector<std::string>{"0000000000000000"});
  EXPECT_EQ(status_field(pid, "CapInh"), std::vector<std::string>{"0000000000000000"});

  const Exposition e = stack.scrape();
  EXPECT_EQ(e.get("hostflow_sampler_up"), 1);
  EXPECT_EQ(exported_links(e).size(), 2u);  // lo and the ifb
  EXPECT_TRUE(exported_links(e).count(ifb));
  EXPECT_EQ(http_get(stack.url("/-/ready")).status, 200);
  EXPECT_EQ(http_get(stack.url("/-/healthy")).status, 200);
  const HttpResult landing = http_get(stack.url("/"));
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("/metrics"), std::string::npos);
}

TEST(ExporterUser, RefusesRootWithoutAllowRoot) {
  HF_REQUIRE(is_root(), "needs root: checks what the exporter does when started as root");
  TempDir d;
  const int port = free_port();
  const RunResult r = run({HOSTFLOW_EXPORTER_BIN, "--segment", d.path() + "/segment",
                           "--web.listen-address", "127.0.0.1:" + std::to_string(port)},
                          std::chrono::seconds(10));
  EXPECT_NE(r.exit_code, 0) << "exited " << r.exit_code;
  EXPECT_NE(r.exit_code, -1) << "killed or timed out instead of exiting:" << r.err;
  EXPECT_NE((r.out + r.err).find("refusing to run as root"), std::string::npos) << r.out << r.err;
  // It refused before binding: the port is still free.
  EXPECT_EQ(http_get("http://127.0.0.1:" + std::to_string(port) + "/-/healthy", {},
                     std::chrono::milliseconds(500))
                .status,
            0);

  // Control: the same command line with --allow-root does start (so the refusal is about root).
  std::vector<std::string> argv = {HOSTFLOW_EXPORTER_BIN,
                                   "--segment",
                                   d.path() + "/segment",
                                   "--web.listen-address",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--allow-root"};
  for (const auto& a : seccomp_args()) argv.push_back(a);
  Process p(argv, d.path() + "/exporter.log");
  EXPECT_TRUE(wait_until(
      [&] {
        return http_get("http://127.0.0.1:" + std::to_string(port) + "/-/healthy").status == 200;
      },
      std::chrono::seconds(10)))
      << p.log();
}

// The process_* figures every exporter serves about itself, against the kernel's own view of
// that process read by the test (as root): VmRSS and VmSize of /proc/PID/status, the entries of
// /proc/PID/fd, the soft limit in /proc/PID/limits, utime + stime and the start time from
// /proc/PID/stat with /proc/stat's btime. Under the exporter's seccomp filter in kill mode.
// Without the Stack's all-features additions: their timers (a feed refresh, an OTLP push every
// second, each with its own sockets and buffers) would open fds and move memory between the
// exporter's reading and the test's, which this comparison needs quiet.
TEST(ExporterUser, ProcessMetricsEqualTheKernelsFiguresForTheExporter) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace and switches users");
  Netns ns("hfp");
  quiet_netns(ns);
  StackOptions o = in_netns(ns.name());
  o.all_features = false;
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();
  const pid_t pid = stack.exporter().pid();
  const std::string proc = "/proc/" + std::to_string(pid);
  auto kb = [&](const char* field) {
    const auto v = status_field(pid, field);
    return v.empty() ? -1.0 : std::stod(v[0]) * 1024;
  };
  auto stat_fields = [&] {
    std::ifstream in(proc + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::istringstream f(text.substr(text.rfind(')') + 2));
    std::vector<std::string> v{"", "", ""};  // fields 1 and 2 skipped: v[3] is field 3
    for (std::string x; f >> x;) v.push_back(x);
    return v;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  auto cpu = [&] {
    const auto v = stat_fields();
    return (std::stod(v[14]) + std::stod(v[15])) / ticks;
  };
  // The exporter reads its figures while it answers and keeps allocating as it writes the
  // answer (a sanitizer build's quarantine grows its RSS at every scrape): the kernel's VmRSS is
  // read by the test just before and just after the scrape, and the exporter's value must lie
  // between the two, within a page.
  stack.scrape();
  const double r0 = kb("VmRSS"), v0 = kb("VmSize"), cpu_before = cpu();
  const Exposition e = stack.scrape();
  const double rss = kb("VmRSS"), vsz = kb("VmSize"), cpu_after = cpu();
  ASSERT_TRUE(e.get("process_resident_memory_bytes")) << stack.exporter().log();
  EXPECT_GE(*e.get("process_resident_memory_bytes"), r0 - 4096);
  EXPECT_LE(*e.get("process_resident_memory_bytes"), rss + 4096);
  EXPECT_GE(*e.get("process_virtual_memory_bytes"), v0 - 4096);
  EXPECT_LE(*e.get("process_virtual_memory_bytes"), vsz + 4096);
  EXPECT_GE(*e.get("process_cpu_seconds_total"), cpu_before - 1e-9);
  EXPECT_LE(*e.get("process_cpu_seconds_total"), cpu_after + 1e-9);
  std::size_t fds = 0;
  for ([[maybe_unused]] const auto& f : std::filesystem::directory_iterator(proc + "/fd")) fds++;
  // The exporter counted while answering: its /proc/self/fd directory was open then, and the
  // scrape's connection may since have closed.
  EXPECT_NEAR(*e.get("process_open_fds"), static_cast<double>(fds), 2);
  std::ifstream limits(proc + "/limits");
  double max_fds = -1;
  for (std::string line; std::getline(limits, line);)
    if (line.rfind("Max open files", 0) == 0) max_fds = std::stod(line.substr(26));
  EXPECT_EQ(*e.get("process_max_fds"), max_fds);
  std::ifstream pstat("/proc/stat");
  double btime = 0;
  for (std::string line; std::getline(pstat, line);)
    if (line.rfind("btime ", 0) == 0) btime = std::stod(line.substr(6));
  EXPECT_NEAR(*e.get("process_start_time_seconds"), btime + std::stod(stat_fields()[22]) / ticks,
              0.01);
}

// The sampler's own figures, which it reads from /proc/self in each cycle and publishes (the
// exporter cannot read a root process's /proc entries), served as hostflow_sampler_process_*,
// against the kernel's view of the sampler read by the test. The sampler reads them before it
// publishes, and publishing touches memory: the figure of cycle N+1 lies between the VmRSS the
// test reads while the sampler sleeps after cycle N and the one after cycle N+1 (a page of
// slack each way).
TEST(ExporterUser, SamplerProcessMetricsEqualTheKernelsFiguresForTheSampler) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace");
  Netns ns("hfq");
  quiet_netns(ns);
  StackOptions o = in_netns(ns.name());
  o.interval = "2s";
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();
  const pid_t pid = stack.sampler().pid();
  auto kb = [&](const char* field) {
    const auto v = status_field(pid, field);
    return v.empty() ? -1.0 : std::stod(v[0]) * 1024;
  };
  // Right after a new snapshot appears, the sampler sleeps until the next cycle.
  auto next_snapshot = [&] {
    const double g = stack.scrape().get("hostflow_snapshot_generation").value_or(0);
    Exposition e;
    EXPECT_TRUE(wait_until(
        [&] {
          e = stack.scrape();
          return e.get("hostflow_snapshot_generation").value_or(0) > g;
        },
        std::chrono::seconds(10)));
    return e;
  };
  next_snapshot();
  const double r0 = kb("VmRSS"), v0 = kb("VmSize");
  const Exposition e = next_snapshot();
  const double rss = kb("VmRSS"), vsz = kb("VmSize");
  ASSERT_TRUE(e.get("hostflow_sampler_process_resident_memory_bytes")) << stack.exporter().log();
  EXPECT_GE(*e.get("hostflow_sampler_process_resident_memory_bytes"), r0 - 4096);
  EXPECT_LE(*e.get("hostflow_sampler_process_resident_memory_bytes"), rss + 4096);
  EXPECT_GE(*e.get("hostflow_sampler_process_virtual_memory_bytes"), v0 - 4096);
  EXPECT_LE(*e.get("hostflow_sampler_process_virtual_memory_bytes"), vsz + 4096);
  std::size_t fds = 0;
  for ([[maybe_unused]] const auto& f :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    fds++;
  // The sampler counted with its /proc/self/fd directory open (one more than now).
  EXPECT_EQ(*e.get("hostflow_sampler_process_open_fds"), static_cast<double>(fds + 1));
  EXPECT_GT(*e.get("hostflow_sampler_process_max_fds"), 0);
  EXPECT_NEAR(*e.get("hostflow_sampler_process_start_time_seconds"),
              *e.get("hostflow_sampler_start_time_seconds"), 1.0);
  EXPECT_GT(*e.get("hostflow_sampler_process_cpu_seconds_total"), 0);
}

// As the shipped unit starts it (CapabilityBoundingSet= + AmbientCapabilities= naming bpf's
// CAP_BPF, locked securebits, segment group, no CAP_SETPCAP), but with the bpf source off — what
// an operator gets on a host whose kernel cannot load the program. The sampler cannot shrink its
// bounding set; it starts anyway, keeps CAP_BPF out of its permitted set and sets no_new_privs,
// under which the bit left in the bounding set can never be regained.
TEST(SamplerPrivilege, AUnitsBoundingSetWithACapabilityNoEnabledSourceUsesStillStartsItInert) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace and starts as the unit does");
  HF_REQUIRE(have_command("setpriv"), "setpriv (util-linux) is not installed");
  Netns ns("hfb");
  quiet_netns(ns);
  const std::string unit_caps = "+bpf,+dac_read_search,+net_admin,+sys_ptrace";
  StackOptions o = in_netns(ns.name());
  o.sampler_prefix = {"setpriv",
                      "--regid=hostflow",
                      "--clear-groups",
                      "--securebits=+noroot,+noroot_locked,+no_setuid_fixup,"
                      "+no_setuid_fixup_locked,+keep_caps_locked",
                      "--inh-caps=-all," + unit_caps,
                      "--ambient-caps=-all," + unit_caps,
                      "--bounding-set=-all," + unit_caps,
                      "--"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();
  EXPECT_EQ(stack.scrape().get("hostflow_sampler_up"), 1);

  const pid_t pid = stack.sampler().pid();
  auto caps = [&](const char* field) {
    const auto v = status_field(pid, field);
    return v.size() == 1 ? std::stoull(v[0], nullptr, 16) : ~0ull;
  };
  constexpr std::uint64_t kBpf = 1ull << 39;
  constexpr std::uint64_t kUnit = kBpf | 1ull << 2 | 1ull << 12 | 1ull << 19;
  EXPECT_EQ(caps("CapBnd"), kUnit) << "the bounding set is the unit's, left as it was";
  EXPECT_EQ(caps("CapPrm") & kBpf, 0u) << "CAP_BPF kept though no source uses it";
  EXPECT_EQ(caps("CapEff"), caps("CapPrm"));
  EXPECT_EQ(caps("CapAmb") & kBpf, 0u);
  EXPECT_EQ(status_field(pid, "NoNewPrivs"), std::vector<std::string>{"1"});
  EXPECT_EQ(status_field(pid, "Seccomp"), std::vector<std::string>{"2"});
  EXPECT_NE(stack.sampler().log().find("capability bounding set keeps cap_bpf"), std::string::npos)
      << stack.sampler().log();
  // Still publishing after the drop and the filter.
  const double before = stack.scrape().get("hostflow_snapshot_generation").value_or(0);
  EXPECT_TRUE(wait_until(
      [&] { return stack.scrape().get("hostflow_snapshot_generation").value_or(0) > before; },
      std::chrono::seconds(5)));
  EXPECT_TRUE(stack.sampler().running()) << stack.sampler().log();
}

}  // namespace
}  // namespace hostflow::test
