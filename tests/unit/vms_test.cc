// Virtual machines (exporter/identity/vms, exporter/areas/vms): the parsers of tenant-influenced
// VM text -- QEMU command lines (parse_qemu_cmdline) and libvirt domain XML with Nova metadata
// (parse_domain_xml) --, build_vms on hostile snapshots, and the VM history (VmHistory: VM-view
// totals with tap counters swapped and macvtap not, counter resets, the trailing windows, CPU
// percent with its clamp, --cpu.min suppression and one trailing sample, forgetting VMs that are
// gone). Expected values are written out from the inputs here (or read from the fixture with
// pugixml by this test), never from the code under test.
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "areas/vms/vm_history.h"
#include "hostflow/common/sanitize.h"
#include "identity/domain_xml.h"
#include "identity/qemu_cmdline.h"
#include "identity/vms.h"
#include "segment_util.h"

using hostflow::sanitize_label;
using hostflow::valid_utf8;
using hostflow::exporter::parse_domain_xml;
using hostflow::exporter::parse_qemu_cmdline;
using hostflow::exporter::split_qemu_opts;

namespace {

// A /proc/<pid>/cmdline image: every argument NUL-terminated.
std::string cmdline(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    s += a;
    s += '\0';
  }
  return s;
}

constexpr const char* kUuid = "3b9d1c52-6f4e-4d7a-9a1e-2f6c8b0e7d11";
constexpr const char* kOtherUuid = "8c7b6a59-4e3d-4c2b-9a18-07f6e5d4c3b2";

// ---- parse_qemu_cmdline -------------------------------------------------------------------------

TEST(QemuCmdline, LibvirtStyleUuidAndGuestName) {
  const auto q = parse_qemu_cmdline(
      cmdline({"/usr/bin/qemu-system-x86_64", "-name", "guest=instance-0000002a,debug-threads=on",
               "-S", "-uuid", kUuid, "-netdev", "tap,fd=31,id=hostnet0,vhost=on,vhostfd=33"}));
  EXPECT_EQ(q.uuid, kUuid);
  EXPECT_EQ(q.name, "instance-0000002a");
  EXPECT_EQ(q.identity(), kUuid);
  EXPECT_TRUE(q.tap_ifnames.empty());  // fd-passed taps have no ifname
}

TEST(QemuCmdline, PlainNameAndTapIfnames) {
  const auto q = parse_qemu_cmdline(
      cmdline({"qemu-system-x86_64", "-name", "vm7", "-netdev", "tap,id=n0,ifname=tap7i0,script=no",
               "-netdev", "user,id=n1,ifname=notatap", "-netdev", "tap,id=n2,ifname=tap7i1"}));
  EXPECT_EQ(q.name, "vm7");
  EXPECT_EQ(q.uuid, "");
  EXPECT_EQ(q.identity(), "vm7");  // nothing better than the name
  EXPECT_EQ(q.tap_ifnames, (std::vector<std::string>{"tap7i0", "tap7i1"}));
}

TEST(QemuCmdline, RunVmPathIdentity) {
  // Firecracker/Cloud-Hypervisor-like wrappers and some orchestrators put the VM uuid in paths.
  const auto q = parse_qemu_cmdline(
      cmdline({"qemu-system-x86_64", "-chardev",
               std::string("socket,id=mon,path=/run/vm/") + kOtherUuid + "/qmp.sock,server=on"}));
  EXPECT_EQ(q.run_vm_id, kOtherUuid);
  EXPECT_EQ(q.identity(), kOtherUuid);
  // -uuid wins over the path.
  const auto both =
      parse_qemu_cmdline(cmdline({"qemu-system-x86_64", "-uuid", kUuid, "-pidfile",
                                  std::string("/var/run/vm/") + kOtherUuid + "/pid"}));
  EXPECT_EQ(both.identity(), kUuid);
  EXPECT_EQ(both.run_vm_id, kOtherUuid);
}

TEST(QemuCmdline, GuestCidIdentity) {
  const auto q = parse_qemu_cmdline(
      cmdline({"qemu-system-x86_64", "-device", "vhost-vsock-pci,id=vsock0,guest-cid=1042"}));
  EXPECT_EQ(q.guest_cid, "1042");
  EXPECT_EQ(q.identity(), "CID-1042");
  // run/vm/<UUID>/ beats the CID, the name comes last.
  const auto q2 = parse_qemu_cmdline(
      cmdline({"qemu-system-x86_64", "-name", "guest=n", "-device", "vhost-vsock-pci,guest-cid=7",
               std::string("/run/vm/") + kUuid + "/x"}));
  EXPECT_EQ(q2.identity(), kUuid);
  const auto q3 =
      parse_qemu_cmdline(cmdline({"qemu-system-x86_64", "-name", "guest=n", "guest-cid=7"}));
  EXPECT_EQ(q3.identity(), "CID-7");
  // guest-cid= with no digits is not an identity.
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "guest-cid=x1"})).guest_cid, "");
}

