#include "identity/cgroup.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace hostflow::exporter {
namespace {

constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxName = 128;

bool hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= s.size() && out.size() < 256) {
    std::size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// "<prefix><64hex><suffix>" -> the hex, or "".
std::string_view strip(std::string_view seg, std::string_view prefix, std::string_view suffix) {
  if (seg.size() < prefix.size() + suffix.size()) return {};
  if (seg.substr(0, prefix.size()) != prefix) return {};
  if (seg.substr(seg.size() - suffix.size()) != suffix) return {};
  std::string_view mid = seg.substr(prefix.size(), seg.size() - prefix.size() - suffix.size());
  return hex64(mid) ? mid : std::string_view{};
}

}  // namespace

CgroupOwner owner_of_cgroup_path(std::string_view path) {
  CgroupOwner o;
  if (path.size() > kMaxPath) path = path.substr(0, kMaxPath);
  o.path = std::string(path);
  const auto segs = split(path, '/');
  // Innermost match wins: walk from the leaf up.
  for (std::size_t k = segs.size(); k-- > 0;) {
    const std::string_view s = segs[k];
    const std::string_view parent = k > 0 ? segs[k - 1] : std::string_view{};
    struct Form {
      std::string_view prefix, suffix, runtime;
    };
    static const Form kForms[] = {
        {"docker-", ".scope", "docker"}, {"cri-containerd-", ".scope", "containerd"},
        {"crio-", ".scope", "crio"},     {"libpod-", ".scope", "podman"},
        {"libpod-", "", "podman"},       {"containerd-", ".scope", "containerd"},
    };
    for (const Form& f : kForms) {
      if (auto id = strip(s, f.prefix, f.suffix); !id.empty()) {
        o.runtime = std::string(f.runtime);
        o.id = std::string(id);
        break;
      }
    }
    if (o.id.empty() && hex64(s)) {
      // cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>, /libpod_parent/...
      o.id = std::string(s);
      if (parent == "docker")
        o.runtime = "docker";
      else if (parent.substr(0, 3) == "pod" || path.find("kubepods") != std::string_view::npos)
        o.runtime = "kubernetes";
      else if (parent.find("libpod") != std::string_view::npos)
        o.runtime = "podman";
      else
        o.runtime = "oci";
    }
    if (!o.id.empty()) break;
    // LXC: /lxc/<name>, /lxc.payload.<name>, /lxc.monitor.<name> (the monitor is not the guest).
    if (parent == "lxc" && k == 1) {
      o.runtime = "lxc";
      o.id = std::string(s.substr(0, kMaxName));
      break;
    }
    if (s.substr(0, 12) == "lxc.payload." && s.size() > 12) {
      o.runtime = "lxc";
      o.id = std::string(s.substr(12, kMaxName));
      break;
    }
  }
  // Kubernetes pod UID: a "pod<uid>" or "kubepods-...-pod<uid>.slice" segment.
  if (path.find("kubepods") != std::string_view::npos) {
    for (std::string_view s : segs) {
      auto p = s.rfind("pod");
      if (p == std::string_view::npos) continue;
      std::string_view uid = s.substr(p + 3);
      if (uid.size() > 6 && uid.substr(uid.size() - 6) == ".slice") uid.remove_suffix(6);
      if (uid.size() >= 32 && uid.size() <= 36) {
        std::string u(uid);
        for (char& c : u)
          if (c == '_') c = '-';  // systemd escapes '-' in the UID as '_'
        o.pod_uid = u;
        if (o.runtime == "oci" || o.runtime.empty()) o.runtime = o.id.empty() ? "" : "kubernetes";
      }
    }
  }
  return o;
}

CgroupOwner parse_cgroup(std::string_view text) {
  // Lines "hierarchy-ID:controllers:path". On a pure v2 host there is one ("0::/path"); on hybrid
  // and v1 hosts the container shows in the v1 hierarchies (name=systemd, pids, memory, ...)
  // while "0::" may be "/". Try v2, then name=systemd, then every other line in order; the first
  // that names a container wins. Otherwise the path is the first one that is not "/".
  struct Line {
    int rank;
    std::string_view path;
  };
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size() && lines.size() < 64) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1), ctl = line.substr(c1 + 1, c2 - c1 - 1);
    const int rank = (id == "0" && ctl.empty()) ? 0 : ctl == "name=systemd" ? 1 : 2;
    lines.push_back(Line{rank, line.substr(c2 + 1)});
  }
  if (lines.empty()) return CgroupOwner{};
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.rank < b.rank; });
  for (const Line& l : lines) {
    CgroupOwner o = owner_of_cgroup_path(l.path);
    if (!o.id.empty()) return o;
  }
  for (const Line& l : lines) {
    if (l.path != "/") return owner_of_cgroup_path(l.path);
  }
  return owner_of_cgroup_path(lines.front().path);
}

}  // namespace hostflow::exporter
