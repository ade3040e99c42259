#include "hostflow/shm/snapshot.h"

#include <algorithm>

namespace hostflow::shm {

std::optional<Snapshot> Snapshot::parse(CopiedSlot copy, std::string* err) {
  const std::uint64_t size = copy.payload_size;
  if (size > copy.words.size() * 8) {
    *err = "payload larger than the copy";
    return std::nullopt;
  }
  const std::uint32_t n = copy.slot.section_count;
  if (n == 0 || n > kMaxSections) {
    *err = "bad section count " + std::to_string(n);
    return std::nullopt;
  }
  const std::uint64_t dir_bytes = std::uint64_t{n} * sizeof(SectionEntry);
  if (dir_bytes > size) {
    *err = "section directory past the payload";
    return std::nullopt;
  }
  Snapshot s(std::move(copy));
  s.dir_.resize(n);
  std::memcpy(s.dir_.data(), s.bytes(), dir_bytes);

  struct Span {
    std::uint64_t begin, end;
  };
  std::vector<Span> spans;
  spans.reserve(n);
  std::vector<std::uint32_t> seen;
  for (const SectionEntry& e : s.dir_) {
    const std::string which = "section type " + std::to_string(e.type);
    if (std::find(seen.begin(), seen.end(), e.type) != seen.end()) {
      *err = which + " appears twice";
      return std::nullopt;
    }
    seen.push_back(e.type);
    if (e.record_size == 0) {
      *err = which + ": record size 0";
      return std::nullopt;
    }
    const auto type = static_cast<SectionType>(e.type);
    if (e.record_size < min_record_size(type)) {
      *err = which + ": record size " + std::to_string(e.record_size) + " smaller than " +
             std::to_string(min_record_size(type));
      return std::nullopt;
    }
    if (type == SectionType::kArena && e.record_size != 1) {
      *err = "arena record size must be 1";
      return std::nullopt;
    }
    if (e.offset % 8 != 0 || e.offset < dir_bytes || e.offset > size) {
      *err = which + ": bad offset " + std::to_string(e.offset);
      return std::nullopt;
    }
    const std::uint64_t len = std::uint64_t{e.count} * e.record_size;  // no overflow: 32x32 bits
    if (len > size - e.offset) {
      *err = which + ": " + std::to_string(e.count) + " records past the end of the payload";
      return std::nullopt;
    }
    if (len) spans.push_back({e.offset, e.offset + len});
    if (type == SectionType::kArena) s.arena_index_ = static_cast<std::size_t>(&e - s.dir_.data());
  }
  std::sort(spans.begin(), spans.end(), [](Span a, Span b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); i++) {
    if (spans[i].begin < spans[i - 1].end) {
      *err = "sections overlap";
      return std::nullopt;
    }
  }
  if (s.arena_index_ == SIZE_MAX) {
    *err = "no arena section";
    return std::nullopt;
  }
  return s;
}

const SectionEntry* Snapshot::section(SectionType type) const {
  for (const SectionEntry& e : dir_) {
    if (e.type == static_cast<std::uint32_t>(type)) return &e;
  }
  return nullptr;
}

std::optional<std::string_view> Snapshot::str(StrRef ref) const {
  if (ref.length == 0) return std::string_view{};
  const SectionEntry& a = dir_[arena_index_];
  if (ref.offset > a.count || ref.length > a.count - ref.offset) return std::nullopt;
  return std::string_view(bytes() + a.offset + ref.offset, ref.length);
}

}  // namespace hostflow::shm
