#include "hostflow/common/units.h"

#include <cctype>

namespace hostflow {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::chrono::nanoseconds total{0};
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (v > 1'000'000'000ull) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
      i++;
      digits++;
    }
    if (digits == 0) return std::nullopt;
    std::size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) j++;
    const std::string_view unit = s.substr(i, j - i);
    i = j;
    std::int64_t unit_ns;
    if (unit == "ms")
      unit_ns = 1'000'000;
    else if (unit == "s")
      unit_ns = 1'000'000'000;
    else if (unit == "m")
      unit_ns = 60'000'000'000;
    else if (unit == "h")
      unit_ns = 3'600'000'000'000;
    else if (unit == "d")
      unit_ns = 86'400'000'000'000;
    else
      return std::nullopt;
    // Past int64 nanoseconds (~292 years) there is no right answer: refuse rather than overflow.
    std::int64_t part, sum;
    if (__builtin_mul_overflow(static_cast<std::int64_t>(v), unit_ns, &part) ||
        __builtin_add_overflow(total.count(), part, &sum)) {
      return std::nullopt;
    }
    total = std::chrono::nanoseconds(sum);
  }
  return total;
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, static_cast<std::uint64_t>(s[i] - '0'), &v))
      return std::nullopt;
    i++;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = s.substr(i);
  unsigned shift;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    shift = 30;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    shift = 40;
  else
    return std::nullopt;
  if (shift && v > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return v << shift;
}

std::string format_duration(std::chrono::nanoseconds d) {
  std::int64_t ns = d.count();
  if (ns <= 0) return "0s";
  if (ns % 1'000'000'000 != 0) return std::to_string(ns / 1'000'000) + "ms";
  std::int64_t s = ns / 1'000'000'000;
  std::string out;
  const std::pair<std::int64_t, const char*> units[] = {
      {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [n, name] : units) {
    if (s >= n) {
      out += std::to_string(s / n) + name;
      s %= n;
    }
  }
  return out;
}

namespace {
std::string size_text(std::uint64_t v) {
  const std::pair<unsigned, const char*> units[] = {
      {40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (const auto& [shift, name] : units) {
    if (v >= (1ull << shift) && v % (1ull << shift) == 0) return std::to_string(v >> shift) + name;
  }
  return std::to_string(v);
}
}  // namespace

Result<std::chrono::nanoseconds> duration_flag(std::string_view flag, std::string_view value,
                                               std::chrono::nanoseconds min,
                                               std::chrono::nanoseconds max) {
  const auto d = parse_duration(value);
  std::string want = "want a duration";
  if (min.count() > 0) want += " of at least " + format_duration(min);
  if (max != std::chrono::nanoseconds::max())
    want += (min.count() > 0 ? " and at most " : " of at most ") + format_duration(max);
  if (!d || *d < min || *d > max)
    return Error{0, std::string(flag) + ": " + want + " (got " + std::string(value) + ")"};
  return *d;
}

Result<std::chrono::milliseconds> duration_flag_ms(std::string_view flag, std::string_view value,
                                                   std::chrono::nanoseconds min,
                                                   std::chrono::nanoseconds max) {
  auto d = duration_flag(flag, value, min, max);
  if (!d.ok()) return d.error();
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

Result<std::uint64_t> size_flag(std::string_view flag, std::string_view value, std::uint64_t min,
                                std::uint64_t max) {
  const auto v = parse_size(value);
  if (!v || *v < min || *v > max) {
    std::string want = "want a size";
    if (min > 0) want += " of at least " + size_text(min);
    if (max != std::numeric_limits<std::uint64_t>::max())
      want += (min > 0 ? " and at most " : " of at most ") + size_text(max);
    return Error{0,
                 std::string(flag) + ": " + want + ", e.g. 64MiB (got " + std::string(value) + ")"};
  }
  return *v;
}

}  // namespace hostflow
