// Golden expositions per data area (issue 13): one rich snapshot, built from the real fixtures in
// tests/fixtures where they exist and by hand where none does, is written as a real segment file
// and rendered through the exporter's public pipeline (ExporterConfig, validate, Pipeline). The
// exposition is split by family name into tests/golden/<stem>.prom, one file per area, whole
// families in the order the exporter renders them. Written from the code as it was before the
// exporter refactor, so the refactor can show it renders the same bytes.
//
//   UPDATE_GOLDEN=1 ./golden_test   rewrites the files (in the source tree) instead of comparing.
//
// Determinism: two snapshots a fixed 5 s apart (monotonic and real-time publish stamps chosen by
// the test; the monotonic one only placed near now so the snapshot is fresh), so rates, VM windows,
// CPU percent and "new" outbound counts depend on the fixed deltas only. Normalised, and nothing
// else: the version/revision labels of hostflow_build_info (they change per commit), and the
// three families whose values are measured or stamped by the exporter itself (see kMeasured).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "areas/conntrack/threat_feeds.h"
#include "areas/registry.h"
#include "compat/registry.h"
#include "config.h"
#include "hostflow/common/clock.h"
#include "hostflow/shm/builder.h"
#include "hostflow/shm/layout.h"
#include "hostflow/shm/seqlock.h"
#include "pipeline.h"
#include "segment_util.h"
#include "snapshot_builders.h"
#include "sources/conntrack.h"
#include "sources/links.h"
#include "sources/taps.h"
#include "support.h"

namespace hostflow {
namespace {

namespace fs = std::filesystem;
namespace ex = exporter;

// ---- areas -------------------------------------------------------------------------------------

// Each rendered family belongs to exactly one area, by its registry row's name prefixes
// (exporter/areas/registry.cc); tests/golden/<stem>.prom is that area's part of the exposition.
// Each compatibility profile (exporter/compat/registry.cc, all of them on in the scenario) is
// one more part: tests/golden/compat_<stem>.prom.
struct Area {
  std::string stem;
  std::function<bool(const std::string&)> owns;
};
const std::vector<Area>& areas() {
  static const std::vector<Area> kAreas = [] {
    std::vector<Area> v;
    for (const ex::AreaRow& r : ex::area_table())
      v.push_back({std::string(r.stem), [&r](const std::string& n) { return ex::row_owns(r, n); }});
    for (const ex::ProfileRow& r : ex::profile_table())
      v.push_back({"compat_" + std::string(r.stem),
                   [&r](const std::string& n) { return ex::profile_owns(r, n); }});
    return v;
  }();
  return kAreas;
}

// Families whose values the exporter measures or stamps itself at render time: their values are
// replaced by 0 after a range check (their HELP/TYPE/labels stay compared).
//  - hostflow_conntrack_aggregation_seconds: mono_ns() around the flow/threat computation.
//  - hostflow_threat_feed_refresh_duration_seconds: mono_ns() around FeedManager::refresh().
//  - hostflow_threat_feed_last_success_timestamp_seconds: real_ns() when refresh() succeeded
//    (the synchronous load of the file-backed lists has no way to be given a time).
//  - the oie profile's copies of the two feed families above, per list, and
//    oie_host_go_heap_alloc_bytes: the exporter's allocator in use (mallinfo2) at render time.
enum class Measured { kDuration, kNowTimestamp, kBytes };
const std::map<std::string, Measured>& measured() {
  static const std::map<std::string, Measured> k = [] {
    std::map<std::string, Measured> m = {
        {"hostflow_conntrack_aggregation_seconds", Measured::kDuration},
        {"hostflow_threat_feed_refresh_duration_seconds", Measured::kDuration},
        {"hostflow_threat_feed_last_success_timestamp_seconds", Measured::kNowTimestamp},
        {"oie_host_go_heap_alloc_bytes", Measured::kBytes},
    };
    for (const char* list :
         {"tor_exit", "tor_relay", "spamhaus", "emergingthreats", "customlist"}) {
      m[std::string("oie_") + list + "_refresh_duration_seconds"] = Measured::kDuration;
      m[std::string("oie_") + list + "_refresh_last_success_timestamp_seconds"] =
          Measured::kNowTimestamp;
    }
    return m;
  }();
  return k;
}

// ---- fixtures ----------------------------------------------------------------------------------

const fs::path kFixtures = HOSTFLOW_FIXTURES_DIR;

// The sampler's own decoder on a captured RTM_NEWLINK message.
sampler::DecodedLink decode_link_fixture(const std::string& bytes,
                                         std::vector<std::uint32_t>* keep) {
  keep->assign((bytes.size() + 3) / 4, 0);
  std::memcpy(keep->data(), bytes.data(), bytes.size());
  sampler::DecodedLink d;
  std::string err;
  EXPECT_TRUE(sampler::decode_link_message(reinterpret_cast<const nlmsghdr*>(keep->data()),
                                           bytes.size(), &d, &err))
      << err;
  return d;
}

// The sampler's own decoder on the captured ctnetlink dump.
std::vector<shm::ConntrackRecord> decode_ct_fixture() {
  const std::string bytes = test::read_file(kFixtures / "conntrack" / "ct-dump.bin");
  std::vector<std::uint32_t> buf((bytes.size() + 3) / 4);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  std::vector<shm::ConntrackRecord> out;
  int left = static_cast<int>(bytes.size());
  for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(m, left);
       m = NLMSG_NEXT(m, left)) {
    shm::ConntrackRecord r{};
    std::string err;
    EXPECT_TRUE(sampler::decode_ct_message(m, static_cast<std::size_t>(left), &r, &err)) << err;
    out.push_back(r);
  }
  return out;
}

// The fixture node's <domain> elements as libvirt hands them over (as vm_parsers_test does).
std::vector<std::pair<std::string, std::string>> fixture_domains() {  // (name, xml)
  pugi::xml_document doc;
  const std::string path = (kFixtures / "libvirt" / "nova-node.xml").string();
  EXPECT_TRUE(doc.load_file(path.c_str())) << path;
  std::vector<std::pair<std::string, std::string>> out;
  for (pugi::xml_node d : doc.child("node").children("domain")) {
    std::ostringstream s;
    d.print(s);
    out.emplace_back(d.child_value("name"), s.str());
  }
  return out;
}

// ---- the snapshot ------------------------------------------------------------------------------

constexpr std::uint64_t kHostNs = 4026531840ull;  // the sampler's netns
constexpr std::uint64_t kWebNs = 4026532201ull;   // Docker ix-h5app-web-1 (nsid 0, dumped)
constexpr std::uint64_t kC1Ns = 4026532305ull;    // Docker h5c1 (nsid 1, not dumped)
constexpr std::uint64_t kLxcNs = 4026532410ull;   // LXC web01 (nsid 2)
constexpr std::uint64_t kDemoNs = 4026532517ull;  // processes in no runtime (nsid 3, dumped)
constexpr std::uint64_t kC2Ns = 4026532620ull;    // Docker ix-h5c2-3, no Compose label (nsid 5)
constexpr std::uint64_t kC3Ns = 4026532731ull;    // Docker hfweb2-1, Compose ix-web2 (nsid 6)
constexpr std::uint64_t kRealBase = 1'700'000'100'000'000'000ull;  // first publish, CLOCK_REALTIME
constexpr std::uint64_t kDeltaNs = 5'000'000'000ull;               // between the two publishes

const char* kWebId = "941dae0df904c9419e1963ae1dd8cc76e7efe8561eba48ead29215212e3c38a9";
const char* kC1Id = "155caebbeb8e22c1a3c78a47b8b8019a9057f015d883704c6dc26b2b416a17c3";
const char* kC2Id = "2c2c3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const char* kC3Id = "3d3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b";

// Cases no captured fixture has, for the compatibility profiles' name rules (and the recording
// rules checked against them): two Docker containers with a veth each, one without a Compose
// label whose name ends in -<digits> (TrueNAS: app = the name without ix- and that tail), one
// with a Compose label; a libvirt domain named <id>_<name> as TrueNAS's middleware names them,
// with a vnet tap (TrueNAS: instance = <name>).
std::string docker_container_json(const char* id, const char* name, const char* labels) {
  return std::string(R"({"Id":")") + id + R"(","Names":["/)" + name +
         R"("],"Image":"h5busybox","ImageID":"sha256:bebb3c994b6fb6f0e9b7e8e5ded0c5f32b64376fce88a57f2780a1bc2cd9833a","Command":"sleep 1000","Created":1795323400,"Ports":[],"Labels":)" +
         labels +
         R"(,"State":"running","Status":"Up 5 minutes","HostConfig":{"NetworkMode":"default"},"NetworkSettings":{"Networks":{}},"Mounts":[]})";
}
const char* kTnUuid = "6a6a6a6a-1b2c-4d3e-8f40-516273849506";
const char* kTnXml =
    "<domain type='kvm' id='6'><name>6_tnvm</name>"
    "<uuid>6a6a6a6a-1b2c-4d3e-8f40-516273849506</uuid>"
    "<memory unit='KiB'>1048576</memory><vcpu placement='static'>1</vcpu>"
    "<devices><interface type='bridge'><source bridge='hfbr0'/><target dev='vnet6'/>"
    "<model type='virtio'/></interface></devices></domain>";
