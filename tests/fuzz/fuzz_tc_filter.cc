// Fuzz target: decode_tc_filter + is_hostflow_filter over a netlink receive buffer (a batch of
// RTM_NEWTFILTER messages from a tc filter dump), walked the way the bpf source walks a recv().
#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "sources/bpf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (std::size_t{64} << 20)) return 0;
  std::vector<std::uint32_t> buf((size + 3) / 4);
  std::copy_n(data, size, reinterpret_cast<std::uint8_t*>(buf.data()));
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(size);
  std::size_t sink = 0;
  while (left >= static_cast<int>(sizeof(nlmsghdr)) &&
         msg->nlmsg_len <= static_cast<std::uint32_t>(left) && mnl_nlmsg_ok(msg, left)) {
    hostflow::sampler::DecodedTcFilter f;
    std::string err;
    if (hostflow::sampler::decode_tc_filter(msg, static_cast<std::size_t>(left), &f, &err)) {
      for (char c : f.kind) sink += static_cast<unsigned char>(c);
      for (char c : f.bpf_name) sink += static_cast<unsigned char>(c);
      sink += hostflow::sampler::is_hostflow_filter(f, true) +
              hostflow::sampler::is_hostflow_filter(f, false);
    } else if (err.empty()) {
      __builtin_trap();  // a rejection always says why
    }
    msg = mnl_nlmsg_next(msg, &left);
  }
  return sink == 0x7fffffff ? 1 : 0;
}