TEST(QemuCmdline, DoubleCommaEscapes) {
  const auto q = parse_qemu_cmdline(cmdline({"q", "-name", "guest=a,,b,,,,c,debug-threads=on"}));
  EXPECT_EQ(q.name, "a,b,,c");
  EXPECT_EQ(split_qemu_opts("tap,,x,id=a,,b"),
            (std::vector<std::pair<std::string, std::string>>{{"", "tap,x"}, {"id", "a,b"}}));
  EXPECT_EQ(split_qemu_opts("a,"),
            (std::vector<std::pair<std::string, std::string>>{{"", "a"}, {"", ""}}));
  EXPECT_TRUE(split_qemu_opts("").empty());
}

TEST(QemuCmdline, DoubleDashOptions) {
  const auto q = parse_qemu_cmdline(cmdline({"q", "--uuid", kUuid, "--name", "guest=dd"}));
  EXPECT_EQ(q.uuid, kUuid);
  EXPECT_EQ(q.name, "dd");
}

TEST(QemuCmdline, MissingValues) {
  // An option as the last argument has no value: nothing is taken, nothing crashes.
  for (const char* opt : {"-uuid", "-name", "-netdev", "--uuid"}) {
    const auto q = parse_qemu_cmdline(cmdline({"q", opt}));
    EXPECT_EQ(q.uuid, "") << opt;
    EXPECT_EQ(q.name, "") << opt;
    EXPECT_EQ(q.identity(), "") << opt;
  }
  // Empty values.
  const auto q = parse_qemu_cmdline(cmdline({"q", "-uuid", "", "-name", "guest="}));
  EXPECT_EQ(q.uuid, "");
  EXPECT_EQ(q.name, "");
  // A value that is the next option is consumed as the value, as QEMU does.
  const auto q2 = parse_qemu_cmdline(cmdline({"q", "-name", "-uuid", kUuid}));
  EXPECT_EQ(q2.name, "-uuid");
  EXPECT_EQ(q2.uuid, "");
}

TEST(QemuCmdline, GarbageIsRejectedOrBounded) {
  // Not a uuid: ignored.
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "-uuid", "not-a-uuid!"})).uuid, "");
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "-uuid", std::string(65, 'a')})).uuid, "");
  // run/vm/<id>: any id bytes up to '/', but never a control byte, invalid UTF-8 or > 64 bytes.
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q",
                                        "/run/vm/a\x01"
                                        "b/x"}))
                .run_vm_id,
            "");
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q",
                                        "/run/vm/a\xff"
                                        "b/x"}))
                .run_vm_id,
            "");
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "/run/vm/" + std::string(65, 'a') + "/x"})).run_vm_id,
            "");
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "/run/vm/" + std::string(64, 'a') + "/x"})).run_vm_id,
            std::string(64, 'a'));
  // Empty input, only NULs, no trailing NUL.
  EXPECT_EQ(parse_qemu_cmdline("").identity(), "");
  EXPECT_EQ(parse_qemu_cmdline(std::string(100, '\0')).identity(), "");
  EXPECT_EQ(parse_qemu_cmdline(std::string("q\0-name\0guest=x", 15)).name, "x");
  // A huge name is capped (256 bytes).
  const auto big = parse_qemu_cmdline(cmdline({"q", "-name", "guest=" + std::string(100000, 'n')}));
  EXPECT_EQ(big.name, std::string(256, 'n'));
  // Binary garbage with invalid UTF-8 stays raw here (the label sanitiser cleans it later).
  const auto bin = parse_qemu_cmdline(cmdline({"q", "-name", "guest=\xff\xfe\x01x"}));
  EXPECT_EQ(bin.name, "\xff\xfe\x01x");
  EXPECT_TRUE(valid_utf8(sanitize_label(bin.name)));
  // Very many arguments: bounded work, first ones parsed.
  std::vector<std::string> many = {"q", "-uuid", kUuid};
  for (int i = 0; i < 20000; i++) many.push_back("-netdev");
  EXPECT_EQ(parse_qemu_cmdline(cmdline(many)).uuid, kUuid);
  // Many tap ifnames are capped at 64.
  std::vector<std::string> taps = {"q"};
  for (int i = 0; i < 200; i++) {
    taps.push_back("-netdev");
    taps.push_back("tap,ifname=t" + std::to_string(i));
  }
  EXPECT_EQ(parse_qemu_cmdline(cmdline(taps)).tap_ifnames.size(), 64u);
}

