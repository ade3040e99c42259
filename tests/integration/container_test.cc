// Issue 5: containers without Docker. Plain network-namespace "containers" -- a real process in
// its own netns and its own cgroup (v2), a veth to a bridge -- are attributed from kernel facts
// alone: the owner comes from the cgroup path the test reads itself from /proc/<pid>/cgroup, the
// bridge from the kernel's master, and the container's own view equals the kernel's counters of
// its namespace's interfaces. Also: the sampler started inside another netns with the host's
// /proc at --path.procfs reads the host's namespace, not its own.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// The cgroup v2 mount point (pure v2 or the hybrid "unified" mount), or "".
std::string cgroup2_root() {
  std::ifstream in("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (in >> dev >> dir >> type && std::getline(in, rest)) {
    if (type == "cgroup2") return dir;
  }
  return "";
}

// The unified path ("0::<path>") of a process, read here independently of the exporter.
std::string cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

// A cgroup directory removed (after its processes are gone) on destruction.
struct Cgroup {
  std::string path;
  explicit Cgroup(std::string p) : path(std::move(p)) { sh_ok("mkdir -p '" + path + "'"); }
  ~Cgroup() {
    sh("rmdir '" + path + "' 2>/dev/null; rmdir \"$(dirname '" + path + "')\" 2>/dev/null");
  }
};

// A process sleeping inside `netns`, moved into `cg` from here (`ip netns exec` remounts /sys,
// so the cgroup mount is not visible inside; it execs the command, so the pid is sleep's).
Process sleeper_in(const Netns& netns, const Cgroup& cg, const std::string& log) {
  Process p({"ip", "netns", "exec", netns.name(), "sleep", "600"}, log);
  wait_until(
      [&] {
        return sh("readlink /proc/" + std::to_string(p.pid()) + "/exe").out.find("sleep") !=
               std::string::npos;
      },
      std::chrono::seconds(5));
  sh_ok("echo " + std::to_string(p.pid()) + " > '" + cg.path + "/cgroup.procs'");
  return p;
}

// `ip -s -j link` counters of every non-loopback link in `netns`, summed.
std::uint64_t netns_sum(const std::string& netns, const char* dir, const char* field) {
  std::uint64_t sum = 0;
  for (const auto& l : ip_json("-s link show", netns)) {
    if (l.value("ifname", "") == "lo") continue;
    sum += l["stats64"][dir][field].get<std::uint64_t>();
  }
  return sum;
}

