#include "identity/qemu_cmdline.h"

#include <cctype>

namespace hostflow::exporter {
namespace {

constexpr std::size_t kMaxArgs = 4096;
constexpr std::size_t kMaxValue = 256;

bool is_uuidish(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

std::string cap(std::string_view s) {
  return std::string(s.substr(0, kMaxValue));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> split_qemu_opts(std::string_view v) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string cur;
  auto flush = [&] {
    const auto eq = cur.find('=');
    if (eq == std::string::npos)
      out.emplace_back("", cur);
    else
      out.emplace_back(cur.substr(0, eq), cur.substr(eq + 1));
    cur.clear();
  };
  for (std::size_t i = 0; i < v.size() && out.size() < 64; i++) {
    if (v[i] == ',') {
      if (i + 1 < v.size() && v[i + 1] == ',') {
        cur += ',';
        i++;
        continue;
      }
      flush();
      continue;
    }
    cur += v[i];
  }
  if (!cur.empty() || (!v.empty() && v.back() == ',')) flush();
  return out;
}

QemuCmdline parse_qemu_cmdline(std::string_view s) {
  QemuCmdline q;
  std::vector<std::string_view> args;
  std::size_t pos = 0;
  while (pos < s.size() && args.size() < kMaxArgs) {
    std::size_t end = s.find('\0', pos);
    if (end == std::string_view::npos) end = s.size();
    args.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  for (std::size_t i = 0; i < args.size(); i++) {
    std::string_view a = args[i];
    // "--opt" is accepted by QEMU as "-opt".
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') a.remove_prefix(1);
    const bool has_next = i + 1 < args.size();
    if (a == "-uuid" && has_next) {
      if (is_uuidish(args[i + 1])) q.uuid = cap(args[i + 1]);
      i++;
    } else if (a == "-name" && has_next) {
      for (const auto& [k, v] : split_qemu_opts(args[i + 1])) {
        if (k == "guest" || (k.empty() && q.name.empty())) q.name = cap(v);
      }
      i++;
    } else if (a == "-netdev" && has_next) {
      const auto opts = split_qemu_opts(args[i + 1]);
      if (!opts.empty() && opts[0].first.empty() && opts[0].second == "tap") {
        for (const auto& [k, v] : opts)
          if (k == "ifname" && !v.empty() && q.tap_ifnames.size() < 64)
            q.tap_ifnames.push_back(cap(v));
      }
      i++;
    }
    // Anywhere in any argument: run/vm/<UUID>/ and guest-cid=<n>.
    if (q.run_vm_uuid.empty()) {
      const auto p = a.find("run/vm/");
      if (p != std::string_view::npos) {
        std::string_view rest = a.substr(p + 7);
        const auto slash = rest.find('/');
        if (slash != std::string_view::npos && is_uuidish(rest.substr(0, slash)))
          q.run_vm_uuid = cap(rest.substr(0, slash));
      }
    }
    if (q.guest_cid.empty()) {
      const auto p = a.find("guest-cid=");
      if (p != std::string_view::npos) {
        std::string_view rest = a.substr(p + 10);
        std::size_t n = 0;
        while (n < rest.size() && n < 20 && std::isdigit(static_cast<unsigned char>(rest[n]))) n++;
        if (n > 0) q.guest_cid = std::string(rest.substr(0, n));
      }
    }
  }
  return q;
}

std::string QemuCmdline::identity() const {
  if (!uuid.empty()) return uuid;
  if (!run_vm_uuid.empty()) return run_vm_uuid;
  if (!guest_cid.empty()) return "CID-" + guest_cid;
  return name;
}

}  // namespace hostflow::exporter
