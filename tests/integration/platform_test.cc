// Issue 15 (platform): the real sampler and exporter, under seccomp kill mode, against what the
// test reads itself: /proc/meminfo and /proc/stat, `df -B1` of the same mount points (a tmpfs
// and a bind mount the test makes), a count of /proc/[0-9]*, and `systemd-detect-virt
// --container` for where this machine runs. Then one fixture root per kind (plain host,
// Proxmox, LXC guest, Docker; tests/fixtures/platform/<kind>) through --path.procfs and
// --path.rootfs.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

namespace fs = std::filesystem;

// MemTotal etc. of /proc/meminfo, in bytes.
std::map<std::string, double> meminfo(const std::string& path = "/proc/meminfo") {
  std::map<std::string, double> out;
  std::istringstream in(read_file(path));
  std::string key, unit;
  double v = 0;
  while (in >> key >> v) {
    std::getline(in, unit);
    key.pop_back();  // ':'
    out[key] = unit.find("kB") != std::string::npos ? v * 1024 : v;
  }
  return out;
}

// The "cpu" line of /proc/stat: user ticks.
double cpu_user_ticks() {
  std::istringstream in(read_file("/proc/stat"));
  std::string cpu;
  double user = 0;
  in >> cpu >> user;
  return user;
}

std::size_t count_pids() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc");
  while (const dirent* e = ::readdir(d)) n += (e->d_name[0] >= '1' && e->d_name[0] <= '9');
  ::closedir(d);
  return n;
}

// `df -B1` of one mount point: size, used, avail.
struct Df {
  double size = -1, used = -1, avail = -1;
};
Df df(const std::string& mountpoint) {
  Df d;
  std::istringstream in(sh_ok("df -B1 --output=size,used,avail '" + mountpoint + "' | tail -n 1"));
  in >> d.size >> d.used >> d.avail;
  return d;
}

std::optional<double> fs_value(const Exposition& e, const std::string& metric,
                               const std::string& mountpoint) {
  return value_where(e, "hostflow_platform_filesystem_" + metric, "mountpoint", mountpoint);
}

