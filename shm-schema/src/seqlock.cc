#include "hostflow/shm/seqlock.h"

#include <atomic>
#include <cstring>
#include <thread>

namespace hostflow::shm {
namespace {

std::uint64_t load_acquire(const std::byte* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(p), __ATOMIC_ACQUIRE);
}
std::uint64_t load_relaxed(const std::byte* p) {
  return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(p), __ATOMIC_RELAXED);
}
void store_release(std::byte* p, std::uint64_t v) {
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(p), v, __ATOMIC_RELEASE);
}
void store_relaxed(std::byte* p, std::uint64_t v) {
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(p), v, __ATOMIC_RELAXED);
}

}  // namespace

std::uint64_t slot_size_for(std::uint64_t payload) {
  std::uint64_t need = payload + sizeof(SlotHeader);
  std::uint64_t size = kMinSlotSize;
  while (size < need && size < kMaxSlotSize) size <<= 1;
  return size;
}

void format_segment(std::span<std::byte> file, std::uint64_t slot_size, const SegmentMeta& meta) {
  FileHeader h{};
  h.magic = kMagic;
  h.schema_major = kSchemaMajor;
  h.schema_minor = kSchemaMinor;
  h.header_size = static_cast<std::uint32_t>(kHeaderSize);
  h.file_size = file.size();
  h.slot_size = slot_size;
  for (std::uint32_t i = 0; i < kSlotCount; i++) h.slot_offset[i] = kHeaderSize + i * slot_size;
  h.writer_pid = meta.writer_pid;
  std::memcpy(h.boot_id, meta.boot_id, sizeof h.boot_id);
  h.sampler_start_real_ns = meta.sampler_start_real_ns;
  h.interval_ns = meta.interval_ns;
  h.latest = 0;
  std::memcpy(file.data(), &h, sizeof h);
}

bool publish(std::span<std::byte> file, const PublishInfo& info,
             std::span<const std::byte> payload) {
  FileHeader h;
  std::memcpy(&h, file.data(), sizeof h);
  if (payload.size() > h.slot_size - sizeof(SlotHeader)) return false;

  std::byte* latest_p = file.data() + offsetof(FileHeader, latest);
  const std::uint64_t latest = load_relaxed(latest_p);
  const std::uint32_t slot = latest == 0 ? 0 : static_cast<std::uint32_t>((latest & 1) ^ 1);
  std::byte* base = file.data() + h.slot_offset[slot];
  std::byte* seq_p = base + offsetof(SlotHeader, seq);

  const std::uint64_t seq = load_relaxed(seq_p);
  store_relaxed(seq_p, seq | 1);  // odd: readers of this slot retry
  std::atomic_thread_fence(std::memory_order_release);

  SlotHeader sh{};
  sh.generation = info.generation;
  sh.cycle = info.cycle;
  sh.publish_mono_ns = info.publish_mono_ns;
  sh.publish_real_ns = info.publish_real_ns;
  sh.payload_size = payload.size();
  sh.section_count = info.section_count;
  // Everything but `seq` itself.
  std::memcpy(base + sizeof(std::uint64_t), reinterpret_cast<const std::byte*>(&sh) + 8,
              sizeof sh - 8);
  std::memcpy(base + sizeof(SlotHeader), payload.data(), payload.size());

  store_release(seq_p, (seq | 1) + 1);  // even again: the slot is consistent
  store_release(latest_p, (info.generation << 1) | slot);
  return true;
}

bool check_file_header(const std::byte* base, std::size_t size, FileHeader* out, std::string* err) {
  if (size < kHeaderSize) {
    *err = "segment smaller than its header (" + std::to_string(size) + " bytes)";
    return false;
  }
  FileHeader& h = *out;
  std::memcpy(&h, base, sizeof h);
  if (h.magic != kMagic) {
    *err = "not a hostflow segment (bad magic)";
    return false;
  }
  if (h.schema_major != kSchemaMajor) {
    *err = "segment schema major " + std::to_string(h.schema_major) + " is not supported (this " +
           "exporter reads major " + std::to_string(kSchemaMajor) +
           "): upgrade both binaries together";
    return false;
  }
  if (h.header_size != kHeaderSize) {
    *err = "bad header size " + std::to_string(h.header_size);
    return false;
  }
  if (h.file_size != size) {
    *err =
        "header says file size " + std::to_string(h.file_size) + ", mapped " + std::to_string(size);
    return false;
  }
  if (h.slot_size < kMinSlotSize || h.slot_size > kMaxSlotSize || h.slot_size % 8 != 0) {
    *err = "bad slot size " + std::to_string(h.slot_size);
    return false;
  }
  for (std::uint32_t i = 0; i < kSlotCount; i++) {
    const std::uint64_t off = h.slot_offset[i];
    if (off < kHeaderSize || off % 8 != 0 || off > size || h.slot_size > size - off) {
      *err = "slot " + std::to_string(i) + " outside the file";
      return false;
    }
  }
  const std::uint64_t a = h.slot_offset[0], b = h.slot_offset[1];
  if ((a < b ? b - a : a - b) < h.slot_size) {
    *err = "slots overlap";
    return false;
  }
  return true;
}

std::uint64_t latest_generation(const std::byte* base, std::size_t size) {
  if (size < kHeaderSize) return 0;
  return load_acquire(base + offsetof(FileHeader, latest)) >> 1;
}

CopyStatus copy_latest(const std::byte* base, std::size_t size, CopiedSlot* out, std::string* err,
                       unsigned max_retries) {
  if (!check_file_header(base, size, &out->file, err)) return CopyStatus::kBadHeader;
  const FileHeader& h = out->file;
  const std::uint64_t max_payload = h.slot_size - sizeof(SlotHeader);
  for (unsigned attempt = 0; attempt < max_retries; attempt++) {
    out->retries = attempt;
    if (attempt > 4) std::this_thread::yield();
    const std::uint64_t latest = load_acquire(base + offsetof(FileHeader, latest));
    if (latest == 0) return CopyStatus::kNotPublished;
    const std::byte* slot = base + h.slot_offset[latest & 1];
    const std::uint64_t s1 = load_acquire(slot + offsetof(SlotHeader, seq));
    if (s1 & 1) continue;
    std::memcpy(&out->slot, slot, sizeof(SlotHeader));
    // A torn size is clamped here and caught by the sequence check below.
    const std::uint64_t n = std::min<std::uint64_t>(out->slot.payload_size, max_payload);
    out->words.resize((n + 7) / 8);
    // n == 0 leaves words empty and data() null: memcpy(nullptr, _, 0) is still undefined.
    if (n) std::memcpy(out->words.data(), slot + sizeof(SlotHeader), n);
    std::atomic_thread_fence(std::memory_order_acquire);
    const std::uint64_t s2 = load_relaxed(slot + offsetof(SlotHeader, seq));
    if (s1 != s2) continue;
    if (out->slot.payload_size > max_payload) {
      *err = "payload size " + std::to_string(out->slot.payload_size) + " exceeds the slot";
      return CopyStatus::kBadHeader;
    }
    out->payload_size = n;
    return CopyStatus::kOk;
  }
  *err = "writer busy for " + std::to_string(max_retries) + " attempts";
  return CopyStatus::kBusy;
}

}  // namespace hostflow::shm
