// The sampler's wake channel: how POST /collect asks for a cycle now instead of at the next
// --interval tick. Runs in hostflow-sampler: WakeChannel::create() while privileged (before the
// capability drop and the seccomp filter), the rest in the loop under the filter.
//
// A FIFO beside the segment (<segment>.wake), created by the sampler, mode 0620 root:<segment
// group>: the exporter's group may only open it for writing; only the sampler reads it. One
// byte means "wake up"; whatever arrives is drained and thrown away unread -- never parsed, so
// nothing but "wake" can flow from the exporter to the sampler, and the exporter still cannot
// write the segment. The sampler alone decides when a wake-up cycle runs: at most one per
// --wake.min-interval (WakeLimiter); requests that arrive in between share the next one. A
// flooding writer costs the sampler one bounded drain and one cycle per min-interval: while a
// cycle waits for the limit the channel is not even polled, and a full pipe makes the writer's
// non-blocking write fail (EAGAIN), not the sampler's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "hostflow/common/result.h"
#include "hostflow/common/unique_fd.h"
#include "hostflow/shm/layout.h"

namespace hostflow::sampler {

// The rate limit and the counters, without I/O (unit tested). Times are CLOCK_MONOTONIC ns.
class WakeLimiter {
 public:
  explicit WakeLimiter(std::uint64_t min_interval_ns) : min_interval_ns_(min_interval_ns) {}
  // `n` requests (bytes) were read at `now`; n > 0 asks for a cycle.
  void requested(std::uint64_t n, std::uint64_t now);
  // A cycle is wanted and the limit allows it at `now`.
  bool due(std::uint64_t now) const { return pending_ && now >= earliest(); }
  bool pending() const { return pending_; }
  // When the pending cycle may run (the last wake-up cycle + min-interval; 0 = now).
  std::uint64_t earliest() const { return last_ ? last_ + min_interval_ns_ : 0; }
  // A wake-up cycle runs at `now` (`real_ns`: the same instant, Unix time), for every request
  // read so far. Called before it collects, so its snapshot counts it.
  void wake_cycle_ran(std::uint64_t now, std::uint64_t real_ns);
  // A regular (interval) cycle ran: it serves the pending requests too, without an extra cycle.
  void regular_cycle_ran() { pending_ = false; }

  std::uint64_t min_interval_ns() const { return min_interval_ns_; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t cycles() const { return cycles_; }
  std::uint64_t rate_limited() const { return rate_limited_; }
  std::uint64_t last_cycle_real_ns() const { return last_real_; }

 private:
  std::uint64_t min_interval_ns_;
  std::uint64_t last_ = 0;  // the last wake-up cycle; 0 = none yet
  std::uint64_t last_real_ = 0;
  bool pending_ = false;
  std::uint64_t pending_since_ = 0;
  std::uint64_t requests_ = 0, cycles_ = 0, rate_limited_ = 0;
};

class WakeChannel {
 public:
  // At most this much is read per drain (the rest waits for the next one).
  static constexpr std::size_t kMaxDrainBytes = 64 * 1024;

  // Replaces whatever is at `path` with a new FIFO (0620, group `gid` unless it is -1) and opens
  // it read-write, non-blocking (O_RDWR: it never reports end-of-file or hang-up while no writer
  // has it open). Refuses a path that turns out not to be the FIFO it just made.
  static Result<std::unique_ptr<WakeChannel>> create(const std::string& path, gid_t gid);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Reads and discards what is waiting, at most kMaxDrainBytes; returns the bytes read.
  std::uint64_t drain();

 private:
  WakeChannel(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// <segment>.wake: the channel's path, the same for the sampler and the exporter.
inline std::string wake_path(const std::string& segment) {
  return segment + std::string(shm::kWakeSuffix);
}

}  // namespace hostflow::sampler
