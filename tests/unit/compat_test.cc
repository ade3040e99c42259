// Compatibility profiles (exporter/compat/): the flags, the pipeline's handling of profiles
// (--compat.native=false, prefixes, reset) and each profile's rules, against the replaced tools'
// own code as docs/compat.md quotes it. The whole families of every profile are compared in
// golden_test (tests/golden/compat_<stem>.prom); the real kernel, dockerd and QEMU in
// tests/integration/compat_test.cc.
#include <gtest/gtest.h>

#include "compat/netprobe/netprobe_profile.h"
#include "compat/registry.h"
#include "compat/truenas/truenas_profile.h"
#include "config.h"

namespace hostflow::exporter {
namespace {

using metrics::Family;
using metrics::FamilySet;

TEST(CompatFlags, ListsAreValidatedAgainstTheTableAndKeptInItsOrder) {
  CompatConfig c;
  c.profiles_text = " netprobe , truenas,netprobe";
  ASSERT_TRUE(validate_compat(c).ok());
  ASSERT_EQ(c.profiles.size(), 2u);
  EXPECT_EQ(c.profiles[0], profile_table()[0].stem);
  c.profiles_text = "truenas,nosuch";
  const auto r = validate_compat(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("nosuch"), std::string::npos);
  EXPECT_NE(r.error().message().find("--compat"), std::string::npos);
}

TEST(CompatFlags, OnlyProfilesNeedsAProfile) {
  CompatConfig c;
  c.native = false;
  EXPECT_FALSE(validate_compat(c).ok());
  c.profiles_text = "truenas";
  EXPECT_TRUE(validate_compat(c).ok());
}

TEST(CompatFlags, NetprobeTurnsCorsOnUnlessTheOperatorSaysNo) {
  ExporterConfig cfg;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_FALSE(cfg.web.cors);
  cfg.compat.profiles_text = "netprobe";
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_TRUE(cfg.web.cors);
  cfg.web.cors_flag = 0;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_FALSE(cfg.web.cors);
  cfg.compat.profiles_text = "truenas";
  cfg.web.cors_flag = 1;
  ASSERT_TRUE(validate(cfg).ok());
  EXPECT_TRUE(cfg.web.cors);
}

TEST(CompatTable, EveryProfileHasItsOwnPrefixesAndNoneIsHostflows) {
  for (const ProfileRow& a : profile_table()) {
    EXPECT_FALSE(profile_owns(a, "hostflow_interface_info")) << a.stem;
    for (const ProfileRow& b : profile_table()) {
      if (&a == &b) continue;
      std::string_view p = a.prefixes;
      while (!p.empty()) {
        const auto sp = p.find(' ');
        EXPECT_FALSE(profile_owns(b, p.substr(0, sp))) << a.stem << " vs " << b.stem;
        if (sp == std::string_view::npos) break;
        p.remove_prefix(sp + 1);
      }
    }
  }
}

// ---- truenas: collector/network.go buildInterfaceInfo, case by case -----------------------------

TruenasLabels classify(std::string_view iface, std::string_view owner_type = "",
                       std::string_view owner = "", std::string_view kind = "",
                       std::string_view app = "", std::string_view network = "") {
  return truenas_classify({iface, owner_type, owner, kind, app, network});
}

TEST(TruenasProfile, ClassifiesByTheSeedsNameRulesInOrder) {
  EXPECT_EQ(classify("lo").instance_type, "loopback");
  EXPECT_EQ(classify("lo").instance, "loopback");
  // A veth is "docker" whatever owns it; mapped ones carry the container and its app.
  auto v = classify("veth1a2b", "container", "ix-immich-server-1", "veth", "immich");
  EXPECT_EQ(v.instance_type, "docker");
  EXPECT_EQ(v.instance, "ix-immich-server-1");
  EXPECT_EQ(v.app, "immich");
  v = classify("veth9", "", "", "veth", "", "ix-immich_default");
  EXPECT_EQ(v.instance, "veth9");
  EXPECT_EQ(v.app, "immich");
  // vnet/macvtap: the TrueNAS VM name (libvirt's "<id>_<name>" without the id).
  v = classify("vnet0", "vm", "1_vyos", "tap");
  EXPECT_EQ(v.instance_type, "vm");
  EXPECT_EQ(v.instance, "vyos");
  EXPECT_EQ(classify("vnet3", "host", "vnet3", "tap").instance, "vnet3");
  EXPECT_EQ(classify("macvtap0", "vm", "7_db", "macvtap").instance_type, "macvtap");
  EXPECT_EQ(classify("macvlan2").instance_type, "macvtap");
  EXPECT_EQ(classify("vlan10", "host", "vlan10", "vlan").instance_type, "vlan");
  // Any "br..." (also "bridge0"), "docker..." and "incus..." name is a bridge; only "br-" ones
  // are named after their Docker network.
  auto b = classify("br-0123456789ab", "bridge", "ix-nextcloud_default", "bridge");
  EXPECT_EQ(b.instance_type, "bridge");
  EXPECT_EQ(b.instance, "ix-nextcloud_default");
  EXPECT_EQ(b.app, "nextcloud");
  EXPECT_EQ(classify("docker0", "bridge", "bridge", "bridge").instance, "docker0");
  EXPECT_EQ(classify("bridge0", "host", "bridge0", "").instance_type, "bridge");
  EXPECT_EQ(classify("incusbr0", "bridge", "incusbr0", "bridge").instance_type, "bridge");
  // Not by kind: "virbr0" is not "br..." and has no device, so the seed says unknown.
  EXPECT_EQ(classify("virbr0", "bridge", "virbr0", "bridge").instance_type, "unknown");
  EXPECT_EQ(classify("enp8s0f0", "host", "enp8s0f0", "physical").instance_type, "physical");
  EXPECT_EQ(classify("wg0", "host", "wg0", "wireguard").instance_type, "unknown");
  EXPECT_EQ(classify("tap0", "vm", "1_vyos", "tap").instance_type, "unknown");
}

TEST(TruenasProfile, AppNamesFollowAppNameAndAppNameFromDockerNetwork) {
  EXPECT_EQ(truenas_app_name("ix-immich", true, "whatever"), "immich");
  EXPECT_EQ(truenas_app_name("", true, "ix-grafana-grafana-1"), "");  // present, empty
  EXPECT_EQ(truenas_app_name("", false, "ix-grafana-grafana-1"), "grafana-grafana");
  EXPECT_EQ(truenas_app_name("", false, "web"), "web");
  EXPECT_EQ(truenas_app_name("", false, "web-a1"), "web-a1");
  EXPECT_EQ(truenas_app_from_network("ix-immich_ix-internal-immich-net"), "immich");
  EXPECT_EQ(truenas_app_from_network("ix-foo"), "foo");
  EXPECT_EQ(truenas_app_from_network("myproj_default"), "");
  EXPECT_EQ(truenas_app_from_network("bridge"), "");
}

// ---- the pipeline side, on hand-made native families --------------------------------------------

FamilySet native_links() {
  FamilySet set;
  Family info("hostflow_interface_info", "h", metrics::Type::kGauge);
  info.set_label_names(
      {"interface", "owner_type", "owner", "app", "ifindex", "kind", "operstate", "bridge", "mac"});
  info.add_values({"eth0", "host", "eth0", "", "2", "physical", "up", "", "m"}, 1);
  info.add_values({"lo", "host", "lo", "", "1", "loopback", "unknown", "", "m"}, 1);
  set.add(std::move(info));
  Family rx("hostflow_interface_receive_dropped_total", "h", metrics::Type::kCounter);
  rx.set_label_names({"interface", "owner_type", "owner", "app"});
  rx.add_values({"eth0", "host", "eth0", ""}, 5);
  rx.add_values({"lo", "host", "lo", ""}, 0);
  set.add(std::move(rx));
  Family missed("hostflow_interface_receive_missed_errors_total", "h", metrics::Type::kCounter);
  missed.set_label_names({"interface", "owner_type", "owner", "app"});
  missed.add_values({"eth0", "host", "eth0", ""}, 7);
  missed.add_values({"lo", "host", "lo", ""}, 0);
  set.add(std::move(missed));
  return set;
}

TEST(TruenasProfile, ReceiveDroppedIsProcNetDevsDropColumnDroppedPlusMissed) {
  const FamilySet set = native_links();
  const NativeFamilies native(set);
  auto p = make_truenas_profile(ExporterConfig{});
  FamilySet out;
  p->emit({native, true, 0}, out);
  const Family* f = nullptr;
  for (const Family& g : out.families())
    if (g.name() == "net_interface_rx_dropped_total") f = &g;
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->size(), 2u);
  const Column iface(f, "interface"), state(f, "state"), type(f, "instance_type");
  for (std::size_t s = 0; s < f->size(); s++) {
    if (iface(s) == "eth0") {
      EXPECT_EQ(f->value(s), 12);
      EXPECT_EQ(type(s), "physical");
      EXPECT_EQ(state(s), "up");
    } else {
      EXPECT_EQ(type(s), "loopback");
    }
  }
}

// ---- netprobe ----------------------------------------------------------------------------------

FamilySet native_tc(double pps_in, double pps_out, bool with_rates) {
  FamilySet set;
  Family info("hostflow_interface_info", "h", metrics::Type::kGauge);
  info.set_label_names({"interface", "ifindex"});
  info.add_values({"eth0", "4"}, 1);
  set.add(std::move(info));
  Family pk("hostflow_tc_packets_total", "h", metrics::Type::kCounter);
  pk.set_label_names({"interface", "direction"});
  pk.add_values({"eth0", "ingress"}, 10);
  pk.add_values({"eth0", "egress"}, 0);
  pk.add_values({"idle0", "ingress"}, 0);
  pk.add_values({"idle0", "egress"}, 0);
  set.add(std::move(pk));
  if (with_rates) {
    Family pps("hostflow_tc_packets_per_second", "h", metrics::Type::kGauge);
    pps.set_label_names({"interface", "direction"});
    pps.add_values({"eth0", "ingress"}, pps_in);
    pps.add_values({"eth0", "egress"}, pps_out);
    set.add(std::move(pps));
  }
  return set;
}

const Family* find(const FamilySet& s, std::string_view name) {
  for (const Family& f : s.families())
    if (f.name() == name) return &f;
  return nullptr;
}

TEST(NetprobeProfile, ActiveMeansMoreThanATenthOfAPacketPerSecondEitherWay) {
  for (const auto& [in, out, want] : {std::tuple{0.1, 0.0, 0.0}, std::tuple{0.11, 0.0, 1.0},
                                      std::tuple{0.0, 0.2, 1.0}, std::tuple{0.0, 0.0, 0.0}}) {
    const FamilySet set = native_tc(in, out, true);
    const NativeFamilies native(set);
    FamilySet got;
    make_netprobe_profile(ExporterConfig{})->emit({native, true, 0}, got);
    const Family* a = find(got, "netprobe_interface_active");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->size(), 1u) << "an interface with no packet is not in NetProbe's map";
    EXPECT_EQ(a->value(0), want) << in << " " << out;
    EXPECT_EQ(Column(a, "ifindex")(0), "4");
  }
}

