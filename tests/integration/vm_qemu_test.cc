// VMs from real processes (issue 4). In a private netns, with the sampler inside it:
//  1. real QEMU (TCG, paused) with a tap it creates (-netdev tap,ifname=) and another with a
//     macvtap passed as fd 3 (/dev/tapIDX): each interface is attributed to the VM whose argv we
//     wrote (uuid, name, kind tap / macvtap);
//  2. a stand-in guest (qemu-system-hfguest) on a real tap moves a known number of bytes each
//     way: the VM-view totals and windows equal what the guest sent/received and the kernel's
//     own tap counters swapped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab.h"
#include "support.h"
#include "vm_lab.h"

namespace hostflow::test {
namespace {

// A macvtap in `ns` on `lower` with a random high ifindex, and its /dev/tap<ifindex> node with
// the right device number (devtmpfs makes it unless another netns's macvtap with the same ifindex
// got the name first; then we try another index). The node is removed only if we made it.
struct Macvtap {
  std::string name, dev_path;
  int ifindex = 0;
  dev_t rdev = 0;
  bool made_node = false;
  ~Macvtap() {
    if (made_node) ::unlink(dev_path.c_str());
  }
};

std::unique_ptr<Macvtap> make_macvtap(const Netns& ns, const std::string& lower) {
  auto m = std::make_unique<Macvtap>();
  m->name = unique_name("hfmvt");
  std::mt19937 rng(static_cast<unsigned>(getpid()) ^ static_cast<unsigned>(time(nullptr)));
  for (int attempt = 0; attempt < 10; attempt++) {
    const int idx = 20000 + static_cast<int>(rng() % 40000);
    const RunResult r = sh("ip -n " + ns.name() + " link add link " + lower + " name " + m->name +
                           " index " + std::to_string(idx) + " type macvtap mode bridge");
    if (r.exit_code != 0) continue;
    // ip netns exec remounts /sys for the netns: only there is this macvtap's sysfs entry.
    const std::string devno =
        ns.exec_ok("cat /sys/class/net/" + m->name + "/macvtap/tap" + std::to_string(idx) + "/dev");
    unsigned maj = 0, min = 0;
    if (std::sscanf(devno.c_str(), "%u:%u", &maj, &min) != 2) {
      ADD_FAILURE() << "bad macvtap dev: " << devno;
      return nullptr;
    }
    const dev_t want = makedev(maj, min);
    const std::string path = "/dev/tap" + std::to_string(idx);
    struct stat st {};
    bool made = false;
    if (::stat(path.c_str(), &st) != 0) {
      if (::mknod(path.c_str(), S_IFCHR | 0600, want) != 0) {
        ADD_FAILURE() << "mknod " << path << ": " << std::strerror(errno);
        return nullptr;
      }
      made = true;
    } else if (!S_ISCHR(st.st_mode) || st.st_rdev != want) {
      sh("ip -n " + ns.name() + " link del " + m->name);  // name taken by another netns's tap
      continue;
    }
    m->ifindex = idx;
    m->rdev = want;
    m->dev_path = path;
    m->made_node = made;
    return m;
  }
  ADD_FAILURE() << "no free macvtap index after 10 attempts";
  return nullptr;
}

std::optional<PidFileProcess> start_qemu(const Netns& ns, const std::string& netdev_args,
                                         const std::string& uuid, const std::string& name,
                                         const std::string& pidfile,
                                         const std::string& redirect = "") {
  const std::string cmd = "exec qemu-system-x86_64 -S -nodefaults -display none -m 64 -accel tcg " +
                          netdev_args + " -uuid " + uuid + " -name guest=" + name +
                          " -daemonize -pidfile " + pidfile + " " + redirect;
  const RunResult r = run({"ip", "netns", "exec", ns.name(), "sh", "-c", cmd});
  const pid_t pid = PidFileProcess::read_pid(pidfile);
  if (pid <= 0) {
    ADD_FAILURE() << cmd << " failed (" << r.exit_code << "): " << r.err;
    return std::nullopt;
  }
  return PidFileProcess(pid);
}

TEST(VmQemu, TapAndMacvtapAttributedToTheirVm) {
  HF_REQUIRE(is_root(), "needs root: network namespaces, taps, macvtaps, QEMU");
  HF_REQUIRE(have_command("qemu-system-x86_64"), "qemu-system-x86_64 is not installed");
  Netns ns("hfvq");
  quiet_netns(ns);
  TempDir dir;
  const std::string tap = unique_name("hfqtap");
  const std::string va = unique_name("hfqva"), vb = unique_name("hfqvb");
  ns.exec_ok("ip link add " + va + " type veth peer name " + vb + " && ip link set " + va +
             " up && ip link set " + vb + " up");
  auto mvt = make_macvtap(ns, va);
  ASSERT_TRUE(mvt);
  ns.exec_ok("ip link set " + mvt->name + " up");

  // Identities we choose, independently of anything the exporter says.
  const std::string uuid_a = random_uuid(), uuid_b = random_uuid();
  const std::string name_a = "hfq-tap-" + std::to_string(getpid());
  const std::string name_b = "hfq-macvtap-" + std::to_string(getpid());
  auto qa = start_qemu(ns,
                       "-netdev tap,id=n0,ifname=" + tap +
                           ",script=no,downscript=no -device virtio-net-pci,netdev=n0",
                       uuid_a, name_a, dir.path() + "/a.pid");
  ASSERT_TRUE(qa);
  auto qb = start_qemu(ns, "-netdev tap,id=n1,fd=3 -device virtio-net-pci,netdev=n1", uuid_b,
                       name_b, dir.path() + "/b.pid", "3<>" + mvt->dev_path);
  ASSERT_TRUE(qb);
  // The processes hold what we think they hold (the kernel's view).
  ASSERT_EQ(run({"readlink", "/proc/" + std::to_string(qb->pid()) + "/fd/3"}).out,
            mvt->dev_path + "\n");

  Stack stack(in_netns(ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  std::map<std::string, ExportedVm> vms;
  std::string text;
  const bool seen = wait_until(
      [&] {
        text = http_get(stack.url()).body;
        vms = exported_vms(parse_exposition(text));
        return vms.count(uuid_a) && vms.count(uuid_b) && !vms[uuid_a].interfaces.empty() &&
               !vms[uuid_b].interfaces.empty();
      },
      std::chrono::seconds(15));
  ASSERT_TRUE(seen) << "VMs not exported with interfaces" << stack_logs(stack) << text;

  const auto& a = vms[uuid_a];
  EXPECT_EQ(a.info.at("vm_name"), name_a);
  EXPECT_EQ(a.info.at("source"), "cmdline");
  EXPECT_EQ(a.interfaces, (std::set<std::pair<std::string, std::string>>{{tap, "tap"}}));
  const auto& b = vms[uuid_b];
  EXPECT_EQ(b.info.at("vm_name"), name_b);
  EXPECT_EQ(b.info.at("source"), "cmdline");
  EXPECT_EQ(b.interfaces, (std::set<std::pair<std::string, std::string>>{{mvt->name, "macvtap"}}));
  // No other VM claims our interfaces.
  for (const auto& [uuid, vm] : vms) {
    if (uuid == uuid_a || uuid == uuid_b) continue;
    for (const auto& [ifname, kind] : vm.interfaces)
      EXPECT_TRUE(ifname != tap && ifname != mvt->name) << uuid << " claims " << ifname;
  }
  expect_valid_exposition(text);

  // A VM that is gone disappears from the exposition.
  qa->stop();
  EXPECT_TRUE(wait_until([&] { return !exported_vms(stack.scrape()).count(uuid_a); },
                         std::chrono::seconds(10)))
      << "stopped VM still exported";
  qb->stop();
}

TEST(VmQemu, DirectionWithRealBytes) {
  HF_REQUIRE(is_root(), "needs root: network namespaces and taps");
  Netns ns("hfvd");
  quiet_netns(ns);  // IPv6 off before the tap exists: no solicitations on it
  TempDir dir;
  const std::string tap = unique_name("hfdtap");
  ns.exec_ok("ip tuntap add dev " + tap + " mode tap && ip link set " + tap + " up");
  const std::string uuid = random_uuid();
  const std::string name = "hfd-guest-" + std::to_string(getpid());
  const std::string status = dir.path() + "/guest.status";
  constexpr int kGuestFrames = 23, kGuestSize = 500;  // the guest sends
  constexpr int kHostFrames = 37, kHostSize = 300;    // the guest receives
  Process guest({"ip", "netns", "exec", ns.name(), HOSTFLOW_GUEST_HELPER, "-uuid", uuid, "-name",
                 "guest=" + name + ",debug-threads=on", "-ifname", tap, "-status", status,
                 "-frames", std::to_string(kGuestFrames), "-size", std::to_string(kGuestSize)},
                dir.path() + "/guest.log");
  ASSERT_TRUE(
      wait_until([&] { return access(status.c_str(), R_OK) == 0; }, std::chrono::seconds(10)))
      << guest.log();
  // The tap has its queue now: carrier on, nothing counted yet.
  ASSERT_TRUE(wait_until(
      [&] {
        auto j = ip_json("link show dev " + tap, ns.name());
        return !j.empty() && j[0].value("operstate", "") == "UP";
      },
      std::chrono::seconds(5)));

  Stack stack(in_netns(ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  // The exporter sees the VM (with its tap) before any traffic: it appears within every window.
  ASSERT_TRUE(wait_until(
      [&] {
        auto vms = exported_vms(stack.scrape());
        return vms.count(uuid) && !vms[uuid].interfaces.empty();
      },
      std::chrono::seconds(15)))
      << stack_logs(stack);

  ASSERT_EQ(::kill(guest.pid(), SIGUSR1), 0);
  ASSERT_TRUE(host_send(ns.name(), tap, kHostFrames, kHostSize));
  ASSERT_TRUE(wait_until(
      [&] {
        const GuestStatus g = read_status(status);
        return g.tx_frames == kGuestFrames && g.rx_frames == kHostFrames;
      },
      std::chrono::seconds(10)))
      << "guest status: " << sh("cat " + status).out << guest.log();

  auto e = scrape_after_now(stack);
  ASSERT_TRUE(e) << stack_logs(stack);
  const GuestStatus g = read_status(status);
  const auto j = ip_json("-s link show dev " + tap, ns.name());
  ASSERT_FALSE(j.empty());
  const std::uint64_t host_rx = j[0]["stats64"]["rx"]["bytes"].get<std::uint64_t>();
  const std::uint64_t host_tx = j[0]["stats64"]["tx"]["bytes"].get<std::uint64_t>();
  const std::uint64_t host_rx_pkts = j[0]["stats64"]["rx"]["packets"].get<std::uint64_t>();
  const std::uint64_t host_tx_pkts = j[0]["stats64"]["tx"]["packets"].get<std::uint64_t>();

  // Three independent views agree: what we sent, what the guest counted, what the kernel counted.
  EXPECT_EQ(g.tx_bytes, std::uint64_t{kGuestFrames} * kGuestSize);
  EXPECT_EQ(g.rx_bytes, std::uint64_t{kHostFrames} * kHostSize);
  EXPECT_EQ(host_rx, g.tx_bytes);  // host rx = VM tx
  EXPECT_EQ(host_tx, g.rx_bytes);  // host tx = VM rx
  EXPECT_EQ(host_rx_pkts, g.tx_frames);
  EXPECT_EQ(host_tx_pkts, g.rx_frames);

  auto vms = exported_vms(*e);
  ASSERT_TRUE(vms.count(uuid));
  const ExportedVm& vm = vms[uuid];
  EXPECT_EQ(vm.info.at("vm_name"), name);
  EXPECT_EQ(vm.interfaces, (std::set<std::pair<std::string, std::string>>{{tap, "tap"}}));
  const auto val = [&](const std::string& k) -> double {
    auto it = vm.values.find(k);
    EXPECT_NE(it, vm.values.end()) << k;
    return it == vm.values.end() ? -1 : it->second;
  };
  EXPECT_EQ(val("hostflow_vm_network_receive_bytes_total"), static_cast<double>(g.rx_bytes));
  EXPECT_EQ(val("hostflow_vm_network_transmit_bytes_total"), static_cast<double>(g.tx_bytes));
  EXPECT_EQ(val("hostflow_vm_network_receive_packets_total"), static_cast<double>(g.rx_frames));
  EXPECT_EQ(val("hostflow_vm_network_transmit_packets_total"), static_cast<double>(g.tx_frames));
  for (const char* w : {"30s", "1m", "5m", "15m", "1h"}) {
    EXPECT_EQ(val(std::string("hostflow_vm_network_window_bytes{receive,") + w + "}"),
              static_cast<double>(g.rx_bytes))
        << w;
    EXPECT_EQ(val(std::string("hostflow_vm_network_window_bytes{transmit,") + w + "}"),
              static_cast<double>(g.tx_bytes))
        << w;
  }
  guest.kill_and_wait();
}

}  // namespace
}  // namespace hostflow::test
