// SnapshotBuilder -> format_segment/publish -> copy_latest -> Snapshot::parse: everything written
// comes back, generations alternate slots, caps truncate and count.
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "segment_util.h"

namespace {

using namespace hostflow::shm;
using hostflow::test::read_segment;
using hostflow::test::SegmentBuf;

struct LinkIn {
  int ifindex;
  std::string name, kind, slave_kind;
};

const std::vector<LinkIn> kLinks = {
    {1, "lo", "", ""},
    {7, "br-0123456789ab", "bridge", ""},
    {9, "veth1234", "veth", "bridge"},
    {12, "tap101i0", "tun", "bridge"},
};

LinkRecord make_link(SnapshotBuilder& b, const LinkIn& in, std::size_t i) {
  LinkRecord r{};
  r.netns_inode = 4026531840ull + i;
  r.ifindex = in.ifindex;
  r.master_ifindex = in.slave_kind.empty() ? 0 : 7;
  r.link_ifindex = static_cast<std::int32_t>(100 + i);
  r.link_netnsid = static_cast<std::int32_t>(i) - 1;
  r.mtu = static_cast<std::uint32_t>(1500 + i);
  r.if_flags = 0x1003 + static_cast<std::uint32_t>(i);
  r.if_type = static_cast<std::uint16_t>(i == 0 ? 772 : 1);
  r.operstate = static_cast<std::uint8_t>(i % 7);
  r.addr_len = 6;
  for (int k = 0; k < 6; k++) r.address[k] = static_cast<std::uint8_t>(0x10 * i + k);
  r.present = kLinkHasStats64 | (in.slave_kind.empty() ? 0u : std::uint32_t{kLinkHasMaster});
  r.carrier = 1;
  std::uint64_t* s = &r.stats.rx_packets;
  for (int k = 0; k < 24; k++) s[k] = 1'000'000ull * (i + 1) + static_cast<std::uint64_t>(k);
  r.name = b.add_string(in.name, 16);
  r.kind = b.add_string(in.kind, 32);
  r.slave_kind = b.add_string(in.slave_kind, 32);
  return r;
}

TEST(SegmentRoundTrip, EveryFieldAndString) {
  SnapshotBuilder b;
  std::vector<LinkRecord> written;
  for (std::size_t i = 0; i < kLinks.size(); i++) {
    written.push_back(make_link(b, kLinks[i], i));
    ASSERT_TRUE(b.add(written.back()));
  }
  SourceStatusRecord src{};
  src.name = b.add_string("links", 32);
  src.last_error = b.add_string("netlink: Operation not permitted", 256);
  src.state = static_cast<std::uint8_t>(SourceState::kFailed);
  src.last_errno = 1;
  src.duration_ns = 1234567;
  src.errors_total = 3;
  src.runs_total = 10;
  src.last_success_real_ns = 99;
  src.items = 4;
  ASSERT_TRUE(b.add(src));

  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;

  EXPECT_EQ(snap->generation(), 1u);
  EXPECT_EQ(snap->slot().cycle, 101u);
  EXPECT_EQ(snap->slot().publish_mono_ns, 1000u);
  EXPECT_EQ(snap->slot().publish_real_ns, 2000u);
  EXPECT_EQ(snap->file().writer_pid, 4242u);
  EXPECT_EQ(snap->file().interval_ns, 5'000'000'000ull);
  EXPECT_EQ(snap->file().sampler_start_real_ns, 1'700'000'000'000'000'000ull);
  EXPECT_EQ(snap->file().boot_id[15], 0xbf);
  EXPECT_EQ(snap->file().schema_major, kSchemaMajor);

  ASSERT_EQ(snap->count<LinkRecord>(), kLinks.size());
  const auto links = snap->records<LinkRecord>();
  for (std::size_t i = 0; i < kLinks.size(); i++) {
    SCOPED_TRACE(kLinks[i].name);
    const LinkRecord& got = links[i];
    const LinkRecord& want = written[i];
    EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0);
    EXPECT_EQ(got.ifindex, kLinks[i].ifindex);
    EXPECT_EQ(got.stats.rx_nohandler, 1'000'000ull * (i + 1) + 23);
    EXPECT_EQ(snap->str(got.name).value_or("<bad>"), kLinks[i].name);
    EXPECT_EQ(snap->str(got.kind).value_or("<bad>"), kLinks[i].kind);
    EXPECT_EQ(snap->str(got.slave_kind).value_or("<bad>"), kLinks[i].slave_kind);
  }
  ASSERT_EQ(snap->count<SourceStatusRecord>(), 1u);
  const auto s = snap->record<SourceStatusRecord>(0);
  EXPECT_EQ(snap->str(s.name).value_or(""), "links");
  EXPECT_EQ(snap->str(s.last_error).value_or(""), "netlink: Operation not permitted");
  EXPECT_EQ(s.state, static_cast<std::uint8_t>(SourceState::kFailed));
  EXPECT_EQ(s.last_errno, 1);
  EXPECT_EQ(s.duration_ns, 1234567u);
  EXPECT_EQ(s.errors_total, 3u);
  EXPECT_EQ(s.runs_total, 10u);
  EXPECT_EQ(s.last_success_real_ns, 99u);
  EXPECT_EQ(s.items, 4u);

  const SectionEntry* l = snap->section(SectionType::kLinks);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->record_size, sizeof(LinkRecord));
  EXPECT_EQ(l->version, 1);
  EXPECT_EQ(l->flags, 0);
  EXPECT_EQ(l->dropped, 0u);
  const SectionEntry* a = snap->section(SectionType::kArena);
  ASSERT_NE(a, nullptr);
  std::size_t strings = 0;
  for (const auto& in : kLinks) strings += in.name.size() + in.kind.size() + in.slave_kind.size();
  strings += std::strlen("links") + std::strlen("netlink: Operation not permitted");
  EXPECT_EQ(a->count, strings);
}