// Issue 14: the Traffic Exporter's own id (extractUUIDFromCmdline: `run/vm/([^/\x00]+)`, else
// `guest-cid=(\d+)` as "CID-<n>"), and the relaxed run/vm/<id> hostflow's identity uses too.
TEST(QemuCmdline, TrafficIdFollowsTheSeedsTwoPatterns) {
  using V = std::vector<std::string>;
  auto id = [](const V& a) { return parse_qemu_cmdline(cmdline(a)).traffic_id(); };
  // Its README's own examples: not hex, and no trailing '/' needed.
  EXPECT_EQ(id({"qemu-system-x86_64", "-drive", "file=/opt/dstack/run/vm/vm-12345/hda.img"}),
            "vm-12345");
  EXPECT_EQ(id({"qemu-system-x86_64", "-pidfile", "/opt/dstack/run/vm/abc123-def456/"}),
            "abc123-def456");
  EXPECT_EQ(id({"q", "/var/run/vm/x.pid"}), "x.pid");
  EXPECT_EQ(id({"q", "-chardev", "socket,path=/run/vm/vm-1"}), "vm-1");  // up to the argument's end
  // Leftmost non-empty capture: "run/vm//" has none, the search goes on (in the argument and in
  // later arguments); an option's value is searched too.
  EXPECT_EQ(id({"q", "run/vm//a run/vm/b/"}), "b");
  EXPECT_EQ(id({"q", "/x/run/vm/", "run/vm/c/"}), "c");
  EXPECT_EQ(id({"q", "-name", "run/vm/n/", "/run/vm/later/"}), "n");
  EXPECT_EQ(id({"q", "xrun/vm/inside/"}), "inside");
  // Otherwise the leftmost guest-cid= with digits, leading zeros kept.
  EXPECT_EQ(id({"q", "-device", "vhost-vsock-pci,guest-cid=1001"}), "CID-1001");
  EXPECT_EQ(id({"q", "guest-cid=x,guest-cid=007"}), "CID-007");
  EXPECT_EQ(id({"q", "guest-cid=5", "/opt/run/vm/v9/"}), "v9");  // run/vm wins wherever it is
  // Never -uuid or -name; neither pattern: no id (the seed ignores the process).
  EXPECT_EQ(id({"q", "-uuid", kUuid, "-name", "guest=n"}), "");
  EXPECT_EQ(id({"q"}), "");
  // The native identity: -uuid first, then the same run/vm id.
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "/run/vm/vm-12345/x"})).identity(), "vm-12345");
  EXPECT_EQ(parse_qemu_cmdline(cmdline({"q", "-uuid", kUuid, "/run/vm/vm-12345/x"})).identity(),
            kUuid);
}

// ---- parse_domain_xml ---------------------------------------------------------------------------

const std::string kFixture = std::string(HOSTFLOW_FIXTURES_DIR) + "/libvirt/nova-node.xml";

// The fixture's <domain> elements, each serialised back to text as libvirt would hand it over.
std::vector<std::string> fixture_domains(pugi::xml_document& doc) {
  std::vector<std::string> out;
  EXPECT_TRUE(doc.load_file(kFixture.c_str())) << kFixture;
  for (pugi::xml_node d : doc.child("node").children("domain")) {
    std::ostringstream s;
    d.print(s);
    out.push_back(s.str());
  }
  return out;
}

TEST(DomainXml, FixtureDomainsMatchTheirXml) {
  pugi::xml_document doc;
  const auto domains = fixture_domains(doc);
  ASSERT_EQ(domains.size(), 3u);
  std::vector<pugi::xml_node> nodes;
  for (pugi::xml_node d : doc.child("node").children("domain")) nodes.push_back(d);
  for (std::size_t k = 0; k < domains.size(); k++) {
    std::string err;
    const auto info = parse_domain_xml(domains[k], &err);
    ASSERT_TRUE(info) << err;
    const pugi::xml_node d = nodes[k];
    EXPECT_EQ(info->name, d.child_value("name"));
    EXPECT_EQ(info->uuid, d.child_value("uuid"));
    const pugi::xml_node inst = d.child("metadata").child("nova:instance");
    ASSERT_EQ(info->nova.has_value(), !inst.empty()) << info->name;
    if (inst) {
      const auto& n = *info->nova;
      EXPECT_EQ(n.metadata_version, "1.1");
      EXPECT_EQ(n.name, inst.child_value("nova:name"));
      EXPECT_EQ(n.package_version, inst.child("nova:package").attribute("version").value());
      EXPECT_EQ(n.created_at, inst.child_value("nova:creationTime"));
      const pugi::xml_node fl = inst.child("nova:flavor");
      EXPECT_EQ(n.flavor, fl.attribute("name").value());
      EXPECT_EQ(n.memory_mb, fl.child_value("nova:memory"));
      EXPECT_EQ(n.vcpus, fl.child_value("nova:vcpus"));
      EXPECT_EQ(n.disk_gb, fl.child_value("nova:disk"));
      const pugi::xml_node owner = inst.child("nova:owner");
      EXPECT_EQ(n.user_name, owner.child_value("nova:user"));
      EXPECT_EQ(n.user_uuid, owner.child("nova:user").attribute("uuid").value());
      EXPECT_EQ(n.project_name, owner.child_value("nova:project"));
      EXPECT_EQ(n.project_uuid, owner.child("nova:project").attribute("uuid").value());
      EXPECT_EQ(n.root_type, inst.child("nova:root").attribute("type").value());
      EXPECT_EQ(n.root_uuid, inst.child("nova:root").attribute("uuid").value());
      std::vector<std::string> ips;
      for (pugi::xml_node port : inst.child("nova:ports").children("nova:port"))
        for (pugi::xml_node ip : port.children("nova:ip"))
          ips.push_back(std::string(ip.attribute("address").value()) + "/" +
                        ip.attribute("ipVersion").value() + "/" + port.attribute("uuid").value());
      std::vector<std::string> got;
      for (const auto& f : n.fixed_ips)
        got.push_back(f.address + "/" + std::to_string(f.version) + "/" + f.port_uuid);
      EXPECT_EQ(got, ips);
    }
    // device="disk" only (the config-drive cdrom is not a disk).
    std::vector<std::string> targets;
    for (pugi::xml_node disk : d.child("devices").children("disk"))
      if (std::string(disk.attribute("device").value()) == "disk")
        targets.push_back(disk.child("target").attribute("dev").value());
    std::vector<std::string> got_targets;
    for (const auto& disk : info->disks) got_targets.push_back(disk.target);
    EXPECT_EQ(got_targets, targets);
    std::vector<std::string> ifs;
    for (pugi::xml_node i : d.child("devices").children("interface"))
      ifs.push_back(std::string(i.child("target").attribute("dev").value()) + " " +
                    i.attribute("type").value() + " " +
                    i.child("mac").attribute("address").value() + " " +
                    i.child("source").attribute("bridge").value());
    std::vector<std::string> got_ifs;
    for (const auto& i : info->interfaces)
      got_ifs.push_back(i.target + " " + i.type + " " + i.mac + " " + i.source);
    EXPECT_EQ(got_ifs, ifs);
  }
}

