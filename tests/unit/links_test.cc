// Links (exporter/identity/interfaces, read by exporter/areas/links): classify_kind and build_model
// (masters by ifindex, unique names, duplicates, sources and drops).
#include <linux/if.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <set>

#include "identity/interfaces.h"
#include "segment_util.h"

namespace {

using namespace hostflow::shm;
using hostflow::exporter::build_model;
using hostflow::exporter::classify_kind;
using hostflow::exporter::Model;

// ARPHRD_* values from the kernel ABI (include/uapi/linux/if_arp.h), spelled out on purpose.
constexpr std::uint16_t kEther = 1, kLoopback = 772, kNone = 65534, kIpGre = 778;

TEST(ClassifyKind, KernelKindFirstThenTypeThenDevice) {
  EXPECT_EQ(classify_kind("veth", kEther, false), "veth");
  EXPECT_EQ(classify_kind("bridge", kEther, true), "bridge");  // the kind wins over a device
  EXPECT_EQ(classify_kind("macvtap", kEther, false), "macvtap");
  EXPECT_EQ(classify_kind("vxlan", kEther, false), "vxlan");
  EXPECT_EQ(classify_kind("ifb", kEther, false), "ifb");
  EXPECT_EQ(classify_kind("wireguard", kNone, false), "wireguard");
  EXPECT_EQ(classify_kind("tun", kEther, false), "tap");  // IFF_TAP devices are ethernet
  EXPECT_EQ(classify_kind("tun", kNone, false), "tun");   // IFF_TUN devices have no L2
  EXPECT_EQ(classify_kind("", kLoopback, false), "loopback");
  EXPECT_EQ(classify_kind("", kEther, true), "physical");
  EXPECT_EQ(classify_kind("", kEther, false), "unknown");
  EXPECT_EQ(classify_kind("", kIpGre, false), "unknown");
  // An unknown kind never becomes a label value of its own (cardinality).
  EXPECT_EQ(classify_kind("my-custom-kind", kEther, false), "other");
  EXPECT_EQ(classify_kind("VETH", kEther, false), "other");
}

struct L {
  std::uint64_t netns;
  int ifindex;
  std::string name;
  std::string kind = "";
  int master = 0;
  std::uint16_t if_type = kEther;
  std::uint32_t present = 0;
  std::uint8_t operstate = IF_OPER_UP;
  std::uint32_t flags = IFF_UP;
};

Model model_of(const std::vector<L>& links,
               const std::vector<std::pair<std::string, std::uint8_t>>& sources = {}) {
  SnapshotBuilder b;
  for (std::size_t i = 0; i < links.size(); i++) {
    const L& l = links[i];
    LinkRecord r{};
    r.netns_inode = l.netns;
    r.ifindex = l.ifindex;
    r.name = b.add_string(l.name, 64);
    r.kind = b.add_string(l.kind, 32);
    r.if_type = l.if_type;
    r.present = l.present;
    r.operstate = l.operstate;
    r.if_flags = l.flags;
    r.mtu = 1500;
    if (l.master) {
      r.master_ifindex = l.master;
      r.present |= kLinkHasMaster;
    }
    r.addr_len = 6;
    const std::uint8_t mac[6] = {0x02, 0xab, 0xcd, 0x00, 0x10, static_cast<std::uint8_t>(i)};
    std::memcpy(r.address, mac, 6);
    r.present |= kLinkHasStats64;
    r.stats.rx_bytes = 1000 + i;
    b.add(r);
  }
  for (const auto& [name, state] : sources) {
    SourceStatusRecord s{};
    s.name = b.add_string(name, 32);
    s.state = state;
    s.runs_total = 7;
    b.add(s);
  }
  hostflow::test::SegmentBuf seg;
  EXPECT_TRUE(seg.publish(b, 3));
  std::string err;
  auto snap = hostflow::test::read_segment(seg.data(), seg.size, &err);
  EXPECT_TRUE(snap) << err;
  return snap ? build_model(*snap) : Model{};
}

const hostflow::exporter::Interface* find(const Model& m, std::uint64_t netns, int ifindex) {
  for (const auto& i : m.interfaces) {
    if (i.netns == netns && i.ifindex == ifindex) return &i;
  }
  return nullptr;
}

TEST(BuildModel, FieldsKindsAndMasters) {
  const Model m = model_of({
      {1, 1, "lo", "", 0, kLoopback, 0, IF_OPER_UNKNOWN},
      {1, 2, "eth0", "", 0, kEther, kLinkHasDevice},
      {1, 3, "vmbr0", "bridge"},
      {1, 4, "tap100i0", "tun", 3},
      {1, 5, "veth101i0", "veth", 3, kEther, 0, IF_OPER_LOWERLAYERDOWN, 0},
      {1, 6, "bond0", "bond", 0},
      {1, 7, "eth1", "", 6, kEther, kLinkHasDevice},
      {1, 8, "orphan", "veth", 99},  // master not in the snapshot
      {2, 2, "eth0", "veth", 3},     // other netns: ifindex 3 there does not exist
  });
  EXPECT_EQ(m.generation, 3u);
  ASSERT_EQ(m.interfaces.size(), 9u);
  EXPECT_EQ(m.duplicate_links, 0u);
  EXPECT_EQ(m.invalid_refs, 0u);

  std::map<std::pair<std::uint64_t, int>, std::pair<std::string, std::string>> want = {
      {{1, 1}, {"loopback", ""}},      {{1, 2}, {"physical", ""}},  {{1, 3}, {"bridge", ""}},
      {{1, 4}, {"tap", "vmbr0"}},      {{1, 5}, {"veth", "vmbr0"}}, {{1, 6}, {"bond", ""}},
      {{1, 7}, {"physical", "bond0"}}, {{1, 8}, {"veth", ""}},      {{2, 2}, {"veth", ""}},
  };
  for (const auto& [key, kind_master] : want) {
    const auto* i = find(m, key.first, key.second);
    ASSERT_NE(i, nullptr) << key.first << "/" << key.second;
    EXPECT_EQ(i->kind, kind_master.first) << i->name;
    EXPECT_EQ(i->master, kind_master.second) << i->name;
    EXPECT_TRUE(i->has_stats);
    EXPECT_EQ(i->mtu, 1500u);
  }
  const auto* veth = find(m, 1, 5);
  EXPECT_EQ(veth->operstate, "lowerlayerdown");
  EXPECT_FALSE(veth->admin_up);
  EXPECT_EQ(veth->mac, "02:ab:cd:00:10:04");
  EXPECT_EQ(veth->stats.rx_bytes, 1004u);
  EXPECT_EQ(find(m, 1, 1)->operstate, "unknown");
  EXPECT_TRUE(find(m, 1, 1)->admin_up);
  EXPECT_EQ(find(m, 1, 3)->operstate, "up");

  // Sorted by (netns, name).
  for (std::size_t k = 1; k < m.interfaces.size(); k++) {
    const auto& a = m.interfaces[k - 1];
    const auto& b = m.interfaces[k];
    EXPECT_TRUE(a.netns < b.netns || (a.netns == b.netns && a.name < b.name))
        << a.name << " before " << b.name;
  }
}

TEST(BuildModel, NameCollisionsGetTheIfindex) {
  // Two names that sanitise to the same label value, and one that is empty.
  const Model m = model_of({
      {1, 5, "x\xff"},
      {1, 6, "x\xfe"},
      {1, 7, ""},
      {2, 5, "x\xff"},  // same name in another netns is no collision
  });
  ASSERT_EQ(m.interfaces.size(), 4u);
  const std::string r = "x\xEF\xBF\xBD";
  EXPECT_EQ(find(m, 1, 5)->name, r);
  EXPECT_EQ(find(m, 1, 6)->name, r + "~6");
  EXPECT_EQ(find(m, 1, 7)->name, "if7");
  EXPECT_EQ(find(m, 2, 5)->name, r);
}

// Issue 12, defect 4 (interface repro): a name chosen to equal another link's generated one.
TEST(BuildModel, ANameChosenToEqualAGeneratedOneStillGivesUniqueNames) {
  const std::string r =
      "rt\xEF\xBF\xBD"
      "1";
  const Model m = model_of({
      {1, 10,
       "rt\xff"
       "1"},
      {1, 11, r + "~12"},  // valid UTF-8: the generated name of ifindex 12, chosen on purpose
      {1, 12,
       "rt\xfe"
       "1"},
  });
  ASSERT_EQ(m.interfaces.size(), 3u);
  EXPECT_EQ(find(m, 1, 10)->name, r);
  EXPECT_EQ(find(m, 1, 11)->name, r + "~12");
  EXPECT_EQ(find(m, 1, 12)->name, r + "~12~2");
  std::set<std::string> names;
  for (const auto& i : m.interfaces) names.insert(i.name);
  EXPECT_EQ(names.size(), m.interfaces.size());
}

TEST(BuildModel, DuplicateNetnsIfindexIsIgnoredAndCounted) {
  const Model m = model_of({
      {1, 3, "first"},
      {1, 3, "second"},
      {1, 3, "third"},
      {2, 3, "other-netns"},
  });
  EXPECT_EQ(m.duplicate_links, 2u);
  ASSERT_EQ(m.interfaces.size(), 2u);
  EXPECT_EQ(find(m, 1, 3)->name, "first");
  EXPECT_EQ(find(m, 2, 3)->name, "other-netns");
}

TEST(BuildModel, SelfMasterIsNotAMaster) {
  const Model m = model_of({{1, 4, "loopy", "bridge", 4}});
  ASSERT_EQ(m.interfaces.size(), 1u);
  EXPECT_EQ(m.interfaces[0].master, "");
}

TEST(BuildModel, SourcesAndDrops) {
  const Model m = model_of({{1, 1, "lo"}}, {{"links", 1}, {"links", 3}, {"conntrack", 9}, {"", 1}});
  ASSERT_EQ(m.sources.size(), 2u);  // duplicate and empty names dropped
  EXPECT_EQ(m.sources[0].name, "links");
  EXPECT_EQ(m.sources[0].state, SourceState::kOk);
  EXPECT_EQ(m.sources[0].runs_total, 7u);
  EXPECT_EQ(m.sources[1].name, "conntrack");
  EXPECT_EQ(m.sources[1].state, SourceState::kFailed);  // unknown state value
  std::map<std::string, std::uint64_t> drops;
  for (const auto& d : m.drops) drops[d.section] = d.dropped;
  EXPECT_EQ(drops.size(), 3u);
  EXPECT_EQ(drops.count("links"), 1u);
  EXPECT_EQ(drops.count("sources"), 1u);
  EXPECT_EQ(drops.count("arena"), 1u);
}

TEST(BuildModel, OperstateNames) {
  using hostflow::exporter::operstate_name;
  EXPECT_EQ(operstate_name(IF_OPER_UP), "up");
  EXPECT_EQ(operstate_name(IF_OPER_DOWN), "down");
  EXPECT_EQ(operstate_name(IF_OPER_DORMANT), "dormant");
  EXPECT_EQ(operstate_name(IF_OPER_TESTING), "testing");
  EXPECT_EQ(operstate_name(IF_OPER_NOTPRESENT), "notpresent");
  EXPECT_EQ(operstate_name(200), "unknown");
}

}  // namespace
