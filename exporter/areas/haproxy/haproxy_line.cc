#include "areas/haproxy/haproxy_line.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace hostflow::exporter {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Cuts the next space-separated token off `s` (runs of spaces separate one token).
std::string_view next_token(std::string_view* s) {
  std::size_t b = 0;
  while (b < s->size() && (*s)[b] == ' ') b++;
  std::size_t e = b;
  while (e < s->size() && (*s)[e] != ' ') e++;
  std::string_view tok = s->substr(b, e - b);
  s->remove_prefix(e);
  return tok;
}

// "Nov 22 04:49:08" or "Nov  2 04:49:08" (RFC 3164 / rsyslog's traditional format).
bool bsd_timestamp(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 16 || s[3] != ' ' || s[6] != ' ' || s[15] != ' ') return false;
  if (std::find(kMonths.begin(), kMonths.end(), s.substr(0, 3)) == kMonths.end()) return false;
  if (!(s[4] == ' ' || is_digit(s[4])) || !is_digit(s[5])) return false;
  return is_digit(s[7]) && is_digit(s[8]) && s[9] == ':' && is_digit(s[10]) && is_digit(s[11]) &&
         s[12] == ':' && is_digit(s[13]) && is_digit(s[14]);
}

// "2026-11-22T04:49:08..." (RFC 3339, rsyslog's file format and RFC 5424).
bool iso_timestamp(std::string_view s) {
  return s.size() >= 11 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
         s[4] == '-' && is_digit(s[5]) && is_digit(s[6]) && s[7] == '-' && s[10] == 'T';
}

// After the timestamp: "[HOST ]TAG: MSG". The tag is the first of the next two tokens that ends
// with ':' (HAProxy's own RFC 3164 output has no host name).
std::optional<std::string_view> after_tag(std::string_view s) {
  for (int i = 0; i < 2; i++) {
    std::string_view tok = next_token(&s);
    if (tok.empty()) return std::nullopt;
    if (tok.back() == ':') {
      if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      return s;
    }
  }
  return std::nullopt;
}

// RFC 5424 after "<PRI>": VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG].
std::optional<std::string_view> rfc5424(std::string_view s) {
  for (int i = 0; i < 6; i++) {
    if (next_token(&s).empty()) return std::nullopt;
  }
  if (s.empty() || s.front() != ' ') return std::nullopt;
  s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  if (s.front() == '-') {
    s.remove_prefix(1);
  } else {
    // One or more SD-ELEMENTs: [id param="value" ...], where a value may hold \" \\ \].
    while (!s.empty() && s.front() == '[') {
      bool in_quotes = false;
      std::size_t i = 1;
      for (; i < s.size(); i++) {
        const char c = s[i];
        if (in_quotes && c == '\\') {
          i++;
        } else if (c == '"') {
          in_quotes = !in_quotes;
        } else if (c == ']' && !in_quotes) {
          break;
        }
      }
      if (i >= s.size()) return std::nullopt;
      s.remove_prefix(i + 1);
    }
  }
  if (s.empty()) return s;
  if (s.front() != ' ') return std::nullopt;
  s.remove_prefix(1);
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);  // BOM before a UTF-8 MSG
  return s;
}

// A decimal number in [0, max], any number of leading zeros. `v * 10 + 9` never wraps: v <= max
// before each step, and max is at most kMaxParseCount.
constexpr std::uint64_t kMaxParseCount = (UINT64_MAX - 9) / 10;
static_assert(kMaxLineByteCount <= kMaxParseCount);
bool parse_count(std::string_view s, std::uint64_t max, std::uint64_t* out) {
  if (max > kMaxParseCount) return false;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);  // "+%B" with option logasap
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return false;
  }
  *out = v;
  return true;
}

std::string_view unwrap(std::string_view s) {
  if (s.size() >= 2 &&
      ((s.front() == '{' && s.back() == '}') || (s.front() == '"' && s.back() == '"')))
    return s.substr(1, s.size() - 2);
  return s;
}

