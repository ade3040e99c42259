// Durations and sizes as flags and config files write them: the one parser of each, and the
// flag-value checks built on them (one error wording). Pure, no I/O. Both binaries.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"

namespace hostflow {

// Prometheus-style durations: "250ms", "5s", "1m", "1h30m", "2d". Nullopt when invalid.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s);

// Sizes: a byte count with an optional unit, "1048576", "512KiB", "64MiB", "1GiB" (powers of
// 1024; "K"/"M"/"G" and "KB"/"MB"/"GB" mean the same here, as in systemd's MemoryMax=). Nullopt
// when invalid or above 2^64-1.
std::optional<std::uint64_t> parse_size(std::string_view s);

// "500ms", "5s", "1m30s", "2h": the shortest spelling parse_duration reads back to `d`.
std::string format_duration(std::chrono::nanoseconds d);

// A flag's duration, at least `min` and at most `max`; the error names the flag:
// "--web.read-timeout: want a duration of at least 100ms (got 5)".
Result<std::chrono::nanoseconds> duration_flag(
    std::string_view flag, std::string_view value, std::chrono::nanoseconds min,
    std::chrono::nanoseconds max = std::chrono::nanoseconds::max());
// Same, converted to milliseconds (what the timers and options take).
Result<std::chrono::milliseconds> duration_flag_ms(
    std::string_view flag, std::string_view value, std::chrono::nanoseconds min,
    std::chrono::nanoseconds max = std::chrono::nanoseconds::max());

// A flag's size, within [min, max]: "--x: want a size of at least 1KiB, e.g. 64MiB (got y)".
Result<std::uint64_t> size_flag(std::string_view flag, std::string_view value, std::uint64_t min,
                                std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

}  // namespace hostflow
