// Identity (exporter/identity): who is who in one snapshot -- the fixed IPs of each workload
// (workload_ips).
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "identity/addresses.h"
#include "identity/owners.h"
#include "identity/vms.h"
#include "identity/workload_ips.h"

namespace hostflow {
namespace {

using namespace exporter;

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

}  // namespace
}  // namespace hostflow
