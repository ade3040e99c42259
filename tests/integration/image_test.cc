// The container image (issue 17): deploy/image/build.sh builds it from this build's binaries and
// a private dockerd imports it; the sampler and the exporter then run as two containers of it the
// way the DaemonSet's pod runs them — one network namespace, the segment directory a tmpfs volume
// shared between them (read-only in the exporter), read-only root filesystems, the exporter as
// the image's non-root user with no capability, the sampler with only its sources' capabilities,
// both under their own seccomp filters in kill mode. The exporter's /metrics is compared with the
// kernel's counters of that namespace (`ip -s link` in it) and the confinement with /proc.
// Label `image`.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <set>
#include <sstream>

#include "docker_lab.h"
#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// The sampler container's capabilities: the systemd unit's CapabilityBoundingSet= without
// CAP_BPF, which Docker 20.10 does not know (so no --source.bpf here; the DaemonSet adds it), and
// CAP_SETPCAP, which the sampler needs for its own drop (a runtime sets no securebits) and
// then sheds.
const char* const kSamplerCaps[] = {"SETPCAP", "DAC_READ_SEARCH", "NET_ADMIN", "SYS_PTRACE"};
// What it keeps after the drop: CAP_DAC_READ_SEARCH (2), CAP_NET_ADMIN (12), CAP_SYS_PTRACE (19).
constexpr const char* kSamplerKept = "0000000000081004";
constexpr const char* kHostflowId = "9471";  // the image's hostflow user and group

// "Key:\tvalue" of /proc/PID/status.
std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