TEST(SegmentRoundTrip, StringCapAndEmptyString) {
  SnapshotBuilder b;
  const StrRef capped = b.add_string("abcdefghij", 4);
  const StrRef empty = b.add_string("", 4);
  b.touch<LinkRecord>();
  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->str(capped).value_or("<bad>"), "abcd");
  EXPECT_EQ(snap->str(empty).value_or("<bad>"), "");
  // touch(): the section exists, with no records ("zero links" is not "no data").
  ASSERT_NE(snap->section(SectionType::kLinks), nullptr);
  EXPECT_EQ(snap->count<LinkRecord>(), 0u);
  EXPECT_EQ(snap->section(SectionType::kSources), nullptr);
  EXPECT_EQ(snap->count<SourceStatusRecord>(), 0u);
}

TEST(SegmentRoundTrip, GenerationsAlternateSlots) {
  SegmentBuf seg;
  EXPECT_EQ(latest_generation(seg.data(), seg.size), 0u);
  CopiedSlot copy;
  std::string err;
  EXPECT_EQ(copy_latest(seg.data(), seg.size, &copy, &err), CopyStatus::kNotPublished);

  std::uint64_t seq_before[2] = {0, 0};
  for (std::uint64_t g = 1; g <= 6; g++) {
    SCOPED_TRACE(g);
    SnapshotBuilder b;
    // A different number of links each generation, each named after its generation.
    for (std::uint64_t i = 0; i < g; i++) {
      LinkRecord r{};
      r.ifindex = static_cast<std::int32_t>(g * 100 + i);
      r.name = b.add_string("g" + std::to_string(g) + "i" + std::to_string(i), 16);
      ASSERT_TRUE(b.add(r));
    }
    ASSERT_TRUE(seg.publish(b, g));
    const FileHeader h = seg.header();
    const std::uint32_t slot = static_cast<std::uint32_t>(h.latest & 1);
    EXPECT_EQ(slot, (g - 1) % 2) << "publish must write the slot that was not latest";
    EXPECT_EQ(h.latest >> 1, g);
    EXPECT_EQ(latest_generation(seg.data(), seg.size), g);

    // The written slot's seqlock went up by 2 and is even; the other slot was not touched.
    std::uint64_t seq[2];
    for (int k = 0; k < 2; k++) std::memcpy(&seq[k], seg.data() + h.slot_offset[k], 8);
    EXPECT_EQ(seq[slot], seq_before[slot] + 2);
    EXPECT_EQ(seq[slot ^ 1], seq_before[slot ^ 1]);
    seq_before[0] = seq[0];
    seq_before[1] = seq[1];

    auto snap = read_segment(seg.data(), seg.size, &err);
    ASSERT_TRUE(snap) << err;
    EXPECT_EQ(snap->generation(), g);
    ASSERT_EQ(snap->count<LinkRecord>(), g);
    for (std::uint64_t i = 0; i < g; i++) {
      const auto r = snap->record<LinkRecord>(i);
      EXPECT_EQ(r.ifindex, static_cast<std::int32_t>(g * 100 + i));
      EXPECT_EQ(snap->str(r.name).value_or(""), "g" + std::to_string(g) + "i" + std::to_string(i));
    }
  }
}

