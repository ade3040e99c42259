// Small, bounded reads under a procfs directory fd (openat-relative: no path is built from
// anything but pids and fd numbers). Runs in hostflow-sampler.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hostflow::sampler {

// Reads at most `cap` bytes of `dirfd`/`path` into `out`. Sets *truncated when the file had more.
// False (errno set) when it cannot be opened or read.
bool read_small(int dirfd, const std::string& path, std::size_t cap, std::string* out,
                bool* truncated = nullptr);

// The numeric entries (pids, fd numbers) of directory `dirfd`/`path`, at most `cap` of them.
// False (errno set) when the directory cannot be opened.
bool list_numeric(int dirfd, const std::string& path, std::size_t cap, std::vector<int>* out);

}  // namespace hostflow::sampler
