// The sampler's wake channel (sampler/wake.h): the rate limit and its counters as pure logic, and
// the FIFO itself in a temporary directory (mode, replacement of a stale file, bounded drain).
#include "wake.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace hostflow::sampler {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000ull;

TEST(WakeLimiter, TheFirstRequestRunsACycleAtOnceAndTheNextWaitsForTheMinimumInterval) {
  WakeLimiter w(kSecond);
  const std::uint64_t t0 = 100 * kSecond;
  EXPECT_FALSE(w.due(t0));
  w.requested(1, t0);
  EXPECT_TRUE(w.due(t0));
  w.wake_cycle_ran(t0, 42);
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(w.last_cycle_real_ns(), 42u);
  // 99 more within the same second share one cycle, due one second after the first.
  for (int i = 0; i < 99; i++) w.requested(1, t0 + 10'000'000ull * static_cast<unsigned>(i));
  EXPECT_TRUE(w.pending());
  EXPECT_FALSE(w.due(t0 + kSecond - 1));
  EXPECT_EQ(w.earliest(), t0 + kSecond);
  EXPECT_TRUE(w.due(t0 + kSecond));
  w.wake_cycle_ran(t0 + kSecond, 43);
  EXPECT_EQ(w.requests(), 100u);
  EXPECT_EQ(w.cycles(), 2u);
  EXPECT_EQ(w.rate_limited(), 1u);  // the second one waited
}

TEST(WakeLimiter, ARequestAfterTheIntervalIsNotRateLimitedAndNothingAsksForACycleByItself) {
  WakeLimiter w(kSecond);
  w.requested(0, 5);  // an empty drain asks for nothing
  EXPECT_FALSE(w.pending());
  w.requested(3, 10);
  w.wake_cycle_ran(10, 1);
  w.requested(1, 10 + 2 * kSecond);
  EXPECT_TRUE(w.due(10 + 2 * kSecond));
  w.wake_cycle_ran(10 + 2 * kSecond, 2);
  EXPECT_EQ(w.cycles(), 2u);
  EXPECT_EQ(w.rate_limited(), 0u);
  EXPECT_EQ(w.requests(), 4u);
  w.wake_cycle_ran(20 * kSecond, 3);  // nothing pending: not a wake-up cycle
  EXPECT_EQ(w.cycles(), 2u);
}

TEST(WakeLimiter, ARegularCycleServesThePendingRequestsWithoutAnExtraOne) {
  WakeLimiter w(kSecond);
  w.requested(1, 0);
  w.wake_cycle_ran(kSecond, 1);
  w.requested(1, kSecond + 1);
  EXPECT_TRUE(w.pending());
  w.regular_cycle_ran();
  EXPECT_FALSE(w.pending());
  EXPECT_EQ(w.cycles(), 1u);
  EXPECT_EQ(w.requests(), 2u);
}

class WakeChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hf-wake-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = wake_path(dir_ + "/segment");
  }
  void TearDown() override {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(WakeChannelTest, IsAFifoTheGroupMayOnlyWriteAndReplacesWhateverWasThere) {
  {
    const int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY, 0666);  // a stale regular file
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "x", 1), 1);
    ::close(fd);
  }
  auto w = WakeChannel::create(path_, static_cast<gid_t>(-1));
  ASSERT_TRUE(w.ok()) << w.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ((*w)->drain(), 0u);  // empty, and never end-of-file without writers
}

TEST_F(WakeChannelTest, DrainsWhatWritersSentAndAtMostItsBoundPerCall) {
  auto w = WakeChannel::create(path_, static_cast<gid_t>(-1));
  ASSERT_TRUE(w.ok()) << w.error().message();
  const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "wake\x00\xff", 6), 6);  // content is never looked at
  EXPECT_EQ((*w)->drain(), 6u);
  // A writer that enlarges the pipe and fills it: each drain reads at most its bound.
  ASSERT_GE(::fcntl(fd, F_SETPIPE_SZ, 1 << 20), 1 << 20);
  const std::string chunk(64 * 1024, 'g');
  std::uint64_t written = 0;
  for (int i = 0; i < 16; i++) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    written += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  ASSERT_GT(written, WakeChannel::kMaxDrainBytes);
  std::uint64_t drained = 0;
  for (int i = 0; i < 64 && drained < written; i++) {
    const std::uint64_t n = (*w)->drain();
    EXPECT_LE(n, WakeChannel::kMaxDrainBytes);
    drained += n;
  }
  EXPECT_EQ(drained, written);
  EXPECT_EQ((*w)->drain(), 0u);
}

TEST_F(WakeChannelTest, RefusesADirectoryThatDoesNotExist) {
  auto w = WakeChannel::create(dir_ + "/missing/segment.wake", static_cast<gid_t>(-1));
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message().find("mkfifo"), std::string::npos) << w.error().message();
}

}  // namespace
}  // namespace hostflow::sampler
