// The `oie` compatibility profile (docs/compat.md#oie) against real components: libvirt's test
// driver with the Nova fixture (every documented family present with its documented label set,
// labels from the fixture read here with pugixml, host totals from `virsh`), and a real libvirtd
// running a TCG domain whose boot disk SeaBIOS reads and whose vNIC receives frames we flood
// through its bridge: the disk and vNIC families equal `virsh domblkstat` / `virsh domifstat`.
// Sampler and exporter run with their default seccomp filters (kill mode).
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "lab.h"
#include "support.h"
#include "vm_lab.h"

namespace hostflow::test {
namespace {

using Labels = std::map<std::string, std::string>;
const std::string kNode = std::string(HOSTFLOW_FIXTURES_DIR) + "/libvirt/nova-node.xml";

// The documented label sets (docs/compat.md#oie), by family.
const std::vector<std::string> kCpu4 = {"domain", "instance_uuid", "project_uuid", "user_uuid"};
const std::vector<std::string> kDisk7 = {"disk_path",     "disk_type",    "disk_uuid", "domain",
                                         "instance_uuid", "project_uuid", "user_uuid"};
const std::vector<std::string> kNet5 = {"domain", "instance_uuid", "interface", "project_uuid",
                                        "user_uuid"};
const std::map<std::string, std::vector<std::string>>& documented() {
  static const auto k = [] {
    std::map<std::string, std::vector<std::string>> m = {
        {"oie_instance_info",
         {"created_at", "domain", "flavor", "instance_uuid", "mem_mb", "metadata_version",
          "project_name", "project_uuid", "root_type", "user_name", "user_uuid", "vcpus"}},
        {"oie_cpu_percent", kCpu4},
    };
    for (const char* d :
         {"oie_disk_info", "oie_disk_r_alert_threshold", "oie_disk_w_alert_threshold",
          "oie_disk_r_gbytes", "oie_disk_w_gbytes", "oie_disk_r_requests", "oie_disk_w_requests"})
      m[d] = kDisk7;
    for (const char* d : {"rx_gbytes", "tx_gbytes", "rx_pkt_total", "tx_pkt_total", "rx_er_total",
                          "tx_er_total", "rx_drp_total", "tx_drp_total"})
      m[std::string("oie_net_") + d] = kNet5;
    for (const char* h :
         {"oie_host_active_vms", "oie_host_active_vcpus", "oie_host_active_mem_gbytes",
          "oie_host_collection_errors_total", "oie_host_collection_duration_seconds",
          "oie_host_collection_lag_seconds", "oie_host_libvirt_list_duration_seconds",
          "oie_host_conntrack_read_duration_seconds", "oie_host_conntrack_entries_total",
          "oie_host_dynamic_cache_series_total", "oie_host_go_heap_alloc_bytes",
          "oie_conntrack_read_errors_total", "oie_host_conntrack_read_errors_total",
          "oie_static_cache_entries", "oie_dynamic_cache_entries",
          "oie_cache_cleanup_duration_seconds", "oie_cache_evictions_total"})
      m[h] = {};
    return m;
  }();
  return k;
}

std::vector<std::string> names_of(const std::string& key) {
  std::vector<std::string> v;
  for (const auto& [n, val] : series_labels(key)) v.push_back(n);
  return v;  // sorted (a std::map)
}

double round5(double v) {
  return std::round(v * 100000) / 100000;
}

// `virsh CMD DOMAIN [DEV]` lines "DEV key value" -> {key: value}.
std::map<std::string, double> virsh_stats(const std::string& uri, const std::string& cmd,
                                          const std::string& dom, const std::string& dev) {
  std::map<std::string, double> out;
  const RunResult r = run({"virsh", "-c", uri, cmd, dom, dev});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string d, k;
  double v;
  while (in >> d >> k >> v) out[k] = v;
  return out;
}

TEST(CompatOie, TestDriverEveryFamilyWithItsDocumentedLabels) {
  HF_REQUIRE(is_root(), "needs root: the sampler's capabilities and a network namespace");
  HF_REQUIRE(have_command("virsh"), "virsh (libvirt-clients) is not installed");
  const std::string uri = "test://" + kNode;
  // The truth: the fixture (Nova metadata) and virsh (vCPUs, maximum memory).
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_file(kNode.c_str()));
  std::map<std::string, std::string> package;  // uuid -> <nova:package version>, "unknown"
  for (pugi::xml_node d : doc.child("node").children("domain")) {
    std::string v = "unknown";
    for (pugi::xml_node inst : d.child("metadata").children())
      if (const char* p = inst.child("nova:package").attribute("version").value(); *p) v = p;
    package[d.child_value("uuid")] = v;
  }
  ASSERT_EQ(package.size(), 3u);
  // vCPUs and maximum memory per virsh, of the Nova instances: the test driver's bulk stats
  // carry no vcpu.* or balloon.* (libvirtd's QEMU driver does: the next test), so hostflow knows
  // a domain without Nova metadata's numbers only from a real hypervisor (docs/compat.md#oie).
  double vcpus = 0, mem_kib = 0;
  for (pugi::xml_node d : doc.child("node").children("domain")) {
    if (package[d.child_value("uuid")] == "unknown") continue;
    const RunResult r = run({"virsh", "-c", uri, "dominfo", d.child_value("name")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("CPU(s):", 0) == 0) vcpus += std::stod(line.substr(7));
      if (line.rfind("Max memory:", 0) == 0) mem_kib += std::stod(line.substr(11));
    }
  }