// For the oie profile's Nova rules: metadata written by hand with spaces, a sign and leading zeros
// in the numbers and an empty creation time (OIE: trimmed texts, "" -> unknown, Go ints), a block
// disk and a <source name> without a pool (OIE: disk_type/disk_uuid unknown); and a domain whose
// <nova:vcpus> Go cannot parse (OIE skips the domain: no oie_* series, but it is an active domain).
std::string nova_domain_xml(const char* name, const char* uuid, const char* vcpus,
                            const char* disks) {
  return std::string("<domain type='kvm'><name>") + name + "</name><uuid>" + uuid +
         "</uuid><metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
         "<nova:package version=' 28.0.1 '/><nova:name>hand</nova:name>"
         "<nova:creationTime></nova:creationTime>"
         "<nova:flavor name='  m1.tiny '><nova:memory>0512</nova:memory><nova:vcpus>" +
         vcpus +
         "</nova:vcpus></nova:flavor><nova:owner>"
         "<nova:user uuid='5c5c5c5c5c5c4c5c8c5c5c5c5c5c5c5c'> carol </nova:user>"
         "<nova:project uuid='6d6d6d6d6d6d4d6d8d6d6d6d6d6d6d6d'>acme-lab</nova:project>"
         "</nova:owner><nova:root type='volume'/></nova:instance></metadata>"
         "<memory unit='KiB'>524288</memory><vcpu>1</vcpu><devices>" +
         disks + "</devices></domain>";
}
const char* kHandUuid = "7b7b7b7b-2c3d-4e5f-8a6b-7c8d9e0f1a2b";
const char* kBadUuid = "8c8c8c8c-3d4e-4f50-9b7c-8d9e0f1a2b3c";
// A QEMU known from its command line only, with a vsock CID and no run/vm/<id> (the traffic
// profile's id CID-<n>).
std::string cid_cmdline() {
  using namespace std::string_literals;
  return "/usr/bin/qemu-system-x86_64\0-name\0cidvm\0"s +
         "-device\0vhost-vsock-pci,id=vsock0,guest-cid=42\0"s;
}

struct Inputs {
  std::map<std::string, std::string> link_bins;  // fixture name -> bytes
  std::vector<shm::ConntrackRecord> ct;          // from ct-dump.bin
  std::vector<std::pair<std::string, std::string>> domains;
  std::string tap_ifname;                // proc/fdinfo/tun.txt's iff:
  std::string qemu_libvirt, qemu_plain;  // QEMU command lines (captured)
  std::string qemu_dstack;  // dstack's VMM: run/vm/<id>, a vsock CID, user networking, no -name
  std::string docker_containers, docker_networks, docker_inspect;
  std::string lxc_cgroup;
};

Inputs load_inputs() {
  Inputs in;
  for (const char* n : {"lo", "hfbr0", "hfport0", "hfvb", "hfva", "hfifb0"})
    in.link_bins[n] = test::read_file(kFixtures / "netlink" / (std::string(n) + ".bin"));
  in.ct = decode_ct_fixture();
  in.domains = fixture_domains();
  const std::string fdinfo = test::read_file(kFixtures / "proc" / "fdinfo" / "tun.txt");
  if (auto iff = sampler::parse_fdinfo_iff(fdinfo)) in.tap_ifname = std::string(*iff);
  in.qemu_libvirt = test::read_file(kFixtures / "proc" / "cmdline" / "qemu-libvirt");
  in.qemu_plain = test::read_file(kFixtures / "proc" / "cmdline" / "qemu-tap");
  in.qemu_dstack = test::read_file(kFixtures / "proc" / "cmdline" / "qemu-dstack");
  in.docker_containers = test::read_file(kFixtures / "docker" / "containers.json");
  if (const auto end = in.docker_containers.rfind(']'); end != std::string::npos)
    in.docker_containers.insert(
        end, "," + docker_container_json(kC2Id, "ix-h5c2-3", "{}") + "," +
                 docker_container_json(kC3Id, "hfweb2-1",
                                       R"({"com.docker.compose.project":"ix-web2"})"));
  in.docker_networks = test::read_file(kFixtures / "docker" / "networks.json");
  in.docker_inspect = test::read_file(kFixtures / "docker" / "network-inspect.json");
  in.lxc_cgroup = test::read_file(kFixtures / "proc" / "cgroup" / "lxc-v2");
  return in;
}

void add_traffic(shm::LinkStats& s, std::uint64_t rx_b, std::uint64_t tx_b, std::uint64_t rx_p,
                 std::uint64_t tx_p) {
  s.rx_bytes += rx_b;
  s.tx_bytes += tx_b;
  s.rx_packets += rx_p;
  s.tx_packets += tx_p;
}

