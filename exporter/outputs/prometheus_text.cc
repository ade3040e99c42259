#include "outputs/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hostflow::exporter {

namespace {

// Bytes that need a backslash: backslash and newline everywhere, " inside a label value.
struct Specials {
  bool label[256] = {};
  bool help[256] = {};
  constexpr Specials() {
    label['\\'] = label['\n'] = label['"'] = true;
    help['\\'] = help['\n'] = true;
  }
};
constexpr Specials kSpecials;

// Most pieces (label values, `",name="`) are a few bytes: copied with fixed-size moves that the
// compiler inlines (two overlapping ones), not a call to memcpy per piece.
char* put(char* p, const char* s, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::memcpy(p, s, 8);
    std::memcpy(p + n - 8, s + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(p, s, 4);
    std::memcpy(p + n - 4, s + n - 4, 4);
  } else if (n < 4) {
    for (std::size_t i = 0; i < n; i++) p[i] = s[i];
  } else {
    std::memcpy(p, s, n);
  }
  return p + n;
}
char* put(char* p, std::string_view s) {
  return put(p, s.data(), s.size());
}

// Writes `v` at `p`, escaped (at most 2 bytes per byte); returns the end. Nearly every value has
// nothing to escape and is copied whole.
char* put_escaped(char* p, std::string_view v, const bool (&special)[256]) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < v.size(); i++) {
    const char c = v[i];
    if (!special[static_cast<unsigned char>(c)]) continue;
    p = put(p, v.data() + run, i - run);
    *p++ = '\\';
    *p++ = c == '\n' ? 'n' : c;
    run = i + 1;
  }
  return put(p, v.data() + run, v.size() - run);
}

// Characters a value takes: exact for integral values below 1e15 (counters and most gauges),
// else the longest shortest-round-trip form (24, e.g. -2.2250738585072014e-308).
constexpr std::size_t kValueMax = 24;
std::size_t value_chars(double v) {
  if (!(v > -1e15 && v < 1e15) || v != static_cast<double>(static_cast<std::int64_t>(v)))
    return kValueMax;
  std::int64_t i = static_cast<std::int64_t>(v);
  std::size_t n = 1;
  if (i < 0) {
    n++;
    i = -i;
  }
  while (i >= 10) {
    i /= 10;
    n++;
  }
  return n;
}

char* put_value(char* p, double v) {
  if (std::isnan(v)) return put(p, "NaN");
  if (std::isinf(v)) return put(p, v < 0 ? "-Inf" : "+Inf");
  return std::to_chars(p, p + kValueMax, v).ptr;
}

// The fixed text around one sample's label values: `{a="`, `",b="`, ..., `"} ` (or ` ` without
// labels), built once per family.
struct LabelFrame {
  std::vector<std::string> pieces;  // one before each value, then the closing one
  std::size_t bytes = 0;            // of every piece
  explicit LabelFrame(const std::vector<std::string>& names) {
    if (names.empty()) {
      pieces.emplace_back(" ");
    } else {
      for (std::size_t j = 0; j < names.size(); j++)
        pieces.push_back((j ? "\"," : "{") + names[j] + "=\"");
      pieces.emplace_back("\"} ");
    }
    for (const auto& s : pieces) bytes += s.size();
  }
};

// The text of `families` if nothing needs escaping: the body is rendered once per snapshot into
// one allocation of about its own size, instead of doubling its way there (which held up to 2x
// the body, twice during a rendering: issue 13's RSS). Escapes grow it as they come.
std::size_t text_size(const std::vector<metrics::Family>& families) {
  std::size_t n = 0;
  for (const auto& f : families) {
    const std::size_t name = f.name().size();
    n += 7 + name + 1 + f.help().size() + 1;  // # HELP name help
    n += 7 + name + 1 + 8;                    // # TYPE name type
    const auto& names = f.label_names();
    std::size_t per_sample = name + 2;  // name, ' ', '\n'
    if (!names.empty()) {
      per_sample += 2;                                         // { }
      for (const auto& l : names) per_sample += l.size() + 4;  // name=" ",
    }
    n += per_sample * f.size() + f.label_bytes();
    for (std::size_t s = 0; s < f.size(); s++) n += value_chars(f.value(s));
  }
  return n;
}

// A window of `out` being written through a raw pointer; reserve(n) makes room for n more bytes
// (growing the string when an escape made the estimate short).
class Cursor {
 public:
  Cursor(std::string& out, std::size_t estimate) : out_(out) {
    const std::size_t base = out_.size();
    out_.resize(base + estimate);
    p_ = out_.data() + base;
  }
  char*& p() { return p_; }
  void reserve(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(p_ - out_.data());
    if (out_.size() - used >= n) return;
    out_.resize(std::max(used + n, out_.size() + out_.size() / 4));
    p_ = out_.data() + used;
  }
  void finish() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

 private:
  std::string& out_;
  char* p_;
};

}  // namespace

void write_prometheus_text(const std::vector<metrics::Family>& families, std::string* out_ptr) {
  Cursor c(*out_ptr, text_size(families));
  for (const auto& f : families) {
    const std::string_view name = f.name();
    c.reserve(2 * (16 + name.size()) + 2 * f.help().size() + 8);
    char*& p = c.p();
    if (!f.help().empty()) {
      p = put(p, "# HELP ");
      p = put(p, name);
      *p++ = ' ';
      p = put_escaped(p, f.help(), kSpecials.help);
      *p++ = '\n';
    }
    p = put(p, "# TYPE ");
    p = put(p, name);
    *p++ = ' ';
    p = put(p, metrics::type_name(f.type()));
    *p++ = '\n';
    const LabelFrame frame(f.label_names());
    const std::size_t labels = f.label_names().size();
    const std::size_t fixed = name.size() + frame.bytes + kValueMax + 1;
    for (std::size_t s = 0; s < f.size(); s++) {
      c.reserve(fixed + 2 * f.sample_label_bytes(s));
      char*& q = c.p();
      q = put(q, name);
      for (std::size_t j = 0; j < labels; j++) {
        q = put(q, frame.pieces[j]);
        q = put_escaped(q, f.label_value(s, j), kSpecials.label);
      }
      q = put(q, frame.pieces[labels]);
      q = put_value(q, f.value(s));
      *q++ = '\n';
    }
  }
  c.finish();
}

std::string prometheus_text(const metrics::FamilySet& set) {
  std::string out;
  write_prometheus_text(set.families(), &out);
  return out;
}

}  // namespace hostflow::exporter
