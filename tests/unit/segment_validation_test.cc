// The reader's validation: every corrupt field of a valid segment is refused with a message that
// names the problem, truncated and random files never crash, and a newer minor still reads.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "identity/interfaces.h"
#include "segment_util.h"

namespace {

using namespace hostflow::shm;
using hostflow::test::read_segment;
using hostflow::test::SegmentBuf;

// A valid segment: 3 links, 2 sources, their strings; published twice so both slots hold data
// and the latest is slot 1.
SegmentBuf valid_segment() {
  SegmentBuf seg;
  for (std::uint64_t g = 1; g <= 2; g++) {
    SnapshotBuilder b;
    for (int i = 0; i < 3; i++) {
      LinkRecord r{};
      r.netns_inode = 1;
      r.ifindex = i + 1;
      r.name = b.add_string("eth" + std::to_string(i), 16);
      r.kind = b.add_string(i ? "veth" : "", 16);
      b.add(r);
    }
    for (const char* n : {"links", "procfs"}) {
      SourceStatusRecord s{};
      s.name = b.add_string(n, 32);
      s.state = 1;
      b.add(s);
    }
    EXPECT_TRUE(seg.publish(b, g));
  }
  return seg;
}

// Index of a section in the latest slot's directory.
SectionEntry* entry(SegmentBuf& seg, SectionType t) {
  const std::uint32_t n = seg.slot_header().section_count;
  auto* dir = reinterpret_cast<SectionEntry*>(seg.payload());
  for (std::uint32_t i = 0; i < n; i++) {
    if (dir[i].type == static_cast<std::uint32_t>(t)) return &dir[i];
  }
  ADD_FAILURE() << "no section " << static_cast<int>(t);
  static SectionEntry dummy;
  return &dummy;
}

struct Case {
  const char* what;
  std::function<void(SegmentBuf&)> corrupt;
  const char* error_mentions;  // a word the error must contain
};

std::vector<Case> cases() {
  using H = FileHeader;
  auto hdr = [](std::function<void(H&)> f) {
    return [f](SegmentBuf& s) {
      H h = s.header();
      f(h);
      s.set_header(h);
    };
  };
  auto slot = [](std::function<void(SlotHeader&)> f) {
    return [f](SegmentBuf& s) {
      SlotHeader h = s.slot_header();
      f(h);
      s.set_slot_header(h);
    };
  };
  auto sec = [](SectionType t, std::function<void(SectionEntry&, SegmentBuf&)> f) {
    return [t, f](SegmentBuf& s) { f(*entry(s, t), s); };
  };
  return {
      {"magic", hdr([](H& h) { h.magic ^= 1; }), "magic"},
      {"schema major", hdr([](H& h) { h.schema_major = kSchemaMajor + 1; }), "major"},
      {"schema major 0", hdr([](H& h) { h.schema_major = 0; }), "major"},
      {"header size", hdr([](H& h) { h.header_size = 4095; }), "header size"},
      {"header size big", hdr([](H& h) { h.header_size = 8192; }), "header size"},
      {"file size bigger", hdr([](H& h) { h.file_size += 8; }), "file size"},
      {"file size smaller", hdr([](H& h) { h.file_size -= 8; }), "file size"},
      {"slot size too small", hdr([](H& h) { h.slot_size = kMinSlotSize / 2; }), "slot size"},
      {"slot size too big", hdr([](H& h) { h.slot_size = kMaxSlotSize * 2; }), "slot size"},
      {"slot size unaligned", hdr([](H& h) { h.slot_size += 4; }), "slot size"},
      {"slot size past the file", hdr([](H& h) { h.slot_size *= 2; }), "outside"},
      {"slot 1 offset past the end", hdr([](H& h) { h.slot_offset[1] = h.file_size; }), "outside"},
      {"slot 1 offset huge", hdr([](H& h) { h.slot_offset[1] = ~0ull - 7; }), "outside"},
      {"slot 0 inside the header", hdr([](H& h) { h.slot_offset[0] = 8; }), "outside"},
      {"slot 0 unaligned", hdr([](H& h) { h.slot_offset[0] += 4; }), "outside"},
      {"slots overlap", hdr([](H& h) { h.slot_offset[1] = h.slot_offset[0] + 8; }), "overlap"},
      {"slots identical", hdr([](H& h) { h.slot_offset[1] = h.slot_offset[0]; }), "overlap"},
      {"latest names a never-written slot",
       [](SegmentBuf& s) {
         H h = s.header();
         // Zero the other slot and point `latest` at it.
         const std::uint32_t other = static_cast<std::uint32_t>((h.latest & 1) ^ 1);
         std::memset(s.data() + h.slot_offset[other], 0, h.slot_size);
         h.latest = (5ull << 1) | other;
         s.set_header(h);
       },
       "section count"},
      {"payload size > slot", slot([](SlotHeader& h) { h.payload_size = kMinSlotSize; }),
       "exceeds the slot"},
      {"payload size huge", slot([](SlotHeader& h) { h.payload_size = ~0ull; }),
       "exceeds the slot"},
      {"payload size cuts the directory", slot([](SlotHeader& h) { h.payload_size = 40; }),
       "directory"},
      {"section count 0", slot([](SlotHeader& h) { h.section_count = 0; }), "section count"},
      {"section count huge", slot([](SlotHeader& h) { h.section_count = 0xffffffffu; }),
       "section count"},
      {"section count past the payload",
       slot([](SlotHeader& h) { h.section_count = kMaxSections; }), "directory"},
      {"section offset past the end",
       sec(SectionType::kLinks,
           [](SectionEntry& e, SegmentBuf& s) { e.offset = s.slot_header().payload_size + 8; }),
       "offset"},
      {"section offset huge",
       sec(SectionType::kLinks, [](SectionEntry& e, SegmentBuf&) { e.offset = ~0ull - 7; }),
       "offset"},
      {"section offset unaligned",
       sec(SectionType::kLinks, [](SectionEntry& e, SegmentBuf&) { e.offset += 4; }), "offset"},
      {"section offset inside the directory",
       sec(SectionType::kLinks, [](SectionEntry& e, SegmentBuf&) { e.offset = 32; }), "offset"},
      {"arena offset inside the directory",
       sec(SectionType::kArena, [](SectionEntry& e, SegmentBuf&) { e.offset = 0; }), "offset"},
      {"count x record_size past the end",
       sec(SectionType::kLinks, [](SectionEntry& e, SegmentBuf&) { e.count = 0xffffffffu; }),
       "past the end"},
      {"count one too many",
       sec(SectionType::kSources,
           [](SectionEntry& e, SegmentBuf& s) {
             // Exactly one record more than fits before the end of the payload.
             e.count = static_cast<std::uint32_t>(
                 (s.slot_header().payload_size - e.offset) / e.record_size + 1);
           }),
       "past the end"},
      {"arena longer than the payload",
       sec(SectionType::kArena,
           [](SectionEntry& e, SegmentBuf& s) {
             e.count = static_cast<std::uint32_t>(s.slot_header().payload_size - e.offset + 1);
           }),
       "past the end"},
      {"sections overlap",
       [](SegmentBuf& s) {
         entry(s, SectionType::kSources)->offset = entry(s, SectionType::kLinks)->offset;
       },
       "overlap"},
      {"arena overlaps links",
       [](SegmentBuf& s) {
         entry(s, SectionType::kArena)->offset = entry(s, SectionType::kLinks)->offset + 8;
       },
       "overlap"},
      {"duplicate section type",
       [](SegmentBuf& s) {
         entry(s, SectionType::kLinks)->type = static_cast<std::uint32_t>(SectionType::kSources);
       },
       "twice"},
      {"record size smaller than LinkRecord",
       sec(SectionType::kLinks,
           [](SectionEntry& e, SegmentBuf&) { e.record_size = sizeof(LinkRecord) - 8; }),
       "record size"},
      {"record size smaller than SourceStatusRecord",
       sec(SectionType::kSources, [](SectionEntry& e, SegmentBuf&) { e.record_size = 8; }),
       "record size"},
      {"record size 0",
       sec(SectionType::kSources, [](SectionEntry& e, SegmentBuf&) { e.record_size = 0; }),
       "record size"},
      {"arena record size 2",
       sec(SectionType::kArena, [](SectionEntry& e, SegmentBuf&) { e.record_size = 2; }), "arena"},
      {"missing arena",
       sec(SectionType::kArena, [](SectionEntry& e, SegmentBuf&) { e.type = 1000; }), "arena"},
  };
}

TEST(SegmentValidation, BaselineIsValid) {
  SegmentBuf seg = valid_segment();
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->generation(), 2u);
  EXPECT_EQ(snap->count<LinkRecord>(), 3u);
  EXPECT_EQ(snap->count<SourceStatusRecord>(), 2u);
}

