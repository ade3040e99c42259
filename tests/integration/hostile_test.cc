// Issue 12: the hostile-input campaign as regression tests (label `hostile`). Every scrape goes
// through the support library, so each exposition here also passes the shared invariant check
// (promtool, zero duplicate series, UTF-8, label caps); the tests below add what each attack
// must not achieve. Both binaries run with their seccomp filters in kill mode.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ct_lab.h"
#include "hostflow/common/clock.h"
#include "http_abuse.h"
#include "lab.h"
#include "pipeline.h"
#include "support.h"

namespace hostflow::test {
namespace {

using namespace std::chrono_literals;

std::size_t count_prefix(const Exposition& e, const std::string& name) {
  return e.family(name).size();
}

// Interface names a tenant (or anyone with CAP_NET_ADMIN in a namespace the host sees) can
// choose: the kernel accepts any bytes but '/', ':' and white space. Among them the issue's
// collision (rt\xff1, "rt<U+FFFD>1~<ifindex of the third>", rt\xfe1), quotes, backslashes,
// control bytes, U+2028, "\n# HELP" look-alikes and invalid UTF-8.
TEST(Hostile, InterfaceNamesNeverGiveDuplicateOrInvalidSeries) {
  HF_REQUIRE(is_root(), "needs root: creates ifb devices in a network namespace");
  Netns ns("hfh");
  quiet_netns(ns);
  // printf escapes (octal), one name per line: "INDEX NAME".
  const std::vector<std::pair<int, std::string>> names = {
      {100, "rt\\3771"},
      {101, "rt\\357\\277\\2751~102"},  // U+FFFD "1~102": the generated name of ifindex 102
      {102, "rt\\3761"},
      {103, "q\\\"uote"},
      {104, "back\\\\slash"},
      {105, "ctl\\001\\037"},
      {106, "ls\\342\\200\\250x"},  // U+2028
      {107, "bad\\300\\257"},       // overlong '/'
      {108, "h#HELP\\177"},
      {109, "rt\\3771~102"},  // sanitises to 101's name as well
  };
  for (const auto& [idx, n] : names)
    ns.exec_ok("ip link add \"$(printf '" + n + "')\" index " + std::to_string(idx) + " type ifb");
  // `ip -j` would print the invalid UTF-8 as is (not JSON): count the one-line records.
  const std::size_t kernel_links =
      std::stoul(sh_ok("ip -n " + ns.name() + " -o link show | wc -l"));
  ASSERT_EQ(kernel_links, names.size() + 1);  // + lo

  Stack stack(in_netns(ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  const auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  // One info series per kernel link, each with its own interface label.
  const auto info = e->family("hostflow_interface_info");
  std::set<std::string> labels;
  for (const auto& [k, v] : info) labels.insert(series_labels(k)["interface"]);
  EXPECT_EQ(info.size(), kernel_links);
  EXPECT_EQ(labels.size(), kernel_links);
  EXPECT_TRUE(stack.sampler().running()) << stack_logs(stack);
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

// Fake QEMU processes (no privilege needed: comm and argv are the process's own): identities
// that collide on purpose (the a < c < b repro), a 480 KB command line, invalid UTF-8,
// "\n# HELP" inside a name, uuids that are not uuids.
struct FakeQemu {
  Process proc;
  FakeQemu(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {"/usr/bin/python3", HOSTFLOW_FAKE_QEMU, "qemu-system-x86"};
    argv.insert(argv.end(), args.begin(), args.end());
    proc = Process(argv, log);
  }
};

TEST(Hostile, ChosenQemuCommandLinesNeverGiveDuplicateOrInvalidSeries) {
  HF_REQUIRE(is_root(), "needs root: the sampler reads every process's command line");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 runs the fake QEMU processes");
  TempDir d;
  const std::string x = "6c3f0e2a-1d2b-4c5d-8e9f-0a1b2c3d4e5f";
  std::vector<std::unique_ptr<FakeQemu>> q;
  auto spawn = [&](const std::vector<std::string>& args) {
    q.push_back(
        std::make_unique<FakeQemu>(args, d.path() + "/q" + std::to_string(q.size()) + ".log"));
    return q.back()->proc.pid();
  };
  // a < c < b: c's command line names b's pid, which does not exist yet when c starts.
  const pid_t a = spawn({"-uuid", x, "-name", "guest=a"});
  const std::string c_args = d.path() + "/c.args";
  const pid_t c = spawn({"--wait", c_args});
  const pid_t b = spawn({"-uuid", x, "-name", "guest=b"});
  ASSERT_TRUE(a < c && c < b) << "pids not increasing (wrapped?): " << a << " " << c << " " << b;
  {
    std::ofstream(c_args + ".tmp") << "-name\nguest=" << x << "~" << b << "\n";
    std::filesystem::rename(c_args + ".tmp", c_args);
  }
  // 480 KB of argv (one argument may hold at most 128 KiB: MAX_ARG_STRLEN).
  spawn({"-uuid", std::string(120 * 1024, 'u'), "-name", "guest=" + std::string(120 * 1024, 'n'),
         "-device", std::string(120 * 1024, 'd'), "-drive", std::string(120 * 1024, 'r')});
  spawn({"-uuid", "not-a-uuid\xff\xfe", "-name", "guest=bad\xc0\xafutf8"});
  spawn({"-name", "guest=x\n# HELP hostflow_vm_info fake\nhostflow_vm_info{vm_uuid=\"x\"} 1"});
  spawn({"-uuid", "\"}{", "-name", "guest=\\\\\""});
  spawn({"-name", "guest=" + x});  // a name that equals a's uuid
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string cmd = "/proc/" + std::to_string(c) + "/cmdline";
        std::ifstream in(cmd);
        std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return s.find("~" + std::to_string(b)) != std::string::npos;
      },
      10s));

  Stack stack(in_netns(""));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  // Every fake VM shows (the sampler saw them all), each under its own identity.
  std::optional<Exposition> e;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        return e->family("hostflow_vm_info").size() >= q.size();
      },
      20s))
      <<
      [&] {
        std::string all;
        for (const auto& [k, v] : e->family("hostflow_vm_info")) all += k.substr(0, 300) + "\n";
        return all;
      }()
      << stack_logs(stack);
  std::set<std::string> uuids;
  for (const auto& [k, v] : e->family("hostflow_vm_info"))
    uuids.insert(series_labels(k)["vm_uuid"]);
  EXPECT_EQ(uuids.size(), e->family("hostflow_vm_info").size()) << "two VMs share a vm_uuid";
  EXPECT_TRUE(uuids.count(x));
  EXPECT_TRUE(uuids.count(x + "~" + std::to_string(b)));  // c keeps its own chosen name
  EXPECT_EQ(count_prefix(*e, "hostflow_vm_info"), uuids.size());
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