TEST(DomainXml, DiskTiersAndUuids) {
  pugi::xml_document doc;
  const auto domains = fixture_domains(doc);
  ASSERT_EQ(domains.size(), 3u);
  std::string err;
  const auto a = parse_domain_xml(domains[0], &err);
  ASSERT_TRUE(a) << err;
  ASSERT_EQ(a->disks.size(), 2u);
  // Ceph volume: tier = pool, uuid = serial (= the volume uuid), path = the rbd name.
  EXPECT_EQ(a->disks[0].type, "network");
  EXPECT_EQ(a->disks[0].tier, "volumes-ssd");
  EXPECT_EQ(a->disks[0].uuid, "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
  EXPECT_EQ(a->disks[0].path, "volumes-ssd/volume-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
  // Local file in the instance directory: tier local, uuid = the instance.
  EXPECT_EQ(a->disks[1].type, "file");
  EXPECT_EQ(a->disks[1].tier, "local");
  EXPECT_EQ(a->disks[1].uuid, "3b9d1c52-6f4e-4d7a-9a1e-2f6c8b0e7d11");
  const auto b = parse_domain_xml(domains[1], &err);
  ASSERT_TRUE(b) << err;
  ASSERT_EQ(b->disks.size(), 1u);
  EXPECT_EQ(b->disks[0].tier, "volumes-hdd");
  EXPECT_EQ(b->disks[0].uuid, "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d");  // from volume-<uuid>
}

TEST(DomainXml, NotADomain) {
  std::string err;
  EXPECT_FALSE(parse_domain_xml("<node><domain/></node>", &err));
  EXPECT_NE(err, "");
  err.clear();
  EXPECT_FALSE(parse_domain_xml("", &err));
  EXPECT_NE(err, "");
  err.clear();
  EXPECT_FALSE(parse_domain_xml("<domain><name>x</name>", &err));  // unterminated
  EXPECT_NE(err, "");
  err.clear();
  EXPECT_FALSE(parse_domain_xml("just text", &err));
  EXPECT_NE(err, "");
  // An empty domain is a domain with nothing in it.
  const auto e = parse_domain_xml("<domain/>", &err);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name, "");
  EXPECT_FALSE(e->nova);
}

TEST(DomainXml, InvalidUtf8NamesBecomeValidLabels) {
  const std::string xml =
      "<domain><name>bad\xff\xfe\xc0\xafname\x01</name><uuid>u</uuid><metadata>"
      "<nova:instance xmlns:nova=\"http://openstack.org/xmlns/libvirt/nova/1.1\">"
      "<nova:name>\xed\xa0\x80surrogate\xf4\x90\x80\x80</nova:name>"
      "<nova:owner><nova:project uuid=\"p\">\xe2\x82</nova:project></nova:owner>"
      "</nova:instance></metadata></domain>";
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  ASSERT_TRUE(info->nova);
  for (const std::string& s : {info->name, info->nova->name, info->nova->project_name}) {
    EXPECT_FALSE(valid_utf8(s));  // the parser keeps raw bytes ...
    const std::string l = sanitize_label(s);
    EXPECT_TRUE(valid_utf8(l)) << l;  // ... the label is valid UTF-8
  }
  const std::string l = sanitize_label(info->name);
  EXPECT_EQ(l.rfind("bad\uFFFD", 0), 0u) << l;  // invalid bytes replaced, text kept
  EXPECT_NE(l.find("name\uFFFD"), std::string::npos) << l;
}

TEST(DomainXml, HugeNamesAreCapped) {
  // Just under the 1 MiB limit: parsed, every string capped at 256 bytes.
  const std::string big(1024 * 1024 - 12000, 'n');
  const std::string xml = "<domain><name>" + big + "</name><devices><interface type=\"" +
                          std::string(5000, 't') + "\"><target dev=\"" + std::string(5000, 'd') +
                          "\"/></interface></devices></domain>";
  ASSERT_LE(xml.size(), hostflow::exporter::kMaxDomainXmlBytes);
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->name, std::string(256, 'n'));
  ASSERT_EQ(info->interfaces.size(), 1u);
  EXPECT_EQ(info->interfaces[0].target, std::string(256, 'd'));
  EXPECT_EQ(info->interfaces[0].type, std::string(256, 't'));
  // Over 1 MiB: refused before parsing.
  const std::string over = "<domain><name>" + std::string(1024 * 1024, 'n') + "</name></domain>";
  EXPECT_FALSE(parse_domain_xml(over, &err));
  EXPECT_NE(err.find("larger"), std::string::npos) << err;
}

