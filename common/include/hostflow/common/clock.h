// Clocks and host identity shared by both binaries.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"
#include "hostflow/common/units.h"

namespace hostflow {

std::uint64_t mono_ns();  // CLOCK_MONOTONIC, comparable across processes of one boot
std::uint64_t real_ns();  // CLOCK_REALTIME

// /proc/sys/kernel/random/boot_id (under `procfs`) as 16 bytes.
Result<std::array<std::uint8_t, 16>> read_boot_id(const std::string& procfs);

}  // namespace hostflow
