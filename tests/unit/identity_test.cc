// Identity (exporter/identity): who is who in one snapshot. attribute() (owners.h) gives every host
// interface its owner, build_vms() (vms.h) says which VM a QEMU process or libvirt domain is,
// build_workload_ips() the fixed IPs of each workload, and build_identity() composes them.
// Snapshots are built from real captures (dockerd's answers, a Nova node's domain XML, QEMU
// command lines, a tun fd's fdinfo) and records written here (snapshot_builders.h). Every expected
// value is read from those inputs by this file -- nlohmann-json for Docker, pugixml for libvirt,
// the bytes for command lines and fdinfo -- or written here, never taken from the code under test.
#include <linux/if_arp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "areas/platform/platform_model.h"
#include "identity/addresses.h"
#include "identity/identity.h"
#include "identity/interfaces.h"
#include "identity/owners.h"
#include "identity/vms.h"
#include "identity/workload_ips.h"
#include "snapshot_builders.h"
#include "support.h"

namespace hostflow {
namespace {

namespace fs = std::filesystem;
using namespace exporter;
using nlohmann::json;

const fs::path kFixtures = HOSTFLOW_FIXTURES_DIR;

// Network namespaces (inodes as the kernel numbers them) and their nsids in the sampler's netns.
constexpr std::uint64_t kHostNs = 4026531840ull;
constexpr std::uint64_t kWebNs = 4026532201ull;    // nsid 0: a Docker Compose container
constexpr std::uint64_t kC1Ns = 4026532305ull;     // nsid 1: a plain Docker container
constexpr std::uint64_t kLxcNs = 4026532410ull;    // nsid 2: an LXC container
constexpr std::uint64_t kDemoNs = 4026532517ull;   // nsid 3: processes in no runtime
constexpr std::uint64_t kPauseNs = 4026532620ull;  // nsid 5: a process in the root cgroup
// nsid 4: a namespace the sampler saw no process in.

// ---- what the inputs say, read here ------------------------------------------------------------

// dockerd 20.10's answers to GET /containers/json and /networks.
struct Docker {
  std::string containers_body = test::read_file(kFixtures / "docker" / "containers.json");
  std::string networks_body = test::read_file(kFixtures / "docker" / "networks.json");
  json containers = json::parse(containers_body);
  json networks = json::parse(networks_body);