TEST(DomainXml, ManyDevicesAreBounded) {
  std::string xml = "<domain><devices>";
  for (int i = 0; i < 2000; i++)
    xml += "<disk type=\"file\" device=\"disk\"><target dev=\"vd" + std::to_string(i) +
           "\"/></disk><interface type=\"bridge\"><target dev=\"t" + std::to_string(i) +
           "\"/></interface>";
  xml += "</devices></domain>";
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->disks.size(), 256u);
  EXPECT_EQ(info->interfaces.size(), 256u);
}

TEST(DomainXml, DeepNestingDoesNotCrash) {
  constexpr int kDepth = 100000;
  std::string xml = "<domain><name>deep</name><metadata>";
  for (int i = 0; i < kDepth; i++) xml += "<a>";
  for (int i = 0; i < kDepth; i++) xml += "</a>";
  xml += "</metadata><devices/></domain>";
  ASSERT_LE(xml.size(), hostflow::exporter::kMaxDomainXmlBytes);
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->name, "deep");
  EXPECT_FALSE(info->nova);
  EXPECT_TRUE(info->interfaces.empty());
  // Unclosed deep nesting: an error, not a crash.
  std::string open = "<domain>";
  for (int i = 0; i < kDepth; i++) open += "<a>";
  EXPECT_FALSE(parse_domain_xml(open, &err));
}

TEST(DomainXml, DoctypeAndEntitiesAreNotExpanded) {
  // Billion laughs + an external entity: neither may be expanded or fetched.
  std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE domain [\n"
      "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n"
      "  <!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; i++) {
    const std::string prev = i == 1 ? "lol" : "lol" + std::to_string(i - 1);
    xml += "  <!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; k++) xml += "&" + prev + ";";
    xml += "\">\n";
  }
  xml +=
      "]>\n<domain><name>&lol9;</name><uuid>&xxe;</uuid><description>&amp;&lt;</description>"
      "</domain>";
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  EXPECT_EQ(info->name, "&lol9;");  // left as written
  EXPECT_EQ(info->uuid, "&xxe;");
  EXPECT_EQ(info->uuid.find("root:"), std::string::npos);
}

TEST(DomainXml, NovaNamespaceMustBeNovas) {
  // An <instance> in another namespace is not Nova metadata.
  const std::string xml =
      "<domain><metadata><x:instance xmlns:x=\"http://example.com/other/1.0\"><x:name>n</x:name>"
      "</x:instance></metadata></domain>";
  std::string err;
  const auto info = parse_domain_xml(xml, &err);
  ASSERT_TRUE(info) << err;
  EXPECT_FALSE(info->nova);
  // Any prefix bound to the Nova namespace is.
  const auto p = parse_domain_xml(
      "<domain><metadata><n2:instance xmlns:n2=\"http://openstack.org/xmlns/libvirt/nova/1.0\">"
      "<n2:name>web</n2:name></n2:instance></metadata></domain>",
      &err);
  ASSERT_TRUE(p && p->nova) << err;
  EXPECT_EQ(p->nova->name, "web");
  EXPECT_EQ(p->nova->metadata_version, "1.0");
}

}  // namespace

// Issue 12, defect 4 (VM repro): any process can call itself qemu-system-x86 and choose its
// argv. Three of them, pids a < c < b: a and b claim uuid X, c names itself b's suffixed id.
// Every VM identity (the vm_uuid label and the key) stays unique.
namespace {
std::string argv_bytes(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s.append(a).push_back('\0');
  return s;
}
}  // namespace

TEST(BuildVms, ChosenCommandLinesNeverGiveTwoVmsOneIdentity) {
  namespace shm = hostflow::shm;
  const std::string x = "11111111-2222-3333-4444-555555555555";
  struct P {
    int pid;
    std::vector<std::string> argv;
  };
  const std::vector<P> procs = {
      {100, {"qemu-system-x86_64", "-uuid", x, "-name", "guest=" + x + "~300"}},
      {200, {"qemu-system-x86_64", "-name", "guest=" + x + "~300"}},
      {300, {"qemu-system-x86_64", "-uuid", x, "-name", "guest=" + x + "~300"}},
  };
  shm::SnapshotBuilder b;
  for (const P& p : procs) {
    shm::ProcRecord r{};
    r.pid = p.pid;
    r.netns_inode = 4026531840ull;
    r.comm = b.add_string("qemu-system-x86", 16);
    r.cmdline = b.add_string(argv_bytes(p.argv), 65536);
    r.flags = shm::kProcQemu;
    b.add(r);
  }
  hostflow::test::SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = hostflow::test::read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  const auto vms = hostflow::exporter::build_vms(*snap, {}, {});
  ASSERT_EQ(vms.size(), 3u);
  std::set<std::string> uuids, keys;
  for (const auto& vm : vms) {
    uuids.insert(vm.uuid);
    keys.insert(vm.key);
  }
  EXPECT_EQ(uuids.size(), 3u);
  EXPECT_EQ(keys.size(), 3u);
  // The first claimant keeps X; the process that named itself "X~300" keeps that name.
  EXPECT_EQ(vms[0].uuid, x);
  EXPECT_EQ(vms[1].uuid, x + "~300");
  EXPECT_EQ(vms[2].uuid, x + "~300~2");
}

