// The conntrack source's decoder (sampler/sources/conntrack: decode_ct_message) on a real
// captured ctnetlink dump (tests/fixtures/conntrack/ct-dump.bin, entries verified with
// `conntrack -L`), and on truncated and foreign messages.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "sources/conntrack.h"
#include "support.h"

namespace hostflow {
namespace {

TEST(ConntrackDecode, RealDumpFromTheKernel) {
  // Captured in a netns after one UDP datagram to 10.66.9.2:5001 and to [fd66:9::2]:5001 and one
  // ping to 10.66.9.2, with nf_conntrack_acct=1.
  const std::string bytes = test::read_file(HOSTFLOW_FIXTURES_DIR "/conntrack/ct-dump.bin");
  ASSERT_FALSE(bytes.empty());
  std::vector<std::uint32_t> buf((bytes.size() + 3) / 4);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(bytes.size());
  int udp4 = 0, udp6 = 0, icmp = 0;
  for (; mnl_nlmsg_ok(msg, left); msg = mnl_nlmsg_next(msg, &left)) {
    shm::ConntrackRecord r;
    std::string err;
    ASSERT_TRUE(sampler::decode_ct_message(msg, static_cast<std::size_t>(left), &r, &err)) << err;
    EXPECT_TRUE(r.flags & shm::kCtHasCounters);
    char src[64], dst[64];
    inet_ntop(r.family, r.orig_src, src, sizeof src);
    inet_ntop(r.family, r.orig_dst, dst, sizeof dst);
    if (r.proto == IPPROTO_UDP && r.family == AF_INET) {
      udp4++;
      EXPECT_STREQ(src, "10.66.9.1");
      EXPECT_STREQ(dst, "10.66.9.2");
      EXPECT_EQ(r.orig_dport, 5001);
      EXPECT_EQ(r.reply_sport, 5001);
      EXPECT_EQ(r.orig_packets, 1u);
      EXPECT_EQ(r.orig_bytes, 29u);  // 20 IPv4 + 8 UDP + 1
      EXPECT_EQ(r.reply_packets, 0u);
    } else if (r.proto == IPPROTO_UDP && r.family == AF_INET6) {
      udp6++;
      EXPECT_STREQ(src, "fd66:9::1");
      EXPECT_STREQ(dst, "fd66:9::2");
      EXPECT_EQ(r.orig_bytes, 49u);  // 40 IPv6 + 8 UDP + 1
    } else if (r.proto == IPPROTO_ICMP) {
      icmp++;
      EXPECT_EQ(r.orig_dport >> 8, 8);  // echo request
      EXPECT_EQ(r.reply_packets, 1u);
    }
  }
  EXPECT_EQ(udp4, 1);
  EXPECT_EQ(udp6, 1);
  EXPECT_EQ(icmp, 1);
}

TEST(ConntrackDecode, RefusesTruncatedAndForeignMessages) {
  const std::string bytes = test::read_file(HOSTFLOW_FIXTURES_DIR "/conntrack/ct-dump.bin");
  std::vector<std::uint32_t> buf((bytes.size() + 3) / 4);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  auto* msg = reinterpret_cast<nlmsghdr*>(buf.data());
  shm::ConntrackRecord r;
  std::string err;
  EXPECT_FALSE(sampler::decode_ct_message(msg, 10, &r, &err));
  EXPECT_FALSE(err.empty());
  // An attribute whose length runs past the message.
  const std::uint32_t len = msg->nlmsg_len;
  msg->nlmsg_len = len - 4;
  EXPECT_FALSE(sampler::decode_ct_message(msg, len, &r, &err));
  msg->nlmsg_len = len;
  msg->nlmsg_type = 16;  // RTM_NEWLINK
  EXPECT_FALSE(sampler::decode_ct_message(msg, len, &r, &err));
}

}  // namespace
}  // namespace hostflow