  // The capture holds one container of a Compose project and one without labels.
  const json& compose_container() const { return pick(true); }
  const json& plain_container() const { return pick(false); }
  const json& pick(bool compose) const {
    for (const json& c : containers)
      if (c["Labels"].contains("com.docker.compose.project") == compose) return c;
    ADD_FAILURE() << "no container " << (compose ? "with" : "without") << " a Compose label";
    return containers.at(0);
  }
  static std::string id(const json& c) { return c["Id"].get<std::string>(); }
  static std::string name(const json& c) { return c["Names"][0].get<std::string>().substr(1); }
  static std::string project(const json& c) {
    return c["Labels"].value("com.docker.compose.project", "");
  }
  static std::vector<std::string> endpoint_ips(const json& c) {
    std::vector<std::string> out;
    for (const auto& [net, ep] : c["NetworkSettings"]["Networks"].items())
      for (const char* key : {"IPAddress", "GlobalIPv6Address"})
        if (!ep.value(key, "").empty()) out.push_back(ep[key].get<std::string>());
    return out;
  }
  // Bridge networks by their Linux bridge: the com.docker.network.bridge.name option, else
  // "br-" and the first 12 characters of the network id (Docker's own rule).
  std::map<std::string, const json*> bridge_networks() const {
    std::map<std::string, const json*> out;
    for (const json& n : networks) {
      if (n["Driver"] != "bridge") continue;
      const std::string opt = n["Options"].value("com.docker.network.bridge.name", "");
      out[opt.empty() ? "br-" + n["Id"].get<std::string>().substr(0, 12) : opt] = &n;
    }
    return out;
  }
};

// The app of a Compose project (owners.h: the project label with "ix-" stripped).
std::string app_of_project(const std::string& project) {
  return project.rfind("ix-", 0) == 0 ? project.substr(3) : project;
}

// The first <domain> of the Nova node fixture, as libvirt hands it over.
struct Domain {
  std::string name, uuid, xml, nova_name;
  std::vector<std::string> fixed_ips;
};
Domain nova_domain() {
  Domain d;
  pugi::xml_document doc;
  const std::string path = (kFixtures / "libvirt" / "nova-node.xml").string();
  EXPECT_TRUE(doc.load_file(path.c_str())) << path;
  const pugi::xml_node node = doc.child("node").child("domain");
  d.name = node.child_value("name");
  d.uuid = node.child_value("uuid");
  std::ostringstream s;
  node.print(s);
  d.xml = s.str();
  const pugi::xml_node inst = node.child("metadata").child("nova:instance");
  d.nova_name = inst.child_value("nova:name");
  for (pugi::xml_node port : inst.child("nova:ports").children("nova:port"))
    for (pugi::xml_node ip : port.children("nova:ip"))
      d.fixed_ips.push_back(ip.attribute("address").value());
  return d;
}

// A captured /proc/<pid>/cmdline split into its arguments.
std::vector<std::string> argv_of(const std::string& cmdline) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : cmdline) {
    if (c == '\0') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}
std::string arg_after(const std::vector<std::string>& argv, const std::string& opt) {
  for (std::size_t i = 0; i + 1 < argv.size(); i++)
    if (argv[i] == opt) return argv[i + 1];
  ADD_FAILURE() << "no " << opt << " in the command line";
  return "";
}
// "-name guest=<name>,debug-threads=on" -> <name>.
std::string guest_name(const std::vector<std::string>& argv) {
  std::string v = arg_after(argv, "-name");
  EXPECT_EQ(v.rfind("guest=", 0), 0u) << v;
  v = v.substr(std::string("guest=").size());
  return v.substr(0, v.find(','));
}

// The interface name a tun fd is attached to (the "iff:" line of its fdinfo).
std::string fdinfo_iff(const std::string& fdinfo) {
  const auto at = fdinfo.find("iff:\t");
  EXPECT_NE(at, std::string::npos) << fdinfo;
  if (at == std::string::npos) return "";
  const auto start = at + 5;
  return fdinfo.substr(start, fdinfo.find('\n', start) - start);
}

// The QEMU that libvirt started for the fixture's first domain, and the tap it holds.
struct LibvirtQemu {
  std::string cmdline = test::read_file(kFixtures / "proc" / "cmdline" / "qemu-libvirt");
  std::string tap = fdinfo_iff(test::read_file(kFixtures / "proc" / "fdinfo" / "tun.txt"));
};

// A QEMU started by hand (no libvirt) with a tap named on its command line.
struct PlainQemu {
  std::string cmdline = test::read_file(kFixtures / "proc" / "cmdline" / "qemu-tap");
  std::vector<std::string> argv = argv_of(cmdline);
  // "-netdev tap,id=n0,ifname=<tap>,..." -> <tap>
  std::string tap() const {
    const std::string v = arg_after(argv, "-netdev");
    const auto at = v.find("ifname=");
    EXPECT_NE(at, std::string::npos) << v;
    const auto start = at + 7;
    return v.substr(start, v.find(',', start) - start);
  }
};

// ---- snapshot and the code under test ----------------------------------------------------------

struct Attributed {
  Model model;
  std::vector<Vm> vms;
  Attribution attribution;