TEST(Containers, PlainNetnsContainersAttributedWithoutDocker) {
  HF_REQUIRE(is_root(), "needs root: namespaces, links, cgroups");
  HF_REQUIRE(have_command("ping"), "ping is not installed");
  const std::string cg2 = cgroup2_root();
  HF_REQUIRE(!cg2.empty(), "no cgroup2 mount");

  Netns host("hf5h"), w1("hf5a"), w2("hf5b"), w3("hf5o");
  for (const Netns* n : {&host, &w1, &w2, &w3}) quiet_netns(*n);
  const std::string br = unique_name("hf5br"), v1 = unique_name("hf5v1"), v2 = unique_name("hf5v2"),
                    v3 = unique_name("hf5v3");
  const std::string h = "ip -n " + host.name() + " ";
  sh_ok(h + "link add " + br + " type bridge mcast_snooping 0");
  sh_ok(h + "addr add 10.55.0.1/24 dev " + br);
  struct Peer {
    const Netns* ns;
    std::string host_end, addr;
  };
  const Peer peers[] = {{&w1, v1, "10.55.0.2"}, {&w2, v2, "10.55.0.3"}, {&w3, v3, "10.55.0.4"}};
  for (const Peer& p : peers) {
    sh_ok(h + "link add " + p.host_end + " type veth peer name eth0 netns " + p.ns->name());
    sh_ok(h + "link set " + p.host_end + " master " + br + " up");
    sh_ok("ip -n " + p.ns->name() + " addr add " + p.addr + "/24 dev eth0");
    sh_ok("ip -n " + p.ns->name() + " link set eth0 up");
  }
  sh_ok(h + "link set " + br + " up");
  // Static neighbours both ways: no ARP, so counters move only with the pings below.
  const std::string br_mac = ip_json("link show dev " + br, host.name())[0].value("address", "");
  const std::string w1_mac = ip_json("link show dev eth0", w1.name())[0].value("address", "");
  sh_ok("ip -n " + w1.name() + " neigh replace 10.55.0.1 lladdr " + br_mac +
        " dev eth0 nud permanent");
  sh_ok(h + "neigh replace 10.55.0.2 lladdr " + w1_mac + " dev " + br + " nud permanent");

  // w1: a process in a cgroup of no known runtime -> owner_type netns, owner = cgroup leaf.
  // w2: a process in an LXC-style cgroup (lxc.payload.<name>, as LXC 4+ creates) -> container.
  // w3: no process at all -> its veth is an orphan ("unknown").
  const std::string base = cg2 + "/" + unique_name("hf5cg", 40);
  Cgroup cg_a(base + "/plain-a"), cg_b(base + "/lxc.payload.hf5web");
  TempDir tmp;
  Process pa = sleeper_in(w1, cg_a, tmp.path() + "/a.log");
  Process pb = sleeper_in(w2, cg_b, tmp.path() + "/b.log");
  ASSERT_TRUE(wait_until(
      [&] {
        return !cgroup_of(pa.pid()).empty() &&
               cgroup_of(pa.pid()).find("plain-a") != std::string::npos &&
               cgroup_of(pb.pid()).find("hf5web") != std::string::npos;
      },
      std::chrono::seconds(5)));
  const std::string cg_path_a = cgroup_of(pa.pid());
  const std::string leaf_a = cg_path_a.substr(cg_path_a.find_last_of('/') + 1);

  Stack stack(in_netns(host.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  sh_ok("ip netns exec " + w1.name() + " ping -q -c 7 -s 300 -i 0.01 -W 1 10.55.0.1");
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  // The kernel's own numbers, read after the snapshot (the namespaces are quiet).
  const std::uint64_t w1_tx_packets = netns_sum(w1.name(), "tx", "packets");
  const std::uint64_t w1_tx_bytes = netns_sum(w1.name(), "tx", "bytes");
  const std::uint64_t w1_rx_packets = netns_sum(w1.name(), "rx", "packets");
  EXPECT_EQ(w1_tx_packets, 7u);

  auto i1 = series_where(*e, "hostflow_interface_info", "interface", v1);
  EXPECT_EQ(i1["owner_type"], "netns");
  EXPECT_EQ(i1["owner"], leaf_a);
  EXPECT_EQ(i1["kind"], "veth");
  EXPECT_EQ(i1["bridge"], ip_json("link show dev " + v1, host.name())[0].value("master", ""));
  auto i2 = series_where(*e, "hostflow_interface_info", "interface", v2);
  EXPECT_EQ(i2["owner_type"], "container");
  EXPECT_EQ(i2["owner"], "hf5web");
  auto i3 = series_where(*e, "hostflow_interface_info", "interface", v3);
  EXPECT_EQ(i3["owner_type"], "unknown");
  auto ib = series_where(*e, "hostflow_interface_info", "interface", br);
  EXPECT_EQ(ib["owner_type"], "bridge");
  EXPECT_EQ(ib["owner"], br);
  // The owner labels are on the counters too (stable identity), not only on the info series.
  auto c1 = series_where(*e, "hostflow_interface_receive_bytes_total", "interface", v1);
  EXPECT_EQ(c1["owner"], leaf_a);
  EXPECT_EQ(c1.count("operstate"), 0u);

  // The containers: info, processes, and their own view equal to the kernel's.
  auto ca = series_where(*e, "hostflow_container_info", "owner", leaf_a);
  EXPECT_EQ(ca["owner_type"], "netns");
  EXPECT_EQ(ca["view"], "netns");
  auto cb = series_where(*e, "hostflow_container_info", "owner", "hf5web");
  EXPECT_EQ(cb["runtime"], "lxc");
  EXPECT_EQ(cb["id"], "hf5web");
  EXPECT_EQ(value_where(*e, "hostflow_container_processes", "owner", leaf_a), 1.0);
  EXPECT_EQ(value_where(*e, "hostflow_container_transmit_packets_total", "owner", leaf_a),
            static_cast<double>(w1_tx_packets));
  EXPECT_EQ(value_where(*e, "hostflow_container_transmit_bytes_total", "owner", leaf_a),
            static_cast<double>(w1_tx_bytes));
  EXPECT_EQ(value_where(*e, "hostflow_container_receive_packets_total", "owner", leaf_a),
            static_cast<double>(w1_rx_packets));
  // The host end saw the same packets the other way round.
  EXPECT_EQ(value_where(*e, "hostflow_interface_receive_packets_total", "interface", v1),
            static_cast<double>(w1_tx_packets));
  // No container for the namespace without processes.
  for (const auto& [k, v] : e->family("hostflow_container_info"))
    EXPECT_NE(series_labels(k)["owner"].find("netns-"), 0u) << k;

  auto text = http_get(stack.url());
  auto pc = promtool_check(text.body);
  EXPECT_EQ(pc.exit_code, 0) << pc.out << pc.err;
}

// The container deployment: the sampler runs in its own ("container") netns and is given the
// host's procfs (--path.procfs), whose PID 1 is in the host's netns. It must read that netns, not
// its own. (This machine's real PID 1 refuses even root access to its ns/net, so the "host" here
// is a PID namespace of our own whose init sleeps in netns `h`; its procfs is mounted from
// outside with nsenter, and a sysfs of `h` likewise.)
TEST(Containers, SamplerInAContainerReadsTheHostNetns) {
  HF_REQUIRE(is_root(), "needs root: namespaces, links, mounts");
  HF_REQUIRE(have_command("unshare") && have_command("nsenter"), "util-linux is not installed");
  Netns h("hf5H"), c("hf5c");
  quiet_netns(h);
  quiet_netns(c);
  TempDir tmp, host_root;
  Process init({"ip", "netns", "exec", h.name(), "unshare", "--pid", "--fork", "sleep", "600"},
               tmp.path() + "/init.log");
  std::string child;
  ASSERT_TRUE(wait_until(
      [&] {
        child = sh("cat /proc/" + std::to_string(init.pid()) + "/task/*/children 2>/dev/null").out;
        while (!child.empty() && (child.back() == ' ' || child.back() == '\n')) child.pop_back();
        return !child.empty();
      },
      std::chrono::seconds(5)));
  const std::string procfs = host_root.path() + "/proc", sysfs = host_root.path() + "/sys";
  sh_ok("mkdir -p " + procfs + " " + sysfs);
  sh_ok("nsenter -t " + child + " --pid mount -t proc proc " + procfs);
  sh_ok("nsenter --net=/run/netns/" + h.name() + " mount -t sysfs sysfs " + sysfs);
  struct Unmount {
    std::string a, b;
    ~Unmount() { sh("umount -l " + a + "; umount -l " + b); }
  } unmount{procfs, sysfs};
  ASSERT_EQ(sh_ok("readlink " + procfs + "/1/ns/net"),
            sh_ok("ip netns exec " + h.name() + " readlink /proc/self/ns/net"));
  // One link in the "host" netns, one in the "container's".
  const std::string hv = unique_name("hf5hv"), cv = unique_name("hf5cv");
  sh_ok("ip -n " + h.name() + " link add " + hv + " type ifb");
  sh_ok("ip -n " + c.name() + " link add " + cv + " type ifb");

  StackOptions o = in_netns(c.name());
  o.sampler_args.insert(o.sampler_args.end(),
                        {"--path.procfs", procfs, "--path.sysfs", sysfs, "--path.rootfs",
                         host_root.path(), "--no-source.libvirt"});
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  std::string seen;
  for (const auto& [k, v] : e->family("hostflow_interface_info")) seen += k + "\n";
  EXPECT_EQ(series_where(*e, "hostflow_interface_info", "interface", hv)["kind"], "ifb") << seen;
  EXPECT_TRUE(series_where(*e, "hostflow_interface_info", "interface", cv).empty());
  EXPECT_NE(stack.sampler().log().find("entered the network namespace of PID 1"), std::string::npos)
      << stack_logs(stack);
  // With no socket under the host root, Docker is absent, not failed.
  bool absent = false;
  for (const auto& [k, v] : e->family("hostflow_source_state")) {
    auto l = series_labels(k);
    if (l["source"] == "docker" && l["state"] == "absent") absent = v == 1.0;
  }
  EXPECT_TRUE(absent);
}

}  // namespace
}  // namespace hostflow::test
