// The interface every sampler source implements. One source per file under sources/, listed in
// sources/registry.cc. Runs in hostflow-sampler: open() runs while still privileged (before the
// capability drop and seccomp), collect() runs every cycle under the final confinement.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"
#include "hostflow/shm/builder.h"

namespace hostflow::sampler {

struct SamplerPaths {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";
};

// How a source failed: absent (the thing it reads is not on this host) or failed (it is there,
// the read went wrong). ENOENT, ECONNREFUSED and EPROTONOSUPPORT on open() mean absent.
inline bool errno_means_absent(int code) {
  return code == ENOENT || code == ECONNREFUSED || code == EPROTONOSUPPORT || code == EAFNOSUPPORT;
}

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string_view name() const = 0;
  // Opens every fd and socket the source will need.
  virtual Result<void> open(const SamplerPaths& paths) = 0;
  // Adds this cycle's records to `out`; returns how many records it added.
  virtual Result<std::size_t> collect(shm::SnapshotBuilder& out) = 0;
};

}  // namespace hostflow::sampler