  const Interface* host(const std::string& name) const {
    for (const Interface& i : model.interfaces)
      if (i.name == name) return &i;
    ADD_FAILURE() << "no host interface " << name;
    return nullptr;
  }
  const Container* container_in(std::uint64_t netns) const {
    for (const Container& c : attribution.containers)
      if (c.netns == netns) return &c;
    ADD_FAILURE() << "no container in netns " << netns;
    return nullptr;
  }
};

// The model, the VMs and the attribution of what `b` holds, as build_identity() composes them.
Attributed attributed(shm::SnapshotBuilder& b) {
  Attributed a;
  auto snap = test::read_back(b);
  if (!snap) return a;
  a.model = build_model(*snap);
  a.vms = build_vms(*snap, a.model.interfaces, a.model.workload_interfaces);
  a.attribution = attribute(*snap, a.model, a.vms);
  return a;
}

std::vector<Vm> vms_of(shm::SnapshotBuilder& b) {
  return attributed(b).vms;
}

// Host links every scenario has: loopback and a physical uplink.
void add_host_basics(shm::SnapshotBuilder& b) {
  shm::LinkRecord lo = test::link_record(b, kHostNs, "lo", 1, "", 0x01);
  lo.if_type = ARPHRD_LOOPBACK;
  b.add(lo);
  shm::LinkRecord eth0 = test::link_record(b, kHostNs, "eth0", 2, "", 0x02);
  eth0.present |= shm::kLinkHasDevice;
  b.add(eth0);
}

// A host veth whose peer is ifindex 2 of the namespace with `nsid`, optionally on a bridge.
shm::LinkRecord host_veth(shm::SnapshotBuilder& b, const char* name, std::int32_t ifindex,
                          std::int32_t nsid, std::int32_t bridge = 0) {
  shm::LinkRecord r =
      test::link_record(b, kHostNs, name, ifindex, "veth", static_cast<std::uint8_t>(ifindex));
  test::veth_peer(r, nsid, 2);
  if (bridge) test::enslave(b, r, bridge);
  return r;
}

std::string docker_v2_cgroup(const std::string& id) {
  return "0::/system.slice/docker-" + id + ".scope\n";
}

void add_docker_answers(shm::SnapshotBuilder& b, const Docker& d) {
  b.add(
      test::docker_record(b, shm::DockerQuery::kContainers, "/containers/json", d.containers_body));
  b.add(test::docker_record(b, shm::DockerQuery::kNetworks, "/networks", d.networks_body));
}

// ---- attribute() -------------------------------------------------------------------------------

TEST(Attribute, AVethIntoADockerContainersNetnsBelongsToTheContainerByItsDockerNameAndComposeApp) {
  const Docker d;
  const json& web = d.compose_container();
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(host_veth(b, "veth9a1b2c3", 4, 0));
  b.add(test::netns_record(kWebNs, 0, 4101, 2, 0, 0));
  b.add(test::proc_record(b, 4101, kWebNs, "sleep\n", docker_v2_cgroup(Docker::id(web)), 0));
  b.add(test::proc_record(b, 4102, kWebNs, "sh\n", docker_v2_cgroup(Docker::id(web)), 0));
  add_docker_answers(b, d);
  const Attributed a = attributed(b);

  const Interface* veth = a.host("veth9a1b2c3");
  ASSERT_NE(veth, nullptr);
  EXPECT_EQ(veth->owner_type, "container");
  EXPECT_EQ(veth->owner, Docker::name(web));
  EXPECT_EQ(veth->app, app_of_project(Docker::project(web)));
  ASSERT_EQ(a.attribution.containers.size(), 1u);
  const Container& c = a.attribution.containers[0];
  EXPECT_EQ(c.owner_type, "container");
  EXPECT_EQ(c.runtime, "docker");
  EXPECT_EQ(c.id, Docker::id(web));
  EXPECT_EQ(c.name, Docker::name(web));
  EXPECT_EQ(c.image, web["Image"].get<std::string>());
  EXPECT_EQ(c.app, app_of_project(Docker::project(web)));
  EXPECT_EQ(c.netns, kWebNs);
  EXPECT_EQ(c.processes, 2u);
  EXPECT_EQ(c.host_interfaces, std::vector<std::string>{"veth9a1b2c3"});
  EXPECT_EQ(c.addresses, Docker::endpoint_ips(web));
  EXPECT_TRUE(a.attribution.docker.present);
  EXPECT_EQ(a.attribution.docker.containers, d.containers.size());
}

TEST(Attribute,
     ANetnsWhoseProcessesAreInNoRuntimeIsOwnedByTheNetnsNamedAfterItsCgroupLeafElseItsComm) {
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(host_veth(b, "vethdemo0", 4, 3));
  b.add(host_veth(b, "vethpause0", 5, 5));
  b.add(test::netns_record(kDemoNs, 3, 4401, 1, 0, 0));
  b.add(test::netns_record(kPauseNs, 5, 4501, 1, 0, 0));
  b.add(
      test::proc_record(b, 4401, kDemoNs, "dnsmasq\n", "0::/system.slice/hf-demo-ns.service\n", 0));
  b.add(test::proc_record(b, 4501, kPauseNs, "pause\n", "0::/\n", 0));  // no leaf: the comm
  const Attributed a = attributed(b);

  const Interface* demo = a.host("vethdemo0");
  const Interface* pause = a.host("vethpause0");
  ASSERT_TRUE(demo && pause);
  EXPECT_EQ(demo->owner_type, "netns");
  EXPECT_EQ(demo->owner, "hf-demo-ns.service");
  EXPECT_EQ(pause->owner_type, "netns");
  EXPECT_EQ(pause->owner, "pause");
  const Container* c = a.container_in(kDemoNs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->owner_type, "netns");
  EXPECT_EQ(c->runtime, "");
  EXPECT_EQ(c->id, "");
  EXPECT_EQ(c->name, "hf-demo-ns.service");
}

TEST(Attribute, AVethWhoseNetnsHasNoProcessIsUnknownWithTheAppOfItsDockerBridge) {
  const Docker d;
  // The Compose project's network and the Linux bridge Docker made for it.
  std::string bridge;
  std::string project;
  for (const auto& [name, n] : d.bridge_networks()) {
    if (!(*n)["Labels"].contains("com.docker.compose.project")) continue;
    bridge = name;
    project = (*n)["Labels"]["com.docker.compose.project"].get<std::string>();
  }
  ASSERT_FALSE(bridge.empty()) << "the capture has a Compose network";
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::link_record(b, kHostNs, bridge, 3, "bridge", 0x03));
  b.add(host_veth(b, "vethorph0", 4, 4, /*bridge=*/3));
  b.add(test::netns_record(0, 4, 0, 0, 0, 0));  // known by its nsid only: no process seen
  add_docker_answers(b, d);
  const Attributed a = attributed(b);

