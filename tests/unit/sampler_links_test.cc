// The links source's decoders (sampler/sources/links). decode_link_message against real kernel
// bytes: tests/fixtures/netlink/<ifname>.bin are RTM_NEWLINK messages dumped from a throwaway
// namespace (tests/tools/capture_netlink.sh) and ip-link.json is iproute2's independent decoding
// of the same namespace at the same moment; decode_stats_message on RTM_NEWSTATS messages.
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sources/links.h"
#include "support.h"

namespace {

using hostflow::sampler::decode_link_message;
using hostflow::sampler::DecodedLink;
namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kDir = fs::path(HOSTFLOW_FIXTURES_DIR) / "netlink";

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  const std::string s = hostflow::test::read_file(p);
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

// A heap buffer of exactly `n` bytes (so AddressSanitizer sees any read past it).
struct Exact {
  explicit Exact(const std::uint8_t* p, std::size_t n) : buf(new std::uint8_t[n ? n : 1]), size(n) {
    if (n) std::memcpy(buf.get(), p, n);
  }
  const nlmsghdr* nlh() const { return reinterpret_cast<const nlmsghdr*>(buf.get()); }
  nlmsghdr* mut() { return reinterpret_cast<nlmsghdr*>(buf.get()); }
  std::unique_ptr<std::uint8_t[]> buf;
  std::size_t size;
};

struct Fixture {
  std::string name;
  std::vector<std::uint8_t> bytes;
};

std::vector<Fixture> load_fixtures() {
  std::vector<Fixture> out;
  for (const auto& e : fs::directory_iterator(kDir)) {
    if (e.path().extension() != ".bin") continue;
    out.push_back({e.path().stem().string(), bytes_of(e.path())});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

json load_ip_json() {
  return json::parse(hostflow::test::read_file(kDir / "ip-link.json"));
}

// RFC 2863 operstates as iproute2 prints them, in IF_OPER_* order.
int operstate_value(const std::string& s) {
  static const std::map<std::string, int> m = {{"UNKNOWN", IF_OPER_UNKNOWN},
                                               {"NOTPRESENT", IF_OPER_NOTPRESENT},
                                               {"DOWN", IF_OPER_DOWN},
                                               {"LOWERLAYERDOWN", IF_OPER_LOWERLAYERDOWN},
                                               {"TESTING", IF_OPER_TESTING},
                                               {"DORMANT", IF_OPER_DORMANT},
                                               {"UP", IF_OPER_UP}};
  auto it = m.find(s);
  return it == m.end() ? -1 : it->second;
}

// ifi_flags as iproute2 prints them: it shows NO-CARRIER for UP without RUNNING, drops RUNNING,
// adds M-DOWN (a derived hint, not a flag) and prints leftover bits in hex.
std::uint32_t flags_from_ip(const json& names) {
  static const std::map<std::string, std::uint32_t> m = {{"LOOPBACK", IFF_LOOPBACK},
                                                         {"BROADCAST", IFF_BROADCAST},
                                                         {"POINTOPOINT", IFF_POINTOPOINT},
                                                         {"MULTICAST", IFF_MULTICAST},
                                                         {"NOARP", IFF_NOARP},
                                                         {"ALLMULTI", IFF_ALLMULTI},
                                                         {"PROMISC", IFF_PROMISC},
                                                         {"NOTRAILERS", IFF_NOTRAILERS},
                                                         {"DEBUG", IFF_DEBUG},
                                                         {"DYNAMIC", IFF_DYNAMIC},
                                                         {"AUTOMEDIA", IFF_AUTOMEDIA},
                                                         {"PORTSEL", IFF_PORTSEL},
                                                         {"MASTER", IFF_MASTER},
                                                         {"SLAVE", IFF_SLAVE},
                                                         {"UP", IFF_UP},
                                                         {"LOWER_UP", IFF_LOWER_UP},
                                                         {"DORMANT", IFF_DORMANT},
                                                         {"ECHO", IFF_ECHO}};
  std::uint32_t f = 0;
  bool no_carrier = false;
  for (const auto& n : names) {
    const std::string s = n.get<std::string>();
    if (s == "NO-CARRIER") {
      no_carrier = true;
    } else if (s == "M-DOWN") {
      // derived from the IFLA_LINK peer's state
    } else if (auto it = m.find(s); it != m.end()) {
      f |= it->second;
    } else {
      f |= static_cast<std::uint32_t>(std::stoul(s, nullptr, 16));
    }
  }
  if ((f & IFF_UP) && !no_carrier) f |= IFF_RUNNING;
  return f;
}

std::string mac_of(const hostflow::shm::LinkRecord& r) {
  std::string s;
  char b[4];
  for (int i = 0; i < r.addr_len; i++) {
    std::snprintf(b, sizeof b, i ? ":%02x" : "%02x", r.address[i]);
    s += b;
  }
  return s;
}

TEST(NetlinkFixtures, EveryLinkHasBytesAndJson) {
  const auto fixtures = load_fixtures();
  const json ip = load_ip_json();
  ASSERT_TRUE(ip.is_array());
  std::vector<std::string> json_names, bin_names;
  for (const auto& l : ip) json_names.push_back(l.at("ifname"));
  for (const auto& f : fixtures) bin_names.push_back(f.name);
  std::sort(json_names.begin(), json_names.end());
  EXPECT_EQ(bin_names, json_names);
  // The capture is meant to cover these kinds; if it stops doing so, the test loses its teeth.
  EXPECT_GE(fixtures.size(), 5u);
}

TEST(NetlinkFixtures, DecodedFieldsMatchIproute2) {
  const json ip = load_ip_json();
  std::map<std::string, int> index_by_name;
  for (const auto& l : ip) index_by_name[l.at("ifname")] = l.at("ifindex");

  int with_master = 0, with_link = 0, with_netnsid = 0, with_traffic = 0;
  for (const auto& l : ip) {
    const std::string name = l.at("ifname");
    SCOPED_TRACE(name);
    const auto bytes = bytes_of(kDir / (name + ".bin"));
    ASSERT_GE(bytes.size(), sizeof(nlmsghdr));
    Exact buf(bytes.data(), bytes.size());
    DecodedLink d;
    std::string err;
    ASSERT_TRUE(decode_link_message(buf.nlh(), buf.size, &d, &err)) << err;
    const auto& r = d.rec;

    EXPECT_EQ(r.ifindex, l.at("ifindex").get<int>());
    EXPECT_EQ(d.name, name);
    EXPECT_EQ(r.mtu, l.at("mtu").get<std::uint32_t>());
    EXPECT_EQ(r.operstate, operstate_value(l.at("operstate")));
    EXPECT_EQ(r.if_flags, flags_from_ip(l.at("flags")));
    EXPECT_EQ(mac_of(r), l.value("address", ""));

    const json li = l.value("linkinfo", json::object());
    EXPECT_EQ(d.kind, li.value("info_kind", ""));
    EXPECT_EQ(d.slave_kind, li.value("info_slave_kind", ""));

    if (l.contains("master")) {
      with_master++;
      EXPECT_TRUE(r.present & hostflow::shm::kLinkHasMaster);
      EXPECT_EQ(r.master_ifindex, index_by_name.at(l.at("master")));
    } else {
      EXPECT_FALSE(r.present & hostflow::shm::kLinkHasMaster);
      EXPECT_EQ(r.master_ifindex, 0);
    }
    // iproute2 prints the peer by name when it is in this namespace, by index otherwise.
    if (l.contains("link")) {
      with_link++;
      EXPECT_TRUE(r.present & hostflow::shm::kLinkHasLink);
      EXPECT_EQ(r.link_ifindex, index_by_name.at(l.at("link")));
    } else if (l.contains("link_index")) {
      with_link++;
      EXPECT_TRUE(r.present & hostflow::shm::kLinkHasLink);
      EXPECT_EQ(r.link_ifindex, l.at("link_index").get<int>());
    } else {
      EXPECT_FALSE(r.present & hostflow::shm::kLinkHasLink);
    }
    if (l.contains("link_netnsid")) {
      with_netnsid++;
      EXPECT_TRUE(r.present & hostflow::shm::kLinkHasLinkNetnsid);
      EXPECT_EQ(r.link_netnsid, l.at("link_netnsid").get<int>());
    } else {
      EXPECT_FALSE(r.present & hostflow::shm::kLinkHasLinkNetnsid);
      EXPECT_EQ(r.link_netnsid, -1);
    }

    ASSERT_TRUE(l.contains("stats64"));
    ASSERT_TRUE(r.present & hostflow::shm::kLinkHasStats64);
    const json& rx = l.at("stats64").at("rx");
    const json& tx = l.at("stats64").at("tx");
    const auto& s = r.stats;
    EXPECT_EQ(s.rx_bytes, rx.at("bytes").get<std::uint64_t>());
    EXPECT_EQ(s.rx_packets, rx.at("packets").get<std::uint64_t>());
    EXPECT_EQ(s.rx_errors, rx.at("errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_dropped, rx.at("dropped").get<std::uint64_t>());
    EXPECT_EQ(s.rx_over_errors, rx.at("over_errors").get<std::uint64_t>());
    EXPECT_EQ(s.multicast, rx.at("multicast").get<std::uint64_t>());
    EXPECT_EQ(s.rx_length_errors, rx.at("length_errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_crc_errors, rx.at("crc_errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_frame_errors, rx.at("frame_errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_fifo_errors, rx.at("fifo_errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_missed_errors, rx.at("missed_errors").get<std::uint64_t>());
    EXPECT_EQ(s.rx_compressed, rx.value("compressed", std::uint64_t{0}));
    EXPECT_EQ(s.rx_nohandler, rx.value("nohandler", std::uint64_t{0}));
    EXPECT_EQ(s.tx_bytes, tx.at("bytes").get<std::uint64_t>());
    EXPECT_EQ(s.tx_packets, tx.at("packets").get<std::uint64_t>());
    EXPECT_EQ(s.tx_errors, tx.at("errors").get<std::uint64_t>());
    EXPECT_EQ(s.tx_dropped, tx.at("dropped").get<std::uint64_t>());
    EXPECT_EQ(s.tx_carrier_errors, tx.at("carrier_errors").get<std::uint64_t>());
    EXPECT_EQ(s.collisions, tx.at("collisions").get<std::uint64_t>());
    EXPECT_EQ(s.tx_aborted_errors, tx.at("aborted_errors").get<std::uint64_t>());
    EXPECT_EQ(s.tx_fifo_errors, tx.at("fifo_errors").get<std::uint64_t>());
    EXPECT_EQ(s.tx_window_errors, tx.at("window_errors").get<std::uint64_t>());
    EXPECT_EQ(s.tx_heartbeat_errors, tx.at("heartbeat_errors").get<std::uint64_t>());
    EXPECT_EQ(s.tx_compressed, tx.value("compressed", std::uint64_t{0}));
    if (s.rx_bytes > 0 && s.tx_bytes > 0) with_traffic++;
  }
  // The fixture must exercise the interesting attributes, or the comparisons above prove little.
  EXPECT_GE(with_master, 1);
  EXPECT_GE(with_link, 2);
  EXPECT_GE(with_netnsid, 1);
  EXPECT_GE(with_traffic, 2);
}

// Top-level attribute boundaries of a message, walked independently of libmnl: every offset at
// which the message may end with its attributes intact ([end, aligned end] of each attribute).
std::vector<std::pair<std::size_t, std::size_t>> attr_ends(const std::vector<std::uint8_t>& m) {
  std::vector<std::pair<std::size_t, std::size_t>> ends;
  std::size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg));
  ends.push_back({at, at});
  while (at + 4 <= m.size()) {
    std::uint16_t len;
    std::memcpy(&len, m.data() + at, 2);
    if (len < 4) break;
    ends.push_back({at + len, at + NLA_ALIGN(len)});
    at += NLA_ALIGN(len);
  }
  return ends;
}

TEST(NetlinkReject, EveryTruncatedPrefix) {
  for (const auto& f : load_fixtures()) {
    SCOPED_TRACE(f.name);
    const auto ends = attr_ends(f.bytes);
    for (std::size_t len = 0; len < f.bytes.size(); len++) {
      // As received: the header still claims the full length.
      {
        Exact buf(f.bytes.data(), len);
        DecodedLink d;
        std::string err;
        EXPECT_FALSE(decode_link_message(buf.nlh(), len, &d, &err)) << len;
        EXPECT_FALSE(err.empty());
      }
      // Consistently shorter: nlmsg_len says `len`, so the cut lands inside the attributes.
      if (len >= sizeof(nlmsghdr)) {
        Exact buf(f.bytes.data(), len);
        buf.mut()->nlmsg_len = static_cast<std::uint32_t>(len);
        DecodedLink d;
        std::string err;
        const bool ok = decode_link_message(buf.nlh(), len, &d, &err);
        bool on_boundary = false;
        for (auto [lo, hi] : ends) on_boundary |= (len >= lo && len <= hi);
        EXPECT_EQ(ok, on_boundary) << "len " << len << ": " << err;
        if (!ok) {
          EXPECT_FALSE(err.empty());
        }
      }
    }
  }
}

class NetlinkMutate : public ::testing::Test {
 protected:
  void SetUp() override {
    bytes_ = bytes_of(kDir / "hfport0.bin");
    ASSERT_GT(bytes_.size(), 64u);
  }
  bool decode(const std::vector<std::uint8_t>& b, std::size_t len, std::string* err) {
    Exact buf(b.data(), b.size());
    DecodedLink d;
    return decode_link_message(buf.nlh(), len, &d, err);
  }
  nlmsghdr* hdr(std::vector<std::uint8_t>& b) { return reinterpret_cast<nlmsghdr*>(b.data()); }
  std::vector<std::uint8_t> bytes_;
};

TEST_F(NetlinkMutate, Unmodified) {
  std::string err;
  EXPECT_TRUE(decode(bytes_, bytes_.size(), &err)) << err;
}

TEST_F(NetlinkMutate, WrongType) {
  for (std::uint16_t type :
       {std::uint16_t{RTM_DELLINK}, std::uint16_t{RTM_GETLINK}, std::uint16_t{NLMSG_ERROR},
        std::uint16_t{NLMSG_DONE}, std::uint16_t{RTM_NEWADDR}, std::uint16_t{0xffff}}) {
    auto b = bytes_;
    hdr(b)->nlmsg_type = type;
    std::string err;
    EXPECT_FALSE(decode(b, b.size(), &err)) << type;
    EXPECT_NE(err.find("RTM_NEWLINK"), std::string::npos) << err;
  }
}

TEST_F(NetlinkMutate, LengthLargerThanBuffer) {
  for (std::uint32_t extra : {1u, 4u, 4096u, 0x7fffffffu}) {
    auto b = bytes_;
    hdr(b)->nlmsg_len = static_cast<std::uint32_t>(b.size()) + extra;
    std::string err;
    EXPECT_FALSE(decode(b, b.size(), &err)) << extra;
    EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  }
  auto b = bytes_;
  hdr(b)->nlmsg_len = 0xffffffffu;
  std::string err;
  EXPECT_FALSE(decode(b, b.size(), &err));
}

TEST_F(NetlinkMutate, LengthSmallerThanHeaders) {
  for (std::uint32_t len : {0u, 1u, 15u, 16u, 17u, 31u}) {
    auto b = bytes_;
    hdr(b)->nlmsg_len = len;
    std::string err;
    EXPECT_FALSE(decode(b, b.size(), &err)) << len;
    EXPECT_FALSE(err.empty());
  }
}

TEST_F(NetlinkMutate, AttributeLengthPastTheEnd) {
  const auto ends = attr_ends(bytes_);
  ASSERT_GE(ends.size(), 4u);
  // Each top-level attribute in turn claims more bytes than the message has left.
  for (std::size_t i = 0; i + 1 < ends.size(); i++) {
    const std::size_t at = ends[i].second;
    for (std::uint16_t len : {std::uint16_t(bytes_.size() - at + 1), std::uint16_t{0xffff}}) {
      auto b = bytes_;
      std::memcpy(b.data() + at, &len, 2);
      std::string err;
      EXPECT_FALSE(decode(b, b.size(), &err)) << "attribute at " << at << " len " << len;
      EXPECT_NE(err.find("attribute"), std::string::npos) << err;
    }
    // And one shorter than an attribute header.
    auto b = bytes_;
    const std::uint16_t tiny = 2;
    std::memcpy(b.data() + at, &tiny, 2);
    std::string err;
    EXPECT_FALSE(decode(b, b.size(), &err)) << "attribute at " << at;
    EXPECT_FALSE(err.empty());
  }
}

TEST_F(NetlinkMutate, NestedLinkinfoPastItsParent) {
  // Find IFLA_LINKINFO and make its first nested attribute overrun it.
  std::size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg));
  std::size_t info = 0;
  while (at + 4 <= bytes_.size()) {
    std::uint16_t len, type;
    std::memcpy(&len, bytes_.data() + at, 2);
    std::memcpy(&type, bytes_.data() + at + 2, 2);
    if ((type & NLA_TYPE_MASK) == IFLA_LINKINFO) info = at;
    at += NLA_ALIGN(len);
  }
  ASSERT_NE(info, 0u) << "fixture has no IFLA_LINKINFO";
  std::uint16_t outer;
  std::memcpy(&outer, bytes_.data() + info, 2);
  auto b = bytes_;
  const std::uint16_t inner = outer;  // 4 bytes more than the nested payload can hold
  std::memcpy(b.data() + info + 4, &inner, 2);
  std::string err;
  EXPECT_FALSE(decode(b, b.size(), &err));
  EXPECT_NE(err.find("attribute"), std::string::npos) << err;
}

TEST_F(NetlinkMutate, MissingAttributesAreNotInvented) {
  // Only the ifinfomsg: valid, and every optional field reads as absent.
  auto b = bytes_;
  b.resize(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)));
  hdr(b)->nlmsg_len = static_cast<std::uint32_t>(b.size());
  Exact buf(b.data(), b.size());
  DecodedLink d;
  std::string err;
  ASSERT_TRUE(decode_link_message(buf.nlh(), b.size(), &d, &err)) << err;
  EXPECT_EQ(d.rec.present, 0u);
  EXPECT_TRUE(d.name.empty());
  EXPECT_TRUE(d.kind.empty());
  EXPECT_EQ(d.rec.link_netnsid, -1);
  int want = 0;  // the ifindex comes from ifinfomsg alone
  for (const auto& l : load_ip_json()) {
    if (l.at("ifname") == "hfport0") want = l.at("ifindex");
  }
  EXPECT_EQ(d.rec.ifindex, want);
}

// RTM_NEWSTATS (the counters-only cycle). Built with libmnl's own writer; the values are ours.
std::vector<char> stats_message(std::uint16_t type, bool with_link64, std::size_t payload) {
  std::vector<char> b(MNL_SOCKET_BUFFER_SIZE, 0);
  auto* nlh = mnl_nlmsg_put_header(b.data());
  nlh->nlmsg_type = type;
  auto* ifsm = static_cast<if_stats_msg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(if_stats_msg)));
  ifsm->ifindex = 42;
  if (with_link64) {
    rtnl_link_stats64 st{};
    st.rx_bytes = 1234567890123ull;
    st.tx_packets = 77;
    st.rx_dropped = 5;
    mnl_attr_put(nlh, IFLA_STATS_LINK_64, std::min(payload, sizeof st), &st);
  }
  b.resize(nlh->nlmsg_len);
  return b;
}

