#include "identity/domain_xml.h"

#include <pugixml.hpp>

#include <cctype>
#include <cstring>

namespace hostflow::exporter {
namespace {

constexpr std::size_t kCap = 256;
constexpr std::size_t kMaxItems = 256;
constexpr std::string_view kNovaNs = "http://openstack.org/xmlns/libvirt/nova/";

std::string capped(const char* s) {
  return std::string(s, strnlen(s, kCap));
}

// Element name without its namespace prefix.
std::string_view local(const pugi::xml_node& n) {
  std::string_view s = n.name();
  const auto c = s.find(':');
  return c == std::string_view::npos ? s : s.substr(c + 1);
}

pugi::xml_node child_local(const pugi::xml_node& n, std::string_view name) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local(c) == name) return c;
  }
  return {};
}

// The nova metadata namespace declared on this element ("xmlns:nova" or any prefix).
std::optional<std::string> nova_namespace_version(const pugi::xml_node& n) {
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    const std::string_view an = a.name();
    if (an != "xmlns" && an.rfind("xmlns:", 0) != 0) continue;
    const std::string_view v = a.value();
    if (v.rfind(kNovaNs, 0) == 0) return std::string(v.substr(kNovaNs.size(), 16));
  }
  return std::nullopt;
}

bool uuidish(std::string_view s) {
  if (s.size() < 32 || s.size() > 36) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

NovaInstance parse_nova(const pugi::xml_node& inst, std::string version) {
  NovaInstance n;
  n.metadata_version = std::move(version);
  if (auto p = child_local(inst, "package"))
    n.package_version = capped(p.attribute("version").value());
  n.name = capped(child_local(inst, "name").text().get());
  n.created_at = capped(child_local(inst, "creationTime").text().get());
  if (auto f = child_local(inst, "flavor")) {
    n.flavor = capped(f.attribute("name").value());
    n.memory_mb = capped(child_local(f, "memory").text().get());
    n.disk_gb = capped(child_local(f, "disk").text().get());
    n.swap_mb = capped(child_local(f, "swap").text().get());
    n.ephemeral_gb = capped(child_local(f, "ephemeral").text().get());
    n.vcpus = capped(child_local(f, "vcpus").text().get());
  }
  if (auto o = child_local(inst, "owner")) {
    if (auto u = child_local(o, "user")) {
      n.user_uuid = capped(u.attribute("uuid").value());
      n.user_name = capped(u.text().get());
    }
    if (auto p = child_local(o, "project")) {
      n.project_uuid = capped(p.attribute("uuid").value());
      n.project_name = capped(p.text().get());
    }
  }
  if (auto r = child_local(inst, "root")) {
    n.root_type = capped(r.attribute("type").value());
    n.root_uuid = capped(r.attribute("uuid").value());
  }
  if (auto ports = child_local(inst, "ports")) {
    for (pugi::xml_node port = ports.first_child(); port && n.fixed_ips.size() < kMaxItems;
         port = port.next_sibling()) {
      if (port.type() != pugi::node_element || local(port) != "port") continue;
      for (pugi::xml_node ip = port.first_child(); ip && n.fixed_ips.size() < kMaxItems;
           ip = ip.next_sibling()) {
        if (ip.type() != pugi::node_element || local(ip) != "ip") continue;
        const std::string_view type = ip.attribute("type").value();
        if (!type.empty() && type != "fixed") continue;
        NovaFixedIp f;
        f.address = capped(ip.attribute("address").value());
        f.version = ip.attribute("ipVersion").as_int(0);
        f.port_uuid = capped(port.attribute("uuid").value());
        if (f.version != 4 && f.version != 6)
          f.version = f.address.find(':') != std::string::npos ? 6 : 4;
        if (!f.address.empty()) n.fixed_ips.push_back(std::move(f));
      }
    }
  }
  return n;
}

DomainDisk parse_disk(const pugi::xml_node& d) {
  DomainDisk disk;
  disk.type = capped(d.attribute("type").value());
  disk.target = capped(d.child("target").attribute("dev").value());
  const pugi::xml_node src = d.child("source");
  std::string_view name;
  if (src.attribute("file"))
    disk.path = capped(src.attribute("file").value());
  else if (src.attribute("dev"))
    disk.path = capped(src.attribute("dev").value());
  else if (src.attribute("name")) {
    name = src.attribute("name").value();
    disk.path = capped(src.attribute("name").value());
  } else if (src.attribute("volume"))
    disk.path = capped(src.attribute("volume").value());
  const std::string serial = capped(d.child("serial").text().get());
  if (disk.type == "file") {
    disk.tier = "local";
    // /var/lib/nova/instances/<uuid>/disk -> <uuid>
    const std::string& p = disk.path;
    const auto last = p.rfind('/');
    if (last != std::string::npos && last > 0) {
      const auto prev = p.rfind('/', last - 1);
      const std::string dir = p.substr(prev == std::string::npos ? 0 : prev + 1,
                                       last - (prev == std::string::npos ? 0 : prev + 1));
      if (uuidish(dir)) disk.uuid = dir;
    }
  } else if (!name.empty()) {
    // "pool/volume-<uuid>" (Cinder on Ceph) -> tier "pool", uuid "<uuid>"
    const auto slash = name.find('/');
    disk.tier = std::string(name.substr(0, std::min<std::size_t>(slash, kCap)));
    std::string_view vol = slash == std::string_view::npos ? name : name.substr(slash + 1);
    if (vol.rfind("volume-", 0) == 0) vol.remove_prefix(7);
    const auto at = vol.find('@');  // snapshots
    vol = vol.substr(0, at);
    if (uuidish(vol)) disk.uuid = std::string(vol);
  } else {
    disk.tier = disk.type;
  }
  if (!serial.empty() && uuidish(serial)) disk.uuid = serial;
  return disk;
}

}  // namespace