TEST(Platform, HostMemoryCpuProcessesAndFilesystemsEqualWhatTheKernelSays) {
  HF_REQUIRE(is_root(), "needs root: mounts");
  HF_REQUIRE(have_command("df") && have_command("findmnt"), "df/findmnt not installed");
  // A tmpfs of a known size (nothing writes to it: df's figures are exact) and a bind mount of
  // it elsewhere (same device: left out by default).
  TempDir dir;
  const std::string tmpfs = dir.path() + "/hf15 tmp", bind = dir.path() + "/hf15bind";
  fs::create_directories(tmpfs);
  fs::create_directories(bind);
  sh_ok("mount -t tmpfs -o size=12m hf15tmpfs '" + tmpfs + "' && mount --bind '" + tmpfs + "' '" +
        bind + "'");
  struct Unmount {
    std::string a, b;
    ~Unmount() { sh("umount '" + b + "'; umount '" + a + "'"); }
  } unmount{tmpfs, bind};
  HF_REQUIRE(sh("findmnt --task 1 -rn '" + tmpfs + "'").exit_code == 0,
             "PID 1 is in another mount namespace: its mountinfo does not show the test's mounts");

  StackOptions o;
  o.sampler_args = seccomp_args();
  o.exporter_args = seccomp_args();
  Stack s(o);
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);

  const double user0 = cpu_user_ticks();
  const std::size_t pids0 = count_pids();
  const auto mem0 = meminfo();
  auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  const double user1 = cpu_user_ticks();
  const std::size_t pids1 = count_pids();
  const auto mem1 = meminfo();
  EXPECT_EQ(source_state(*e, "platform"), "ok");

  // Where: the same answer as systemd's own tool.
  const auto virt = sh("systemd-detect-virt --container");
  std::string want_virt = virt.out.substr(0, virt.out.find('\n'));
  const auto info = series_where(*e, "hostflow_platform_info", "virtualization", want_virt);
  EXPECT_FALSE(info.empty()) << "systemd-detect-virt --container says " << want_virt;
  if (!info.empty()) {
    EXPECT_EQ(info.at("kind"), want_virt == "none"  ? "host"
                               : want_virt == "lxc" ? "lxc_guest"
                                                    : "container");
  }

  // Memory: MemTotal exactly; the moving figures between the test's two reads (± 64 MiB).
  EXPECT_EQ(e->get("hostflow_platform_memory_total_bytes"), mem0.at("MemTotal"));
  EXPECT_EQ(e->get("hostflow_platform_swap_total_bytes"), mem0.at("SwapTotal"));
  const double slack = 64.0 * 1024 * 1024;
  for (const auto& [metric, key] : std::map<std::string, std::string>{
           {"hostflow_platform_memory_free_bytes", "MemFree"},
           {"hostflow_platform_memory_available_bytes", "MemAvailable"}}) {
    const auto v = e->get(metric);
    ASSERT_TRUE(v) << metric;
    EXPECT_GE(*v, std::min(mem0.at(key), mem1.at(key)) - slack) << metric;
    EXPECT_LE(*v, std::max(mem0.at(key), mem1.at(key)) + slack) << metric;
  }
  const auto used = e->get("hostflow_platform_memory_used_bytes");
  const auto avail = e->get("hostflow_platform_memory_available_bytes");
  ASSERT_TRUE(used && avail);
  EXPECT_EQ(*used, mem0.at("MemTotal") - *avail) << "used = MemTotal - MemAvailable";

  // CPU: the sampler's user seconds lie between the test's two reads of /proc/stat.
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto user = value_where(*e, "hostflow_platform_cpu_seconds_total", "mode", "user");
  ASSERT_TRUE(user);
  EXPECT_GE(*user, user0 / hz - 5.0);  // collected up to ~2 cycles before the first read
  EXPECT_LE(*user, user1 / hz);

  // Processes: /proc/[0-9]* counted here before and after (others start processes meanwhile).
  const auto procs = e->get("hostflow_platform_processes");
  ASSERT_TRUE(procs);
  EXPECT_GE(*procs, static_cast<double>(std::min(pids0, pids1)) - 20);
  EXPECT_LE(*procs, static_cast<double>(std::max(pids0, pids1)) + 20);

  // Filesystems: the tmpfs with df's exact figures; the bind mount of it left out; / as df says.
  EXPECT_EQ(fs_value(*e, "size_bytes", tmpfs), df(tmpfs).size);
  EXPECT_EQ(fs_value(*e, "avail_bytes", tmpfs), df(tmpfs).avail);
  EXPECT_EQ(fs_value(*e, "used_bytes", tmpfs), df(tmpfs).used);
  EXPECT_EQ(fs_value(*e, "free_bytes", tmpfs), df(tmpfs).avail);  // tmpfs reserves nothing
  const auto t = series_where(*e, "hostflow_platform_filesystem_size_bytes", "mountpoint", tmpfs);
  EXPECT_EQ(t.count("device") ? t.at("device") : "", "hf15tmpfs");
  EXPECT_EQ(t.count("fstype") ? t.at("fstype") : "", "tmpfs");
  EXPECT_FALSE(fs_value(*e, "size_bytes", bind)) << "a bind mount of a listed device";
  const Df root = df("/");
  EXPECT_EQ(fs_value(*e, "size_bytes", "/"), root.size);
  const auto root_avail = fs_value(*e, "avail_bytes", "/");
  ASSERT_TRUE(root_avail);
  EXPECT_NEAR(*root_avail, root.avail, 512.0 * 1024 * 1024) << "others write to / meanwhile";
  // Every exported filesystem is a mount findmnt shows for PID 1 with the same device and type,
  // and none is a pseudo filesystem.
  const std::string mounts = sh_ok("findmnt --task 1 -rn -o TARGET,FSTYPE,SOURCE");
  std::size_t listed = 0;
  for (const auto& [key, v] : e->family("hostflow_platform_filesystem_size_bytes")) {
    const auto l = series_labels(key);
    std::string target = l.at("mountpoint");
    for (std::size_t p; (p = target.find(' ')) != std::string::npos;)
      target.replace(p, 1, "\\x20");  // findmnt -r escapes spaces so
    EXPECT_NE(mounts.find(target + " " + l.at("fstype") + " " + l.at("device")), std::string::npos)
        << key;
    for (const char* pseudo : {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "nsfs", "devtmpfs"})
      EXPECT_NE(l.at("fstype"), pseudo) << key;
    listed++;
  }
  EXPECT_GE(listed, 2u);

  // A mount made while the sampler runs appears, and goes once unmounted: the sampler re-reads
  // PID 1's mountinfo only when a poll of it says the mount table changed.
  const std::string late = dir.path() + "/hf15late";
  fs::create_directories(late);
  sh_ok("mount -t tmpfs -o size=6m hf15late '" + late + "'");
  e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  EXPECT_EQ(fs_value(*e, "size_bytes", late), 6.0 * 1024 * 1024);
  sh_ok("umount '" + late + "'");
  e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  EXPECT_FALSE(fs_value(*e, "size_bytes", late));
}

// A copy of tests/fixtures/platform/<kind> with what the sampler needs of a procfs besides the
// fixture: the boot id (staleness) and a 1/ns/net that is the sampler's own (no setns).
std::string fixture_root(const TempDir& dir, const std::string& kind) {
  const std::string root = dir.path() + "/" + kind;
  fs::copy(fs::path(HOSTFLOW_FIXTURES_DIR) / "platform" / kind, root, fs::copy_options::recursive);
  fs::create_directories(root + "/proc/sys/kernel/random");
  // (procfs files say size 0: copied by reading, not with copy_file)
  std::ofstream(root + "/proc/sys/kernel/random/boot_id")
      << read_file("/proc/sys/kernel/random/boot_id");
  fs::create_directories(root + "/proc/1/ns");
  fs::create_symlink("/proc/self/ns/net", root + "/proc/1/ns/net");
  return root;
}