// Issue 14: a QEMU with neither -name nor any id is named qemu-<pid> (identity and owner, never
// ""); without -name the owner is its identity; the command line's ids are kept for
// hostflow_vm_cmdline_info.
TEST(BuildVms, NamelessQemuGetsAStableNameAndKeepsItsIds) {
  namespace shm = hostflow::shm;
  const std::vector<std::pair<int, std::vector<std::string>>> procs = {
      {41, {"qemu-system-x86_64", "-m", "512"}},
      {42,
       {"qemu-system-x86_64", "-drive", "file=/opt/dstack/run/vm/vm-12345/hda.img", "-device",
        "vhost-vsock-pci,guest-cid=7"}},
      {43, {"qemu-system-x86_64", "-uuid", kUuid, "-device", "vhost-vsock-pci,guest-cid=8"}},
  };
  shm::SnapshotBuilder b;
  for (const auto& [pid, argv] : procs) {
    shm::ProcRecord r{};
    r.pid = pid;
    r.netns_inode = 4026531840ull;
    r.comm = b.add_string("qemu-system-x86", 16);
    r.cmdline = b.add_string(argv_bytes(argv), 65536);
    r.flags = shm::kProcQemu;
    b.add(r);
  }
  hostflow::test::SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = hostflow::test::read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  const auto vms = hostflow::exporter::build_vms(*snap, {}, {});
  ASSERT_EQ(vms.size(), 3u);
  EXPECT_EQ(vms[0].uuid, "qemu-41");
  EXPECT_EQ(vms[0].name, "qemu-41");
  EXPECT_EQ(vms[0].run_vm_id, "");
  EXPECT_EQ(vms[1].uuid, "vm-12345");
  EXPECT_EQ(vms[1].name, "vm-12345");
  EXPECT_EQ(vms[1].run_vm_id, "vm-12345");
  EXPECT_EQ(vms[1].guest_cid, "7");
  EXPECT_EQ(vms[2].uuid, kUuid);
  EXPECT_EQ(vms[2].name, kUuid);
  EXPECT_EQ(vms[2].guest_cid, "8");
}

// Issue 12 (8): Nova's flavor is tenant-influenced XML. Without libvirt stats the flavor's
// memory and vcpus are used, range-checked: 10^20 MiB was 1.8e19 bytes, 2^32+1 vCPUs was 1.
TEST(BuildVms, NovaNumbersOutOfRangeAreIgnoredAndCounted) {
  namespace shm = hostflow::shm;
  auto vm_of = [](const std::string& memory, const std::string& vcpus) {
    const std::string xml =
        "<domain "
        "type='kvm'><name>instance-1</name><uuid>0d5f8e3a-0000-4000-8000-000000000001</uuid>"
        "<metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
        "<nova:name>vm</nova:name><nova:flavor name='m1'><nova:memory>" +
        memory + "</nova:memory><nova:vcpus>" + vcpus +
        "</nova:vcpus></nova:flavor></nova:instance>"
        "</metadata></domain>";
    shm::SnapshotBuilder b;
    shm::DomainRecord d{};
    d.name = b.add_string("instance-1", 256);
    d.uuid = b.add_string("0d5f8e3a-0000-4000-8000-000000000001", 64);
    d.id = 1;
    d.xml = b.add_string(xml, 1 << 20);
    b.add(d);
    hostflow::test::SegmentBuf seg;
    EXPECT_TRUE(seg.publish(b, 1));
    std::string err;
    auto snap = hostflow::test::read_segment(seg.data(), seg.size, &err);
    EXPECT_TRUE(snap) << err;
    auto vms = hostflow::exporter::build_vms(*snap, {}, {});
    EXPECT_EQ(vms.size(), 1u);
    return vms.empty() ? hostflow::exporter::Vm{} : vms[0];
  };
  const auto ok = vm_of("2048", "4");
  EXPECT_EQ(ok.memory_bytes, 2048ull << 20);
  EXPECT_EQ(ok.vcpus, 4u);
  EXPECT_EQ(ok.out_of_range_values, 0u);
  const auto bad = vm_of("100000000000000000000", "4294967297");
  EXPECT_EQ(bad.memory_bytes, 0u);
  EXPECT_EQ(bad.vcpus, 0u);
  EXPECT_EQ(bad.out_of_range_values, 2u);
  const auto edge = vm_of(std::to_string(hostflow::exporter::kMaxMemoryBytes >> 20),
                          std::to_string(hostflow::exporter::kMaxVcpus));
  EXPECT_EQ(edge.memory_bytes, hostflow::exporter::kMaxMemoryBytes);
  EXPECT_EQ(edge.vcpus, hostflow::exporter::kMaxVcpus);
  EXPECT_EQ(edge.out_of_range_values, 0u);
}

// ---- VmHistory ---------------------------------------------------------------------------------

using hostflow::exporter::kWindowNames;
using hostflow::exporter::kWindowSeconds;
using hostflow::exporter::Vm;
using hostflow::exporter::VmDerived;
using hostflow::exporter::VmHistory;
using hostflow::exporter::VmInterface;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ull;