// A segment truncated while the exporter has it mapped (root can do it; the sampler never
// does): stale, counted, logged, never a signal. Every cut the issue lists.
TEST(Hostile, ATruncatedSegmentMakesTheExporterStaleNotDead) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  for (const std::string cut : {"0", "4096", "70000", "-1"}) {
    SCOPED_TRACE("truncate to " + cut);
    Stack stack(in_netns(""));
    stack.start_sampler();
    stack.start_exporter();
    ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
    // Stop the sampler first: it maps the file read-write and would take the SIGBUS itself.
    stack.sampler().signal(SIGTERM);
    stack.sampler().wait(5s);
    struct stat st {};
    ASSERT_EQ(::stat(stack.segment().c_str(), &st), 0);
    const long size = cut == "-1" ? st.st_size - 1 : std::stol(cut);
    sh_ok("truncate -s " + std::to_string(size) + " " + stack.segment());
    std::optional<Exposition> e;
    ASSERT_TRUE(wait_until(
        [&] {
          e = stack.scrape();
          auto t = e->get("hostflow_exporter_segment_truncations_total");
          return t && *t >= 1;
        },
        10s))
        << stack_logs(stack);
    EXPECT_EQ(e->get("hostflow_sampler_up").value_or(-1), 0);
    EXPECT_EQ(http_get(stack.url("/-/ready")).status, 503);
    EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
    EXPECT_NE(stack.exporter().log().find("truncated"), std::string::npos);
    // A new sampler (a new file) is picked up again.
    stack.start_sampler();
    EXPECT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  }
}