TEST(NetlinkStats, DecodesIfindexAndCounters) {
  const auto b = stats_message(RTM_NEWSTATS, true, sizeof(rtnl_link_stats64));
  hostflow::sampler::DecodedStats d;
  std::string err;
  ASSERT_TRUE(hostflow::sampler::decode_stats_message(reinterpret_cast<const nlmsghdr*>(b.data()),
                                                      b.size(), &d, &err))
      << err;
  EXPECT_EQ(d.ifindex, 42);
  EXPECT_EQ(d.stats.rx_bytes, 1234567890123ull);
  EXPECT_EQ(d.stats.tx_packets, 77u);
  EXPECT_EQ(d.stats.rx_dropped, 5u);
  EXPECT_EQ(d.stats.tx_bytes, 0u);
}

TEST(NetlinkStats, ShortStatsAreCopiedAsFarAsTheyGo) {
  const auto b = stats_message(RTM_NEWSTATS, true, 24);  // rx/tx packets, rx bytes
  hostflow::sampler::DecodedStats d;
  std::string err;
  ASSERT_TRUE(hostflow::sampler::decode_stats_message(reinterpret_cast<const nlmsghdr*>(b.data()),
                                                      b.size(), &d, &err))
      << err;
  EXPECT_EQ(d.stats.rx_bytes, 1234567890123ull);
  EXPECT_EQ(d.stats.rx_dropped, 0u);  // past the attribute: not invented
}