TEST(Platform, EachFixtureRootIsDetectedAsItsKindThroughThePathFlags) {
  HF_REQUIRE(is_root(), "needs root: the sampler's capabilities");
  struct Want {
    std::string root, kind, virt;
  };
  TempDir dir;
  for (const Want& w :
       {Want{"plain", "host", "none"}, Want{"proxmox", "proxmox", "none"},
        Want{"lxc_guest", "lxc_guest", "lxc"}, Want{"docker", "container", "docker"}}) {
    SCOPED_TRACE(w.root);
    const std::string root = fixture_root(dir, w.root);
    StackOptions o;
    o.sampler_args = {"--path.procfs=" + root + "/proc", "--path.rootfs=" + root + "/root"};
    for (const char* off : {"procs", "taps", "links", "addrs", "conntrack", "libvirt", "docker"})
      o.sampler_args.push_back(std::string("--no-source.") + off);
    for (const auto& a : seccomp_args()) o.sampler_args.push_back(a);
    o.exporter_args = seccomp_args();
    Stack s(o);
    s.start_sampler();
    s.start_exporter();
    ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
    const Exposition e = s.scrape();
    const auto info = series_where(e, "hostflow_platform_info", "kind", w.kind);
    ASSERT_FALSE(info.empty()) << stack_logs(s);
    EXPECT_EQ(info.at("virtualization"), w.virt);
    // The figures are the fixture's, not this machine's.
    const auto mem = meminfo(root + "/proc/meminfo");
    EXPECT_EQ(e.get("hostflow_platform_memory_total_bytes"), mem.at("MemTotal"));
    EXPECT_EQ(e.get("hostflow_platform_memory_used_bytes"),
              mem.at("MemTotal") - mem.at("MemAvailable"));
    EXPECT_EQ(e.get("hostflow_platform_processes"), 4);  // 1, 100, 200, 201
  }
}

// ---- Per LXC container (issue 15, item 3): real busybox containers on this hybrid-v1 host ----

// One busybox LXC container in its own lxcpath (offline template, no network). With `vmid`, it
// uses Proxmox's cgroup layout (lxc/<vmid>); else plain LXC's lxc.payload.<name>.
struct LxcContainer {
  std::string lxcpath, name, vmid;
  LxcContainer(const std::string& dir, std::string n, std::string id = "",
               const std::string& extra_conf = "")
      : lxcpath(dir), name(std::move(n)), vmid(std::move(id)) {
    // No network unless `extra_conf` gives it one.
    std::string conf = extra_conf.find("lxc.net.0.type") == std::string::npos
                           ? std::string("lxc.net.0.type = empty\n")
                           : std::string();
    conf += "lxc.apparmor.profile = unconfined\n" + extra_conf;
    if (!vmid.empty()) {
      conf += "lxc.cgroup.relative = 0\nlxc.cgroup.dir.container = lxc/" + vmid +
              "\nlxc.cgroup.dir.monitor = lxc.monitor/" + vmid + "\n";
    }
    std::ofstream(dir + "/" + name + ".conf") << conf;
    sh_ok("lxc-create -P '" + lxcpath + "' -t busybox -n " + name + " -f '" + dir + "/" + name +
          ".conf' >/dev/null 2>&1");
  }
  ~LxcContainer() {
    stop();
    sh("lxc-destroy -P '" + lxcpath + "' -n " + name + " >/dev/null 2>&1");
    // LXC leaves its (empty) cgroup directories in every hierarchy: ours, then the parents
    // when nobody else's are left in them.
    const std::string mine = vmid.empty() ? "" : " $c/lxc/" + vmid + " $c/lxc.monitor/" + vmid;
    sh("for c in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do rmdir" + mine +
       " 2>/dev/null; rmdir $c/lxc $c/lxc.monitor $c/lxc.pivot 2>/dev/null; done; true");
  }
  void start() { sh_ok("lxc-start -P '" + lxcpath + "' -n " + name + " -d"); }
  void stop() { sh("lxc-stop -P '" + lxcpath + "' -n " + name + " -k >/dev/null 2>&1"); }
  int pid() const {
    const auto r = sh("lxc-info -P '" + lxcpath + "' -n " + name + " -pH");
    return std::atoi(r.out.c_str());
  }
  std::string cg(const std::string& controller) const {
    return "/sys/fs/cgroup/" + controller + "/" +
           (vmid.empty() ? "lxc.payload." + name : "lxc/" + vmid);
  }
  std::string id() const { return vmid.empty() ? name : vmid; }
};

// Why this machine cannot run real LXC containers for these tests ("" when it can).
std::string lxc_missing() {
  if (!is_root()) return "needs root: LXC containers";
  if (!have_command("lxc-create") || !have_command("busybox"))
    return "lxc / busybox-static not installed (scripts/packages.txt)";
  if (!fs::exists("/sys/fs/cgroup/memory/memory.stat"))
    return "no cgroup v1 memory hierarchy (this test is the hybrid-v1 case; v2 is fixtures)";
  return "";
}

// Starts the containers and waits until each has an init pid.
bool start_all(std::initializer_list<LxcContainer*> cs) {
  for (LxcContainer* c : cs) c->start();
  return wait_until(
      [&] {
        for (LxcContainer* c : cs)
          if (c->pid() <= 0) return false;
        return true;
      },
      std::chrono::seconds(10));
}

// Both daemons under their seccomp filters (kill mode unless HOSTFLOW_TEST_SECCOMP says).
StackOptions kill_mode_stack() {
  StackOptions o;
  o.sampler_args = seccomp_args();
  o.exporter_args = seccomp_args();
  return o;
}

double file_number(const std::string& path) {
  return std::stod(read_file(path));
}
double stat_key(const std::string& path, const std::string& key) {
  std::istringstream in(read_file(path));
  std::string k;
  double v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return -1;
}