TEST(SegmentValidation, EveryCorruptFieldIsRefusedWithAReason) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.what);
    SegmentBuf seg = valid_segment();
    c.corrupt(seg);
    std::string err;
    CopyStatus st;
    auto snap = read_segment(seg.data(), seg.size, &err, &st);
    EXPECT_FALSE(snap.has_value());
    EXPECT_NE(st, CopyStatus::kBusy);
    EXPECT_FALSE(err.empty());
    EXPECT_NE(err.find(c.error_mentions), std::string::npos) << "error was: " << err;
  }
}

TEST(SegmentValidation, NothingPublishedIsNotAnError) {
  SegmentBuf seg;
  std::string err;
  CopyStatus st;
  EXPECT_FALSE(read_segment(seg.data(), seg.size, &err, &st));
  EXPECT_EQ(st, CopyStatus::kNotPublished);
}

TEST(SegmentValidation, OddSequenceIsBusyNotGarbage) {
  SegmentBuf seg = valid_segment();
  SlotHeader h = seg.slot_header();
  h.seq |= 1;  // a writer that died mid-publish
  seg.set_slot_header(h);
  CopiedSlot copy;
  std::string err;
  EXPECT_EQ(copy_latest(seg.data(), seg.size, &copy, &err, 8), CopyStatus::kBusy);
  EXPECT_NE(err.find("busy"), std::string::npos) << err;
}

