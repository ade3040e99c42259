// The two-slot seqlock over a mapped segment file.
//
// Writer (hostflow-sampler, the only writer of a file): format_segment() once on a fresh file,
// then publish() per cycle. publish() writes the slot that is NOT the latest, under that slot's
// sequence counter (odd -> copy -> even, release ordering), then stores the new `latest`.
//
// Reader (hostflow-exporter, read-only mapping): copy_latest() copies the latest slot into private
// memory between two sequence reads (acquire), retrying a bounded number of times. The copy is
// then validated by Snapshot::parse() before anything interprets it.
//
// Atomic accesses use the GCC/Clang __atomic builtins on plain uint64_t fields: plain aligned
// 8-byte loads/stores on x86-64 and arm64, which work on a PROT_READ mapping (a 16-byte atomic
// would be a locked cmpxchg and fault there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hostflow/shm/layout.h"

namespace hostflow::shm {

struct SegmentMeta {
  std::uint32_t writer_pid = 0;
  std::uint8_t boot_id[16] = {};
  std::uint64_t sampler_start_real_ns = 0;
  std::uint64_t interval_ns = 0;
};

constexpr std::uint64_t file_size_for(std::uint64_t slot_size) {
  return kHeaderSize + kSlotCount * slot_size;
}
// The smallest power-of-two slot size (>= kMinSlotSize) that holds `payload` bytes.
std::uint64_t slot_size_for(std::uint64_t payload);

// Writes a fresh header into `file` (file_size_for(slot_size) bytes, zero-filled by the caller).
void format_segment(std::span<std::byte> file, std::uint64_t slot_size, const SegmentMeta& meta);

struct PublishInfo {
  std::uint64_t generation = 0;  // must grow by one per publish, starting at 1
  std::uint64_t cycle = 0;
  std::uint64_t publish_mono_ns = 0;
  std::uint64_t publish_real_ns = 0;
  std::uint32_t section_count = 0;
};

// False (nothing written) when the payload does not fit a slot of this file: grow the file.
bool publish(std::span<std::byte> file, const PublishInfo& info,
             std::span<const std::byte> payload);

enum class CopyStatus {
  kOk,
  kNotPublished,  // header valid, nothing published yet
  kBusy,          // the writer kept changing the slot during every retry
  kBadHeader,     // see error text
};

struct CopiedSlot {
  FileHeader file{};
  SlotHeader slot{};
  std::vector<std::uint64_t> words;  // the payload, 8-aligned; payload bytes = slot.payload_size
  std::size_t payload_size = 0;
  unsigned retries = 0;
};

// Checks the file header of a mapped segment of `size` bytes (magic, version, sizes, offsets).
bool check_file_header(const std::byte* base, std::size_t size, FileHeader* out, std::string* err);

CopyStatus copy_latest(const std::byte* base, std::size_t size, CopiedSlot* out, std::string* err,
                       unsigned max_retries = 64);

// The generation of the latest publish (0 = none), read atomically.
std::uint64_t latest_generation(const std::byte* base, std::size_t size);

}  // namespace hostflow::shm
