// libvirt's test driver (no daemon) with a node file holding two Nova instances and one plain
// domain (tests/fixtures/libvirt/nova-node.xml). The expected labels come from reading the fixture
// here with pugixml and from `virsh -c test:///...`, not from the code under test.
#include <cctype>
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

const std::string kNode = std::string(HOSTFLOW_FIXTURES_DIR) + "/libvirt/nova-node.xml";
constexpr const char* kNovaNs = "http://openstack.org/xmlns/libvirt/nova/";

bool uuid_shaped(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); i++) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

using Labels = std::map<std::string, std::string>;

// What the fixture says, by the rules in docs/metrics.md: Nova instance labels and disk info.
struct Expected {
  std::set<Labels> nova, disks;
  std::set<std::string> domains;  // uuids
};
Expected expected_from_fixture() {
  Expected x;
  pugi::xml_document doc;
  const auto res = doc.load_file(kNode.c_str());
  EXPECT_TRUE(res) << kNode << ": " << res.description();
  for (pugi::xml_node d : doc.child("node").children("domain")) {
    const std::string uuid = d.child_value("uuid"), name = d.child_value("name");
    x.domains.insert(uuid);
    for (pugi::xml_node inst : d.child("metadata").children()) {
      std::string version;
      for (pugi::xml_attribute a : inst.attributes()) {
        const std::string v = a.value();
        if (v.rfind(kNovaNs, 0) == 0) version = v.substr(std::string(kNovaNs).size());
      }
      if (version.empty()) continue;
      const pugi::xml_node fl = inst.child("nova:flavor");
      const pugi::xml_node owner = inst.child("nova:owner");
      x.nova.insert(Labels{
          {"vm_uuid", uuid},
          {"domain", name},
          {"instance_name", inst.child_value("nova:name")},
          {"project_uuid", owner.child("nova:project").attribute("uuid").value()},
          {"project_name", owner.child_value("nova:project")},
          {"user_uuid", owner.child("nova:user").attribute("uuid").value()},
          {"user_name", owner.child_value("nova:user")},
          {"flavor", fl.attribute("name").value()},
          {"vcpus", fl.child_value("nova:vcpus")},
          {"mem_mb", fl.child_value("nova:memory")},
          {"root_type", inst.child("nova:root").attribute("type").value()},
          {"created_at", inst.child_value("nova:creationTime")},
          {"metadata_version", version},
          {"package_version", inst.child("nova:package").attribute("version").value()},
      });
    }
    for (pugi::xml_node disk : d.child("devices").children("disk")) {
      if (std::string(disk.attribute("device").value()) != "disk") continue;  // cdrom etc.
      const std::string type = disk.attribute("type").value();
      const pugi::xml_node src = disk.child("source");
      Labels l{{"vm_uuid", uuid},
               {"vm_name", name},
               {"disk", disk.child("target").attribute("dev").value()},
               {"disk_type", type}};
      std::string path, tier, duuid;
      if (type == "file") {
        path = src.attribute("file").value();
        tier = "local";
        // /var/lib/nova/instances/<instance uuid>/disk.eph0
        const auto last = path.rfind('/');
        const auto prev = path.rfind('/', last - 1);
        const std::string dir = path.substr(prev + 1, last - prev - 1);
        if (uuid_shaped(dir)) duuid = dir;
      } else if (type == "network") {
        path = src.attribute("name").value();  // "<pool>/volume-<uuid>"
        tier = path.substr(0, path.find('/'));
        const std::string vol = path.substr(path.find('/') + 1);
        if (vol.rfind("volume-", 0) == 0 && uuid_shaped(vol.substr(7))) duuid = vol.substr(7);
      }
      const std::string serial = disk.child_value("serial");
      if (uuid_shaped(serial)) duuid = serial;
      l["disk_path"] = path;
      l["tier"] = tier;
      l["disk_uuid"] = duuid;
      x.disks.insert(l);
    }
  }
  return x;
}

std::set<Labels> family_labels(const Exposition& e, const std::string& name) {
  std::set<Labels> out;
  for (const auto& [k, v] : e.family(name)) {
    EXPECT_EQ(v, 1) << k;
    out.insert(series_labels(k));
  }
  return out;
}

TEST(VmLibvirtTestDriver, NovaMetadataDisksAndActiveVms) {
  HF_REQUIRE(is_root(), "needs root: the sampler's capabilities and a network namespace");
  HF_REQUIRE(have_command("virsh"), "virsh (libvirt-clients) is not installed");
  const std::string uri = "test://" + kNode;  // test:///ABS/PATH: kNode starts with '/'
  const RunResult list = run({"virsh", "-c", uri, "list", "--name"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::size_t virsh_count = 0;
  {
    std::istringstream in(list.out);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) virsh_count++;
  }
  ASSERT_EQ(virsh_count, 3u) << list.out;  // the fixture: 2 Nova instances + 1 plain domain

  const Expected want = expected_from_fixture();
  ASSERT_EQ(want.nova.size(), 2u);
  ASSERT_EQ(want.disks.size(), 3u);

  Netns ns("hfvt");
  StackOptions o = in_netns(ns.name());
  // Only libvirt: QEMU processes of other tests on this host would add VMs of their own.
  for (const char* a : {"--libvirt.uri", uri.c_str(), "--libvirt.timeout", "10s",
                        "--no-source.procs", "--no-source.taps"})
    o.sampler_args.push_back(a);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack_logs(stack);

  std::string text;
  ASSERT_TRUE(wait_until(
      [&] {
        text = http_get(stack.url()).body;
        return parse_exposition(text).family("hostflow_openstack_instance_info").size() >= 2;
      },
      std::chrono::seconds(15)))
      << stack_logs(stack) << text;
  const Exposition e = parse_exposition(text);

  EXPECT_EQ(e.get("hostflow_source_up{source=\"libvirt\"}"), 1.0);
  EXPECT_EQ(family_labels(e, "hostflow_openstack_instance_info"), want.nova);
  EXPECT_EQ(family_labels(e, "hostflow_vm_disk_info"), want.disks);
  // Every domain is a VM with source libvirt; the plain one has no Nova series.
  std::set<std::string> uuids;
  for (const Labels& l : family_labels(e, "hostflow_vm_info")) {
    EXPECT_EQ(l.at("source"), "libvirt");
    uuids.insert(l.at("vm_uuid"));
  }
  EXPECT_EQ(uuids, want.domains);
  EXPECT_EQ(e.get("hostflow_host_active_vms"), static_cast<double>(virsh_count));
  expect_valid_exposition(text);
}

}  // namespace
}  // namespace hostflow::test
