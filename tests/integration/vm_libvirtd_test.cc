// A real libvirtd (issue 4): a paused TCG domain with <interface type='bridge'> on a bridge we
// made. The exporter's interfaces for the domain's uuid equal `virsh domiflist`; stopping libvirtd
// makes the libvirt source "failed" while the sampler keeps publishing (the VM stays visible from
// its QEMU command line); restarting libvirtd brings the source and the libvirt identity back.
// The sampler runs with its default seccomp filter (kill mode) throughout.
//
// Isolation: libvirtd and virtlogd run in a private mount namespace where /run/libvirt and
// /var/lib/libvirt/qemu are private tmpfs and /etc/libvirt is a copy with our qemu.conf, so they
// never touch another libvirtd's state; their sockets live in our temp dir. QEMU runs as root:
// with Debian's default user (libvirt-qemu) and /dev/kvm mode 0600 on these machines libvirt
// finds KVM "not usable" for that user, invalidates its capability cache on every check and
// re-probes QEMU for ~40 s per `virsh create`.
#include <grp.h>
#include <pwd.h>
#include <signal.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "lab.h"
#include "support.h"
#include "vm_lab.h"

namespace hostflow::test {
namespace {

std::optional<double> labeled(const Exposition& e, const std::string& name,
                              const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : e.family(name)) {
    auto l = series_labels(k);
    bool match = true;
    for (const auto& [n, val] : want) match = match && l.count(n) && l[n] == val;
    if (match) return v;
  }
  return std::nullopt;
}

TEST(VmLibvirtd, DomiflistStopAndRestart) {
  HF_REQUIRE(is_root(), "needs root: libvirtd, bridges, QEMU");
  for (const char* c :
       {"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "unshare", "nsenter"})
    HF_REQUIRE(have_command(c), std::string(c) + " is not installed");
  ensure_user_and_groups();
  TempDir dir;
  Libvirtd lv(dir.path());
  const std::string why = lv.start_all();
  HF_REQUIRE(why.empty(), "libvirtd cannot run here: " + why);

  // A bridge in the root netns (where libvirtd puts the domain's tap).
  const std::string bridge = unique_name("hfvbr");
  sh_ok("ip link add " + bridge + " type bridge && ip link set " + bridge + " up");
  struct BridgeGuard {
    std::string name;
    ~BridgeGuard() { sh("ip link del " + name); }
  } bridge_guard{bridge};

  Domain dom;
  dom.uri = lv.rw_uri();
  dom.name = "hfvm-" + std::to_string(getpid());
  dom.uuid = random_uuid();
  const std::string xml = dir.path() + "/domain.xml";
  std::ofstream(xml) << "<domain type='qemu'>\n  <name>" << dom.name << "</name>\n  <uuid>"
                     << dom.uuid << "</uuid>\n  <memory unit='MiB'>64</memory>\n"
                     << "  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type></os>\n"
                     << "  <devices>\n    <interface type='bridge'><source bridge='" << bridge
                     << "'/><model type='virtio'/></interface>\n  </devices>\n</domain>\n";
  // Paused: a running TCG guest eats a core and slows libvirt down.
  const RunResult cr =
      run({"virsh", "-c", dom.uri, "create", "--paused", xml}, std::chrono::seconds(120));
  ASSERT_EQ(cr.exit_code, 0) << cr.out << cr.err << lv.log();
  // The QEMU pid (for cleanup if libvirtd is gone by then): libvirt's pid file is in the
  // private /run/libvirt, so read it through virtlogd's mount namespace.
  dom.qemu_pid = lv.qemu_pid(dom.name);

  // The independent truth: virsh domiflist.
  const RunResult dl = run({"virsh", "-c", dom.uri, "domiflist", dom.name});
  ASSERT_EQ(dl.exit_code, 0) << dl.err;
  std::set<std::pair<std::string, std::string>> want;
  {
    std::istringstream in(dl.out);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string ifname, type, source;
      f >> ifname >> type >> source;
      if (ifname.empty() || ifname == "Interface" || ifname[0] == '-') continue;
      EXPECT_EQ(type, "bridge");
      EXPECT_EQ(source, bridge);
      want.emplace(ifname, "tap");
    }
  }
  ASSERT_EQ(want.size(), 1u) << dl.out;

  StackOptions o;
  o.interval = "500ms";
  o.sampler_args = seccomp_args();  // default: kill mode
  o.exporter_args = seccomp_args();
  for (const std::string& a : {std::string("--libvirt.uri"), lv.ro_uri(),
                               std::string("--libvirt.timeout"), std::string("10s")})
    o.sampler_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(stack);

  std::string text;
  std::map<std::string, ExportedVm> vms;
  auto vm_is = [&](const std::string& source) {
    text = http_get(stack.url()).body;
    vms = exported_vms(parse_exposition(text));
    return vms.count(dom.uuid) && vms[dom.uuid].info["source"] == source &&
           vms[dom.uuid].interfaces == want;
  };
  ASSERT_TRUE(wait_until([&] { return vm_is("libvirt"); }, std::chrono::seconds(30)))
      << "want " << (want.empty() ? "" : want.begin()->first) << stack_logs(stack) << text;
  EXPECT_EQ(vms[dom.uuid].info["vm_name"], dom.name);
  expect_valid_exposition(text);

  // libvirtd goes away: the source fails, everything else goes on.
  lv.stop_libvirtd();
  Exposition e;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        return labeled(e, "hostflow_source_state", {{"source", "libvirt"}, {"state", "failed"}}) ==
               1.0;
      },
      std::chrono::seconds(30)))
      << stack_logs(stack);
  EXPECT_EQ(labeled(e, "hostflow_source_up", {{"source", "libvirt"}}), 0.0);
  EXPECT_TRUE(stack.sampler().running()) << stack_logs(stack);
  const std::uint64_t gen = stack.generation();
  ASSERT_TRUE(stack.wait_fresh(gen + 2)) << "sampler stopped publishing" << stack_logs(stack);
  // Interface metrics continue: the domain's tap is still counted, and the VM is still known
  // from its QEMU command line (libvirt passes -uuid and -name guest=).
  e = stack.scrape();
  EXPECT_TRUE(labeled(e, "hostflow_interface_info", {{"interface", want.begin()->first}}))
      << "tap gone from hostflow_interface_info";
  EXPECT_TRUE(wait_until([&] { return vm_is("cmdline"); }, std::chrono::seconds(10)))
      << "VM not shown from its command line while libvirtd is down" << text;
  expect_valid_exposition(http_get(stack.url()).body);

  // libvirtd is back: the source is up and the VM is libvirt's again.
  const std::string again = lv.start_libvirtd();
  ASSERT_EQ(again, "");
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        return labeled(e, "hostflow_source_up", {{"source", "libvirt"}}) == 1.0;
      },
      std::chrono::seconds(30)))
      << stack_logs(stack);
  EXPECT_TRUE(wait_until([&] { return vm_is("libvirt"); }, std::chrono::seconds(15)))
      << stack_logs(stack) << text;
  EXPECT_TRUE(stack.sampler().running()) << "sampler died (seccomp?)" << stack_logs(stack);
  expect_valid_exposition(text);
}

}  // namespace
}  // namespace hostflow::test
