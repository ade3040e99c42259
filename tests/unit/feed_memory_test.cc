// Issue 12, defect 3: the memory a feed parse takes is bounded by the body, whatever the body
// holds. Each case runs in a forked child: the child builds the body, resets its peak RSS
// (/proc/self/clear_refs "5"), parses, and reports VmHWM (the kernel's peak resident set) minus
// its resident set before the body existed. The bound is the issue's: 2 x body + 32 MiB.
// (A DOM parse of 16 MB of "[" peaked at 1.22 GB; a valid 20 MB Onionoo document at 257 MB.)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "areas/conntrack/threat_feeds.h"

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer keeps freed memory in a quarantine (256 MiB by default) and so holds pages
// resident that a release build returns: this executable measures the code, not the quarantine.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
}
#endif

namespace {

using hostflow::exporter::Cidr;
using hostflow::exporter::FeedFormat;
using hostflow::exporter::parse_feed;

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

struct Peak {
  bool parsed = false;
  long over_kb = -1;  // peak RSS above the resident set before the body was built
};

// Runs make_body + parse in a child; returns what it measured.
template <class MakeBody>
Peak measure(FeedFormat format, MakeBody make_body, std::size_t* body_size) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const long before = status_kb("VmRSS:");
    std::string body = make_body();
    std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := current RSS
    std::vector<Cidr> out;
    std::string err;
    const bool ok = parse_feed(format, body, &out, &err);
    const long hwm = status_kb("VmHWM:");
    long msg[3] = {ok ? 1 : 0, hwm - before, static_cast<long>(body.size())};
    (void)!::write(p[1], msg, sizeof msg);
    ::_exit(0);
  }
  ::close(p[1]);
  long msg[3] = {0, -1, 0};
  const ssize_t n = ::read(p[0], msg, sizeof msg);
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof msg)) << "child died, status " << st;
  *body_size = static_cast<std::size_t>(msg[2]);
  return Peak{msg[0] == 1, msg[1]};
}

constexpr long kMiB = 1024;  // in kB

long bound_kb(std::size_t body) { return 2 * static_cast<long>(body / 1024) + 32 * kMiB; }

TEST(FeedMemory, SixteenMegabytesOfOpenBracketsStayWithinTwiceTheBody) {
  std::size_t size = 0;
  const Peak pk = measure(FeedFormat::kOnionoo, [] { return std::string(16u << 20, '['); }, &size);
  EXPECT_FALSE(pk.parsed);
  EXPECT_GE(pk.over_kb, 0);
  EXPECT_LE(pk.over_kb, bound_kb(size)) << "peak " << pk.over_kb / kMiB << " MiB over the baseline";
}

TEST(FeedMemory, DeepNestingInsideAnObjectIsRefusedWithinTheBound) {
  std::size_t size = 0;
  const Peak pk = measure(
      FeedFormat::kOnionoo,
      [] {
        std::string b = "{\"relays\":";
        b.append((16u << 20) - b.size(), '[');
        return b;
      },
      &size);
  EXPECT_FALSE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(size)) << "peak " << pk.over_kb / kMiB << " MiB";
}

// A realistic document: relays with the fields Onionoo's details documents have.
TEST(FeedMemory, AValidTwentyMegabyteOnionooDocumentStaysWithinTwiceTheBody) {
  std::size_t size = 0;
  const Peak pk = measure(
      FeedFormat::kOnionoo,
      [] {
        std::string b = "{\"version\":\"8.0\",\"relays_published\":\"2026-12-04 12:00:00\",\"relays\":[";
        for (unsigned i = 0; b.size() < (20u << 20); i++) {
          char r[512];
          std::snprintf(r, sizeof r,
                        "%s{\"nickname\":\"relay%u\",\"fingerprint\":\"%040X\",\"or_addresses\":"
                        "[\"%u.%u.%u.%u:9001\",\"[2001:db8:%x::%x]:9001\"],\"exit_addresses\":"
                        "[\"%u.%u.%u.%u\"],\"running\":true,\"flags\":[\"Exit\",\"Fast\","
                        "\"Running\",\"Valid\"],\"country\":\"de\",\"as\":\"AS%u\"}",
                        i ? "," : "", i, i, 10 + (i >> 16) % 200, (i >> 8) & 255, i & 255, 1, i >> 16,
                        i & 0xffff, 10 + (i >> 16) % 200, (i >> 8) & 255, i & 255, 2, 64512 + i % 1000);
          b += r;
        }
        b += "]}";
        return b;
      },
      &size);
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(size)) << "peak " << pk.over_kb / kMiB << " MiB";
}

// The most addresses a body can hold: every byte an address.
TEST(FeedMemory, TwentyMegabytesOfAddressesStayWithinTwiceTheBody) {
  std::size_t size = 0;
  const Peak pk = measure(
      FeedFormat::kOnionoo,
      [] {
        std::string b = "{\"relays\":[{\"or_addresses\":[";
        for (unsigned i = 0; b.size() < (20u << 20); i++) {
          char a[32];
          std::snprintf(a, sizeof a, "%s\"%u.%u.%u.%u:1\"", i ? "," : "", 1 + (i >> 24), (i >> 16) & 255,
                        (i >> 8) & 255, i & 255);
          b += a;
        }
        b += "]}]}";
        return b;
      },
      &size);
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(size)) << "peak " << pk.over_kb / kMiB << " MiB";
}

TEST(FeedMemory, ATwentyMegabyteCidrListStaysWithinTwiceTheBody) {
  std::size_t size = 0;
  const Peak pk = measure(
      FeedFormat::kCidrList,
      [] {
        std::string b;
        for (unsigned i = 0; b.size() < (20u << 20); i++) {
          char a[32];
          std::snprintf(a, sizeof a, "%u.%u.%u.%u\n", 1 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255, i & 255);
          b += a;
        }
        return b;
      },
      &size);
  EXPECT_TRUE(pk.parsed);
  EXPECT_LE(pk.over_kb, bound_kb(size)) << "peak " << pk.over_kb / kMiB << " MiB";
}

}  // namespace
