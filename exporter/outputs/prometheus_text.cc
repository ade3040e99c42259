#include "outputs/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace hostflow::exporter {

namespace {

// Label values escape \, " and newline; HELP escapes \ and newline. Runs without any of them
// (nearly every value) are appended whole.
void append_escaped(std::string& out, std::string_view v, bool quote) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < v.size(); i++) {
    const char c = v[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : quote && c == '"' ? "\\\"" : nullptr;
    if (!esc) continue;
    out.append(v.data() + run, i - run);
    out.append(esc, 2);
    run = i + 1;
  }
  out.append(v.data() + run, v.size() - run);
}

// Characters append_value writes for `v`: exact for integral values below 1e15 (counters and
// most gauges), else the longest shortest-round-trip form (24, e.g. -2.2250738585072014e-308).
std::size_t value_chars(double v) {
  if (!(v > -1e15 && v < 1e15) || v != static_cast<double>(static_cast<std::int64_t>(v))) return 24;
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

// An upper bound on the text of `families` unless label values or HELP need escaping (then the
// string grows): the body is rendered once per snapshot into one allocation of about its own
// size, instead of doubling its way there (which held up to 2x the body, twice during a
// rendering: issue 13's RSS).
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

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

}  // namespace

void write_prometheus_text(const std::vector<metrics::Family>& families, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.reserve(out.size() + text_size(families));
  for (const auto& f : families) {
    if (!f.help().empty()) {
      out += "# HELP ";
      out += f.name();
      out += ' ';
      append_escaped(out, f.help(), false);
      out += '\n';
    }
    out += "# TYPE ";
    out += f.name();
    out += ' ';
    out += metrics::type_name(f.type());
    out += '\n';
    const auto& names = f.label_names();
    for (std::size_t s = 0; s < f.size(); s++) {
      out += f.name();
      if (!names.empty()) {
        out += '{';
        for (std::size_t j = 0; j < names.size(); j++) {
          if (j) out += ',';
          out += names[j];
          out += "=\"";
          append_escaped(out, f.label_value(s, j), true);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      append_value(out, f.value(s));
      out += '\n';
    }
  }
}

std::string prometheus_text(const metrics::FamilySet& set) {
  std::string out;
  write_prometheus_text(set.families(), &out);
  return out;
}

}  // namespace hostflow::exporter