// Feeds: a list that holds 0.0.0.0/0 and ::/0 keeps its other entries and counts the two.
TEST(Hostile, FeedPrefixesBroaderThanTheMinimumAreRefusedAndCounted) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  TempDir state, web;
  sh_ok("chown nobody " + state.path() + " && chmod 0755 " + web.path());
  std::ofstream(web.path() + "/custom.txt") << "0.0.0.0/0\n::/0\n1.0.0.0/7\n198.51.100.0/24\n"
                                               "2001:db8::/32\n10.0.0.0/8\n";
  sh_ok("chmod 0644 " + web.path() + "/custom.txt");
  StackOptions so = in_netns("");
  for (const char* a : {"--customlist.enable", "--customlist.refresh", "1s"})
    so.exporter_args.push_back(a);
  so.exporter_args.push_back("--customlist.path");
  so.exporter_args.push_back(web.path() + "/custom.txt");
  so.exporter_args.push_back("--state.dir");
  so.exporter_args.push_back(state.path());
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = wait_for_value(
      stack, "hostflow_threat_feed_entries{list=\"customlist\"}", [](double v) { return v > 0; },
      15s);
  ASSERT_TRUE(e) << stack_logs(stack);
  EXPECT_EQ(e->get("hostflow_threat_feed_entries{list=\"customlist\"}").value_or(-1), 3);
  EXPECT_EQ(e->get("hostflow_threat_feed_rejected_prefixes{list=\"customlist\"}").value_or(-1), 3);
}

// SIGTERM while a feed download hangs: the exporter is gone within 2 s (it waited for the whole
// --threat.fetch-timeout before). The feed is fetched by a name with two addresses.
TEST(Hostile, SigtermDuringAHangingFeedDownloadStopsWithinTwoSeconds) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 serves the feeds");
  TempDir web, state;
  sh_ok("chown nobody " + state.path() + " && chmod 0755 " + web.path());
  std::ofstream(web.path() + "/drop.txt") << "198.51.100.0/24\n";
  std::ofstream(web.path() + "/drop.txt.hang") << "";
  FeedServer server(web.path(), 18630 + static_cast<int>(::getpid() % 50));
  ASSERT_TRUE(server.proc.running()) << server.proc.log();
  StackOptions so = in_netns("");
  so.exporter_hosts = server.hosts_lines();
  for (const std::string& a :
       {std::string("--state.dir"), state.path(), std::string("--spamhaus.enable"),
        std::string("--spamhaus.url"), server.url("drop.txt"), std::string("--spamhaus.ipv6.url"),
        std::string(""), std::string("--threat.fetch-timeout"), std::string("60s")})
    so.exporter_args.push_back(a);
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  // The download is in flight once the server logged the request.
  ASSERT_TRUE(wait_until(
      [&] { return server.proc.log().find("hanging /drop.txt") != std::string::npos; }, 10s))
      << server.proc.log() << stack_logs(stack);
  std::this_thread::sleep_for(500ms);
  const auto t0 = std::chrono::steady_clock::now();
  stack.exporter().signal(SIGTERM);
  const auto st = stack.exporter().wait(10s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(st) << "still running 10 s after SIGTERM" << stack_logs(stack);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st << stack_logs(stack);
  EXPECT_LT(took, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
}

// A feed server that turns hostile in every way a download can (oversize with and without a
// Content-Length, a gzip bomb, garbage, deep JSON, redirects to file:// and ftp://, a slow drip,
// a close mid-body): each refresh is a counted error, the last good list stays, the exporter
// lives under its seccomp filter and its memory stays bounded. Fetched by a name with two
// addresses.
TEST(Hostile, EveryHostileFeedIsACountedErrorAndTheLastGoodListStays) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("/usr/bin/python3"), "python3 serves the feed");
  TempDir web, state;
  sh_ok("chown nobody " + state.path() + " && chmod 0755 " + web.path());
  auto mode = [&](const std::string& m) { std::ofstream(web.path() + "/mode") << m << "\n"; };
  mode("good");
  const int port = 18720 + static_cast<int>(::getpid() % 50);
  Process server(
      {"/usr/bin/python3", "-u", HOSTFLOW_HOSTILE_FEED_SERVER, web.path(), std::to_string(port)},
      web.path() + "/server.log");
  ASSERT_TRUE(wait_until([&] { return server.log().find("ready") != std::string::npos; }, 10s))
      << server.log();
  const std::string host = FeedServer::default_host();
  StackOptions so = in_netns("");
  so.exporter_hosts = {"127.0.0.1 " + host, "::1 " + host};
  const std::string url = "http://" + host + ":" + std::to_string(port) + "/feed";
  for (const std::string& a :
       {std::string("--state.dir"), state.path(), std::string("--emergingthreats.enable"),
        std::string("--emergingthreats.url"), url, std::string("--emergingthreats.refresh"),
        std::string("300ms"), std::string("--tor.exit.enable"), std::string("--tor.exit.url"), url,
        std::string("--tor.exit.refresh"), std::string("300ms"), std::string("--threat.retry"),
        std::string("300ms"), std::string("--threat.fetch-timeout"), std::string("2s"),
        std::string("--threat.max-bytes"), std::string("1048576")})
    so.exporter_args.push_back(a);
  Stack stack(so);
  stack.start_sampler();
  stack.start_exporter();
  const std::string ent = "hostflow_threat_feed_entries{list=\"emergingthreats\"}";
  const std::string errs = "hostflow_threat_feed_refresh_errors_total{list=\"emergingthreats\"}";
  ASSERT_TRUE(wait_for_value(
      stack, ent, [](double v) { return v == 3; }, 15s))
      << stack_logs(stack);
  long worst_rss_kb = 0;
  for (const char* m : {"oversize-length", "oversize-chunked", "gzip-bomb", "garbage", "deep-json",
                        "redirect-file", "redirect-ftp", "slow-drip", "mid-body-close"}) {
    SCOPED_TRACE(m);
    const double before = stack.scrape().get(errs).value_or(-1);
    mode(m);
    // Two errors after the switch: at least one refresh saw this mode from its start.
    auto e = wait_for_value(
        stack, errs, [&](double v) { return v >= before + 2; }, 20s);
    ASSERT_TRUE(e) << stack_logs(stack) << server.log();
    EXPECT_EQ(e->get(ent).value_or(-1), 3) << "the last good list must stay";
    ASSERT_TRUE(stack.exporter().running()) << stack_logs(stack);
    std::ifstream st("/proc/" + std::to_string(stack.exporter().pid()) + "/status");
    for (std::string line; std::getline(st, line);)
      if (line.rfind("VmHWM:", 0) == 0)
        worst_rss_kb = std::max(worst_rss_kb, std::stol(line.substr(6)));
  }
  // 1 MiB cap: the peak stays far below what an unbounded body or a DOM would take (the
  // sanitizer build's own overhead included).
  EXPECT_LT(worst_rss_kb, 400 * 1024) << "exporter peak RSS " << worst_rss_kb << " kB";
  mode("good");
  const double before = stack.scrape().get(errs).value_or(-1);
  std::this_thread::sleep_for(1s);
  EXPECT_LE(stack.scrape().get(errs).value_or(-1), before + 1) << "a good feed still failing";
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

