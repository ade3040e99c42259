// Parser for libvirt domain XML and the OpenStack Nova metadata inside it (<nova:instance>).
// The XML is tenant-influenced (instance names, metadata) and reaches the exporter as a raw blob:
// parsed only here, with pugixml, bounded, fuzzed; every string is capped. hostflow-exporter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter {

struct NovaFixedIp {
  std::string address;  // as written ("10.0.0.5", "2001:db8::5")
  int version = 0;      // 4 or 6
  std::string port_uuid;
};

struct NovaInstance {
  std::string metadata_version;  // the version of the nova metadata namespace, e.g. "1.1"
  std::string package_version;   // <nova:package version=>
  std::string name;              // <nova:name>
  std::string created_at;        // <nova:creationTime>
  std::string flavor;            // <nova:flavor name=>
  std::string vcpus, memory_mb, disk_gb, swap_mb, ephemeral_gb;
  std::string user_uuid, user_name, project_uuid, project_name;
  std::string root_type, root_uuid;
  std::vector<NovaFixedIp> fixed_ips;
};

struct DomainDisk {
  std::string target;  // vda
  std::string type;    // file, network, block, volume
  std::string path;    // source file, dev, or protocol name
  std::string uuid;    // serial, volume-<uuid>, or the instance dir
  std::string tier;    // "local" for files, the pool for network disks, else the type
};

struct DomainInterface {
  std::string target;  // host-side device (tap/vnet/macvtap name)
  std::string type;    // bridge, network, direct, ethernet, ...
  std::string mac;
  std::string source;  // bridge / network / direct device
};

struct DomainInfo {
  std::string name, uuid;
  std::optional<NovaInstance> nova;
  std::vector<DomainDisk> disks;  // device="disk" only
  std::vector<DomainInterface> interfaces;
};

inline constexpr std::size_t kMaxDomainXmlBytes = 1 << 20;

// Nullopt (with a reason) for XML that does not parse or is not a <domain>.
std::optional<DomainInfo> parse_domain_xml(std::string_view xml, std::string* err);

}  // namespace hostflow::exporter