  Netns ns("hfoie");
  StackOptions o = in_netns(ns.name());
  for (const char* a : {"--libvirt.uri", uri.c_str(), "--libvirt.timeout", "10s",
                        "--no-source.procs", "--no-source.taps"})
    o.sampler_args.push_back(a);
  // --cpu.min=0: OIE then writes a CPU series for every domain.
  for (const char* a : {"--compat=oie", "--cpu.min=0"}) o.exporter_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);
  Exposition e;
  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();  // http_get checks the exposition invariants
        return e.family("oie_instance_info").size() == 3 &&
               !e.family("oie_static_cache_entries").empty() &&
               e.get("oie_static_cache_entries").value_or(0) >= 1;
      },
      std::chrono::seconds(20)))
      << stack_logs(stack);

  // Every family present in the scrape has its documented label set; the per-instance ones
  // the test driver can give are there.
  std::set<std::string> seen;
  for (const auto& [key, v] : e.series) {
    const std::string name = series_name(key);
    if (name.rfind("oie_", 0) != 0) {
      EXPECT_NE(name.rfind("go_", 0), 0u) << "no Go runtime families";
      continue;
    }
    seen.insert(name);
    const auto it = documented().find(name);
    if (it != documented().end()) {
      EXPECT_EQ(names_of(key), it->second) << key;
    }
  }
  for (const auto& [name, labels] : documented()) {
    const bool io = name.find("_gbytes") != std::string::npos ||
                    name.find("_requests") != std::string::npos || name.rfind("oie_net_", 0) == 0;
    if (io && name != "oie_host_active_mem_gbytes") continue;  // no stats in the test driver
    EXPECT_TRUE(seen.count(name)) << name << " missing";
  }
  // Feed telemetry of the Stack's own feed (every enabled list has its four families).
  std::size_t feed_families = 0;
  for (const std::string& n : seen)
    if (n.find("_refresh_last_success_timestamp_seconds") != std::string::npos) feed_families++;
  EXPECT_GE(feed_families, 1u);

  // Labels and values against the fixture and virsh.
  for (const auto& [key, v] : e.family("oie_instance_info")) {
    Labels l = series_labels(key);
    ASSERT_TRUE(package.count(l["instance_uuid"])) << key;
    EXPECT_EQ(l["metadata_version"], package[l["instance_uuid"]]) << key;
    if (l["domain"] == "plain-vm") {
      EXPECT_EQ(l["project_uuid"], "");
      EXPECT_EQ(l["vcpus"], "0");
      EXPECT_EQ(l["flavor"], "unknown");
    }
  }
  EXPECT_EQ(e.family("oie_cpu_percent").size(), 3u);
  EXPECT_EQ(e.family("oie_disk_info").size(), 3u);
  EXPECT_EQ(e.get("oie_host_active_vms"), 3.0);
  EXPECT_EQ(e.get("oie_host_active_vcpus"), vcpus);
  EXPECT_EQ(e.get("oie_host_active_mem_gbytes"), round5(mem_kib * 1024 / 1073741824.0));
  EXPECT_EQ(e.get("oie_dynamic_cache_entries"), 3.0);
  EXPECT_TRUE(stack.exporter().running()) << "exporter died (seccomp?)" << stack_logs(stack);
}

