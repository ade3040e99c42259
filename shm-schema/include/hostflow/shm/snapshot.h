// Snapshot: a private, validated copy of one published slot. Readers copy (copy_latest), then
// validate (Snapshot::parse), then interpret: nothing in a Snapshot points into the mapping, and
// every offset, count and size has been checked against the copy before any accessor returns.
// Strings are checked on access (str()), so a bad StrRef yields nullopt, never an OOB read.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hostflow/shm/layout.h"
#include "hostflow/shm/seqlock.h"

namespace hostflow::shm {

class Snapshot {
 public:
  // Validates the directory and every section of `copy`; on failure returns nullopt and says why.
  static std::optional<Snapshot> parse(CopiedSlot copy, std::string* err);

  const FileHeader& file() const { return copy_.file; }
  const SlotHeader& slot() const { return copy_.slot; }
  std::uint64_t generation() const { return copy_.slot.generation; }

  // The directory entry of a section, or nullptr when the snapshot does not have it.
  const SectionEntry* section(SectionType type) const;

  template <class T>
  std::size_t count() const {
    const SectionEntry* e = section(SectionTraits<T>::type);
    return e ? e->count : 0;
  }

  // Record i of T's section. Reads min(record_size, sizeof(T)) bytes, so a newer minor that
  // appended fields still reads; missing trailing fields are zero.
  template <class T>
  T record(std::size_t i) const {
    const SectionEntry* e = section(SectionTraits<T>::type);
    T out{};
    std::memcpy(&out, bytes() + e->offset + i * e->record_size,
                std::min<std::size_t>(e->record_size, sizeof(T)));
    return out;
  }

  template <class T>
  std::vector<T> records() const {
    std::vector<T> v(count<T>());
    for (std::size_t i = 0; i < v.size(); i++) v[i] = record<T>(i);
    return v;
  }

  // The string a StrRef names, or nullopt if it does not lie inside the arena.
  std::optional<std::string_view> str(StrRef ref) const;

 private:
  explicit Snapshot(CopiedSlot copy) : copy_(std::move(copy)) {}
  const char* bytes() const { return reinterpret_cast<const char*>(copy_.words.data()); }

  CopiedSlot copy_;
  std::vector<SectionEntry> dir_;
  std::size_t arena_index_ = SIZE_MAX;  // index into dir_ (an index survives copies)
};

}  // namespace hostflow::shm
