// SnapshotBuilder: the sampler's private, growable snapshot. Sources add records and strings;
// encode() lays them out as a slot payload (directory, sections, arena) ready for publish().
// Runs in hostflow-sampler. Allocation happens here, never inside the seqlock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "hostflow/shm/layout.h"

namespace hostflow::shm {

struct BuilderLimits {
  std::uint64_t max_arena_bytes = 64ull << 20;  // all strings and blobs of one snapshot
  std::uint32_t max_records_per_section = 1u << 20;
};

class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(BuilderLimits limits = {}) : limits_(limits) {}

  // Copies `s` (at most `cap` bytes) into the arena. When the arena is full the string is dropped,
  // counted in arena_dropped(), and an empty ref returned.
  StrRef add_string(std::string_view s, std::size_t cap);

  // Appends one record to its section. Past the section cap the record is dropped, the section is
  // flagged truncated and its dropped count grows; returns false then.
  template <class T>
  bool add(const T& rec) {
    static_assert(std::is_trivially_copyable_v<T>);
    Section& s = section(SectionTraits<T>::type, SectionTraits<T>::version, sizeof(T));
    if (s.count >= cap_for(SectionTraits<T>::type)) {
      s.dropped++;
      return false;
    }
    const std::size_t at = s.bytes.size();
    s.bytes.resize(at + sizeof(T));
    std::memcpy(s.bytes.data() + at, &rec, sizeof(T));
    s.count++;
    return true;
  }

  // Marks a section present even when it has no records (so "zero links" differs from "no data").
  template <class T>
  void touch() {
    section(SectionTraits<T>::type, SectionTraits<T>::version, sizeof(T));
  }

  void set_cap(SectionType type, std::uint32_t max_records) { caps_[type] = max_records; }
  void add_dropped(SectionType type, std::uint64_t n);
  std::uint64_t arena_dropped() const { return arena_dropped_; }

  // Lays out the payload; the span stays valid until the next call of any non-const method.
  std::span<const std::byte> encode();
  std::uint32_t section_count() const { return static_cast<std::uint32_t>(sections_.size()) + 1; }

  void reset();

 private:
  struct Section {
    std::uint16_t version = 0;
    std::uint32_t record_size = 0;
    std::uint32_t count = 0;
    std::uint64_t dropped = 0;
    std::vector<std::byte> bytes;
  };
  Section& section(SectionType type, std::uint16_t version, std::uint32_t record_size);
  std::uint32_t cap_for(SectionType type) const;

  BuilderLimits limits_;
  std::map<SectionType, Section> sections_;
  std::map<SectionType, std::uint32_t> caps_;
  std::vector<std::byte> arena_;
  std::uint64_t arena_dropped_ = 0;
  std::vector<std::byte> payload_;
};

}  // namespace hostflow::shm