VmInterface iface(int ifindex, std::uint64_t host_rx, std::uint64_t host_tx, bool macvtap = false) {
  VmInterface i;
  i.netns = 7;
  i.ifindex = ifindex;
  i.name = "tap" + std::to_string(ifindex);
  i.kind = macvtap ? "macvtap" : "tap";
  i.guest_view = macvtap;
  i.stats.rx_bytes = host_rx;
  i.stats.tx_bytes = host_tx;
  i.stats.rx_packets = host_rx / 100;
  i.stats.tx_packets = host_tx / 100;
  return i;
}

Vm vm(const std::string& key, std::vector<VmInterface> ifs = {}) {
  Vm v;
  v.key = key;
  v.uuid = key;
  v.interfaces = std::move(ifs);
  return v;
}

VmDerived one(VmHistory& h, const Vm& v, std::uint64_t t) {
  auto d = h.update({v}, t);
  EXPECT_EQ(d.size(), 1u);
  return d.empty() ? VmDerived{} : d[0];
}

TEST(VmHistory, TapCountersAreSwappedMacvtapIsNot) {
  VmHistory h;
  // Host view of a tap: rx 1000 (the guest sent), tx 5000 (the guest received).
  auto d = one(h, vm("a", {iface(3, 1000, 5000), iface(4, 300, 700, /*macvtap=*/true)}), 10 * kSec);
  EXPECT_EQ(d.rx_bytes, 5000u + 300u);
  EXPECT_EQ(d.tx_bytes, 1000u + 700u);
  EXPECT_EQ(d.rx_packets, 50u + 3u);
  EXPECT_EQ(d.tx_packets, 10u + 7u);
}

TEST(VmHistory, TotalsSurviveCounterResetsAndReplacedInterfaces) {
  VmHistory h;
  auto d = one(h, vm("a", {iface(3, 0, 1000)}), 10 * kSec);
  EXPECT_EQ(d.rx_bytes, 1000u);
  d = one(h, vm("a", {iface(3, 0, 1500)}), 11 * kSec);
  EXPECT_EQ(d.rx_bytes, 1500u);
  // The tap was recreated with the same ifindex: its counter restarted at 0 and is at 200 now.
  d = one(h, vm("a", {iface(3, 0, 200)}), 12 * kSec);
  EXPECT_EQ(d.rx_bytes, 1700u);
  // Replaced by another interface (ifindex 9) which already carried 50 bytes: all of it counts.
  d = one(h, vm("a", {iface(9, 0, 50)}), 13 * kSec);
  EXPECT_EQ(d.rx_bytes, 1750u);
  // No interface at all for a while: the total stays.
  d = one(h, vm("a"), 14 * kSec);
  EXPECT_EQ(d.rx_bytes, 1750u);
  EXPECT_EQ(d.tx_bytes, 0u);
}

TEST(VmHistory, WindowsAtFiveSecondSamples) {
  VmHistory h;
  // 10 bytes received per 5 s for 2 h (from t = 1000 s).
  std::uint64_t host_tx = 0;
  VmDerived d;
  const std::uint64_t t0 = 1000 * kSec;
  for (std::uint64_t k = 0; k <= 2 * 3600 / 5; k++) {
    d = one(h, vm("a", {iface(3, 0, host_tx)}), t0 + k * 5 * kSec);
    host_tx += 10;
  }
  for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
    EXPECT_EQ(d.rx_window[w], kWindowSeconds[w] / 5 * 10) << kWindowNames[w];
    EXPECT_EQ(d.tx_window[w], 0u) << kWindowNames[w];
  }
  // History is bounded by the 1 h window, not by the 2 h run.
  EXPECT_LE(h.samples(), 3600 / 5 + 3);
}

// Whatever the sampler interval, a window covers W to W + 5 s of history and a VM keeps at most
// about 3600 / 5 + 2 samples (vm_history.h).
TEST(VmHistory, WindowsAndHistoryBoundAtOtherIntervals) {
  for (const std::uint64_t interval_ms : {1000u, 2500u, 3000u, 4000u, 500u}) {
    VmHistory h;
    std::uint64_t host_rx = 0;
    VmDerived d;
    std::size_t max_samples = 0;
    const std::uint64_t steps = 4000 * 1000 / interval_ms;
    for (std::uint64_t k = 0; k <= steps; k++) {
      d = one(h, vm("a", {iface(3, host_rx, 0)}), kSec + k * interval_ms * 1'000'000ull);
      host_rx += interval_ms;  // 1000 bytes sent per second
      max_samples = std::max(max_samples, h.samples());
    }
    for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
      EXPECT_GE(d.tx_window[w], kWindowSeconds[w] * 1000) << kWindowNames[w] << " " << interval_ms;
      EXPECT_LE(d.tx_window[w], (kWindowSeconds[w] + 5) * 1000)
          << kWindowNames[w] << " " << interval_ms;
    }
    EXPECT_LE(max_samples, 3600 / 5 + 3) << "interval " << interval_ms << " ms";
  }
}

TEST(VmHistory, VmYoungerThanTheWindowHasWindowEqualTotal) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 0)}), 100 * kSec);  // appears idle
  auto d = one(h, vm("a", {iface(3, 4000, 9000)}), 110 * kSec);
  EXPECT_EQ(d.rx_bytes, 9000u);
  EXPECT_EQ(d.tx_bytes, 4000u);
  for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
    EXPECT_EQ(d.rx_window[w], 9000u) << kWindowNames[w];
    EXPECT_EQ(d.tx_window[w], 4000u) << kWindowNames[w];
  }
  // After 40 s idle the 30 s window is empty, the 1 m window still has it.
  one(h, vm("a", {iface(3, 4000, 9000)}), 130 * kSec);
  d = one(h, vm("a", {iface(3, 4000, 9000)}), 150 * kSec);
  EXPECT_EQ(d.rx_window[0], 0u);
  EXPECT_EQ(d.rx_window[1], 9000u);
}