TEST(SegmentValidation, StrRefOutsideTheArena) {
  SegmentBuf seg = valid_segment();
  const SectionEntry arena = *entry(seg, SectionType::kArena);
  const SectionEntry links = *entry(seg, SectionType::kLinks);
  auto* recs = reinterpret_cast<LinkRecord*>(seg.payload() + links.offset);
  recs[0].name = StrRef{arena.count, 1};                // one past the end
  recs[1].name = StrRef{arena.count - 1, 0xffffffffu};  // length wraps 32 bits
  recs[1].kind = StrRef{0xffffffffu, 0xffffffffu};
  recs[2].name = StrRef{0, arena.count + 1};  // just too long
  recs[2].kind = StrRef{arena.count, 0};      // empty at the end: fine
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << "bad refs are checked on access, not at parse: " << err;
  const auto r = snap->records<LinkRecord>();
  EXPECT_FALSE(snap->str(r[0].name));
  EXPECT_FALSE(snap->str(r[1].name));
  EXPECT_FALSE(snap->str(r[1].kind));
  EXPECT_FALSE(snap->str(r[2].name));
  EXPECT_EQ(snap->str(r[2].kind).value_or("<bad>"), "");
  EXPECT_EQ(snap->str(StrRef{0, arena.count}).value_or("").size(), arena.count);

  const auto m = hostflow::exporter::build_model(*snap);
  EXPECT_EQ(m.invalid_refs, 4u);
  ASSERT_EQ(m.interfaces.size(), 3u);
  for (const auto& i : m.interfaces) EXPECT_FALSE(i.name.empty());
}

TEST(SegmentValidation, EveryTruncatedLength) {
  const SegmentBuf seg = valid_segment();
  // The header still says the full size: refused as "file size" or "smaller than its header".
  for (std::size_t len = 0; len <= kHeaderSize + 512; len++) {
    std::vector<std::byte> cut(seg.data(), seg.data() + len);
    cut.shrink_to_fit();
    std::string err;
    CopyStatus st;
    EXPECT_FALSE(read_segment(cut.data(), len, &err, &st)) << len;
    EXPECT_EQ(st, CopyStatus::kBadHeader) << len;
    EXPECT_FALSE(err.empty());
  }
  // And a header that agrees with the short file: the slots no longer fit in it.
  for (std::size_t len : {kHeaderSize, kHeaderSize + 8, kHeaderSize + kMinSlotSize,
                          static_cast<std::size_t>(seg.size - 8)}) {
    std::vector<std::uint64_t> words(len / 8);
    std::memcpy(words.data(), seg.data(), len);
    FileHeader h;
    std::memcpy(&h, words.data(), sizeof h);
    h.file_size = len;
    std::memcpy(words.data(), &h, sizeof h);
    std::string err;
    EXPECT_FALSE(read_segment(reinterpret_cast<std::byte*>(words.data()), len, &err)) << len;
    EXPECT_NE(err.find("outside"), std::string::npos) << err;
  }
}

TEST(SegmentValidation, RandomBytesNeverCrash) {
  std::mt19937_64 rng(20240611);
  int refused = 0;
  for (int i = 0; i < 10000; i++) {
    const std::size_t len = rng() % (2 * kHeaderSize);
    std::vector<std::uint64_t> words((len + 7) / 8);
    for (auto& w : words) w = rng();
    // Half of them start with a plausible header, so the checks after the magic run too.
    if (i % 2 && len >= sizeof(FileHeader)) {
      FileHeader h;
      std::memcpy(&h, words.data(), sizeof h);
      h.magic = kMagic;
      h.schema_major = kSchemaMajor;
      h.header_size = kHeaderSize;
      if (i % 4 == 1) h.file_size = len;
      std::memcpy(words.data(), &h, sizeof h);
    }
    std::string err;
    auto snap = read_segment(reinterpret_cast<std::byte*>(words.data()), len, &err);
    if (!snap) {
      refused++;
      EXPECT_FALSE(err.empty());
    }
  }
  EXPECT_EQ(refused, 10000);  // a file this small cannot hold two slots
}