// The figures the exporter shows for `c` equal its cgroup files and `stat -f` of its init's root.
void expect_lxc_figures(const Exposition& e, const LxcContainer& c, Stack& s) {
  SCOPED_TRACE(c.name);
  const auto info = series_where(e, "hostflow_platform_container_info", "container_id", c.id());
  ASSERT_FALSE(info.empty()) << stack_logs(s);
  EXPECT_EQ(info.at("layout"), c.vmid.empty() ? "lxc" : "proxmox");
  EXPECT_EQ(info.at("cgroup"), "v1");
  // Proxmox layout without /etc/pve/lxc/<vmid>.conf: CT<vmid>.
  EXPECT_EQ(info.at("name"), c.vmid.empty() ? c.name : "CT" + c.vmid);
  auto v = [&](const std::string& m) {
    return value_where(e, "hostflow_platform_container_" + m, "container_id", c.id());
  };
  // An idle busybox: the cgroup files read now equal what the sampler read (± 1 MiB of
  // kernel bookkeeping).
  const double used = file_number(c.cg("memory") + "/memory.usage_in_bytes") -
                      stat_key(c.cg("memory") + "/memory.stat", "total_cache");
  ASSERT_TRUE(v("memory_used_bytes"));
  EXPECT_NEAR(*v("memory_used_bytes"), used, 1 << 20);
  EXPECT_EQ(v("processes"), file_number(c.cg("pids") + "/pids.current"));
  const double cpu = file_number(c.cg("cpuacct") + "/cpuacct.usage") / 1e9;
  ASSERT_TRUE(v("cpu_seconds_total"));
  EXPECT_LE(*v("cpu_seconds_total"), cpu);
  EXPECT_NEAR(*v("cpu_seconds_total"), cpu, 0.5);
  // Root filesystem: statfs of its init's root, as `stat -f` reports it.
  std::istringstream st(
      sh_ok("stat -f -c '%S %b %f %a' /proc/" + std::to_string(c.pid()) + "/root/"));
  double bs = 0, blocks = 0, bfree = 0, bavail = 0;
  st >> bs >> blocks >> bfree >> bavail;
  EXPECT_EQ(v("rootfs_size_bytes"), bs * blocks);
  ASSERT_TRUE(v("rootfs_avail_bytes"));
  EXPECT_NEAR(*v("rootfs_avail_bytes"), bs * bavail, 512.0 * 1024 * 1024);
}

TEST(Platform, LxcContainersFiguresEqualTheirCgroupFilesAndStatfsAndFollowStartStop) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  TempDir dir;
  const std::string tag = std::to_string(::getpid() % 100000);
  LxcContainer plain(dir.path(), "hf15p" + tag);
  LxcContainer pve(dir.path(), "hf15x" + tag, std::to_string(900000 + ::getpid() % 90000));
  ASSERT_TRUE(start_all({&plain, &pve}));

  StackOptions o = kill_mode_stack();
  Stack s(o);
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);

  for (const LxcContainer* c : {&plain, &pve}) expect_lxc_figures(*e, *c, s);

  // Stopped: its series go; started again: back.
  plain.stop();
  e = scrape_after_now(s);
  ASSERT_TRUE(e);
  EXPECT_TRUE(
      series_where(*e, "hostflow_platform_container_info", "container_id", plain.id()).empty());
  EXPECT_FALSE(
      series_where(*e, "hostflow_platform_container_info", "container_id", pve.id()).empty());
  plain.start();
  ASSERT_TRUE(wait_until([&] { return plain.pid() > 0; }, std::chrono::seconds(10)));
  // And the Proxmox one restarted at once (its cgroup removed and made again, likely within one
  // sampler cycle): the sampler keeps each container's cgroup files and init open between
  // cycles, and both must follow the new cgroup and the new init.
  const int old_pid = pve.pid();
  pve.stop();
  pve.start();
  ASSERT_TRUE(
      wait_until([&] { return pve.pid() > 0 && pve.pid() != old_pid; }, std::chrono::seconds(10)));
  e = scrape_after_now(s);
  ASSERT_TRUE(e);
  for (const LxcContainer* c : {&plain, &pve}) expect_lxc_figures(*e, *c, s);
}

// A Proxmox-layout container's cgroups made by the test (lxc/<vmid> in the memory, cpuacct and
// pids hierarchies, as bench/platform.sh makes them), removed on destruction; a process joins
// them by writing its pid to each `dirs` entry's cgroup.procs.
struct PveCgroups {
  explicit PveCgroups(const std::string& vmid) {
    const std::string cpu = fs::exists("/sys/fs/cgroup/cpuacct") ? "cpuacct" : "cpu,cpuacct";
    for (const std::string& h : {std::string("memory"), cpu, std::string("pids")})
      dirs.push_back("/sys/fs/cgroup/" + h + "/lxc/" + vmid);
    for (const std::string& d : dirs) fs::create_directories(d);
  }
  ~PveCgroups() {
    for (const std::string& d : dirs) sh("rmdir " + d + "; rmdir $(dirname " + d + ") 2>/dev/null");
  }
  PveCgroups(const PveCgroups&) = delete;
  PveCgroups& operator=(const PveCgroups&) = delete;
  std::vector<std::string> dirs;  // memory first
};

