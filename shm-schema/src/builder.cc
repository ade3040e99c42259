#include "hostflow/shm/builder.h"

#include <algorithm>

namespace hostflow::shm {
namespace {
std::size_t align8(std::size_t n) {
  return (n + 7) & ~std::size_t{7};
}
}  // namespace

StrRef SnapshotBuilder::add_string(std::string_view s, std::size_t cap) {
  if (s.size() > cap) s = s.substr(0, cap);
  if (s.empty()) return StrRef{0, 0};
  if (arena_.size() + s.size() > limits_.max_arena_bytes || arena_.size() + s.size() > UINT32_MAX) {
    arena_dropped_++;
    return StrRef{0, 0};
  }
  const auto at = static_cast<std::uint32_t>(arena_.size());
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  arena_.insert(arena_.end(), p, p + s.size());
  return StrRef{at, static_cast<std::uint32_t>(s.size())};
}

SnapshotBuilder::Section& SnapshotBuilder::section(SectionType type, std::uint16_t version,
                                                   std::uint32_t record_size) {
  Section& s = sections_[type];
  s.version = version;
  s.record_size = record_size;
  return s;
}

std::uint32_t SnapshotBuilder::cap_for(SectionType type) const {
  auto it = caps_.find(type);
  return it == caps_.end() ? limits_.max_records_per_section
                           : std::min(it->second, limits_.max_records_per_section);
}

void SnapshotBuilder::add_dropped(SectionType type, std::uint64_t n) {
  auto it = sections_.find(type);
  if (it != sections_.end()) it->second.dropped += n;
}

std::span<const std::byte> SnapshotBuilder::encode() {
  const std::uint32_t count = section_count();
  std::size_t size = align8(sizeof(SectionEntry) * count);
  for (const auto& [type, s] : sections_) size += align8(s.bytes.size());
  size += align8(arena_.size());
  payload_.assign(size, std::byte{0});

  std::size_t dir = 0;
  std::size_t at = align8(sizeof(SectionEntry) * count);
  auto put = [&](SectionType type, std::uint16_t version, std::uint16_t flags,
                 std::uint32_t record_size, std::uint32_t n, std::uint64_t dropped,
                 const std::vector<std::byte>& bytes) {
    SectionEntry e{};
    e.type = static_cast<std::uint32_t>(type);
    e.version = version;
    e.flags = flags;
    e.record_size = record_size;
    e.count = n;
    e.offset = at;
    e.dropped = dropped;
    std::memcpy(payload_.data() + dir, &e, sizeof e);
    dir += sizeof e;
    if (!bytes.empty()) std::memcpy(payload_.data() + at, bytes.data(), bytes.size());
    at += align8(bytes.size());
  };
  for (const auto& [type, s] : sections_) {
    put(type, s.version, s.dropped ? kSectionTruncated : 0, s.record_size, s.count, s.dropped,
        s.bytes);
  }
  put(SectionType::kArena, 1, arena_dropped_ ? kSectionTruncated : 0, 1,
      static_cast<std::uint32_t>(arena_.size()), arena_dropped_, arena_);
  return payload_;
}

void SnapshotBuilder::reset() {
  for (auto& [type, s] : sections_) {
    s.bytes.clear();
    s.count = 0;
    s.dropped = 0;
  }
  sections_.clear();
  arena_.clear();
  arena_dropped_ = 0;
}

}  // namespace hostflow::shm