TEST(Image, SamplerAndExporterRunAsTwoConfinedContainersOfOneImageAndServeTheKernelsCounters) {
  HF_REQUIRE(is_root(), "needs root: runs dockerd");
  HF_REQUIRE(have_command("dockerd") && have_command("docker"),
             "docker.io (dockerd + docker) is not installed");
  HF_REQUIRE(have_command("python3") && have_command("objcopy"), "python3 and objcopy are needed");
  const auto t0 = std::chrono::steady_clock::now();
  Dockerd d;
  // The test's own bridge sends nothing on its own: no IPv6 (router solicitations, MLD).
  sh_ok("sysctl -qw net.ipv6.conf." + d.bridge() + ".disable_ipv6=1");
  const std::string docker = d.docker();
  const std::string tag = "hostflow-test:" + std::to_string(::getpid());
  const RunResult build = sh("DOCKER='" + docker + "' " HOSTFLOW_IMAGE_BUILD " --build-dir " +
                                 HOSTFLOW_BUILD_DIR " --strip-debug --tag " + tag,
                             std::chrono::seconds(120));
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;

  const std::string volume = unique_name("hfseg", 40);
  sh_ok(docker + " volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt " +
        "o=size=16m,mode=0750,uid=0,gid=" + kHostflowId + " " + volume + " >/dev/null");
  std::string seccomp;
  for (const auto& a : seccomp_args()) seccomp += " " + a;
  std::string caps;
  for (const char* c : kSamplerCaps) caps += std::string(" --cap-add ") + c;
  const std::string sampler = unique_name("hfsampler", 40), exporter = unique_name("hfexp", 40);
  sh_ok(docker + " run -d --name " + sampler + " --user 0:" + kHostflowId + " --cap-drop ALL" +
        caps +
        " --read-only --sysctl net.ipv6.conf.all.disable_ipv6=1"
        " --sysctl net.ipv6.conf.default.disable_ipv6=1 -v " +
        volume + ":/run/hostflow --entrypoint /usr/sbin/hostflow-sampler " + tag +
        " --segment=/run/hostflow/segment --segment.group=hostflow --interval=500ms"
        " --no-source.libvirt --no-source.docker" +
        seccomp + " >/dev/null");
  // The image's default user and entry point: the exporter.
  sh_ok(docker + " run -d --name " + exporter + " --network container:" + sampler +
        " --cap-drop ALL --read-only --security-opt no-new-privileges -v " + volume +
        ":/run/hostflow:ro " + tag + " --segment=/run/hostflow/segment" + seccomp + " >/dev/null");
  const auto logs = [&] {
    return "sampler:\n" + sh(docker + " logs " + sampler + " 2>&1").out + "exporter:\n" +
           sh(docker + " logs " + exporter + " 2>&1").out;
  };
  const nlohmann::json si = d.inspect(sampler), ei = d.inspect(exporter);
  const pid_t spid = si["State"].value("Pid", 0), epid = ei["State"].value("Pid", 0);
  const std::string ip = si["NetworkSettings"].value("IPAddress", "");
  ASSERT_TRUE(spid > 0 && epid > 0 && !ip.empty()) << logs();
  const std::string base = "http://" + ip + ":9471";

  // The pod's network namespace, named so `ip -n` reads the kernel's view of it.
  const std::string netns = unique_name("hfimg", 40);
  sh_ok("ip netns attach " + netns + " " + std::to_string(spid));
  struct Detach {
    std::string n;
    ~Detach() { sh("ip netns delete " + n); }
  } detach{netns};

  const auto fresh_after = [&](double t) {
    std::optional<Exposition> got;
    wait_until(
        [&] {
          Exposition e = parse_exposition(http_get(base + "/metrics").body);
          auto up = e.get("hostflow_sampler_up");
          auto ts = e.get("hostflow_snapshot_timestamp_seconds");
          if (up && *up == 1 && ts && *ts > t) got = std::move(e);
          return got.has_value();
        },
        std::chrono::seconds(20));
    return got;
  };
  ASSERT_TRUE(fresh_after(0).has_value()) << logs();
  EXPECT_EQ(http_get(base + "/-/ready").status, 200);
  EXPECT_EQ(http_get(base + "/-/healthy").status, 200);

  // Traffic into the pod, then the kernel's counters bracket the exporter's: every scrape moves
  // eth0's (it is the path the scrape takes), so the served snapshot, taken between the two
  // kernel reads, lies between them.
  const RunResult ping =
      run({"ping", "-n", "-q", "-c", "20", "-i", "0.01", "-W", "2", ip}, std::chrono::seconds(30));
  ASSERT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  const KernelLinks before = kernel_links(netns);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::optional<Exposition> e = fresh_after(now);
  ASSERT_TRUE(e.has_value()) << "no snapshot after the traffic\n" << logs();
  const KernelLinks after = kernel_links(netns);
  const ExportedLinks exported = exported_links(*e);
  std::set<std::string> knames, enames;
  for (const auto& [n, _] : after) knames.insert(n);
  for (const auto& [n, _] : exported) enames.insert(n);
  EXPECT_EQ(enames, knames) << "the exporter's interfaces are not the pod netns's";
  EXPECT_TRUE(knames.count("eth0") && knames.count("lo"));
  for (const auto& [name, k] : after) {
    SCOPED_TRACE("interface " + name);
    auto it = exported.find(name);
    if (it == exported.end() || !before.count(name)) continue;
    const ExportedLink& x = it->second;
    ASSERT_FALSE(x.info.empty());
    EXPECT_EQ(x.info.at("kind"), k.kind);
    EXPECT_EQ(x.info.at("mac"), k.mac);
    EXPECT_EQ(x.info.at("ifindex"), std::to_string(k.ifindex));
    for (const auto& [metric, hi] : k.counters) {
      const auto c = x.counters.find(metric);
      ASSERT_NE(c, x.counters.end()) << metric;
      EXPECT_GE(static_cast<std::uint64_t>(c->second), before.at(name).counters.at(metric))
          << metric;
      EXPECT_LE(static_cast<std::uint64_t>(c->second), hi) << metric;
    }
  }
  EXPECT_GE(before.at("eth0").counters.at("hostflow_interface_receive_packets_total"), 20u);

  // Confinement, as the kernel reports it.
  for (const char* f : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(status_field(epid, f), "0000000000000000") << "exporter " << f;
  EXPECT_EQ(status_field(epid, "Uid"), std::string(kHostflowId) + "\t" + kHostflowId + "\t" +
                                           kHostflowId + "\t" + kHostflowId);
  EXPECT_EQ(status_field(epid, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(epid, "Seccomp"), "2") << "exporter: no seccomp filter";
  for (const char* f : {"CapPrm", "CapEff", "CapBnd"})
    EXPECT_EQ(status_field(spid, f), kSamplerKept) << "sampler " << f << " (SETPCAP shed?)";
  EXPECT_EQ(status_field(spid, "Seccomp"), "2") << "sampler: no seccomp filter";
  EXPECT_EQ(status_field(spid, "Gid"), std::string(kHostflowId) + "\t" + kHostflowId + "\t" +
                                           kHostflowId + "\t" + kHostflowId);
  EXPECT_TRUE(ei["HostConfig"].value("ReadonlyRootfs", false));
  EXPECT_TRUE(si["HostConfig"].value("ReadonlyRootfs", false));
  for (const auto& m : ei["Mounts"]) {
    if (m.value("Destination", "") == "/run/hostflow") {
      EXPECT_FALSE(m.value("RW", true)) << "the exporter's segment mount is writable";
    }
  }
  // The segment the exporter maps is the sampler's file in the shared volume: root:hostflow 0640.
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(spid) + "/root/run/hostflow/segment").c_str(), &st),
            0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(std::to_string(st.st_gid), kHostflowId);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  // Both still running: nothing was killed by its seccomp filter.
  EXPECT_EQ(d.inspect(sampler)["State"].value("Status", ""), "running") << logs();
  EXPECT_EQ(d.inspect(exporter)["State"].value("Status", ""), "running") << logs();
  std::cout << "image: test took "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";
}

}  // namespace
}  // namespace hostflow::test