// A process in `cgroups` (its pid joins them, then stays the same) whose root is a tmpfs of `mib`
// MiB in a mount namespace of its own; returned once `stat -f` of its /proc/<pid>/root/ sees it.
Process start_tmpfs_init(const TempDir& dir, const PveCgroups& cgroups, int mib) {
  const std::string script = dir.path() + "/init.sh";
  if (!fs::exists(script))
    std::ofstream(script)
        << "mib=$1 root=$2; shift 2\n"
           "for c in \"$@\"; do echo $$ >\"$c/cgroup.procs\" || exit 1; done\n"
           "exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=\"$0\"m hf \"$1\" "
           "&& cp \"$(command -v busybox)\" \"$1/\" && exec chroot \"$1\" /busybox sleep 600' "
           "\"$mib\" \"$root\"\n";
  const std::string root = dir.path() + "/root" + std::to_string(mib);
  fs::create_directories(root);
  std::vector<std::string> argv = {"sh", script, std::to_string(mib), root};
  argv.insert(argv.end(), cgroups.dirs.begin(), cgroups.dirs.end());
  Process p(argv, dir.path() + "/init" + std::to_string(mib) + ".log");
  const std::string want = std::to_string(mib * 256) + " 4096";
  EXPECT_TRUE(wait_until(
      [&] {
        return sh("stat -f -c '%b %S' /proc/" + std::to_string(p.pid()) + "/root/").out ==
               want + "\n";
      },
      std::chrono::seconds(10)))
      << p.log();
  return p;
}

// A container whose init is replaced inside the same cgroup, which is not removed (so only the
// old init's end says so): the root filesystem figures follow the new init. Two processes in
// turn, each with a mount namespace of its own whose root is a tmpfs of its own size (8, then 16
// MiB), in a Proxmox-layout cgroup made here. The sampler keeps the init it found between cycles
// (sources/platform.cc): a cache that outlived its process would show no root filesystem or
// the old size.
TEST(Platform, AContainersInitReplacedInTheSameCgroupIsFollowedToTheNewInitsRoot) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  HF_REQUIRE(have_command("unshare") && have_command("chroot"), "needs unshare and chroot");
  TempDir dir;
  const std::string vmid = std::to_string(800000 + ::getpid() % 90000);
  const PveCgroups cgroups(vmid);
  Stack s(kill_mode_stack());
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  auto rootfs = [&]() -> std::optional<double> {
    const auto e = scrape_after_now(s);
    if (!e) return std::nullopt;
    return value_where(*e, "hostflow_platform_container_rootfs_size_bytes", "container_id", vmid);
  };
  Process first = start_tmpfs_init(dir, cgroups, 8);
  EXPECT_EQ(rootfs(), 8.0 * 1024 * 1024) << stack_logs(s);
  first.kill_and_wait();
  Process second = start_tmpfs_init(dir, cgroups, 16);
  EXPECT_EQ(rootfs(), 16.0 * 1024 * 1024) << stack_logs(s);
  second.kill_and_wait();
}

// The root filesystem figures are a statfs of /proc/<init>/root/, a path that names a pid
// number. Here the container's init (root: an 8 MiB tmpfs) ends while the sampler is stopped and
// its number is given to a process outside the container whose root is the host's (the kernel's
// ns_last_pid makes the next fork take it); the sampler then resumes. Its cached path now leads
// to the host's root: the figures must not be shown as the container's (the cgroup is empty, so
// there are none), which only a proof that the cached init outlived the statfs gives.
TEST(Platform, AnInitsPidNumberGivenToAnotherProcessDoesNotLendItsRootToTheContainer) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  HF_REQUIRE(have_command("unshare") && have_command("chroot"), "needs unshare and chroot");
  HF_REQUIRE(::access("/proc/sys/kernel/ns_last_pid", W_OK) == 0,
             "needs a writable /proc/sys/kernel/ns_last_pid (root in the pid namespace)");
  TempDir dir;
  const std::string vmid = std::to_string(810000 + ::getpid() % 90000);
  const PveCgroups cgroups(vmid);
  Stack s(kill_mode_stack());
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  Process init = start_tmpfs_init(dir, cgroups, 8);
  const pid_t pid = init.pid();
  auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  ASSERT_EQ(value_where(*e, "hostflow_platform_container_rootfs_size_bytes", "container_id", vmid),
            8.0 * 1024 * 1024)
      << stack_logs(s);

  s.sampler().signal(SIGSTOP);
  init.kill_and_wait();
  // The next fork after ns_last_pid = pid - 1 takes `pid`, unless another process forked first:
  // tried again until the number is ours.
  pid_t reused = 0;
  for (int attempt = 0; attempt < 50 && reused != pid; attempt++) {
    if (reused > 0) ::kill(reused, SIGKILL);
    const auto r = sh("echo " + std::to_string(pid - 1) +
                      " >/proc/sys/kernel/ns_last_pid && { sleep 600 >/dev/null 2>&1 & echo $!; }");
    reused = std::atoi(r.out.c_str());
  }
  s.sampler().signal(SIGCONT);
  ASSERT_EQ(reused, pid) << "no fork got the init's pid number back";
  // Its root is the host's, which the path the sampler kept now reaches.
  ASSERT_EQ(sh("stat -f -c %b /proc/" + std::to_string(pid) + "/root/").out,
            sh("stat -f -c %b /").out);
  e = scrape_after_now(s);
  ::kill(reused, SIGKILL);
  ASSERT_TRUE(e) << stack_logs(s);
  EXPECT_FALSE(series_where(*e, "hostflow_platform_container_info", "container_id", vmid).empty())
      << "the container (its cgroup) is still listed";
  EXPECT_EQ(value_where(*e, "hostflow_platform_container_rootfs_size_bytes", "container_id", vmid),
            std::nullopt)
      << "the figures of the process that got the init's pid number";
  EXPECT_TRUE(s.sampler().running()) << stack_logs(s);
}

