// Compatibility profiles (exporter/compat/): the flags, the pipeline's handling of profiles
// (--compat.native=false, prefixes, reset) and each profile's rules, against the replaced tools'
// own code as docs/compat.md quotes it. The whole families of every profile are compared in
// golden_test (tests/golden/compat_<stem>.prom); the real kernel, dockerd and QEMU in
// tests/integration/compat_test.cc.
#include <gtest/gtest.h>

#include "compat/netprobe/netprobe_profile.h"
#include "compat/platform/platform_profile.h"
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

// ---- oie: the OpenStack Instance Exporter (main.go at 74e4cb1, docs/compat.md#oie) ----------
// (Its own include here keeps this section one block at the end of the file.)
#include "compat/oie/oie_profile.h"

namespace hostflow::exporter {
namespace {

TEST(OieProfile, RoundsLikeRoundToFiveDecimalsAndGbytesIsBytesOverTwoToThe30) {
  EXPECT_EQ(oie_gbytes(220049152), 0.20494);
  EXPECT_EQ(oie_gbytes(4116480), 0.00383);
  EXPECT_EQ(oie_gbytes(1073741824), 1);
  EXPECT_EQ(oie_round5(0.000005), 0.00001);  // math.Round: half away from zero
  EXPECT_EQ(oie_round5(-0.000005), -0.00001);
  EXPECT_EQ(oie_round5(33.333333), 33.33333);
}

TEST(OieProfile, NovaLabelsAreTrimmedDefaultedAndNumbersParsedAsGoInts) {
  EXPECT_EQ(oie_text_label("  acme \n"), "acme");
  EXPECT_EQ(oie_text_label(" "), "unknown");
  EXPECT_EQ(oie_int_label(" 2 "), "2");
  EXPECT_EQ(oie_int_label(""), "0");
  EXPECT_EQ(oie_int_label("+007"), "7");
  EXPECT_EQ(oie_int_label("-0"), "0");
  EXPECT_EQ(oie_int_label("9223372036854775807"), "9223372036854775807");
  EXPECT_FALSE(oie_int_label("9223372036854775808"));
  EXPECT_FALSE(oie_int_label("2.5"));
  EXPECT_FALSE(oie_int_label("two"));
  EXPECT_FALSE(oie_int_label("+"));
}

TEST(OieProfile, DiskTierAndUuidFollowParseDiskType) {
  auto d = oie_disk_labels("file", "/var/lib/nova/instances/u/disk");
  EXPECT_EQ(d.tier, "local");
  EXPECT_EQ(d.uuid, "/var/lib/nova/instances/u/disk");
  d = oie_disk_labels("network", "volumes-ssd/volume-5e6f");
  EXPECT_EQ(d.tier, "volumes-ssd");
  EXPECT_EQ(d.uuid, "volume-5e6f");
  d = oie_disk_labels("network", "a/b/c");
  EXPECT_EQ(d.uuid, "b");
  d = oie_disk_labels("network", "pool-only");
  EXPECT_EQ(d.tier, "unknown");
  EXPECT_EQ(d.uuid, "unknown");
  d = oie_disk_labels("block", "/dev/sdb");
  EXPECT_EQ(d.tier, "unknown");
  const std::map<std::string, double> m = {{"default", 500}, {"local", 200}};
  EXPECT_EQ(oie_threshold(m, "local", 100), 200);
  EXPECT_EQ(oie_threshold(m, "unknown", 100), 500);
  EXPECT_EQ(oie_threshold({}, "local", 100), 100);
}

// Native families of one rendering: two libvirt domains (one Nova instance, one plain), one
// Nova instance whose vcpus Go cannot parse, and a QEMU known only from its command line.
FamilySet oie_native(double generation, double tor_active_out, double tor_active_in,
                     double ct_entries, bool with_cpu) {
  FamilySet set;
  Family gen("hostflow_snapshot_generation", "h", metrics::Type::kGauge);
  gen.add(generation);
  set.add(std::move(gen));
  Family ts("hostflow_snapshot_timestamp_seconds", "h", metrics::Type::kGauge);
  ts.add(1000 + 5 * generation);
  set.add(std::move(ts));
  Family dur("hostflow_source_duration_seconds", "h", metrics::Type::kGauge);
  dur.set_label_names({"source"});
  dur.add_values({"libvirt"}, 0.25);
  dur.add_values({"conntrack"}, 0.5);
  set.add(std::move(dur));
  Family info("hostflow_vm_info", "h", metrics::Type::kGauge);
  info.set_label_names({"vm_uuid", "vm_name", "source"});
  info.add_values({"u-nova", "instance-1", "libvirt"}, 1);
  info.add_values({"u-plain", "plain", "libvirt"}, 1);
  info.add_values({"u-bad", "instance-bad", "libvirt"}, 1);
  info.add_values({"u-qemu", "foo", "cmdline"}, 1);
  set.add(std::move(info));
  Family vcpus("hostflow_vm_vcpus", "h", metrics::Type::kGauge);
  vcpus.set_label_names({"vm_uuid", "vm_name"});
  vcpus.add_values({"u-nova", "instance-1"}, 2);
  vcpus.add_values({"u-plain", "plain"}, 1);
  vcpus.add_values({"u-qemu", "foo"}, 8);
  set.add(std::move(vcpus));
  Family nova("hostflow_openstack_instance_info", "h", metrics::Type::kGauge);
  nova.set_label_names({"vm_uuid", "domain", "project_uuid", "project_name", "user_uuid",
                        "user_name", "flavor", "vcpus", "mem_mb", "root_type", "created_at",
                        "metadata_version", "package_version"});
  nova.add_values({"u-nova", "instance-1", "p1", " acme ", "us1", "", "m1.small", "2", "2048",
                   "image", "2024-05-14 09:31:02", "1.1", "27.1.0"},
                  1);
  nova.add_values({"u-bad", "instance-bad", "p2", "x", "us2", "y", "f", "2.5", "1", "image", "t",
                   "1.1", "27.1.0"},
                  1);
  set.add(std::move(nova));
  if (with_cpu) {
    Family cpu("hostflow_vm_cpu_percent", "h", metrics::Type::kGauge);
    cpu.set_label_names({"vm_uuid", "vm_name"});
    cpu.add_values({"u-nova", "instance-1"}, 100.0 / 3);
    set.add(std::move(cpu));
  }
  Family ent("hostflow_conntrack_entries", "h", metrics::Type::kGauge);
  ent.add(ct_entries);
  set.add(std::move(ent));
  const char* ob[] = {"hostflow_conntrack_ip_flows", "hostflow_outbound_unique_remotes",
                      "hostflow_outbound_unique_dst_ports", "hostflow_outbound_new_dst_ports"};
  for (const char* name : ob) {
    Family f(name, "h", metrics::Type::kGauge);
    f.set_label_names({"owner_type", "owner", "ip", "family"});
    const bool ports = std::string_view(name).find("dst_ports") != std::string_view::npos;
    f.add_values({"vm", "instance-1", "10.0.0.5", "ipv4"}, ports ? 0 : 21);
    f.add_values({"vm", "plain", "10.0.0.6", "ipv4"}, ports ? 2 : 22);
    f.add_values({"container", "instance-1", "10.0.0.7", "ipv4"}, 23);
    set.add(std::move(f));
  }
  Family act("hostflow_threat_contacts_active", "h", metrics::Type::kGauge);
  act.set_label_names({"owner_type", "owner", "list", "direction"});
  act.add_values({"vm", "instance-1", "tor_exit", "out"}, tor_active_out);
  act.add_values({"vm", "instance-1", "tor_exit", "in"}, tor_active_in);
  act.add_values({"vm", "instance-1", "spamhaus", "in"}, tor_active_in);
  set.add(std::move(act));
  return set;
}

FamilySet oie_emit(Profile& p, const FamilySet& native) {
  const NativeFamilies n(native);
  FamilySet out;
  p.emit({n, true, 1'700'000'000'000'000'000ull}, out);
  return out;
}

ExporterConfig oie_config(Direction tor, Direction spamhaus) {
  ExporterConfig cfg;
  FeedSpec t;
  t.name = "tor_exit";
  t.direction = tor;
  FeedSpec s;
  s.name = "spamhaus";
  s.direction = spamhaus;
  cfg.conntrack.feeds.feeds = {t, s};
  return cfg;
}

std::map<std::string, std::string> labels_of(const Family& f, std::size_t s) {
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i < f.label_names().size(); i++)
    m[f.label_names()[i]] = std::string(f.label_value(s, i));
  return m;
}

TEST(OieProfile, InstancesAreLibvirtDomainsWithTwelveLabelsAndUnparsableOnesAreSkipped) {
  auto p = find_profile("oie")->make(oie_config(Direction::kOut, Direction::kOut));
  const FamilySet out = oie_emit(*p, oie_native(1, 0, 0, 50, true));
  const Family* info = find(out, "oie_instance_info");
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->size(), 2u) << "the cmdline QEMU and the unparsable Nova instance are out";
  EXPECT_EQ(info->label_names().size(), 12u);
  std::map<std::string, std::map<std::string, std::string>> by_domain;
  for (std::size_t s = 0; s < info->size(); s++)
    by_domain[labels_of(*info, s)["domain"]] = labels_of(*info, s);
  const auto nova = by_domain["instance-1"];
  EXPECT_EQ(nova.at("metadata_version"), "27.1.0") << "<nova:package version>, not 1.1";
  EXPECT_EQ(nova.at("project_name"), "acme");
  EXPECT_EQ(nova.at("user_name"), "unknown");
  EXPECT_EQ(nova.at("instance_uuid"), "u-nova");
  const auto plain = by_domain["plain"];
  EXPECT_EQ(plain.at("project_uuid"), "");
  EXPECT_EQ(plain.at("flavor"), "unknown");
  EXPECT_EQ(plain.at("vcpus"), "0");
  EXPECT_EQ(plain.at("mem_mb"), "0");
  // CPU rounded to five decimals, with the UUID labels.
  const Family* cpu = find(out, "oie_cpu_percent");
  ASSERT_NE(cpu, nullptr);
  ASSERT_EQ(cpu->size(), 1u);
  EXPECT_EQ(cpu->value(0), 33.33333);
  EXPECT_EQ(labels_of(*cpu, 0)["user_uuid"], "us1");
  // Host health counts libvirt's domains only (the unparsable one too: OIE lists it).
  EXPECT_EQ(find(out, "oie_host_active_vms")->value(0), 3);
  EXPECT_EQ(find(out, "oie_host_active_vcpus")->value(0), 3);
  EXPECT_EQ(find(out, "oie_dynamic_cache_entries")->value(0), 2);
  EXPECT_EQ(find(out, "oie_host_collection_duration_seconds")->value(0), 0.75);
  EXPECT_EQ(find(out, "oie_host_libvirt_list_duration_seconds")->value(0), 0.25);
  EXPECT_EQ(find(out, "oie_static_cache_entries")->value(0), 0) << "before the second cycle";
  for (const Family& f : out.families()) EXPECT_EQ(f.name().rfind("oie_", 0), 0u) << f.name();
}

