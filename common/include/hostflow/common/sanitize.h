// Label-value hygiene for text a tenant may control (interface names, container names, SNIs...).
// Both binaries; pure functions, fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hostflow {

inline constexpr std::size_t kDefaultLabelCap = 128;  // bytes

// Valid UTF-8 (each invalid byte becomes U+FFFD), C0 controls and DEL replaced by U+FFFD, at most
// `cap` bytes, cut on a character boundary. Never longer than `cap` for cap >= 3.
std::string sanitize_label(std::string_view in, std::size_t cap = kDefaultLabelCap);

// True when `in` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view in);

}  // namespace hostflow

namespace hostflow {

// One object whose (sanitised) name becomes a label value, and a number that tells it apart from
// the others in its scope (ifindex, pid, netns inode).
struct NamedObject {
  std::string* name;
  std::uint64_t id;
};

// Makes the names in one scope unique by construction, whatever names were chosen (a name is
// tenant text: a process chooses its argv, a tenant its interface's name). In the given order, the
// first object with a name keeps it; a later one becomes "name~id", or "name~id~2", "~3", ... until
// it is free. A generated name is never one that some object in the scope has as its own, so a
// chosen name cannot displace another object's real name and no two objects ever share one.
// Callers order objects by trust (e.g. libvirt's VMs before command-line ones). O(n log n).
void make_names_unique(std::vector<NamedObject>& objects);

}  // namespace hostflow