// Defect 2 against the real exporter (as nobody, seccomp kill mode, every optional feature on):
// 200 hostile connections (idle, slowloris, keep-alive idle) re-opened in a loop from the
// scraper's own address and from another; >= 99 % of the scrapes succeed, p99 <= 1 s.
TEST(Hostile, ScrapesOfTheRealExporterSurviveTwoHundredHostileConnections) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  Stack stack(in_netns(""));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  for (const char* from : {"127.0.0.1", "127.0.0.2"}) {
    SCOPED_TRACE(std::string("hostile connections from ") + from);
    const abuse::AbuseResult r =
        abuse::run_abuse(static_cast<unsigned short>(stack.port()), {from}, "\n");
    std::printf("from %s: scrapes %zu ok %zu p50 %.4fs p99 %.4fs max %.4fs; opened %llu\n", from,
                r.scrapes, r.ok, r.p50, r.p99, r.max, static_cast<unsigned long long>(r.opened));
    abuse::expect_scrapes_survived(r);
    ASSERT_TRUE(stack.exporter().running()) << stack_logs(stack);
  }
  const auto e = stack.scrape();
  EXPECT_GT(e.get("hostflow_exporter_http_errors_total{reason=\"evicted\"}").value_or(0), 0)
      << "the hostile connections were never evicted?";
}

