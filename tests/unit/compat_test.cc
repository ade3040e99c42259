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

}  // namespace
}  // namespace hostflow::exporter
