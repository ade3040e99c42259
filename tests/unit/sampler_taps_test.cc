// The taps source's pure helpers (sampler/sources/taps): parse_fdinfo_iff on real
// /proc/<pid>/fdinfo text of a tun fd (captured from the kernel into tests/fixtures/proc/fdinfo/)
// and hostile variants, and is_macvtap_path.
#include <string>

#include <gtest/gtest.h>

#include "sources/taps.h"
#include "support.h"

using hostflow::sampler::is_macvtap_path;
using hostflow::sampler::parse_fdinfo_iff;

namespace {

std::string fixture(const std::string& name) {
  return hostflow::test::read_file(std::string(HOSTFLOW_FIXTURES_DIR) + "/proc/fdinfo/" + name);
}

TEST(FdinfoIff, RealTunFd) {
  // Captured from an fd on /dev/net/tun after TUNSETIFF "tap-fixture0" (IFF_TAP | IFF_NO_PI).
  const std::string text = fixture("tun.txt");
  ASSERT_NE(text.find("iff:\ttap-fixture0\n"), std::string::npos) << text;
  const auto iff = parse_fdinfo_iff(text);
  ASSERT_TRUE(iff);
  EXPECT_EQ(*iff, "tap-fixture0");
}

TEST(FdinfoIff, RealDetachedTunFd) {
  // A tun fd before TUNSETIFF: the kernel prints an empty "iff:\t".
  const std::string text = fixture("tun-detached.txt");
  ASSERT_NE(text.find("iff:\t\n"), std::string::npos) << text;
  EXPECT_FALSE(parse_fdinfo_iff(text));
}

TEST(FdinfoIff, Variants) {
  EXPECT_EQ(parse_fdinfo_iff("iff:\tvnet0"), "vnet0");                        // no trailing newline
  EXPECT_EQ(parse_fdinfo_iff("pos:\t0\niff:  \t tap1 \t\r\n"), "tap1");       // spaces, CRLF
  EXPECT_EQ(parse_fdinfo_iff("iff:\t123456789012345\n"), "123456789012345");  // 15 = IFNAMSIZ-1
  EXPECT_EQ(parse_fdinfo_iff("iff:\ta\niff:\tb\n"), "a");  // the first one counts
  EXPECT_EQ(parse_fdinfo_iff("iff:\t\xc3\xa9t\xc3\xa9\n"),
            "\xc3\xa9t\xc3\xa9");  // UTF-8 names exist
}

TEST(FdinfoIff, Hostile) {
  EXPECT_FALSE(parse_fdinfo_iff(""));
  EXPECT_FALSE(parse_fdinfo_iff("\n\n\n"));
  EXPECT_FALSE(parse_fdinfo_iff("pos:\t0\nflags:\t02\n"));
  EXPECT_FALSE(parse_fdinfo_iff("iff:"));
  EXPECT_FALSE(parse_fdinfo_iff("iff:\t1234567890123456\n"));  // 16 bytes: longer than IFNAMSIZ-1
  EXPECT_FALSE(parse_fdinfo_iff("iff:\t" + std::string(100000, 'x')));
  EXPECT_FALSE(parse_fdinfo_iff("iff:\t../../etc\n"));  // '/' is never in an interface name
  EXPECT_FALSE(parse_fdinfo_iff("iff:\tta p\n"));
  EXPECT_FALSE(parse_fdinfo_iff(std::string("iff:\tta\0p\n", 10)));
  EXPECT_FALSE(parse_fdinfo_iff("iff:\tta\x7fp\n"));
  EXPECT_FALSE(parse_fdinfo_iff("iff:\tta\x01p\n"));
  EXPECT_FALSE(parse_fdinfo_iff(" iff:\ttap0\n"));  // not at the start of a line
  EXPECT_FALSE(parse_fdinfo_iff("xiff:\ttap0\n"));
  EXPECT_EQ(parse_fdinfo_iff("riff:\tx\niff:\ttap0\n"), "tap0");
  // The returned view points into the input.
  const std::string text = "pos:\t0\niff:\tvnet7\n";
  const auto v = parse_fdinfo_iff(text);
  ASSERT_TRUE(v);
  EXPECT_GE(v->data(), text.data());
  EXPECT_LE(v->data() + v->size(), text.data() + text.size());
}

TEST(MacvtapPath, Forms) {
  EXPECT_TRUE(is_macvtap_path("/dev/tap7"));
  EXPECT_TRUE(is_macvtap_path("/dev/tap4294967295"));
  EXPECT_FALSE(is_macvtap_path("/dev/tap"));
  EXPECT_FALSE(is_macvtap_path("/dev/tap12345678901"));  // 11 digits
  EXPECT_FALSE(is_macvtap_path("/dev/tapx"));
  EXPECT_FALSE(is_macvtap_path("/dev/tap1 (deleted)"));
  EXPECT_FALSE(is_macvtap_path("/dev/net/tun"));
  EXPECT_FALSE(is_macvtap_path("/tmp/dev/tap1"));
  EXPECT_FALSE(is_macvtap_path(""));
}

}  // namespace