TEST(NetprobeProfile, AFirstSnapshotWithoutRatesShowsZeroRatesNotNone) {
  const FamilySet set = native_tc(0, 0, false);
  const NativeFamilies native(set);
  FamilySet got;
  make_netprobe_profile(ExporterConfig{})->emit({native, true, 0}, got);
  const Family* pps = find(got, "netprobe_tc_packets_per_second");
  ASSERT_NE(pps, nullptr);
  ASSERT_EQ(pps->size(), 2u);
  EXPECT_EQ(pps->value(0), 0);
  const Family* up = find(got, "netprobe_up");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->value(0), 1);
}

// ---- traffic: the Traffic Exporter (seed 000), main.go ------------------------------------------

// Native families of one rendering: VMs (uuid, run/vm id, CID, received, sent) and SNIs.
struct TrafficVm {
  std::string uuid, run_vm, cid;
  double rx, tx;
};
FamilySet traffic_native(const std::vector<TrafficVm>& vms, bool with_sni = false) {
  FamilySet set;
  Family ids("hostflow_vm_cmdline_info", "h", metrics::Type::kGauge);
  ids.set_label_names({"vm_uuid", "vm_name", "run_vm_id", "guest_cid"});
  Family rx("hostflow_vm_network_receive_bytes_total", "h", metrics::Type::kCounter);
  Family tx("hostflow_vm_network_transmit_bytes_total", "h", metrics::Type::kCounter);
  rx.set_label_names({"vm_uuid", "vm_name"});
  tx.set_label_names({"vm_uuid", "vm_name"});
  for (const TrafficVm& v : vms) {
    if (!v.run_vm.empty() || !v.cid.empty()) ids.add_values({v.uuid, "n", v.run_vm, v.cid}, 1);
    rx.add_values({v.uuid, "n"}, v.rx);
    tx.add_values({v.uuid, "n"}, v.tx);
  }
  set.add(std::move(ids));
  set.add(std::move(rx));
  set.add(std::move(tx));
  if (with_sni) {
    for (const char* name :
         {"hostflow_haproxy_sni_connections_total", "hostflow_haproxy_sni_bytes_total",
          "hostflow_haproxy_sni_zero_byte_connections_total"}) {
      Family f(name, "h", metrics::Type::kCounter);
      f.set_label_names({"sni"});
      f.add_values({"b.example"}, 3);
      f.add_values({"a.example"}, 2);
      f.add_values({"<other>"}, 1);
      f.add_values({"<none>"}, 4);
      set.add(std::move(f));
    }
  }
  return set;
}