// v1 swap with a real swap device (this host has swap accounting but no swap of its own): a swap
// file is turned on for the test, a Proxmox-layout cgroup made here is limited to 16 MiB and a
// process in it fills 48 MiB of a tmpfs of its own, so the kernel swaps the rest out. The
// sampler's figure (memory.memsw.usage_in_bytes - memory.usage_in_bytes) must equal the
// cgroup's own count of swapped pages, `total_swap` of its memory.stat, read here: a different
// file, so a wrong subtraction, a missed swap flag or a swapped operand fails. Then its limit is
// raised twice while the sampler runs, and each scrape after shows the file's new value.
TEST(Platform, AV1ContainerOverItsMemoryLimitShowsTheSwapItsCgroupCountsAndItsLimitAsWritten) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  HF_REQUIRE(have_command("unshare") && have_command("mkswap") && have_command("swapon"),
             "needs unshare, mkswap and swapon (util-linux)");
  HF_REQUIRE(fs::exists("/sys/fs/cgroup/memory/memory.memsw.usage_in_bytes"),
             "no v1 swap accounting (swapaccount=1)");
  TempDir dir;
  const std::string vmid = std::to_string(700000 + ::getpid() % 90000);
  const PveCgroups cgroups(vmid);
  const std::string& mem = cgroups.dirs[0];
  // Destroyed before the cgroups go and after the process (declared between them).
  const std::string swapfile = dir.path() + "/swap";
  sh_ok("fallocate -l 128M " + swapfile + " && chmod 600 " + swapfile + " && mkswap -q " +
        swapfile + " && swapon " + swapfile);
  struct SwapOff {
    std::string file, mem;
    // The limit goes first: swapoff brings whatever is still out back in, charged to the cgroup.
    ~SwapOff() { sh("echo -1 >" + mem + "/memory.limit_in_bytes; swapoff " + file); }
  } swapoff{swapfile, mem};
  sh_ok("echo 16M >" + mem + "/memory.limit_in_bytes && echo 100 >" + mem + "/memory.swappiness");

  std::ofstream(dir.path() + "/fill.sh")
      << "root=$1; shift\n"
         "for c in \"$@\"; do echo $$ >\"$c/cgroup.procs\" || exit 1; done\n"
         "exec unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64m hf \"$0\" && "
         "dd if=/dev/urandom of=\"$0/fill\" bs=1M count=48 status=none && touch \"$0.done\" && "
         "exec sleep 600' \"$root\"\n";
  const std::string root = dir.path() + "/root";
  fs::create_directories(root);
  std::vector<std::string> argv = {"sh", dir.path() + "/fill.sh", root};
  argv.insert(argv.end(), cgroups.dirs.begin(), cgroups.dirs.end());
  Process filler(argv, dir.path() + "/fill.log");
  ASSERT_TRUE(wait_until([&] { return fs::exists(root + ".done"); }, std::chrono::seconds(30)))
      << filler.log();

  Stack s(kill_mode_stack());
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  const auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  const double swapped = stat_key(mem + "/memory.stat", "total_swap");
  // 48 MiB into 16: most of it is out, which is what makes the comparison mean something.
  EXPECT_GT(swapped, 24.0 * 1024 * 1024);
  const auto shown =
      value_where(*e, "hostflow_platform_container_swap_used_bytes", "container_id", vmid);
  ASSERT_TRUE(shown) << stack_logs(s);
  // A sleeping process with a full tmpfs: nothing moves between the sampler's read and this one
  // but the kernel's own bookkeeping.
  EXPECT_NEAR(*shown, swapped, 1 << 20);
  // The limit, and a new one written while the sampler runs (as `pct set --memory` does): the
  // sampler reads a limit file again only after an inotify event says it was written.
  const auto limit = [&](const Exposition& x) {
    return value_where(x, "hostflow_platform_container_memory_limit_bytes", "container_id", vmid);
  };
  EXPECT_EQ(limit(*e), file_number(mem + "/memory.limit_in_bytes"));
  EXPECT_EQ(limit(*e), 16.0 * 1024 * 1024);
  for (const char* next : {"20M", "24M"}) {
    sh_ok("echo " + std::string(next) + " >" + mem + "/memory.limit_in_bytes");
    const auto later = scrape_after_now(s);
    ASSERT_TRUE(later) << stack_logs(s);
    EXPECT_EQ(limit(*later), file_number(mem + "/memory.limit_in_bytes")) << next;
  }
  filler.kill_and_wait();
}

