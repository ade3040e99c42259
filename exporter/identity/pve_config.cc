#include "identity/pve_config.h"

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

std::string parse_pve_hostname(std::string_view conf) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
      s.remove_suffix(1);
    return s;
  };
  while (!conf.empty()) {
    const std::size_t nl = conf.find('\n');
    const std::string_view line = trim(conf.substr(0, nl));
    conf.remove_prefix(nl == std::string_view::npos ? conf.size() : nl + 1);
    if (!line.empty() && line.front() == '[') break;  // a snapshot's section: not current
    constexpr std::string_view kKey = "hostname:";
    if (line.substr(0, kKey.size()) != kKey) continue;
    const std::string_view v = trim(line.substr(kKey.size()));
    return std::string(v.substr(0, 253));
  }
  return {};
}

std::string lxc_container_name(std::string_view id, bool proxmox, bool config_read,
                               std::string_view conf) {
  const std::string sid = sanitize_label(id);
  if (sid.empty() || !proxmox) return sid;
  std::string name = config_read ? sanitize_label(parse_pve_hostname(conf)) : std::string();
  return name.empty() ? "CT" + sid : name;
}

}  // namespace hostflow::exporter