std::unique_ptr<Profile> traffic_profile() {
  return find_profile("traffic")->make(ExporterConfig{});
}

FamilySet traffic_emit(Profile& p, const FamilySet& native, std::uint64_t t_s, bool fresh = true) {
  const NativeFamilies nf(native);
  FamilySet out;
  p.emit({nf, fresh, t_s * 1'000'000'000ull}, out);
  return out;
}

// A sample of `family` by its labels; -1 when absent.
double traffic_value(const FamilySet& s, std::string_view family, std::string_view direction,
                     std::string_view uuid) {
  const Family* f = find(s, family);
  if (!f) return -1;
  const Column d(f, "direction"), u(f, "uuid");
  for (std::size_t i = 0; i < f->size(); i++)
    if (d(i) == direction && u(i) == uuid) return f->value(i);
  return -1;
}

TEST(TrafficProfile, SniFamiliesAreTheNativeCountersAsGaugesSortedWithNoneAsDash) {
  auto p = traffic_profile();
  const FamilySet out = traffic_emit(*p, traffic_native({}, true), 100);
  const char* names[] = {"haproxy_sni_connections", "haproxy_sni_total_bytes",
                         "haproxy_sni_zero_bytes"};
  ASSERT_EQ(out.families().size(), 3u);  // no VM: no qemu_* family at all (as the seed)
  for (std::size_t k = 0; k < 3; k++) {
    const Family& f = out.families()[k];
    EXPECT_EQ(f.name(), names[k]);
    EXPECT_EQ(f.type(), metrics::Type::kGauge);
    ASSERT_EQ(f.label_names(), std::vector<std::string>{"sni"});
    ASSERT_EQ(f.size(), 4u);
    // Byte order of the values: "-" (was <none>) < "<other>" < "a..." < "b...".
    EXPECT_EQ(f.label_value(0, 0), "-");
    EXPECT_EQ(f.value(0), 4);
    EXPECT_EQ(f.label_value(1, 0), "<other>");
    EXPECT_EQ(f.label_value(2, 0), "a.example");
    EXPECT_EQ(f.label_value(3, 0), "b.example");
  }
  EXPECT_EQ(out.families()[1].help(), "Total bytes transferred per SNI");
  // The haproxy area off: no SNI family.
  EXPECT_TRUE(traffic_emit(*p, FamilySet{}, 105).families().empty());
}

TEST(TrafficProfile, QemuTotalsArePerVmByTheSeedsIdWithRxWhatTheVmReceived) {
  auto p = traffic_profile();
  const FamilySet out = traffic_emit(*p,
                                     traffic_native({{"u1", "vm-12345", "3", 1000, 200},
                                                     {"u2", "", "1001", 50, 60},
                                                     {"u3", "vm-12345", "", 7, 7},  // same id
                                                     {"u4", "", "", 9, 9}}),        // no id
                                     100);
  const char* order[] = {"qemu_network_15min_bytes", "qemu_network_1h_bytes",
                         "qemu_network_1min_bytes",  "qemu_network_30s_bytes",
                         "qemu_network_5min_bytes",  "qemu_network_total_bytes"};
  ASSERT_EQ(out.families().size(), 6u);
  for (std::size_t k = 0; k < 6; k++) {
    const Family& f = out.families()[k];
    EXPECT_EQ(f.name(), order[k]);
    EXPECT_EQ(f.type(), metrics::Type::kGauge);
    EXPECT_EQ(f.label_names(), (std::vector<std::string>{"direction", "uuid"}));
    ASSERT_EQ(f.size(), 4u);  // 2 ids x rx/tx: all rx by uuid, then all tx
    EXPECT_EQ(f.label_value(0, 0), "rx");
    EXPECT_EQ(f.label_value(0, 1), "CID-1001");
    EXPECT_EQ(f.label_value(1, 1), "vm-12345");
    EXPECT_EQ(f.label_value(2, 0), "tx");
  }
  // The first VM of one id wins (u1, not u3); rx = hostflow_vm_network_receive_bytes_total.
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-12345"), 1000);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "tx", "vm-12345"), 200);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "CID-1001"), 50);
  // One sample: every window is 0.
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-12345"), 0);
  EXPECT_EQ(find(out, "qemu_network_total_bytes")->help(), "Total network bytes for QEMU process");
}

// calculateBytesInWindow: from the oldest sample not before now - W (so at most W of traffic),
// the oldest of all when the history is shorter; samples every 5 s.
TEST(TrafficProfile, WindowsFollowTheSeedsRule) {
  auto p = traffic_profile();
  FamilySet out;
  for (std::uint64_t k = 0; k <= 20; k++)  // t = 1000, 1005, ..., 1100; 10 bytes per second
    out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 10.0 * 5 * k, 0}}), 1000 + 5 * k);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 300);  // t 1070..1100
  EXPECT_EQ(traffic_value(out, "qemu_network_1min_bytes", "rx", "vm-1"), 600);
  EXPECT_EQ(traffic_value(out, "qemu_network_5min_bytes", "rx", "vm-1"), 1000);  // all 100 s
  EXPECT_EQ(traffic_value(out, "qemu_network_1h_bytes", "rx", "vm-1"), 1000);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-1"), 1000);
  // Renderings between snapshots (HAProxy polls): the newest sample moves with them, a new one is
  // kept only 5 s after the one before it (1100, then 1101 moving to 1104).
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1010, 0}}), 1101);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 260);  // 1075..1101
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1040, 0}}), 1104);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 290);  // 1075..1104
  // A VM gone is dropped (the seed freezes it); back, it starts over: windows 0.
  out = traffic_emit(*p, traffic_native({}), 1105);
  EXPECT_EQ(find(out, "qemu_network_total_bytes"), nullptr);
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 2000, 0}}), 1110);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-1"), 2000);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 0);
  // Stale: no per-VM series, the history is kept.
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 2000, 0}}), 1115, false);
  EXPECT_EQ(find(out, "qemu_network_total_bytes"), nullptr);
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 2100, 0}}), 1120);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 100);
}

// POST /reset: the profile's totals count from the totals last seen and its windows start over;
// the native counters are not touched (they stay monotonic).
TEST(TrafficProfile, ResetZeroesTheProfilesTotalsNotTheNativeOnes) {
  auto p = traffic_profile();
  traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1000, 500}}), 100);
  FamilySet out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1200, 600}}), 105);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 200);
  p->reset();
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1300, 600}}), 110);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-1"), 100);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "tx", "vm-1"), 0);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 0);
  out = traffic_emit(*p, traffic_native({{"u1", "vm-1", "", 1350, 610}}), 115);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-1"), 150);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "rx", "vm-1"), 50);
  EXPECT_EQ(traffic_value(out, "qemu_network_30s_bytes", "tx", "vm-1"), 10);
  // A native total below the baseline is another VM under that id: counted from zero.
  out = traffic_emit(*p, traffic_native({{"u9", "vm-1", "", 40, 5}}), 120);
  EXPECT_EQ(traffic_value(out, "qemu_network_total_bytes", "rx", "vm-1"), 40);
}

}  // namespace
}  // namespace hostflow::exporter