// A hostile domain through libvirt's real test driver (no daemon): 60 disks, Nova metadata with
// 400 ports, overflowing flavor numbers and U+2028 in a name, 200 levels of nested XML in its
// metadata (libvirt itself refuses invalid UTF-8 in domain XML; the exporter's parser gets that
// from the fuzz target and DomainXml.InvalidUtf8NamesBecomeValidLabels). The
// exporter stays up, every series is valid and unique, disks are all there (their cap is 256),
// ports are bounded, and the host's memory total is the domain's (libvirt's stats), never the
// flavor's 10^20 MiB.
TEST(Hostile, AHostileLibvirtDomainIsBoundedAndValid) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  HF_REQUIRE(have_command("virsh"), "libvirt-clients is not installed");
  TempDir d;
  const std::string real_uuid = "7e0c7a64-3b1d-4f35-9a49-0000000000aa";
  std::string x =
      "<node><domain type='test'><name>hostile-\"dom'&amp;</name><uuid>" + real_uuid +
      "</uuid><memory unit='KiB'>1048576</memory><vcpu>2</vcpu><os><type>hvm</type></os>"
      "<metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
      "<nova:name>evil\xe2\x80\xa8name \"q\"</nova:name><nova:flavor name='m1'>"
      "<nova:memory>100000000000000000000</nova:memory><nova:vcpus>4294967297</nova:vcpus>"
      "</nova:flavor><nova:ports>";
  for (int i = 0; i < 400; i++)
    x += "<nova:port uuid='p" + std::to_string(i) + "'><nova:ip type='fixed' address='10.99." +
         std::to_string(i / 250) + "." + std::to_string(1 + i % 250) +
         "' ipVersion='4'/></nova:port>";
  x += "</nova:ports></nova:instance><deep:x xmlns:deep='http://example.com/deep'>";
  for (int i = 0; i < 200; i++) x += "<deep:x>";
  for (int i = 0; i < 200; i++) x += "</deep:x>";
  x += "</deep:x></metadata><devices>";
  for (int i = 0; i < 60; i++) {
    std::string dev = "vd";
    if (i >= 26) dev += static_cast<char>('a' + i / 26 - 1);
    dev += static_cast<char>('a' + i % 26);
    x += "<disk type='file' device='disk'><source file='/nonexistent/hostile-" + std::to_string(i) +
         ".img'/><target dev='" + dev + "' bus='virtio'/></disk>";
  }
  x += "</devices></domain></node>";
  const std::string node = d.path() + "/node.xml";
  std::ofstream(node) << x;
  const std::string uri = "test://" + node;
  const RunResult list = run({"virsh", "-c", uri, "list", "--uuid"});
  ASSERT_EQ(list.exit_code, 0) << "libvirt's test driver refused the node: " << list.err;
  ASSERT_NE(list.out.find(real_uuid), std::string::npos) << list.out;
  StackOptions o = in_netns("");
  for (const std::string& a :
       {std::string("--libvirt.uri"), uri, std::string("--libvirt.timeout"), std::string("10s")})
    o.sampler_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  std::optional<Exposition> e;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        return !series_where(*e, "hostflow_vm_info", "vm_uuid", real_uuid).empty();
      },
      20s))
      << stack_logs(stack);
  std::size_t disks = 0;
  for (const auto& [k, v] : e->family("hostflow_vm_disk_info"))
    if (series_labels(k)["vm_uuid"] == real_uuid) disks++;
  EXPECT_EQ(disks, 60u);
  const auto mem = e->get("hostflow_host_active_memory_bytes");
  ASSERT_TRUE(mem);
  EXPECT_LT(*mem, 1e15) << "memory total from the hostile flavor";
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
  EXPECT_TRUE(stack.sampler().running()) << stack_logs(stack);
}

