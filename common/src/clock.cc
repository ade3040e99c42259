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

}  // namespace hostflow
