#include "hostflow/common/sanitize.h"

#include <set>

namespace hostflow {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
std::size_t utf8_seq(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; k++) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

bool valid_utf8(std::string_view in) {
  for (std::size_t i = 0; i < in.size();) {
    const std::size_t n = utf8_seq(in, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_label(std::string_view in, std::size_t cap) {
  std::string out;
  out.reserve(in.size() < cap ? in.size() : cap);
  for (std::size_t i = 0; i < in.size();) {
    std::size_t n = utf8_seq(in, i);
    std::string_view piece;
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (n == 0) {
      piece = kReplacement;
      n = 1;
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      piece = kReplacement;
    } else {
      piece = in.substr(i, n);
    }
    if (out.size() + piece.size() > cap) break;
    out += piece;
    i += n;
  }
  return out;
}

}  // namespace hostflow

namespace hostflow {

void make_names_unique(std::vector<NamedObject>& objects) {
  // Every object's own name is reserved for the first object that has it.
  std::set<std::string> own;
  for (const NamedObject& o : objects) own.insert(*o.name);
  std::set<std::string> taken;
  for (NamedObject& o : objects) {
    if (taken.insert(*o.name).second) continue;  // the first with this name keeps it
    const std::string base = *o.name + "~" + std::to_string(o.id);
    std::string candidate = base;
    for (std::uint64_t n = 2; own.count(candidate) || taken.count(candidate); n++)
      candidate = base + "~" + std::to_string(n);
    *o.name = candidate;
    taken.insert(std::move(candidate));
  }
}

}  // namespace hostflow
