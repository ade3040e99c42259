#include "identity/qemu_cmdline.h"

#include <cctype>

#include "hostflow/common/sanitize.h"

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

// A run/vm/<id> that can be a label value as it is: no control byte, valid UTF-8, bounded.
bool is_label_safe_id(std::string_view s) {
  if (s.empty() || s.size() > kMaxRunVmIdBytes) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return valid_utf8(s);
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
  }
  // Anywhere in any argument (option values included): run/vm/<id> and guest-cid=<n>, leftmost
  // first, as the Traffic Exporter's regular expressions over the whole command line.
  bool run_vm_seen = false;
  for (const std::string_view a : args) {
    if (!run_vm_seen) {
      for (std::size_t p = a.find("run/vm/"); p != std::string_view::npos;
           p = a.find("run/vm/", p + 1)) {
        std::string_view rest = a.substr(p + 7);
        const std::string_view id = rest.substr(0, rest.find('/'));
        if (id.empty()) continue;  // "run/vm//": no id here, the next occurrence may have one
        run_vm_seen = true;
        if (is_label_safe_id(id)) q.run_vm_id = std::string(id);
        break;
      }
    }
    if (q.guest_cid.empty()) {
      for (std::size_t p = a.find("guest-cid="); p != std::string_view::npos;
           p = a.find("guest-cid=", p + 1)) {
        std::string_view rest = a.substr(p + 10);
        std::size_t n = 0;
        while (n < rest.size() && n < 20 && std::isdigit(static_cast<unsigned char>(rest[n]))) n++;
        if (n > 0) {
          q.guest_cid = std::string(rest.substr(0, n));
          break;
        }
      }
    }
  }
  return q;
}

std::string QemuCmdline::identity() const {
  if (!uuid.empty()) return uuid;
  if (!run_vm_id.empty()) return run_vm_id;
  if (!guest_cid.empty()) return "CID-" + guest_cid;
  return name;
}

std::string QemuCmdline::traffic_id() const {
  if (!run_vm_id.empty()) return run_vm_id;
  if (!guest_cid.empty()) return "CID-" + guest_cid;
  return "";
}

}  // namespace hostflow::exporter