// 100,000 distinct SNIs in the HAProxy log: at most --haproxy.sni-limit series (+ the overflow
// ones), every connection counted once in the sum over all series, memory bounded.
TEST(Hostile, AHundredThousandSnisStayBoundedAndExact) {
  HF_REQUIRE(is_root(), "needs root: runs the exporter as nobody");
  TempDir d;
  sh_ok("chmod 0755 " + d.path());
  const std::string log = d.path() + "/haproxy.log";
  {
    std::ofstream out(log);
    for (int i = 0; i < 100000; i++)
      out << "127.0.0.1:" << 1024 + i % 60000
          << " [04/Dec/2026:13:00:00.000] fe be/srv 0/0/5 10 20 -- "
          << "1/1/0/0/0 0/0 tenant" << i << ".hostile.example\n";
  }
  sh_ok("chmod 0644 " + log);
  StackOptions o = in_netns("");
  for (const std::string& a :
       {std::string("--haproxy.log"), log, std::string("--haproxy.render-interval"),
        std::string("200ms"), std::string("--haproxy.sni-limit"), std::string("500")})
    o.exporter_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = wait_for_value(
      stack, "hostflow_haproxy_lines_total", [](double v) { return v == 100000; }, 30s);
  ASSERT_TRUE(e) << stack_logs(stack);
  const auto conns = e->family("hostflow_haproxy_sni_connections_total");
  double sum = 0, in = 0;
  for (const auto& [k, v] : conns) sum += v;
  for (const auto& [k, v] : e->family("hostflow_haproxy_sni_in_bytes_total")) in += v;
  EXPECT_LE(conns.size(), 500u + 3) << "one series per SNI past the limit";
  EXPECT_EQ(sum, 100000);
  EXPECT_EQ(in, 10.0 * 100000);
  std::ifstream st("/proc/" + std::to_string(stack.exporter().pid()) + "/status");
  for (std::string line; std::getline(st, line);) {
    if (line.rfind("VmHWM:", 0) == 0) {
      EXPECT_LT(std::stol(line.substr(6)), 400 * 1024) << line;
    }
  }
}

// LXC containers name their cgroups lxc.payload.<name>, and the name is the tenant's: quotes,
// backslashes, invalid UTF-8, U+2028, 200 bytes, and two names that sanitise alike. Each
// container's veth carries its own owner, every label is valid and capped, nothing duplicates.
TEST(Hostile, HostileLxcCgroupNamesGiveValidUniqueOwners) {
  HF_REQUIRE(is_root(), "needs root: network namespaces and cgroups");
  std::string hierarchy;
  for (const char* h : {"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (::access((std::string(h) + "/cgroup.procs").c_str(), W_OK) == 0) {
      hierarchy = h;
      break;
    }
  HF_REQUIRE(!hierarchy.empty(), "no writable cgroup hierarchy");
  const std::vector<std::string> names = {
      "q\"uote",  "back\\slash", "bad\xff\xfeutf8", "ls\xe2\x80\xa8sep", std::string(200, 'L'),
      "twin\xff", "twin\xfe"};
  Netns host("hfhh");
  quiet_netns(host);
  std::vector<std::unique_ptr<Netns>> cts;
  std::vector<Process> procs;
  std::vector<std::string> cgdirs;
  struct Cleanup {
    std::vector<Process>* procs;
    std::vector<std::string>* dirs;
    ~Cleanup() {
      procs->clear();  // killed and reaped
      for (const auto& dir : *dirs) ::rmdir(dir.c_str());
    }
  } cleanup{&procs, &cgdirs};
  TempDir logs;
  for (std::size_t i = 0; i < names.size(); i++) {
    cts.push_back(std::make_unique<Netns>("hfhc"));
    const std::string veth = "hfhv" + std::to_string(::getpid() % 10000) + "x" + std::to_string(i);
    sh_ok("ip link add " + veth + " netns " + host.name() + " type veth peer name eth0 netns " +
          cts.back()->name());
    sh_ok("ip -n " + host.name() + " link set " + veth + " up && ip -n " + cts.back()->name() +
          " link set eth0 up");
    const std::string dir =
        hierarchy + "/lxc.payload." + names[i] + "." + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir << ": " << std::strerror(errno);
    cgdirs.push_back(dir);
    procs.emplace_back(
        std::vector<std::string>{"ip", "netns", "exec", cts.back()->name(), "sleep", "600"},
        logs.path() + "/p" + std::to_string(i));
    ASSERT_TRUE(wait_until(
        [&] {
          return std::ifstream("/proc/" + std::to_string(procs.back().pid()) + "/comm").good();
        },
        5s));
    std::this_thread::sleep_for(100ms);  // ip netns exec has exec'd sleep (same pid)
    std::ofstream(dir + "/cgroup.procs") << procs.back().pid();
  }
  Stack stack(in_netns(host.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  std::optional<Exposition> e;
  std::set<std::string> owners;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        owners.clear();
        for (const auto& [k, v] : e->family("hostflow_interface_info")) {
          auto l = series_labels(k);
          if (l["interface"].rfind("hfhv", 0) == 0 && l["owner_type"] == "container")
            owners.insert(l["owner"]);
        }
        return owners.size() == names.size();
      },
      20s))
      << owners.size() << " container owners" << stack_logs(stack);
  EXPECT_TRUE(stack.exporter().running()) << stack_logs(stack);
}