TEST(OieProfile, CpuMinZeroWritesAZeroWhereHostflowHasNoUsageYet) {
  ExporterConfig cfg = oie_config(Direction::kOut, Direction::kOut);
  cfg.vms.cpu_min = 0;
  auto p = find_profile("oie")->make(cfg);
  const FamilySet out = oie_emit(*p, oie_native(1, 0, 0, 50, false));
  const Family* cpu = find(out, "oie_cpu_percent");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->size(), 2u);
  for (std::size_t s = 0; s < cpu->size(); s++) EXPECT_EQ(cpu->value(s), 0);
  // The default (10) writes nothing without a sample.
  auto q = find_profile("oie")->make(oie_config(Direction::kOut, Direction::kOut));
  EXPECT_EQ(find(oie_emit(*q, oie_native(1, 0, 0, 50, false)), "oie_cpu_percent"), nullptr);
}

TEST(OieProfile, ConntrackNeedsEntriesAndPortFamiliesNeedDestinationPorts) {
  auto p = find_profile("oie")->make(oie_config(Direction::kOut, Direction::kOut));
  FamilySet out = oie_emit(*p, oie_native(1, 0, 0, 50, true));
  const Family* flows = find(out, "oie_conntrack_ip_flows_total");
  ASSERT_NE(flows, nullptr);
  EXPECT_EQ(flows->size(), 2u) << "VMs only, by their libvirt name";
  EXPECT_EQ(flows->label_names(), (std::vector<std::string>{"domain", "family", "instance_uuid",
                                                            "ip", "project_uuid", "user_uuid"}));
  EXPECT_EQ(find(out, "oie_outbound_unique_remotes")->size(), 2u);
  const Family* ports = find(out, "oie_outbound_new_dst_ports");
  ASSERT_NE(ports, nullptr);
  ASSERT_EQ(ports->size(), 1u) << "only the fixed IP with unique destination ports > 0";
  EXPECT_EQ(labels_of(*ports, 0)["ip"], "10.0.0.6");
  // An empty conntrack table: OIE looks at no flow at all.
  auto q = find_profile("oie")->make(oie_config(Direction::kOut, Direction::kOut));
  out = oie_emit(*q, oie_native(1, 0, 0, 0, true));
  EXPECT_EQ(find(out, "oie_conntrack_ip_flows_total"), nullptr);
  EXPECT_EQ(find(out, "oie_outbound_unique_remotes"), nullptr);
}

