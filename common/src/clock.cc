#include "hostflow/common/clock.h"

#include <time.h>

#include <cctype>
#include <fstream>

namespace hostflow {

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t real_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

Result<std::array<std::uint8_t, 16>> read_boot_id(const std::string& procfs) {
  const std::string path = procfs + "/sys/kernel/random/boot_id";
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return Error{ENOENT, "read " + path};
  std::array<std::uint8_t, 16> id{};
  std::size_t n = 0;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < text.size() && n < 16;) {
    if (text[i] == '-') {
      i++;
      continue;
    }
    const int hi = hex(text[i]), lo = hex(text[i + 1]);
    if (hi < 0 || lo < 0) return Error{EINVAL, "parse " + path};
    id[n++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  if (n != 16) return Error{EINVAL, "parse " + path};
  return id;
}

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
    if (unit == "ms") unit_ns = 1'000'000;
    else if (unit == "s") unit_ns = 1'000'000'000;
    else if (unit == "m") unit_ns = 60'000'000'000;
    else if (unit == "h") unit_ns = 3'600'000'000'000;
    else if (unit == "d") unit_ns = 86'400'000'000'000;
    else return std::nullopt;
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

}  // namespace hostflow