// A conntrack entry shaped like the captured ones (template: their status, flags, zone), with
// the addresses, ports and counters of the scenario. `reply_src` differs from `dst` under DNAT.
shm::ConntrackRecord ct_entry(const shm::ConntrackRecord& tpl, std::uint8_t proto, const char* src,
                              std::uint16_t sport, const char* dst, std::uint16_t dport,
                              std::uint64_t pkts, std::uint64_t bytes,
                              const char* reply_src = nullptr, std::uint16_t reply_sport = 0) {
  shm::ConntrackRecord r = tpl;
  std::uint8_t fam = 0, fam2 = 0;
  test::parse_ip(src, r.orig_src, &fam);
  test::parse_ip(dst, r.orig_dst, &fam2);
  EXPECT_EQ(fam, fam2);
  test::parse_ip(reply_src ? reply_src : dst, r.reply_src, &fam2);
  std::memcpy(r.reply_dst, r.orig_src, 16);
  r.family = fam;
  r.proto = proto;
  r.orig_sport = sport;
  r.orig_dport = dport;
  r.reply_sport = reply_src ? reply_sport : dport;
  r.reply_dport = sport;
  r.orig_packets = pkts;
  r.orig_bytes = bytes;
  r.reply_packets = pkts;
  r.reply_bytes = bytes * 3;
  return r;
}

struct Params {
  shm::SnapshotBuilder* b;
  std::uint32_t next = 0;
  void u(std::string_view key, std::uint64_t v, shm::ParamType t = shm::ParamType::kULLong) {
    shm::DomainParamRecord p{};
    p.key = b->add_string(key, 128);
    p.type = static_cast<std::uint32_t>(t);
    p.bits = v;
    b->add(p);
    next++;
  }
  void s(std::string_view key, std::string_view v) {
    shm::DomainParamRecord p{};
    p.key = b->add_string(key, 128);
    p.type = static_cast<std::uint32_t>(shm::ParamType::kString);
    p.str = b->add_string(v, 256);
    b->add(p);
    next++;
  }
};

shm::SourceStatusRecord source(shm::SnapshotBuilder& b, std::string_view name, std::uint64_t runs,
                               std::uint64_t duration_us, std::uint64_t items, std::uint64_t errors,
                               std::uint64_t real_ns) {
  shm::SourceStatusRecord s{};
  s.name = b.add_string(name, 32);
  s.state = static_cast<std::uint8_t>(shm::SourceState::kOk);
  s.duration_ns = duration_us * 1000;
  s.errors_total = errors;
  s.runs_total = runs;
  s.last_success_real_ns = real_ns - 40'000'000ull;
  s.items = items;
  return s;
}