TEST(NetlinkStats, RejectsWrongTypeMissingCountersAndTruncation) {
  hostflow::sampler::DecodedStats d;
  std::string err;
  auto wrong = stats_message(RTM_NEWLINK, true, sizeof(rtnl_link_stats64));
  EXPECT_FALSE(hostflow::sampler::decode_stats_message(
      reinterpret_cast<const nlmsghdr*>(wrong.data()), wrong.size(), &d, &err));
  EXPECT_NE(err.find("RTM_NEWSTATS"), std::string::npos) << err;
  auto none = stats_message(RTM_NEWSTATS, false, 0);
  EXPECT_FALSE(hostflow::sampler::decode_stats_message(
      reinterpret_cast<const nlmsghdr*>(none.data()), none.size(), &d, &err));
  EXPECT_NE(err.find("IFLA_STATS_LINK_64"), std::string::npos) << err;
  auto full = stats_message(RTM_NEWSTATS, true, sizeof(rtnl_link_stats64));
  // The attribute claims more than the message holds.
  auto* a =
      reinterpret_cast<nlattr*>(full.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(if_stats_msg)));
  a->nla_len = static_cast<std::uint16_t>(a->nla_len + 64);
  err.clear();
  EXPECT_FALSE(hostflow::sampler::decode_stats_message(
      reinterpret_cast<const nlmsghdr*>(full.data()), full.size(), &d, &err));
  EXPECT_FALSE(err.empty());
  // And every shorter prefix of a good message is refused with a reason.
  const auto good = stats_message(RTM_NEWSTATS, true, sizeof(rtnl_link_stats64));
  for (std::size_t n = 0; n < good.size(); n++) {
    err.clear();
    EXPECT_FALSE(hostflow::sampler::decode_stats_message(
        reinterpret_cast<const nlmsghdr*>(good.data()), n, &d, &err))
        << n;
    EXPECT_FALSE(err.empty()) << n;
  }
}

}  // namespace
