// Fuzz target: decode_ct_message and decode_addr_message over a netlink receive buffer (a batch
// of messages), walked the way the conntrack and addrs sources walk a recv() batch.

#include <cstdint>
#include <cstring>
#include <string>

#include "netlink_batch.h"
#include "sources/addrs.h"
#include "sources/conntrack.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t sink = 0;
  hostflow::fuzz::for_each_netlink_message(data, size, [&](const nlmsghdr* msg, std::size_t left) {
    hostflow::shm::ConntrackRecord ct;
    hostflow::shm::AddrRecord ad;
    std::string err;
    if (hostflow::sampler::decode_ct_message(msg, left, &ct, &err)) {
      if (ct.family != 2 && ct.family != 10) __builtin_trap();
      sink += ct.orig_sport + ct.reply_dport + ct.proto;
    } else if (err.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    err.clear();
    if (hostflow::sampler::decode_addr_message(msg, left, &ad, &err)) {
      if (ad.prefixlen > 128) __builtin_trap();
      sink += ad.address[0];
    } else if (err.empty()) {
      __builtin_trap();
    }
  });
  return sink == 0x7fffffff ? 1 : 0;
}
