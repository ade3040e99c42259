// Helpers for the segment tests: an 8-aligned in-memory "file" and the reader's two steps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hostflow/shm/builder.h"
#include "hostflow/shm/seqlock.h"
#include "hostflow/shm/snapshot.h"

namespace hostflow::test {

// A zero-filled segment file in private memory, 8-aligned like a mapping.
struct SegmentBuf {
  explicit SegmentBuf(std::uint64_t slot_size = shm::kMinSlotSize)
      : words(shm::file_size_for(slot_size) / 8, 0), size(shm::file_size_for(slot_size)) {
    shm::SegmentMeta meta;
    meta.writer_pid = 4242;
    for (int i = 0; i < 16; i++) meta.boot_id[i] = static_cast<std::uint8_t>(0xb0 + i);
    meta.sampler_start_real_ns = 1'700'000'000'000'000'000ull;
    meta.interval_ns = 5'000'000'000ull;
    shm::format_segment(span(), slot_size, meta);
  }
  std::byte* data() { return reinterpret_cast<std::byte*>(words.data()); }
  const std::byte* data() const { return reinterpret_cast<const std::byte*>(words.data()); }
  std::span<std::byte> span() { return {data(), size}; }

  shm::FileHeader header() const {
    shm::FileHeader h;
    std::memcpy(&h, data(), sizeof h);
    return h;
  }
  void set_header(const shm::FileHeader& h) { std::memcpy(data(), &h, sizeof h); }
  // The slot the header says is latest.
  std::byte* latest_slot() {
    const auto h = header();
    return data() + h.slot_offset[h.latest & 1];
  }
  shm::SlotHeader slot_header() {
    shm::SlotHeader s;
    std::memcpy(&s, latest_slot(), sizeof s);
    return s;
  }
  void set_slot_header(const shm::SlotHeader& s) { std::memcpy(latest_slot(), &s, sizeof s); }
  std::byte* payload() { return latest_slot() + sizeof(shm::SlotHeader); }

  bool publish(shm::SnapshotBuilder& b, std::uint64_t generation) {
    shm::PublishInfo info;
    info.generation = generation;
    info.cycle = generation + 100;
    info.publish_mono_ns = generation * 1000;
    info.publish_real_ns = generation * 2000;
    const auto payload = b.encode();
    info.section_count = b.section_count();
    return shm::publish(span(), info, payload);
  }

  std::vector<std::uint64_t> words;
  std::size_t size;
};

// copy_latest + Snapshot::parse on `size` bytes at `base`; nullopt with `err` set on failure.
inline std::optional<shm::Snapshot> read_segment(const std::byte* base, std::size_t size,
                                                 std::string* err,
                                                 shm::CopyStatus* status = nullptr) {
  shm::CopiedSlot copy;
  const shm::CopyStatus st = shm::copy_latest(base, size, &copy, err);
  if (status) *status = st;
  if (st != shm::CopyStatus::kOk) return std::nullopt;
  return shm::Snapshot::parse(std::move(copy), err);
}

}  // namespace hostflow::test