// Bytes of the Go white-space rune (unicode.IsSpace) at s[i], 0 when there is none. Go decodes
// left to right and an invalid byte is one RuneError (not space), so a multi-byte space is only
// ever recognised whole, where it starts.
std::size_t go_space_len(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  const unsigned c0 = b(0);
  if (c0 == ' ' || (c0 >= '\t' && c0 <= '\r')) return 1;
  if (c0 == 0xC2 && (b(1) == 0x85 || b(1) == 0xA0)) return 2;
  if (c0 == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;  // U+1680
  if (c0 == 0xE2 && b(1) == 0x80) {                          // U+2000-200A, U+2028, U+2029, U+202F
    const unsigned c2 = b(2);
    if ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF) return 3;
  }
  if (c0 == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;  // U+205F
  if (c0 == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
  return 0;
}

// Bytes of the (valid or not) UTF-8 sequence Go decodes as one rune at s[i]: a non-space rune
// is skipped whole so that its continuation bytes are never taken for the start of a space.
std::size_t go_rune_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = c < 0x80                 ? 1
                  : c >= 0xC2 && c <= 0xDF ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 1;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; k++) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if (cc < 0x80 || cc > 0xBF) return 1;
  }
  // The second byte's narrower ranges (overlongs, surrogates, > U+10FFFF) make Go take one byte.
  const auto c1 = n > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
      (c == 0xF4 && c1 > 0x8F))
    return 1;
  return n;
}

// Calls f(token) for each token of `s` split as Go's strings.Fields splits it.
template <typename F>
void go_fields(std::string_view s, F&& f) {
  std::size_t i = 0, start = std::string_view::npos;
  while (i < s.size()) {
    const std::size_t sp = go_space_len(s, i);
    if (sp > 0) {
      if (start != std::string_view::npos) {
        if (!f(s.substr(start, i - start))) return;
        start = std::string_view::npos;
      }
      i += sp;
      continue;
    }
    if (start == std::string_view::npos) start = i;
    i += go_rune_len(s, i);
  }
  if (start != std::string_view::npos) f(s.substr(start));
}

// Go's strconv.ParseInt(s, 10, 64): an optional sign, then one or more ASCII digits, in range.
bool go_parse_int64(std::string_view s, bool* negative, std::uint64_t* magnitude) {
  *negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    *negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  std::uint64_t v = 0;
  const std::uint64_t limit = *negative ? (std::uint64_t{1} << 63) : (std::uint64_t{1} << 63) - 1;
  for (char c : s) {
    if (!is_digit(c)) return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;  // out of range
    v = v * 10 + d;
  }
  *magnitude = v;
  return true;
}

}  // namespace

std::optional<HaproxyFormat> parse_haproxy_format(std::string_view name) {
  if (name == "fields") return HaproxyFormat::kFields;
  if (name == "sni-marker") return HaproxyFormat::kSniMarker;
  return std::nullopt;
}

HaproxyLine parse_sni_marker_line(std::string_view line) {
  HaproxyLine r;
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
    r.error = LineError::kEmpty;
    return r;
  }
  const std::size_t idx = line.find("SNI=");
  if (idx == std::string_view::npos) {
    r.error = LineError::kNoMarker;
    return r;
  }
  std::string_view sni;
  go_fields(line.substr(idx + 4), [&](std::string_view tok) {
    sni = tok;
    return false;
  });
  if (sni.empty()) {
    r.error = LineError::kMissingField;
    return r;
  }
  bool found = false, negative = false;
  std::uint64_t value = 0;
  go_fields(line.substr(0, idx), [&](std::string_view tok) {
    bool neg = false;
    std::uint64_t v = 0;
    if (go_parse_int64(tok, &neg, &v)) {
      found = true;
      negative = neg;
      value = v;
    }
    return true;
  });
  if (!found || (negative && value != 0) || value > kMaxLineByteCount) {
    r.error = LineError::kBadBytesOut;
    return r;
  }
  r.bytes_out = value;
  r.sni_raw = unwrap(sni);
  return r;
}

std::optional<HaproxyFields> parse_haproxy_fields(std::string_view spec, std::string* err) {
  HaproxyFields f{0, 0, 0};
  while (!spec.empty()) {
    const std::size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const std::size_t eq = item.find('=');
    std::uint64_t pos = 0;
    if (eq == std::string_view::npos || !parse_count(item.substr(eq + 1), 64, &pos) || pos == 0 ||
        pos > 64) {
      *err = "want name=position (1..64), got \"" + std::string(item) + "\"";
      return std::nullopt;
    }
    const std::string_view name = item.substr(0, eq);
    unsigned* slot = name == "sni"         ? &f.sni
                     : name == "bytes_in"  ? &f.bytes_in
                     : name == "bytes_out" ? &f.bytes_out
                                           : nullptr;
    if (!slot) {
      *err = "unknown field \"" + std::string(name) + "\" (want sni, bytes_in, bytes_out)";
      return std::nullopt;
    }
    if (*slot != 0) {
      *err = "field \"" + std::string(name) + "\" named twice";
      return std::nullopt;
    }
    *slot = static_cast<unsigned>(pos);
  }
  if (f.sni == 0 || f.bytes_in == 0 || f.bytes_out == 0) {
    *err = "name all three of sni, bytes_in and bytes_out";
    return std::nullopt;
  }
  if (f.sni == f.bytes_in || f.sni == f.bytes_out || f.bytes_in == f.bytes_out) {
    *err = "two fields at the same position";
    return std::nullopt;
  }
  return f;
}