// LXC containers join the owner model (issue 15, item 3): the host end of each container's veth
// carries owner_type="container" and, as owner, the name the platform area gives the container:
// plain LXC its name, Proxmox layout without /etc/pve/lxc/<vmid>.conf CT<vmid> (its veth named
// as Proxmox names it, veth<vmid>i0). The names are the test's own (it created the containers),
// checked against hostflow_platform_container_info too; the counters against the kernel's.
TEST(Platform, LxcContainersVethsCarryTheContainersNameAsTheirOwner) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  TempDir dir;
  const std::string tag = std::to_string(::getpid() % 100000);
  const std::string vmid = std::to_string(700000 + ::getpid() % 90000);
  const std::string plain_veth = "hfv" + tag, pve_veth = "veth" + vmid + "i0";
  auto veth = [](const std::string& host_end) {
    return "lxc.net.0.type = veth\nlxc.net.0.veth.pair = " + host_end +
           "\nlxc.net.0.flags = up\nlxc.net.0.name = eth0\n";
  };
  LxcContainer plain(dir.path(), "hf15v" + tag, "", veth(plain_veth));
  LxcContainer pve(dir.path(), "hf15w" + tag, vmid, veth(pve_veth));
  ASSERT_TRUE(start_all({&plain, &pve}));
  for (const std::string& v : {plain_veth, pve_veth})
    ASSERT_TRUE(fs::exists("/sys/class/net/" + v)) << v << ": LXC made no veth";

  Stack s(kill_mode_stack());
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  auto packets = [](const std::string& v) {
    return file_number("/sys/class/net/" + v + "/statistics/tx_packets");
  };
  const double plain0 = packets(plain_veth), pve0 = packets(pve_veth);
  const auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  const double plain1 = packets(plain_veth), pve1 = packets(pve_veth);

  struct Want {
    const LxcContainer* c;
    std::string veth, name;
    double before, after;
  };
  for (const Want& w : {Want{&plain, plain_veth, plain.name, plain0, plain1},
                        Want{&pve, pve_veth, "CT" + vmid, pve0, pve1}}) {
    SCOPED_TRACE(w.veth);
    const auto info =
        series_where(*e, "hostflow_platform_container_info", "container_id", w.c->id());
    ASSERT_FALSE(info.empty()) << stack_logs(s);
    EXPECT_EQ(info.at("name"), w.name);
    const auto counter =
        series_where(*e, "hostflow_interface_transmit_packets_total", "interface", w.veth);
    ASSERT_FALSE(counter.empty()) << w.veth << " is not exported";
    EXPECT_EQ(counter.at("owner_type"), "container");
    EXPECT_EQ(counter.at("owner"), w.name);
    const auto v =
        value_where(*e, "hostflow_interface_transmit_packets_total", "interface", w.veth);
    ASSERT_TRUE(v);
    EXPECT_GE(*v, w.before);
    EXPECT_LE(*v, w.after);
  }
}