  const Interface* orphan = a.host("vethorph0");
  ASSERT_NE(orphan, nullptr);
  EXPECT_EQ(orphan->owner_type, "unknown");
  EXPECT_EQ(orphan->app, app_of_project(project));
  EXPECT_TRUE(a.attribution.containers.empty());
}

TEST(Attribute, ATapHeldByAQemuProcessBelongsToThatVm) {
  const Domain dom = nova_domain();
  const LibvirtQemu lq;
  const PlainQemu pq;
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::link_record(b, kHostNs, lq.tap, 9, "tun", 0x09));
  b.add(test::link_record(b, kHostNs, pq.tap(), 10, "tun", 0x0a));
  b.add(test::domain_record(b, dom.name, dom.uuid, 3, dom.xml));
  b.add(test::proc_record(b, 3301, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, lq.cmdline));
  b.add(test::proc_record(b, 3402, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, pq.cmdline));
  b.add(test::tap_record(b, 3301, 31, kHostNs, lq.tap));
  b.add(test::tap_record(b, 3402, 12, kHostNs, pq.tap()));
  const Attributed a = attributed(b);

  const Interface* libvirt_tap = a.host(lq.tap);
  const Interface* plain_tap = a.host(pq.tap());
  ASSERT_TRUE(libvirt_tap && plain_tap);
  EXPECT_EQ(libvirt_tap->owner_type, "vm");
  EXPECT_EQ(libvirt_tap->owner, dom.name);
  EXPECT_EQ(plain_tap->owner_type, "vm");
  EXPECT_EQ(plain_tap->owner, guest_name(pq.argv));
}

TEST(Attribute, ABridgeThatIsADockerNetworkIsOwnedByTheBridgeNamedAfterTheNetwork) {
  const Docker d;
  const auto networks = d.bridge_networks();
  ASSERT_EQ(networks.size(), 2u) << "the capture has the default bridge and a Compose network";
  shm::SnapshotBuilder b;
  add_host_basics(b);
  std::int32_t ifindex = 10;
  for (const auto& [bridge, n] : networks) {
    b.add(test::link_record(b, kHostNs, bridge, ifindex, "bridge",
                            static_cast<std::uint8_t>(ifindex)));
    ifindex++;
  }
  b.add(test::link_record(b, kHostNs, "vmbr0", 20, "bridge", 0x20));  // not Docker's
  add_docker_answers(b, d);
  const Attributed a = attributed(b);

  for (const auto& [bridge, n] : networks) {
    const Interface* i = a.host(bridge);
    ASSERT_NE(i, nullptr);
    const std::string name = (*n)["Name"].get<std::string>();
    // The app: the network's Compose project, else "ix-<app>_<suffix>" in its name.
    std::string app = app_of_project((*n)["Labels"].value("com.docker.compose.project", ""));
    if (app.empty() && name.rfind("ix-", 0) == 0) app = name.substr(3, name.find('_') - 3);
    EXPECT_EQ(i->owner_type, "bridge") << bridge;
    EXPECT_EQ(i->owner, name) << bridge;
    EXPECT_EQ(i->app, app) << bridge;
  }
  const Interface* vmbr0 = a.host("vmbr0");
  ASSERT_NE(vmbr0, nullptr);
  EXPECT_EQ(vmbr0->owner_type, "bridge");
  EXPECT_EQ(vmbr0->owner, "vmbr0");
  EXPECT_EQ(vmbr0->app, "");
}