// 2,000 corrupted copies of a real segment (written by the real sampler from a topology with a
// veth pair, a bridge and an ifb), each put in place the way the sampler does (rename), read by
// the exporter's own pipeline (the code of the binary, in this process so it takes seconds):
// never a crash (ASan/UBSan), every rendered exposition passes the invariants, and both outcomes
// happen (corruptions that validation refuses, and ones it accepts and must render safely).
TEST(Hostile, TwoThousandCorruptedSegmentsNeverBreakTheExportersPipeline) {
  HF_REQUIRE(is_root(), "needs root: the sampler reads a topology in a network namespace");
  std::string base;
  {
    Topology t;
    Stack stack(in_netns(t.ns.name()));
    stack.start_sampler();
    stack.start_exporter();
    ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
    ASSERT_TRUE(scrape_after_now(stack)) << stack_logs(stack);
    base = read_file(stack.segment());
  }
  ASSERT_GT(base.size(), 4096u);
  TempDir d;
  const std::string seg = d.path() + "/segment";
  auto put = [&](const std::string& bytes) {
    std::ofstream(seg + ".tmp", std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::filesystem::rename(seg + ".tmp", seg);
  };
  put(base);
  exporter::ExporterConfig cfg;
  cfg.core.segment = seg;
  cfg.core.state_dir = d.path();
  cfg.core.stale_intervals =
      1e12;  // the copy's publish time is old: keep it "fresh" so all is rendered
  ASSERT_TRUE(exporter::validate(cfg).ok());
  exporter::Pipeline pipeline(cfg, *hostflow::read_boot_id("/proc"));
  ASSERT_TRUE(pipeline.open().ok());
  pipeline.poll_once();
  ASSERT_TRUE(pipeline.current()->fresh) << pipeline.current()->not_ready_reason;
  check_exposition_invariants(pipeline.current()->exposition->text(), "the uncorrupted segment");
  const auto baseline = parse_exposition(pipeline.current()->exposition->text());
  ASSERT_FALSE(baseline.family("hostflow_interface_receive_bytes_total").empty());

  std::mt19937_64 rng(20261204);
  std::size_t rendered = 0, refused = 0;
  // Where corruption hurts most: the file header, the slot headers and section directories, the
  // records; anywhere at all; and extreme values in aligned words (sizes, offsets, counts).
  const std::size_t slot0 = 4096;
  for (int i = 0; i < 2000; i++) {
    std::string b = base;
    const int kind = i % 5;
    const int n = 1 + static_cast<int>(rng() % 16);
    for (int k = 0; k < n; k++) {
      std::size_t at;
      switch (kind) {
        case 0:
          at = rng() % 4096;
          break;  // header
        case 1:
          at = slot0 + rng() % 1024;
          break;  // slot 0 head
        case 2:
          at = (b.size() + slot0) / 2 + rng() % 1024;
          break;  // slot 1 head
        default:
          at = rng() % b.size();
          break;  // anywhere
      }
      at = std::min(at, b.size() - 1);
      if (kind == 4) {
        at &= ~std::size_t{7};
        const std::uint64_t vals[] = {
            0, ~0ull, 1ull << 63, b.size(), b.size() + 8, 0xffffffffull, rng()};
        std::uint64_t v = vals[rng() % 7];
        if (at + 8 <= b.size()) std::memcpy(&b[at], &v, 8);
      } else {
        b[at] = static_cast<char>(rng());
      }
    }
    if (i % 97 == 0) b.resize(rng() % b.size());  // and truncated files
    put(b);
    pipeline.poll_once();
    const auto cur = pipeline.current();
    if (cur->fresh)
      rendered++;
    else
      refused++;
    // promtool on every 50th (it takes 65 ms); the in-process checks on all of them.
    check_exposition_invariants(cur->exposition->text(), "corruption " + std::to_string(i),
                                i % 50 == 0);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(rendered, 100u) << "too few corruptions got past validation to exercise rendering";
  EXPECT_GT(refused, 100u) << "too few corruptions were refused";
}

}  // namespace
}  // namespace hostflow::test
