// Fuzz target: parse_haproxy_line + normalise_sni + the SNI table (the exporter's parser of HAProxy
// log lines, whose SNI and more are chosen by any TLS client). Each input line is parsed with the
// default fields and with the first byte choosing other positions, and with the sni-marker
// format (parse_sni_marker_line, the Traffic Exporter's rules). Checks the documented bounds:
// byte counts below 2^63, a valid SNI is a normalised host name of at most 253 bytes, the table
// never tracks more than its limit and its totals equal the sum over the lines.
#include <cstdint>
#include <string>
#include <string_view>

#include "areas/haproxy/haproxy_line.h"
#include "areas/haproxy/sni_table.h"

using namespace hostflow::exporter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HaproxyFields fields;
  if (!in.empty()) {
    const unsigned b = static_cast<unsigned char>(in.front());
    if (b & 0x80) fields = {1 + (b & 3), 5 + ((b >> 2) & 3), 9 + ((b >> 4) & 3)};
  }
  SniTable table(4), marker_table(4);
  SniCounters truth, marker_truth;
  std::string name;
  while (!in.empty()) {
    const std::size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    const HaproxyLine m = parse_sni_marker_line(line);
    if (m.error == LineError::kNone) {
      // One number, as bytes_out, bounded; the SNI a piece of the line after "SNI=" (empty only
      // when the token was HAProxy's empty capture "{}", which normalises to <none>).
      const std::size_t marker = line.find("SNI=");
      if (m.bytes_in != 0 || m.bytes_out > kMaxLineByteCount || marker == std::string_view::npos)
        __builtin_trap();
      if (!m.sni_raw.empty() && (m.sni_raw.data() < line.data() + marker + 4 ||
                                 m.sni_raw.data() + m.sni_raw.size() > line.data() + line.size()))
        __builtin_trap();
      const SniKind mk = normalise_sni(m.sni_raw, &name);
      marker_table.add(mk, name, m.bytes_in, m.bytes_out);
      marker_truth.add({1, m.bytes_out == 0 ? 1u : 0u, 0, m.bytes_out});
    } else if (line.find("SNI=") == std::string_view::npos && m.error != LineError::kNoMarker &&
               m.error != LineError::kEmpty) {
      __builtin_trap();
    }
    const HaproxyLine l = parse_haproxy_line(line, fields);
    if (l.error != LineError::kNone) continue;
    if (l.bytes_in > kMaxLineByteCount || l.bytes_out > kMaxLineByteCount) __builtin_trap();
    const SniKind k = normalise_sni(l.sni_raw, &name);
    if (k == SniKind::kValid) {
      if (name.empty() || name.size() > 253 || name.back() == '.') __builtin_trap();
      for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
          __builtin_trap();
    }
    table.add(k, name, l.bytes_in, l.bytes_out);
    truth.add({1, l.bytes_in + l.bytes_out == 0 ? 1u : 0u, l.bytes_in, l.bytes_out});
    if (table.tracked().size() > 4 || table.candidates() > 4) __builtin_trap();
    if (truth.connections % 3 == 0) table.rebalance();
  }
  SniCounters sum = table.other;
  sum.add(table.none);
  sum.add(table.invalid);
  for (const auto& [k, v] : table.tracked()) sum.add(v.c);
  if (!(sum == truth)) __builtin_trap();
  SniCounters msum = marker_table.other;
  msum.add(marker_table.none);
  msum.add(marker_table.invalid);
  for (const auto& [k, v] : marker_table.tracked()) msum.add(v.c);
  if (!(msum == marker_truth)) __builtin_trap();
  return 0;
}
