// Parser of one HAProxy log line: the optional syslog prefix (RFC 5424, RFC 3164, rsyslog's
// file formats) and the fields hostflow needs from the HAProxy message (SNI, bytes from the
// client, bytes to the client). Pure functions over bytes, no allocation on the hot path: the
// SNI is a view into the line. Runs in hostflow-exporter (the log is tenant-influenced text; the
// sampler never reads it). Fuzzed by tests/fuzz/fuzz_haproxy_line.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostflow::exporter {

// Where the fields are in the HAProxy message: 1-based positions of space-separated fields.
// The defaults match the recommended log-format in docs/haproxy.md:
//   %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %U %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq %[capture.req.hdr(0)]
struct HaproxyFields {
  unsigned sni = 11, bytes_in = 6, bytes_out = 7;
};
// "sni=11,bytes_in=6,bytes_out=7" (any order, every name once) -> fields; nullopt + reason.
std::optional<HaproxyFields> parse_haproxy_fields(std::string_view spec, std::string* err);

// How a line carries its fields (--haproxy.format).
enum class HaproxyFormat : std::uint8_t {
  kFields,     // at the positions of HaproxyFields (after any syslog prefix)
  kSniMarker,  // the Traffic Exporter's (seed 000) "SNI=<name>" marker: parse_sni_marker_line
};
// "fields" / "sni-marker" -> the format; nullopt for anything else.
std::optional<HaproxyFormat> parse_haproxy_format(std::string_view name);

// Why a line was not counted. Exported as the `reason` label: keep names stable.
enum class LineError : std::uint8_t {
  kNone = 0,
  kEmpty,         // nothing but white space
  kSyslogPrefix,  // started like a syslog header (<PRI>, timestamp) but did not end like one
  kMissingField,  // fewer fields than the positions ask for
  kBadBytesIn,    // bytes_in is not a decimal number <= kMaxLineByteCount ("+" prefix allowed)
  kBadBytesOut,   // the same for bytes_out
  kTooLong,       // longer than kMaxLineBytes (set by the tailer, never by parse_haproxy_line)
  kNoMarker,      // sni-marker format: no "SNI=" in the line
  kCount
};
std::string_view line_error_name(LineError e);
inline constexpr std::size_t kMaxLineBytes = 16 * 1024;

// The most bytes one line (one connection) may claim in either direction: 2^42 = 4 TiB. A TCP
// connection that moved more through one HAProxy is not credible (at 10 Gbit/s, 4 TiB takes about
// an hour per connection and direction, and log-format counters of that size only come from a
// garbled or forged line). The limit is what keeps the 64-bit counters meaningful: 2^22 - 1 (over
// 4 million) lines at the limit still fit in a counter, while two lines of 2^63-1 — which a
// parser accepting any signed 64-bit value would take — already wrap one. Larger values are
// kBadBytesIn/kBadBytesOut, counted and never added; the counters saturate besides
// (SniCounters::add), so they never go down.
inline constexpr std::uint64_t kMaxLineByteCount = std::uint64_t{1} << 42;

// What kind of SNI a line carries, after normalisation.
enum class SniKind : std::uint8_t {
  kValid,    // a host name: lower case, no trailing dot, LDH labels of 1..63, at most 253 bytes
  kNone,     // "-" or empty: the client sent no SNI (or no TLS at all)
  kInvalid,  // anything else (not a host name, an IPv4 literal, too long, ...)
};

struct HaproxyLine {
  LineError error = LineError::kNone;
  std::string_view sni_raw;  // the field as logged (braces/quotes removed), a view into the line
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

// Parses one line (without its '\n'; a trailing '\r' is ignored). Never throws.
HaproxyLine parse_haproxy_line(std::string_view line, const HaproxyFields& f);

// The Traffic Exporter's processLine, byte for byte (docs/haproxy.md#the-sni-marker-format):
//  - the marker is the first case-sensitive "SNI=" anywhere in the raw line (syslog prefix
//    included, inside a token too); none: kNoMarker;
//  - the SNI is the first token after it, tokens split by Go's unicode.IsSpace (ASCII white space,
//    U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); none:
//    kMissingField. Braces or quotes around it are removed (as in the fields format);
//  - the byte count is the last token before the marker that Go's strconv.ParseInt(tok, 10, 64)
//    accepts (optional sign, ASCII digits, in int64 range; out-of-range tokens are passed over);
//    none, or one that is negative or above kMaxLineByteCount: kBadBytesOut (the Traffic Exporter
//    would subtract a negative one; hostflow's counters never go down).
// The number is stored as bytes_out (the log-format's %B in the usual " %B ... SNI=%[ssl_fc_sni]"
// line), bytes_in is 0. Never throws, no allocation.
HaproxyLine parse_sni_marker_line(std::string_view line);

// The HAProxy message after any syslog prefix; nullopt when a prefix starts but is malformed.
std::optional<std::string_view> strip_syslog_prefix(std::string_view line);

// Normalises `raw` into `out` (lower case, one trailing dot removed) and classifies it. `out` is
// only meaningful for kValid. At most 253 bytes are written.
SniKind normalise_sni(std::string_view raw, std::string* out);

}  // namespace hostflow::exporter