std::string_view line_error_name(LineError e) {
  switch (e) {
    case LineError::kNone:
      return "none";
    case LineError::kEmpty:
      return "empty";
    case LineError::kSyslogPrefix:
      return "syslog_prefix";
    case LineError::kMissingField:
      return "missing_field";
    case LineError::kBadBytesIn:
      return "bad_bytes_in";
    case LineError::kBadBytesOut:
      return "bad_bytes_out";
    case LineError::kTooLong:
      return "too_long";
    case LineError::kNoMarker:
      return "no_marker";
    case LineError::kCount:
      break;
  }
  return "unknown";
}

std::optional<std::string_view> strip_syslog_prefix(std::string_view s) {
  bool pri = false;
  if (!s.empty() && s.front() == '<') {
    std::size_t i = 1;
    while (i < s.size() && i <= 4 && is_digit(s[i])) i++;
    if (i == 1 || i >= s.size() || s[i] != '>') return std::nullopt;
    s.remove_prefix(i + 1);
    pri = true;
    if (!s.empty() && is_digit(s.front()) && !iso_timestamp(s)) {
      std::size_t v = 0;
      while (v < s.size() && is_digit(s[v])) v++;
      if (v < s.size() && s[v] == ' ') return rfc5424(s);
      return std::nullopt;
    }
  }
  if (bsd_timestamp(s)) return after_tag(s.substr(16));
  if (iso_timestamp(s)) {
    next_token(&s);
    return after_tag(s);
  }
  if (pri) return std::nullopt;
  return s;  // a raw line (`log stdout format raw`)
}

SniKind normalise_sni(std::string_view raw, std::string* out) {
  out->clear();
  if (raw.empty() || raw == "-") return SniKind::kNone;
  if (raw.back() == '.') raw.remove_suffix(1);
  if (raw.empty() || raw.size() > 253) return SniKind::kInvalid;
  out->resize(raw.size());
  std::size_t label_len = 0;
  bool label_numeric = true;
  for (std::size_t i = 0; i < raw.size(); i++) {
    char c = raw[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    (*out)[i] = c;
    if (c == '.') {
      if (label_len == 0 || (*out)[i - 1] == '-') return SniKind::kInvalid;
      label_len = 0;
      label_numeric = true;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || is_digit(c);
    if (!alnum && c != '-') return SniKind::kInvalid;
    if (c == '-' && label_len == 0) return SniKind::kInvalid;
    if (!is_digit(c)) label_numeric = false;
    if (++label_len > 63) return SniKind::kInvalid;
  }
  // The last label: not empty, not ending in '-', not all digits (an IPv4 literal is no host name).
  if (label_len == 0 || out->back() == '-' || label_numeric) return SniKind::kInvalid;
  return SniKind::kValid;
}

HaproxyLine parse_haproxy_line(std::string_view line, const HaproxyFields& f) {
  HaproxyLine r;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    r.error = LineError::kEmpty;
    return r;
  }
  const auto msg = strip_syslog_prefix(line);
  if (!msg) {
    r.error = LineError::kSyslogPrefix;
    return r;
  }
  std::string_view s = *msg, sni, in, out;
  const unsigned last = std::max({f.sni, f.bytes_in, f.bytes_out});
  for (unsigned pos = 1; pos <= last; pos++) {
    const std::string_view tok = next_token(&s);
    if (tok.empty()) {
      r.error = LineError::kMissingField;
      return r;
    }
    if (pos == f.sni) sni = tok;
    if (pos == f.bytes_in) in = tok;
    if (pos == f.bytes_out) out = tok;
  }
  if (!parse_count(in, kMaxLineByteCount, &r.bytes_in)) {
    r.error = LineError::kBadBytesIn;
    return r;
  }
  if (!parse_count(out, kMaxLineByteCount, &r.bytes_out)) {
    r.error = LineError::kBadBytesOut;
    return r;
  }
  r.sni_raw = unwrap(sni);
  return r;
}

}  // namespace hostflow::exporter