TEST(Attribute, InterfacesOfTheHostItselfBelongToTheHost) {
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::link_record(b, kHostNs, "wg0", 3, "wireguard", 0x03));
  b.add(test::link_record(b, kHostNs, "vethhost0", 4, "veth", 0x04));  // its peer is here too
  b.add(test::link_record(b, kHostNs, "vethhost1", 5, "veth", 0x05));
  const Attributed a = attributed(b);

  ASSERT_EQ(a.model.interfaces.size(), 5u);
  for (const Interface& i : a.model.interfaces) {
    EXPECT_EQ(i.owner_type, "host") << i.name;
    EXPECT_EQ(i.owner, i.name);
    EXPECT_EQ(i.app, "") << i.name;
  }
  EXPECT_TRUE(a.attribution.containers.empty());
}

TEST(Attribute, TwoContainersThatWouldGetTheSameNameGetUniqueOnes) {
  // A Docker container and an LXC container named like it.
  const Docker d;
  const json& c1 = d.plain_container();
  const std::string name = Docker::name(c1);
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(host_veth(b, "vethdock0", 4, 1));
  b.add(host_veth(b, "vethlxc0", 5, 2));
  b.add(test::netns_record(kC1Ns, 1, 4201, 1, 0, 0));
  b.add(test::netns_record(kLxcNs, 2, 4301, 1, 0, 0));
  b.add(test::proc_record(b, 4201, kC1Ns, "sleep\n", docker_v2_cgroup(Docker::id(c1)), 0));
  b.add(test::proc_record(b, 4301, kLxcNs, "init\n", "0::/lxc.payload." + name + "\n", 0));
  add_docker_answers(b, d);
  const Attributed a = attributed(b);

  ASSERT_EQ(a.attribution.containers.size(), 2u);
  const Container* docker = a.container_in(kC1Ns);
  const Container* lxc = a.container_in(kLxcNs);
  ASSERT_TRUE(docker && lxc);
  EXPECT_EQ(docker->runtime, "docker");
  EXPECT_EQ(lxc->runtime, "lxc");
  EXPECT_NE(docker->name, lxc->name);
  // One keeps the name; the other becomes "name~<its netns inode>" (make_names_unique).
  const std::set<std::set<std::string>> allowed = {
      {name, name + "~" + std::to_string(kLxcNs)},
      {name + "~" + std::to_string(kC1Ns), name},
  };
  EXPECT_TRUE(allowed.count({docker->name, lxc->name})) << docker->name << ", " << lxc->name;
  // Each veth is owned by the container of its own peer's namespace, under that unique name.
  const Interface* vd = a.host("vethdock0");
  const Interface* vl = a.host("vethlxc0");
  ASSERT_TRUE(vd && vl);
  EXPECT_EQ(vd->owner_type, "container");
  EXPECT_EQ(vd->owner, docker->name);
  EXPECT_EQ(vl->owner_type, "container");
  EXPECT_EQ(vl->owner, lxc->name);
}

// An LXC container as the sampler's platform source lists it (PlatformContainers).
shm::PlatformContainerRecord platform_ct(shm::SnapshotBuilder& b, std::string_view id,
                                         std::uint32_t flags, std::string_view conf = {}) {
  shm::PlatformContainerRecord r{};
  r.id = b.add_string(id, 256);
  if (!conf.empty()) {
    r.config = b.add_string(conf, 65536);
    flags |= shm::kCtConfigRead;
  }
  r.flags = flags;
  return r;
}