TEST(SegmentValidation, RandomMutationsOfAValidSegment) {
  // Flip bytes in the latest slot's header and payload: anything may be accepted or refused,
  // but whatever is accepted must be safe to interpret.
  const SegmentBuf base = valid_segment();
  std::mt19937_64 rng(7);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 3000; i++) {
    SegmentBuf seg = base;
    const FileHeader h = seg.header();
    const std::size_t slot_off = h.slot_offset[h.latest & 1];
    const std::size_t span = sizeof(SlotHeader) + 1024;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; k++) {
      const std::size_t at = slot_off + 8 + rng() % (span - 8);  // not the seq: stays even
      reinterpret_cast<std::uint8_t*>(seg.data())[at] = static_cast<std::uint8_t>(rng());
    }
    std::string err;
    auto snap = read_segment(seg.data(), seg.size, &err);
    if (!snap) {
      refused++;
      EXPECT_FALSE(err.empty());
      continue;
    }
    accepted++;
    const auto m = hostflow::exporter::build_model(*snap);
    EXPECT_LE(m.interfaces.size(), snap->count<LinkRecord>());
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, 0);
}

TEST(SegmentValidation, NewerMinorWithBiggerRecordsStillReads) {
  // Hand-built payload of a future minor: LinkRecord grew by 24 bytes, and an unknown section
  // type 77 appeared. The known prefix of each record must read as before.
  constexpr std::uint32_t kBig = sizeof(LinkRecord) + 24;
  const std::string arena = "eth0veth9";
  std::vector<std::byte> payload(4 * sizeof(SectionEntry) + 2 * kBig + 64 + 16, std::byte{0});
  auto put_entry = [&](int i, std::uint32_t type, std::uint32_t rs, std::uint32_t count,
                       std::uint64_t off) {
    SectionEntry e{};
    e.type = type;
    e.version = 2;
    e.record_size = rs;
    e.count = count;
    e.offset = off;
    std::memcpy(payload.data() + i * sizeof e, &e, sizeof e);
  };
  const std::uint64_t links_off = 4 * sizeof(SectionEntry);
  const std::uint64_t unknown_off = links_off + 2 * kBig;
  const std::uint64_t arena_off = unknown_off + 64;
  put_entry(0, static_cast<std::uint32_t>(SectionType::kLinks), kBig, 2, links_off);
  put_entry(1, 77, 32, 2, unknown_off);
  put_entry(2, static_cast<std::uint32_t>(SectionType::kArena), 1,
            static_cast<std::uint32_t>(arena.size()), arena_off);
  put_entry(3, 78, 8, 0, arena_off);  // empty unknown section
  for (int i = 0; i < 2; i++) {
    LinkRecord r{};
    r.ifindex = 10 + i;
    r.mtu = 9000 + static_cast<std::uint32_t>(i);
    r.stats.rx_nohandler = 555 + static_cast<std::uint64_t>(i);
    r.name = i == 0 ? StrRef{0, 4} : StrRef{4, 5};
    std::memcpy(payload.data() + links_off + i * kBig, &r, sizeof r);
    std::memset(payload.data() + links_off + i * kBig + sizeof r, 0xee, kBig - sizeof r);
  }
  std::memset(payload.data() + unknown_off, 0xab, 64);
  std::memcpy(payload.data() + arena_off, arena.data(), arena.size());

  SegmentBuf seg;
  FileHeader fh = seg.header();
  fh.schema_minor = kSchemaMinor + 1;
  seg.set_header(fh);
  PublishInfo info;
  info.generation = 1;
  info.section_count = 4;
  ASSERT_TRUE(publish(seg.span(), info, payload));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->file().schema_minor, kSchemaMinor + 1);
  ASSERT_EQ(snap->count<LinkRecord>(), 2u);
  for (int i = 0; i < 2; i++) {
    const auto r = snap->record<LinkRecord>(i);
    EXPECT_EQ(r.ifindex, 10 + i);
    EXPECT_EQ(r.mtu, 9000u + i);
    EXPECT_EQ(r.stats.rx_nohandler, 555u + i);
  }
  EXPECT_EQ(snap->str(snap->record<LinkRecord>(0).name).value_or(""), "eth0");
  EXPECT_EQ(snap->str(snap->record<LinkRecord>(1).name).value_or(""), "veth9");
  const auto m = hostflow::exporter::build_model(*snap);
  ASSERT_EQ(m.interfaces.size(), 2u);
  EXPECT_EQ(m.interfaces[0].name, "eth0");
  EXPECT_EQ(m.invalid_refs, 0u);
}

}  // namespace