TEST(CompatOie, LibvirtdDiskAndVnicCountersEqualVirsh) {
  HF_REQUIRE(is_root(), "needs root: libvirtd, bridges, QEMU");
  for (const char* c :
       {"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "unshare", "nsenter", "ping"})
    HF_REQUIRE(have_command(c), std::string(c) + " is not installed");
  ensure_user_and_groups();
  TempDir dir;
  Libvirtd lv(dir.path());
  const std::string why = lv.start_all();
  HF_REQUIRE(why.empty(), "libvirtd cannot run here: " + why);

  const std::string bridge = unique_name("hfobr");
  const std::string net = "198.18." + std::to_string(getpid() % 250) + ".";
  sh_ok("ip link add " + bridge + " type bridge && ip addr add " + net + "1/24 dev " + bridge +
        " && ip link set " + bridge + " up");
  struct BridgeGuard {
    std::string name;
    ~BridgeGuard() { sh("ip link del " + name); }
  } bridge_guard{bridge};

  // A boot disk SeaBIOS reads (one sector: cli; hlt, then the 55 AA signature): the guest
  // halts at once, and the disk has read requests the hypervisor counted.
  const std::string img = dir.path() + "/boot.img";
  {
    std::string sector(512, '\0');
    sector[0] = '\xfa';
    sector[1] = '\xf4';
    sector[2] = '\xeb';  // jmp back to hlt
    sector[3] = '\xfd';
    sector[510] = '\x55';
    sector[511] = '\xaa';
    std::ofstream f(img, std::ios::binary);
    f << sector << std::string(1 << 20, '\0');
  }
  Domain dom;
  dom.uri = lv.rw_uri();
  dom.name = "hfoie-" + std::to_string(getpid());
  dom.uuid = random_uuid();
  const std::string xml = dir.path() + "/domain.xml";
  std::ofstream(xml) << "<domain type='qemu'>\n  <name>" << dom.name << "</name>\n  <uuid>"
                     << dom.uuid << "</uuid>\n  <memory unit='MiB'>64</memory>\n"
                     << "  <vcpu>1</vcpu>\n  <os><type arch='x86_64'>hvm</type>"
                     << "<boot dev='hd'/></os>\n  <devices>\n"
                     << "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                     << "<source file='" << img << "'/><target dev='vda' bus='virtio'/></disk>\n"
                     << "    <interface type='bridge'><source bridge='" << bridge
                     << "'/><model type='virtio'/></interface>\n  </devices>\n</domain>\n";
  const RunResult cr = run({"virsh", "-c", dom.uri, "create", xml}, std::chrono::seconds(120));
  ASSERT_EQ(cr.exit_code, 0) << cr.out << cr.err << lv.log();
  dom.qemu_pid = lv.qemu_pid(dom.name);
  std::string tap;
  {
    const RunResult dl = run({"virsh", "-c", dom.uri, "domiflist", dom.name});
    std::istringstream in(dl.out);
    for (std::string line; std::getline(in, line);) {
      std::istringstream f(line);
      std::string ifname;
      f >> ifname;
      if (!ifname.empty() && ifname != "Interface" && ifname[0] != '-') tap = ifname;
    }
  }
  ASSERT_FALSE(tap.empty());
  // Frames to an address on the bridge's subnet with a MAC nobody has: flooded to the tap. The
  // halted guest never reads them (tun counts a frame sent when QEMU reads it): the first 1000
  // wait in the tap's queue, the rest are the domain's receive drops.
  sh_ok("ip neigh replace " + net + "9 lladdr 02:00:5e:00:00:09 dev " + bridge + " nud permanent");
  sh("ping -f -c 1500 -w 10 " + net + "9");

  StackOptions o;
  o.sampler_args = seccomp_args();
  o.exporter_args = seccomp_args();
  for (const std::string& a : {std::string("--libvirt.uri"), lv.ro_uri(),
                               std::string("--libvirt.timeout"), std::string("10s")})
    o.sampler_args.push_back(a);
  o.exporter_args.push_back("--compat=oie");
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(stack);

  // The scrape and virsh agree at one moment (background frames may still reach the tap:
  // retry until both are read between two changes).
  auto value = [](const Exposition& e, const std::string& family, const std::string& label,
                  const std::string& want) -> std::optional<double> {
    for (const auto& [k, v] : e.family(family))
      if (series_labels(k)[label] == want) return v;
    return std::nullopt;
  };
  std::string diff;
  const bool agree = wait_until(
      [&] {
        diff.clear();
        const auto blk = virsh_stats(dom.uri, "domblkstat", dom.name, "vda");
        const auto nic = virsh_stats(dom.uri, "domifstat", dom.name, tap);
        const Exposition e = stack.scrape();
        const auto blk2 = virsh_stats(dom.uri, "domblkstat", dom.name, "vda");
        const auto nic2 = virsh_stats(dom.uri, "domifstat", dom.name, tap);
        if (blk != blk2 || nic != nic2) {
          diff = "counters moved during the scrape";
          return false;
        }
        auto check = [&](const std::string& fam, const std::string& label, const std::string& dev,
                         std::optional<double> want) {
          const auto got = value(e, fam, label, dev);
          if (got != want)
            diff += fam + ": got " + (got ? std::to_string(*got) : "none") + " want " +
                    (want ? std::to_string(*want) : "none") + "\n";
        };
        auto nz = [](double v) { return v != 0 ? std::optional<double>(v) : std::nullopt; };
        // OIE gates on the counter, then rounds: a few bytes are written as 0.
        auto gb = [](double v) {
          return v != 0 ? std::optional<double>(round5(v / 1073741824.0)) : std::nullopt;
        };
        // Disk: all four or none, on any activity.
        const bool io =
            blk.at("rd_req") + blk.at("wr_req") + blk.at("rd_bytes") + blk.at("wr_bytes") > 0;
        auto io_v = [&](double v) { return io ? std::optional<double>(v) : std::nullopt; };
        check("oie_disk_r_requests", "disk_path", "vda", io_v(blk.at("rd_req")));
        check("oie_disk_w_requests", "disk_path", "vda", io_v(blk.at("wr_req")));
        check("oie_disk_r_gbytes", "disk_path", "vda",
              io_v(round5(blk.at("rd_bytes") / 1073741824.0)));
        check("oie_disk_w_gbytes", "disk_path", "vda",
              io_v(round5(blk.at("wr_bytes") / 1073741824.0)));
        check("oie_disk_info", "disk_path", "vda", 1.0);
        // vNIC: each counter when not zero.
        check("oie_net_rx_pkt_total", "interface", tap, nz(nic.at("rx_packets")));
        check("oie_net_tx_pkt_total", "interface", tap, nz(nic.at("tx_packets")));
        check("oie_net_rx_gbytes", "interface", tap, gb(nic.at("rx_bytes")));
        check("oie_net_tx_gbytes", "interface", tap, gb(nic.at("tx_bytes")));
        check("oie_net_rx_er_total", "interface", tap, nz(nic.at("rx_errs")));
        check("oie_net_tx_er_total", "interface", tap, nz(nic.at("tx_errs")));
        check("oie_net_rx_drp_total", "interface", tap, nz(nic.at("rx_drop")));
        check("oie_net_tx_drp_total", "interface", tap, nz(nic.at("tx_drop")));
        return diff.empty();
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(agree) << diff << stack_logs(stack);
  // What was compared is not all zeros: SeaBIOS read the boot sector, the flood reached the tap.
  const auto blk = virsh_stats(dom.uri, "domblkstat", dom.name, "vda");
  const auto nic = virsh_stats(dom.uri, "domifstat", dom.name, tap);
  EXPECT_GE(blk.at("rd_req"), 1) << "SeaBIOS read nothing";
  EXPECT_GE(nic.at("rx_packets") + nic.at("rx_drop"), 1) << "the flood did not reach the domain";
  const Exposition e = stack.scrape();
  const Labels info = series_labels(e.family("oie_instance_info").begin()->first);
  EXPECT_EQ(info.at("instance_uuid"), dom.uuid);
  EXPECT_EQ(info.at("metadata_version"), "unknown") << "no Nova metadata";
  EXPECT_EQ(e.get("oie_host_active_vms"), 1.0);
  EXPECT_EQ(e.get("oie_host_active_vcpus"), 1.0);
  EXPECT_EQ(e.get("oie_host_active_mem_gbytes"), round5(64.0 / 1024));
  EXPECT_TRUE(stack.exporter().running()) << "exporter died (seccomp?)" << stack_logs(stack);
  EXPECT_TRUE(stack.sampler().running()) << "sampler died (seccomp?)" << stack_logs(stack);

  // --no-libvirt.interface-stats (libvirtd scans /proc/net/dev per vNIC for them): the same
  // domain has no vNIC counters then, and everything else stays, its traffic (the tap's own
  // counters) included.
  StackOptions lean = o;
  lean.sampler_args.push_back("--no-libvirt.interface-stats");
  Stack lean_stack(lean);
  lean_stack.start_sampler();
  lean_stack.start_exporter();
  ASSERT_TRUE(lean_stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(lean_stack);
  Exposition l;
  ASSERT_TRUE(wait_until(
      [&] {
        l = lean_stack.scrape();
        return !l.family("oie_disk_r_requests").empty();
      },
      std::chrono::seconds(20)))
      << stack_logs(lean_stack);
  for (const auto& [k, v] : l.series) {
    const std::string name = series_name(k);
    EXPECT_NE(name.rfind("hostflow_vm_vnic_", 0), 0u) << k;
    EXPECT_NE(name.rfind("oie_net_", 0), 0u) << k;
  }
  EXPECT_TRUE(value(l, "hostflow_vm_network_receive_packets_total", "vm_uuid", dom.uuid))
      << "VM traffic gone";
  EXPECT_TRUE(lean_stack.sampler().running()) << stack_logs(lean_stack);
}

}  // namespace
}  // namespace hostflow::test
