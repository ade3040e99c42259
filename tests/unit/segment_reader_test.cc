// SegmentReader over a real segment file written by the sampler's SegmentFile: a file that is
// truncated while mapped (only root can, the sampler never does) is reported invalid and unmapped,
// never a SIGBUS (issue 12, defect 5), and a new file is picked up again.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hostflow/shm/builder.h"
#include "hostflow/shm/layout.h"
#include "publish/segment_file.h"
#include "snapshot/segment_reader.h"

namespace {

using hostflow::exporter::guarded_copy_for_test;
using hostflow::exporter::ReadStatus;
using hostflow::exporter::SegmentReader;
namespace shm = hostflow::shm;
namespace sampler = hostflow::sampler;

struct Dir {
  Dir() {
    char t[] = "/tmp/hf-segreader-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~Dir() { std::system(("rm -rf " + path).c_str()); }
  std::string path;
};

std::unique_ptr<sampler::SegmentFile> write_segment(const std::string& path, std::uint64_t gen) {
  shm::SnapshotBuilder b;
  b.touch<shm::LinkRecord>();
  sampler::SegmentOptions o;
  o.path = path;
  o.meta.writer_pid = static_cast<std::uint32_t>(::getpid());
  o.meta.interval_ns = 5'000'000'000ull;
  shm::PublishInfo info;
  info.generation = gen;
  info.cycle = gen;
  info.publish_mono_ns = 1;
  info.publish_real_ns = 1;
  info.section_count = b.section_count();
  auto f = sampler::SegmentFile::create(o, info, b.encode());
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message());
  return f.ok() ? std::move(*f) : nullptr;
}

off_t file_size(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_size : -1;
}

// Every way the file can be cut: to nothing, to the header, into slot 0, into slot 1, one byte
// short.
TEST(SegmentReader, ATruncatedSegmentIsInvalidAndUnmappedNeverASignal) {
  Dir d;
  const std::string seg = d.path + "/segment";
  auto writer = write_segment(seg, 1);
  ASSERT_TRUE(writer);
  const off_t full = file_size(seg);
  ASSERT_GT(full, static_cast<off_t>(shm::kHeaderSize));
  for (const off_t cut :
       {off_t{0}, static_cast<off_t>(shm::kHeaderSize), full / 3, full - full / 4, full - 1}) {
    SCOPED_TRACE("truncated to " + std::to_string(cut));
    auto w = write_segment(seg, 1);  // a fresh full file (new inode)
    ASSERT_TRUE(w);
    SegmentReader r(seg);
    ASSERT_EQ(r.poll().status, ReadStatus::kNew);
    ASSERT_EQ(::truncate(seg.c_str(), cut), 0);
    const auto res = r.poll();
    EXPECT_EQ(res.status, ReadStatus::kInvalid);
    EXPECT_NE(res.error.find("truncated"), std::string::npos) << res.error;
    EXPECT_EQ(r.shrinks(), 1u);
    // Still the same (short) file: invalid at every poll, no signal, no second count.
    const auto again = r.poll();
    EXPECT_EQ(again.status, ReadStatus::kInvalid);
    EXPECT_EQ(r.shrinks(), 1u);
    // The sampler restarts: a new file at the path is read again.
    w.reset();
    auto w2 = write_segment(seg, 7);
    ASSERT_TRUE(w2);
    const auto back = r.poll();
    ASSERT_EQ(back.status, ReadStatus::kNew) << back.error;
    EXPECT_EQ(back.snapshot->generation(), 7u);
  }
}

// The race the fstat check cannot see: the file shrinks between the check and the copy. The copy
// runs under the reader's SIGBUS guard, which turns the fault into a failed copy.
TEST(SegmentReader, ACopyRacingATruncationFailsInsteadOfRaisingSigbus) {
  Dir d;
  const std::string p = d.path + "/f";
  const long page = ::sysconf(_SC_PAGESIZE);
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 4 * page), 0);
  void* m = ::mmap(nullptr, static_cast<std::size_t>(4 * page), PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(m, MAP_FAILED);
  std::vector<std::byte> out(static_cast<std::size_t>(4 * page));
  EXPECT_TRUE(guarded_copy_for_test(static_cast<const std::byte*>(m), out.size(), out.data()));
  ASSERT_EQ(::ftruncate(fd, page), 0);
  // Pages 2..4 are now past the end of the file: an unguarded read would raise SIGBUS.
  EXPECT_FALSE(guarded_copy_for_test(static_cast<const std::byte*>(m), out.size(), out.data()));
  // The guard is re-armed every time: a second fault is caught as well, and good reads still work.
  EXPECT_FALSE(guarded_copy_for_test(static_cast<const std::byte*>(m) + 2 * page,
                                     static_cast<std::size_t>(page), out.data()));
  EXPECT_TRUE(guarded_copy_for_test(static_cast<const std::byte*>(m),
                                    static_cast<std::size_t>(page), out.data()));
  ::munmap(m, static_cast<std::size_t>(4 * page));
  ::close(fd);
}

}  // namespace
