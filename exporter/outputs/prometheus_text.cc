#include "outputs/prometheus_text.h"

#include <charconv>
#include <cmath>

namespace hostflow::exporter {

namespace {

// Label values escape \, " and newline; HELP escapes \ and newline.
void append_escaped(std::string& out, std::string_view v, bool quote) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
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
  std::size_t guess = 0;
  for (const auto& f : families) guess += 64 + f.size() * (f.name().size() + 64);
  out.reserve(out.size() + guess);
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