TEST(SegmentRoundTrip, SectionCapTruncatesAndCounts) {
  SnapshotBuilder b;
  b.set_cap(SectionType::kLinks, 2);
  int accepted = 0;
  for (int i = 0; i < 5; i++) {
    LinkRecord r{};
    r.ifindex = i + 1;
    accepted += b.add(r) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 2);
  b.add_dropped(SectionType::kLinks, 10);  // e.g. records the source never even decoded
  SourceStatusRecord s{};
  ASSERT_TRUE(b.add(s));
  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  const SectionEntry* l = snap->section(SectionType::kLinks);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->count, 2u);
  EXPECT_TRUE(l->flags & kSectionTruncated);
  EXPECT_EQ(l->dropped, 3u + 10u);
  EXPECT_EQ(snap->record<LinkRecord>(0).ifindex, 1);
  EXPECT_EQ(snap->record<LinkRecord>(1).ifindex, 2);
  const SectionEntry* src = snap->section(SectionType::kSources);
  ASSERT_NE(src, nullptr);
  EXPECT_FALSE(src->flags & kSectionTruncated);
  EXPECT_EQ(src->dropped, 0u);
}

TEST(SegmentRoundTrip, GlobalRecordLimit) {
  BuilderLimits lim;
  lim.max_records_per_section = 3;
  SnapshotBuilder b(lim);
  b.set_cap(SectionType::kLinks, 100);  // a per-section cap never lifts the global one
  for (int i = 0; i < 4; i++) b.add(LinkRecord{});
  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->count<LinkRecord>(), 3u);
  EXPECT_EQ(snap->section(SectionType::kLinks)->dropped, 1u);
}

TEST(SegmentRoundTrip, ArenaCapDropsStringsAndCounts) {
  BuilderLimits lim;
  lim.max_arena_bytes = 10;
  SnapshotBuilder b(lim);
  const StrRef a = b.add_string("hello", 64);   // 5 bytes
  const StrRef c = b.add_string("world!", 64);  // would be 11: dropped
  const StrRef d = b.add_string("12345", 64);   // exactly 10: fits
  const StrRef e = b.add_string("x", 64);       // 11: dropped
  EXPECT_EQ(b.arena_dropped(), 2u);
  EXPECT_EQ(c.length, 0u);
  EXPECT_EQ(e.length, 0u);
  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->str(a).value_or(""), "hello");
  EXPECT_EQ(snap->str(c).value_or("<bad>"), "");
  EXPECT_EQ(snap->str(d).value_or(""), "12345");
  const SectionEntry* arena = snap->section(SectionType::kArena);
  ASSERT_NE(arena, nullptr);
  EXPECT_EQ(arena->count, 10u);
  EXPECT_TRUE(arena->flags & kSectionTruncated);
  EXPECT_EQ(arena->dropped, 2u);
}

TEST(SegmentRoundTrip, PayloadTooLargeForSlot) {
  SegmentBuf seg;  // kMinSlotSize slots
  // Publish something small first, so we can see a failed publish leaves it alone.
  {
    SnapshotBuilder b;
    LinkRecord r{};
    r.ifindex = 77;
    b.add(r);
    ASSERT_TRUE(seg.publish(b, 1));
  }
  const std::vector<std::uint64_t> before = seg.words;
  SnapshotBuilder big;
  // 64 KiB of slot minus its header cannot hold 300 LinkRecords (~89 KB).
  for (int i = 0; i < 300; i++) big.add(LinkRecord{});
  ASSERT_GT(big.encode().size(), kMinSlotSize - sizeof(SlotHeader));
  EXPECT_FALSE(seg.publish(big, 2));
  EXPECT_EQ(seg.words, before) << "a refused publish must not write anything";
  EXPECT_EQ(latest_generation(seg.data(), seg.size), 1u);

  // The largest payload that fits is accepted; one more 8-byte step is not.
  EXPECT_GE(slot_size_for(big.encode().size()), big.encode().size() + sizeof(SlotHeader));
  EXPECT_EQ(slot_size_for(kMinSlotSize - sizeof(SlotHeader)), kMinSlotSize);
  EXPECT_EQ(slot_size_for(kMinSlotSize - sizeof(SlotHeader) + 1), 2 * kMinSlotSize);
  EXPECT_EQ(slot_size_for(0), kMinSlotSize);

  SegmentBuf bigger(slot_size_for(big.encode().size()));
  ASSERT_TRUE(bigger.publish(big, 1));
  std::string err;
  auto snap = read_segment(bigger.data(), bigger.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->count<LinkRecord>(), 300u);
}

TEST(SegmentRoundTrip, ResetForgetsEverything) {
  SnapshotBuilder b;
  b.add(LinkRecord{});
  b.add_string("abc", 8);
  b.reset();
  SourceStatusRecord s{};
  s.name = b.add_string("z", 8);
  b.add(s);
  SegmentBuf seg;
  ASSERT_TRUE(seg.publish(b, 1));
  std::string err;
  auto snap = read_segment(seg.data(), seg.size, &err);
  ASSERT_TRUE(snap) << err;
  EXPECT_EQ(snap->section(SectionType::kLinks), nullptr);
  EXPECT_EQ(snap->section(SectionType::kArena)->count, 1u);
  EXPECT_EQ(snap->str(snap->record<SourceStatusRecord>(0).name).value_or(""), "z");
}

}  // namespace