TEST(Attribute, LxcContainersVethsCarryTheNameThePlatformAreaGivesThem) {
  // Proxmox CT 101 (hostname from its config) and CT 102 (config unreadable: CT102), each in
  // lxc/<vmid>; a plain LXC container; and CT 103 whose namespace has no process we saw, known
  // only by its veth's name (veth103i0).
  constexpr std::uint64_t kCt101 = 4026532801, kCt102 = 4026532802, kPlain = 4026532803;
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(host_veth(b, "veth101i0", 4, 1));
  b.add(host_veth(b, "veth102i0", 5, 2));
  b.add(host_veth(b, "vethplain", 6, 3));
  b.add(host_veth(b, "veth103i0", 7, 4));
  b.add(test::netns_record(kCt101, 1, 5101, 1, 0, 0));
  b.add(test::netns_record(kCt102, 2, 5102, 1, 0, 0));
  b.add(test::netns_record(kPlain, 3, 5103, 1, 0, 0));
  b.add(test::proc_record(b, 5101, kCt101, "init\n", "0::/lxc/101/ns/init.scope\n", 0));
  b.add(test::proc_record(b, 5102, kCt102, "init\n", "0::/lxc/102/ns\n", 0));
  b.add(test::proc_record(b, 5103, kPlain, "init\n", "0::/lxc.payload.db1\n", 0));
  b.add(shm::PlatformRecord{});
  b.add(platform_ct(b, "101", shm::kCtProxmox, "arch: amd64\nhostname: web01\n"));
  b.add(platform_ct(b, "102", shm::kCtProxmox));
  b.add(platform_ct(b, "db1", 0));
  b.add(platform_ct(b, "103", shm::kCtProxmox, "hostname: idle03\n"));
  auto snap = test::read_back(b);
  ASSERT_TRUE(snap);
  const Attributed a = attributed(b);
  // The platform area's names, computed by it from the same snapshot: the independent side.
  std::map<std::string, std::string> platform;
  for (const PlatformContainer& c : build_platform_model(*snap).containers) platform[c.id] = c.name;
  ASSERT_EQ(platform.size(), 4u);
  EXPECT_EQ(platform["101"], "web01");
  EXPECT_EQ(platform["102"], "CT102");
  EXPECT_EQ(platform["db1"], "db1");
  for (const auto& [ifname, id] : std::map<std::string, std::string>{{"veth101i0", "101"},
                                                                     {"veth102i0", "102"},
                                                                     {"vethplain", "db1"},
                                                                     {"veth103i0", "103"}}) {
    const Interface* i = a.host(ifname);
    ASSERT_NE(i, nullptr) << ifname;
    EXPECT_EQ(i->owner_type, "container") << ifname;
    EXPECT_EQ(i->owner, platform[id]) << ifname;
  }
  const Container* ct101 = a.container_in(kCt101);
  ASSERT_NE(ct101, nullptr);
  EXPECT_EQ(ct101->runtime, "lxc");
  EXPECT_EQ(ct101->id, "101");
  EXPECT_EQ(ct101->name, "web01");
}

// ---- build_vms() -------------------------------------------------------------------------------

TEST(BuildVms, ALibvirtDomainAndItsQemuProcessAreOneVmWithTheDomainsNameUuidAndTaps) {
  const Domain dom = nova_domain();
  const LibvirtQemu q;
  // The process is the domain's: libvirt passes the domain's uuid with -uuid.
  ASSERT_EQ(arg_after(argv_of(q.cmdline), "-uuid"), dom.uuid);
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::link_record(b, kHostNs, q.tap, 9, "tun", 0x09));
  b.add(test::domain_record(b, dom.name, dom.uuid, 3, dom.xml));
  b.add(test::proc_record(b, 3301, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, q.cmdline));
  b.add(test::tap_record(b, 3301, 31, kHostNs, q.tap));
  const std::vector<Vm> vms = vms_of(b);

  ASSERT_EQ(vms.size(), 1u) << "the domain and its QEMU are one VM";
  const Vm& vm = vms[0];
  EXPECT_EQ(vm.source, "libvirt");
  EXPECT_EQ(vm.name, dom.name);
  EXPECT_EQ(vm.uuid, dom.uuid);
  EXPECT_EQ(vm.pid, 3301);
  ASSERT_TRUE(vm.nova);
  EXPECT_EQ(vm.nova->name, dom.nova_name);
  ASSERT_EQ(vm.interfaces.size(), 1u);
  EXPECT_EQ(vm.interfaces[0].name, q.tap);
  EXPECT_EQ(vm.interfaces[0].ifindex, 9);
  EXPECT_EQ(vm.interfaces[0].kind, "tap");
}