TEST(VmHistory, ResetWindowsKeepsTotals) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 0)}), 100 * kSec);
  one(h, vm("a", {iface(3, 10, 20)}), 110 * kSec);
  h.reset_windows();
  auto d = one(h, vm("a", {iface(3, 15, 20)}), 111 * kSec);
  EXPECT_EQ(d.rx_bytes, 20u);
  EXPECT_EQ(d.tx_bytes, 15u);
  EXPECT_EQ(d.rx_window[0], 0u);
  EXPECT_EQ(d.tx_window[0], 5u);
}

Vm cpu_vm(std::uint64_t cpu_ns, unsigned vcpus = 2) {
  Vm v = vm("c");
  v.cpu_time_ns = cpu_ns;
  v.vcpus = vcpus;
  return v;
}

TEST(VmHistory, CpuPercentClampSuppressionAndTrailingSample) {
  VmHistory h(10.0);
  std::uint64_t t = 50 * kSec, cpu = 7 * kSec;
  EXPECT_FALSE(one(h, cpu_vm(cpu), t).cpu_percent);  // first sight: no rate yet
  // 1 s of CPU over 1 s on 2 vCPUs: 50 %.
  t += kSec, cpu += kSec;
  auto d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 50.0);
  // Drops to 5 %: exported once more (the trailing sample) ...
  t += kSec, cpu += kSec / 10;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 5.0);
  // ... then suppressed while below --cpu.min.
  for (int i = 0; i < 3; i++) {
    t += kSec, cpu += kSec / 10;
    EXPECT_FALSE(one(h, cpu_vm(cpu), t).cpu_percent);
  }
  // Exactly at the minimum: exported.
  t += kSec, cpu += kSec / 5;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 10.0);
  // More CPU time than wall time x vCPUs (accounting skew): clamped to 100.
  t += kSec, cpu += 5 * kSec;
  d = one(h, cpu_vm(cpu), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 100.0);
  // CPU time went backwards (the domain restarted): no value this time, rate resumes next time.
  t += kSec;
  EXPECT_FALSE(one(h, cpu_vm(kSec), t).cpu_percent);
  t += kSec;
  d = one(h, cpu_vm(kSec + kSec), t);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 50.0);
  // No vCPU count or no CPU time: nothing.
  t += kSec;
  EXPECT_FALSE(one(h, cpu_vm(3 * kSec, 0), t).cpu_percent);
  Vm nocpu = vm("c");
  nocpu.vcpus = 2;
  t += kSec;
  EXPECT_FALSE(one(h, nocpu, t).cpu_percent);
}

TEST(VmHistory, CpuMinZeroExportsIdle) {
  VmHistory h(0.0);
  one(h, cpu_vm(0), kSec);
  auto d = one(h, cpu_vm(0), 2 * kSec);
  ASSERT_TRUE(d.cpu_percent);
  EXPECT_DOUBLE_EQ(*d.cpu_percent, 0.0);
}

TEST(VmHistory, GoneVmsAreForgottenAndComeBackFresh) {
  VmHistory h;
  one(h, vm("a", {iface(3, 0, 100)}), kSec);
  EXPECT_EQ(h.tracked(), 1u);
  h.update({}, 2 * kSec);
  EXPECT_EQ(h.tracked(), 0u);
  EXPECT_EQ(h.samples(), 0u);
  // Back with the same key: counted from its interfaces again, no stale windows.
  auto d = one(h, vm("a", {iface(3, 0, 130)}), 3 * kSec);
  EXPECT_EQ(d.rx_bytes, 130u);
  EXPECT_EQ(d.rx_window[0], 0u);
}

TEST(VmHistory, StateIsBoundedUnderChurn) {
  VmHistory h;
  const Vm stay = vm("stay", {iface(1, 10, 10)});
  std::size_t max_tracked = 0, max_samples = 0;
  for (std::uint64_t cycle = 0; cycle < 10000; cycle++) {
    std::vector<Vm> vms = {stay};
    for (int k = 0; k < 3; k++) {
      Vm v = vm("churn-" + std::to_string(cycle) + "-" + std::to_string(k),
                {iface(100 + k, cycle, cycle)});
      v.cpu_time_ns = cycle * kSec;
      v.vcpus = 1;
      vms.push_back(std::move(v));
    }
    const auto d = h.update(vms, (cycle + 1) * kSec);
    ASSERT_EQ(d.size(), vms.size());
    max_tracked = std::max(max_tracked, h.tracked());
    max_samples = std::max(max_samples, h.samples());
  }
  EXPECT_EQ(max_tracked, 4u);
  EXPECT_LE(max_samples, 3600 / 5 + 3 + 3);  // the long-lived VM's history + one per new VM
  h.update({}, 20000 * kSec);
  EXPECT_EQ(h.tracked(), 0u);
}

}  // namespace
