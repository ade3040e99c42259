// Fuzz target: decode_ct_message and decode_addr_message over a netlink receive buffer (a batch
// of messages), walked the way the conntrack and addrs sources walk a recv() batch.
#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sources/addrs.h"
#include "sources/conntrack.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (std::size_t{64} << 20)) return 0;
  std::vector<std::uint32_t> buf((size + 3) / 4);
  std::copy_n(data, size, reinterpret_cast<std::uint8_t*>(buf.data()));
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(size);
  std::size_t sink = 0;
  // As in fuzz_netlink_links: check the length unsigned before mnl_nlmsg_ok/next.
  while (left >= static_cast<int>(sizeof(nlmsghdr)) &&
         msg->nlmsg_len <= static_cast<std::uint32_t>(left) && mnl_nlmsg_ok(msg, left)) {
    hostflow::shm::ConntrackRecord ct;
    hostflow::shm::AddrRecord ad;
    std::string err;
    if (hostflow::sampler::decode_ct_message(msg, static_cast<std::size_t>(left), &ct, &err)) {
      if (ct.family != 2 && ct.family != 10) __builtin_trap();
      sink += ct.orig_sport + ct.reply_dport + ct.proto;
    } else if (err.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    err.clear();
    if (hostflow::sampler::decode_addr_message(msg, static_cast<std::size_t>(left), &ad, &err)) {
      if (ad.prefixlen > 128) __builtin_trap();
      sink += ad.address[0];
    } else if (err.empty()) {
      __builtin_trap();
    }
    msg = mnl_nlmsg_next(msg, &left);
  }
  return sink == 0x7fffffff ? 1 : 0;
}
