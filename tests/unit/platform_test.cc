// The platform source's pure parsers (sampler/sources/platform.h) over real captures of this
// machine's files (tests/fixtures/proc/platform), its filters, and "where am I"
// (exporter/areas/platform/platform_detect.h) over one fixture root per kind
// (tests/fixtures/platform/<kind>/{proc,root}), collected by the real source as --path.procfs and
// --path.rootfs would point it there.
#include <gtest/gtest.h>

#include <filesystem>

#include "areas/platform/platform_detect.h"
#include "areas/platform/platform_model.h"
#include "hostflow/shm/builder.h"
#include "identity/pve_config.h"
#include "outputs/prometheus_text.h"
#include "snapshot_builders.h"
#include "sources/platform.h"
#include "support.h"

namespace hostflow {
namespace {

namespace fs = std::filesystem;
using sampler::MountEntry;
using sampler::PlatformOptions;

const fs::path kFixtures = HOSTFLOW_FIXTURES_DIR;

PlatformOptions validated(PlatformOptions o = {}) {
  auto r = sampler::validate(o);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return o;
}

TEST(PlatformParsers, MeminfoOfThisMachineIsReadInBytes) {
  const std::string text = test::read_file(kFixtures / "proc/platform/meminfo");
  const auto m = sampler::parse_meminfo(text);
  ASSERT_TRUE(m.total && m.free && m.available && m.cached && m.swap_total);
  // The same line read here with sscanf.
  unsigned long long kb = 0;
  ASSERT_EQ(std::sscanf(text.c_str(), "MemTotal: %llu kB", &kb), 1);
  EXPECT_EQ(*m.total, kb * 1024);
  EXPECT_LE(*m.available, *m.total);
}

TEST(PlatformParsers, MeminfoWithoutMemAvailableOrWithJunkLeavesThoseFieldsUnset) {
  const auto m = sampler::parse_meminfo("MemTotal: 100 kB\nMemFree: x kB\nBogus\nCached:\n");
  EXPECT_EQ(m.total, 100u * 1024);
  EXPECT_FALSE(m.free);
  EXPECT_FALSE(m.available);
  EXPECT_FALSE(m.cached);
  EXPECT_EQ(sampler::parse_meminfo("MemTotal: 18446744073709551615 kB\n").total, UINT64_MAX);
}

TEST(PlatformParsers, ProcStatCpuLineHasTenModesAndOlderKernelsFewer) {
  const auto t = sampler::parse_proc_stat_cpu(test::read_file(kFixtures / "proc/platform/stat"));
  ASSERT_TRUE(t);
  EXPECT_GT((*t)[3], 0u);  // idle
  const auto old = sampler::parse_proc_stat_cpu("cpu  1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(old);
  EXPECT_EQ((*old)[2], 3u);
  EXPECT_EQ((*old)[4], 0u);
  EXPECT_FALSE(sampler::parse_proc_stat_cpu("cpu0 1 2 3\nintr 5\n"));
  EXPECT_FALSE(sampler::parse_proc_stat_cpu("cpu 1 -2 3\n"));
}

TEST(PlatformParsers, MountinfoFieldsOptionalTagsAndEscapes) {
  const auto m = sampler::parse_mountinfo(
      "47 28 254:2 / /srv/data\\040disk rw,relatime shared:33 master:2 - xfs /dev/vg0-data rw\n"
      "48 28 254:2 /exports /var/exports ro,relatime - xfs /dev/vg0-data rw\n"
      "garbage line\n"
      "49 28 x:1 / /bad rw - ext4 /dev/x rw\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mountpoint, "/srv/data disk");
  EXPECT_EQ(m[0].major, 254u);
  EXPECT_EQ(m[0].minor, 2u);
  EXPECT_EQ(m[0].fstype, "xfs");
  EXPECT_EQ(m[0].source, "/dev/vg0-data");
  EXPECT_FALSE(m[0].read_only);
  EXPECT_EQ(m[1].root, "/exports");
  EXPECT_TRUE(m[1].read_only);
  EXPECT_EQ(sampler::unescape_mount_field("a\\134b\\011\\0"), "a\\b\t\\0");
}

TEST(PlatformParsers, EnvironValueFindsOnlyTheWholeKey) {
  const std::string env("containerx=no\0container=lxc\0PATH=/bin\0", 39);
  EXPECT_EQ(sampler::environ_value(env, "container"), "lxc");
  EXPECT_FALSE(sampler::environ_value(std::string("PATH=/bin\0", 10), "container"));
}

TEST(PlatformFilesystems, PseudoNetworkAndBindMountsAreLeftOutByDefault) {
  const auto mounts =
      sampler::parse_mountinfo(test::read_file(kFixtures / "platform/plain/proc/1/mountinfo"));
  const auto opts = validated();
  std::vector<std::string> chosen;
  for (std::size_t i : sampler::select_filesystems(mounts, opts))
    chosen.push_back(mounts[i].mountpoint);
  // /sys, /proc, /dev... by mount point; securityfs, cgroup2, nfs4 by type; /var/exports is a
  // second mount of 254:2.
  EXPECT_EQ(chosen,
            (std::vector<std::string>{"/run", "/", "/boot", "/srv/data disk", "/run/user/1000"}));
  PlatformOptions o;
  o.bind_mounts = true;
  o.mount_points_include = "^/(srv|var)";
  o.fs_types_include = "^xfs$";
  o = validated(o);
  chosen.clear();
  for (std::size_t i : sampler::select_filesystems(mounts, o))
    chosen.push_back(mounts[i].mountpoint);
  EXPECT_EQ(chosen, (std::vector<std::string>{"/srv/data disk", "/var/exports"}));
}

TEST(PlatformFlags, UnknownCollectorsAndBadPatternsAreStartupErrorsNamingTheFlag) {
  PlatformOptions o;
  o.collectors = {"cpu", "disk"};
  auto r = sampler::validate(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--platform.collectors"), std::string::npos);
  PlatformOptions p;
  p.fs_types_exclude = "(";
  r = sampler::validate(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--platform.filesystem.fs-types-exclude"), std::string::npos);
}

// ---- detection ----

struct Collected {
  std::optional<shm::Snapshot> snap;
  shm::PlatformRecord rec{};
  exporter::PlatformKind kind;
};

Collected collect_root(const std::string& kind) {
  Collected c;
  sampler::SamplerPaths paths;
  paths.procfs = (kFixtures / "platform" / kind / "proc").string();
  paths.rootfs = (kFixtures / "platform" / kind / "root").string();
  paths.sysfs = (kFixtures / "platform" / kind / "sys").string();
  auto src = sampler::make_platform_source(validated());
  auto o = src->open(paths);
  EXPECT_TRUE(o.ok()) << o.error().message();
  shm::SnapshotBuilder b;
  auto n = src->collect(b);
  EXPECT_TRUE(n.ok()) << n.error().message();
  c.snap = test::read_back(b);
  if (!c.snap || c.snap->count<shm::PlatformRecord>() != 1) return c;
  c.rec = c.snap->record<shm::PlatformRecord>(0);
  exporter::PlatformFactsView v;
  v.facts = c.rec.facts;
  v.container_manager = c.snap->str(c.rec.container_manager).value_or("");
  v.systemd_container = c.snap->str(c.rec.systemd_container).value_or("");
  v.pid1_container = c.snap->str(c.rec.pid1_container).value_or("");
  v.osrelease = c.snap->str(c.rec.osrelease).value_or("");
  c.kind = exporter::classify_platform(v);
  return c;
}

TEST(PlatformDetection, EachFixtureRootIsTheKindItModels) {
  struct Want {
    const char* root;
    const char* kind;
    const char* virt;
  };
  for (const Want& w :
       {Want{"plain", "host", "none"}, Want{"proxmox", "proxmox", "none"},
        Want{"lxc_guest", "lxc_guest", "lxc"}, Want{"docker", "container", "docker"}}) {
    SCOPED_TRACE(w.root);
    const Collected c = collect_root(w.root);
    EXPECT_EQ(c.kind.kind, w.kind);
    EXPECT_EQ(c.kind.virtualization, w.virt);
    EXPECT_EQ(c.rec.processes, 4u);  // 1, 100, 200, 201
  }
}

TEST(PlatformDetection, OnlyContainerLeavesPid1sEnvironment) {
  const Collected c = collect_root("lxc_guest");
  ASSERT_TRUE(c.snap);
  const auto* arena = c.snap->section(shm::SectionType::kArena);
  ASSERT_NE(arena, nullptr);
  // Nothing else of the environment (PATH=..., container_ttys=...) is in the snapshot.
  const std::string bytes(*c.snap->str({0, arena->count}));
  EXPECT_EQ(bytes.find("/usr/local/sbin"), std::string::npos);
  EXPECT_EQ(bytes.find("tty1"), std::string::npos);
}

TEST(PlatformDetection, LxcGuestSeesItsOwnLxcfsMemory) {
  const Collected c = collect_root("lxc_guest");
  EXPECT_EQ(c.rec.mem_total, 2097152ull * 1024);
  EXPECT_EQ(c.rec.mem_available, 1990656ull * 1024);
  EXPECT_EQ(c.rec.cpu_ticks[0], 12034u);
  EXPECT_TRUE(c.rec.collected & shm::kPlatformMemAvailable);
}

TEST(PlatformDetection, SystemdOrderDecidesBetweenConflictingFacts) {
  using exporter::classify_platform;
  exporter::PlatformFactsView v;
  // /.dockerenv in an image that runs under LXC: the manager's word wins (files come last).
  v.facts = shm::kPlatformDockerenv | shm::kPlatformPid1Container;
  v.pid1_container = "lxc";
  EXPECT_EQ(classify_platform(v).kind, "lxc_guest");
  // /run/systemd/container before PID 1's environment; oci resolved by the files.
  v.systemd_container = "oci\n";
  EXPECT_EQ(classify_platform(v).virtualization, "docker");
  v.systemd_container = "something-new";
  EXPECT_EQ(classify_platform(v).virtualization, "container-other");
  // OpenVZ inside (vz without bc) before everything; outside (both) it is a host.
  exporter::PlatformFactsView ovz;
  ovz.facts = shm::kPlatformProcVz;
  EXPECT_EQ(classify_platform(ovz).virtualization, "openvz");
  ovz.facts |= shm::kPlatformProcBc;
  EXPECT_EQ(classify_platform(ovz).kind, "host");
  exporter::PlatformFactsView wsl;
  wsl.osrelease = "5.15.153.1-microsoft-standard-WSL2";
  EXPECT_EQ(classify_platform(wsl).virtualization, "wsl");
  // Proxmox needs both the pmxcfs mount and pveversion.
  exporter::PlatformFactsView pve;
  pve.facts = shm::kPlatformPveVersion;
  EXPECT_EQ(classify_platform(pve).kind, "host");
  pve.facts |= shm::kPlatformPveMount;
  EXPECT_EQ(classify_platform(pve).kind, "proxmox");
}

// ---- LXC containers: cgroup v2 (Proxmox's) from the fixture tree ----

TEST(PlatformContainers, ProxmoxV2FiguresAreTheCgroupFilesAndTheNameIsTheConfigsHostname) {
  const Collected c = collect_root("proxmox");
  ASSERT_TRUE(c.snap);
  const auto m = exporter::build_platform_model(*c.snap);
  ASSERT_TRUE(m.has_containers);
  ASSERT_EQ(m.containers.size(), 2u);
  const auto& ct = m.containers[0];
  EXPECT_EQ(ct.id, "101");
  EXPECT_EQ(ct.name, "web-frontend");  // not the snapshot's web-old
  const auto& r = ct.rec;
  EXPECT_TRUE(r.flags & shm::kCtProxmox);
  EXPECT_TRUE(r.flags & shm::kCtCgroupV2);
  EXPECT_EQ(r.memory_usage, 536870912u);  // memory.current
  EXPECT_EQ(r.memory_cache, 184549376u);  // memory.stat file
  EXPECT_EQ(r.memory_limit, 2147483648u);
  EXPECT_EQ(r.swap_usage, 4194304u);
  EXPECT_EQ(r.cpu_usage_ns, 734512345000u);
  EXPECT_EQ(r.pids_current, 23u);
  EXPECT_EQ(r.init_pid, 4242);                // lxc/101/ns/init.scope: LXC nests the payload
  EXPECT_FALSE(r.flags & shm::kCtHasRootfs);  // no /proc/4242 in the fixture
  const auto& web = m.containers[1];
  EXPECT_EQ(web.id, "web1");
  EXPECT_EQ(web.name, "web1");
  EXPECT_FALSE(web.rec.flags & shm::kCtProxmox);
  EXPECT_FALSE(web.rec.flags & shm::kCtHasLimit);  // memory.max "max"
  // Rendered: used = current - file.
  exporter::metrics::FamilySet fams;
  exporter::platform_families(m, &fams);
  const std::string text = exporter::prometheus_text(fams);
  EXPECT_NE(text.find("hostflow_platform_container_memory_used_bytes{container_id=\"101\","
                      "name=\"web-frontend\"} 352321536"),
            std::string::npos)
      << text;
}

TEST(PlatformContainers, PveHostnameIsTheCurrentConfigsTrimmedAndBounded) {
  using exporter::parse_pve_hostname;
  EXPECT_EQ(parse_pve_hostname("arch: amd64\nhostname:  ct-a \r\n"), "ct-a");
  EXPECT_EQ(parse_pve_hostname("[snap]\nhostname: old\n"), "");
  EXPECT_EQ(parse_pve_hostname("hostnamex: no\n"), "");
  EXPECT_EQ(parse_pve_hostname("hostname: " + std::string(400, 'a')).size(), 253u);
}

}  // namespace
}  // namespace hostflow