TEST(BuildVms, AQemuWithoutLibvirtTakesItsIdentityFromItsCommandLine) {
  const PlainQemu q;
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::link_record(b, kHostNs, q.tap(), 10, "tun", 0x0a));
  b.add(test::proc_record(b, 3402, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, q.cmdline));
  b.add(test::tap_record(b, 3402, 12, kHostNs, q.tap()));
  const std::vector<Vm> vms = vms_of(b);

  ASSERT_EQ(vms.size(), 1u);
  const Vm& vm = vms[0];
  EXPECT_EQ(vm.source, "cmdline");
  EXPECT_EQ(vm.uuid, arg_after(q.argv, "-uuid"));
  EXPECT_EQ(vm.name, guest_name(q.argv));
  EXPECT_EQ(vm.pid, 3402);
  EXPECT_FALSE(vm.nova);
  ASSERT_EQ(vm.interfaces.size(), 1u);
  EXPECT_EQ(vm.interfaces[0].name, q.tap());
}

TEST(BuildVms, AProcessClaimingALibvirtDomainsUuidGetsAnIdentityOfItsOwn) {
  // A second process calls itself QEMU and names the domain's uuid and name on its command line.
  const Domain dom = nova_domain();
  const LibvirtQemu q;
  std::string claim;
  for (const std::string& arg : std::vector<std::string>{"qemu-system-x86_64", "-uuid", dom.uuid,
                                                         "-name", "guest=" + dom.name})
    claim.append(arg).push_back('\0');
  shm::SnapshotBuilder b;
  add_host_basics(b);
  b.add(test::domain_record(b, dom.name, dom.uuid, 3, dom.xml));
  b.add(test::proc_record(b, 3301, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, q.cmdline));
  b.add(test::proc_record(b, 5000, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, claim));
  const std::vector<Vm> vms = vms_of(b);

  ASSERT_EQ(vms.size(), 2u);
  const auto libvirt =
      std::find_if(vms.begin(), vms.end(), [](const Vm& v) { return v.source == "libvirt"; });
  const auto other =
      std::find_if(vms.begin(), vms.end(), [](const Vm& v) { return v.pid == 5000; });
  ASSERT_TRUE(libvirt != vms.end() && other != vms.end());
  // libvirt's VM keeps the domain's identity and its own QEMU ...
  EXPECT_EQ(libvirt->uuid, dom.uuid);
  EXPECT_EQ(libvirt->pid, 3301);
  // ... the claimant is told apart: "uuid~<pid>" (make_names_unique), and its own key.
  EXPECT_EQ(other->source, "cmdline");
  EXPECT_EQ(other->uuid, dom.uuid + "~5000");
  EXPECT_NE(other->key, libvirt->key);
}

// ---- build_workload_ips() and build_identity() -------------------------------------------------

// Fixed IPs: a VM's from its Nova ports under its name (the owner its interfaces carry); a
// namespace's from the kernel plus, for a Docker container, its endpoint addresses (deduplicated,
// prefix lengths stripped, garbage and loopback dropped).
TEST(WorkloadIps, NovaKernelAndDockerAddresses) {
  Vm vm;
  vm.uuid = "3b9d1c52-6f4e-4d7a-9a1e-2f6c8b0e7d11";
  vm.name = "instance-0000002a";
  vm.nova.emplace();
  vm.nova->fixed_ips = {{"10.20.0.12", 4, "p1"}, {"fd00:20::12", 6, "p2"}, {"not-an-ip", 4, "p3"}};
  AddrTable addrs;
  addrs.present = true;
  auto na = [](const char* ip, std::uint64_t netns, std::int32_t nsid) {
    NetAddr a;
    a.ip = *IpAddr::parse(ip);
    a.netns = netns;
    a.nsid = nsid;
    return a;
  };
  addrs.addrs = {na("172.18.0.2", 1001, 3), na("127.0.0.1", 1001, 3), na("192.0.2.9", 0, -1)};
  Container dumped, undumped;
  dumped.owner_type = undumped.owner_type = "container";
  dumped.name = "web";
  dumped.netns = 1001;
  dumped.addresses = {"172.18.0.2", "fd00:18::2/64", "garbage", "127.0.0.5"};
  undumped.name = "db";
  undumped.netns = 1002;  // no kernel addresses: its namespace was not dumped
  undumped.addresses = {"172.19.0.3/16"};
  const std::vector<Vm> vms = {vm};
  const std::vector<Container> cs = {dumped, undumped};
  const auto w = build_workload_ips(vms, addrs, cs);
  std::map<std::string, std::vector<std::string>> got;
  for (const WorkloadIps& x : w)
    for (const IpAddr& ip : x.ips) got[x.owner_type + "/" + x.owner].push_back(ip.str());
  const std::map<std::string, std::vector<std::string>> want = {
      {"vm/instance-0000002a", {"10.20.0.12", "fd00:20::12"}},
      {"container/web", {"172.18.0.2", "fd00:18::2"}},
      {"container/db", {"172.19.0.3"}},
  };
  EXPECT_EQ(got, want);
}