// Snapshot `n` (1 or 2) of the scenario. The second has 5 s more traffic, CPU time, TC counts and
// a changed conntrack table.
void build_snapshot(shm::SnapshotBuilder& b, const Inputs& in, int n) {
  const bool second = n == 2;
  const std::uint64_t real = kRealBase + (second ? kDeltaNs : 0);

  // -- links: the captured ones (sampler's decoder), then the ones no fixture has.
  std::map<std::string, shm::LinkRecord> links;
  std::vector<std::uint32_t> keep;
  for (const auto& [name, bytes] : in.link_bins) {
    const sampler::DecodedLink d = decode_link_fixture(bytes, &keep);
    shm::LinkRecord r = d.rec;
    r.netns_inode = kHostNs;
    r.name = b.add_string(d.name, IFNAMSIZ);
    r.kind = b.add_string(d.kind, 32);
    r.slave_kind = b.add_string(d.slave_kind, 32);
    links[name] = r;
  }
  if (second) {
    add_traffic(links["hfport0"].stats, 52'000, 910'000, 400, 700);
    add_traffic(links["hfbr0"].stats, 60'000, 915'000, 460, 720);
    add_traffic(links["lo"].stats, 1'024, 1'024, 8, 8);
  }
  auto h5dk0 = test::link_record(b, kHostNs, "h5dk0", 7, "bridge", 0x07);
  auto veth_c1 = test::link_record(b, kHostNs, "veth5f1c2a9", 8, "veth", 0x08);
  test::enslave(b, veth_c1, 7);
  test::veth_peer(veth_c1, 1, 2);
  // The tap QEMU's fdinfo names, on the captured bridge hfbr0.
  auto tap = test::link_record(b, kHostNs, in.tap_ifname, 9, "tun", 0x09);
  test::enslave(b, tap, 2);
  auto hfq0 = test::link_record(b, kHostNs, "hfq0", 10, "tun", 0x0a);
  hfq0.operstate = IF_OPER_DOWN;  // no fd attached (LAB.md): NO-CARRIER, down
  hfq0.if_flags &= ~static_cast<std::uint32_t>(IFF_RUNNING | IFF_LOWER_UP);
  hfq0.carrier = 0;
  auto veth_lxc = test::link_record(b, kHostNs, "vethlxc0", 11, "veth", 0x0b);
  test::veth_peer(veth_lxc, 2, 2);
  auto veth_demo = test::link_record(b, kHostNs, "vethdemo0", 12, "veth", 0x0c);
  test::veth_peer(veth_demo, 3, 2);
  auto veth_orphan = test::link_record(b, kHostNs, "vethorph0", 13, "veth", 0x0d);
  auto veth_c2 = test::link_record(b, kHostNs, "veth2c2c2c2", 14, "veth", 0x0e);
  test::veth_peer(veth_c2, 5, 2);
  auto veth_c3 = test::link_record(b, kHostNs, "veth3d3d3d3", 15, "veth", 0x0f);
  test::veth_peer(veth_c3, 6, 2);
  auto vnet6 = test::link_record(b, kHostNs, "vnet6", 16, "tun", 0x10);
  test::enslave(b, vnet6, 2);
  test::veth_peer(veth_orphan, 4, 2);
  veth_orphan.operstate = IF_OPER_LOWERLAYERDOWN;
  add_traffic(h5dk0.stats, 8'000, 12'000, 80, 100);
  add_traffic(veth_c1.stats, 9'000, 14'000, 90, 110);
  add_traffic(tap.stats, 1'200'000, 3'400'000, 9'000, 12'000);
  add_traffic(veth_lxc.stats, 4'000, 6'000, 40, 50);
  add_traffic(veth_demo.stats, 700, 1'300, 7, 11);
  veth_demo.stats.rx_dropped = 3;
  add_traffic(veth_c2.stats, 2'000, 3'000, 20, 30);
  add_traffic(veth_c3.stats, 5'000, 7'000, 50, 70);
  add_traffic(vnet6.stats, 60'000, 80'000, 600, 800);
  if (second) {
    add_traffic(h5dk0.stats, 1'000, 2'000, 10, 20);
    add_traffic(veth_c1.stats, 1'500, 2'500, 15, 25);
    add_traffic(tap.stats, 250'000, 750'000, 500, 900);
    add_traffic(veth_lxc.stats, 100, 100, 1, 1);
  }
  for (const auto& [name, r] : links) b.add(r);
  for (const auto* r : {&h5dk0, &veth_c1, &tap, &hfq0, &veth_lxc, &veth_demo, &veth_orphan,
                        &veth_c2, &veth_c3, &vnet6})
    b.add(*r);
  // Other namespaces' links (IFLA_TARGET_NETNSID): ix-h5app-web-1's eth0 is hfport0's peer, its
  // counters the same traffic from the other end.
  auto foreign = [&](shm::LinkRecord r, std::uint64_t netns, std::int32_t nsid) {
    r.netns_inode = netns;
    r.netnsid = nsid;
    r.present |= shm::kLinkInOtherNetns;
    b.add(r);
  };
  {
    auto lo = links["lo"];
    foreign(lo, kWebNs, 0);
    auto eth0 = test::link_record(b, kHostNs, "eth0", 2, "veth", 0x20);
    eth0.stats = test::swapped(links["hfport0"].stats);
    eth0.link_ifindex = 3;
    eth0.present |= shm::kLinkHasLink;
    foreign(eth0, kWebNs, 0);
    auto demo_eth0 = test::link_record(b, kHostNs, "eth0", 2, "veth", 0x21);
    demo_eth0.stats = test::swapped(veth_demo.stats);
    foreign(demo_eth0, kDemoNs, 3);
  }

  // -- network namespaces with workloads
  b.add(test::netns_record(kWebNs, 0, 4101, 2, shm::kNetnsDumped, 2));
  b.add(test::netns_record(kC1Ns, 1, 4201, 1, 0, 0));
  b.add(test::netns_record(kLxcNs, 2, 4301, 1, 0, 0));
  b.add(test::netns_record(kDemoNs, 3, 4401, 1, shm::kNetnsDumped, 1));
  b.add(test::netns_record(0, 4, 0, 0, 0, 0));  // the orphan's peer: no process seen
  b.add(test::netns_record(kC2Ns, 5, 4501, 1, 0, 0));
  b.add(test::netns_record(kC3Ns, 6, 4601, 1, 0, 0));

  // -- processes: two QEMUs (host netns) and the workloads' processes
  b.add(test::proc_record(b, 1, kHostNs, "init\n", "", 0));
  b.add(test::proc_record(
      b, 3301, kHostNs, "qemu-system-x86\n",
      "0::/machine.slice/machine-qemu\\x2d3\\x2dinstance\\x2d0000002a.scope/libvirt/emulator\n",
      shm::kProcQemu, in.qemu_libvirt));
  b.add(test::proc_record(b, 3402, kHostNs, "qemu-system-x86\n", "0::/user.slice/session-4.scope\n",
                          shm::kProcQemu, in.qemu_plain));
  b.add(test::proc_record(b, 3503, kHostNs, "qemu-system-x86\n", "0::/user.slice/session-4.scope\n",
                          shm::kProcQemu, in.qemu_dstack));
  b.add(test::proc_record(b, 4101, kWebNs, "sleep\n",
                          "0::/system.slice/docker-" + std::string(kWebId) + ".scope\n", 0));
  b.add(test::proc_record(b, 4102, kWebNs, "sh\n",
                          "0::/system.slice/docker-" + std::string(kWebId) + ".scope\n", 0));
  b.add(test::proc_record(
      b, 4201, kC1Ns, "sleep\n",
      "12:pids:/docker/" + std::string(kC1Id) + "\n1:name=systemd:/docker/" + kC1Id + "\n0::/\n",
      0));
  b.add(test::proc_record(b, 4301, kLxcNs, "init\n", in.lxc_cgroup, 0));
  b.add(
      test::proc_record(b, 4401, kDemoNs, "dnsmasq\n", "0::/system.slice/hf-demo-ns.service\n", 0));
  b.add(test::proc_record(b, 4501, kC2Ns, "sleep\n",
                          "0::/system.slice/docker-" + std::string(kC2Id) + ".scope\n", 0));
  b.add(test::proc_record(b, 4601, kC3Ns, "sleep\n",
                          "0::/system.slice/docker-" + std::string(kC3Id) + ".scope\n", 0));
  {
    using namespace std::string_literals;
    b.add(test::proc_record(
        b, 3604, kHostNs, "qemu-system-x86\n",
        "0::/machine.slice/machine-qemu\\x2d6\\x2d6_tnvm.scope/libvirt/emulator\n", shm::kProcQemu,
        "/usr/bin/qemu-system-x86_64\0-name\0guest=6_tnvm,debug-threads=on\0-uuid\0"s + kTnUuid +
            "\0-netdev\0tap,fd=30,id=hostnet0\0"s));
  }

  // -- taps QEMU holds: the libvirt domain's from the captured fdinfo, the plain QEMU's by name
  b.add(test::tap_record(b, 3301, 31, kHostNs, in.tap_ifname));
  b.add(test::tap_record(b, 3402, 12, kHostNs, "hfq0"));
  b.add(test::tap_record(b, 3604, 30, kHostNs, "vnet6"));
  b.add(test::proc_record(b, 3705, kHostNs, "qemu-system-x86\n", "0::/user.slice/session-4.scope\n",
                          shm::kProcQemu, cid_cmdline()));

  // -- libvirt: the fixture's three domains, stats by hand
  {
    Params p{&b};
    std::int32_t id = 3;
    for (const auto& [name, xml] : in.domains) {
      pugi::xml_document doc;
      doc.load_string(xml.c_str());
      shm::DomainRecord d =
          test::domain_record(b, name, doc.child("domain").child_value("uuid"), id++, xml);
      d.param_begin = p.next;
      if (name == "instance-0000002a") {
        // 2 vCPUs at 30 % over the 5 s between the snapshots: 3 s of CPU time.
        p.u("cpu.time", 812'000'000'000ull + (second ? 3'000'000'000ull : 0));
        p.u("vcpu.current", 2, shm::ParamType::kUint);
        p.u("balloon.maximum", 2097152);
        p.u("net.count", 1, shm::ParamType::kUint);
        p.s("net.0.name", in.tap_ifname);
        p.u("net.0.rx.bytes", 3'400'000 + (second ? 750'000 : 0));
        p.u("net.0.rx.pkts", 12'000 + (second ? 900 : 0));
        p.u("net.0.rx.errs", 0);
        p.u("net.0.rx.drop", 2);
        p.u("net.0.tx.bytes", 1'200'000 + (second ? 250'000 : 0));
        p.u("net.0.tx.pkts", 9'000 + (second ? 500 : 0));
        p.u("net.0.tx.errs", 0);
        p.u("net.0.tx.drop", 0);
        p.u("block.count", 3, shm::ParamType::kUint);
        p.s("block.0.name", "vda");
        p.u("block.0.rd.reqs", 5'400 + (second ? 12 : 0));
        p.u("block.0.rd.bytes", 220'000'000ull + (second ? 49'152 : 0));
        p.u("block.0.wr.reqs", 1'900 + (second ? 30 : 0));
        p.u("block.0.wr.bytes", 61'000'000ull + (second ? 122'880 : 0));
        p.s("block.1.name", "vdb");
        p.u("block.1.rd.reqs", 0);
        p.u("block.1.rd.bytes", 0);
        p.u("block.1.wr.reqs", 0);
        p.u("block.1.wr.bytes", 0);
        p.s("block.2.name", "hda");
        p.u("block.2.rd.reqs", 14);
        p.u("block.2.rd.bytes", 57'344);
        p.u("block.2.wr.reqs", 0);
        p.u("block.2.wr.bytes", 0);
      } else if (name == "instance-0000002b") {
        // 4 vCPUs at 5 %: below --cpu.min, never exported.
        p.u("cpu.time", 90'000'000'000ull + (second ? 1'000'000'000ull : 0));
        p.u("vcpu.current", 4, shm::ParamType::kUint);
        p.u("balloon.maximum", 8388608);
        p.u("block.count", 1, shm::ParamType::kUint);
        p.s("block.0.name", "vda");
        p.u("block.0.rd.reqs", 800);
        p.u("block.0.rd.bytes", 32'768'000);
        p.u("block.0.wr.reqs", 300 + (second ? 5 : 0));
        p.u("block.0.wr.bytes", 4'096'000 + (second ? 20'480 : 0));
      } else {
        p.u("cpu.time", 4'000'000'000ull);
        p.u("vcpu.current", 1, shm::ParamType::kUint);
        p.u("balloon.maximum", 524288);
      }
      d.param_count = p.next - d.param_begin;
      b.add(d);
    }
    b.add(test::domain_record(b, "6_tnvm", kTnUuid, 6, kTnXml));  // no stats
    b.add(test::domain_record(
        b, "hand-nova", kHandUuid, 7,
        nova_domain_xml("hand-nova", kHandUuid, " +01 ",
                        "<disk type='block' device='disk'><source dev='/dev/sdz'/>"
                        "<target dev='vda' bus='virtio'/></disk>"
                        "<disk type='network' device='disk'><source protocol='rbd' "
                        "name='bare-volume'/><target dev='vdb' bus='virtio'/></disk>")));
    b.add(test::domain_record(b, "bad-nova", kBadUuid, 8,
                              nova_domain_xml("bad-nova", kBadUuid, "2x", "")));
  }

  // -- Docker Engine API answers, as captured from dockerd 20.10
  b.add(test::docker_record(b, shm::DockerQuery::kContainers, "/containers/json",
                            in.docker_containers));
  b.add(test::docker_record(b, shm::DockerQuery::kNetworks, "/networks", in.docker_networks));
  b.add(test::docker_record(
      b, shm::DockerQuery::kNetworkInspect,
      "/networks/5d35cc6e151a189a5fa1424b2d451c48040500fe6f3d2a0b07d77386e3ee9ceb",
      in.docker_inspect));

  // -- addresses: the host's (one public and listed in customlist.txt), the workload namespaces'
  b.add(test::addr_record("127.0.0.1", 8, 1, kHostNs, -1));
  b.add(test::addr_record("198.51.100.7", 24, 2, kHostNs, -1));
  b.add(test::addr_record("10.66.9.254", 24, 2, kHostNs, -1));
  b.add(test::addr_record("127.0.0.1", 8, 1, kWebNs, 0));
  b.add(test::addr_record("10.66.9.1", 24, 2, kWebNs, 0));
  b.add(test::addr_record("fd66:9::1", 64, 2, kWebNs, 0));
  b.add(test::addr_record("fe80::48:46ff:fe00:120", 64, 2, kWebNs, 0));
  b.add(test::addr_record("10.66.4.2", 24, 2, kDemoNs, 3));

  // -- conntrack: the captured dump (10.66.9.1 -> 10.66.9.2 UDP and ICMP, fd66:9::1 -> fd66:9::2
  // UDP), and entries shaped like them for the threat and workload cases.
  const shm::ConntrackRecord* tpl4 = nullptr;
  const shm::ConntrackRecord* tpl6 = nullptr;
  for (const auto& r : in.ct) {
    b.add(r);
    if (r.proto == IPPROTO_UDP && r.family == AF_INET) tpl4 = &r;
    if (r.proto == IPPROTO_UDP && r.family == AF_INET6) tpl6 = &r;
  }
  b.add_dropped(shm::SectionType::kConntrack, 2);  // --conntrack.max-entries reached
  if (tpl4 && tpl6) {
    // ix-h5app-web-1 to a Tor exit (onionoo-exit.json: 10.66.2.3).
    b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.66.9.1", 40001, "10.66.2.3", 9001, 12, 1'400));
    // web-01 (Nova fixed IP) to an EmergingThreats address (compromised-ips.txt: 10.66.2.4).
    b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.20.0.12", 51000, "10.66.2.4", 443, 30, 9'000));
    // From a Spamhaus DROPv6 prefix (fd66:2::/120) into web-01's IPv6 fixed IP.
    b.add(ct_entry(*tpl6, IPPROTO_TCP, "fd66:2::7", 33000, "fd00:20::12", 22, 9, 700));
    // db-01 to web-01 (workload to workload: each is the other's remote).
    b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.20.0.40", 40100, "10.20.0.12", 5432, 40, 52'000));
    b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.20.0.40", 40102, "10.20.0.12", 5432, 18, 20'000));
    // The demo namespace's resolver upstream.
    b.add(ct_entry(*tpl4, IPPROTO_UDP, "10.66.4.2", 53000, "8.8.8.8", 53, 1, 70));
    // DNAT: a client to the host's public address, answered by ix-h5app-web-1.
    b.add(ct_entry(*tpl4, IPPROTO_TCP, "203.0.113.9", 44000, "198.51.100.7", 8080, 6, 800,
                   "10.66.9.1", 80));
    if (!second) {
      // The custom list's 10.66.1.1 into h5c1 (its Docker endpoint address only).
      b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.66.1.1", 50000, "172.30.99.2", 80, 4, 300));
    } else {
      // The same Tor exit again on another port, a new remote, and a relay that is also an exit.
      b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.66.9.1", 40002, "10.66.2.3", 443, 3, 200));
      b.add(ct_entry(*tpl4, IPPROTO_UDP, "10.66.9.1", 41000, "10.66.9.3", 53, 1, 60));
      b.add(ct_entry(*tpl4, IPPROTO_TCP, "10.20.0.12", 51010, "185.220.101.1", 443, 20, 4'000));
    }
  }

  // -- TC counters (bpf source): three attached, one pending, one failed
  auto tc = [&](std::int32_t ifindex, std::string_view name, shm::BpfAttachState st,
                std::uint64_t in_p, std::uint64_t in_b, std::uint64_t out_p, std::uint64_t out_b,
                std::int32_t err = 0) {
    shm::BpfCounterRecord r{};
    r.ifindex = ifindex;
    r.state = static_cast<std::uint8_t>(st);
    r.attach_errno = err;
    r.name = b.add_string(name, IFNAMSIZ);
    if (st == shm::BpfAttachState::kAttached) {
      r.attached_real_ns = kRealBase - 600'000'000'000ull;
      r.ingress_packets = in_p;
      r.ingress_bytes = in_b;
      r.egress_packets = out_p;
      r.egress_bytes = out_b;
    }
    b.add(r);
  };
  const std::uint64_t k = second ? 1 : 0;
  // Moving with the links' own counters: ingress = the interface's receive.
  tc(3, "hfport0", shm::BpfAttachState::kAttached, 1'000 + k * 400, 150'000 + k * 52'000,
     800 + k * 700, 90'000 + k * 910'000);
  tc(9, in.tap_ifname, shm::BpfAttachState::kAttached, 9'000 + k * 500, 1'200'000 + k * 250'000,
     12'000 + k * 900, 3'400'000 + k * 750'000);
  tc(10, "hfq0", shm::BpfAttachState::kAttached, 0, 0, 0, 0);
  // One packet in 5 s: 0.2 packets/s, above NetProbe's 0.1 activity threshold.
  tc(2, "hfbr0", shm::BpfAttachState::kAttached, k, k * 60, 0, 0);
  tc(5, "hfva", shm::BpfAttachState::kPending, 0, 0, 0, 0);
  tc(6, "hfifb0", shm::BpfAttachState::kFailed, 0, 0, 0, 0, EOPNOTSUPP);
  {
    shm::BpfAttachRecord a{};
    a.ingress_prog_id = 211;
    a.egress_prog_id = 212;
    a.array_ifindexes = 4096;
    a.hash_max_entries = 16384;
    a.hash_entries = 0;
    a.attached = 3;
    a.uncounted_packets = 0;
    a.collections = 120 + k;
    a.last_collection_real_ns = real - 2'000'000ull;
    a.attaches_total = 3;
    a.attach_failures_total = 7 + k;
    a.stale_filters_removed = 2;
    a.read_ns = 180'000;
    a.read_cpu_ns = 150'000;
    b.add(a);
  }

  // -- platform: a Proxmox host (pmxcfs mounted, pveversion there), its CPU, memory, filesystems
  {
    shm::PlatformRecord p{};
    p.facts = shm::kPlatformPveMount | shm::kPlatformPveVersion | shm::kPlatformPid1EnvUnreadable;
    p.collected = shm::kPlatformCpu | shm::kPlatformMemory | shm::kPlatformMemAvailable |
                  shm::kPlatformFilesystem | shm::kPlatformProcesses | shm::kPlatformLxc;
    p.osrelease = b.add_string("6.8.12-4-pve", 256);
    p.clk_tck = 100;
    const std::uint64_t ticks[10] = {
        120'000 + k * 150, 300, 45'000 + k * 40, 9'800'000 + k * 800, 1'200, 0, 700 + k * 2, 0,
        30'000 + k * 100,  0};
    std::copy(std::begin(ticks), std::end(ticks), p.cpu_ticks);
    p.mem_total = 67'108'864ull * 1024;
    p.mem_free = 8'388'608ull * 1024;
    p.mem_available = 41'943'040ull * 1024;
    p.mem_buffers = 524'288ull * 1024;
    p.mem_cached = 30'408'704ull * 1024;
    p.swap_total = 8'388'608ull * 1024;
    p.swap_free = 8'000'000ull * 1024;
    p.processes = 612 + k;
    b.add(p);
    auto fs = [&](const char* dev, const char* mp, const char* type, std::uint64_t size,
                  std::uint64_t free, std::uint64_t avail, std::uint32_t flags, int err) {
      shm::PlatformFilesystemRecord f{};
      f.device = b.add_string(dev, 256);
      f.mountpoint = b.add_string(mp, 4096);
      f.fstype = b.add_string(type, 64);
      f.size_bytes = size;
      f.free_bytes = free;
      f.avail_bytes = avail;
      f.files = size / 4096;
      f.files_free = free / 4096;
      f.flags = flags;
      f.statfs_errno = err;
      b.add(f);
    };
    fs("rpool/ROOT/pve-1", "/", "zfs", 100ull << 30, (60ull << 30) - k * 4096, 60ull << 30, 0, 0);
    fs("/dev/fuse", "/etc/pve", "fuse", 128ull << 20, 120ull << 20, 120ull << 20, 0, 0);
    fs("/dev/sdb1", "/mnt/backup disk", "ext4", 2ull << 40, 1ull << 40,
       (1ull << 40) - (100ull << 30), shm::kFsReadOnly, 0);
    fs("/dev/sdc1", "/mnt/gone", "xfs", 0, 0, 0, 0, EIO);
    // Two LXC containers (collector lxc): Proxmox CT 101 (cgroup v2, limit, config read) and a
    // plain LXC container without a memory limit (v1), for the platform profile's per-container
    // series.
    auto ct = [&](const char* id, const char* conf, std::uint32_t flags, std::uint64_t usage,
                  std::uint64_t cache, std::uint64_t limit, std::uint64_t pids) {
      shm::PlatformContainerRecord c{};
      c.id = b.add_string(id, 256);
      if (conf) c.config = b.add_string(conf, 65536);
      c.flags = flags | shm::kCtHasMemory | shm::kCtHasCpu | shm::kCtHasPids | shm::kCtHasRootfs;
      c.init_pid = 4100;
      c.memory_usage = usage + k * 4096;
      c.memory_cache = cache;
      c.memory_limit = limit;
      c.cpu_usage_ns = 81'250'000'000ull + k * 400'000'000ull;
      c.pids_current = pids;
      c.rootfs_size = 8ull << 30;
      c.rootfs_free = (5ull << 30) - k * 8192;
      c.rootfs_avail = (5ull << 30) - k * 8192;
      b.add(c);
    };
    ct("101", "arch: amd64\nhostname: web101\nmemory: 2048\n",
       shm::kCtProxmox | shm::kCtCgroupV2 | shm::kCtConfigRead | shm::kCtHasLimit, 700ull << 20,
       200ull << 20, 2048ull << 20, 23);
    ct("build", nullptr, 0, 300ull << 20, 100ull << 20, 0, 9);
  }

  // -- the sources' status
  const std::uint64_t runs = 720 + k;
  b.add(source(b, "procs", runs, 9'500, 8, 0, real));
  b.add(source(b, "taps", runs, 300, 2, 0, real));
  b.add(source(b, "links", runs, 2'100, 16, 0, real));
  b.add(source(b, "addrs", runs, 800, 8, 0, real));
  b.add(source(b, "conntrack", runs, 1'600, second ? 13 : 11, 0, real));
  b.add(source(b, "libvirt", runs, 12'000, 3, 2, real));
  b.add(source(b, "docker", runs, 4'000, 3, 0, real));
  b.add(source(b, "bpf", runs, 250, 5, 0, real));
  b.add(source(b, "platform", runs, 900, 5, 0, real));
}

// ---- segment file ------------------------------------------------------------------------------

bool write_all(const std::string& path, const test::SegmentBuf& seg, std::string* err) {
  // In place (same inode, never truncated), as the sampler writes its mapped segment.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < seg.size) {
    const ssize_t w = ::pwrite(fd, seg.data() + off, seg.size - off, static_cast<off_t>(off));
    if (w <= 0) {
      *err = "write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  ::close(fd);
  return true;
}

bool publish(test::SegmentBuf& seg, shm::SnapshotBuilder& b, std::uint64_t generation,
             std::uint64_t mono, std::uint64_t real) {
  shm::PublishInfo info;
  info.generation = generation;
  info.cycle = 1000 + generation;
  info.publish_mono_ns = mono;
  info.publish_real_ns = real;
  const auto payload = b.encode();
  info.section_count = b.section_count();
  return shm::publish(seg.span(), info, payload);
}

// ---- rendering ---------------------------------------------------------------------------------

struct Rendering {
  std::string text;
  std::string error;  // set when the scenario could not be rendered
};

// Renders the scenario through the pipeline: snapshot 1, poll, snapshot 2 (5 s later), poll.
Rendering render_scenario() {
  Rendering out;
  test::TempDir tmp;
  const std::string dir = tmp.path();
  const std::string state = dir + "/state";
  fs::create_directories(state);
  const Inputs in = load_inputs();
  if (in.tap_ifname.empty() || in.ct.size() != 3 || in.domains.size() != 3) {
    out.error = "fixtures not as expected";
    return out;
  }

  // Threat lists: file-backed lists pointed at the fixtures (FeedSpec::path, as --customlist.path
  // does), which the conntrack area loads synchronously when it opens. Spamhaus merges DROP and
  // DROPv6 into one list (two URLs in production): one file with both here.
  const std::string spamhaus = dir + "/spamhaus-drop.txt";
  std::ofstream(spamhaus) << test::read_file(kFixtures / "threat" / "drop.txt")
                          << test::read_file(kFixtures / "threat" / "dropv6.txt");
  auto spec = [](const char* name, ex::FeedFormat f, std::string path, ex::Direction d) {
    ex::FeedSpec s;
    s.name = name;
    s.format = f;
    s.path = std::move(path);
    s.direction = d;
    return s;
  };
  const std::string threat = (kFixtures / "threat").string();

  test::SegmentBuf seg(1u << 18);
  const std::string path = dir + "/segment";
  // The configuration as flags would give it, then (plain data) what flags cannot express: lists
  // read from fixture files instead of URLs.
  ex::ExporterConfig cfg;
  cfg.core.segment = path;
  cfg.core.state_dir = state;
  // HAProxy: the three captured logs (raw, RFC 3164, RFC 5424 framing of the same connections),
  // copied into the temp dir.
  for (const char* f : {"raw.log", "rfc3164.log", "rfc5424.log"}) {
    fs::copy_file(kFixtures / "haproxy" / f, fs::path(dir) / f);
    cfg.haproxy.opts.logs.push_back(dir + "/" + f);
  }
  cfg.vms.read_thresholds = "default:200,volumes-ssd:500";
  cfg.vms.write_thresholds = "local:50";
  cfg.containers.label_allowlist = {"com.docker.compose.project"};
  cfg.conntrack.feature.flows.min = 1;
  cfg.conntrack.feature.flows.outbound = true;
  cfg.conntrack.feature.host_threats = true;
  // The platform profile's host_name (seed 003's rule takes a 3-digit run of it as container_id).
  cfg.compat.platform_hostname = "pve104";
  for (const ex::ProfileRow& r : ex::profile_table())
    cfg.compat.profiles_text +=
        std::string(cfg.compat.profiles_text.empty() ? "" : ",") + std::string(r.stem);
  if (auto r = ex::validate(cfg); !r.ok()) {
    out.error = "config: " + r.error().message();
    return out;
  }
  cfg.conntrack.feeds.feeds = {
      spec("tor_exit", ex::FeedFormat::kOnionoo, threat + "/onionoo-exit.json",
           ex::Direction::kAny),
      spec("tor_relay", ex::FeedFormat::kOnionoo, threat + "/onionoo-relay.json",
           ex::Direction::kIn),
      spec("spamhaus", ex::FeedFormat::kCidrList, spamhaus, ex::Direction::kAny),
      spec("emergingthreats", ex::FeedFormat::kCidrList, threat + "/compromised-ips.txt",
           ex::Direction::kOut),
      spec("customlist", ex::FeedFormat::kCidrList, threat + "/customlist.txt",
           ex::Direction::kAny),
  };
  std::array<std::uint8_t, 16> boot_id{};
  std::memcpy(boot_id.data(), seg.header().boot_id, 16);

  // Fresh needs a publish time near now (<= 3 intervals of 5 s old): the second snapshot is 1 s
  // old, the first 5 s before it. Only these fixed deltas reach the rendered values.
  const std::uint64_t mono2 = mono_ns() - 1'000'000'000ull;
  const std::uint64_t mono1 = mono2 - kDeltaNs;
  shm::SnapshotBuilder b1;
  build_snapshot(b1, in, 1);
  if (!publish(seg, b1, 1, mono1, kRealBase) || !write_all(path, seg, &out.error)) {
    if (out.error.empty()) out.error = "snapshot 1 does not fit the segment";
    return out;
  }
  ex::Pipeline p(cfg, boot_id);
  if (auto r = p.open(); !r.ok()) {
    out.error = "open: " + r.error().message();
    return out;
  }
  p.poll_once();
  if (auto c = p.current(); !c->fresh || c->cycle != 1001) {
    out.error = "snapshot 1 not rendered fresh: " + c->not_ready_reason;
    return out;
  }
  shm::SnapshotBuilder b2;
  build_snapshot(b2, in, 2);
  if (!publish(seg, b2, 2, mono2, kRealBase + kDeltaNs) || !write_all(path, seg, &out.error)) {
    if (out.error.empty()) out.error = "snapshot 2 does not fit the segment";
    return out;
  }
  p.poll_once();
  const auto c = p.current();
  if (!c->fresh || c->cycle != 1002) {
    out.error = "snapshot 2 not rendered fresh: " + c->not_ready_reason;
    return out;
  }
  out.text = c->exposition->text();
  // No area emitted a duplicate series, a family outside its prefixes or mismatched labels.
  if (const auto refused = ex::metrics::refused_series_total(); refused != 0)
    out.error = std::to_string(refused) + " series refused by the metric model (see the log)";
  return out;
}

// ---- splitting and normalising -----------------------------------------------------------------

struct FamilyText {
  std::string name;
  std::string text;  // HELP, TYPE and samples, each line with its '\n'
  std::size_t samples = 0;
};

std::string line_family(std::string_view line) {
  if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
    line.remove_prefix(7);
    return std::string(line.substr(0, line.find(' ')));
  }
  return std::string(line.substr(0, line.find_first_of("{ ")));
}

// The exposition as families in rendered order; a name seen in two separate runs of lines is an
// error (reported through `dups`).
std::vector<FamilyText> split_families(const std::string& text, std::vector<std::string>* dups) {
  std::vector<FamilyText> out;
  std::set<std::string> seen;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view line(text.data() + i, nl - i);
    i = nl + 1;
    if (line.empty()) continue;
    const std::string name = line_family(line);
    if (out.empty() || out.back().name != name) {
      if (!seen.insert(name).second) dups->push_back(name);
      out.push_back({name, "", 0});
    }
    out.back().text.append(line).push_back('\n');
    if (line.front() != '#') out.back().samples++;
  }
  return out;
}

// The areas whose prefixes match `name`.
std::vector<std::string> areas_of(const std::string& name) {
  std::vector<std::string> out;
  for (const Area& a : areas())
    if (a.owns(name)) out.push_back(a.stem);
  return out;
}

std::string replace_label(std::string line, const std::string& label, const std::string& value) {
  const std::string key = label + "=\"";
  const auto at = line.find(key);
  if (at == std::string::npos) return line;
  const auto start = at + key.size();
  std::size_t end = start;
  while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
  return line.substr(0, start) + value + line.substr(end);
}

// Applies the allowed normalisations to one family; a measured value outside its plausible range
// is a failure (it would otherwise be hidden).
void normalise(FamilyText& f, double now_seconds) {
  const bool build_info = f.name == "hostflow_build_info";
  const auto m = measured().find(f.name);
  if (!build_info && m == measured().end()) return;
  std::string out;
  std::istringstream in(f.text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.front() != '#') {
      if (build_info) {
        line = replace_label(replace_label(line, "version", "VERSION"), "revision", "REVISION");
      } else {
        const auto sp = line.rfind(' ');
        const double v = std::strtod(line.c_str() + sp + 1, nullptr);
        if (m->second == Measured::kDuration) {
          EXPECT_TRUE(v >= 0 && v < 30) << line;
        } else if (m->second == Measured::kBytes) {
          EXPECT_TRUE(v >= 0 && v < 1e12) << line;
        } else {
          EXPECT_LT(std::fabs(v - now_seconds), 600) << line;
        }
        line = line.substr(0, sp) + " 0";
      }
    }
    out += line;
    out += '\n';
  }
  f.text = std::move(out);
}

struct Golden {
  std::map<std::string, std::string> text;  // stem -> file content
  std::map<std::string, std::size_t> families, samples;
  std::vector<std::string> unassigned, ambiguous, duplicates;
  std::string error;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    const double now = static_cast<double>(real_ns()) / 1e9;
    const Rendering r = render_scenario();
    out.error = r.error;
    if (!r.error.empty()) return out;
    for (const Area& a : areas()) out.text[a.stem];
    for (FamilyText& f : split_families(r.text, &out.duplicates)) {
      const auto stems = areas_of(f.name);
      if (stems.empty()) {
        out.unassigned.push_back(f.name);
        continue;
      }
      if (stems.size() > 1) out.ambiguous.push_back(f.name);
      normalise(f, now);
      out.text[stems.front()] += f.text;
      out.families[stems.front()]++;
      out.samples[stems.front()] += f.samples;
    }
    return out;
  }();
  return g;
}

fs::path golden_path(const std::string& stem) {
  return fs::path(HOSTFLOW_GOLDEN_DIR) / (stem + ".prom");
}

bool updating() {
  const char* u = std::getenv("UPDATE_GOLDEN");
  return u && *u && std::string(u) != "0";
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A unified-style diff of two small texts (LCS over lines), at most `max_lines` lines of output.
std::string diff(const std::string& expected, const std::string& actual,
                 std::size_t max_lines = 60) {
  const auto a = lines_of(expected), b = lines_of(actual);
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  struct Op {
    char kind;
    std::size_t ai, bi;
  };
  std::vector<Op> ops;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j])
      ops.push_back({' ', i++, j++});
    else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]))
      ops.push_back({'-', i++, j});
    else
      ops.push_back({'+', i, j++});
  }
  // Changes with two lines of context, in hunks headed by where they start.
  std::vector<bool> show(ops.size(), false);
  for (std::size_t k = 0; k < ops.size(); k++) {
    if (ops[k].kind == ' ') continue;
    for (std::size_t c = (k >= 2 ? k - 2 : 0); c <= std::min(k + 2, ops.size() - 1); c++)
      show[c] = true;
  }
  std::string out;
  std::size_t printed = 0;
  for (std::size_t k = 0; k < ops.size() && printed < max_lines; k++) {
    if (!show[k]) continue;
    if (k == 0 || !show[k - 1]) {
      out += "@@ golden line " + std::to_string(ops[k].ai + 1) + ", rendered line " +
             std::to_string(ops[k].bi + 1) + " @@\n";
    }
    const std::string& l = ops[k].kind == '-' ? a[ops[k].ai] : b[ops[k].bi];
    out += ops[k].kind;
    out += l;
    out += '\n';
    printed++;
  }
  if (printed >= max_lines) out += "... (diff truncated)\n";
  return out;
}

// ---- tests -------------------------------------------------------------------------------------

TEST(Golden, EachAreaRendersExactlyItsGoldenExposition) {
  const Golden& g = golden();
  ASSERT_TRUE(g.error.empty()) << g.error;
  for (const Area& a : areas()) {
    SCOPED_TRACE(a.stem);
    const std::string& actual = g.text.at(a.stem);
    EXPECT_FALSE(actual.empty()) << "the scenario renders nothing for area " << a.stem;
    test::check_exposition_invariants(actual, std::string("golden ") + a.stem);
    const auto p = golden_path(a.stem);
    if (updating()) {
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << actual;
      // An area that renders nothing has no count (and is reported above): no throw here, so
      // the areas after it are still written.
      const auto nf = g.families.find(a.stem);
      const auto ns = g.samples.find(a.stem);
      std::cout << "[ golden ] wrote " << p.string() << ": "
                << (nf == g.families.end() ? 0 : nf->second) << " families, "
                << (ns == g.samples.end() ? 0 : ns->second) << " samples\n";
      continue;
    }
    if (!fs::exists(p)) {  // reported, and the areas after it are still compared
      ADD_FAILURE() << p << " is missing; run with UPDATE_GOLDEN=1 to create it";
      continue;
    }
    const std::string expected = test::read_file(p);
    EXPECT_TRUE(expected == actual)
        << p.string() << " differs from the rendering (- golden, + now; UPDATE_GOLDEN=1 "
        << "rewrites it if the change is intended):\n"
        << diff(expected, actual);
  }
}

TEST(Golden, EveryRenderedFamilyBelongsToOneArea) {
  const Golden& g = golden();
  ASSERT_TRUE(g.error.empty()) << g.error;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  EXPECT_TRUE(g.unassigned.empty())
      << "families in no area (add a prefix to areas()): " << join(g.unassigned);
  EXPECT_TRUE(g.ambiguous.empty()) << "families in more than one area: " << join(g.ambiguous);
  EXPECT_TRUE(g.duplicates.empty()) << "families rendered in two places: " << join(g.duplicates);
  std::size_t total = 0;
  for (const auto& [stem, n] : g.families) total += n;
  EXPECT_GT(total, 100u);
}

TEST(Golden, NoGoldenFileWithoutAnArea) {
  // A stale file (an area renamed or dropped) would otherwise stay behind unchecked.
  std::set<std::string> stems;
  for (const Area& a : areas()) stems.insert(std::string(a.stem) + ".prom");
  for (const auto& e : fs::directory_iterator(HOSTFLOW_GOLDEN_DIR)) {
    EXPECT_TRUE(stems.count(e.path().filename().string())) << e.path();
  }
}

}  // namespace
}  // namespace hostflow
