// The bpf source's pure parts (sampler/sources/bpf, bpf_tc): --bpf.interfaces patterns,
// RTM_NEWTFILTER decoding and the "is this filter ours" rule (handle, priority and program name).
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <string>
#include <vector>

#include "sources/bpf.h"
#include "sources/bpf_tc.h"
#include "tc_counters.h"

namespace hostflow::test {
namespace {

using sampler::DecodedTcFilter;
using sampler::InterfaceSelector;

TEST(BpfInterfaces, IncludeAndExcludePatterns) {
  auto all = InterfaceSelector::parse("*");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->selected("eth0"));
  EXPECT_TRUE(all->selected("lo"));
  auto s = InterfaceSelector::parse("eth*, veth*,!lo,!veth9*");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->selected("eth0"));
  EXPECT_TRUE(s->selected("veth1a"));
  EXPECT_FALSE(s->selected("veth9x"));
  EXPECT_FALSE(s->selected("lo"));
  EXPECT_FALSE(s->selected("br0"));
  auto only_ex = InterfaceSelector::parse("!lo");
  ASSERT_TRUE(only_ex.ok());
  EXPECT_TRUE(only_ex->selected("br0"));
  EXPECT_FALSE(only_ex->selected("lo"));
  EXPECT_FALSE(InterfaceSelector::parse("eth*,,lo").ok());
  EXPECT_FALSE(InterfaceSelector::parse("!").ok());
  EXPECT_FALSE(InterfaceSelector::parse(std::string(65, 'x')).ok());
}

// An RTM_NEWTFILTER as the kernel sends it for a cls_bpf filter.
std::vector<char> tc_filter_msg(std::uint32_t handle, std::uint16_t prio, const char* kind,
                                const char* bpf_name, std::uint32_t prog_id) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWTFILTER;
  auto* t = static_cast<tcmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(tcmsg)));
  t->tcm_ifindex = 7;
  t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  t->tcm_handle = handle;
  t->tcm_info = TC_H_MAKE(static_cast<std::uint32_t>(prio) << 16, 0x0300);
  mnl_attr_put_strz(nlh, TCA_KIND, kind);
  auto* opt = mnl_attr_nest_start(nlh, TCA_OPTIONS);
  if (bpf_name) mnl_attr_put_strz(nlh, TCA_BPF_NAME, bpf_name);
  mnl_attr_put_u32(nlh, TCA_BPF_ID, prog_id);
  mnl_attr_nest_end(nlh, opt);
  buf.resize(nlh->nlmsg_len);
  return buf;
}

TEST(TcFilterDecode, OursOnlyWhenHandlePriorityAndProgramNameMatch) {
  auto m = tc_filter_msg(HF_TC_HANDLE, HF_TC_PRIORITY, "bpf", "hf_tc_ingress:[42]", 42);
  DecodedTcFilter f;
  std::string err;
  ASSERT_TRUE(decode_tc_filter(reinterpret_cast<const nlmsghdr*>(m.data()), m.size(), &f, &err))
      << err;
  EXPECT_EQ(f.ifindex, 7);
  EXPECT_EQ(f.handle, HF_TC_HANDLE);
  EXPECT_EQ(f.priority, HF_TC_PRIORITY);
  EXPECT_EQ(f.kind, "bpf");
  EXPECT_EQ(f.bpf_name, "hf_tc_ingress:[42]");
  EXPECT_EQ(f.prog_id, 42u);
  EXPECT_TRUE(sampler::is_hostflow_filter(f, true));
  EXPECT_FALSE(sampler::is_hostflow_filter(f, false)) << "ingress program on the egress hook";

  struct Case {
    std::uint32_t handle;
    std::uint16_t prio;
    const char* kind;
    const char* name;
  } foreign[] = {
      {9, 3, "bpf", "tc_counters.bpf.o:[tc]"},                  // tc's own loader, same program
      {HF_TC_HANDLE, HF_TC_PRIORITY, "bpf", "other:[42]"},      // our slot, someone else's program
      {HF_TC_HANDLE, 1, "bpf", "hf_tc_ingress:[42]"},           // another priority
      {1, HF_TC_PRIORITY, "bpf", "hf_tc_ingress:[42]"},         // another handle
      {HF_TC_HANDLE, HF_TC_PRIORITY, "u32", nullptr},           // another classifier
      {HF_TC_HANDLE, HF_TC_PRIORITY, "bpf", "hf_tc_ingressX"},  // a longer name
  };
  for (const Case& c : foreign) {
    auto msg = tc_filter_msg(c.handle, c.prio, c.kind, c.name, 42);
    DecodedTcFilter g;
    ASSERT_TRUE(
        decode_tc_filter(reinterpret_cast<const nlmsghdr*>(msg.data()), msg.size(), &g, &err));
    EXPECT_FALSE(sampler::is_hostflow_filter(g, true)) << c.kind << " " << (c.name ? c.name : "");
  }
}

TEST(TcFilterDecode, RejectsTruncatedAndMalformed) {
  auto m = tc_filter_msg(HF_TC_HANDLE, HF_TC_PRIORITY, "bpf", "hf_tc_ingress:[42]", 42);
  DecodedTcFilter f;
  std::string err;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
  EXPECT_FALSE(decode_tc_filter(nlh, m.size() - 1, &f, &err));
  EXPECT_FALSE(decode_tc_filter(nlh, 8, &f, &err));
  auto bad = m;
  auto* h = reinterpret_cast<nlmsghdr*>(bad.data());
  // An attribute claiming more bytes than the message has.
  auto* a = reinterpret_cast<nlattr*>(bad.data() + mnl_nlmsg_size(sizeof(tcmsg)));
  a->nla_len = 0xfff0;
  EXPECT_FALSE(decode_tc_filter(h, bad.size(), &f, &err));
  h->nlmsg_type = RTM_NEWLINK;
  EXPECT_FALSE(decode_tc_filter(h, bad.size(), &f, &err));
}

}  // namespace
}  // namespace hostflow::test
