// Label-value hygiene for text a tenant may control (interface names, container names, SNIs...).
// Both binaries; pure functions, fuzzed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hostflow {

inline constexpr std::size_t kDefaultLabelCap = 128;  // bytes

// Valid UTF-8 (each invalid byte becomes U+FFFD), C0 controls and DEL replaced by U+FFFD, at most
// `cap` bytes, cut on a character boundary. Never longer than `cap` for cap >= 3.
std::string sanitize_label(std::string_view in, std::size_t cap = kDefaultLabelCap);

// True when `in` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view in);

}  // namespace hostflow