std::optional<DomainInfo> parse_domain_xml(std::string_view xml, std::string* err) {
  if (xml.size() > kMaxDomainXmlBytes) {
    *err = "domain XML larger than " + std::to_string(kMaxDomainXmlBytes) + " bytes";
    return std::nullopt;
  }
  pugi::xml_document doc;
  // No DOCTYPE/entity processing beyond the five predefined entities; pugixml never fetches.
  const pugi::xml_parse_result res =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!res) {
    *err = std::string("domain XML: ") + res.description() + " at offset " +
           std::to_string(res.offset);
    return std::nullopt;
  }
  const pugi::xml_node dom = doc.child("domain");
  if (!dom) {
    *err = "domain XML: no <domain> element";
    return std::nullopt;
  }
  DomainInfo info;
  info.name = capped(dom.child("name").text().get());
  info.uuid = capped(dom.child("uuid").text().get());
  if (const pugi::xml_node md = dom.child("metadata")) {
    for (pugi::xml_node c = md.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element || local(c) != "instance") continue;
      if (auto v = nova_namespace_version(c)) {
        info.nova = parse_nova(c, *v);
        break;
      }
    }
  }
  if (const pugi::xml_node devs = dom.child("devices")) {
    for (pugi::xml_node d = devs.first_child(); d; d = d.next_sibling()) {
      if (d.type() != pugi::node_element) continue;
      const std::string_view n = d.name();
      if (n == "disk" && info.disks.size() < kMaxItems) {
        const std::string_view device = d.attribute("device").value();
        if (device.empty() || device == "disk") info.disks.push_back(parse_disk(d));
      } else if (n == "interface" && info.interfaces.size() < kMaxItems) {
        DomainInterface i;
        i.type = capped(d.attribute("type").value());
        i.target = capped(d.child("target").attribute("dev").value());
        i.mac = capped(d.child("mac").attribute("address").value());
        const pugi::xml_node src = d.child("source");
        for (const char* a : {"bridge", "network", "dev"}) {
          if (src.attribute(a)) {
            i.source = capped(src.attribute(a).value());
            break;
          }
        }
        info.interfaces.push_back(std::move(i));
      }
    }
  }
  return info;
}

}  // namespace hostflow::exporter
