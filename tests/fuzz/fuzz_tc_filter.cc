// Fuzz target: decode_tc_filter + is_hostflow_filter over a netlink receive buffer (a batch of
// RTM_NEWTFILTER messages from a tc filter dump), walked the way the bpf source walks a recv().
#include <cstdint>
#include <string>

#include "netlink_batch.h"
#include "sources/bpf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t sink = 0;
  hostflow::fuzz::for_each_netlink_message(data, size, [&](const nlmsghdr* msg, std::size_t left) {
    hostflow::sampler::DecodedTcFilter f;
    std::string err;
    if (hostflow::sampler::decode_tc_filter(msg, left, &f, &err)) {
      for (char c : f.kind) sink += static_cast<unsigned char>(c);
      for (char c : f.bpf_name) sink += static_cast<unsigned char>(c);
      sink += hostflow::sampler::is_hostflow_filter(f, true) +
              hostflow::sampler::is_hostflow_filter(f, false);
    } else if (err.empty()) {
      __builtin_trap();  // a rejection always says why
    }
  });
  return sink == 0x7fffffff ? 1 : 0;
}
