// Seqlock stress: one writer publishes flat out while readers copy + parse and check that every
// snapshot they accept is exactly one generation's content (no torn reads), for ~2 seconds.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "segment_util.h"

namespace {

using namespace hostflow::shm;
using hostflow::test::SegmentBuf;

// Everything a generation contains is a function of the generation alone.
std::uint32_t links_for(std::uint64_t g) {
  return 1 + static_cast<std::uint32_t>(g % 37);
}
std::uint32_t sources_for(std::uint64_t g) {
  return static_cast<std::uint32_t>(g % 3);
}
std::string name_for(std::uint64_t g, std::uint32_t i) {
  return "g" + std::to_string(g) + "-" + std::to_string(i);
}
std::string pad_for(std::uint64_t g) {
  return std::string(g % 200, static_cast<char>('a' + g % 26));
}

void build(SnapshotBuilder& b, std::uint64_t g) {
  b.reset();
  const StrRef pad = b.add_string(pad_for(g), 1000);
  for (std::uint32_t i = 0; i < links_for(g); i++) {
    LinkRecord r{};
    r.ifindex = static_cast<std::int32_t>(g);
    r.mtu = i;
    r.stats.rx_bytes = g * 3 + i;
    r.stats.tx_bytes = ~g;
    r.name = b.add_string(name_for(g, i), 32);
    r.kind = pad;
    b.add(r);
  }
  for (std::uint32_t i = 0; i < sources_for(g); i++) {
    SourceStatusRecord s{};
    s.items = g;
    s.runs_total = g + i;
    b.add(s);
  }
}

struct ReaderStats {
  std::uint64_t ok = 0, busy = 0, violations = 0, checked_records = 0;
  std::string first_violation;
};

void violation(ReaderStats& st, const std::string& what) {
  if (st.violations++ == 0) st.first_violation = what;
}

void check(const Snapshot& s, ReaderStats& st) {
  const std::uint64_t g = s.generation();
  if (s.slot().cycle != g + 100) violation(st, "cycle of another generation");
  if (s.count<LinkRecord>() != links_for(g)) {
    return violation(
        st, "gen " + std::to_string(g) + ": " + std::to_string(s.count<LinkRecord>()) + " links");
  }
  if (s.count<SourceStatusRecord>() != sources_for(g)) violation(st, "source count");
  const auto links = s.records<LinkRecord>();
  for (std::uint32_t i = 0; i < links.size(); i++) {
    const LinkRecord& r = links[i];
    if (r.ifindex != static_cast<std::int32_t>(g) || r.mtu != i || r.stats.rx_bytes != g * 3 + i ||
        r.stats.tx_bytes != ~g) {
      violation(st, "gen " + std::to_string(g) + ": record " + std::to_string(i) + " has ifindex " +
                        std::to_string(r.ifindex));
    }
    if (s.str(r.name).value_or("<bad>") != name_for(g, i)) violation(st, "name");
    if (s.str(r.kind).value_or("<bad>") != pad_for(g)) violation(st, "pad string");
    st.checked_records++;
  }
  for (const auto& src : s.records<SourceStatusRecord>()) {
    if (src.items != g) violation(st, "source of another generation");
  }
}

TEST(SeqlockStress, ReadersNeverSeeATornSnapshot) {
  // Big enough for the largest generation; small enough that the readers' copies collide with
  // the writer often.
  SegmentBuf seg;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> published{0};

  std::thread writer([&] {
    SnapshotBuilder b;
    for (std::uint64_t g = 1; !stop.load(std::memory_order_relaxed); g++) {
      build(b, g);
      if (!seg.publish(b, g)) {
        ADD_FAILURE() << "publish refused generation " << g;
        return;
      }
      published.store(g, std::memory_order_relaxed);
    }
  });

  constexpr int kReaders = 3;
  std::vector<ReaderStats> stats(kReaders);
  std::vector<std::thread> readers;
  for (int k = 0; k < kReaders; k++) {
    readers.emplace_back([&, k] {
      ReaderStats& st = stats[k];
      std::uint64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        CopiedSlot copy;
        std::string err;
        const CopyStatus cs = copy_latest(seg.data(), seg.size, &copy, &err);
        if (cs == CopyStatus::kNotPublished) continue;
        if (cs == CopyStatus::kBusy) {
          st.busy++;
          continue;
        }
        if (cs != CopyStatus::kOk) {
          violation(st, "copy_latest: " + err);
          continue;
        }
        auto snap = Snapshot::parse(std::move(copy), &err);
        if (!snap) {
          violation(st, "a consistent copy failed validation: " + err);
          continue;
        }
        if (snap->generation() < last) violation(st, "generation went backwards");
        last = snap->generation();
        check(*snap, st);
        st.ok++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  writer.join();
  for (auto& t : readers) t.join();

  EXPECT_GT(published.load(), 1000u) << "the writer barely ran";
  for (int k = 0; k < kReaders; k++) {
    SCOPED_TRACE("reader " + std::to_string(k));
    EXPECT_EQ(stats[k].violations, 0u) << stats[k].first_violation;
    EXPECT_GT(stats[k].ok, 100u) << "reader made no progress (busy " << stats[k].busy << ")";
    EXPECT_GT(stats[k].checked_records, stats[k].ok);
    std::printf("reader %d: %llu snapshots checked, %llu busy; writer published %llu\n", k,
                static_cast<unsigned long long>(stats[k].ok),
                static_cast<unsigned long long>(stats[k].busy),
                static_cast<unsigned long long>(published.load()));
  }
}

}  // namespace
