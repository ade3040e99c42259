// SegmentFile: the sampler's side of the segment file. Creates a new file for every sampler run
// (so a restarted sampler is a new inode the exporter notices), maps it read-write
// (Boost.Interprocess) and publishes snapshots with the seqlock. When a snapshot outgrows the
// slots it writes a larger file beside the old one and rename()s it over: the mapped file is never
// truncated, so a reader never takes SIGBUS. Runs in hostflow-sampler.
#pragma once

#include <sys/types.h>

#include <memory>
#include <span>
#include <string>

#include "hostflow/common/result.h"
#include "hostflow/shm/seqlock.h"

namespace hostflow::sampler {

struct SegmentOptions {
  std::string path;                      // e.g. /run/hostflow/segment
  gid_t group = static_cast<gid_t>(-1);  // group owner (hostflow), -1 = leave as is
  mode_t mode = 0640;
  shm::SegmentMeta meta;
};

class SegmentFile {
 public:
  ~SegmentFile();
  // Creates and publishes the first snapshot (so the file never appears empty to a reader).
  static Result<std::unique_ptr<SegmentFile>> create(const SegmentOptions& opts,
                                                     const shm::PublishInfo& first,
                                                     std::span<const std::byte> payload);
  // Publishes the next snapshot, growing the file when needed.
  Result<void> publish(const shm::PublishInfo& info, std::span<const std::byte> payload);

  std::uint64_t slot_size() const { return slot_size_; }
  std::uint64_t grow_count() const { return grows_; }

 private:
  struct Mapping;
  explicit SegmentFile(SegmentOptions opts);
  Result<void> replace_file(std::uint64_t slot_size, const shm::PublishInfo& info,
                            std::span<const std::byte> payload);

  SegmentOptions opts_;
  std::unique_ptr<Mapping> map_;
  std::uint64_t slot_size_ = 0;
  std::uint64_t grows_ = 0;
};

}  // namespace hostflow::sampler
