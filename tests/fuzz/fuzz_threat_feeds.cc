// Fuzz target: the threat feed parsers (Onionoo JSON, CIDR lists) and the prefix set built from
// what they accept. The first byte picks the parser. Every accepted prefix must match its own
// address, and a rendered prefix must parse back to itself (the disk cache relies on it).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "areas/conntrack/prefix_set.h"
#include "areas/conntrack/threat_feeds.h"

using namespace hostflow::exporter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > (1u << 20)) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<Cidr> out;
  std::string err;
  const bool ok =
      (data[0] & 1) ? parse_onionoo(body, &out, &err) : parse_cidr_list(body, &out, &err);
  if (!ok && err.empty()) __builtin_trap();
  if (!ok) return 0;
  const PrefixSet set(out);
  for (const Cidr& c : out) {
    if (!set.contains(c.ip)) __builtin_trap();
    if (c.len < (c.ip.family == 4 ? kMinFeedPrefixV4 : kMinFeedPrefixV6)) __builtin_trap();
    const auto back = parse_cidr(format_cidr(c));
    if (!back || !(back->ip == c.ip) || back->len != c.len) __builtin_trap();
  }
  return 0;
}
