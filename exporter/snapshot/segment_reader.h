// SegmentReader: the exporter's side of the segment. Opens the file O_RDONLY and maps it PROT_READ
// (Boost.Interprocess, read_only), notices when the sampler replaced the file (new inode: restart
// or growth) and remaps, copies the latest slot and validates the copy. Never writes, never trusts.
// Runs in hostflow-exporter.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "hostflow/shm/snapshot.h"

namespace hostflow::exporter {

enum class ReadStatus {
  kNew,           // a new generation, validated: `snapshot` is set
  kUnchanged,     // same generation as last time
  kMissing,       // no segment file (sampler not started yet)
  kNotPublished,  // file present, nothing published
  kBusy,          // the writer kept the slot busy through every retry
  kInvalid,       // header or slot failed validation: `error` says why
};
const char* read_status_name(ReadStatus s);

struct ReadResult {
  ReadStatus status = ReadStatus::kMissing;
  std::string error;
  std::optional<shm::Snapshot> snapshot;
};

class SegmentReader {
 public:
  explicit SegmentReader(std::string path);
  ~SegmentReader();
  ReadResult poll();
  // Header of the mapped file (valid after a kNew/kUnchanged poll).
  const shm::FileHeader& header() const { return header_; }
  std::uint64_t remaps() const { return remaps_; }
  // Times the mapped file was found shorter than the mapping (truncated by someone; the
  // sampler never does that), between polls or during a copy (SIGBUS caught).
  std::uint64_t shrinks() const { return shrinks_; }
  // Installs the process-wide SIGBUS handler the reads rely on (idempotent; the constructor
  // calls it, so it happens before the seccomp filter).
  static void install_sigbus_handler();

 private:
  struct Mapping;
  bool remap_if_replaced(std::string* err);
  ReadResult truncated_while_reading();

  std::string path_;
  std::unique_ptr<Mapping> map_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  shm::FileHeader header_{};
  std::uint64_t last_generation_ = 0;
  std::uint64_t remaps_ = 0;
  std::uint64_t shrinks_ = 0;
  bool missing_ = false;
};

// Copies n bytes from a mapping under the same SIGBUS guard as the reader (unit tests).
bool guarded_copy_for_test(const std::byte* from, std::size_t n, std::byte* to);

}  // namespace hostflow::exporter