TEST(BuildIdentity, EachWorkloadsFixedIpsAreNamedByTheSameOwnerAsItsInterfaces) {
  const Docker d;
  const json& web = d.compose_container();
  const Domain dom = nova_domain();
  const LibvirtQemu q;
  shm::SnapshotBuilder b;
  add_host_basics(b);
  // A Nova VM on its tap.
  b.add(test::link_record(b, kHostNs, q.tap, 9, "tun", 0x09));
  b.add(test::domain_record(b, dom.name, dom.uuid, 3, dom.xml));
  b.add(test::proc_record(b, 3301, kHostNs, "qemu-system-x86\n", "", shm::kProcQemu, q.cmdline));
  b.add(test::tap_record(b, 3301, 31, kHostNs, q.tap));
  // A Docker container whose namespace was dumped (kernel addresses) ...
  b.add(host_veth(b, "veth9a1b2c3", 4, 0));
  b.add(test::netns_record(kWebNs, 0, 4101, 1, shm::kNetnsDumped, 2));
  b.add(test::proc_record(b, 4101, kWebNs, "sleep\n", docker_v2_cgroup(Docker::id(web)), 0));
  add_docker_answers(b, d);
  // ... and a namespace of processes in no runtime.
  b.add(host_veth(b, "vethdemo0", 5, 3));
  b.add(test::netns_record(kDemoNs, 3, 4401, 1, shm::kNetnsDumped, 1));
  b.add(
      test::proc_record(b, 4401, kDemoNs, "dnsmasq\n", "0::/system.slice/hf-demo-ns.service\n", 0));
  // Addresses: the host's own, and the workload namespaces' (loopback and link-local are no
  // workload's fixed IP).
  b.add(test::addr_record("198.51.100.7", 24, 2, kHostNs, -1));
  b.add(test::addr_record("127.0.0.1", 8, 1, kWebNs, 0));
  b.add(test::addr_record("10.66.9.1", 24, 2, kWebNs, 0));
  b.add(test::addr_record("fe80::48:46ff:fe00:120", 64, 2, kWebNs, 0));
  b.add(test::addr_record("10.66.4.2", 24, 2, kDemoNs, 3));
  auto snap = test::read_back(b);
  ASSERT_TRUE(snap);
  const auto id = build_identity(*snap);

  // What the inputs say each workload is, and its fixed IPs.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> want;
  want[{"vm", dom.name}] = {dom.fixed_ips.begin(), dom.fixed_ips.end()};
  std::set<std::string>& web_ips = want[{"container", Docker::name(web)}];
  web_ips.insert("10.66.9.1");
  for (const std::string& ip : Docker::endpoint_ips(web)) web_ips.insert(ip);
  want[{"netns", "hf-demo-ns.service"}] = {"10.66.4.2"};

  std::map<std::pair<std::string, std::string>, std::set<std::string>> got;
  for (const WorkloadIps& w : id->workloads)
    for (const IpAddr& ip : w.ips) got[{w.owner_type, w.owner}].insert(ip.str());
  EXPECT_EQ(got, want);
  // Every workload's owner is the owner of a host interface: the same names on both.
  std::set<std::pair<std::string, std::string>> interface_owners;
  for (const Interface& i : id->model.interfaces) interface_owners.insert({i.owner_type, i.owner});
  for (const WorkloadIps& w : id->workloads)
    EXPECT_TRUE(interface_owners.count({w.owner_type, w.owner})) << w.owner_type << "/" << w.owner;
  EXPECT_EQ(id->model.interfaces.size(), 5u);
}

}  // namespace
}  // namespace hostflow