TEST(OieProfile, ContactsFollowTheConfiguredDirectionAndSumOncePerSnapshot) {
  auto p = find_profile("oie")->make(oie_config(Direction::kAny, Direction::kOut));
  FamilySet out = oie_emit(*p, oie_native(1, 2, 1, 50, true));
  const Family* act = find(out, "oie_tor_exit_contact_active");
  ASSERT_NE(act, nullptr);
  ASSERT_EQ(act->size(), 1u);
  EXPECT_EQ(act->value(0), 3) << "any = out + in";
  EXPECT_EQ(labels_of(*act, 0)["direction"], "any") << "the configured direction";
  // Spamhaus counts "out" only: its "in" contact is not OIE's, and zeros are not written.
  EXPECT_EQ(find(out, "oie_spamhaus_contact_active"), nullptr);
  EXPECT_EQ(find(out, "oie_spamhaus_contact"), nullptr);
  EXPECT_EQ(find(out, "oie_tor_exit_contact")->value(0), 3);
  // The same snapshot rendered again (a freshness flip) adds nothing; the next one adds.
  out = oie_emit(*p, oie_native(1, 2, 1, 50, true));
  EXPECT_EQ(find(out, "oie_tor_exit_contact")->value(0), 3);
  out = oie_emit(*p, oie_native(2, 1, 0, 50, true));
  EXPECT_EQ(find(out, "oie_tor_exit_contact")->value(0), 4);
  EXPECT_EQ(find(out, "oie_tor_exit_contact_active")->value(0), 1);
  EXPECT_EQ(find(out, "oie_static_cache_entries")->value(0), 1) << "host_active exists now";
  // Lists that are not enabled have no families; no contact: only the running sum stays.
  EXPECT_EQ(find(out, "oie_customlist_contact"), nullptr);
  out = oie_emit(*p, oie_native(3, 0, 0, 50, true));
  EXPECT_EQ(find(out, "oie_tor_exit_contact_active"), nullptr);
  EXPECT_EQ(find(out, "oie_tor_exit_contact")->value(0), 4);
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

// ---- platform ----------------------------------------------------------------------------------

TEST(PlatformProfile, ContainerIdFollowsExtractContainerIdsRulesInOrder) {
  // Rule 1: df /'s device "…subvol-<digits>-disk-<digits>…" (re.search, leftmost).
  EXPECT_EQ(platform_seed_container_id("rpool/data/subvol-101-disk-0", "ct7"), "101");
  EXPECT_EQ(platform_seed_container_id("subvol-x-disk-1/subvol-202-disk-12", "h"), "202");
  EXPECT_EQ(platform_seed_container_id("subvol-303-disk-", "host"), "unknown");
  // Rule 3: the first run of digits of the host name, taken only with 3 or more.
  EXPECT_EQ(platform_seed_container_id("/dev/sda1", "pve104"), "104");
  EXPECT_EQ(platform_seed_container_id("/dev/sda1", "pve-01-node1234"), "unknown");
  EXPECT_EQ(platform_seed_container_id("/dev/mapper/pve-vm--101--disk--0", "web"), "unknown");
  EXPECT_EQ(platform_seed_container_id("", "12345"), "12345");
}

FamilySet native_platform(bool with_limit) {
  FamilySet set;
  auto one = [&](const char* name, double v) {
    Family f(name, "h", metrics::Type::kGauge);
    f.add(v);
    set.add(std::move(f));
  };
  Family info("hostflow_platform_info", "h", metrics::Type::kGauge);
  info.add({{"kind", "proxmox"}, {"virtualization", "none"}}, 1);
  set.add(std::move(info));
  one("hostflow_platform_memory_total_bytes", 16000);
  one("hostflow_platform_memory_free_bytes", 2000);
  one("hostflow_platform_memory_available_bytes", 9000);
  one("hostflow_platform_memory_buffers_bytes", 500);
  one("hostflow_platform_memory_cached_bytes", 6000);
  one("hostflow_platform_processes", 321);
  for (const char* fig : {"size", "avail", "used"}) {
    Family f(std::string("hostflow_platform_filesystem_") + fig + "_bytes", "h",
             metrics::Type::kGauge);
    f.set_label_names({"device", "mountpoint", "fstype"});
    const double base = fig == std::string("size") ? 1000 : fig == std::string("avail") ? 300 : 600;
    f.add_values({"/dev/sdb1", "/srv", "ext4"}, base * 10);
    f.add_values({"rpool/data/subvol-555-disk-0", "/", "zfs"}, base);
    set.add(std::move(f));
  }
  Family ci("hostflow_platform_container_info", "h", metrics::Type::kGauge);
  ci.set_label_names({"container_id", "name", "layout", "cgroup"});
  ci.add_values({"101", "web101", "proxmox", "v2"}, 1);
  set.add(std::move(ci));
  auto per_ct = [&](const char* name, double v) {
    Family f(name, "h", metrics::Type::kGauge);
    f.set_label_names({"container_id", "name"});
    f.add_values({"101", "web101"}, v);
    set.add(std::move(f));
  };
  per_ct("hostflow_platform_container_memory_used_bytes", 700);
  if (with_limit) per_ct("hostflow_platform_container_memory_limit_bytes", 2048);
  per_ct("hostflow_platform_container_processes", 23);
  per_ct("hostflow_platform_container_rootfs_size_bytes", 8000);
  per_ct("hostflow_platform_container_rootfs_used_bytes", 3000);
  per_ct("hostflow_platform_container_rootfs_avail_bytes", 5000);
  return set;
}

// The value of `family` for the series whose container_id is `id`.
double platform_value(const FamilySet& out, std::string_view family, std::string_view id) {
  const Family* f = find(out, family);
  EXPECT_NE(f, nullptr) << family;
  if (!f) return -1;
  const Column cid(f, "container_id");
  for (std::size_t s = 0; s < f->size(); s++)
    if (cid(s) == id) return f->value(s);
  ADD_FAILURE() << family << " has no series for container_id " << id;
  return -1;
}

TEST(PlatformProfile, TheMachineUsesTheSeedsMeminfoRuleAndOnlyTheRootFilesystem) {
  const FamilySet set = native_platform(true);
  const NativeFamilies native(set);
  ExporterConfig cfg;
  cfg.compat.platform_hostname = "pve";
  auto p = make_platform_profile(cfg);
  FamilySet out;
  p->emit({native, true, 0}, out);
  // container_id from the root filesystem's ZFS subvolume name.
  EXPECT_EQ(platform_value(out, "node_memory_usage_bytes", "555"), 16000 - 2000 - 500 - 6000);
  EXPECT_EQ(platform_value(out, "node_memory_free_bytes", "555"), 2000 + 500 + 6000);
  EXPECT_EQ(platform_value(out, "node_memory_available_bytes", "555"), 9000);
  EXPECT_EQ(platform_value(out, "node_memory_total_bytes", "555"), 16000);
  EXPECT_EQ(platform_value(out, "node_processes_total", "555"), 321);
  const Family* size = find(out, "node_filesystem_size_bytes");
  ASSERT_NE(size, nullptr);
  ASSERT_EQ(size->size(), 2u);  // the machine's "/" and the container's root
  const Column host(size, "host_name"), inst(size, "instance"), mp(size, "mountpoint"),
      dev(size, "device"), type(size, "fstype");
  EXPECT_EQ(host(0), "pve");
  EXPECT_EQ(inst(0), "pve:555");
  EXPECT_EQ(mp(0), "/");
  EXPECT_EQ(dev(0), "rpool/data/subvol-555-disk-0");
  EXPECT_EQ(type(0), "zfs");
  EXPECT_EQ(size->value(0), 1000);
  EXPECT_EQ(platform_value(out, "node_filesystem_usage_bytes", "555"), 600);
  EXPECT_EQ(platform_value(out, "node_filesystem_avail_bytes", "555"), 300);
  EXPECT_EQ(size->label_names(), (std::vector<std::string>{"host_name", "container_id", "instance",
                                                           "device", "mountpoint", "fstype"}));
}

TEST(PlatformProfile, EachContainerIsWhatTheSeedInsideItWouldReportWithoutPageCache) {
  const FamilySet set = native_platform(true);
  const NativeFamilies native(set);
  auto p = make_platform_profile(ExporterConfig{});
  FamilySet out;
  p->emit({native, true, 0}, out);
  EXPECT_EQ(platform_value(out, "node_memory_usage_bytes", "101"), 700);
  EXPECT_EQ(platform_value(out, "node_memory_total_bytes", "101"), 2048);
  EXPECT_EQ(platform_value(out, "node_memory_free_bytes", "101"), 2048 - 700);
  EXPECT_EQ(platform_value(out, "node_memory_available_bytes", "101"), 2048 - 700);
  EXPECT_EQ(platform_value(out, "node_processes_total", "101"), 23);
  EXPECT_EQ(platform_value(out, "node_filesystem_size_bytes", "101"), 8000);
  EXPECT_EQ(platform_value(out, "node_filesystem_usage_bytes", "101"), 3000);
  EXPECT_EQ(platform_value(out, "node_filesystem_avail_bytes", "101"), 5000);
  const Family* used = find(out, "node_memory_usage_bytes");
  const Column host(used, "host_name"), inst(used, "instance");
  EXPECT_EQ(host(1), "web101");
  EXPECT_EQ(inst(1), "web101:101");
  // Without a limit, the host's MemTotal (what lxcfs shows the container).
  const FamilySet unlimited = native_platform(false);
  const NativeFamilies n2(unlimited);
  FamilySet out2;
  p->emit({n2, true, 0}, out2);
  EXPECT_EQ(platform_value(out2, "node_memory_total_bytes", "101"), 16000);
  EXPECT_EQ(platform_value(out2, "node_memory_free_bytes", "101"), 16000 - 700);
}

TEST(PlatformProfile, NothingWithoutAFreshPlatformSnapshot) {
  FamilySet empty;
  const NativeFamilies native(empty);
  auto p = make_platform_profile(ExporterConfig{});
  FamilySet out;
  p->emit({native, false, 0}, out);
  EXPECT_TRUE(out.families().empty());
}

}  // namespace
}  // namespace hostflow::exporter