// --compat=platform (issue 15, item 4): seed 003's node_* families for this machine and for
// real busybox LXC containers (one Proxmox-layout with a memory limit, one plain without), under
// seccomp kill mode, against what the test reads itself: /proc/meminfo, `df -B1 /` and findmnt,
// a count of /proc/[0-9]*, the containers' cgroup files and `stat -f` of their init's root, and
// gethostname() with the seed's container-id rules written here as regular expressions.
TEST(Platform, CompatProfileServesSeed003sFamiliesForThisMachineAndEachLxcContainer) {
  HF_REQUIRE(lxc_missing().empty(), lxc_missing());
  HF_REQUIRE(have_command("df") && have_command("findmnt"), "df/findmnt not installed");
  TempDir dir;
  const std::string tag = std::to_string(::getpid() % 100000);
  const std::string vmid = std::to_string(800000 + ::getpid() % 90000);
  LxcContainer plain(dir.path(), "hf15c" + tag);
  LxcContainer pve(dir.path(), "hf15y" + tag, vmid, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
  ASSERT_TRUE(start_all({&plain, &pve}));

  StackOptions o = kill_mode_stack();
  o.exporter_args.push_back("--compat=platform");
  Stack s(o);
  s.start_sampler();
  s.start_exporter();
  ASSERT_TRUE(s.wait_fresh()) << stack_logs(s);
  const auto mem0 = meminfo();
  const std::size_t pids0 = count_pids();
  auto e = scrape_after_now(s);
  ASSERT_TRUE(e) << stack_logs(s);
  const auto mem1 = meminfo();
  const std::size_t pids1 = count_pids();

  // This machine: host_name is the host name (the exporter's, the same UTS namespace).
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::string root_src = sh_ok("findmnt --task 1 -rn -o SOURCE /");
  const std::string root_type = sh_ok("findmnt --task 1 -rn -o FSTYPE /");
  const std::string device = root_src.substr(0, root_src.find('\n'));
  const std::string fstype = root_type.substr(0, root_type.find('\n'));
  std::smatch m;
  std::string want_id = "unknown";
  const std::string hostname = host;
  if (std::regex_search(device, m, std::regex("subvol-([0-9]+)-disk-[0-9]+")))
    want_id = m[1];
  else if (std::regex_search(hostname, m, std::regex("[0-9]+")) && m[0].length() >= 3)
    want_id = m[0];
  const auto self = series_where(*e, "node_memory_total_bytes", "host_name", hostname);
  ASSERT_FALSE(self.empty()) << "no series with host_name=" << hostname;
  EXPECT_EQ(self.at("container_id"), want_id);
  EXPECT_EQ(self.at("instance"), hostname + ":" + want_id);
  auto mine = [&](const std::string& metric) {
    return value_where(*e, metric, "instance", hostname + ":" + want_id);
  };
  EXPECT_EQ(mine("node_memory_total_bytes"), mem0.at("MemTotal"));
  // The seed's rule: used = MemTotal - MemFree - Buffers - Cached (moving: within the test's two
  // reads, ± 64 MiB); free = total - used; available = MemAvailable.
  auto seed_used = [](const std::map<std::string, double>& mi) {
    return mi.at("MemTotal") - mi.at("MemFree") - mi.at("Buffers") - mi.at("Cached");
  };
  const double slack = 64.0 * 1024 * 1024;
  const auto used = mine("node_memory_usage_bytes");
  const auto free = mine("node_memory_free_bytes");
  const auto avail = mine("node_memory_available_bytes");
  ASSERT_TRUE(used && free && avail);
  EXPECT_GE(*used, std::min(seed_used(mem0), seed_used(mem1)) - slack);
  EXPECT_LE(*used, std::max(seed_used(mem0), seed_used(mem1)) + slack);
  EXPECT_EQ(*free, mem0.at("MemTotal") - *used);
  EXPECT_GE(*avail, std::min(mem0.at("MemAvailable"), mem1.at("MemAvailable")) - slack);
  EXPECT_LE(*avail, std::max(mem0.at("MemAvailable"), mem1.at("MemAvailable")) + slack);
  const auto procs = mine("node_processes_total");
  ASSERT_TRUE(procs);
  EXPECT_GE(*procs, static_cast<double>(std::min(pids0, pids1)) - 20);
  EXPECT_LE(*procs, static_cast<double>(std::max(pids0, pids1)) + 20);
  // Only "/", with df's figures and findmnt's device and type.
  const auto root =
      series_where(*e, "node_filesystem_size_bytes", "instance", hostname + ":" + want_id);
  ASSERT_FALSE(root.empty());
  EXPECT_EQ(root.at("mountpoint"), "/");
  EXPECT_EQ(root.at("device"), device);
  EXPECT_EQ(root.at("fstype"), fstype);
  const Df d = df("/");
  EXPECT_EQ(mine("node_filesystem_size_bytes"), d.size);
  ASSERT_TRUE(mine("node_filesystem_avail_bytes"));
  EXPECT_NEAR(*mine("node_filesystem_avail_bytes"), d.avail, 512.0 * 1024 * 1024);
  std::size_t machine_roots = 0;
  for (const auto& [key, v] : e->family("node_filesystem_size_bytes"))
    machine_roots += series_labels(key).at("mountpoint") != "/";
  EXPECT_EQ(machine_roots, 0u) << "the seed reports only df /";

  // Each container: host_name its name (CT<vmid> without /etc/pve), container_id its id.
  for (const LxcContainer* c : {&plain, &pve}) {
    SCOPED_TRACE(c->name);
    const std::string name = c->vmid.empty() ? c->name : "CT" + c->vmid;
    const auto l = series_where(*e, "node_memory_usage_bytes", "container_id", c->id());
    ASSERT_FALSE(l.empty()) << stack_logs(s);
    EXPECT_EQ(l.at("host_name"), name);
    EXPECT_EQ(l.at("instance"), name + ":" + c->id());
    auto v = [&](const std::string& metric) {
      return value_where(*e, metric, "container_id", c->id());
    };
    const double cg_used = file_number(c->cg("memory") + "/memory.usage_in_bytes") -
                           stat_key(c->cg("memory") + "/memory.stat", "total_cache");
    ASSERT_TRUE(v("node_memory_usage_bytes"));
    EXPECT_NEAR(*v("node_memory_usage_bytes"), cg_used, 1 << 20);
    // The limit from memory.limit_in_bytes; none: the host's MemTotal.
    const double total = c->vmid.empty() ? mem0.at("MemTotal")
                                         : file_number(c->cg("memory") + "/memory.limit_in_bytes");
    if (!c->vmid.empty()) {
      EXPECT_EQ(total, 256.0 * 1024 * 1024);
    }
    EXPECT_EQ(v("node_memory_total_bytes"), total);
    EXPECT_EQ(v("node_memory_free_bytes"), total - *v("node_memory_usage_bytes"));
    EXPECT_EQ(v("node_memory_available_bytes"), total - *v("node_memory_usage_bytes"));
    EXPECT_EQ(v("node_processes_total"), file_number(c->cg("pids") + "/pids.current"));
    std::istringstream st(
        sh_ok("stat -f -c '%S %b %f %a' /proc/" + std::to_string(c->pid()) + "/root/"));
    double bs = 0, blocks = 0, bfree = 0, bavail = 0;
    st >> bs >> blocks >> bfree >> bavail;
    EXPECT_EQ(v("node_filesystem_size_bytes"), bs * blocks);
    ASSERT_TRUE(v("node_filesystem_usage_bytes") && v("node_filesystem_avail_bytes"));
    EXPECT_NEAR(*v("node_filesystem_usage_bytes"), bs * (blocks - bfree), 512.0 * 1024 * 1024);
    EXPECT_NEAR(*v("node_filesystem_avail_bytes"), bs * bavail, 512.0 * 1024 * 1024);
    EXPECT_EQ(
        series_where(*e, "node_filesystem_size_bytes", "container_id", c->id()).at("mountpoint"),
        "/");
  }
}

}  // namespace
}  // namespace hostflow::test
